#!/usr/bin/env python3
"""Check that the requirement files resolve for a reader: `make check-pins`.

    python3 tools/check_pins.py [requirements/NAME.txt ...]    (default: all of them)

For each file and each platform it promises (PLATFORMS below, as the README says), pip
resolves the file as a reader's pip would: a dry run (`pip install --dry-run --report`, no
package is downloaded beyond metadata) against the public package index, with this
machine's pip configuration switched off (no PIP_* variable, PIP_CONFIG_FILE set to the null
device, so no local wheel folder, index or constraint file), for CPython 3.11.2 (Debian 12's,
the oldest 3.11 the README promises). It fails when a pin does not resolve, when pip installs
a package that the file does not pin (by a requirement or a `-c` constraint file), when a pin
is not `==`, when a package needs a newer Python than 3.11.2, and, for the GPU files, when a
line has no hash (pip's --require-hashes).

Environment markers (`; sys_platform == "darwin"`) are evaluated for the target platform,
not for this machine: pip itself would evaluate them for the machine it runs on, also with
--platform, so the dry run runs pip with packaging's marker environment replaced by the
target's. Linux x86_64 is resolved on this machine as it is (it must be Linux x86_64 with a
CPython 3.11, so that packages published only as source resolve as on a reader's machine);
macOS arm64 with pip's --platform (binary wheels only, as a Mac would install them).
Needs the network; not part of `make test`. Run it before changing a pin.
"""
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import Version
except ImportError:  # pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from d2l.frameworks import FRAMEWORKS  # noqa: E402  (the standard library only)

OLDEST_PYTHON = '3.11.2'  # Debian 12's python3; README and tools/make_env.sh say the same

# The marker environments of the platforms a file may promise (PEP 508 names).
CPYTHON = {'os_name': 'posix', 'implementation_name': 'cpython',
           'platform_python_implementation': 'CPython', 'python_version': '3.11',
           'python_full_version': OLDEST_PYTHON, 'implementation_version': OLDEST_PYTHON}
TARGETS = {
    'linux-x86_64': {
        **CPYTHON, 'sys_platform': 'linux', 'platform_system': 'Linux',
        'platform_machine': 'x86_64', 'platform_release': '6.1.0',
        'platform_version': '#1 SMP Debian 6.1'},
    'macos-arm64': {
        **CPYTHON, 'sys_platform': 'darwin', 'platform_system': 'Darwin',
        'platform_machine': 'arm64', 'platform_release': '23.0.0',
        'platform_version': 'Darwin Kernel Version 23.0.0'},
}
# pip's options for a platform other than the one it runs on (macOS 14, Apple silicon).
PLATFORM_OPTIONS = {
    'macos-arm64': ['--platform', 'macosx_14_0_arm64', '--implementation', 'cp',
                    '--abi', 'cp311', '--python-version', OLDEST_PYTHON,
                    '--only-binary=:all:'],
}
# Which platforms each file promises (README: "Running the notebooks on your own machine",
# "GPUs"): a framework's CPU file those of d2l/frameworks.py, its GPU file and the book's
# Linux only (the book's build needs Debian's packages).
PLATFORMS = {
    'book': ['linux-x86_64'],
    **{f.tab: list(f.platforms) for f in FRAMEWORKS},
    **{f'{f.tab}-gpu': ['linux-x86_64'] for f in FRAMEWORKS},
    'pytorch-linux-cuda-constraints': [],  # read by pytorch.txt (-c), checked with it
}

# pip, run with packaging's default marker environment replaced by the target's.
PIP_WITH_TARGET_MARKERS = '''
import json, sys
from pip._vendor.packaging import markers
target, host = json.loads(sys.argv[1]), markers.default_environment
markers.default_environment = lambda: {**host(), **target}
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
'''


def reader_env():
    """This process's environment without any pip configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_')}
    env['PIP_CONFIG_FILE'] = os.devnull  # pip then reads no configuration file at all
    return env


def logical_lines(path):
    """(line number, line) of a requirement file, continuation lines joined."""
    start, parts = None, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        start = start or number
        if line.endswith('\\'):
            parts.append(line[:-1])
            continue
        yield start, ' '.join(parts + [line])
        start, parts = None, []


def parse(path, target):
    """The pins of a requirement file that apply on target (its markers evaluated there):
    ([(Requirement, [sha256, ...], kind, 'file:line')], [problem, ...]), following `-r` and
    `-c` lines; kind is 'requirement' or 'constraint'."""
    pins, problems = [], []

    def read(path, kind):
        for number, line in logical_lines(path):
            line = line.split(' #')[0].strip()
            if not line or line.startswith('#'):
                continue
            where = f'{path.relative_to(ROOT)}:{number}'
            option = re.match(r'(-[rc]|--requirement|--constraint)\s*(\S+)$', line)
            if option:
                nested = kind if option.group(1) in ('-r', '--requirement') else 'constraint'
                read((path.parent / option.group(2)).resolve(), nested)
                continue
            if line.startswith('-'):
                problems.append(f'{where}: option not allowed here: {line}')
                continue
            hashes = re.findall(r'--hash=sha256:([0-9a-f]{64})', line)
            req = Requirement(re.sub(r'\s--hash=\S+', '', line).strip())
            if req.marker and not req.marker.evaluate(target):
                continue
            specs = list(req.specifier)
            if req.url or len(specs) != 1 or specs[0].operator != '==' or '*' in specs[0].version:
                problems.append(f'{where}: not pinned with ==: {line}')
            pins.append((req, hashes, kind, where))

    read(path, 'requirement')
    return pins, problems


def dry_run(path, target, options, tmp):
    """pip's dry run of a requirement file with the target's markers and pip's options;
    returns (report or None, pip's output)."""
    report = pathlib.Path(tmp, 'report.json')
    args = ['install', '--dry-run', '--quiet', '--disable-pip-version-check', '--no-input',
            '--report', str(report), '-r', str(path)] + options
    if '--platform' in options:
        args += ['--target', str(pathlib.Path(tmp, 'target'))]
    else:
        args += ['--ignore-installed']
    run = subprocess.run([sys.executable, '-c', PIP_WITH_TARGET_MARKERS,
                          json.dumps(TARGETS[target])] + args,
                         env=reader_env(), cwd=tmp, capture_output=True, text=True)
    output = (run.stdout + run.stderr).strip()
    if run.returncode != 0:
        return None, output
    return json.loads(report.read_text()), output


def errors(output):
    """pip's error lines, without its long list of versions for other Pythons."""
    lines = [line for line in output.splitlines()
             if 'ERROR' in line and 'Ignored the following versions' not in line]
    return lines[-6:] or output.splitlines()[-6:]


def check(path, name):
    """Problems of one file on one platform (empty: fine) and a one-line summary."""
    target = TARGETS[name]
    pins, problems = parse(path, target)
    options = list(PLATFORM_OPTIONS.get(name, []))
    if path.stem.endswith('-gpu'):  # installed in hash-checking mode (tools/make_env.sh)
        options.append('--require-hashes')
        unhashed = [where for req, hashes, kind, where in pins
                    if kind == 'requirement' and not hashes]
        if unhashed:
            problems.append(f'{len(unhashed)} lines without --hash, e.g. {unhashed[0]}')
    pinned = {canonicalize_name(req.name): req for req, _, _, _ in pins}
    with tempfile.TemporaryDirectory() as tmp:
        report, output = dry_run(path, name, options, tmp)
    if report is None:
        problems.append('pip cannot resolve it:\n    ' + '\n    '.join(errors(output)))
        return problems, 'does not resolve'
    installs = report['install']
    if report['environment']['sys_platform'] != target['sys_platform']:
        problems.append(f"pip evaluated markers for {report['environment']['sys_platform']}")
    oldest = Version(OLDEST_PYTHON)
    for item in installs:
        meta = item['metadata']
        key, version = canonicalize_name(meta['name']), Version(meta['version'])
        pin = pinned.get(key)
        if pin is None:
            by = sorted({other['metadata']['name'] for other in installs
                         for dep in other['metadata'].get('requires_dist', [])
                         if canonicalize_name(Requirement(dep).name) == key})
            problems.append(f"pip adds {meta['name']}=={version} (required by "
                            f"{', '.join(by) or 'the file'}), which the file does not pin")
        elif not pin.specifier.contains(version, prereleases=True):
            problems.append(f"pip installs {meta['name']}=={version}, pinned {pin}")
        python = meta.get('requires_python')
        if python and not SpecifierSet(python).contains(oldest, prereleases=True):
            problems.append(f"{meta['name']}=={version} needs Python {python}, "
                            f'not {OLDEST_PYTHON}')
    return problems, f'{len(installs)} packages'


def main(paths):
    if not paths:
        paths = sorted((ROOT / 'requirements').glob('*.txt'))
    here = (sys.platform, platform.machine(), sys.implementation.name, sys.version_info[:2])
    if here != ('linux', 'x86_64', 'cpython', (3, 11)):
        sys.exit('tools/check_pins.py resolves Linux x86_64 with the Python it runs on: '
                 'run it with a CPython 3.11 on Linux x86_64')
    # pip must be there, and see no configuration at all (no local wheels, indexes or
    # constraints) in the environment the dry runs get.
    config = subprocess.run([sys.executable, '-m', 'pip', 'config', 'list'], env=reader_env(),
                            capture_output=True, text=True)
    shown = [line for line in config.stdout.splitlines()
             if line != f":env:.config-file='{os.devnull}'"]
    if config.returncode != 0 or shown:
        sys.exit(f'{sys.executable} -m pip config list, with PIP_CONFIG_FILE={os.devnull} and '
                 f'no PIP_* variable, should show nothing:\n{config.stdout}{config.stderr}')
    failed = []
    for path in map(pathlib.Path, paths):
        path = path.resolve()
        if path.stem not in PLATFORMS:
            sys.exit(f'{path}: unknown requirement file (add it to PLATFORMS in {__file__})')
        if not PLATFORMS[path.stem]:
            print(f'--   {path.relative_to(ROOT)}: constraints only, checked with the file '
                  'that reads them')
        for name in PLATFORMS[path.stem]:
            problems, summary = check(path, name)
            label = f'{path.relative_to(ROOT)} on {name}'
            if problems:
                failed.append(label)
                print(f'FAIL {label}: {summary}')
                for problem in problems:
                    print(f'  {problem}')
            else:
                print(f'ok   {label}: {summary}, all pinned, Python {OLDEST_PYTHON} or later')
            sys.stdout.flush()
    if failed:
        print(f'check-pins: {len(failed)} failed: {", ".join(failed)}')
        sys.exit(1)
    print('check-pins: every requirement file resolves on the platforms it promises')


if __name__ == '__main__':
    main(sys.argv[1:])

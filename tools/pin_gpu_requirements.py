#!/usr/bin/env python3
"""Write requirements/<framework>-gpu.txt from requirements/<framework>.txt.

    python3 tools/pin_gpu_requirements.py TAB      (a tab of d2l/frameworks.py)

The GPU environment is the CPU one (as on Linux x86_64) with the framework's CPU build
swapped for its CUDA build of the same version; everything else keeps its pin, and what the
CUDA build adds (NVIDIA's runtime libraries as wheels) is pinned to what pip resolves from
the public package index today. pip only reads the packages' metadata (`--dry-run
--report`, as tools/check_pins.py runs it: this machine's pip configuration switched off), so
nothing of the several GB is downloaded.

Every line carries the sha256 of each file that pip may pick for it on Linux x86_64 with
CPython 3.11 and glibc 2.28 or later (a newer glibc may select another manylinux wheel of
the same version: the tool resolves once per glibc level where the choice changes).
tools/make_env.sh installs the file in pip's hash-checking mode, so that exactly these files
are installed: no local build of the same version (torch 2.13.0+cpu) can stand in for them.

For PyTorch it also writes requirements/pytorch-linux-cuda-constraints.txt, the versions of
what PyPI's torch pulls on Linux x86_64 (requirements/pytorch.txt reads it with `-c`).
"""
import pathlib
import re
import sys
import tempfile
import textwrap

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_pins  # noqa: E402
from check_pins import ROOT, canonicalize_name  # noqa: E402

sys.path.insert(0, str(ROOT))
# Each framework's CPU build and its CUDA build, pinned to the same release. (mxnet-cu117
# is the newest CUDA build of MXNet 1.9.1, the last release.)
from d2l.frameworks import TABS, by_tab  # noqa: E402
MIN_GLIBC = 28  # torch 2.13's wheels are manylinux_2_28
TOP_GLIBC = 60  # above any glibc a reader has: the resolution of the newest systems
CUDA_CONSTRAINTS = ROOT / 'requirements' / 'pytorch-linux-cuda-constraints.txt'


def manylinux_options(glibc):
    """pip's --platform options for Linux x86_64 with glibc 2.<glibc> (best tags first)."""
    tags = [f'manylinux_2_{m}_x86_64' for m in range(glibc, 16, -1)]
    tags += ['manylinux2014_x86_64', 'manylinux_2_12_x86_64', 'manylinux2010_x86_64',
             'manylinux_2_5_x86_64', 'manylinux1_x86_64', 'linux_x86_64']
    options = [option for tag in tags for option in ('--platform', tag)]
    return options + ['--implementation', 'cp', '--abi', 'cp311',
                      '--python-version', check_pins.OLDEST_PYTHON, '--only-binary=:all:']


def wheel_glibc(url):
    """The oldest glibc minor version a wheel's file name accepts (0: any)."""
    levels = [int(m) for m in re.findall(r'manylinux_2_(\d+)_', url)]
    levels += [{'2014': 17, '2010': 12, '1': 5}[m] for m in
               re.findall(r'manylinux(2014|2010|1)_', url)]
    return min(levels, default=0)


def resolve(requirements):
    """{name: (version, {sha256, ...})} over every glibc level from TOP_GLIBC to MIN_GLIBC
    where pip's choice of files can change."""
    chosen, glibc = {}, TOP_GLIBC
    with tempfile.TemporaryDirectory() as tmp:
        req = pathlib.Path(tmp, 'requirements.txt')
        req.write_text('\n'.join(requirements) + '\n')
        while glibc >= MIN_GLIBC:
            report, output = check_pins.dry_run(req, 'linux-x86_64', manylinux_options(glibc),
                                                tmp)
            if report is None:
                sys.exit('pip cannot resolve:\n' + '\n'.join(check_pins.errors(output)))
            needs = 0
            for item in report['install']:
                name, version = item['metadata']['name'], item['metadata']['version']
                sha256 = item['download_info']['archive_info']['hashes']['sha256']
                known = chosen.setdefault(name, (version, set()))
                if known[0] != version:
                    sys.exit(f'{name}: {known[0]} on a newer glibc, {version} on 2.{glibc}')
                known[1].add(sha256)
                needs = max(needs, wheel_glibc(item['download_info']['url']))
            print(f'glibc 2.{glibc}: {len(report["install"])} packages, newest manylinux '
                  f'wheel chosen needs 2.{needs}')
            glibc = needs - 1
    return chosen


def header(lines):
    """Comment lines, wrapped."""
    return [wrapped for line in lines
            for wrapped in textwrap.wrap(line, 95, initial_indent='# ',
                                         subsequent_indent='#   ', break_on_hyphens=False)]


def main(framework):
    build = by_tab(framework)
    cpu_name = canonicalize_name(build.package)
    cpu_file = ROOT / 'requirements' / f'{framework}.txt'
    pins, problems = check_pins.parse(cpu_file, check_pins.TARGETS['linux-x86_64'])
    if problems:
        sys.exit('\n'.join(problems))
    requirements = [req for req, _, kind, _ in pins if kind == 'requirement']
    cpu_pin = [req for req in requirements if canonicalize_name(req.name) == cpu_name]
    assert len(cpu_pin) == 1, f'{cpu_name} is not pinned (for Linux) in {cpu_file}'
    kept = [f'{req.name}{req.specifier}' for req in requirements if req not in cpu_pin]
    gpu_req = f'{build.cuda}{cpu_pin[0].specifier}'
    chosen = resolve(kept + [gpu_req])
    gpu_name = canonicalize_name(gpu_req.split('[')[0].split('==')[0])
    lines, added = [], []
    for name, (version, hashes) in sorted(chosen.items(), key=lambda kv: kv[0].lower()):
        key = canonicalize_name(name)
        if key == gpu_name:
            name = gpu_req.split('==')[0]  # with its extra, e.g. tensorflow[and-cuda]
        if key != gpu_name and key not in {canonicalize_name(k.split('==')[0]) for k in kept}:
            added.append(f'{name}=={version}')
        lines.append(f'{name}=={version}' + ''.join(f' \\\n    --hash=sha256:{h}'
                                                    for h in sorted(hashes)))
    out = ROOT / 'requirements' / f'{framework}-gpu.txt'
    adds = ' '.join(a.split('==')[0] for a in added) or 'nothing else'
    out.write_text('\n'.join(header([
        f'Fully pinned environment .envs/{framework}-gpu (CPython 3.11.2 or later 3.11, Linux '
        'x86_64, glibc 2.28 or later), created by `make` when it finds an NVIDIA GPU '
        '(README: "GPUs"), installed in pip\'s hash-checking mode (--require-hashes).',
        f'requirements/{framework}.txt with {cpu_name} replaced by its CUDA build {gpu_req}, '
        f'which adds: {adds}.',
        f'Regenerate: python3 tools/pin_gpu_requirements.py {framework}; then make check-pins',
    ]) + lines) + '\n')
    print(f'{out.relative_to(ROOT)}: {len(lines)} packages, '
          f'{sum(len(h) for _, h in chosen.values())} files')
    if framework == 'pytorch':
        CUDA_CONSTRAINTS.write_text('\n'.join(header([
            'Constraints, not requirements: read by requirements/pytorch.txt (its `-c` line); '
            'installs nothing by itself.',
            f'The versions of what {gpu_req} from the public package index (its CUDA build) '
            'pulls on Linux x86_64 (NVIDIA\'s and CUDA\'s packages), so that a '
            'reader\'s environment is pinned too. The CPU build of the same version '
            '(2.13.0+cpu, which `torch==2.13.0` accepts) needs none of them.',
            'Regenerate: python3 tools/pin_gpu_requirements.py pytorch']) + added) + '\n')
        print(f'{CUDA_CONSTRAINTS.relative_to(ROOT)}: {len(added)} packages')


if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1] not in TABS:
        sys.exit(f'usage: {sys.argv[0]} {"|".join(TABS)}')
    main(sys.argv[1])

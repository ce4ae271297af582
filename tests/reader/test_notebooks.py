"""The notebooks as a reader gets them: _build/d2l-hpo-asha.zip, unzipped outside the checkout.

Per framework, the shortest notebook that trains runs in the unzipped folder with
`jupyter nbconvert --to notebook --execute` (the kernel is the one its metadata names,
d2l-<framework>, found through JUPYTER_PATH). The runs get a temporary $HOME and none of the
Makefile's folders for results (SYNETUNE_FOLDER, MPLCONFIGDIR, ...), so they write where a
reader's run writes; they must not write into the checkout.
"""
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

from d2l import frameworks
from d2l.resources import THREAD_VARS

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZIP = ROOT / '_build' / 'd2l-hpo-asha.zip'
FRAMEWORKS = frameworks.TABS
NOTEBOOK = 'chapter_hyperparameter_optimization/sh-intro.ipynb'
CELL_TIMEOUT = 600  # seconds; the longest cell trains 12 epochs at the 'cpu' budget
# Set by the Makefile to folders under _build/ (inside the checkout); a reader has none of them.
MAKEFILE_FOLDERS = ('SYNETUNE_FOLDER', 'MPLCONFIGDIR', 'KERAS_HOME', 'IPYTHONDIR',
                    'JUPYTER_RUNTIME_DIR')


def files_under(folder):
    """{path: (size, mtime)} of every file under `folder`, without .git."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != '.git']
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:  # removed while we walked
                continue
            found[os.path.relpath(path, folder)] = (st.st_size, st.st_mtime_ns)
    return found


def reader_env(tmp):
    """The environment of a reader's run, with `tmp`/home as $HOME."""
    env = {k: v for k, v in os.environ.items() if k not in MAKEFILE_FOLDERS}
    env['HOME'] = str(tmp / 'home')
    env.setdefault('JUPYTER_PATH', str(ROOT / '.envs' / 'jupyter'))
    # d2l caches decoded Fashion-MNIST next to its own data/ folder, which for this checkout's
    # editable d2l is in the checkout; D2L_DATA_DIR moves the cache (the files themselves are
    # still read from data/fashion-mnist or Debian's folder).
    env['D2L_DATA_DIR'] = str(tmp / 'data')
    # The editable d2l's bytecode would go to d2l/__pycache__.
    env['PYTHONDONTWRITEBYTECODE'] = '1'
    # The three runs share the cores, one thread each on two cores (the variables
    # d2l.share_cpu_cores sets for trial processes). Measured on 2 cores: 4.8 min, against
    # 6.6 min one after another with all cores each (MXNet trains on one core anyway).
    threads = str(max(1, (os.cpu_count() or 1) // len(FRAMEWORKS)))
    env.update({var: threads for var in THREAD_VARS})
    return env


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Unzip the notebooks into an empty folder and run each framework's sh-intro there, the
    three at once: {framework: (notebook, exit status, nbconvert's output)}, and the files of
    the checkout that changed meanwhile."""
    tmp = tmp_path_factory.mktemp('reader')
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(tmp / 'zip')
    (tmp / 'home').mkdir()
    before = files_under(ROOT)
    started = {}
    for framework in FRAMEWORKS:
        path, log = tmp / 'zip' / framework / NOTEBOOK, tmp / f'{framework}.log'
        with open(log, 'w') as out:
            started[framework] = path, log, subprocess.Popen(
                [sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook',
                 '--execute', f'--ExecutePreprocessor.timeout={CELL_TIMEOUT}', path.name],
                cwd=path.parent, env=reader_env(tmp), stdout=out, stderr=subprocess.STDOUT)
    results = {framework: (path, proc.wait(), log.read_text())
               for framework, (path, log, proc) in started.items()}
    after = files_under(ROOT)
    written = sorted(after.keys() - before.keys()) + sorted(
        p for p in before.keys() & after.keys() if before[p] != after[p])
    return results, written


@pytest.mark.parametrize('framework', FRAMEWORKS)
def test_notebook_runs_from_zip(framework, runs):
    """sh-intro, from the zip, names its framework's kernel and runs without a failing cell."""
    path, status, output = runs[0][framework]
    assert nbformat.read(path, as_version=4).metadata.kernelspec.name == f'd2l-{framework}'
    assert status == 0, f'{framework}/{NOTEBOOK} failed:\n{output[-5000:]}'


def test_runs_write_nothing_into_checkout(runs):
    """Running the notebooks writes nothing into the checkout (.git aside)."""
    assert not runs[1], f'the runs wrote into {ROOT}: {runs[1][:20]}'


# What a reader should not find in the outputs: log records of Python's logging (Syne Tune's
# "WARNING:syne_tune...: num_gpus_per_trial = 1 is too large"), native start-up logs in glog's
# format ("I0000 00:00:1795... port.cc:153] oneDNN custom operations are on") and absl's
# preamble to them.
LOG_LINE = re.compile(r'^(DEBUG|INFO|WARNING|ERROR|CRITICAL):[\w.]+:|^[IWEF]\d{4} \d\d:\d\d|'
                      r'^WARNING: All log messages before absl', re.M)


def test_zip_holds_only_what_readers_open():
    """The zip holds the notebooks, the bibliography, the figures and the benchmark's CSV
    files (which hpo-compare and hpo-simulate read from ../benchmarks/results/); no empty
    files (such as the std.out that Syne Tune's GPU probe leaves in its working folder)."""
    with zipfile.ZipFile(ZIP) as z:
        files = [i for i in z.infolist() if not i.is_dir()]
    strays = [i.filename for i in files if i.file_size == 0
              or not i.filename.endswith(('.ipynb', '.bib', '.svg', '.png', '.csv'))]
    assert files and not strays, strays
    for framework in FRAMEWORKS:
        for kind in ('curves', 'real', 'simulated'):
            name = f'{framework}/benchmarks/results/{kind}-pytorch-cpu.csv'
            assert any(i.filename == name for i in files), f'{name} is not in the zip'


def test_outputs_hold_no_log_lines():
    """No cell output of a notebook in the zip shows a log record or a start-up notice."""
    found = []
    with zipfile.ZipFile(ZIP) as z:
        for name in (n for n in z.namelist() if n.endswith('.ipynb')):
            for i, cell in enumerate(nbformat.reads(z.read(name), as_version=4).cells):
                for out in cell.get('outputs', ()):
                    text = out.get('text', '') + out.get('data', {}).get('text/plain', '')
                    found += [f'{name}, cell {i}: {m.group(0)}'
                              for m in LOG_LINE.finditer(text)]
    assert not found, '\n'.join(found)

"""Reading the Makefile starts no program: `make help` runs only its echo lines, and the budget
and the environment choice are recorded (in _build/stamps/) only for goals that need them, and
rewritten only when they change. Each test runs make in a temporary copy of the files it reads,
with SHELL, tools/choose_envs.sh and the usual programs on PATH replaced by wrappers that record
each start."""
import os
import pathlib
import shutil
import subprocess

import pytest

from d2l.frameworks import TABS

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAKE = shutil.which('make')
pytestmark = pytest.mark.skipif(MAKE is None, reason='needs GNU make')

# Programs a Makefile's $(shell ...) or a recipe would typically start.
WRAPPED = ('bash', 'sh', 'find', 'python3', 'python', 'mkdir', 'cat', 'echo', 'tr', 'cmp', 'mv',
           'rm', 'touch', 'env', 'dirname', 'grep', 'head', 'nproc', 'uname', 'nvidia-smi')


def _clean_env(**extra):
    """This process's environment without what a make that runs these tests passes on."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('GPU', 'D2L_HPO_BUDGET', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
    env.update(extra)
    return env


@pytest.fixture
def checkout(tmp_path):
    """A copy of the files make reads, in tmp_path/repo."""
    repo = tmp_path / 'repo'
    repo.mkdir()
    shutil.copy2(ROOT / 'Makefile', repo / 'Makefile')
    for name in ('d2l', 'tools', 'requirements', 'chapter_hyperparameter_optimization'):
        shutil.copytree(ROOT / name, repo / name)
    for name in ('pyproject.toml', 'config.ini'):
        shutil.copy2(ROOT / name, repo / name)
    return repo


@pytest.fixture
def recorded(tmp_path, checkout):
    """run(*make_args) -> (completed make, [one line per program started: name and arguments])."""
    bin_dir, log = tmp_path / 'bin', tmp_path / 'started.log'
    bin_dir.mkdir()
    log.touch()

    def wrapper(path, name, real):
        run = f'exec {real} "$@"\n' if real else 'exit 1\n'
        path.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> "{log}"\n{run}')
        path.chmod(0o755)

    for name in WRAPPED:
        wrapper(bin_dir / name, name, shutil.which(name))
    # Called by path, not found on PATH.
    wrapper(checkout / 'tools' / 'choose_envs.sh', 'choose_envs.sh',
            shutil.which('bash') + ' ' + str(ROOT / 'tools' / 'choose_envs.sh'))

    def run(*args):
        env = _clean_env(PATH=f'{bin_dir}:{os.environ["PATH"]}')
        out = subprocess.run([MAKE, f'SHELL={bin_dir}/bash', *args], capture_output=True,
                             text=True, env=env, cwd=checkout)
        return out, log.read_text().splitlines()

    return run


def test_make_n_help_starts_nothing(recorded, checkout):
    out, started = recorded('-n', 'help')
    assert out.returncode == 0, out.stderr
    assert 'make html' in out.stdout
    assert started == []
    assert not (checkout / '_build').exists()


def test_make_help_runs_only_its_echo_lines(recorded, checkout):
    out, started = recorded('help')
    assert out.returncode == 0, out.stderr
    assert 'make html ' in out.stdout and 'GPU=0|1' in out.stdout
    # make runs each recipe line with SHELL: `bash -eu -o pipefail -c echo "..."`.
    assert started, 'the wrappers recorded nothing: is SHELL still overridable?'
    for line in started:
        shell, _, command = line.partition(' -c ')
        assert shell.split()[0] == 'bash' and command.startswith('echo '), line
    assert not (checkout / '_build').exists()


def test_a_goal_that_needs_the_choice_computes_it(recorded, checkout):
    """The wrappers are transparent: `make -n pytest-pytorch` does ask choose_envs.sh."""
    out, started = recorded('-n', 'pytest-pytorch', 'GPU=0')
    assert out.returncode == 0, out.stderr
    assert '.envs/pytorch/bin/python -m pytest -q -p no:cacheprovider tests' in out.stdout
    # Twice each: a new choice makes make read the Makefile again, and compute it again.
    assert {line for line in started if line.startswith('choose_envs.sh ')} == {
        f'choose_envs.sh {tab}' for tab in TABS}


def _make(checkout, *args, **env):
    return subprocess.run([MAKE, *args], capture_output=True, text=True,
                          env=_clean_env(**env), cwd=checkout)


def test_choice_is_recorded_and_rewritten_only_when_it_changes(checkout):
    stamps = checkout / '_build' / 'stamps'

    def snapshot():
        return {p.name: (p.read_text(), p.stat().st_mtime_ns) for p in stamps.iterdir()}

    out = _make(checkout, '-n', 'eval-pytorch', GPU='1', D2L_HPO_BUDGET='cpu')
    assert out.returncode == 0, out.stderr
    assert 'evaluating the pytorch tab with .envs/pytorch-gpu ' in out.stdout
    first = snapshot()
    assert first['budget'][0] == 'cpu\n'
    assert first['envs'][0] == ' '.join(f'{tab}-gpu' for tab in TABS) + '\n'
    # The same choice again (GPU on make's command line now): nothing rewritten.
    out = _make(checkout, '-n', 'eval-pytorch', 'GPU=1', D2L_HPO_BUDGET='cpu')
    assert out.returncode == 0, out.stderr
    assert snapshot() == first
    # Another budget and other environments: the new choice is used and recorded.
    out = _make(checkout, '-n', 'eval-pytorch', GPU='0')
    assert out.returncode == 0, out.stderr
    assert 'evaluating the pytorch tab with .envs/pytorch ' in out.stdout
    second = snapshot()
    assert second['budget'][0] == 'auto\n'
    assert second['envs'][0] == ' '.join(TABS) + '\n'
    assert all(second[name][1] >= first[name][1] for name in first)


def test_an_invalid_gpu_setting_stops_a_goal_that_needs_the_choice(checkout):
    out = _make(checkout, '-n', 'eval-pytorch', GPU='2')
    assert out.returncode != 0
    assert 'GPU must be 0 or 1' in out.stderr

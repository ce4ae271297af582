"""The frameworks are listed once, in d2l/frameworks.py; d2lbook's list, the
tabs of config.ini, and every file named after a framework agree with it."""
import configparser
import pathlib
import subprocess
import sys

import pytest

from d2l import frameworks

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_config_ini_tabs_are_the_table():
    config = configparser.ConfigParser()
    config.read(ROOT / 'config.ini')
    line = config['build']['tabs']
    # The Makefile reads the list as one word: no spaces in it.
    assert ' ' not in line
    assert tuple(line.split(',')) == frameworks.TABS


@pytest.mark.parametrize('framework', frameworks.FRAMEWORKS,
                         ids=lambda f: f.tab)
def test_every_framework_has_its_files(framework):
    for path in (f'd2l/{framework.module}.py',
                 f'requirements/{framework.tab}.txt',
                 f'requirements/{framework.tab}-gpu.txt'):
        assert (ROOT / path).is_file(), path


def test_the_table_runs_as_a_script_for_the_shell_tools():
    script = [sys.executable, str(ROOT / 'd2l' / 'frameworks.py')]
    out = subprocess.run(script, capture_output=True, text=True, check=True)
    assert out.stdout.split() == list(frameworks.TABS)
    out = subprocess.run(script + ['module', 'pytorch'], capture_output=True,
                         text=True, check=True)
    assert out.stdout == 'torch\n'
    out = subprocess.run(script + ['module', 'jax'], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "unknown framework 'jax'" in out.stderr


def test_this_environment_has_one_framework():
    assert frameworks.installed() in frameworks.FRAMEWORKS
    with pytest.raises(ValueError, match='one of mxnet, pytorch'):
        frameworks.by_tab('jax')

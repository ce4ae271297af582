"""The three framework modules offer one API: same names, same signatures.

The modules are compared by parsing their source, so this test runs in any
of the three environments without importing the other frameworks.
"""
import ast
import os
import pathlib
import subprocess
import sys

import pytest

from d2l.frameworks import FRAMEWORKS

D2L = pathlib.Path(__file__).resolve().parent.parent / 'd2l'
MODULES = tuple(f.module for f in FRAMEWORKS)
# How the framework modules name d2l's neutral modules.
D2L_ALIASES = ('_core.', '_data.')
REQUIRED = {'HyperParameters', 'Module', 'Classifier', 'DataModule',
            'Trainer', 'ProgressBoard', 'use_svg_display', 'set_figsize',
            'plot', 'cpu', 'gpu', 'num_gpus', 'try_gpu', 'AlexNet',
            'FashionMNIST', 'hpo_budget',
            '__getattr__'}  # Provides d2l.plt, imported on first use.
# Methods a framework calls by name, which only that framework has.
FRAMEWORK_HOOKS = {'tensorflow': {'Module.call'}}


def signature(node):
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    defaults = [ast.unparse(d) for d in args.defaults + args.kw_defaults
                if d is not None]
    return names, defaults, bool(args.vararg), bool(args.kwarg)


def public_api(module):
    """{name: signature} of the module's public functions, classes and
    methods, plus the names it re-exports from the neutral modules."""
    tree = ast.parse((D2L / f'{module}.py').read_text())
    api = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in (
                'd2l.core', 'd2l.resources'):
            api.update({a.asname or a.name: 'import' for a in node.names})
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith(
                '_'):
            api[node.name] = signature(node)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith(
                '_'):
            # Framework base classes differ (nn.Module, nn.Block,
            # tf.keras.Model); the bases defined in d2l (imported by name,
            # or reached through `_core.` or `_data.`) must not.
            api[node.name] = [ast.unparse(b) for b in node.bases
                              if isinstance(b, ast.Name)
                              or ast.unparse(b).startswith(D2L_ALIASES)]
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and (
                        not item.name.startswith('_')
                        or item.name == '__init__'):
                    api[f'{node.name}.{item.name}'] = signature(item)
    for name in FRAMEWORK_HOOKS.get(module, ()):
        api.pop(name)
    return api


@pytest.mark.parametrize('module', MODULES[1:])
def test_same_public_api(module):
    reference, other = public_api(MODULES[0]), public_api(module)
    assert sorted(other) == sorted(reference)
    for name, sig in reference.items():
        assert other[name] == sig, name


def test_required_names_present():
    for module in MODULES:
        assert REQUIRED <= set(public_api(module)), module


def test_trial_processes_import_no_plotting_or_tuning():
    """A trial process imports d2l but never plots or tunes: d2l adds
    neither matplotlib and IPython nor Syne Tune and Ray to what the
    framework imports by itself. d2l.plt and the names of d2l.hpo (the
    sections' saved code) still work where they are used."""
    from conftest import FRAMEWORK
    loaded = ('sorted(m for m in ("matplotlib", "IPython", "syne_tune", '
              '"ray") if m in sys.modules)')
    code = (f'import sys\nimport {FRAMEWORK}\nprint({loaded})\n'
            f'from d2l import {FRAMEWORK} as d2l\n'
            # What IPython asks of an object that a cell shows.
            "hasattr(d2l, '_repr_html_')\n"
            f'print({loaded})\n'
            'import matplotlib.pyplot\n'
            'print(d2l.plt is matplotlib.pyplot)\n'
            'from d2l import hpo\n'
            'print(d2l.TunerLog is hpo.TunerLog, d2l.Trial is hpo.Trial)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout.split('\n')
    assert out[1] == out[0] and out[2:4] == ['True', 'True True'], out


def test_names_missing_from_d2l_raise_attribute_error(d2l):
    with pytest.raises(AttributeError, match='AlexNett'):
        d2l.AlexNett


def test_import_prints_no_startup_notices():
    """`from d2l import <framework> as d2l`, a notebook's first cell, shows
    nothing: TensorFlow's C++ start-up notices (oneDNN, CPU instructions)
    are dropped, also without TF_CPP_MIN_LOG_LEVEL, which readers lack."""
    from conftest import FRAMEWORK
    env = {k: v for k, v in os.environ.items() if k != 'TF_CPP_MIN_LOG_LEVEL'}
    run = subprocess.run(
        [sys.executable, '-c', f'from d2l import {FRAMEWORK} as d2l\n'
         'd2l.plot([0, 1], [1, 2])\n'], capture_output=True, text=True,
        check=True, env=env)
    assert (run.stdout, run.stderr) == ('', '')


def test_notebook_shows_no_log_record_when_syne_tune_comes():
    """In a Jupyter kernel, as in the sections' first cells: d2l, then
    Syne Tune, which imports Ray Tune, which logs an INFO line about
    ipywidgets there. The cells show nothing."""
    from jupyter_client.manager import start_new_kernel
    from conftest import FRAMEWORK
    code = (f'from d2l import {FRAMEWORK} as d2l\n'
            'import contextlib, io\n'
            'with contextlib.redirect_stdout(io.StringIO()):\n'
            '    from syne_tune import Tuner\n')
    shown = []

    def collect(msg):
        if msg['msg_type'] in ('stream', 'display_data', 'error'):
            shown.append(msg['content'])
    manager, client = start_new_kernel(kernel_name='python3')
    try:
        reply = client.execute_interactive(code, timeout=120,
                                           output_hook=collect)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply['content']['status'] == 'ok' and shown == []


def test_native_notices_dropped_keeps_other_lines(capfd):
    from d2l import core
    with core.native_notices_dropped(r'^I\d{4} '):
        os.write(2, b'I0000 00:00:1.2 port.cc:153] a notice\n'
                    b'E0000 00:00:1.3 a real error\n')
    assert capfd.readouterr().err == 'E0000 00:00:1.3 a real error\n'

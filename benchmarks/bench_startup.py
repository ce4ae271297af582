"""Start-up of a trial process: from process start to the first training step.

Every trial that Syne Tune starts or resumes is a new Python process, which
pays for the interpreter, Syne Tune, the framework, d2l, the data and the
model (or its checkpoint) before it trains. This script starts such
processes the way Syne Tune's PythonBackend does: its entry point imports
Syne Tune, loads the function and calls it with the configuration and the
trial's checkpoint folder on the command line. The function takes the steps
of the chapter's objective, with the CPU budget's data and image size, the
first configuration of every experiment (the middle of the search space)
and one thread, as with 2 workers on 2 cores:

    .envs/pytorch/bin/python benchmarks/bench_startup.py [--reps 5]

For a new trial and for a resumed one (its checkpoint after one epoch), it
prints the median time at which each step was done, counted from the
moment the operating system started the process, and the total against the
median epoch (training and validation) that the new trials trained after
their first step. Two more lines: what `from d2l import <framework> as d2l`
adds to the framework alone, and what Syne Tune's entry point imports with
and without Ray Tune. It uses the framework installed in the environment
that runs it.
"""
import contextlib
import io
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from cli import parse_reps  # noqa: E402  (benchmarks/cli.py)
from d2l import frameworks  # noqa: E402
from d2l.resources import THREAD_VARS  # noqa: E402

FRAMEWORK = frameworks.installed().module
# The first configuration of every experiment of the chapter.
CONFIG = dict(framework=FRAMEWORK, learning_rate=0.001, batch_size=68)
# Runs Syne Tune's entry point (the first argument) as `python entry_point`
# would, after noting the time at which Python began to run code.
WRAPPER = '''
import os, time
os.environ['BENCH_STARTED'] = repr(time.time())
import runpy, sys
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(sys.argv[0])
runpy.run_path(sys.argv[0], run_name='__main__')
'''
# The imports of Syne Tune's entry point, timed; with `import sys;
# sys.modules["ray"] = None` first, Syne Tune skips its Ray Tune scheduler.
ENTRY_IMPORTS = '''
import time
start = time.time()
import dill, syne_tune.backend.python_backend.python_backend
print(time.time() - start)
'''
IMPORTS = '''
import json, time
start = time.time()
import {0}
framework = time.time()
from d2l import {0} as d2l
print(json.dumps([framework - start, time.time() - framework]))
'''


def trial(framework, learning_rate, batch_size):
    """A trial of the chapter's objective, up to its first training step
    (then one epoch, if the trial is new); prints when each step was done.

    Syne Tune runs it without its module's globals: it imports all it uses.
    """
    import importlib
    import json
    import os
    import time
    called = time.time()
    from d2l import core
    start = time.time() - core.seconds_since_process_start()
    marks = {'interpreter': float(os.environ['BENCH_STARTED']) - start,
             "Syne Tune's entry point": called - start}

    def mark(step):
        if framework == 'mxnet':  # MXNet computes asynchronously.
            importlib.import_module('mxnet').npx.waitall()
        marks[step] = time.time() - start
    importlib.import_module(framework)
    mark('framework')
    d2l = importlib.import_module(f'd2l.{framework}')
    from syne_tune import Reporter  # noqa: F401  (as the objective does)
    mark('d2l')
    budget = d2l.hpo_budget('cpu')
    model = d2l.AlexNet(lr=learning_rate)
    trainer = d2l.Trainer(max_epochs=1)
    data = d2l.FashionMNIST(batch_size=batch_size, **budget.data_args())
    trainer.prepare_data(data)
    mark('data')
    checkpoint = d2l.trial_checkpoint()
    new = not trainer.load_checkpoint(checkpoint, model, data)
    if new:
        trainer.prepare_model(model)
        with trainer._device_scope():
            trainer._initialize(model)
        mark('model')
    else:
        mark('checkpoint')
    # One step: a training epoch of one batch.
    trainer.train_dataloader = [next(iter(trainer.train_dataloader))]
    with trainer._device_scope():
        trainer.fit_epoch()
    mark('first step')
    if new:
        trainer.prepare_data(data)
        tic = time.time()
        with trainer._device_scope():
            trainer.fit_epoch()
            float(trainer.validate(model))
        marks['epoch'] = time.time() - tic
        trainer.epoch += 1
        trainer.save_checkpoint(checkpoint)
    print(json.dumps(marks))


def last_line(command, env):
    # In an empty folder, so that Python finds the d2l of the environment
    # (the PYTHONPATH), not one in the current folder.
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(command, env=env, check=True, text=True,
                             capture_output=True, cwd=folder).stdout
    return json.loads(out.strip().splitlines()[-1])


def median_runs(commands, env):
    """The median of each number that the `commands` print, leaving out
    the first one's, which warms the file cache."""
    runs = [last_line(command, env) for command in commands][1:]
    if isinstance(runs[0], dict):
        return {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    if isinstance(runs[0], list):
        return [statistics.median(column) for column in zip(*runs)]
    return statistics.median(runs)


def trial_commands(folder):
    """A function of a checkpoint folder: Syne Tune's command line for a
    trial of `trial` with that folder (PythonBackend's `_schedule`), run
    through WRAPPER."""
    with contextlib.redirect_stdout(io.StringIO()):  # Optional-extras notices.
        from syne_tune.backend import PythonBackend
        from syne_tune.backend.python_backend import python_backend
    backend = PythonBackend(tune_function=trial, config_space=CONFIG)
    backend.set_path(results_root=str(pathlib.Path(folder) / 'bench'))
    backend.save_tune_function(backend.tune_function)
    function = backend.tune_function_path / 'tune_function.dill'
    args = dict(CONFIG, tune_function_root=backend.tune_function_path,
                tune_function_hash=python_backend.file_md5(str(function)))
    entry_point = pathlib.Path(python_backend.__file__).parent / (
        'python_entrypoint.py')

    def command(checkpoints):
        options = dict(args, st_checkpoint_dir=checkpoints)
        return [sys.executable, '-c', WRAPPER, str(entry_point)] + [
            a for k, v in options.items() for a in (f'--{k}', str(v))]
    return command


def table(new, resumed):
    """Rows of the steps of both kinds of trial: done at, and the increase."""
    rows, previous = [], {'new': 0, 'resumed': 0}
    steps = [s for s in new if s != 'epoch']
    for step in steps:
        cells = []
        for kind, marks in (('new', new), ('resumed', resumed)):
            key = 'checkpoint' if step == 'model' and kind == 'resumed' else (
                step)
            cells.append(f'{marks[key]:5.2f} (+{marks[key] - previous[kind]:.2f})')
            previous[kind] = marks[key]
        name = 'model / checkpoint' if step == 'model' else step
        rows.append(f'| {name} | {cells[0]} | {cells[1]} |')
    epoch = new['epoch']
    rows.append(f'| total / median epoch ({epoch:.2f} s) | '
                f"{new['first step'] / epoch:.2f} | "
                f"{resumed['first step'] / epoch:.2f} |")
    return rows


def main():
    num_reps = parse_reps(__doc__, 'trials timed of each kind')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
               **{var: '1' for var in THREAD_VARS})
    reps = range(num_reps + 1)
    with tempfile.TemporaryDirectory() as folder:
        command = trial_commands(folder)
        # Each new trial writes its checkpoint after its epoch: the resumed
        # trials restore that of the first.
        checkpoints = [pathlib.Path(folder) / f'trial-{i}' for i in reps]
        new = median_runs([command(c) for c in checkpoints], env)
        resumed = median_runs([command(checkpoints[0]) for _ in reps], env)
    framework, d2l = median_runs(
        [[sys.executable, '-c', IMPORTS.format(FRAMEWORK)] for _ in reps], env)
    with_ray, without_ray = (median_runs(
        [[sys.executable, '-c', prelude + ENTRY_IMPORTS] for _ in reps], env)
        for prelude in ('', 'import sys; sys.modules["ray"] = None'))
    print(f'{FRAMEWORK}: seconds from process start, median of {num_reps} '
          'trial processes each (done at, and the step alone)')
    print('| step | new trial | resumed trial |\n| --- | --- | --- |')
    print('\n'.join(table(new, resumed)))
    print(f'  from d2l import {FRAMEWORK} as d2l: +{d2l:.3f} s over the '
          f'framework alone ({framework:.2f} s)')
    print(f"  Syne Tune's entry point imports {with_ray:.2f} s, without Ray "
          f'Tune {without_ray:.2f} s')


if __name__ == '__main__':
    main()

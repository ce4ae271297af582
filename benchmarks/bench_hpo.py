"""How much faster is ASHA? Real runs and a simulation to many workers.

    python benchmarks/bench_hpo.py record    # learning curves to simulate
    python benchmarks/bench_hpo.py real      # RS, ASHA, sync SH: real runs
    python benchmarks/bench_hpo.py simulate  # the same, 2 to 128 workers
    python benchmarks/bench_hpo.py ablate    # simulated, one cause at a time
    python benchmarks/bench_hpo.py report    # tables and the two figures

Each step writes one CSV under benchmarks/results/ and skips what that
CSV already holds, so an interrupted step resumes where it stopped. Run it
with the Python of the framework's environment (`--framework`, default
pytorch); see benchmarks/README.md.
"""
import argparse
import contextlib
import dataclasses
import datetime
import io
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from d2l import frameworks

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / 'benchmarks' / 'results'
METRIC, RESOURCE = 'validation_error', 'epoch'

with contextlib.redirect_stdout(io.StringIO()):  # Optional-extras notices.
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.config_space import choice
    from syne_tune.optimizer.baselines import ASHA, RandomSearch, SyncHyperband
    from syne_tune.results_callback import StoreResultsCallback
    from syne_tune.tuner_callback import TunerCallback


def load_d2l(framework):
    """The framework's d2l module; a clear error in the wrong environment."""
    try:
        return __import__(f'd2l.{frameworks.by_tab(framework).module}',
                          fromlist=['d2l'])
    except ImportError as error:
        raise SystemExit(
            f'{framework} does not import here ({error}); run this script '
            f'with .envs/{framework}/bin/python') from None


def versions(framework):
    """Date, machine and the versions that produced a CSV."""
    import importlib.metadata as md
    build = frameworks.by_tab(framework)
    found = {}
    for name in (build.package, build.cuda.split('[')[0], 'syne-tune',
                 'numpy'):
        with contextlib.suppress(md.PackageNotFoundError):
            found[name] = md.version(name)
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        cpu = re.search(r'model name\s*: (.*)',
                        pathlib.Path('/proc/cpuinfo').read_text()).group(1)
    return {'date': datetime.date.today().isoformat(),
            'machine': f'{os.cpu_count()} cores, {cpu}', **found}


# --- 1. learning curves -----------------------------------------------------

def record_one(framework, learning_rate, batch_size, max_epochs):
    """Child process: run the chapter's objective for one configuration,
    outside any tuner; its reports go to standard output."""
    load_d2l(framework).objective(learning_rate=learning_rate,
                                  batch_size=batch_size, max_epochs=max_epochs)


def draw_configs(num, seed, space):
    """`num` configurations drawn from the search space `space`."""
    rng = np.random.RandomState(seed)
    return [{'learning_rate': float(space['learning_rate'].sample(
                 random_state=rng)),
             'batch_size': int(space['batch_size'].sample(random_state=rng))}
            for _ in range(num)]


def curve_rows(config_id, config, stdout):
    """One row per epoch from the reports of the objective."""
    rows = []
    for line in stdout.splitlines():
        if line.startswith('[tune-metric]'):
            r = json.loads(line.split(':', 1)[1])
            rows.append({'config_id': config_id, **config,
                         RESOURCE: r[RESOURCE], METRIC: r[METRIC],
                         'startup': r['startup'],
                         # From the start of the process to the end of
                         # this epoch's validation.
                         'elapsed_time': r['startup'] + r['st_worker_time']})
    return rows


def result_file(args, kind):
    """benchmarks/results/<kind>-<framework>-<budget>.csv, or the same
    name in the folder given by --results."""
    return pathlib.Path(args.results) / (
        f'{kind}-{args.framework}-{args.budget}.csv')


def finished(done, **run):
    """Whether the results `done` (None if there are none yet) hold the
    run identified by the column values `run`: a step skips those."""
    if done is None:
        return False
    return np.logical_and.reduce(
        [done[column] == value for column, value in run.items()]).any()


MIDPOINT_ID = -1  # The midpoint's config_id in the tables.


def midpoint(space):
    """Syne Tune's default first configuration for `space`, the one that
    the sections' runs start with."""
    with contextlib.redirect_stdout(io.StringIO()):
        from syne_tune.optimizer.schedulers.searchers.searcher import (
            impute_points_to_evaluate)
    point = impute_points_to_evaluate(None, space)[0]
    return {'learning_rate': float(point['learning_rate']),
            'batch_size': int(point['batch_size'])}


def record(args):
    d2l = load_d2l(args.framework)
    budget = d2l.hpo_budget(args.budget)
    max_epochs = args.max_epochs or budget.max_epochs
    space = d2l.hpo_search_space(max_epochs)
    configs = dict(enumerate(draw_configs(args.configs, 0, space)))
    kind = 'curves'
    if args.midpoint:
        # Beside configuration 0 again, so that it is recorded two at a
        # time like the table's curves, and the two recordings of
        # configuration 0 show how much this machine's speed has drifted.
        configs, kind = {MIDPOINT_ID: midpoint(space), 0: configs[0]}, (
            'midpoint')
    out = result_file(args, kind)
    done = pd.read_csv(out) if out.exists() else pd.DataFrame(
        columns=['config_id'])
    todo = [i for i in configs
            if (done['config_id'] == i).sum() < max_epochs]
    print(f'{budget.name} budget: {len(configs) - len(todo)} of '
          f'{len(configs)} curves in {out}; recording {len(todo)}, '
          f'{budget.n_workers} at a time')
    d2l.share_cpu_cores(budget.n_workers)
    running, tic = {}, time.time()
    while todo or running:
        while todo and len(running) < budget.n_workers:
            i = todo.pop(0)
            running[i] = subprocess.Popen(
                [sys.executable, __file__, 'record-one', '--framework',
                 args.framework, '--learning-rate',
                 repr(configs[i]['learning_rate']), '--batch-size',
                 str(configs[i]['batch_size']), '--max-epochs',
                 str(max_epochs)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.2)
        for i, proc in list(running.items()):
            if proc.poll() is None:
                continue
            stdout, stderr = proc.communicate()
            del running[i]
            rows = curve_rows(i, configs[i], stdout)
            if proc.returncode or len(rows) != max_epochs:
                print(f'config {i} failed (exit {proc.returncode}), kept '
                      f'out of the table:\n{stderr[-2000:]}')
                continue
            frame = pd.DataFrame(rows)
            frame.to_csv(out, mode='a', header=not out.exists(), index=False)
            print(f'config {i}: error {rows[-1][METRIC]:.3f} after '
                  f'{rows[-1]["elapsed_time"]:.0f} s '
                  f'({time.time() - tic:.0f} s so far)', flush=True)


# --- 2. the three methods, real runs -----------------------------------------

METHODS = ('random search', 'ASHA', 'sync SH')


def make_scheduler(method, space, max_epochs, seed, points_to_evaluate=None,
                   **search_options):
    """One of the three methods, with the rungs of the sections: r_min = 1,
    eta = 3, r_max = max_epochs; sync SH is Syne Tune's synchronous
    Hyperband with one bracket, i.e. synchronous successive halving.

    `points_to_evaluate=None` keeps Syne Tune's default first
    configuration, the midpoint of the search space, as the sections do;
    the benchmark passes `[]`, so that every trial is drawn and no method
    starts from a configuration chosen for it."""
    common = dict(metric=METRIC, mode='min', random_seed=seed,
                  points_to_evaluate=points_to_evaluate,
                  search_options=search_options or None)
    if method == 'random search':
        return RandomSearch(space, **common)
    rungs = dict(resource_attr=RESOURCE, grace_period=1, reduction_factor=3,
                 max_resource_attr='max_epochs')
    if method == 'ASHA':
        return ASHA(space, max_t=max_epochs, type='promotion', **rungs,
                    **common)
    if method == 'sync SH':
        return SyncHyperband(space, brackets=1, **rungs, **common)
    raise ValueError(f'unknown method {method!r}; one of {METHODS}')


class Occupancy(TunerCallback):
    """How many workers are busy, integrated over the tuner's clock (the
    simulated one in a simulation) up to `wallclock` seconds, the trials
    started, and the configuration of each start and resume."""
    def __init__(self, wallclock):
        self.wallclock = wallclock

    def on_tuning_start(self, tuner):
        keeper = getattr(tuner.trial_backend, 'time_keeper', None)
        self.clock = keeper.time if keeper is not None else time.perf_counter
        self.start, self.last, self.running = self.clock(), 0.0, 0
        self.busy, self.trials_started, self.jobs = 0.0, 0, []

    def on_start_trial(self, trial):
        self.trials_started += 1
        self.jobs.append(trial.config)

    def on_resume_trial(self, trial):
        self.jobs.append(trial.config)

    def on_fetch_status_results(self, trial_status_dict, new_results):
        # The tuner stops a little after `wallclock`: the rest is not
        # counted, as the results after it are not.
        now = min(self.clock() - self.start, self.wallclock)
        self.busy += self.running * (now - self.last)
        self.last = now
        self.running = sum(status == 'InProgress'
                           for _, status in trial_status_dict.values())

    def usage(self, n_workers):
        return {'n_workers': n_workers, 'wallclock': self.wallclock,
                'trials_started': self.trials_started, 'busy': self.busy}


def run_real(d2l, budget, method, seed):
    """One tuning experiment as the sections run them; one row per report."""
    space = d2l.hpo_search_space(budget.max_epochs)
    occupancy = Occupancy(budget.max_wallclock_time)
    with contextlib.redirect_stdout(io.StringIO()):
        from syne_tune.backend import PythonBackend
        from syne_tune.experiments import load_experiment
    tuner = Tuner(
        trial_backend=PythonBackend(tune_function=d2l.objective,
                                    config_space=space,
                                    rotate_gpus=budget.num_gpus > 0),
        scheduler=make_scheduler(method, space, budget.max_epochs, seed,
                                 points_to_evaluate=[]),
        stop_criterion=StoppingCriterion(
            max_wallclock_time=budget.max_wallclock_time),
        n_workers=budget.n_workers, sleep_time=1, max_failures=10,
        tuner_name=f'bench-{method.replace(" ", "-").lower()}-{seed}',
        callbacks=[StoreResultsCallback(), occupancy],
        save_tuner=False)
    tuner.run()
    results = load_experiment(tuner.name, download_if_not_found=False).results
    # Each trial's hyperparameters, so that anyone can check the draws.
    frame = results[['trial_id', RESOURCE, METRIC, 'st_tuner_time',
                     'startup', 'st_worker_time', 'config_learning_rate',
                     'config_batch_size']].rename(columns=lambda c: c.replace(
                         'config_', ''))
    usage = occupancy.usage(budget.n_workers)
    return frame.assign(method=method, seed=seed, **usage)


def real(args):
    d2l = load_d2l(args.framework)
    budget = d2l.hpo_budget(args.budget)
    if args.wallclock:  # A shorter run, for the smoke test.
        budget = dataclasses.replace(budget, max_wallclock_time=args.wallclock)
    out = result_file(args, 'real')
    done = pd.read_csv(out) if out.exists() else None
    for seed in range(args.seeds):
        for method in args.methods:
            if finished(done, method=method, seed=seed):
                continue
            d2l.share_cpu_cores(budget.n_workers)
            tic = time.time()
            frame = run_real(d2l, budget, method, seed)
            frame = frame.assign(framework=args.framework, budget=budget.name,
                                 **versions(args.framework))
            frame.to_csv(out, mode='a', header=not out.exists(), index=False)
            print(f'{method}, seed {seed}: {frame["trial_id"].nunique()} '
                  f'trials reported, best {frame[METRIC].min():.3f} '
                  f'({time.time() - tic:.0f} s)', flush=True)


# --- 3. simulation on the recorded curves ------------------------------------

def run_simulated(curves, method, n_workers, seed, wallclock, max_epochs,
                  first=()):
    """One simulated experiment on the recorded `curves` (the section's
    `d2l.simulate`); one row per improvement of the best validation
    error, with the simulated time at which it was reported. `first`:
    the config_ids that every run evaluates first."""
    with contextlib.redirect_stdout(io.StringIO()):
        from d2l import hpo as d2l
    ids = sorted(int(i) for i in curves['config_id'].unique())
    # Each new trial draws one of the recorded configurations, with
    # replacement: more workers than curves must not run out of them.
    space = {'config_id': choice(ids), 'max_epochs': max_epochs}
    scheduler = make_scheduler(
        method, space, max_epochs, seed,
        points_to_evaluate=[{'config_id': i} for i in first],
        allow_duplicates=True)
    occupancy = Occupancy(wallclock)
    results = d2l.simulate(curves, scheduler, n_workers, wallclock,
                           callbacks=[occupancy])
    results = results[results['st_tuner_time'] <= wallclock]
    best = results[METRIC].cummin()
    improved = results[best < best.shift(fill_value=np.inf)]
    startup = curves.groupby('config_id')['startup'].first()
    frame = pd.DataFrame({'st_tuner_time': improved['st_tuner_time'],
                          'best': best[improved.index]})
    if frame.empty:  # A run without reports keeps a row, without an error.
        frame = pd.DataFrame({'st_tuner_time': [np.nan], 'best': [np.nan]})
    frame['epochs'] = len(results)
    # Start-up of every job, the last ones' even if cut off by the end.
    return frame.assign(
        method=method, seed=seed, **occupancy.usage(n_workers),
        startup=sum(startup[c['config_id']] for c in occupancy.jobs))


def curves_file(args):
    """The recorded curves: --curves, else the curves CSV in --results."""
    return pathlib.Path(args.curves) if args.curves else result_file(
        args, 'curves')


def simulate(args):
    path = curves_file(args)
    if not path.exists():
        raise SystemExit(f'no recorded curves in {path}: run '
                         '`bench_hpo.py record` first')
    curves = pd.read_csv(path)
    max_epochs = int(curves[RESOURCE].max())
    out = result_file(args, 'simulated')
    done = pd.read_csv(out) if out.exists() else None
    for n_workers in args.workers:
        for seed in range(args.seeds):
            for method in args.methods:
                if finished(done, method=method, seed=seed,
                            n_workers=n_workers):
                    continue
                tic = time.time()
                frame = run_simulated(curves, method, n_workers, seed,
                                      args.simulated_time, max_epochs)
                frame = frame.assign(framework=args.framework,
                                     budget=args.budget, curves=len(
                                         curves['config_id'].unique()),
                                     **versions(args.framework))
                frame.to_csv(out, mode='a', header=not out.exists(),
                             index=False)
                print(f'{n_workers} workers, {method}, seed {seed}: best '
                      f'{frame["best"].min():.3f} '
                      f'({time.time() - tic:.1f} s)', flush=True)


ABLATION_WORKERS = 2  # As in the real runs.


def ablations(curves, midpoint_curve):
    """Variants of the simulation, each changing one thing against the
    recorded table: (name, curves, config_ids evaluated first)."""
    ids = sorted(curves['config_id'].unique())
    no_startup = curves.assign(
        elapsed_time=curves['elapsed_time'] - curves['startup'], startup=0.0)
    # The midpoint joins the table, where later draws can pick it too:
    # one chance in len(ids) + 1 per trial.
    with_midpoint = pd.concat([curves, midpoint_curve])
    return [('as recorded', curves, ()),
            ('no start-up', no_startup, ()),
            ('midpoint first', with_midpoint, (MIDPOINT_ID,)),
            *[(f'{n} curves', curves[curves['config_id'].isin(ids[:n])], ())
              for n in (len(ids) // 2, len(ids) // 4)]]


def on_table_clock(recorded, curves):
    """The midpoint's curve from `recorded` (the `record --midpoint` CSV)
    on the clock of the table `curves`: the machine may have run faster or
    slower since the table was recorded, so its start-up and training
    times are scaled by those of configuration 0, recorded in both."""
    then = curves.query('config_id == 0').sort_values(RESOURCE)
    now = recorded.query('config_id == 0').sort_values(RESOURCE)
    startup = then['startup'].iloc[0] / now['startup'].iloc[0]
    training = ((then['elapsed_time'] - then['startup']).iloc[-1]
                / (now['elapsed_time'] - now['startup']).iloc[-1])
    mid = recorded.query(f'config_id == {MIDPOINT_ID}')
    return mid.assign(startup=mid['startup'] * startup,
                      elapsed_time=mid['startup'] * startup + training * (
                          mid['elapsed_time'] - mid['startup']))


def ablate(args):
    path = curves_file(args)
    # The midpoint's curve is recorded with the table's, beside it.
    midpoint_file = path.with_name(result_file(args, 'midpoint').name)
    for f, step in ((path, 'record'), (midpoint_file, 'record --midpoint')):
        if not f.exists():
            raise SystemExit(f'{f} is missing: run `bench_hpo.py {step}` '
                             'first')
    curves = pd.read_csv(path)
    midpoint_curve = on_table_clock(pd.read_csv(midpoint_file), curves)
    max_epochs = int(curves[RESOURCE].max())
    out = result_file(args, 'ablation')
    done = pd.read_csv(out) if out.exists() else None
    for variant, table, first in ablations(curves, midpoint_curve):
        for seed in range(args.seeds):
            for method in args.methods:
                if finished(done, variant=variant, method=method, seed=seed):
                    continue
                frame = run_simulated(table, method, ABLATION_WORKERS, seed,
                                      args.simulated_time, max_epochs, first)
                frame = frame.assign(variant=variant, framework=args.framework,
                                     budget=args.budget,
                                     curves=table['config_id'].nunique(),
                                     **versions(args.framework))
                frame.to_csv(out, mode='a', header=not out.exists(),
                             index=False)
                print(f'{variant}, {method}, seed {seed}: best '
                      f'{frame["best"].min():.3f}', flush=True)


# --- 4. tables and figures ---------------------------------------------------

COLORS = {'random search': 'C0', 'ASHA': 'C1', 'sync SH': 'C2'}


def plot_anytime(grid, curves, goals, budget_name, path):
    import matplotlib
    matplotlib.use('Agg')
    matplotlib.rcParams['svg.hashsalt'] = 'bench-hpo'  # Same file each time.
    from matplotlib import pyplot as plt
    from d2l import hpo as d2l
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for method, runs in curves.items():
        low, median, high = d2l.quartiles(runs)
        ax.plot(grid, median, color=COLORS[method],
                label=f'{method} ({len(runs)} runs)')
        ax.fill_between(grid, low, high, color=COLORS[method], alpha=0.2,
                        linewidth=0)
    for name, target in goals.items():
        ax.axhline(target, color='grey', linestyle=':', linewidth=1)
        ax.annotate(name, (grid[-1], target), ha='right', va='bottom',
                    fontsize='small', color='grey')
    finite = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    ax.set_ylim(finite.min() - 0.01, np.quantile(finite, 0.95) + 0.02)
    ax.set_xlabel('wall-clock time (seconds)')
    ax.set_ylabel('best validation error so far')
    ax.set_title(f'Real runs, {budget_name} budget: median and quartiles')
    ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(path, metadata={'Date': None})
    plt.close(fig)


def plot_workers(table, column, path):
    import matplotlib
    import matplotlib.ticker
    matplotlib.use('Agg')
    matplotlib.rcParams['svg.hashsalt'] = 'bench-hpo'  # Same file each time.
    from matplotlib import pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.2))
    # A method that never reached the target has no point.
    times = table[column].astype(float).replace(np.inf, np.nan).unstack(
        'method')
    for method in times:
        ax.plot(times.index, times[method], color=COLORS[method],
                marker='o', label=method)
    capped = table.loc[table['capped']].index.get_level_values('n_workers')
    if len(capped):
        ax.axvspan(capped.min(), capped.max(), color='grey', alpha=0.15,
                   label='capped by the table')
    ax.set_xscale('log', base=2)
    ax.set_xticks(times.index, [str(n) for n in times.index])
    if times.notna().any().any():
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel('workers (simulated)')
    ax.set_ylabel(column)
    ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(path, metadata={'Date': None})
    plt.close(fig)


def report(args):
    files = {'real': result_file(args, 'real'), 'curves': curves_file(args),
             'simulated': result_file(args, 'simulated')}
    for kind, f in files.items():
        if not f.exists():
            raise SystemExit(f'{f} is missing: run the steps before '
                             '`report` (see the docstring)')
    real, curves, sim = (pd.read_csv(f) for f in files.values())
    # The section hpo-compare.md computes its tables with the same
    # functions (its `#@save` cells, in d2l/hpo.py).
    with contextlib.redirect_stdout(io.StringIO()):
        from d2l import hpo as d2l
    pd.set_option('display.width', 200)
    goals = d2l.targets(curves)
    print('Targets, from the recorded curves: ' + ', '.join(
        f'{name} {value:.3f}' for name, value in goals.items()))
    print(f'\nReal runs ({files["real"].name}):')
    print(d2l.target_table(real, goals).to_string())
    print(d2l.worker_time(real).round(3).to_string())
    ablation_file = result_file(args, 'ablation')
    if ablation_file.exists():
        print(f'\nSimulated at {ABLATION_WORKERS} workers, one change at a '
              f'time ({ablation_file.name}):')
        print(d2l.target_table(pd.read_csv(ablation_file), goals,
                               by=['variant', 'method']).to_string())
    best = curves[METRIC].min()
    table = d2l.target_table(sim, goals, by=['n_workers', 'method'])
    table = table.join(d2l.capped(sim, best).rename('capped'),
                       on='n_workers')
    print(f'\nSimulated on more workers ({files["simulated"].name}; lowest '
          f'error in the table {best:.3f}):')
    print(table.to_string())
    print('Earliest time at which a recorded curve reaches the target: '
          + ', '.join(f'{name} {t:.1f} s'
                      for name, t in d2l.earliest(curves, goals).items()))
    print(f'Trials started, median run ({curves["config_id"].nunique()} '
          'configurations in the table):')
    print(d2l.trials_started(sim).to_string())
    if args.figures:
        folder = pathlib.Path(args.figures)
        folder.mkdir(parents=True, exist_ok=True)
        wallclock = real['wallclock'].iloc[0]
        grid = np.linspace(0, wallclock, int(wallclock) + 1)
        curves_by_method = {
            m: d2l.anytime(list(r.groupby('seed')), grid)
            for m, r in real.groupby('method', sort=False)}
        plot_anytime(grid, curves_by_method, goals, args.budget,
                     folder / 'bench-hpo-anytime.svg')
        plot_workers(table, f'{list(goals)[-1]} (s)',
                     folder / 'bench-hpo-workers.svg')
        print(f'figures in {folder}/bench-hpo-*.svg')


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('step', choices=['record', 'real', 'simulate',
                                         'ablate', 'report', 'record-one'])
    parser.add_argument('--framework', default='pytorch',
                        choices=frameworks.TABS)
    parser.add_argument('--budget', default='cpu', choices=['cpu', 'full'])
    parser.add_argument('--configs', type=int, default=64,
                        help='record: curves to record')
    parser.add_argument('--midpoint', action='store_true',
                        help="record: the search space's midpoint instead")
    parser.add_argument('--seeds', type=int, default=5,
                        help='real, simulate: seeds per method')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=METHODS, help='real, simulate')
    parser.add_argument('--workers', type=int, nargs='+',
                        default=[2, 8, 32, 128], help='simulate')
    parser.add_argument('--simulated-time', type=float, default=600,
                        help='simulate: seconds of simulated wall-clock')
    parser.add_argument('--results', default=str(RESULTS),
                        help='folder of the CSV files')
    parser.add_argument('--curves', help='simulate, ablate, report: the '
                        'recorded curves '
                        '(default: the curves CSV in --results)')
    parser.add_argument('--wallclock', type=float,
                        help="real: seconds per run instead of the budget's")
    parser.add_argument('--figures', help='report: folder for the SVG '
                        'figures (the chapter reads static/img)')
    parser.add_argument('--learning-rate', type=float, help=argparse.SUPPRESS)
    parser.add_argument('--batch-size', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--max-epochs', type=int,
                        help="record: epochs per curve instead of the "
                        "budget's (shorter curves, for a quick check)")
    args = parser.parse_args(argv)
    if args.step == 'record-one':
        record_one(args.framework, args.learning_rate, args.batch_size,
                   args.max_epochs)
        return
    pathlib.Path(args.results).mkdir(parents=True, exist_ok=True)
    {'record': record, 'real': real, 'simulate': simulate, 'ablate': ablate,
     'report': report}[args.step](args)


if __name__ == '__main__':
    main()

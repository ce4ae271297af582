"""benchmarks/bench_hpo.py: a smoke run of each step; and the committed
results, of which hpo-compare.md computes its tables.

The smoke run is real: the section's objective trained by Syne Tune for a
few seconds, and Syne Tune's simulator on the committed learning curves
(PyTorch environment only). The committed results are checked in every
environment: the conclusions that the section's prose states must hold
for them, computed with the section's own functions (d2l/hpo.py), and the
prose must not quote a number that its cells print.
"""
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from conftest import FRAMEWORK

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'benchmarks' / 'bench_hpo.py'
COMMITTED = ROOT / 'benchmarks' / 'results'
METHODS = {'random search', 'ASHA', 'sync SH'}

SECTION = ROOT / 'chapter_hyperparameter_optimization' / 'hpo-compare.md'

# scikit-learn, which Syne Tune's simulator imports, is pinned in the
# PyTorch environment, where the benchmark runs.
needs_torch = pytest.mark.skipif(
    FRAMEWORK != 'torch', reason='the benchmark runs in .envs/pytorch')


def bench(*args, folder):
    """Run a step of the script in `folder`; return its standard output."""
    env = dict(os.environ, SYNETUNE_FOLDER=str(folder / 'syne-tune'))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args, '--results', str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    """One seed of real ASHA for 20 seconds, run twice (the second run
    finds it done); one seed of each method simulated for 60 seconds on 2
    and 8 workers; then the report with its figures."""
    folder = tmp_path_factory.mktemp('bench-hpo')
    outputs = [bench('real', '--seeds', '1', '--methods', 'ASHA',
                     '--wallclock', '20', folder=folder) for _ in range(2)]
    outputs.append(bench(
        'simulate', '--seeds', '1', '--workers', '2', '8',
        '--simulated-time', '60', '--curves',
        str(COMMITTED / 'curves-pytorch-cpu.csv'), folder=folder))
    # The report needs real runs of random search for its target: the
    # committed ones stand in for them.
    real = pd.concat([pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv').query(
        "method != 'ASHA'"), pd.read_csv(folder / 'real-pytorch-cpu.csv')])
    real.to_csv(folder / 'real-pytorch-cpu.csv', index=False)
    outputs.append(bench('report', '--figures', str(folder / 'figures'),
                         folder=folder))
    return folder, outputs


@needs_torch
def test_real_run_reports_every_epoch_once(smoke):
    folder, (first, again, *_) = smoke
    real = pd.read_csv(folder / 'real-pytorch-cpu.csv').query(
        "method == 'ASHA' and wallclock == 20")
    assert len(real) >= 1 and set(real['seed']) == {0}
    assert real['validation_error'].between(0, 1).all()
    for _, trial in real.groupby('trial_id'):
        assert sorted(trial['epoch']) == list(range(1, len(trial) + 1))
    # Busy worker time: positive, at most the workers' time (to within the
    # tuner's polling interval of one second).
    assert 0 < real['busy'].iloc[0] <= 2 * (20 + 1)
    assert real['trials_started'].iloc[0] >= real['trial_id'].nunique()
    for column in ('date', 'machine', 'torch', 'syne-tune'):
        assert real[column].notna().all()
    assert 'ASHA, seed 0' in first
    assert again == ''  # Restarted: nothing left to run.


@needs_torch
def test_simulation_runs_each_method_on_more_workers(smoke):
    folder, _ = smoke
    sim = pd.read_csv(folder / 'simulated-pytorch-cpu.csv')
    runs = sim.groupby(['n_workers', 'method']).first()
    assert set(runs.index) == {(n, m) for n in (2, 8) for m in METHODS}
    workers = runs.index.get_level_values('n_workers')
    assert (runs['busy'].to_numpy() <= workers.to_numpy() * (60 + 1)).all()
    assert (runs['startup'] > 0).all()
    for method in METHODS:
        assert (runs.loc[(8, method), 'trials_started']
                > runs.loc[(2, method), 'trials_started'])
    assert sim['st_tuner_time'].le(60).all()


@needs_torch
def test_report_prints_tables_and_writes_figures(smoke):
    folder, outputs = smoke
    assert 'time to target' in outputs[-1]
    assert 'speed-up of ASHA over sync SH at 8 workers' in outputs[-1]
    for name in ('bench-hpo-anytime.svg', 'bench-hpo-workers.svg'):
        root = ET.parse(folder / 'figures' / name).getroot()
        assert root.tag.endswith('svg')


# --- the committed results ------------------------------------------------

def test_committed_curves_cover_every_epoch():
    curves = pd.read_csv(COMMITTED / 'curves-pytorch-cpu.csv')
    per_config = curves.groupby('config_id')['epoch'].apply(sorted)
    assert len(per_config) >= 64
    assert all(e == list(range(1, 10)) for e in per_config)
    assert curves.groupby('config_id')['elapsed_time'].apply(
        lambda t: np.all(np.diff(t) > 0)).all()


def test_committed_runs_have_five_seeds_per_method():
    real = pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv')
    seeds = real.groupby('method')['seed'].nunique()
    assert set(seeds.index) == METHODS and (seeds >= 5).all()
    sim = pd.read_csv(COMMITTED / 'simulated-pytorch-cpu.csv')
    assert set(sim['n_workers']) == {2, 8, 32, 128}
    assert (sim.groupby(['n_workers', 'method'])['seed'].nunique()
            >= 5).all()


# --- what hpo-compare.md concludes from them --------------------------------

@pytest.fixture(scope='module')
def committed():
    """The section's tables of the committed CSV files, computed by the
    section's `#@save` functions: a namespace like the notebook's."""
    from d2l import hpo as d2l
    real = pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv')
    sim = pd.read_csv(COMMITTED / 'simulated-pytorch-cpu.csv')
    curves = pd.read_csv(COMMITTED / 'curves-pytorch-cpu.csv')
    grid, table, runs, target, sim_table = d2l.bench_tables(real, sim)
    best = curves['validation_error'].min()
    sim_table['capped'] = d2l.capped(sim_table, best)
    per_config = curves.groupby('config_id')
    startup = per_config['startup'].first()
    epoch = (per_config['elapsed_time'].max() - startup) / per_config[
        'epoch'].max()
    return dict(d2l=d2l, real=real, curves=curves, table=table,
                target=target, sim_table=sim_table, best=best,
                best_trials=d2l.best_trials(real),
                reached=d2l.configs_reaching(curves, target),
                startup_epochs=startup / epoch)


def test_real_runs_cannot_rank_the_methods(committed):
    """'The printed medians of the final errors differ by less than the
    quartiles of one method span, and one method, synchronous successive
    halving, has no time to target at all.'"""
    table = committed['table']
    medians = table['final error (median)'].astype(float)
    spans = [float(hi) - float(lo) for lo, hi in
             table['final error (IQR)'].str.split('-')]
    assert medians.max() - medians.min() < max(spans)
    times = table['time to target (s)'].astype(float)
    assert list(times[times.isna()].index) == ['sync SH']


def test_midpoint_was_best_in_every_random_search_run(committed):
    """'In every run of random search the best trial was trial 0, the
    midpoint', and many recorded configurations reach the target."""
    assert (committed['best_trials'].loc['random search'] == 0).all()
    reached, total = committed['reached']
    assert total >= 64 and reached >= total / 4


def test_where_the_real_runs_spent_their_time(committed):
    """ASHA and sync SH started more trials than random search, their
    start-up shares are several times random search's, and no method left
    the workers idle for more than a small fraction of their time."""
    table = committed['table'].astype({'trials started': float,
                                       'start-up': float, 'idle': float})
    rs = table.loc['random search']
    for method in ('ASHA', 'sync SH'):
        assert table.loc[method, 'trials started'] > rs['trials started']
        assert table.loc[method, 'start-up'] > 2 * rs['start-up']
    assert (table['idle'] < 0.05).all()
    assert (committed['sim_table']['idle'] < 0.05).all()
    # 'starting a process costs a sizeable fraction of an epoch'
    assert committed['startup_epochs'].min() > 0.1


def test_simulation_is_capped_beyond_two_workers(committed):
    """'With two workers, the only number of workers in the table that is
    not capped, the simulation ranks the methods as their median real runs
    ended: ASHA reaches the target first, then random search, then
    synchronous successive halving, and after the real runs' budget ASHA's
    median error is the lowest of the three.'"""
    sim = committed['sim_table']
    assert set(sim.loc[~sim['capped'], 'workers']) == {2}
    assert sim['workers'].nunique() > 1
    two = sim[sim['workers'] == 2].set_index('method')
    order = list(two['time to target (s)'].sort_values().index)
    assert order == ['ASHA', 'random search', 'sync SH']
    real = committed['table']['final error (median)'].astype(float)
    assert list(real.sort_values().index) == order
    at_real = [c for c in two if c.startswith('error at ')]
    assert two[at_real[0]].idxmin() == 'ASHA'


def printed_values(committed):
    """The numbers that the section's cells print from the CSV files, as
    prose would quote them (settings such as the workers are left out)."""
    table, sim = committed['table'], committed['sim_table']
    values = [committed['target'], committed['best'],
              *committed['reached'],
              *committed['startup_epochs'].agg(['min', 'max'])]
    for column in ('trials started', 'final error (median)',
                   'time to target (s)', 'start-up', 'idle'):
        values += list(table[column].astype(float))
    for column in sim:
        if column.startswith(('time to', 'error at', 'final', 'idle')):
            values += list(sim[column])
    quoted = set()
    for v in (float(v) for v in values if not pd.isna(v)):
        if v == int(v) and v >= 10:
            quoted.add(f'{v:.0f}')
        elif v < 1:
            quoted |= {f'{v:.3f}', f'{v:.2f}', f'{100 * v:.0f}%',
                       f'{100 * v:.1f}%'}
    for lo, hi in table['final error (IQR)'].str.split('-'):
        quoted |= {lo, hi}
    return quoted - {'0.00', '0%', '0.0%'}


def prose(text):
    """The section's text without its code cells and math."""
    text = re.sub(r'^```.*?^```', '', text, flags=re.M | re.S)
    return re.sub(r'\$[^$]*\$', '', text)


def test_prose_quotes_no_printed_number(committed):
    """The numbers are printed by the cells; the prose refers to them."""
    words = set(re.findall(r'\d+(?:\.\d+)?%?', prose(SECTION.read_text())))
    quoted = sorted(words & printed_values(committed))
    assert not quoted, f'hpo-compare.md quotes {quoted} by hand'


def test_prose_check_finds_a_quoted_number(committed):
    """The check above fails on a hand-quoted target."""
    text = f"The target ({committed['target']:.3f}) was reached."
    words = set(re.findall(r'\d+(?:\.\d+)?%?', prose(text)))
    assert words & printed_values(committed)


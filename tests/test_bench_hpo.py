"""benchmarks/bench_hpo.py: a smoke run of each step; and the committed
results, of which hpo-compare.md and hpo-simulate.md compute their tables.

The smoke run is real: the section's objective trained by Syne Tune for a
few seconds, and Syne Tune's simulator on the committed learning curves
(PyTorch environment only). The committed results are checked in every
environment: the conclusions that the sections' prose states must hold
for them, computed with the sections' own functions (d2l/hpo.py), and the
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

SECTIONS = [ROOT / 'chapter_hyperparameter_optimization' / f'hpo-{name}.md'
            for name in ('compare', 'simulate')]

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
    and 8 workers, and the ablation likewise; then the report with its
    figures."""
    folder = tmp_path_factory.mktemp('bench-hpo')
    outputs = [bench('real', '--seeds', '1', '--methods', 'ASHA',
                     '--wallclock', '20', folder=folder) for _ in range(2)]
    curves = ('--curves', str(COMMITTED / 'curves-pytorch-cpu.csv'))
    outputs.append(bench('simulate', '--seeds', '1', '--workers', '2', '8',
                         '--simulated-time', '60', *curves, folder=folder))
    outputs.append(bench('ablate', '--seeds', '1', '--simulated-time', '60',
                         *curves, folder=folder))
    # The report needs real runs of every method: the committed ones stand
    # in for those of random search and sync SH.
    real = pd.concat([pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv').query(
        "method != 'ASHA'"), pd.read_csv(folder / 'real-pytorch-cpu.csv')])
    real.to_csv(folder / 'real-pytorch-cpu.csv', index=False)
    outputs.append(bench('report', '--figures', str(folder / 'figures'),
                         *curves, folder=folder))
    return folder, outputs


@needs_torch
def test_record_writes_one_row_per_epoch_and_resumes(tmp_path):
    """Two configurations drawn as the table's first two, one epoch each,
    recorded two at a time; a second run finds them done."""
    first, again = (bench('record', '--configs', '2', '--max-epochs', '1',
                          folder=tmp_path) for _ in range(2))
    curves = pd.read_csv(tmp_path / 'curves-pytorch-cpu.csv')
    committed = pd.read_csv(COMMITTED / 'curves-pytorch-cpu.csv')
    assert sorted(curves['config_id']) == [0, 1]
    assert (curves['epoch'] == 1).all()
    assert curves['validation_error'].between(0, 1).all()
    assert (curves['elapsed_time'] > curves['startup']).all()
    assert (curves['startup'] > 0).all()
    # The same draws as the committed table's first two configurations.
    columns = ['config_id', 'learning_rate', 'batch_size']
    drawn = committed[columns].drop_duplicates().set_index('config_id')
    for _, row in curves.iterrows():
        assert np.isclose(row['learning_rate'],
                          drawn.loc[row['config_id'], 'learning_rate'])
        assert row['batch_size'] == drawn.loc[row['config_id'], 'batch_size']
    assert 'recording 2' in first and 'recording 0' in again


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
    for column in ('date', 'machine', 'torch', 'syne-tune', 'learning_rate',
                   'batch_size'):
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
def test_ablation_changes_one_cause_at_a_time(smoke):
    folder, _ = smoke
    ablation = pd.read_csv(folder / 'ablation-pytorch-cpu.csv')
    runs = ablation.groupby(['variant', 'method']).first()
    variants = ['as recorded', 'no start-up', 'midpoint first', '32 curves',
                '16 curves']
    assert set(runs.index) == {(v, m) for v in variants for m in METHODS}
    assert (runs['n_workers'] == 2).all()
    startup = runs['startup'].unstack('method')
    assert (startup.loc['no start-up'] == 0).all()
    assert (startup.drop('no start-up') > 0).all().all()
    assert list(runs['curves'].unstack('method')['ASHA'][variants]) == [
        64, 64, 65, 32, 16]


@needs_torch
def test_report_prints_tables_and_writes_figures(smoke):
    folder, outputs = smoke
    report = outputs[-1]
    for text in ('Targets, from the recorded curves: 25% target 0.',
                 '10% target (s)', 'one change at a time', 'capped',
                 'Earliest time at which a recorded curve', 'Trials started'):
        assert text in report
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


def test_committed_runs_are_fair():
    """Every method ran the same seeds, at least five; no trial trained the
    midpoint; a seed draws the same configurations for every method."""
    real = pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv')
    seeds = real.groupby('method')['seed'].apply(frozenset)
    assert set(seeds.index) == METHODS and seeds.nunique() == 1
    assert len(seeds.iloc[0]) >= 5
    assert real.groupby(['method', 'seed'])['wallclock'].first().nunique() == 1
    midpoint = pd.read_csv(COMMITTED / 'midpoint-pytorch-cpu.csv').query(
        'config_id == -1')
    assert len(midpoint) == 9
    assert real.merge(midpoint[['learning_rate', 'batch_size']]).empty
    configs = real.groupby(['seed', 'method', 'trial_id'])[
        ['learning_rate', 'batch_size']].first()
    for seed, runs in configs.groupby('seed'):
        # The same sequence, as far as the shortest run of the seed drew.
        sequences = [run.to_numpy() for _, run in runs.groupby('method')]
        common = min(len(s) for s in sequences)
        assert common >= 10
        for sequence in sequences[1:]:
            assert np.array_equal(sequence[:common], sequences[0][:common])


def test_committed_simulations_cover_every_setting():
    sim = pd.read_csv(COMMITTED / 'simulated-pytorch-cpu.csv')
    assert set(sim['n_workers']) == {2, 8, 32, 128}
    assert (sim.groupby(['n_workers', 'method'])['seed'].nunique()
            >= 10).all()
    ablation = pd.read_csv(COMMITTED / 'ablation-pytorch-cpu.csv')
    assert ablation['variant'].nunique() == 5
    assert (ablation.groupby(['variant', 'method'])['seed'].nunique()
            >= 10).all()


# --- what hpo-compare.md concludes from them --------------------------------

@pytest.fixture(scope='module')
def committed():
    """The section's tables of the committed CSV files, computed by the
    section's `#@save` functions (d2l/hpo.py)."""
    from d2l import hpo as d2l
    read = lambda kind: pd.read_csv(COMMITTED / f'{kind}-pytorch-cpu.csv')
    real, curves, sim = read('real'), read('curves'), read('simulated')
    goals = d2l.targets(curves)
    best = curves['validation_error'].min()
    return dict(
        d2l=d2l, goals=goals, best=best,
        real=d2l.target_table(real, goals),
        worker_time=d2l.worker_time(real),
        ablation=d2l.target_table(read('ablation'), goals,
                                  by=['variant', 'method']),
        sim=d2l.target_table(sim, goals, by=['n_workers', 'method']),
        capped=d2l.capped(sim, best),
        earliest=d2l.earliest(curves, goals),
        trials=d2l.trials_started(sim))


# hpo-compare.md

def test_real_runs_asha_reaches_the_targets_more_often(committed):
    """'ASHA reached each target in more runs than random search,
    synchronous successive halving only the easier one; and ASHA's median
    time to the 10% target is below that of random search, whose median
    run did not reach it within the budget.'"""
    real = committed['real']
    for name in committed['goals']:
        reached = real[f'{name} reached']
        assert reached['ASHA'] > reached['random search']
        assert (reached['sync SH'] > reached['random search']) == (
            name == '25% target')
    times = real['10% target (s)'].astype(float)
    assert times['ASHA'] < times['random search'] == np.inf


def test_real_runs_do_not_separate_the_methods(committed):
    """'For each target the intervals of the three methods overlap.'"""
    real = committed['real']
    for name in committed['goals']:
        bounds = [tuple(float(v) for v in text.split('-'))
                  for text in real[f'{name} interval']]
        assert max(low for low, _ in bounds) <= min(high for _, high in bounds)


def test_where_the_real_runs_spent_their_time(committed):
    """'ASHA and synchronous successive halving started more than twice as
    many trials as random search and trained fewer epochs, and they spent a
    share of the workers' time on starting processes several times that of
    random search. No method left the workers idle for more than a
    hundredth of their time.'"""
    table = committed['worker_time']
    rs = table.loc['random search']
    for method in ('ASHA', 'sync SH'):
        assert table.loc[method, 'trials started'] > 2 * rs['trials started']
        assert table.loc[method, 'epochs trained'] < rs['epochs trained']
        assert table.loc[method, 'start-up'] > 3 * rs['start-up']
    assert (table['idle'] < 0.01).all()


# hpo-simulate.md

def fastest(rows, name):
    """The method with the lowest median time to the target `name`."""
    return rows[f'{name} (s)'].astype(float).idxmin()


def test_simulated_asha_is_first_at_two_workers(committed):
    """'As recorded, ASHA has the lowest median time to both targets', and
    'at two workers the simulation ranks the methods as the ablation did'."""
    as_recorded = committed['ablation'].loc['as recorded']
    two = committed['sim'].loc[2]
    for name in committed['goals']:
        assert fastest(as_recorded, name) == fastest(two, name) == 'ASHA'


def test_start_up_does_not_decide(committed):
    """'Without it every method is faster, and ... ASHA and synchronous
    successive halving, gain the most; ASHA stays first.'"""
    ablation = committed['ablation']
    for name in committed['goals']:
        column = f'{name} (s)'
        gain = (ablation.loc['as recorded', column]
                - ablation.loc['no start-up', column])
        assert (gain > 0).all()
        assert min(gain['ASHA'], gain['sync SH']) > gain['random search']
        assert fastest(ablation.loc['no start-up'], name) == 'ASHA'


def test_midpoint_first_hands_the_easier_target_to_random_search(committed):
    """'The midpoint's curve reaches the 25% target, so random search ...
    reaches that target at the same early time in every run, before the
    other methods.'"""
    target = committed['goals']['25% target']
    midpoint = pd.read_csv(COMMITTED / 'midpoint-pytorch-cpu.csv').query(
        'config_id == -1')
    assert midpoint['validation_error'].min() <= target
    rows = committed['ablation'].loc['midpoint first']
    assert fastest(rows, '25% target') == 'random search'
    low, high = rows.loc['random search', '25% target interval'].split('-')
    assert low == high
    assert rows.loc['random search', '25% target reached'] == rows.loc[
        'random search', 'runs']


def test_fewer_configurations_make_other_problems(committed):
    """'With the first 32, random search is first to both targets; with the
    first 16, no run reaches the 10% target at all.' 'The first 32
    configurations hold more that reach the 25% target, the first 16 none
    that reach the 10% target.'"""
    ablation, goals = committed['ablation'], committed['goals']
    for name in goals:
        assert fastest(ablation.loc['32 curves'], name) == 'random search'
    assert (ablation.loc['16 curves', '10% target reached'] == 0).all()
    curves = pd.read_csv(COMMITTED / 'curves-pytorch-cpu.csv')
    last = curves[curves['epoch'] == 9].sort_values('config_id')[
        'validation_error']
    share = lambda n, name: (last.iloc[:n] <= goals[name]).mean()
    assert share(32, '25% target') > share(64, '25% target')
    assert share(16, '10% target') == 0


def test_many_workers(committed):
    """'At eight, random search is first'; capped from some number of
    workers on, not at two or eight."""
    capped = committed['capped']
    assert not capped[2] and not capped[8] and capped.any()
    first = capped.idxmax()
    assert capped[capped.index >= first].all()
    for name in committed['goals']:
        assert fastest(committed['sim'].loc[8], name) == 'random search'


def test_many_workers_reach_the_earliest_possible_time(committed):
    """'At 32 and 128 workers random search reaches both targets at about
    the earliest possible time ... ASHA and synchronous successive halving
    arrive later'; 'ASHA and synchronous successive halving at eight
    workers, and every method from 32 on, start more trials than the table
    has configurations'."""
    sim, earliest = committed['sim'], committed['earliest']
    for n_workers in (32, 128):
        for name, floor in earliest.items():
            times = sim.loc[n_workers, f'{name} (s)'].astype(float)
            assert (times >= floor).all()
            assert times['random search'] <= 1.1 * floor
            assert (times.drop('random search') > times['random search']).all()
    table_size = pd.read_csv(COMMITTED / 'curves-pytorch-cpu.csv')[
        'config_id'].nunique()
    trials = committed['trials']
    assert (trials.loc[2] < table_size).all()
    assert trials.loc[8, 'random search'] < table_size
    assert (trials.loc[8, ['ASHA', 'sync SH']] > table_size).all()
    assert (trials.loc[[32, 128]] > table_size).all().all()


# hpo-compare.md and hpo-simulate.md



# Settings that the prose names (workers, epochs, seeds, quantiles), which
# a printed time may equal by chance.
SETTINGS = {'1', '2', '3', '5', '8', '9', '10', '16', '25', '32', '64', '95',
            '128', '10%', '25%', '95%'}


def printed_values(committed):
    """The numbers that the section's cells print from the CSV files, as
    prose would quote them."""
    values = [*committed['goals'].values(), committed['best'],
              *committed['earliest'].values(),
              *committed['trials'].to_numpy().ravel(),
              *committed['worker_time'].to_numpy().ravel()]
    for table in (committed[t] for t in ('real', 'ablation', 'sim')):
        for column in table:
            if column.endswith('(s)'):
                values += list(table[column])
            elif column.endswith('interval'):
                values += [float(v) for text in table[column]
                           for v in text.split('-')]
    quoted = set()
    for v in (float(v) for v in values if np.isfinite(v)):
        if v >= 10:
            quoted |= {f'{v:.0f}', f'{v:.1f}'}
        elif v < 1:
            quoted |= {f'{v:.3f}', f'{v:.2f}', f'{100 * v:.0f}%',
                       f'{100 * v:.1f}%'}
    return quoted - SETTINGS - {'0.00', '0%', '0.0%'}


def prose(text):
    """The section's text without its code cells and math."""
    text = re.sub(r'^```.*?^```', '', text, flags=re.M | re.S)
    return re.sub(r'\$[^$]*\$', '', text)


@pytest.mark.parametrize('section', SECTIONS, ids=lambda p: p.name)
def test_prose_quotes_no_printed_number(committed, section):
    """The numbers are printed by the cells; the prose refers to them."""
    words = set(re.findall(r'\d+(?:\.\d+)?%?', prose(section.read_text())))
    quoted = sorted(words & printed_values(committed))
    assert not quoted, f'{section.name} quotes {quoted} by hand'


def test_prose_check_finds_a_quoted_number(committed):
    """The check above fails on a hand-quoted target."""
    text = f"The target ({committed['goals']['10% target']:.3f}) was met."
    words = set(re.findall(r'\d+(?:\.\d+)?%?', prose(text)))
    assert words & printed_values(committed)


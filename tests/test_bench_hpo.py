"""benchmarks/bench_hpo.py: a smoke run of each step, and the committed
results that the ASHA section quotes.

The smoke run is real: the section's objective trained by Syne Tune for a
few seconds, and Syne Tune's simulator on the committed learning curves.
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

# scikit-learn, which Syne Tune's simulator imports, is pinned in the
# PyTorch environment, where the benchmark runs.
pytestmark = pytest.mark.skipif(
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


def test_section_quotes_the_committed_results():
    """Every figure that hpo-compare.md gives for the benchmark is what the
    report computes from the committed CSV files."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import bench_hpo
    finally:
        sys.path.pop(0)
    _, table, _, target, sim_table = bench_hpo.tables(
        pd.read_csv(COMMITTED / 'real-pytorch-cpu.csv'),
        pd.read_csv(COMMITTED / 'simulated-pytorch-cpu.csv'))
    text = (ROOT / 'chapter_hyperparameter_optimization' / 'hpo-compare.md'
            ).read_text()
    quoted = text[text.index('## How Much Faster'):text.index('## Summary')]
    expected = {f'{target:.3f}'}
    for method, row in table.iterrows():
        expected.add(f"{row['final error (median)']:.3f}")
        if not np.isnan(row['time to target (s)']):
            expected.add(f"{row['time to target (s)']:.0f} s")
    times = sim_table.set_index(['workers', 'method'])['time to target (s)']
    for other in ('sync SH', 'random search'):
        expected.add(f'{times[128, other] / times[128, "ASHA"]:.1f}')
    missing = sorted(e for e in expected if e not in quoted)
    assert not missing, f'hpo-compare.md does not quote {missing}'

"""What the sections rely on: successive halving, the objective, ASHA."""
import contextlib
import io
import json
import os
import sys

import pandas as pd
import pytest

from d2l import hpo


# Successive halving, on an objective whose errors are known in advance.

def run_sh(errors, r_min=1, r_max=4, eta=2):
    """Run SuccessiveHalving where trial i's error at resource r is
    errors[i] - 0.01 * r, so that the ranking is the same at every rung."""
    configs = [{'index': i} for i in range(len(errors))]
    calls = []

    def objective(index, max_epochs):
        calls.append((index, max_epochs))
        return errors[index] - 0.01 * max_epochs
    sh = hpo.SuccessiveHalving(objective, r_min=r_min, r_max=r_max, eta=eta)
    return pd.DataFrame(sh.run(configs)), calls


def test_configurations_per_rung():
    results, calls = run_sh([0.5, 0.2, 0.9, 0.4, 0.8, 0.1, 0.3, 0.7])
    assert results.groupby('rung').size().to_dict() == {1: 8, 2: 4, 4: 2}
    assert len(calls) == 14 and (results['seconds'] >= 0).all()


def test_kept_trials_are_the_best_of_their_rung():
    errors = [0.5, 0.2, 0.9, 0.4, 0.8, 0.1, 0.3, 0.7]
    results, _ = run_sh(errors)
    rungs = [df.set_index('trial')['error'] for _, df in
             results.groupby('rung')]
    for lower, upper in zip(rungs, rungs[1:]):
        assert set(upper.index) == set(lower.nsmallest(len(upper)).index)
    assert list(rungs[-1].sort_values().index) == [5, 1]


def test_ties_keep_the_trial_evaluated_first():
    results, _ = run_sh([0.3, 0.3, 0.3, 0.3], r_max=2)
    assert results[results.rung == 2]['trial'].tolist() == [0, 1]


def test_eta_that_does_not_divide_the_count():
    # 7 trials, eta=3: floor(7/3) = 2 go on, then max(1, floor(2/3)) = 1.
    results, _ = run_sh([0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0], r_max=9,
                        eta=3)
    assert results.groupby('rung').size().to_dict() == {1: 7, 3: 2, 9: 1}
    assert results[results.rung == 9]['trial'].tolist() == [6]


def test_rung_levels():
    """r_min * eta**k below r_max, then r_max, whether or not it is one of
    them."""
    assert hpo.rung_levels(1, 4, 2) == [1, 2, 4]
    assert hpo.rung_levels(1, 9, 3) == [1, 3, 9]
    assert hpo.rung_levels(1, 10, 3) == [1, 3, 9, 10]
    assert hpo.rung_levels(2, 20, 2) == [2, 4, 8, 16, 20]
    assert hpo.rung_levels(2, 2, 2) == [2]
    sh = hpo.SuccessiveHalving(None, r_min=1, r_max=10, eta=3)
    assert sh.rung_levels == [1, 3, 9, 10]


@pytest.mark.parametrize('kwargs, message', [
    (dict(r_min=5, r_max=4), 'r_min must be at most r_max'),
    (dict(r_min=0, r_max=4), 'r_min must be an integer >= 1'),
    (dict(r_min=1.5, r_max=4), 'r_min must be an integer >= 1'),
    (dict(r_min=1, r_max=4, eta=1), 'eta must be an integer >= 2'),
    (dict(r_min=1, r_max=4, eta=1.5), 'eta must be an integer >= 2'),
    (dict(r_min=1, r_max=4, eta=True), 'eta must be an integer >= 2')])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hpo.SuccessiveHalving(None, **kwargs)


def test_rung_idle_time():
    # Two workers: 3 s and 1 s, then 1 s on the second worker: it waits 1 s.
    assert hpo.rung_idle_time([3, 1, 1], num_workers=2) == 1
    assert hpo.rung_idle_time([2, 2], num_workers=2) == 0
    assert hpo.rung_idle_time([4], num_workers=2) == 4


def test_bad_budget_name():
    with pytest.raises(ValueError, match="'cpu' or 'full'"):
        hpo.choose_budget('gpu')


# The chapter's objective (saved from rs-async.md as d2l.objective).

def run_objective(d2l, monkeypatch, argv=(), **config):
    """Call the objective in this process, as Syne Tune's worker would
    with `argv` on its command line; return its reports."""
    monkeypatch.setenv(hpo.BUDGET_VAR, 'cpu')
    monkeypatch.setattr(sys, 'argv', ['objective', *argv])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        d2l.objective(**config)
    return [json.loads(line.split(':', 1)[1]) for line in
            out.getvalue().splitlines() if line.startswith('[tune-metric]')]


def test_objective_reports_one_result_per_epoch(d2l, monkeypatch):
    reports = run_objective(d2l, monkeypatch, learning_rate=0.01,
                            batch_size=64, max_epochs=2)
    assert [r['epoch'] for r in reports] == [1, 2]
    for r in reports:
        assert 0 <= r['validation_error'] <= 1
        assert 0 < r['startup'] < 120
    assert reports[0]['startup'] == reports[1]['startup']


def test_objective_resumes_from_its_checkpoint(d2l, monkeypatch, tmp_path):
    argv = ['--learning_rate', '0.01', '--st_checkpoint_dir', str(tmp_path)]
    config = dict(learning_rate=0.01, batch_size=64)
    first = run_objective(d2l, monkeypatch, argv, max_epochs=1, **config)
    assert (tmp_path / 'checkpoint.npz').is_file()
    resumed = run_objective(d2l, monkeypatch, argv, max_epochs=3, **config)
    assert [r['epoch'] for r in first + resumed] == [1, 2, 3]
    # Nothing left to train: a resumed trial at its maximum reports nothing.
    assert run_objective(d2l, monkeypatch, argv, max_epochs=3,
                         **config) == []


RUNGS = dict(r_min=1, r_max=4, eta=2)
ASHA_ARGS = dict(metric='validation_error', resource_attr='epoch')


@pytest.fixture(scope='module')
def asha_run(d2l, tmp_path_factory):
    """A short ASHA run of the chapter's objective on the CPU budget:
    the results as load_experiment gives them, the raw results file, and
    the events that the tuner logged (d2l.TunerLog)."""
    with contextlib.redirect_stdout(io.StringIO()):
        from syne_tune import Tuner
        from syne_tune.backend import PythonBackend
        from syne_tune.config_space import loguniform, randint
        from syne_tune.experiments import load_experiment
        from syne_tune.optimizer.baselines import ASHA
    folder = tmp_path_factory.mktemp('syne-tune')
    # Learning rates that learn something, so that the ranking is real.
    search_space = {'learning_rate': loguniform(1e-3, 1e-1),
                    'batch_size': randint(32, 128), 'max_epochs': 4}
    scheduler = ASHA(search_space, mode='min', type='promotion',
                     max_resource_attr='max_epochs',
                     **hpo.rung_args(**RUNGS), **ASHA_ARGS)
    def enough(status):
        """Stop once a trial has been resumed past the lowest rung and
        several others have started; at the latest after five minutes."""
        epochs = status.overall_metric_statistics.max_metrics.get('epoch', 0)
        return status.wallclock_time > 300 or (
            epochs >= 2 and status.num_trials_started >= 3)
    with pytest.MonkeyPatch.context() as env:
        # Syne Tune writes a std.out into the working directory.
        env.chdir(folder)
        env.setenv('SYNETUNE_FOLDER', str(folder))
        env.setenv(hpo.BUDGET_VAR, 'cpu')
        for var in hpo.THREAD_VARS:
            env.setenv(var, os.environ.get(var, ''))  # Restored afterwards.
        hpo.share_cpu_cores(2)
        log = hpo.TunerLog()
        tuner = Tuner(trial_backend=PythonBackend(
                          tune_function=d2l.objective,
                          config_space=search_space),
                      scheduler=scheduler, n_workers=2, sleep_time=1,
                      stop_criterion=enough, tuner_name='test-asha',
                      callbacks=[log])
        tuner.run()
        results = load_experiment(tuner.name).results
    raw = pd.read_csv(folder / tuner.name / 'results.csv.zip')
    return results, raw, (search_space, log.events)


def test_replay_of_the_run_agrees_with_syne_tune(asha_run):
    """The replay of asha-scratch.md: SyneTuneASHA, fed the events of a
    real Syne Tune run, decides as Syne Tune's ASHA did at every step; the
    log holds every report (the results file has them too), starts and a
    resume."""
    _, raw, (search_space, events) = asha_run
    kinds = [event[0] for event in events]
    assert kinds.count('result') == len(raw)
    assert kinds.count('start') >= 3 and kinds.count('resume') >= 1
    scheduler = hpo.SyneTuneASHA(search_space, **RUNGS, **ASHA_ARGS)
    assert hpo.replay(scheduler, events) == (len(events), len(events))


def test_replay_makes_the_tuners_calls(asha_run):
    """A fresh Syne Tune ASHA, replayed its own run, decides as it did: the
    replay makes the calls that the tuner made (new trial ids, trials added
    and removed), or Syne Tune's bookkeeping would diverge."""
    with contextlib.redirect_stdout(io.StringIO()):
        from syne_tune.optimizer.baselines import ASHA
    _, _, (search_space, events) = asha_run
    scheduler = ASHA(search_space, mode='min', type='promotion',
                     max_resource_attr='max_epochs',
                     **hpo.rung_args(**RUNGS), **ASHA_ARGS)
    assert hpo.replay(scheduler, events) == (len(events), len(events))
    # A logged decision that the scheduler would not make is counted.
    tampered = list(events)
    i = next(i for i, e in enumerate(events) if e[0] == 'result')
    tampered[i] = (*events[i][:3], 'not a decision')
    scheduler = ASHA(search_space, mode='min', type='promotion',
                     max_resource_attr='max_epochs',
                     **hpo.rung_args(**RUNGS), **ASHA_ARGS)
    assert hpo.replay(scheduler, tampered) == (len(events) - 1, len(events))


def test_asha_run_resumes_trials_from_their_checkpoints(asha_run):
    results, _ = asha_run[:2]
    counts = hpo.trials_per_rung(results, rungs=[1, 2, 4])
    assert (counts > 0).sum() >= 2, counts
    assert results['validation_error'].between(0, 1).all()
    # No epoch is trained (and reported) twice.
    assert not results.duplicated(['trial_id', 'epoch']).any()
    processes = hpo.trial_processes(results).sort_values(
        ['trial_id', 'first'])
    resumed = 0
    for _, trial in processes.groupby('trial_id'):
        firsts, lasts = trial['first'].tolist(), trial['last'].tolist()
        assert firsts[0] == 1
        # Each process after the first continues at the epoch after the
        # rung at which the trial paused.
        for paused, first in zip(lasts, firsts[1:]):
            assert paused in (1, 2) and first == paused + 1
            resumed += 1
    assert resumed >= 1, processes


def test_trials_per_rung_counts_each_trial_once(asha_run):
    results, raw = asha_run[:2]
    counts = hpo.trials_per_rung(results, rungs=[1, 2, 4])
    highest = {}
    for trial_id, epoch in zip(raw['trial_id'], raw['epoch']):
        highest[trial_id] = max(highest.get(trial_id, 0), epoch)
    expected = {1: 0, 2: 0, 4: 0}
    for epoch in highest.values():
        expected[max(r for r in expected if r <= epoch)] += 1
    assert counts.to_dict() == expected
    assert counts.sum() == len(highest)


def test_share_cpu_cores(monkeypatch):
    for var in hpo.THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(os, 'cpu_count', lambda: 8)
    hpo.share_cpu_cores(2)
    assert os.environ['OMP_NUM_THREADS'] == '4'
    assert os.environ['TF_NUM_INTRAOP_THREADS'] == '4'
    hpo.share_cpu_cores(16)  # More workers than cores: one thread each.
    assert os.environ['OMP_NUM_THREADS'] == '1'


def test_init_ray_twice_starts_ray_once_at_a_time(monkeypatch):
    """A second init_ray (a rerun cell) restarts Ray with its settings instead of failing
    as a second ray.init does; checked with a stand-in for Ray, which records the calls."""
    calls, running = [], []

    class FakeRay:
        @staticmethod
        def is_initialized():
            return bool(running)

        @staticmethod
        def init(**kwargs):
            if running:
                raise RuntimeError('Maybe you called ray.init twice by accident?')
            calls.append('init')
            running.append(kwargs)

        @staticmethod
        def shutdown():
            calls.append('shutdown')
            running.clear()

    monkeypatch.setitem(sys.modules, 'ray', FakeRay)
    monkeypatch.delenv('RAY_ADDRESS', raising=False)
    monkeypatch.setenv('RAY_AIR_NEW_OUTPUT', '1')  # Restored afterwards.
    monkeypatch.setattr(os, 'cpu_count', lambda: 8)
    budget = hpo.choose_budget('cpu')
    first = hpo.init_ray(budget)
    assert calls == ['init']
    assert hpo.init_ray(budget) == first == {'cpu': 8 // budget.n_workers, 'gpu': 0}
    assert calls == ['init', 'shutdown', 'init']
    env_vars = running[0]['runtime_env']['env_vars']
    assert env_vars[hpo.BUDGET_VAR] == 'cpu'
    assert env_vars['OMP_NUM_THREADS'] == str(8 // budget.n_workers)


def test_chosen_trial_and_summary(asha_run):
    results, raw = asha_run[:2]
    trial_id, chosen = hpo.chosen_trial(results)
    last = {t: df.sort_values('epoch')['validation_error'].iloc[-1]
            for t, df in raw.groupby('trial_id')}
    assert chosen['validation_error'] == min(last.values())
    assert last[trial_id] == min(last.values())
    assert chosen['epoch'] == raw[raw.trial_id == trial_id]['epoch'].max()
    summary = hpo.experiment_summary(results, hpo.choose_budget('cpu'))
    assert summary['trials started'] == len(last)
    assert summary['epochs trained'] == len(raw)
    assert summary['processes started'] >= len(last) + 1  # One resume.
    assert 0 < summary['start-up share'] < 1
    assert summary['chosen trial'] == trial_id


def test_budget_gives_each_trial_a_gpu(monkeypatch):
    monkeypatch.delenv(hpo.BUDGET_VAR, raising=False)  # Restored afterwards.
    full = hpo.choose_budget('full', num_gpus=4)
    assert (full.n_workers, full.num_gpus) == (4, 4)
    assert hpo.choose_budget('cpu', num_gpus=0).num_gpus == 0
    assert 'num_gpus=0' in repr(hpo.choose_budget('cpu'))

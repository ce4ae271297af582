"""The HPO API of sec_api_hpo and the random search of sec_what_is_hpo: the tuner carries out the
scheduler's decisions, keeps consistent books, survives failing trials up to max_failures (as
Syne Tune's Tuner does, checked with a real Syne Tune run of the chapter's objective), and
rejects bad input. The objective is the chapter's AlexNet objective where it matters."""
import contextlib
import io
import math
import random
import time

import pytest
from syne_tune.config_space import choice, loguniform, randint

from d2l import hpo

SPACE = {'learning_rate': loguniform(1e-5, 1e-1), 'batch_size': randint(8, 128),
         'max_epochs': 3}


def curve(learning_rate, batch_size, max_epochs, log=None):
    """A cheap objective with known reports: the error after epoch e is
    |log10(learning_rate) + 2.5| / 4 + 1 / e. `log` records what ran."""
    try:
        for epoch in range(1, max_epochs + 1):
            if log is not None:
                log.append(('epoch', batch_size, epoch))
            yield {'epoch': epoch, 'validation_error':
                   abs(math.log10(learning_rate) + 2.5) / 4 + 1 / epoch}
    finally:
        if log is not None:
            log.append(('closed', batch_size))


def final_error(**config):
    for report in curve(**config):
        pass
    return report['validation_error']


def random_tuner(objective=curve, seed=0, **kwargs):
    scheduler = hpo.FIFOScheduler(hpo.RandomSearcher(SPACE, seed=seed))
    return hpo.HPOTuner(scheduler, objective, **kwargs)


# Random search and the tuner loop.

def test_tuner_and_random_search_draw_the_same_configurations():
    records = hpo.random_search(final_error, SPACE, num_trials=6, seed=3)
    tuner = random_tuner(seed=3)
    tuner.run(num_trials=6)
    configs = [{k: r[k] for k in SPACE} for r in records]
    assert tuner.configs == configs
    assert len(set(c['learning_rate'] for c in configs)) == 6
    # FIFO lets every trial run to its end: the same final errors.
    finals = {r['trial_id']: r['validation_error'] for r in tuner.reports}
    assert [finals[i] for i in range(6)] == [r['error'] for r in records]
    assert set(tuner.status.values()) == {'completed'}


def test_random_search_records():
    calls = []

    def objective(**config):
        calls.append(config)
        return final_error(**config)
    tic = time.time()
    records = hpo.random_search(objective, SPACE, num_trials=8, seed=1)
    assert [{k: r[k] for k in SPACE} for r in records] == calls
    errors = [r['error'] for r in records]
    assert [r['incumbent_error'] for r in records] == [
        min(errors[:i + 1]) for i in range(8)]
    seconds = [r['seconds'] for r in records]
    assert seconds == sorted(seconds) and 0 <= seconds[-1] <= time.time() - tic


def test_books_agree_with_each_other():
    tic = time.time()
    tuner = random_tuner(seed=5)
    incumbent = tuner.run(num_trials=7)
    wall = time.time() - tic
    reports = tuner.reports
    assert len(reports) == 7 * SPACE['max_epochs']
    errors = [r['validation_error'] for r in reports]
    # The incumbent's error never gets worse, and it is the best report so far.
    incumbents = [r['incumbent_error'] for r in reports]
    assert incumbents == [min(errors[:i + 1]) for i in range(len(errors))]
    assert tuner.incumbent_error == min(errors) == incumbents[-1]
    best = min(reports, key=lambda r: r['validation_error'])
    assert incumbent is tuner.incumbent == tuner.configs[best['trial_id']]
    # Cumulative time: it only grows, and never exceeds the wall-clock time.
    elapsed = [r['elapsed'] for r in reports]
    assert elapsed == sorted(elapsed) and 0 < tuner.elapsed <= wall
    assert elapsed[-1] <= tuner.elapsed
    # Reports of a trial are its epochs, in order, under its configuration.
    for trial_id, config in enumerate(tuner.configs):
        epochs = [r['epoch'] for r in reports if r['trial_id'] == trial_id]
        assert epochs == [1, 2, 3]
        mine = [r['validation_error'] for r in reports if r['trial_id'] == trial_id]
        assert mine == [x['validation_error'] for x in curve(**config)]


class ScriptedScheduler(hpo.HPOScheduler):
    """Starts the given configurations, answers each report from a script, and resumes
    paused trials when `resume` says so; records every call."""
    def __init__(self, configs, script, resume=()):
        self.save_hyperparameters()
        self.metric, self.calls = 'validation_error', []
        self.resume, self.started = list(resume), 0

    def suggest(self, trial_id):
        self.calls.append(('suggest', trial_id))
        if self.resume and self.resume[0][0] == self.started:
            return self.resume.pop(0)[1]
        self.started += 1
        return self.configs[trial_id] if trial_id < len(self.configs) else None

    def on_trial_result(self, trial_id, report):
        self.calls.append(('result', trial_id, report['epoch']))
        return self.script.get((trial_id, report['epoch']), 'continue')

    def on_trial_complete(self, trial_id):
        self.calls.append(('complete', trial_id))

    def on_trial_error(self, trial_id):
        self.calls.append(('error', trial_id))


def test_every_decision_is_carried_out():
    log = []
    configs = [dict(learning_rate=10 ** -k, batch_size=k, max_epochs=4, log=log)
               for k in range(1, 4)]
    # Trial 0 pauses after epoch 2 and is resumed after trial 1 has started; trial 1 stops
    # after epoch 1; trial 2 runs to its end.
    script = {(0, 2): 'pause', (1, 1): 'stop'}
    scheduler = ScriptedScheduler(configs, script, resume=[(2, 0)])
    tuner = hpo.HPOTuner(scheduler, curve)
    tuner.run(num_trials=3)
    assert log == [('epoch', 1, 1), ('epoch', 1, 2),  # Trial 0 until its pause.
                   ('epoch', 2, 1), ('closed', 2),  # Trial 1, stopped and closed.
                   ('epoch', 1, 3), ('epoch', 1, 4), ('closed', 1),  # Trial 0 resumed.
                   ('epoch', 3, 1), ('epoch', 3, 2), ('epoch', 3, 3), ('epoch', 3, 4),
                   ('closed', 3)]
    assert tuner.status == {0: 'completed', 1: 'stopped', 2: 'completed'}
    assert tuner.paused == {}
    assert [(r['trial_id'], r['epoch']) for r in tuner.reports] == [
        (0, 1), (0, 2), (1, 1), (0, 3), (0, 4), (2, 1), (2, 2), (2, 3), (2, 4)]
    assert ('complete', 0) in scheduler.calls and ('complete', 1) not in scheduler.calls


def test_paused_trials_stay_paused_at_the_end():
    log = []
    configs = [dict(learning_rate=0.01, batch_size=k, max_epochs=3, log=log)
               for k in range(2)]
    tuner = hpo.HPOTuner(ScriptedScheduler(configs, {(0, 1): 'pause'}), curve)
    tuner.run(num_trials=2)
    assert tuner.status == {0: 'paused', 1: 'completed'} and list(tuner.paused) == [0]
    assert [e for e in log if e[1] == 0] == [('epoch', 0, 1)]


def test_scheduler_that_suggests_nothing_ends_the_experiment():
    scheduler = ScriptedScheduler([dict(learning_rate=0.01, batch_size=1, max_epochs=1)],
                                  {})
    tuner = hpo.HPOTuner(scheduler, curve)
    tuner.run(num_trials=5)
    assert len(tuner.configs) == 1 and tuner.status == {0: 'completed'}


# Bad input.

@pytest.mark.parametrize('num_trials', [-1, 0, 2.5, True, '3'])
def test_bad_number_of_trials(num_trials):
    with pytest.raises(ValueError, match=r'num_trials must be an integer >= 1, got'):
        random_tuner().run(num_trials)
    if not isinstance(num_trials, str) and num_trials <= 0:
        with pytest.raises(ValueError, match='num_trials must be positive'):
            hpo.random_search(final_error, SPACE, num_trials)


@pytest.mark.parametrize('max_failures', [-1, 1.5, None])
def test_bad_max_failures(max_failures):
    with pytest.raises(ValueError, match=r'max_failures must be an integer >= 0, got'):
        random_tuner(max_failures=max_failures)


def test_unknown_decision():
    scheduler = ScriptedScheduler([dict(learning_rate=0.01, batch_size=1, max_epochs=2)],
                                  {(0, 1): 'restart'})
    with pytest.raises(ValueError, match="decision must be 'continue', 'pause' or 'stop', "
                                         "got 'restart'"):
        hpo.HPOTuner(scheduler, curve).run(num_trials=1)


def test_resuming_a_trial_that_is_not_paused():
    scheduler = ScriptedScheduler([dict(learning_rate=0.01, batch_size=1, max_epochs=1)],
                                  {}, resume=[(1, 7)])
    with pytest.raises(ValueError, match=r'one of the paused trials \[\] or None, got 7'):
        hpo.HPOTuner(scheduler, curve).run(num_trials=2)


@pytest.mark.parametrize('report', [{'epoch': 1}, {'error': 0.3}, 0.3, None])
def test_report_without_the_metric(report):
    def objective(learning_rate, batch_size, max_epochs):
        yield report
    with pytest.raises(ValueError, match="a report must be a dict with the metric "
                                         "'validation_error'"):
        random_tuner(objective).run(num_trials=1)


# Failing trials.

def diverging(learning_rate, batch_size, max_epochs):
    """Fails in its second epoch for learning rates above 1e-3."""
    for epoch in range(1, max_epochs + 1):
        if epoch == 2 and learning_rate > 1e-3:
            raise FloatingPointError(f'loss diverged at learning rate {learning_rate}')
        yield {'epoch': epoch, 'validation_error': 0.5}


def test_failed_trials_are_recorded_and_the_tuner_goes_on():
    tuner = random_tuner(diverging, seed=0, max_failures=10)
    tuner.run(num_trials=12)
    failed = [i for i, c in enumerate(tuner.configs) if c['learning_rate'] > 1e-3]
    assert 0 < len(failed) < 12
    assert sorted(tuner.failures) == failed
    assert all(tuner.status[i] == ('failed' if i in failed else 'completed')
               for i in range(12))
    assert all(isinstance(e, FloatingPointError) for e in tuner.failures.values())
    # A failed trial's reports before the failure stay in the books.
    assert sum(r['trial_id'] in failed for r in tuner.reports) == len(failed)


def test_the_scheduler_hears_of_each_failure():
    configs = [dict(learning_rate=lr, batch_size=1, max_epochs=3) for lr in (0.1, 1e-4)]
    scheduler = ScriptedScheduler(configs, {})
    tuner = hpo.HPOTuner(scheduler, diverging, max_failures=1)
    tuner.run(num_trials=2)
    assert tuner.status == {0: 'failed', 1: 'completed'}
    assert [c for c in scheduler.calls if c[0] in ('error', 'complete')] == [
        ('error', 0), ('complete', 1)]


def test_too_many_failures_stop_with_the_last_one():
    tuner = random_tuner(diverging, seed=0, max_failures=1)
    rng = random.Random(0)
    configs = [hpo.sample_config(SPACE, rng) for _ in range(12)]
    failed = [i for i, c in enumerate(configs) if c['learning_rate'] > 1e-3]
    assert len(failed) >= 2
    with pytest.raises(RuntimeError, match=rf'2 trials failed, more than max_failures=1; '
                                           rf'the last, trial {failed[1]} with .*raised '
                                           r'FloatingPointError\(.loss diverged') as info:
        tuner.run(num_trials=12)
    assert isinstance(info.value.__cause__, FloatingPointError)
    assert len(tuner.configs) == failed[1] + 1  # Nothing ran after it.


# The chapter's AlexNet objective, in this framework.

@pytest.fixture
def cpu_budget(monkeypatch):
    """The 'cpu' budget for this process and the trial processes it starts."""
    monkeypatch.setenv(hpo.BUDGET_VAR, 'cpu')


class ListSearcher(hpo.HPOSearcher):
    def __init__(self, configs):
        self.configs = list(configs)

    def sample_configuration(self):
        return self.configs.pop(0) if self.configs else None


def test_tuner_with_alexnet_survives_a_failing_trial(d2l, cpu_budget):
    """A batch size of 0 makes the real objective raise (d2l.FashionMNIST checks it); the
    other two trials train the same seeded configuration and report the same error."""
    good = dict(learning_rate=0.003, batch_size=128, max_epochs=1, seed=0)
    configs = [dict(good, batch_size=0), good, dict(good)]
    tuner = hpo.HPOTuner(hpo.FIFOScheduler(ListSearcher(configs)), d2l.alexnet_epochs)
    incumbent = tuner.run(num_trials=5)
    assert tuner.status == {0: 'failed', 1: 'completed', 2: 'completed'}
    assert 'batch_size must be positive' in str(tuner.failures[0])
    assert [(r['trial_id'], r['epoch']) for r in tuner.reports] == [(1, 1), (2, 1)]
    first, second = (r['validation_error'] for r in tuner.reports)
    assert 0 < first < 1 and first == second == tuner.incumbent_error
    assert incumbent == good


@pytest.fixture
def syne_tune_run(tmp_path, monkeypatch):
    """A function that makes a Syne Tune experiment of `objective` on two workers, which
    tries each batch size once; `run` runs it quietly."""
    with contextlib.redirect_stdout(io.StringIO()):
        from syne_tune import StoppingCriterion, Tuner
        from syne_tune.backend import PythonBackend
        from syne_tune.optimizer.baselines import RandomSearch
    monkeypatch.chdir(tmp_path)  # Syne Tune writes a std.out into the working directory.
    monkeypatch.setenv('SYNETUNE_FOLDER', str(tmp_path))
    for var in hpo.THREAD_VARS:
        monkeypatch.setenv(var, '1')

    def run(objective, batch_sizes, max_failures):
        space = {'learning_rate': 0.003, 'batch_size': choice(batch_sizes), 'max_epochs': 1}
        # The searcher proposes each configuration once; then the experiment ends.
        scheduler = RandomSearch(space, metric='validation_error', mode='min',
                                 points_to_evaluate=[{'batch_size': b} for b in batch_sizes])
        tuner = Tuner(trial_backend=PythonBackend(tune_function=objective,
                                                  config_space=space),
                      scheduler=scheduler, n_workers=2, sleep_time=0.5,
                      stop_criterion=StoppingCriterion(max_wallclock_time=240),
                      max_failures=max_failures, tuner_name='failures')
        tuner.run_quietly = lambda: contextlib.redirect_stdout(io.StringIO())
        return tuner
    return run


def test_syne_tune_goes_on_after_a_failing_trial_of_the_chapter_objective(
        d2l, cpu_budget, syne_tune_run):
    """Syne Tune's Tuner with the chapter's objective (d2l.objective): the trial whose
    training raises is marked failed, and the experiment completes and reports the others."""
    from syne_tune.experiments import load_experiment
    tuner = syne_tune_run(d2l.objective, [0, 128, 64], max_failures=1)
    with tuner.run_quietly():
        tuner.run()
    assert tuner.tuning_status.num_trials_failed == 1
    assert tuner.tuning_status.num_trials_completed == 2
    results = load_experiment(tuner.name, download_if_not_found=False).results
    reported = results.groupby('trial_id')['config_batch_size'].first()
    assert sorted(reported.values) == [64, 128]
    assert results['validation_error'].between(0, 1).all()


def always_fails(learning_rate, batch_size, max_epochs):
    raise MemoryError(f'a batch of {batch_size} does not fit')


def test_syne_tune_stops_after_more_than_max_failures(syne_tune_run):
    """With more than max_failures failed trials, Syne Tune's Tuner.run raises, as ours."""
    tuner = syne_tune_run(always_fails, [16, 32, 64], max_failures=1)
    with pytest.raises(ValueError, match=r'Trial - \d+ failed'), tuner.run_quietly():
        tuner.run()
    # It stopped at the first check after the second failure (a third trial may have started
    # and failed in between).
    assert tuner.tuning_status.num_trials_failed >= 2
    assert tuner.tuning_status.num_trials_completed == 0


@pytest.mark.parametrize('max_epochs', [0, -1])
def test_train_alexnet_needs_epochs(d2l, cpu_budget, max_epochs):
    with pytest.raises(ValueError, match='max_epochs must be positive'):
        d2l.train_alexnet(learning_rate=0.01, batch_size=64, max_epochs=max_epochs)

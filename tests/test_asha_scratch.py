"""The ASHA scheduler written in asha-scratch.md (d2l.hpo.AsyncSuccessiveHalving), checked against
Syne Tune's ASHA(type='promotion') and against Li et al.'s Algorithm 2, decision by decision.

`drive` plays the tuner: workers ask for a trial whenever they are free, trials report every
epoch, and the reports of the workers arrive in random order (exponential epoch times). All
schedulers under test get the same calls in the same order; the run ends at the first step
where their answers differ, and the tests assert that there is none."""
import heapq
import logging
import random

import pytest
from syne_tune.backend.trial_status import Trial
from syne_tune.config_space import uniform
from syne_tune.optimizer.baselines import ASHA
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialSuggestion

from d2l import hpo

SEEDS = range(1000)


def error_value(rng):
    """A validation error as 1000 images measure it: a multiple of 0.001. From a narrow range,
    so that results tie often, also with the cut-off, where the last bit of the quantile's
    arithmetic decides."""
    return rng.randint(200, 215) / 1000


def setting(seed):
    """Workers, eta, r_min and r_max of a random experiment; r_max is rarely a power of eta
    times r_min."""
    rng = random.Random(seed)
    return dict(n_workers=rng.randint(2, 6), eta=rng.choice([2, 3, 4]),
                r_min=rng.choice([1, 1, 2]),
                r_max=rng.choice([5, 6, 7, 9, 10, 12, 17, 18]),
                n_steps=rng.randint(20, 150), rng=rng)


def drive(schedulers, seed):
    """Run one random experiment on all `schedulers` at once; return its steps, each
    (kind, [the answer of each scheduler])."""
    s = setting(seed)
    rng, steps, clock, queue = s['rng'], [], 0.0, []
    trials, epochs, values = {}, {}, {}

    def free_worker():
        new_id = len(trials)
        answers = [sched.suggest(new_id) for sched in schedulers]
        steps.append(('suggest', [None if a is None else (
            a.spawn_new_trial_id, a.checkpoint_trial_id, a.config['max_epochs'])
            for a in answers]))
        a = answers[0]
        if a is None or len(set(steps[-1][1])) > 1:
            return False
        if a.spawn_new_trial_id:
            trials[new_id] = Trial(new_id, a.config, None)
            epochs[new_id] = 0
            for sched in schedulers:
                sched.on_trial_add(trials[new_id])
        trial_id = new_id if a.spawn_new_trial_id else a.checkpoint_trial_id
        heapq.heappush(queue, (clock + rng.expovariate(1), trial_id))
        return True

    for _ in range(s['n_workers']):
        if not free_worker():
            return steps
    while queue and len(steps) < s['n_steps']:
        clock, trial_id = heapq.heappop(queue)
        epochs[trial_id] += 1
        key = trial_id, epochs[trial_id]
        values.setdefault(key, error_value(rng))
        result = {'epoch': epochs[trial_id], 'error': values[key]}
        decisions = [sched.on_trial_result(trials[trial_id], result) for sched in schedulers]
        steps.append(('result', decisions))
        if len(set(decisions)) > 1:
            return steps
        if decisions[0] == SchedulerDecision.CONTINUE:
            heapq.heappush(queue, (clock + rng.expovariate(1), trial_id))
        else:  # Paused at a rung or stopped at r_max: the worker is free.
            for sched in schedulers:
                sched.on_trial_remove(trials[trial_id])
            if not free_worker():
                return steps
    return steps


def scheduler_args(seed):
    """The search space, and the arguments of our schedulers."""
    s = setting(seed)
    space = {'x': uniform(0, 1), 'max_epochs': s['r_max']}
    return space, dict(metric='error', resource_attr='epoch', mode='min',
                       max_resource_attr='max_epochs',
                       **{k: s[k] for k in ('r_min', 'r_max', 'eta')})


def syne_tune_asha(space, r_min, r_max, eta, **args):
    """Syne Tune's ASHA with the settings of ours, under its names."""
    return ASHA(space, type='promotion', **hpo.rung_args(r_min, r_max, eta), **args)


def disagreements(steps):
    return [(i, step) for i, step in enumerate(steps) if len(set(step[1])) > 1]


@pytest.fixture(autouse=True)
def quiet_syne_tune():
    logging.disable(logging.WARNING)  # Syne Tune warns about unused searcher options.
    yield
    logging.disable(logging.NOTSET)


def test_quantile_rule_decides_as_syne_tune():
    """SyneTuneASHA and Syne Tune's ASHA: the same promotion (trial and rung), new trial, pause
    or stop at every step of 1000 random experiments."""
    seen = {'promotions': 0, 'starts': 0, 'pauses': 0, 'stops': 0}
    for seed in SEEDS:
        space, args = scheduler_args(seed)
        if args['r_min'] >= args['r_max']:
            continue
        steps = drive([hpo.SyneTuneASHA(space, **args), syne_tune_asha(space, **args)], seed)
        assert not disagreements(steps), (seed, setting(seed), steps[-8:])
        for kind, answers in steps:
            if kind == 'suggest':
                seen['starts' if answers[0][0] else 'promotions'] += 1
            else:
                seen['pauses'] += answers[0] == SchedulerDecision.PAUSE
                seen['stops'] += answers[0] == SchedulerDecision.STOP
    # Not a vacuous pass: every kind of decision happened, many times.
    assert min(seen.values()) > 500, seen


def algorithm_2_get_job(rungs, promoted, eta):
    """Li et al. (2020), Algorithm 2, procedure get_job(): for k = top rung - 1, ..., 1, 0,
    candidates = top_k(rung k, |rung k| / eta); promotable = {t in candidates: t not already
    promoted}; if |promotable| > 0, return (promotable[0], k + 1). Else grow the bottom rung.
    `rungs[k]` lists (loss, trial) in order of arrival; top_k sorts by loss, ties in order of
    arrival."""
    for k in reversed(range(len(rungs) - 1)):
        candidates = [t for _, t in sorted(rungs[k], key=lambda e: e[0])][
            :len(rungs[k]) // eta]
        promotable = [t for t in candidates if t not in promoted[k]]
        if promotable:
            return promotable[0], k + 1
    return None, 0


class Algorithm2:
    """Algorithm 2 as a scheduler that `drive` can run: rung k is at the k-th of the levels
    r_min * eta**k below r_max, then r_max (the paper's r * eta**(s + k))."""
    def __init__(self, r_min, r_max, eta, **_):
        self.levels, level = [], r_min
        while level < r_max:
            self.levels.append(level)
            level *= eta
        self.levels.append(r_max)
        self.eta = eta
        self.rungs = [[] for _ in self.levels]
        self.promoted = [set() for _ in self.levels]
        self.job = {}  # trial -> the rung its running job ends at

    def suggest(self, trial_id):
        trial, k = algorithm_2_get_job(self.rungs, self.promoted, self.eta)
        if trial is None:
            self.job[trial_id] = 0
            return TrialSuggestion.start_suggestion({'max_epochs': self.levels[0]})
        self.promoted[k - 1].add(trial)
        self.job[trial] = k
        return TrialSuggestion.resume_suggestion(trial, {'max_epochs': self.levels[k]})

    def on_trial_result(self, trial, result):
        k = self.job[trial.trial_id]
        if result['epoch'] < self.levels[k]:
            return SchedulerDecision.CONTINUE
        # "Update configuration theta in rung k with loss l."
        self.rungs[k].append((result['error'], trial.trial_id))
        return SchedulerDecision.STOP if k == len(self.levels) - 1 else SchedulerDecision.PAUSE

    def on_trial_add(self, trial):
        pass

    def on_trial_remove(self, trial):
        pass


def test_paper_rule_follows_algorithm_2():
    """AsyncSuccessiveHalving (the paper's top floor(n / eta) rule) and a transcription of
    Algorithm 2 decide the same at every step of 1000 random experiments."""
    promotions = 0
    for seed in SEEDS:
        space, args = scheduler_args(seed)
        steps = drive([hpo.AsyncSuccessiveHalving(space, **args), Algorithm2(**args)], seed)
        assert not disagreements(steps), (seed, setting(seed), steps[-8:])
        promotions += sum(kind == 'suggest' and not answers[0][0] for kind, answers in steps)
    assert promotions > 500


def test_rules_differ_with_two_results():
    """With eta = 3 and two results on a rung, the paper's rule promotes nothing, the
    quantile rule the better trial."""
    space, args = scheduler_args(0)
    args.update(eta=3, r_min=1, r_max=9)
    for rule, expected in ((hpo.AsyncSuccessiveHalving, None), (hpo.SyneTuneASHA, 1)):
        scheduler = rule(space, **args)
        scheduler.rungs[1] = {0: 0.3, 1: 0.2}
        assert scheduler.promotable(1) == expected


@pytest.mark.parametrize('change, message', [
    (dict(eta=1), 'eta must be an integer >= 2'),
    (dict(eta=2.5), 'eta must be an integer >= 2'),
    (dict(eta=True), 'eta must be an integer >= 2'),
    (dict(r_min=0), 'r_min must be an integer >= 1'),
    (dict(r_min=10), 'r_min must be at most r_max'),
    (dict(mode='maximize'), 'mode')])
def test_bad_settings(change, message):
    space, args = scheduler_args(0)
    args.update(r_max=9, **change)
    with pytest.raises(ValueError, match=message):
        hpo.AsyncSuccessiveHalving(space, **args)


@pytest.mark.parametrize('result, message', [
    ({'epoch': 1}, "lacks 'error'"),
    ({'error': 0.3}, "lacks 'epoch'"),
    ({'epoch': 2, 'error': 0.3}, 'past its milestone 1')])
def test_bad_reports(result, message):
    """A report without the metric or the resource, or one that skips the trial's rung."""
    space, args = scheduler_args(0)
    args.update(r_max=9, r_min=1, eta=3)
    scheduler = hpo.AsyncSuccessiveHalving(space, **args)
    suggestion = scheduler.suggest(0)
    trial = Trial(0, suggestion.config, None)
    with pytest.raises(ValueError, match=message):
        scheduler.on_trial_result(trial, result)

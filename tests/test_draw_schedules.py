"""The schedules behind the figures of sync SH and ASHA, not their drawing.

tools/draw_schedules.py is a script, not a package module, so it is loaded
from its path. Its ASHA decisions come from d2l.SyneTuneASHA, the
scheduler of asha-scratch.md, which tests/test_asha_scratch.py checks against
Syne Tune's own.
"""
import importlib.util
import pathlib

import pytest

from d2l import hpo

SCRIPT = pathlib.Path(__file__).parent.parent / 'tools' / 'draw_schedules.py'
_spec = importlib.util.spec_from_file_location('draw_schedules', SCRIPT)
ds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ds)

# (limit, trials, r_min, r_max, eta, n_workers): the figure's setting, and
# others with several rungs, eta = 3 and an r_max that is no r_min * eta**k.
MANY_TRIALS = [ds.Trial('U%d' % i, (0.5, 1.0, 1.5, 2.5)[i % 4],
                        0.1 + (7 * i % 11) / 100) for i in range(60)]
ASHA_SETTINGS = [
    (14.0, ds.TRIALS, 1, 4, 2, 2),
    (30.0, MANY_TRIALS, 1, 8, 2, 2),
    (30.0, MANY_TRIALS, 1, 9, 3, 3),
    (25.0, MANY_TRIALS, 1, 6, 3, 2),
    (40.0, MANY_TRIALS, 2, 20, 2, 4),
]


# ----------------------------------------------------------------------
# Rung levels (d2l.rung_levels itself: tests/test_hpo.py)


def test_figure_levels():
    assert ds.LEVELS == (1, 2, 4)


# ----------------------------------------------------------------------
# The ASHA schedule


@pytest.mark.parametrize('setting', ASHA_SETTINGS)
def test_asha_keeps_every_worker_busy_until_the_limit(setting):
    limit, n_workers = setting[0], setting[-1]
    jobs = ds.asha_schedule(*setting)
    for w in range(n_workers):
        mine = sorted((j for j in jobs if j.worker == w),
                      key=lambda j: j.start)
        assert mine[0].start == 0
        for before, after in zip(mine, mine[1:]):
            assert after.start == before.end
        assert mine[-1].end == limit


@pytest.mark.parametrize('setting', ASHA_SETTINGS)
def test_asha_starts_nothing_after_the_limit(setting):
    limit = setting[0]
    for job in ds.asha_schedule(*setting):
        assert job.start < limit
        assert job.end <= limit
        full = job.start + ds.duration(job.trial, job.epochs_from,
                                       job.epochs_to)
        assert job.cut_off == (full > limit)
        assert job.end == min(full, limit)


@pytest.mark.parametrize('setting', ASHA_SETTINGS)
def test_promoted_trial_trains_from_its_rung_to_the_next(setting):
    _, _, r_min, r_max, eta, _ = setting
    levels = hpo.rung_levels(r_min, r_max, eta)
    upper = dict(zip(levels, levels[1:]))
    reached = {}
    for job in sorted(ds.asha_schedule(*setting), key=lambda j: j.start):
        if job.epochs_from == 0:
            assert job.epochs_to == r_min
            assert job.trial not in reached
        else:
            # Resumes from its checkpoint at the rung it reached.
            assert job.epochs_from == reached[job.trial]
            assert job.epochs_to == upper[job.epochs_from]
        assert not job.cut_off or job.end == setting[0]
        reached[job.trial] = job.epochs_to


@pytest.mark.parametrize('setting', ASHA_SETTINGS)
def test_trial_at_r_max_is_never_scheduled_again(setting):
    r_max = setting[3]
    jobs = sorted(ds.asha_schedule(*setting), key=lambda j: j.start)
    finished = [j for j in jobs if j.epochs_to == r_max and not j.cut_off]
    assert finished, 'the setting should let some trial reach r_max'
    for done in finished:
        assert not [j for j in jobs
                    if j.trial == done.trial and j.start >= done.end]


def test_asha_figure_schedule():
    """The schedule in the figure, traced by hand (and checked against
    Syne Tune 0.13.0's PromotionRungSystem when the script had a rule of
    its own)."""
    limit = max(j.end for j in ds.sync_schedule()[0])
    got = [(j.trial.name, j.epochs_from, j.epochs_to, j.worker, j.start,
            j.end, j.cut_off) for j in ds.asha_schedule(limit)]
    assert limit == 14.0
    assert got == [
        ('T1', 0, 1, 0, 0.0, 3.0, False),
        ('T2', 0, 1, 1, 0.0, 2.0, False),
        ('T3', 0, 1, 1, 2.0, 4.0, False),
        ('T1', 1, 2, 0, 3.0, 6.0, False),
        ('T3', 1, 2, 1, 4.0, 6.0, False),
        ('T3', 2, 4, 0, 6.0, 10.0, False),
        ('T4', 0, 1, 1, 6.0, 10.0, False),
        ('T5', 0, 1, 0, 10.0, 12.5, False),
        ('T6', 0, 1, 1, 10.0, 11.5, False),
        ('T4', 1, 2, 1, 11.5, 14.0, True),
        ('T5', 1, 2, 0, 12.5, 14.0, True),
    ]


# ----------------------------------------------------------------------
# Synchronous successive halving


@pytest.mark.parametrize('trials, levels, eta, n_workers', [
    (ds.TRIALS[:ds.N_SYNC], ds.LEVELS, ds.ETA, ds.N_WORKERS),
    (MANY_TRIALS[:9], (1, 3, 9), 3, 2),
    (MANY_TRIALS[:8], (1, 2, 4, 8), 2, 3),
])
def test_sync_idle_time_fills_each_rung(trials, levels, eta, n_workers):
    jobs, idles, barriers = ds.sync_schedule(trials, levels, eta, n_workers)
    makespan = max(j.end for j in jobs)
    bounds = [0.0] + barriers + [makespan]
    assert len(bounds) == len(levels) + 1
    for level, t0, t1 in zip(levels, bounds, bounds[1:]):
        busy = sum(j.end - j.start for j in jobs if j.epochs_to == level)
        idle = sum(end - start for _, start, end in idles
                   if t0 <= start and end <= t1)
        assert idle == pytest.approx(n_workers * (t1 - t0) - busy)
        # No job crosses a barrier.
        assert all(t0 <= j.start and j.end <= t1
                   for j in jobs if j.epochs_to == level)
    total_idle = sum(end - start for _, start, end in idles)
    total_busy = sum(j.end - j.start for j in jobs)
    assert total_idle == pytest.approx(n_workers * makespan - total_busy)


def test_sync_promotes_the_best_floor_n_over_eta():
    jobs, _, _ = ds.sync_schedule()
    per_level = [[j.trial.name for j in jobs if j.epochs_to == level]
                 for level in ds.LEVELS]
    assert per_level == [['T1', 'T2', 'T3', 'T4'], ['T3', 'T1'], ['T3']]
    # Promoted trials resume from their checkpoint.
    previous = dict(zip(ds.LEVELS, (0,) + ds.LEVELS))
    assert all(j.epochs_from == previous[j.epochs_to] for j in jobs)

#!/usr/bin/env python3
"""Draw synchronous successive halving and ASHA on two workers.

Writes static/img/sync_sh.svg and static/img/asha.svg. The SVG text is
written by hand, and both schedules are computed (not drawn by hand) from
the same trials, so the two pictures can be compared box for box.

Both schedulers use promotion: a promoted trial resumes from its
checkpoint, so moving from epoch 1 to epoch 2 costs one more epoch, and
from epoch 2 to epoch 4 two more epochs. Both get the same wall-clock
limit, the time synchronous successive halving needs for its bracket.

The ASHA schedule is decided by the scheduler that the reader writes in
asha-scratch.md, d2l.SyneTuneASHA, which decides as Syne Tune 0.13.0's
ASHA(type='promotion') does (tests/test_asha_scratch.py): the rung levels
are those of d2l.rung_levels, R_MIN * ETA**k below R_MAX and then R_MAX;
a trial pauses at every rung but the top one, R_MAX, where it is
finished. A free worker scans the rungs from the top down and promotes
the best waiting trial of the first rung where that trial is no worse
than the quantile of all results recorded at the rung, with
q = rung / next level; a rung with fewer than two results promotes
nothing. Without a promotion, a new trial starts at R_MIN. So the script
runs in a framework environment:

    .envs/pytorch/bin/python tools/draw_schedules.py
"""

import collections
import heapq
import math
import os

from d2l import hpo  # First: it imports Syne Tune without its notices.
from syne_tune.backend.trial_status import Trial as TunerTrial
from syne_tune.config_space import uniform

R_MIN, R_MAX = 1, 4     # epochs at the lowest rung, and at most
ETA = 2                 # reduction factor
N_WORKERS = 2
N_SYNC = 4              # configurations in the synchronous bracket

# A trial: its name, minutes per epoch, and the validation error that
# it reaches with many epochs. Epoch times differ because, e.g., larger
# batch sizes or networks train at different speeds.
Trial = collections.namedtuple('Trial', 'name epoch_time final_error')

# The trials, in the order in which random search proposes them.
# Synchronous SH uses the first N_SYNC; ASHA draws from the same list and
# goes further, so the list must outlast the time limit.
TRIALS = [
    Trial('T1', 3.0, 0.14),
    Trial('T2', 2.0, 0.20),
    Trial('T3', 2.0, 0.10),
    Trial('T4', 4.0, 0.16),
    Trial('T5', 2.5, 0.12),
    Trial('T6', 1.5, 0.18),
    Trial('T7', 3.0, 0.11),
    Trial('T8', 2.0, 0.15),
]

# Job: one box in the figure. The trial trains from `epochs_from` (its
# checkpoint) up to `epochs_to`; `cut_off` marks a job that the time
# limit stopped at `end` before it got there.
Job = collections.namedtuple(
    'Job', 'trial epochs_from epochs_to worker start end cut_off')


def duration(trial, epochs_from, epochs_to):
    """Minutes to train `trial` from its checkpoint up to `epochs_to`."""
    return (epochs_to - epochs_from) * trial.epoch_time


def error(trial, epochs):
    """Validation error after `epochs` epochs: a made-up learning curve.

    It has the same order at every rung, so that both schedulers agree
    on which trial is best and only what they know when differs.
    """
    return trial.final_error + 0.3 / epochs


# Where the boxes of both schedulers end.
LEVELS = tuple(hpo.rung_levels(R_MIN, R_MAX, ETA))


# ----------------------------------------------------------------------
# Synchronous successive halving


def list_schedule(trials, epochs_from, epochs_to, free_at):
    """Run one rung: each trial goes to the worker that is free first.

    `free_at` lists when each worker becomes free and is updated.
    """
    jobs = []
    for trial in trials:
        worker = min(range(len(free_at)), key=lambda w: (free_at[w], w))
        start = free_at[worker]
        end = start + duration(trial, epochs_from, epochs_to)
        jobs.append(Job(trial, epochs_from, epochs_to, worker, start, end,
                        False))
        free_at[worker] = end
    return jobs


def sync_schedule(trials=TRIALS[:N_SYNC], levels=LEVELS, eta=ETA,
                  n_workers=N_WORKERS):
    """Successive halving with a barrier after every rung.

    Returns the jobs, the idle intervals (worker, start, end) and the
    barrier times. A worker that finishes early must wait until the
    whole rung is done before anyone knows which trials to promote;
    then the best floor(n / eta) of the n trials go on.
    """
    jobs, idles, barriers = [], [], []
    free_at = [0.0] * n_workers
    epochs_from = 0
    for i, level in enumerate(levels):
        if i > 0:
            # Barrier: everybody waits for the slowest job of the rung.
            barrier = max(free_at)
            barriers.append(barrier)
            idles += idle_until(free_at, barrier)
            free_at = [barrier] * n_workers
            ranked = sorted(trials, key=lambda t: error(t, epochs_from))
            trials = ranked[:len(trials) // eta]
        jobs += list_schedule(trials, epochs_from, level, free_at)
        epochs_from = level
    # After the last rung the bracket is over; a worker without work
    # idles until the last job is done.
    idles += idle_until(free_at, max(free_at))
    return jobs, idles, barriers


def idle_until(free_at, time):
    """Idle intervals of the workers that are free before `time`."""
    return [(w, t, time) for w, t in enumerate(free_at) if t < time]


# ----------------------------------------------------------------------
# Asynchronous successive halving, decided by the chapter's scheduler


def asha_schedule(limit, trials=TRIALS, r_min=R_MIN, r_max=R_MAX,
                  eta=ETA, n_workers=N_WORKERS):
    """Event simulation of ASHA on `n_workers` workers.

    The decisions are those of d2l.SyneTuneASHA, the scheduler that
    asha-scratch.md writes, with Syne Tune's promotion rule: a worker that is
    free asks it for a job, and a job that ends reports its rung's result
    to it. Workers ask for work whenever they are free. At `limit` the
    tuner stops: no job starts then or later, and a job still running is
    cut off there. Results that come in at the same time are all recorded
    before anyone is given work, workers in the order of their numbers.
    A worker that gets a new trial when `trials` are used up stays idle.
    """
    scheduler = hpo.SyneTuneASHA(
        {'x': uniform(0, 1), 'max_epochs': r_max}, r_min, r_max, eta,
        metric='error', resource_attr='epoch')
    reached = {}  # Scheduler's trial id: epochs trained.
    jobs = []
    events = [(0.0, w, None) for w in range(n_workers)]  # (time, w, job)
    heapq.heapify(events)
    # The tuner stops at the limit, so nothing after it matters.
    while events and events[0][0] < limit:
        now = events[0][0]
        free = []
        while events and events[0][0] == now:
            _, worker, job = heapq.heappop(events)
            if job is not None:
                trial_id = trials.index(job.trial)
                reached[trial_id] = job.epochs_to
                scheduler.on_trial_result(
                    TunerTrial(trial_id, {}, None),
                    {'epoch': job.epochs_to,
                     'error': error(job.trial, job.epochs_to)})
            free.append(worker)
        for worker in sorted(free):
            suggestion = scheduler.suggest(len(reached))
            trial_id = suggestion.checkpoint_trial_id
            if suggestion.spawn_new_trial_id:
                trial_id = len(reached)
                if trial_id == len(trials):
                    continue
                reached[trial_id] = 0
            epochs_from = reached[trial_id]
            epochs_to = suggestion.config['max_epochs']
            trial = trials[trial_id]
            end = now + duration(trial, epochs_from, epochs_to)
            job = Job(trial, epochs_from, epochs_to, worker, now,
                      min(end, limit), end > limit)
            jobs.append(job)
            heapq.heappush(events, (job.end, worker, job))
    return jobs


# ----------------------------------------------------------------------
# SVG drawing

WIDTH = 700
LEFT, RIGHT = 86, 18        # room for "Worker 1" / for the last tick
LANE_TOP = 78               # leaves room for the title and line notes
LANE_H, LANE_GAP = 36, 10
TICK_STEP = 2               # minutes between axis ticks
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
# Okabe-Ito colours, distinguishable with the common colour blindnesses;
# all three are light enough for black text on top. Keyed by the level
# that a job trains up to.
RUNG_COLOUR = dict(zip(LEVELS, ('#56B4E9', '#E69F00', '#009E73')))
LIMIT_COLOUR = '#D55E00'
IDLE_FILL = 'url(#hatch)'
# A job that the time limit cut off: paler, with a dashed outline.
CUT_STYLE = 'fill-opacity="0.35" stroke-dasharray="4,3"'


def text(x, y, s, size=13, anchor='middle', extra=''):
    return '<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" ' \
        '%s %s>%s</text>' % (x, y, size, anchor, FONT, extra, s)


def text_width(s, size):
    """About how wide `s` is: DejaVu Sans averages 0.6 em a character."""
    return 0.6 * size * len(s)


def lane_y(worker):
    return LANE_TOP + worker * (LANE_H + LANE_GAP)


def box(x0, x1, worker, fill, label, text_colour='#000000', style=''):
    """A rounded box with a centred label; a 1 px inset on both sides
    keeps back-to-back jobs on one worker visibly apart."""
    y = lane_y(worker)
    return [
        '<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="5" '
        'fill="%s" stroke="#333333" stroke-width="1" %s/>'
        % (x0 + 1, y + 2, x1 - x0 - 2, LANE_H - 4, fill, style),
        text((x0 + x1) / 2, y + LANE_H / 2 + 4.5, label, 12,
             extra='fill="%s"' % text_colour),
    ]


def job_box(job, scale):
    """The box of one job, labelled with the level it trains up to."""
    return box(LEFT + job.start * scale, LEFT + job.end * scale,
               job.worker, RUNG_COLOUR[job.epochs_to],
               '%s, r=%d' % (job.trial.name, job.epochs_to),
               style=CUT_STYLE if job.cut_off else '')


def marked_lines(marks):
    """Vertical lines across the lanes, each with a note on top.

    `marks` are (x, note, line style). A note is centred on its line but
    kept inside the figure; one that would run into the previous note
    is lifted by one line.
    """
    out, last_right, row = [], -1e9, 0
    bottom = lane_y(N_WORKERS - 1) + LANE_H + 4
    for x, note, style in marks:
        half = text_width(note, 12) / 2 + 4
        centre = min(x, WIDTH - half)
        row = row + 1 if centre - half < last_right else 0
        y = LANE_TOP - 8 - 16 * row
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>'
                   % (x, y + 4, x, bottom, style))
        out.append(text(centre, y, note, 12,
                        extra='fill="#000000" paint-order="stroke" '
                        'stroke="#ffffff" stroke-width="4"'))
        last_right = centre + half
    return out


def axis(t_max, scale):
    """Time axis below the lanes, with ticks in minutes."""
    y = lane_y(N_WORKERS - 1) + LANE_H + 8
    out = ['<line x1="%d" y1="%d" x2="%.1f" y2="%d" stroke="#000000"/>'
           % (LEFT, y, LEFT + t_max * scale, y)]
    for t in range(0, int(t_max) + 1, TICK_STEP):
        x = LEFT + t * scale
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" '
                   'stroke="#000000"/>' % (x, y, x, y + 5))
        out.append(text(x, y + 19, str(t), 12))
    out.append(text(LEFT + t_max * scale / 2, y + 40,
                    'wall-clock time (minutes)', 13))
    return out, y + 40


def legend(y, with_cut_off, with_idle):
    """One swatch per level a job trains up to, then the cut-off and
    the idle pattern where they are used."""
    items = [(RUNG_COLOUR[LEVELS[0]], 'up to r=%d' % LEVELS[0], '')]
    items += [(RUNG_COLOUR[b], 'r=%d to r=%d' % (a, b), '')
              for a, b in zip(LEVELS, LEVELS[1:])]
    if with_cut_off:
        items.append(('#999999', 'cut off at the time limit', CUT_STYLE))
    if with_idle:
        items.append((IDLE_FILL, 'idle', ''))
    out, x = [], LEFT
    for fill, label, style in items:
        out.append('<rect x="%d" y="%d" width="18" height="14" rx="3" '
                   'fill="%s" stroke="#333333" %s/>'
                   % (x, y - 11, fill, style))
        out.append(text(x + 24, y, label, 12, anchor='start'))
        x += 24 + text_width(label, 12) + 22
    return out


def svg_figure(title, jobs, idles, barriers, limit):
    """The whole figure as SVG text.

    The time axis ends at `limit`, rounded up to a tick, so figures with
    the same limit share a time scale and lengths compare directly.
    """
    t_max = TICK_STEP * math.ceil(limit / TICK_STEP)
    scale = (WIDTH - LEFT - RIGHT) / t_max
    body = [text(WIDTH / 2, 22, title, 15, extra='font-weight="bold"')]
    for w in range(N_WORKERS):
        y = lane_y(w)
        body.append('<rect x="%d" y="%d" width="%.1f" height="%d" '
                    'fill="#f4f4f4"/>' % (LEFT, y, t_max * scale, LANE_H))
        body.append(text(LEFT - 10, y + LANE_H / 2 + 5, 'Worker %d'
                         % (w + 1), 13, anchor='end'))
    for job in jobs:
        body += job_box(job, scale)
    for worker, start, end in idles:
        body += box(LEFT + start * scale, LEFT + end * scale, worker,
                    IDLE_FILL, 'idle', '#444444')
    barrier_style = ('stroke="#000000" stroke-width="1.5" '
                     'stroke-dasharray="5,4"')
    limit_style = 'stroke="%s" stroke-width="2.5"' % LIMIT_COLOUR
    body += marked_lines(
        [(LEFT + t * scale, 'wait for the rung', barrier_style)
         for t in barriers]
        + [(LEFT + limit * scale, 'time limit', limit_style)])
    ticks, y = axis(t_max, scale)
    body += ticks
    body += legend(y + 30, any(job.cut_off for job in jobs), bool(idles))
    height = y + 44
    defs = ('<defs><pattern id="hatch" width="6" height="6" '
            'patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)">'
            '<rect width="6" height="6" fill="#eeeeee"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#bbbbbb" '
            'stroke-width="2"/></pattern></defs>')
    return '\n'.join(
        ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'viewBox="0 0 %d %d">' % (WIDTH, height, WIDTH, height),
         defs,
         '<rect width="100%" height="100%" fill="#ffffff"/>']
        + body + ['</svg>', ''])


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(content)
    print('wrote', path)


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, 'static', 'img')
    out_dir = os.path.normpath(out_dir)
    sync_jobs, idles, barriers = sync_schedule()
    # Both tuners get the time that synchronous SH needs for its bracket.
    limit = max(job.end for job in sync_jobs)
    asha_jobs = asha_schedule(limit)
    write(os.path.join(out_dir, 'sync_sh.svg'), svg_figure(
        'Synchronous successive halving', sync_jobs, idles, barriers,
        limit))
    write(os.path.join(out_dir, 'asha.svg'), svg_figure(
        'Asynchronous successive halving (ASHA)', asha_jobs, [], [],
        limit))


if __name__ == '__main__':
    main()

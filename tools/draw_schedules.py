#!/usr/bin/env python3
"""Draw synchronous successive halving and ASHA on two workers.

Writes static/img/sync_sh.svg and static/img/asha.svg. Standard library
only: the SVG text is written by hand so that the figures can be rebuilt
anywhere, and both schedules are computed here (not drawn by hand) from
the same trials, so the two pictures can be compared box for box.

Both schedulers use promotion: a promoted trial resumes from its
checkpoint, so moving from rung 1 to rung 2 costs one more epoch, and
from rung 2 to rung 4 two more epochs.
"""

import collections
import heapq
import os

ETA = 2                 # reduction factor
R_MIN, R_MAX = 1, 4     # epochs at the lowest and the highest rung
RUNGS = (1, 2, 4)       # R_MIN * ETA**k up to R_MAX
N_WORKERS = 2
N_SYNC = 4              # configurations in the synchronous bracket

# The trials, in the order in which random search proposes them:
# (name, minutes per epoch, validation error reached with many epochs).
# Epoch times differ because, e.g., larger batch sizes or networks train
# at different speeds. Synchronous SH uses the first N_SYNC trials,
# ASHA draws from the same list and may go further.
TRIALS = [
    ('T1', 3.0, 0.14),
    ('T2', 2.0, 0.20),
    ('T3', 2.0, 0.10),
    ('T4', 4.0, 0.16),
    ('T5', 2.5, 0.12),
    ('T6', 1.5, 0.18),
    ('T7', 3.0, 0.11),
    ('T8', 2.0, 0.15),
]
EPOCH_TIME = {name: sec for name, sec, _ in TRIALS}
FINAL_ERROR = {name: err for name, _, err in TRIALS}

# Job: one box in the figure. 'rung' is the epoch count reached at its
# end; the trial trained from the previous rung up to this one.
Job = collections.namedtuple('Job', 'trial rung worker start end')


def previous_rung(rung):
    """Epochs a trial already has when it is promoted to `rung`."""
    i = RUNGS.index(rung)
    return RUNGS[i - 1] if i > 0 else 0


def duration(trial, rung):
    """Minutes to train `trial` from the previous rung up to `rung`."""
    return (rung - previous_rung(rung)) * EPOCH_TIME[trial]


def error(trial, rung):
    """Validation error after `rung` epochs: a made-up learning curve.

    It has the same order at every rung, so that both schedulers agree
    on which trial is best and only the timing differs.
    """
    return FINAL_ERROR[trial] + 0.3 / rung


# ----------------------------------------------------------------------
# Synchronous successive halving


def list_schedule(trials, rung, free_at):
    """Run one rung: each trial goes to the worker that is free first.

    `free_at` lists when each worker becomes free and is updated.
    """
    jobs = []
    for trial in trials:
        worker = min(range(N_WORKERS), key=lambda w: (free_at[w], w))
        start = free_at[worker]
        end = start + duration(trial, rung)
        jobs.append(Job(trial, rung, worker, start, end))
        free_at[worker] = end
    return jobs


def sync_schedule():
    """Successive halving with a barrier after every rung.

    Returns the jobs, the idle intervals (worker, start, end) and the
    barrier times. A worker that finishes early must wait until the
    whole rung is done before anyone knows which trials to promote.
    """
    trials = [name for name, _, _ in TRIALS[:N_SYNC]]
    jobs, idles, barriers = [], [], []
    free_at = [0.0] * N_WORKERS
    for i, rung in enumerate(RUNGS):
        if i > 0:
            # Barrier: everybody waits for the slowest job of the rung.
            barrier = max(free_at)
            barriers.append(barrier)
            idles += idle_until(free_at, barrier)
            free_at = [barrier] * N_WORKERS
            ranked = sorted(trials, key=lambda t: error(t, RUNGS[i - 1]))
            trials = ranked[:len(trials) // ETA]
        jobs += list_schedule(trials, rung, free_at)
    # After the last rung the bracket is over; a worker without work
    # idles until the last job is done.
    idles += idle_until(free_at, max(free_at))
    return jobs, idles, barriers


def idle_until(free_at, time):
    """Idle intervals of the workers that are free before `time`."""
    return [(w, t, time) for w, t in enumerate(free_at) if t < time]


# ----------------------------------------------------------------------
# Asynchronous successive halving (promotion type)


def asha_next_job(results, promoted, new_trials):
    """ASHA's rule for a free worker; returns (trial, rung) or None.

    Look for a promotable trial from the highest rung downwards: one
    among the best floor(n / ETA) of the n results at its rung so far
    that has not been promoted yet. If there is none, start a new trial
    at R_MIN instead of waiting.
    """
    for i in reversed(range(len(RUNGS) - 1)):
        rung = RUNGS[i]
        ranked = sorted(results[rung])
        for _, trial in ranked[:len(ranked) // ETA]:
            if (trial, rung) not in promoted:
                promoted.add((trial, rung))
                return trial, RUNGS[i + 1]
    if new_trials:
        return new_trials.pop(0), R_MIN
    return None


def asha_schedule(horizon):
    """Event simulation of ASHA on N_WORKERS workers.

    Workers ask for work whenever they are free; no new job starts at or
    after `horizon` (jobs running then are finished). Results that come
    in at the same time are all recorded before anyone is given work.
    """
    results = {rung: [] for rung in RUNGS}
    promoted = set()
    new_trials = [name for name, _, _ in TRIALS]
    jobs = []
    events = [(0.0, w, None) for w in range(N_WORKERS)]  # (time, w, job)
    heapq.heapify(events)
    while events:
        now = events[0][0]
        free = []
        while events and events[0][0] == now:
            _, worker, job = heapq.heappop(events)
            if job is not None:
                results[job.rung].append((error(job.trial, job.rung),
                                          job.trial))
            free.append(worker)
        for worker in sorted(free):
            if now >= horizon:
                continue
            task = asha_next_job(results, promoted, new_trials)
            if task is None:
                continue
            trial, rung = task
            job = Job(trial, rung, worker, now, now + duration(trial, rung))
            jobs.append(job)
            heapq.heappush(events, (job.end, worker, job))
    return jobs


# ----------------------------------------------------------------------
# SVG drawing

WIDTH = 700
LEFT, RIGHT = 86, 18        # room for "Worker 1" / for the last tick
LANE_TOP = 78               # leaves room for the title and barrier notes
LANE_H, LANE_GAP = 36, 10
TICK_STEP = 2               # minutes between axis ticks
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
# Okabe-Ito colours, distinguishable with the common colour blindnesses;
# all three are light enough for black text on top.
RUNG_COLOUR = {1: '#56B4E9', 2: '#E69F00', 4: '#009E73'}
IDLE_FILL = 'url(#hatch)'


def text(x, y, s, size=13, anchor='middle', extra=''):
    return '<text x="%.1f" y="%.1f" font-size="%d" text-anchor="%s" ' \
        '%s %s>%s</text>' % (x, y, size, anchor, FONT, extra, s)


def lane_y(worker):
    return LANE_TOP + worker * (LANE_H + LANE_GAP)


def box(x0, x1, worker, fill, label, text_colour='#000000'):
    """A rounded box with a centred label; a 1 px inset on both sides
    keeps back-to-back jobs on one worker visibly apart."""
    y = lane_y(worker)
    return [
        '<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="5" '
        'fill="%s" stroke="#333333" stroke-width="1"/>'
        % (x0 + 1, y + 2, x1 - x0 - 2, LANE_H - 4, fill),
        text((x0 + x1) / 2, y + LANE_H / 2 + 4.5, label, 12,
             extra='fill="%s"' % text_colour),
    ]


def barrier_notes(xs):
    """Dashed barrier lines with a note; a note that would run into the
    previous one is lifted by one line."""
    note = 'wait for the rung'
    half = 0.6 * 12 * len(note) / 2 + 4   # about half the note's width
    out, last_right, row = [], -1e9, 0
    bottom = lane_y(N_WORKERS - 1) + LANE_H + 4
    for x in xs:
        row = row + 1 if x - half < last_right else 0
        y = LANE_TOP - 8 - 16 * row
        out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                   'stroke="#000000" stroke-width="1.5" '
                   'stroke-dasharray="5,4"/>' % (x, y + 4, x, bottom))
        out.append(text(x, y, note, 12,
                        extra='fill="#000000" paint-order="stroke" '
                        'stroke="#ffffff" stroke-width="4"'))
        last_right = x + half
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


def legend(y, with_idle):
    """One swatch per rung, plus the idle pattern where it is used."""
    items = [(RUNG_COLOUR[r], 'rung r=%d (%d epoch%s)'
              % (r, r, 's' if r > 1 else '')) for r in RUNGS]
    if with_idle:
        items.append((IDLE_FILL, 'idle'))
    out, x = [], LEFT
    for fill, label in items:
        out.append('<rect x="%d" y="%d" width="18" height="14" rx="3" '
                   'fill="%s" stroke="#333333"/>' % (x, y - 11, fill))
        out.append(text(x + 24, y, label, 12, anchor='start'))
        x += 24 + 7.2 * len(label) + 22
    return out


def svg_figure(title, jobs, idles, barriers, t_max, scale):
    """The whole figure as SVG text."""
    body = [text(WIDTH / 2, 22, title, 15, extra='font-weight="bold"')]
    for w in range(N_WORKERS):
        y = lane_y(w)
        body.append('<rect x="%d" y="%d" width="%.1f" height="%d" '
                    'fill="#f4f4f4"/>' % (LEFT, y, t_max * scale, LANE_H))
        body.append(text(LEFT - 10, y + LANE_H / 2 + 5, 'Worker %d'
                         % (w + 1), 13, anchor='end'))
    for job in jobs:
        body += box(LEFT + job.start * scale, LEFT + job.end * scale,
                    job.worker, RUNG_COLOUR[job.rung],
                    '%s, r=%d' % (job.trial, job.rung))
    for worker, start, end in idles:
        body += box(LEFT + start * scale, LEFT + end * scale, worker,
                    IDLE_FILL, 'idle', '#444444')
    body += barrier_notes([LEFT + t * scale for t in barriers])
    ticks, y = axis(t_max, scale)
    body += ticks
    body += legend(y + 30, bool(idles))
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
    t_sync = max(job.end for job in sync_jobs)
    # ASHA gets the same time budget: it starts no job after the
    # synchronous bracket is over.
    asha_jobs = asha_schedule(t_sync)
    # One time scale for both figures, so that lengths compare directly.
    t_end = max(job.end for job in sync_jobs + asha_jobs)
    t_max = TICK_STEP * -(-t_end // TICK_STEP)
    scale = (WIDTH - LEFT - RIGHT) / t_max
    write(os.path.join(out_dir, 'sync_sh.svg'), svg_figure(
        'Synchronous successive halving', sync_jobs, idles, barriers,
        t_max, scale))
    write(os.path.join(out_dir, 'asha.svg'), svg_figure(
        'Asynchronous successive halving (ASHA)', asha_jobs, [], [],
        t_max, scale))


if __name__ == '__main__':
    main()

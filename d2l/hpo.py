"""Framework-neutral code of the hyperparameter optimization chapter.

The part above the WARNING line is written by hand; the part below it is
copied from the `#@save` cells of the sections by `tools/build_lib.py`.
"""
import contextlib
import dataclasses
import io
import logging
import math
import os
import random
import sys
import time
from typing import Optional, Tuple

import pandas as pd  # Syne Tune imports it anyway.

from d2l.core import *  # noqa: F401,F403  (the saved code uses d2l.plot ...)
from d2l.core import __getattr__  # noqa: F401  (d2l.plt, on first use)

# What the saved scheduler code builds on. Importing Syne Tune prints
# notices about optional extras, which the book's outputs do without. It
# also imports Ray Tune when Ray is installed, which in a notebook logs an
# INFO line about ipywidgets (for rich progress tables, which we do not use).
logging.getLogger('ray.widgets.util').setLevel(logging.WARNING)
with contextlib.redirect_stdout(io.StringIO()):
    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import (
        Categorical, Domain, Float, Integer, loguniform, randint)
    from syne_tune.optimizer.scheduler import (
        SchedulerDecision, TrialScheduler, TrialSuggestion)
    from syne_tune.results_callback import StoreResultsCallback

# The saved code refers to the library as `d2l`, as the sections do.
d2l = sys.modules[__name__]


class TunerLog(StoreResultsCallback):
    """Store the results, and log what the tuner told its scheduler and
    what the scheduler answered: trials started and resumed, and every
    report with its decision, in order (for `replay`)."""
    def __init__(self):
        super().__init__()
        self.events = []

    def on_trial_result(self, trial, status, result, decision):
        super().on_trial_result(trial, status, result, decision)
        self.events.append(('result', trial.trial_id, result, decision))

    def on_start_trial(self, trial):
        self.events.append(('start', trial.trial_id, dict(trial.config)))

    def on_resume_trial(self, trial):
        self.events.append(('resume', trial.trial_id, dict(trial.config)))


def replay(scheduler, events, max_resource_attr='max_epochs'):
    """Play the tuner's part for `scheduler` once more: make the calls that
    Syne Tune's `Tuner` made for the logged `events`, in their order, and
    count the decisions of `scheduler` that agree with the logged ones.
    Returns (agreeing decisions, decisions)."""
    trials, agree = {}, 0
    for kind, trial_id, data, *decision in events:
        if kind == 'result':
            ours = scheduler.on_trial_result(trials[trial_id], data)
            agree += ours == decision[0]
            if decision[0] in (SchedulerDecision.PAUSE,
                               SchedulerDecision.STOP):
                scheduler.on_trial_remove(trials[trial_id])
            continue
        # A free worker: the tuner offers the id that a new trial would get.
        ours = scheduler.suggest(len(trials))
        agree += (ours is not None
                  and ours.spawn_new_trial_id == (kind == 'start')
                  and ours.checkpoint_trial_id in (None, trial_id)
                  and ours.config[max_resource_attr]
                  == data[max_resource_attr])
        if kind == 'start':
            trials[trial_id] = Trial(trial_id, data, None)
            scheduler.on_trial_add(trials[trial_id])
    return agree, len(events)

BUDGET_VAR = 'D2L_HPO_BUDGET'


@dataclasses.dataclass(frozen=True)
class HPOBudget:
    """How much compute one tuning experiment of the chapter may use."""
    name: str
    n_workers: int
    num_gpus: int  # GPUs given out to trials, one each; 0: the CPU only.
    max_wallclock_time: float  # In seconds.
    max_epochs: int
    resize: Tuple[int, int]
    num_train: Optional[int]  # None means the whole split.
    num_val: Optional[int]
    num_test: Optional[int]

    def __repr__(self):
        # One field per line: the budget is shown in narrow notebook cells.
        fields = ''.join(f'\n    {f.name}={getattr(self, f.name)!r},'
                         for f in dataclasses.fields(self))
        return f'HPOBudget({fields}\n)'

    def data_args(self):
        """Keyword arguments of `d2l.FashionMNIST` for this budget."""
        return dict(resize=self.resize, num_train=self.num_train,
                    num_val=self.num_val, num_test=self.num_test)


def choose_budget(name=None, num_gpus=0):
    """The 'full' budget (GPUs) or the reduced 'cpu' budget.

    Without `name`, the environment variable D2L_HPO_BUDGET decides, and
    without that the hardware: 'full' when a GPU is visible, else 'cpu'.
    Either budget gives each trial one of the `num_gpus` visible GPUs.
    """
    name = name or os.environ.get(BUDGET_VAR) or (
        'full' if num_gpus else 'cpu')
    if name not in ('full', 'cpu'):
        raise ValueError(f"The HPO budget must be 'cpu' or 'full', got "
                         f'{name!r}; set {BUDGET_VAR} or pass one of the '
                         'two names')
    # Trial processes started from here inherit the environment, and with
    # it the same choice.
    os.environ[BUDGET_VAR] = name
    if name == 'full':
        return HPOBudget('full', n_workers=max(num_gpus, 1),
                         num_gpus=num_gpus, max_wallclock_time=15 * 60,
                         max_epochs=9, resize=(224, 224), num_train=None,
                         num_val=None, num_test=None)
    # AlexNet's smallest input, 1/50 of the training split and 2 worker
    # processes: a few minutes on a laptop, yet enough for learning curves
    # that differ between configurations. 9 epochs leave room for rungs at
    # 1 and 3 epochs below the maximum. 1000 validation images measure an
    # error near 0.25 to a standard error of 1.4 percentage points; the
    # test images measure only the chosen configuration, once.
    return HPOBudget('cpu', n_workers=2, num_gpus=num_gpus,
                     max_wallclock_time=150, max_epochs=9,
                     resize=(65, 65), num_train=1000, num_val=1000,
                     num_test=2000)


# How many compute threads a framework starts (MXNet and PyTorch read OpenMP's).
THREAD_VARS = ('OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS',
               'TF_NUM_INTEROP_THREADS')


def share_cpu_cores(n_workers):
    """Give each of `n_workers` trial processes its share of the CPU cores.

    Each framework starts as many compute threads as there are cores, so
    trial processes side by side would fight for them and slow each other
    down. The variables apply to processes started after this call.
    """
    threads = str(max(1, (os.cpu_count() or 1) // n_workers))
    for var in THREAD_VARS:
        os.environ[var] = threads


RAY_STORAGE_VAR = 'D2L_RAY_STORAGE'


def ray_storage_path():
    """Where Ray Tune stores results and checkpoints: the folder in the
    environment variable D2L_RAY_STORAGE, else Ray's default ~/ray_results.
    On a cluster of several machines it must be storage that every node
    reaches (a shared file system or a cloud bucket such as s3://...)."""
    return os.environ.get(RAY_STORAGE_VAR) or os.path.expanduser(
        '~/ray_results')


def init_ray(budget):
    """Connect to the Ray cluster at RAY_ADDRESS, or start Ray on this
    machine alone; return the resources that each trial asks for.

    Trials get the budget's choice, and one GPU each when the budget has
    GPUs; the CPU cores of the cluster are shared among the budget's
    workers, and the trials' frameworks use that many threads.
    """
    import socket
    address = os.environ.get('RAY_ADDRESS')
    if address and address != 'auto':
        host, _, port = address.rpartition(':')
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError):
            raise ConnectionError(
                f'No Ray cluster answers at RAY_ADDRESS={address}. Start one: '
                f'`ray start --head --port={port}` on the head node, then '
                f'`ray start --address={address}` on each other node; or '
                'unset RAY_ADDRESS to run Ray on this machine alone.') from None
    import ray
    # Ray's warnings about its own bookkeeping, and Ray Tune's progress
    # tables, would fill the outputs; errors still show.
    os.environ['RAY_AIR_NEW_OUTPUT'] = '0'
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    if address:  # The cluster's cores, all nodes together.
        ray.init(**quiet)
        cores = int(ray.cluster_resources().get('CPU', 1))
        ray.shutdown()
    else:
        cores = os.cpu_count() or 1
        quiet['include_dashboard'] = False
    threads = max(1, cores // budget.n_workers)
    env_vars = {var: str(threads) for var in THREAD_VARS}
    env_vars[BUDGET_VAR] = budget.name
    # The trials may run on other machines: they get these settings from
    # the job, not from this process's environment.
    ray.init(runtime_env={'env_vars': env_vars}, **quiet)
    return {'cpu': threads, 'gpu': 1 if budget.num_gpus else 0}


#################   WARNING   ################
# The part below is generated by tools/build_lib.py from the `#@save` blocks in the
# `#@tab all` code cells of the chapter's sections, in toctree order. Do not edit it
# here: edit the section and run `make lib` (or `python tools/build_lib.py`).


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def domain_kind(name, domain):
    """'constant', or the kind of domain of hyperparameter `name`."""
    if not isinstance(domain, Domain):
        return 'constant'
    kinds = {Float._Uniform: 'uniform', Float._LogUniform: 'loguniform',
             Integer._Uniform: 'randint', Integer._LogUniform: 'lograndint',
             Categorical._Uniform: 'choice'}
    if type(domain.get_sampler()) not in kinds:
        raise ValueError(
            f'config_space[{name!r}] is {domain}, which we cannot sample; '
            f'allowed are {", ".join(kinds.values())} or a constant')
    return kinds[type(domain.get_sampler())]


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def check_config_space(config_space):
    """The kind of each hyperparameter of `config_space`, by name."""
    if not isinstance(config_space, dict) or not config_space:
        raise ValueError('config_space must be a non-empty dict of names '
                         f'and domains, got {config_space!r}')
    kinds = {name: d2l.domain_kind(name, domain)
             for name, domain in config_space.items()}
    if set(kinds.values()) == {'constant'}:
        raise ValueError(f'config_space {config_space} has no domain to '
                         'sample: give at least one, e.g. uniform(0, 1)')
    return kinds


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def sample_value(kind, domain, rng):
    """A value for a hyperparameter of this kind, drawn with `rng`."""
    if kind == 'constant':
        return domain
    if kind == 'choice':
        return rng.choice(domain.categories)
    if kind == 'uniform':
        return rng.uniform(domain.lower, domain.upper)
    if kind == 'randint':
        return rng.randint(domain.lower, domain.upper)  # Both included.
    # On a logarithmic scale, the logarithm of the value is uniform.
    value = math.exp(rng.uniform(math.log(domain.lower),
                                 math.log(domain.upper)))
    value = min(max(value, domain.lower), domain.upper)  # Round-off.
    return value if kind == 'loguniform' else round(value)


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def sample_config(config_space, rng):
    """A configuration drawn at random from `config_space` with `rng`."""
    kinds = d2l.check_config_space(config_space)
    return {name: d2l.sample_value(kinds[name], domain, rng)
            for name, domain in config_space.items()}


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def random_search(objective, config_space, num_trials, seed=None):
    """Evaluate `num_trials` random configurations one after another;
    a record of each, with the incumbent's error after it."""
    d2l.check_positive('num_trials', num_trials)
    rng, records, best = random.Random(seed), [], math.inf
    tic = time.time()
    for _ in range(num_trials):
        config = d2l.sample_config(config_space, rng)
        error = objective(**config)
        best = min(best, error)
        records.append(dict(config, error=error, incumbent_error=best,
                            seconds=time.time() - tic))
    return records


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def hpo_search_space(max_epochs):
    """The chapter's search space, with `max_epochs` fixed."""
    return {'learning_rate': loguniform(1e-5, 1e-1),
            'batch_size': randint(8, 128), 'max_epochs': max_epochs}


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
class HPOSearcher(d2l.HyperParameters):
    """Proposes configurations, and learns from their results."""
    def sample_configuration(self):
        """A new configuration, or None if there is none left."""
        raise NotImplementedError

    def update(self, config, report):
        """Take note of a report of a trial with configuration `config`."""
        pass


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
class RandomSearcher(HPOSearcher):
    """Draws every configuration at random from the search space."""
    def __init__(self, config_space, seed=None):
        d2l.check_config_space(config_space)
        self.save_hyperparameters()
        self.rng = random.Random(seed)

    def sample_configuration(self):
        return d2l.sample_config(self.config_space, self.rng)


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
class HPOScheduler(d2l.HyperParameters):
    """Decides which trial runs next, and after each report of a running
    trial whether it continues, pauses or stops."""
    def suggest(self, trial_id):
        """A configuration to start as trial `trial_id`, the id of a
        paused trial to resume, or None to end the experiment."""
        raise NotImplementedError

    def on_trial_result(self, trial_id, report):
        """'continue', 'pause' or 'stop' the trial that sent `report`."""
        raise NotImplementedError

    def on_trial_complete(self, trial_id):
        """The objective of the trial has returned."""
        pass

    def on_trial_error(self, trial_id):
        """The objective of the trial has raised an error."""
        pass


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
class FIFOScheduler(HPOScheduler):
    """Starts the searcher's configurations in turn; every trial runs
    to its end."""
    def __init__(self, searcher, metric='validation_error'):
        self.save_hyperparameters()
        self.configs = {}

    def suggest(self, trial_id):
        self.configs[trial_id] = self.searcher.sample_configuration()
        return self.configs[trial_id]

    def on_trial_result(self, trial_id, report):
        self.searcher.update(self.configs[trial_id], report)
        return 'continue'


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
def check_count(name, value, minimum=1):
    """Raise a ValueError unless `value` is an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or (
            value < minimum):
        raise ValueError(f'{name} must be an integer >= {minimum}, got '
                         f'{value!r}')

class HPOTuner(d2l.HyperParameters):
    """Runs the trials of `objective` on one worker, as `scheduler`
    decides, and keeps the books."""
    def __init__(self, scheduler, objective, max_failures=1):
        d2l.check_count('max_failures', max_failures, minimum=0)
        self.save_hyperparameters()
        self.configs, self.status, self.paused = [], {}, {}
        self.reports, self.failures = [], {}
        self.elapsed, self.incumbent, self.incumbent_error = 0, None, math.inf


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def next_job(self, num_trials):
    """(trial id, its reports) to run next, or None at the end."""
    trial_id = len(self.configs)
    if trial_id == num_trials and not self.paused:
        return None
    suggestion = self.scheduler.suggest(trial_id)
    if isinstance(suggestion, dict) and trial_id < num_trials:
        self.configs.append(suggestion)
        return trial_id, self.objective(**suggestion)
    if suggestion is None or isinstance(suggestion, dict):
        return None
    if suggestion not in self.paused:
        raise ValueError('suggest must return a configuration, one of the '
                         f'paused trials {sorted(self.paused)} or None, '
                         f'got {suggestion!r}')
    return suggestion, self.paused.pop(suggestion)


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def next_report(self, trial_id, reports):
    """The trial's next report; None when it has ended or failed."""
    tic = time.time()
    try:
        return next(reports)
    except StopIteration:
        self.status[trial_id] = 'completed'
        self.scheduler.on_trial_complete(trial_id)
    except Exception as error:  # Training failed; the tuner goes on.
        self.fail(trial_id, error)
    finally:
        self.elapsed += time.time() - tic


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def fail(self, trial_id, error):
    """Record a failed trial; give up after more than max_failures."""
    self.status[trial_id], self.failures[trial_id] = 'failed', error
    self.scheduler.on_trial_error(trial_id)
    if len(self.failures) > self.max_failures:
        raise RuntimeError(
            f'{len(self.failures)} trials failed, more than max_failures='
            f'{self.max_failures}; the last, trial {trial_id} with '
            f'{self.configs[trial_id]}, raised {error!r}') from error


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def on_report(self, trial_id, report):
    """Book `report`; return the scheduler's decision about the trial."""
    metric = self.scheduler.metric
    if not isinstance(report, dict) or metric not in report:
        raise ValueError(f'trial {trial_id} reported {report!r}; a report '
                         f'must be a dict with the metric {metric!r}')
    if report[metric] < self.incumbent_error:
        self.incumbent = self.configs[trial_id]
        self.incumbent_error = report[metric]
    self.reports.append(dict(report, trial_id=trial_id, elapsed=self.elapsed,
                             incumbent_error=self.incumbent_error))
    decision = self.scheduler.on_trial_result(trial_id, report)
    if decision not in ('continue', 'pause', 'stop'):
        raise ValueError("the scheduler's decision must be 'continue', "
                         f"'pause' or 'stop', got {decision!r}")
    return decision


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def run_job(self, trial_id, reports):
    """Train the trial until it ends, fails, pauses or stops."""
    self.status[trial_id] = 'running'
    while self.status[trial_id] == 'running':
        report = self.next_report(trial_id, reports)
        if self.status[trial_id] != 'running':  # It ended or failed.
            break
        decision = self.on_report(trial_id, report)
        if decision == 'pause':
            self.status[trial_id], self.paused[trial_id] = 'paused', reports
        elif decision == 'stop':
            self.status[trial_id] = 'stopped'
            reports.close()


# Saved from chapter_hyperparameter_optimization/hyperopt-api.md
@d2l.add_to_class(HPOTuner)
def run(self, num_trials):
    """Run until `num_trials` trials have started and none is left to
    resume, or the scheduler suggests nothing; return the incumbent."""
    d2l.check_count('num_trials', num_trials)
    while (job := self.next_job(num_trials)) is not None:
        self.run_job(*job)
    return self.incumbent


# Saved from chapter_hyperparameter_optimization/rs-async.md
def plot_learning_curves(results, max_epochs):
    """Validation error of each trial against wall-clock time, coloured
    by the number of epochs that the trial reached."""
    d2l.set_figsize((6, 3.5))
    cmap, labelled = d2l.plt.get_cmap('viridis'), set()
    trials = [df for _, df in results.groupby('trial_id')]
    for df in sorted(trials, key=lambda df: df['epoch'].max()):
        reached = int(df['epoch'].max())  # Sorted: the legend is too.
        d2l.plt.plot(
            df['st_tuner_time'], df['validation_error'], 'o-', ms=3,
            color=cmap(0.9 * (reached - 1) / max(max_epochs - 1, 1)),
            label=None if reached in labelled else f'epoch {reached}')
        labelled.add(reached)
    d2l.plt.legend(title='trial reached')
    d2l.plt.xlabel('wall-clock time (seconds)')
    d2l.plt.ylabel('validation error')


# Saved from chapter_hyperparameter_optimization/rs-async.md
def trial_processes(results):
    """One row per process that ran a trial: the first and the last epoch
    it reported, and its start-up time in seconds."""
    epochs = results.groupby(['trial_id', 'startup'])['epoch']
    processes = epochs.agg(first='min', last='max').reset_index()
    return processes.sort_values(['trial_id', 'first'], ignore_index=True)


# Saved from chapter_hyperparameter_optimization/rs-async.md
def chosen_trial(results):
    """The id and the last report of the trial whose last report has the
    lowest validation error; its checkpoint is the model of that report."""
    last = results.sort_values('epoch').groupby('trial_id').last()
    trial_id = last['validation_error'].idxmin()
    return trial_id, last.loc[trial_id]


# Saved from chapter_hyperparameter_optimization/rs-async.md
def experiment_summary(results, budget):
    """Trials, processes and epochs of an experiment, the share of the
    workers' time spent starting processes, and the chosen trial."""
    processes = trial_processes(results)
    worker_seconds = budget.n_workers * budget.max_wallclock_time
    trial_id, chosen = chosen_trial(results)
    return {'trials started': results['trial_id'].nunique(),
            'processes started': len(processes),
            'epochs trained': len(results),
            'start-up share': processes['startup'].sum() / worker_seconds,
            'chosen trial': trial_id,
            'its validation error': chosen['validation_error']}


# Saved from chapter_hyperparameter_optimization/sh-intro.md
class SuccessiveHalving(d2l.HyperParameters):
    """Synchronous successive halving, evaluating one trial at a time."""
    def __init__(self, objective, r_min, r_max, eta=2):
        if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
            raise ValueError(f'eta must be an integer >= 2, got {eta!r}')
        if not 0 < r_min <= r_max:
            raise ValueError('need 0 < r_min <= r_max, got '
                             f'r_min={r_min!r}, r_max={r_max!r}')
        self.save_hyperparameters()

    def rung_levels(self):
        """r_min, eta * r_min, ... below r_max, then r_max itself."""
        levels = [self.r_min]
        while levels[-1] * self.eta < self.r_max:
            levels.append(levels[-1] * self.eta)
        return levels + [self.r_max] if levels[-1] < self.r_max else levels

    def top_trials(self, errors):
        """Positions of the best floor(n / eta) of n errors, at least one."""
        num_keep = max(1, len(errors) // self.eta)
        return sorted(range(len(errors)), key=lambda i: errors[i])[:num_keep]

    def run(self, configs):
        """Evaluate `configs` rung by rung; one record per evaluation."""
        records, alive = [], list(range(len(configs)))
        for rung in self.rung_levels():
            errors = []
            for trial in alive:
                tic = time.time()
                errors.append(self.objective(**configs[trial], max_epochs=rung))
                records.append(dict(rung=rung, trial=trial, error=errors[-1],
                                    seconds=time.time() - tic, **configs[trial]))
            alive = [alive[i] for i in self.top_trials(errors)]
        return records


# Saved from chapter_hyperparameter_optimization/sh-intro.md
def rung_idle_time(seconds, num_workers):
    """Worker seconds spent waiting for the slowest trial of a rung."""
    busy_until = [0.0] * num_workers
    for s in seconds:
        busy_until[busy_until.index(min(busy_until))] += s
    return num_workers * max(busy_until) - sum(seconds)


# Saved from chapter_hyperparameter_optimization/sh-async.md
def trials_per_rung(results, rungs):
    """For each rung, the number of trials that got no further."""
    reached = results.groupby('trial_id')['epoch'].max()
    highest = reached.apply(lambda e: max(r for r in rungs if r <= e))
    counts = highest.value_counts().reindex(rungs, fill_value=0)
    return counts.rename_axis('highest rung').rename('trials')


# Saved from chapter_hyperparameter_optimization/asha-scratch.md
class AsyncSuccessiveHalving(TrialScheduler):
    """Promotion-type ASHA: pause trials at rungs, promote good ones."""
    def __init__(self, config_space, metric, resource_attr, max_t,
                 grace_period=1, reduction_factor=3, mode='min',
                 max_resource_attr='max_epochs'):
        super().__init__(config_space)
        eta = reduction_factor
        if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
            raise ValueError('reduction_factor must be an integer >= 2, '
                             f'got {eta!r}')
        if not 1 <= grace_period <= max_t:
            raise ValueError(f'grace_period must be between 1 and max_t='
                             f'{max_t}, got {grace_period!r}')
        if mode not in ('min', 'max'):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.metric, self.mode, self.max_t, self.eta = metric, mode, max_t, eta
        self.resource_attr = resource_attr
        self.max_resource_attr = max_resource_attr
        self.make_rungs(grace_period)
        # Per trial: its configuration, and where it pauses or stops next.
        self.configs, self.milestone = {}, {}
        self.searcher = d2l.RandomSearcher(config_space)

    def metric_names(self):
        return [self.metric]

    def make_rungs(self, grace_period):
        """Empty rungs at grace_period * eta**k below max_t."""
        self.rung_levels, level = [], grace_period
        while level < self.max_t:
            self.rung_levels.append(level)
            level *= self.eta
        self.rungs = {level: {} for level in self.rung_levels}
        self.promoted = {level: set() for level in self.rung_levels}

    def next_level(self, level):
        """The rung above `level`, or max_t above the top rung."""
        return min([r for r in self.rung_levels if r > level] + [self.max_t])

    def on_trial_result(self, trial, result):
        for key in (self.metric, self.resource_attr):
            if key not in result:
                raise ValueError(f'trial {trial.trial_id} reported {result}, '
                                 f'which lacks {key!r}')
        resource = int(result[self.resource_attr])
        milestone = self.milestone[trial.trial_id]
        if resource > milestone:
            raise ValueError(f'trial {trial.trial_id} reported {resource}, past '
                             f'its milestone {milestone}: report every epoch')
        if resource < milestone:
            return SchedulerDecision.CONTINUE
        if resource == self.max_t:
            return SchedulerDecision.STOP
        sign = 1 if self.mode == 'min' else -1
        self.rungs[resource][trial.trial_id] = sign * result[self.metric]
        return SchedulerDecision.PAUSE

    def promotable(self, level):
        """The best unpromoted trial among the top floor(n / eta) of the n
        results at rung `level`, or None."""
        results = self.rungs[level]
        top = sorted(results, key=results.get)[:len(results) // self.eta]
        waiting = [t for t in top if t not in self.promoted[level]]
        return waiting[0] if waiting else None

    def run_until(self, trial_id, milestone, resume):
        """Suggest to start, or resume, `trial_id` up to `milestone`."""
        self.milestone[trial_id] = milestone
        config = dict(self.configs[trial_id])
        config[self.max_resource_attr] = milestone
        if resume:
            return TrialSuggestion.resume_suggestion(trial_id, config)
        return TrialSuggestion.start_suggestion(config)

    def _suggest(self, trial_id):
        for level in reversed(self.rung_levels):
            promoted = self.promotable(level)
            if promoted is not None:
                self.promoted[level].add(promoted)
                return self.run_until(promoted, self.next_level(level), True)
        config = self.searcher.sample_configuration()
        if config is None:  # The searcher has nothing left to propose.
            return None
        self.configs[trial_id] = config
        return self.run_until(trial_id, self.next_level(0), False)


# Saved from chapter_hyperparameter_optimization/asha-scratch.md
class SyneTuneASHA(AsyncSuccessiveHalving):
    """ASHA with Syne Tune's quantile rule for promotions."""
    def promotable(self, level):
        results = self.rungs[level]
        waiting = [t for t in results if t not in self.promoted[level]]
        if len(results) < 2 or not waiting:
            return None
        best = min(waiting, key=results.get)
        values = sorted(results.values())
        q = level / self.next_level(level)
        position = (len(values) - 1) * q + 1
        i = int(position)
        cutoff = ((position - i) * values[i]
                  + (1 - (position - i)) * values[i - 1])
        return best if results[best] <= cutoff else None


# Saved from chapter_hyperparameter_optimization/cluster.md
def ray_report(trainer, **metrics):
    """Report `metrics` to Ray Tune with a checkpoint of `trainer`."""
    import tempfile
    from ray import tune
    with tempfile.TemporaryDirectory() as folder:
        trainer.save_checkpoint(d2l.checkpoint_file(folder))
        tune.report(metrics,
                    checkpoint=tune.Checkpoint.from_directory(folder))


# Saved from chapter_hyperparameter_optimization/cluster.md
def ray_restore(trainer, model, data):
    """Restore the last checkpoint that this Ray Tune trial reported, if
    there is one."""
    from ray import tune
    checkpoint = tune.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            trainer.load_checkpoint(d2l.checkpoint_file(folder), model, data)


# Saved from chapter_hyperparameter_optimization/cluster.md
def ray_results(grid, start):
    """All reports of a Ray Tune experiment in one data frame, with the
    column names of Syne Tune's results that the chapter's functions use."""
    frames = [r.metrics_dataframe for r in grid
              if r.metrics_dataframe is not None]
    results = pd.concat(frames, ignore_index=True)
    results['st_tuner_time'] = results['timestamp'] - start
    return results.rename(columns=lambda c: c.replace('config/', 'config_'))

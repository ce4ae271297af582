"""The compute that the chapter's experiments may use: the budget of an
experiment, the CPU cores of its trial processes, and a Ray cluster.

Neither Syne Tune nor Ray is imported here, so that the framework modules
can offer these names without the seconds that those imports take.
"""
import dataclasses
import logging
import os
from typing import Optional, Tuple

__all__ = ['BUDGET_VAR', 'HPOBudget', 'RAY_STORAGE_VAR', 'THREAD_VARS',
           'choose_budget', 'init_ray', 'ray_storage_path',
           'share_cpu_cores']

# Syne Tune imports Ray Tune when Ray is installed, which in a notebook logs
# an INFO line about ipywidgets (for rich progress tables, which we do not
# use). The sections import Syne Tune after d2l, so d2l sets this first.
logging.getLogger('ray.widgets.util').setLevel(logging.WARNING)

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
    workers, and the trials' frameworks use that many threads. Ray already
    started in this process (a second call, a rerun cell) is shut down and
    started again with these settings.
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
    if ray.is_initialized():
        ray.shutdown()
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

"""Framework-neutral code of the hyperparameter optimization chapter.

The part above the WARNING line is written by hand; the part below it is
copied from the `#@save` cells of the sections by `tools/build_lib.py`.
"""
import dataclasses
import os
from typing import Optional, Tuple

BUDGET_VAR = 'D2L_HPO_BUDGET'


@dataclasses.dataclass(frozen=True)
class HPOBudget:
    """How much compute one tuning experiment of the chapter may use."""
    name: str
    n_workers: int
    max_wallclock_time: float  # In seconds.
    max_epochs: int
    resize: Tuple[int, int]
    num_train: Optional[int]  # None means the whole split.
    num_val: Optional[int]

    def data_args(self):
        """Keyword arguments of `d2l.FashionMNIST` for this budget."""
        return dict(resize=self.resize, num_train=self.num_train,
                    num_val=self.num_val)


def choose_budget(name=None, num_gpus=0):
    """The 'full' budget (GPUs) or the reduced 'cpu' budget.

    Without `name`, the environment variable D2L_HPO_BUDGET decides, and
    without that the hardware: 'full' when a GPU is visible, else 'cpu'.
    """
    name = name or os.environ.get(BUDGET_VAR) or (
        'full' if num_gpus else 'cpu')
    if name == 'full':
        return HPOBudget('full', n_workers=max(num_gpus, 1),
                         max_wallclock_time=15 * 60, max_epochs=4,
                         resize=(224, 224), num_train=None, num_val=None)
    if name == 'cpu':
        # AlexNet's smallest input, 1/30 of the training data and 2 worker
        # processes: a few minutes on a laptop, yet enough for learning
        # curves that differ between configurations.
        return HPOBudget('cpu', n_workers=2, max_wallclock_time=150,
                         max_epochs=4, resize=(65, 65), num_train=2000,
                         num_val=1000)
    raise ValueError(f"The HPO budget must be 'cpu' or 'full', got {name!r}; "
                     f'set {BUDGET_VAR} or pass one of the two names')


#################   WARNING   ################

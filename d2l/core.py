"""Framework-neutral helpers: hyperparameters, argument checks, plotting,
and the parts of `DataModule` and `Trainer` that no framework changes."""
import contextlib
import functools
import inspect

from matplotlib import pyplot as plt
from matplotlib_inline import backend_inline

__all__ = ['DataModule', 'HyperParameters', 'ProgressBoard', 'TrainerBase',
           'add_to_class', 'check_positive', 'plot', 'plt', 'set_axes',
           'set_figsize', 'use_svg_display']


def add_to_class(Class):
    """Register the decorated function as a method of `Class`."""
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
        return obj
    return wrapper


@functools.lru_cache(maxsize=None)
def notice_no_gpu():
    """Say, once per process, that a GPU was asked for but none is there."""
    print('Trainer: no GPU found, training on the CPU.')


def check_image_size(size, min_size):
    """Raise a ValueError unless the (height, width) `size` is at least
    `min_size` pixels both ways; the message says how to resize."""
    size = tuple(size)
    if min(size) < min_size:
        raise ValueError(
            f'AlexNet needs images of at least {min_size}x{min_size} pixels, '
            f'got {size}; use FashionMNIST(resize=({min_size}, {min_size})) '
            'or larger')


def check_positive(name, value):
    """Raise a ValueError that names `name` unless `value` is positive."""
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f'{name} must be positive, got {value!r}')


class HyperParameters:
    """Base class whose constructors can store their arguments."""
    def save_hyperparameters(self, ignore=()):
        """Store every argument of the calling `__init__` as an attribute."""
        frame = inspect.currentframe().f_back
        _, _, _, local_vars = inspect.getargvalues(frame)
        self.hparams = {k: v for k, v in local_vars.items()
                        if k not in set(ignore) | {'self'}
                        and not k.startswith('_')}
        for k, v in self.hparams.items():
            setattr(self, k, v)


def use_svg_display():
    """Use the svg format to display a plot in Jupyter."""
    backend_inline.set_matplotlib_formats('svg')


def set_figsize(figsize=(3.5, 2.5)):
    """Set the figure size for matplotlib."""
    use_svg_display()
    plt.rcParams['figure.figsize'] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Set the labels, limits and scales of matplotlib axes."""
    axes.set_xlabel(xlabel), axes.set_ylabel(ylabel)
    axes.set_xscale(xscale), axes.set_yscale(yscale)
    axes.set_xlim(xlim), axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None,
         ylim=None, xscale='linear', yscale='linear',
         fmts=('-', 'm--', 'g-.', 'r:'), figsize=(3.5, 2.5), axes=None):
    """Plot one or several curves; `X` and `Y` are lists or arrays."""
    def has_one_axis(X):  # True if X (list or array) has one axis
        return (hasattr(X, 'ndim') and X.ndim == 1 or isinstance(X, list)
                and not hasattr(X[0], '__len__'))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    set_figsize(figsize)
    if axes is None:
        axes = plt.gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        axes.plot(x, y, fmt) if len(x) else axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _in_notebook():
    """Whether this process is a Jupyter kernel, where a plot can be seen."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and 'IPKernelApp' in shell.config


class ProgressBoard(HyperParameters):
    """Plot data points in animation.

    Points are always recorded in `data`; they are drawn only when
    `display` is true, which by default means that this process is a
    Jupyter kernel. A Syne Tune worker process therefore pays nothing for
    drawing that nobody would see.
    """
    def __init__(self, xlabel=None, ylabel=None, xlim=None, ylim=None,
                 xscale='linear', yscale='linear',
                 ls=('-', '--', '-.', ':'), colors=('C0', 'C1', 'C2', 'C3'),
                 fig=None, axes=None, figsize=(3.5, 2.5), display=None):
        if display is None:
            display = _in_notebook()
        self.save_hyperparameters()
        self.data, self._raw = {}, {}

    def draw(self, x, y, label, every_n=1):
        """Add the point (x, y) to curve `label`, averaging every_n points."""
        raw = self._raw.setdefault(label, [])
        raw.append((x, float(y)))
        if len(raw) < every_n:
            return
        xs, ys = zip(*raw)
        self.data.setdefault(label, []).append(
            (xs[-1], sum(ys) / len(ys)))
        raw.clear()
        if self.display:
            self._redraw()

    def _redraw(self):
        from IPython import display
        use_svg_display()
        if self.fig is None:
            self.fig = plt.figure(figsize=self.figsize)
        axes = self.axes if self.axes else plt.gca()
        axes.cla()
        lines = []
        for (label, points), ls, color in zip(self.data.items(), self.ls,
                                              self.colors):
            xs, ys = zip(*points)
            lines.append(axes.plot(xs, ys, linestyle=ls, color=color)[0])
        axes.legend(lines, list(self.data))
        set_axes(axes, self.xlabel, self.ylabel, self.xlim or None,
                 self.ylim or None, self.xscale, self.yscale, None)
        display.display(self.fig)
        display.clear_output(wait=True)


class DataModule(HyperParameters):
    """The base class of data."""
    def __init__(self, root=None, num_workers=0):
        self.save_hyperparameters()

    def get_dataloader(self, train):
        raise NotImplementedError

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)


class TrainerBase(HyperParameters):
    """What every framework's `Trainer` shares: the argument check, the
    device choice, the data, taking on a model, and the epoch loop.

    A framework's `Trainer` provides the public `prepare_batch(batch)`,
    `fit_epoch()` and `validate(model)`, and the hooks `_cpu`, `_gpu`,
    `_num_gpus` and `_new_model` below; `_device_scope` and
    `_configure_optimizers` have defaults that suit most frameworks.
    """
    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        check_positive('max_epochs', max_epochs)
        self.save_hyperparameters()
        # One GPU at most: in this chapter each trial gets a GPU of its own.
        use_gpu = bool(num_gpus) and self._num_gpus() > 0
        if num_gpus and not use_gpu:
            notice_no_gpu()
        self.device = self._gpu() if use_gpu else self._cpu()
        self.model = None

    @staticmethod
    def _cpu():
        """The CPU device: the framework's cpu()."""
        raise NotImplementedError

    @staticmethod
    def _gpu():
        """The first GPU device: the framework's gpu()."""
        raise NotImplementedError

    @staticmethod
    def _num_gpus():
        """The number of GPUs this process sees: the framework's num_gpus()."""
        raise NotImplementedError

    def _new_model(self, model):
        """Return `model`, which this trainer has not trained yet, ready for
        `self.device`, and drop what was kept for the previous model."""
        raise NotImplementedError

    def _device_scope(self):
        """The context that fit() runs in; frameworks that place operations
        by scope (TensorFlow) return one for `self.device`."""
        return contextlib.nullcontext()

    def _configure_optimizers(self, model):
        """The optimizer of `model`, for a framework to complete."""
        return model.configure_optimizers()

    def prepare_data(self, data):
        self.train_dataloader = data.train_dataloader()
        self.val_dataloader = data.val_dataloader()
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader)

    def prepare_model(self, model):
        """Take on `model`; new models get a new optimizer."""
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        if model is not self.model:
            # A second fit() of the same model keeps its optimizer and
            # counters, so that training continues where the first stopped.
            self.model = self._new_model(model)
            self.optim = None
            self.epoch = self.train_batch_idx = self.val_batch_idx = 0

    def fit(self, model, data):
        self.prepare_data(data)
        self.prepare_model(model)
        with self._device_scope():
            if self.optim is None:
                batch = next(iter(self.train_dataloader))
                model.initialize(self.prepare_batch(batch)[0])
                self.optim = self._configure_optimizers(model)
            for _ in range(self.max_epochs):
                self.fit_epoch()
                self.epoch += 1

    def _check_fitted(self, model):
        """Raise a ValueError unless fit() of this trainer last took `model`;
        validate(model) starts with this check."""
        if self.model is not model:
            raise ValueError('validate(model) needs a model that was passed '
                             'to fit() of this trainer first')

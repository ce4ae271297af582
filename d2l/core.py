"""Framework-neutral helpers: hyperparameters, argument checks, plotting,
and the parts of `DataModule` and `Trainer` that no framework changes."""
import contextlib
import importlib
import inspect
import os
import re
import sys
import tempfile
import time

from d2l import checkpoint as _checkpoint

__all__ = ['DataModule', 'HyperParameters', 'ProgressBoard', 'TrainerBase',
           'add_to_class', 'check_positive', 'plot',
           'seconds_since_process_start', 'set_axes', 'set_figsize',
           'use_svg_display']


def __getattr__(name):
    """`d2l.plt` and the public names of `d2l.hpo`, imported on first use.

    A trial process imports d2l but never plots or schedules: matplotlib
    takes half a second to import, and `d2l.hpo` imports Syne Tune, which
    imports Ray Tune (one to two seconds together).

    The framework modules and `d2l.hpo` import this function, so that
    `d2l.plt`, `d2l.AsyncSuccessiveHalving` and the like work on them too,
    as if the framework modules imported all of `d2l.hpo`.
    """
    if name == 'plt':
        from matplotlib import pyplot
        return pyplot
    if not name.startswith('_'):
        # The module's dictionary, not getattr(), which would come back
        # here for a name that d2l.hpo lacks.
        hpo = vars(importlib.import_module('d2l.hpo'))
        if name in hpo:
            return hpo[name]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


@contextlib.contextmanager
def native_notices_dropped(pattern):
    """Inside the block, drop the lines matching the regular expression
    `pattern` that native code writes to file descriptor 2 (standard
    error); other lines pass on to `sys.stderr` at the end of the block.

    A framework's C++ start-up notices bypass Python's `sys.stderr`, and
    some of them are logged before any setting that silences them is read.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors='replace').splitlines(True)
            sys.stderr.write(''.join(
                line for line in lines if not re.search(pattern, line)))


def add_to_class(Class):
    """Register the decorated function as a method of `Class`."""
    def wrapper(obj):
        setattr(Class, obj.__name__, obj)
        return obj
    return wrapper


def check_positive(name, value):
    """Raise a ValueError that names `name` unless `value` is positive."""
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f'{name} must be positive, got {value!r}')


def seconds_since_process_start():
    """Seconds since the operating system started this process."""
    try:
        # Linux counts both times from boot, to a hundredth of a second;
        # field 22 of /proc/self/stat, after the command name in
        # parentheses, is the start in clock ticks.
        with open('/proc/self/stat') as f:
            ticks = int(f.read().rsplit(')', 1)[1].split()[19])
        return (time.clock_gettime(time.CLOCK_BOOTTIME)
                - ticks / os.sysconf('SC_CLK_TCK'))
    except (OSError, AttributeError):
        # Elsewhere, psutil's start time counts from a boot time that some
        # systems round to whole seconds.
        import psutil
        return time.time() - psutil.Process().create_time()


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
    from matplotlib_inline import backend_inline
    backend_inline.set_matplotlib_formats('svg')


def set_figsize(figsize=(3.5, 2.5)):
    """Set the figure size for matplotlib."""
    use_svg_display()
    __getattr__('plt').rcParams['figure.figsize'] = figsize


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
        axes = __getattr__('plt').gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        axes.plot(x, y, fmt) if len(x) else axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _in_notebook():
    """Whether this process is a Jupyter kernel, where a plot can be seen."""
    # A kernel has imported IPython already; other processes need not.
    ipython = sys.modules.get('IPython')
    shell = ipython.get_ipython() if ipython else None
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
        """Add the point (x, y) to curve `label`, averaging every_n points.

        `y` may be a scalar array of the framework: it is read only when
        every_n points are averaged, so that a framework that computes
        asynchronously (MXNet, or any on a GPU) need not wait for each
        training step to finish before the next one is queued.
        """
        raw = self._raw.setdefault(label, [])
        raw.append((x, y))
        if len(raw) < every_n:
            return
        xs, ys = zip(*raw)
        self.data.setdefault(label, []).append(
            (xs[-1], sum(float(y) for y in ys) / len(ys)))
        raw.clear()
        if self.display:
            self._redraw()

    def _redraw(self):
        from IPython import display
        use_svg_display()
        plt = __getattr__('plt')
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

    def test_dataloader(self):
        """The held-out test data, for data that has a test split."""
        raise NotImplementedError


class TrainerBase(HyperParameters):
    """What every framework's `Trainer` shares: the argument check, the
    device choice, the data, taking on a model, and the epoch loop.

    A framework's `Trainer` provides the public `prepare_batch(batch)`,
    `fit_epoch()` and `validate(model)`, and the hooks `_cpu`, `_gpu`,
    `_num_gpus` and `_new_model` below, and for checkpoints (whose format
    `d2l.checkpoint` keeps) `_parameters`, `_get_state` and `_set_state`;
    `_device_scope` and `_configure_optimizers` have defaults that suit
    most frameworks.
    """
    def __init__(self, max_epochs, num_gpus=0, gradient_clip_val=0):
        check_positive('max_epochs', max_epochs)
        self.save_hyperparameters()
        # One GPU at most: in this chapter each trial gets a GPU of its own.
        # Without one, the CPU trains, as d2l's try_gpu() falls back; the
        # budget's printout (num_gpus) says which.
        use_gpu = bool(num_gpus) and self._num_gpus() > 0
        self.device = self._gpu() if use_gpu else self._cpu()
        self.model = self.optim = None
        self.epoch = self.train_batch_idx = self.val_batch_idx = 0

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

    @contextlib.contextmanager
    def _set_up(self, model, data, shapes_only=False):
        """Take on `data` and `model`, and run the block in the device
        scope; a model new to this trainer is initialized first (only the
        shapes of its parameters, with `shapes_only`). Yields whether the
        model was new."""
        self.prepare_data(data)
        self.prepare_model(model)
        with self._device_scope():
            new = self.optim is None
            if new:
                self._initialize(model, shapes_only=shapes_only)
            yield new

    def fit(self, model, data):
        with self._set_up(model, data):
            for _ in range(self.max_epochs):
                self.fit_epoch()
                self.epoch += 1

    def _initialize(self, model, shapes_only=False):
        """Initialize, from a first batch, the parameters of a model new to
        this trainer, and create its optimizer; with `shapes_only`, a
        checkpoint is about to overwrite the parameters' values."""
        batch = next(iter(self.train_dataloader))
        model.initialize(self.prepare_batch(batch)[0], shapes_only=shapes_only)
        self.optim = self._configure_optimizers(model)

    def save_checkpoint(self, path):
        """Write the parameters of the model last trained, the optimizer's
        state and the number of epochs trained to `path` (a file; None:
        nothing is saved)."""
        if path is not None:
            _checkpoint.save(self, path)

    def load_checkpoint(self, path, model, data):
        """Continue from the checkpoint at `path`: restore the parameters of
        `model`, the optimizer's state and the epoch counter, so that the
        next fit() goes on from there. Returns whether a checkpoint was
        restored; without a file (or with None), nothing changes and
        training starts from scratch."""
        saved = _checkpoint.read(self, path, model)
        if saved is None:
            return False
        # Values drawn at random would be overwritten at once.
        with self._set_up(model, data, shapes_only=True) as new:
            try:
                self.epoch = _checkpoint.restore(self, path, *saved)
            except _checkpoint.CheckpointError:
                if new:  # The next fit() initializes the model properly.
                    self.optim = None
                raise
        self.train_batch_idx = self.epoch * self.num_train_batches
        return True

    def _parameters(self):
        """The parameters of the model being trained by name, as arrays of
        the framework (which need not be copied to learn their shapes)."""
        raise NotImplementedError

    def _get_state(self):
        """(parameters, optimizer arrays, optimizer metadata) of the model
        being trained: dicts of numpy arrays, and something JSON-able."""
        raise NotImplementedError

    def _set_state(self, params, optim, optim_meta):
        """Load what `_get_state` returned into the model and optimizer."""
        raise NotImplementedError

    def _check_fitted(self, model):
        """Raise a ValueError unless fit() of this trainer last took `model`;
        validate(model) starts with this check."""
        if self.model is not model:
            raise ValueError('validate(model) needs a model that was passed '
                             'to fit() of this trainer first')

"""The chapter's library for MXNet: ``from d2l import mxnet as d2l``."""
import sys
import warnings

import numpy as _onp
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from d2l import core as _core
from d2l import data as _data
from d2l.core import (DataModule, HyperParameters, ProgressBoard,
                      TrainerBase, __getattr__, add_to_class, check_positive,
                      plot, set_axes, set_figsize, use_svg_display)
from d2l.resources import *  # noqa: F401,F403
# The saved code refers to the library as `d2l`, as the sections do.
d2l = sys.modules[__name__]
# The names of d2l.hpo (the sections' saved code, which needs Syne Tune)
# come from __getattr__ above, on first use.

npx.set_np()


def cpu():
    """The CPU device."""
    return npx.cpu()


def gpu(i=0):
    """The i-th GPU device."""
    return npx.gpu(i)


def num_gpus():
    """The number of GPUs this process sees."""
    return npx.num_gpus()


def try_gpu(i=0):
    """The i-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def hpo_budget(name=None):
    """The chapter's compute budget: 'full' with a GPU, else 'cpu'."""
    return choose_budget(name, num_gpus())


class Module(nn.Block, HyperParameters):
    """The base class of models."""
    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        return self.net(X)

    def initialize(self, X, shapes_only=False):
        """Prepare the parameters, given a first batch of inputs `X`.

        Parameters that are already initialized keep their values; the
        others get Gluon's default initialization on the device of `X`.
        With `shapes_only`, only their shapes matter: a checkpoint is about
        to overwrite their values. Models that draw values of their own
        then skip that.
        """
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='.*already initialized')
            super().initialize(ctx=X.ctx)
        self(X[:1])

    def plot(self, key, value, train):
        """Record a point on the progress board, in epochs."""
        self.board.xlabel = 'epoch'
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
            n = self.trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = self.trainer.epoch + 1
            n = self.trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, value,
                        ('train_' if train else 'val_') + key,
                        every_n=max(int(n), 1))

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1]), batch[-1])
        self.plot('loss', l, train=False)

    def configure_optimizers(self):
        return gluon.Trainer(self.collect_params(), 'sgd',
                             {'learning_rate': self.lr})


class Classifier(Module):
    """The base class of classification models."""
    def loss(self, Y_hat, Y, averaged=True):
        l = -npx.pick(npx.log_softmax(Y_hat, axis=1), Y.astype('int32'),
                      axis=1)
        return l.mean() if averaged else l

    def error(self, Y_hat, Y, averaged=True):
        """The fraction (or, if not averaged, the 0/1 mask) of mistakes."""
        # MXNet refuses to compare int64 (argmax) with float32: cast both.
        wrong = (Y_hat.argmax(axis=1).astype('int32')
                 != Y.astype('int32')).astype('float32')
        return wrong.mean() if averaged else wrong

    def validation_step(self, batch):
        """Plot loss and error on a batch; return its number of mistakes."""
        Y_hat = self(*batch[:-1])
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        wrong = self.error(Y_hat, batch[-1], averaged=False)
        self.plot('error', wrong.mean(), train=False)
        return wrong.sum()


class Trainer(TrainerBase):
    """Train a model on data with minibatch SGD."""
    # The device functions above, for TrainerBase to choose the device.
    _cpu, _gpu, _num_gpus = map(staticmethod, (cpu, gpu, num_gpus))

    def _new_model(self, model):
        _move_parameters(model, self.device)
        return model

    def prepare_batch(self, batch):
        return [a.as_in_ctx(self.device) for a in batch]

    def fit_epoch(self):
        for batch in self.train_dataloader:
            # Recording turns on training mode (dropout) as well.
            with autograd.record():
                loss = self.model.training_step(self.prepare_batch(batch))
            loss.backward()  # Gluon overwrites the gradients: no zeroing.
            if self.gradient_clip_val > 0:
                _clip_gradients(self.model, self.gradient_clip_val)
            self.optim.step(1)  # The loss is already a mean over the batch.
            self.train_batch_idx += 1
        if self.model.board.display:
            # Only a visible board needs per-epoch validation curves.
            self.validate(self.model)

    def _parameters(self):
        return {k: p.data() for k, p in
                self.model._collect_params_with_prefix().items()}

    def _get_state(self):
        params = {k: v.asnumpy() for k, v in self._parameters().items()}
        updater = self.optim._updaters[0]
        # Per-parameter state (momentum, ...) as arrays named index[/j].
        arrays = {}
        for i, state in updater.states.items():
            for j, a in enumerate(state if isinstance(state, (list, tuple))
                                  else [state]):
                if a is not None:
                    arrays[f'{i}/{j}'] = a.asnumpy()
        optimizer = self.optim._optimizer
        return params, arrays, dict(
            lr=self.optim.learning_rate, num_update=optimizer.num_update,
            index_update_count=optimizer._index_update_count,
            structure={i: isinstance(s, (list, tuple))
                       for i, s in updater.states.items()})

    def _set_state(self, params, optim, optim_meta):
        named = self.model._collect_params_with_prefix()
        for k, v in params.items():
            named[k].set_data(np.array(v, ctx=self.device))
        self.optim.set_learning_rate(optim_meta['lr'])
        optimizer = self.optim._optimizer
        optimizer.num_update = optim_meta['num_update']
        optimizer._index_update_count = {
            int(i): n for i, n in optim_meta['index_update_count'].items()}
        updater = self.optim._updaters[0]
        for i, is_tuple in optim_meta['structure'].items():
            parts = sorted((int(k.split('/')[1]), v) for k, v in optim.items()
                           if k.split('/')[0] == i)
            arrays = [np.array(v, ctx=self.device) for _, v in parts]
            updater.states[int(i)] = tuple(arrays) if is_tuple else (
                arrays[0] if arrays else None)
            updater.states_synced[int(i)] = True

    def validate(self, model, dataloader=None):
        """The fraction of misclassified examples (a scalar) of
        `dataloader`, by default the validation data."""
        self._check_fitted(model)
        if dataloader is None:
            dataloader = self.val_dataloader
        # Outside autograd.record() Gluon predicts: dropout is off.
        wrong, n = np.zeros((), ctx=self.device), 0
        for batch in dataloader:
            wrong += model.validation_step(self.prepare_batch(batch))
            n += len(batch[-1])
            self.val_batch_idx += 1
        return wrong / n


def _move_parameters(model, device):
    """Put the model's initialized parameters on `device`."""
    for param in model.collect_params().values():
        try:
            param.reset_ctx(device)
        except ValueError:
            pass  # Not initialized yet: initialize(X) puts it on X's device.


def _clip_gradients(model, max_norm):
    """Rescale all gradients together to a global 2-norm of at most
    `max_norm`, as torch.nn.utils.clip_grad_norm_ does."""
    grads = [p.grad() for p in model.collect_params().values()
             if p.grad_req != 'null']
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    scale = min(max_norm / (norm.item() + 1e-6), 1.0)
    if scale < 1:
        for g in grads:
            g *= scale


class AlexNet(Classifier):
    """AlexNet for 1-channel images :cite:`krizhevsky2012imagenet`.

    Inputs must be at least `min_size` pixels high and wide: smaller ones
    shrink to nothing before the dense layers.
    """
    min_size = 65

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        check_positive('lr', lr)
        self.save_hyperparameters()
        self.net = nn.HybridSequential()
        self.net.add(
            nn.Conv2D(96, kernel_size=11, strides=4, padding=1,
                      activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(256, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(256, kernel_size=3, padding=1, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(num_classes))
        # One compiled graph instead of a Python call per layer; the size
        # check in forward() stays in Python, before the graph runs.
        self.net.hybridize(static_alloc=True)
        # Deferred initialization, as the other frameworks' lazy layers do:
        # a new model answers a forward call; fit() initializes it anew.
        nn.Block.initialize(self, self._init)

    # He initialization: normal weights with standard deviation
    # sqrt(2 / fan_in); the biases keep their own zero initializer.
    _init = init.MSRAPrelu(factor_type='in', slope=0)

    def forward(self, X):
        _data.check_image_size(X.shape[-2:], self.min_size)
        return self.net(X)

    def initialize(self, X, shapes_only=False):
        """Infer the deferred shapes from `X`, then apply He initialization,
        or zeros if `shapes_only` (a checkpoint is about to overwrite them).

        He initialization :cite:`he2015delving` suits the ReLUs and lets
        the network learn from the first epoch at the small CPU budget.
        """
        # Zeros cost no random numbers.
        nn.Block.initialize(self, init.Zero() if shapes_only else self._init,
                            ctx=X.ctx, force_reinit=True)
        self(X[:1])


class FashionMNIST(_data.FashionMNISTBase):
    """The Fashion-MNIST dataset :cite:`xiao2017fashion`."""
    def transform(self, X, y):
        """Scale, resize and standardize a batch of uint8 images."""
        X = X.astype('float32') / 255
        if tuple(X.shape[-2:]) != self.resize:
            # Bilinear with half-pixel centers (OpenCV), on NHWC; its size
            # is (width, height).
            X = npx.image.resize(np.expand_dims(X, 3),
                                 size=self.resize[::-1])
        # With one channel, NHWC and NCHW differ only in shape.
        X = X.reshape(X.shape[0], 1, *self.resize)
        return (X - _data.MEAN) / _data.STD, y.astype('int32')

    def _loader(self, images, labels, shuffle):
        # Batches of numpy examples become one MXNet array each.
        dataset = gluon.data.ArrayDataset(_onp.array(images),
                                          _onp.array(labels))
        return _data.TransformedLoader(gluon.data.DataLoader(
            dataset, self.batch_size, shuffle=shuffle,
            num_workers=self.num_workers), self.transform)


#################   WARNING   ################
# The part below is generated by tools/build_lib.py from the `#@save` blocks in the
# `#@tab mxnet` code cells of the chapter's sections, in toctree order. Do not edit it
# here: edit the section and run `make lib` (or `python tools/build_lib.py`).


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def alexnet_epochs(learning_rate, batch_size, max_epochs, seed=None):
    """Train AlexNet; after each epoch, yield the validation error."""
    import numpy
    from mxnet import npx
    from d2l import mxnet as d2l
    if seed is not None:  # Gluon shuffles the data with NumPy.
        npx.random.seed(seed)
        numpy.random.seed(seed)
    model = d2l.AlexNet(lr=learning_rate)
    model.board.display = False  # No live plot for every trial.
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size, **d2l.hpo_budget().data_args())
    for epoch in range(1, max_epochs + 1):
        trainer.fit(model=model, data=data)  # One more epoch.
        yield {'epoch': epoch,
               'validation_error': float(trainer.validate(model))}


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def train_alexnet(learning_rate, batch_size, max_epochs, seed=None):
    """The validation error of AlexNet after `max_epochs` epochs."""
    d2l.check_positive('max_epochs', max_epochs)
    for report in alexnet_epochs(learning_rate, batch_size, max_epochs,
                                 seed):
        pass
    return report['validation_error']


# Saved from chapter_hyperparameter_optimization/rs-async.md
def objective(learning_rate, batch_size, max_epochs):
    """Train AlexNet one epoch at a time; after each epoch, save a
    checkpoint and report the validation error to Syne Tune."""
    from d2l import mxnet as d2l
    from syne_tune import Reporter
    budget = d2l.hpo_budget()
    model = d2l.AlexNet(lr=learning_rate)
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size=batch_size, **budget.data_args())
    checkpoint = d2l.trial_checkpoint()
    trainer.load_checkpoint(checkpoint, model, data)
    report, startup = Reporter(), d2l.seconds_since_process_start()
    while trainer.epoch < max_epochs:
        trainer.fit(model=model, data=data)
        validation_error = float(trainer.validate(model))
        trainer.save_checkpoint(checkpoint)
        report(epoch=trainer.epoch, startup=startup,
               validation_error=validation_error)


# Saved from chapter_hyperparameter_optimization/cluster.md
def objective_ray(config):
    """The chapter's objective for Ray Tune: a trial that Ray restarts
    continues from the last checkpoint that it reported."""
    import ray
    from mxnet import npx
    from d2l import mxnet as d2l
    npx.set_np()  # Ray runs a trial in a thread; NumPy mode is per thread
    budget = d2l.hpo_budget()
    model = d2l.AlexNet(lr=config['learning_rate'])
    trainer = d2l.Trainer(max_epochs=1, num_gpus=1)
    data = d2l.FashionMNIST(batch_size=config['batch_size'],
                            **budget.data_args())
    d2l.ray_restore(trainer, model, data)
    node = ray.get_runtime_context().get_node_id()[:8]
    while trainer.epoch < config['max_epochs']:
        trainer.fit(model=model, data=data)
        d2l.ray_report(trainer, epoch=trainer.epoch, node=node,
                       validation_error=float(trainer.validate(model)))

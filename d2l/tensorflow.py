"""The chapter's library for TensorFlow: ``from d2l import tensorflow as d2l``.

It offers the same names and signatures as ``d2l.torch``. Models are Keras 3
models; the Trainer compiles each training and validation step with
`tf.function`, so that a step runs as one graph rather than op by op.
"""
import sys
import numpy as np

from d2l import core as _core

# TensorFlow's informational notices at start-up (oneDNN, CPU instruction
# sets), logged from C++ before TF_CPP_MIN_LOG_LEVEL is read; its warnings
# and errors still show.
with _core.native_notices_dropped(
        r'^I\d{4} |^WARNING: All log messages before absl::InitializeLog|'
        r'^To enable the following instructions'):
    import tensorflow as tf

from d2l import data as _data
from d2l.core import (DataModule, HyperParameters, ProgressBoard,
                      TrainerBase, __getattr__, add_to_class, check_positive,
                      plot, set_axes, set_figsize, use_svg_display)
from d2l.resources import *  # noqa: F401,F403
# The saved code refers to the library as `d2l`, as the sections do.
d2l = sys.modules[__name__]
# The names of d2l.hpo (the sections' saved code, which needs Syne Tune)
# come from __getattr__ above, on first use.


def cpu():
    """The CPU device (a `tf.device` scope)."""
    return tf.device('/CPU:0')


def gpu(i=0):
    """The i-th GPU device (a `tf.device` scope)."""
    return tf.device(f'/GPU:{i}')


def num_gpus():
    """The number of GPUs this process sees."""
    return len(tf.config.list_physical_devices('GPU'))


def try_gpu(i=0):
    """The i-th GPU if it exists, else the CPU."""
    return gpu(i) if num_gpus() >= i + 1 else cpu()


def hpo_budget(name=None):
    """The chapter's compute budget: 'full' with a GPU, else 'cpu'."""
    return choose_budget(name, num_gpus())


class Module(tf.keras.Model, HyperParameters):
    """The base class of models."""
    def __init__(self, plot_train_per_epoch=2, plot_valid_per_epoch=1):
        super().__init__()
        # Keras' Model.__init__ sets `self.loss = None` (for compile()),
        # which would hide the loss method below.
        del self.loss
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError

    def forward(self, X):
        return self.net(X)

    def call(self, X, training=None):
        # Keras passes `training` on to the layers that self.net calls.
        return self.forward(X)

    def initialize(self, X, shapes_only=False):
        """Prepare the parameters, given a first batch of inputs `X`.

        With `shapes_only`, only their shapes matter: a checkpoint is about
        to overwrite their values. Models that draw values of their own
        then skip that.
        """
        self(X[:1])

    def plot(self, key, value, train):
        """Record a point on the progress board, in epochs.

        Inside a `tf.function` (the Trainer's compiled steps) the point is
        recorded when the step runs, not when it is traced.
        """
        self.board.xlabel = 'epoch'
        label = ('train_' if train else 'val_') + key

        def draw(value):
            if train:
                x = (self.trainer.train_batch_idx
                     / self.trainer.num_train_batches)
                n = self.trainer.num_train_batches / self.plot_train_per_epoch
            else:
                x = self.trainer.epoch + 1
                n = self.trainer.num_val_batches / self.plot_valid_per_epoch
            self.board.draw(x, float(value), label, every_n=max(int(n), 1))

        if tf.executing_eagerly():
            draw(value)
        else:
            tf.py_function(draw, [value], Tout=[])

    def training_step(self, batch):
        l = self.loss(self(*batch[:-1], training=True), batch[-1])
        self.plot('loss', l, train=True)
        return l

    def validation_step(self, batch):
        l = self.loss(self(*batch[:-1], training=False), batch[-1])
        self.plot('loss', l, train=False)

    def configure_optimizers(self):
        return tf.keras.optimizers.SGD(learning_rate=self.lr)


class Classifier(Module):
    """The base class of classification models."""
    def loss(self, Y_hat, Y, averaged=True):
        l = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(Y, tf.int64), logits=Y_hat)
        return tf.reduce_mean(l) if averaged else l

    def error(self, Y_hat, Y, averaged=True):
        """The fraction (or, if not averaged, the 0/1 mask) of mistakes."""
        wrong = tf.cast(tf.argmax(Y_hat, axis=1) != tf.cast(Y, tf.int64),
                        tf.float32)
        return tf.reduce_mean(wrong) if averaged else wrong

    def validation_step(self, batch):
        """Plot loss and error on a batch; return its number of mistakes."""
        Y_hat = self(*batch[:-1], training=False)
        self.plot('loss', self.loss(Y_hat, batch[-1]), train=False)
        wrong = self.error(Y_hat, batch[-1], averaged=False)
        self.plot('error', tf.reduce_mean(wrong), train=False)
        return tf.reduce_sum(wrong)


class Trainer(TrainerBase):
    """Train a model on data with minibatch SGD."""
    # The device functions above, for TrainerBase to choose the device.
    _cpu, _gpu, _num_gpus = map(staticmethod, (cpu, gpu, num_gpus))

    def _new_model(self, model):
        self._steps = {}  # Compiled steps belong to the previous model.
        return model

    def _device_scope(self):
        return self.device

    def _configure_optimizers(self, model):
        optim = model.configure_optimizers()
        # Create the optimizer's variables now, not while tracing.
        optim.build(model.trainable_variables)
        return optim

    def prepare_batch(self, batch):
        return batch

    def fit_epoch(self):
        step = self._compiled(self.model.training_step, self.train_dataloader,
                              self._train_step)
        with self.device:
            for batch in self.train_dataloader:
                step(self.prepare_batch(batch))
                self.train_batch_idx += 1
        if self.model.board.display:
            # Only a visible board needs per-epoch validation curves.
            self.validate(self.model)

    def _train_step(self, batch):
        with tf.GradientTape() as tape:
            loss = self.model.training_step(batch)
        params = self.model.trainable_variables
        grads = tape.gradient(loss, params)
        if self.gradient_clip_val > 0:
            grads, _ = tf.clip_by_global_norm(grads, self.gradient_clip_val)
        self.optim.apply_gradients(zip(grads, params))
        return loss

    def _compiled(self, method, loader, fn=None):
        """`fn` (default: `method`) as a tf.function, traced once per fit.

        The input signature comes from the data loader, so that the smaller
        last batch does not cause a second trace. The cache is keyed by the
        step method, so that replacing a model's training_step takes effect.
        """
        spec = getattr(loader, 'element_spec', None)
        key = (getattr(method, '__func__', method),
               getattr(method, '__self__', None), spec, fn is None,
               self.gradient_clip_val)
        if key not in self._steps:
            fn = fn or method
            self._steps[key] = (
                tf.function(fn, reduce_retracing=True) if spec is None
                else tf.function(fn, input_signature=[spec]))
        return self._steps[key]

    def _parameters(self):
        # Keras numbers layer names per process, so variables are matched by
        # position; the model's variables include the dropout seed state.
        return {f'{i:03d}': v for i, v in enumerate(self.model.variables)}

    def _get_state(self):
        params = {k: v.numpy() for k, v in self._parameters().items()}
        optim = {f'{i:03d}': v.numpy()
                 for i, v in enumerate(self.optim.variables)}
        return params, optim, None

    def _set_state(self, params, optim, optim_meta):
        for variables, values in ((self.model.variables, params),
                                  (self.optim.variables, optim)):
            if len(variables) != len(values):
                raise ValueError(f'{len(values)} saved variables for '
                                 f'{len(variables)}')
            for v, key in zip(variables, sorted(values, key=int)):
                v.assign(values[key])

    def validate(self, model, dataloader=None):
        """The fraction of misclassified examples (a scalar) of
        `dataloader`, by default the validation data."""
        self._check_fitted(model)
        if dataloader is None:
            dataloader = self.val_dataloader
        step = self._compiled(model.validation_step, dataloader)
        with self.device:
            wrong, n = tf.zeros(()), 0
            for batch in dataloader:
                wrong += step(self.prepare_batch(batch))
                n += int(tf.shape(batch[-1])[0])
                self.val_batch_idx += 1
            return wrong / n


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
        layers = tf.keras.layers
        self.net = tf.keras.Sequential([
            # Keras has no numeric padding: pad 1 pixel, then a 'valid'
            # convolution gives the sizes of PyTorch's padding=1.
            layers.ZeroPadding2D(padding=1),
            layers.Conv2D(96, kernel_size=11, strides=4, activation='relu'),
            layers.MaxPool2D(pool_size=3, strides=2),
            layers.Conv2D(256, kernel_size=5, padding='same',
                          activation='relu'),
            layers.MaxPool2D(pool_size=3, strides=2),
            layers.Conv2D(384, kernel_size=3, padding='same',
                          activation='relu'),
            layers.Conv2D(384, kernel_size=3, padding='same',
                          activation='relu'),
            layers.Conv2D(256, kernel_size=3, padding='same',
                          activation='relu'),
            layers.MaxPool2D(pool_size=3, strides=2), layers.Flatten(),
            layers.Dense(4096, activation='relu'), layers.Dropout(0.5),
            layers.Dense(4096, activation='relu'), layers.Dropout(0.5),
            layers.Dense(num_classes)])

    def forward(self, X):
        # Images are NHWC. Checked in Python, so that the error is raised at
        # once, also while a tf.function traces this (known static sizes).
        size = [s for s in X.shape[1:3] if s is not None]
        if size:
            _data.check_image_size(size, self.min_size)
        return self.net(X)

    def initialize(self, X, shapes_only=False):
        """Create the weights from `X` with He initialization, or with
        zeros if `shapes_only` (a checkpoint is about to overwrite them).

        He initialization :cite:`he2015delving` suits the ReLUs and lets
        the network learn from the first epoch at the small CPU budget.
        """
        # A new initializer per layer: Keras 3 repeats the values of an
        # unseeded initializer object that is called twice. Zeros cost no
        # random numbers.
        init = (tf.keras.initializers.Zeros if shapes_only
                else tf.keras.initializers.HeNormal)
        layers = [layer for layer in self.net.layers if isinstance(
            layer, (tf.keras.layers.Conv2D, tf.keras.layers.Dense))]
        built = self.net.built
        if not built:
            # The weights get their values as the first call creates them,
            # instead of Keras' default values first.
            for layer in layers:
                layer.kernel_initializer = init()
        self(X[:1])
        if built and not shapes_only:
            for layer in layers:
                layer.kernel.assign(init()(layer.kernel.shape))
                layer.bias.assign(tf.zeros(layer.bias.shape))


class FashionMNIST(_data.FashionMNISTBase):
    """The Fashion-MNIST dataset :cite:`xiao2017fashion`.

    Batches are NHWC: images (N, H, W, 1) float32 and labels (N,) int32.
    """
    def transform(self, X, y):
        """Scale, resize and standardize a batch of uint8 images."""
        X = tf.cast(tf.expand_dims(X, -1), tf.float32) / 255
        if tuple(X.shape[1:3]) != self.resize:
            X = tf.image.resize(X, self.resize, method='bilinear')
        return (X - _data.MEAN) / _data.STD, tf.cast(y, tf.int32)

    def _loader(self, images, labels, shuffle):
        dataset = tf.data.Dataset.from_tensor_slices(
            (np.asarray(images), np.asarray(labels)))
        if shuffle:
            dataset = dataset.shuffle(len(labels))
        return dataset.batch(self.batch_size).map(
            self.transform, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
                tf.data.AUTOTUNE)


#################   WARNING   ################
# The part below is generated by tools/build_lib.py from the `#@save` blocks in the
# `#@tab tensorflow` code cells of the chapter's sections, in toctree order. Do not edit it
# here: edit the section and run `make lib` (or `python tools/build_lib.py`).


# Saved from chapter_hyperparameter_optimization/hyperopt-intro.md
def alexnet_epochs(learning_rate, batch_size, max_epochs, seed=None):
    """Train AlexNet; after each epoch, yield the validation error."""
    import tensorflow as tf
    from d2l import tensorflow as d2l
    if seed is not None:  # TensorFlow, Keras, NumPy and `random`.
        tf.keras.utils.set_random_seed(seed)
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
    from d2l import tensorflow as d2l
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
    from d2l import tensorflow as d2l
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

"""Pick the framework installed in this environment and adapt to it.

Each framework has its own virtual environment, so `make test` runs this
suite once per environment; the tests themselves are framework-neutral and
use the few adapters below.
"""
import importlib

import numpy as np
import pytest

from d2l import frameworks

# This environment's framework (d2l/frameworks.py); tests compare FRAMEWORK
# with a module name ('torch'), TAB with a tab name ('pytorch').
HERE = frameworks.installed()
FRAMEWORK, TAB = HERE.module, HERE.tab

# The reader's tests check the built book from .envs/book, which has no framework
# (`make reader-check`); the framework environments skip them.
collect_ignore = ['reader']


def pytest_report_header(config):
    return f'd2l framework: {FRAMEWORK}'


@pytest.fixture(scope='session')
def d2l():
    return importlib.import_module(f'd2l.{FRAMEWORK}')


def to_numpy(x):
    """A framework array as a numpy array."""
    if FRAMEWORK == 'mxnet':
        return x.asnumpy()
    if FRAMEWORK == 'torch':
        return x.detach().cpu().numpy()
    return x.numpy()


def to_nchw(X):
    """A batch of images as numpy (N, C, H, W), whatever the layout."""
    X = to_numpy(X)
    return X.transpose(0, 3, 1, 2) if FRAMEWORK == 'tensorflow' else X


def from_numpy(X):
    """A numpy batch of NCHW images as the framework's input."""
    if FRAMEWORK == 'mxnet':
        from mxnet import np as mnp
        return mnp.array(X)
    if FRAMEWORK == 'torch':
        import torch
        return torch.tensor(X)
    import tensorflow as tf
    return tf.constant(X.transpose(0, 2, 3, 1))


def predict(model, X):
    """Logits of `model` on `X` with dropout off, as numpy."""
    if FRAMEWORK == 'tensorflow':
        return model(X, training=False).numpy()
    if FRAMEWORK == 'torch':
        import torch
        model.eval()
        with torch.no_grad():
            return model(X).numpy()
    return model(X).asnumpy()  # MXNet's dropout is off outside training.


def parameters(model):
    """Copies of the model's parameters as numpy arrays."""
    if FRAMEWORK == 'mxnet':
        return [p.data().asnumpy().copy()
                for p in model.collect_params().values()]
    if FRAMEWORK == 'torch':
        return [p.detach().numpy().copy() for p in model.parameters()]
    import tensorflow as tf
    # The Trainer runs training_step inside a tf.function, where it is
    # traced: read the variables' current values in the eager context.
    with tf.init_scope():
        return [w.numpy().copy() for w in model.weights]


def fit_and_first_parameters(model, trainer, data):
    """Fit, and return the parameters as the first training step of the
    fit found them (after any initialization that fit() does)."""
    seen, step = [], model.training_step

    def spy(batch):
        if not seen:
            seen.append(parameters(model))
        return step(batch)
    model.training_step = spy
    trainer.fit(model, data)
    return seen[0]


def assert_he_initialized(params):
    """Check that `params`, kernels and biases in turn, are as He
    initialization draws them: kernels with mean 0 and standard deviation
    sqrt(2 / fan-in), zero biases."""
    assert len(params) >= 16
    for kernel, bias in zip(params[::2], params[1::2]):
        # The output units: the last axis in Keras, the first elsewhere.
        outputs = kernel.shape[-1 if FRAMEWORK == 'tensorflow' else 0]
        std = np.sqrt(2 * outputs / kernel.size)
        assert abs(kernel.mean()) < 0.05 * std, kernel.shape
        assert kernel.std() == pytest.approx(std, rel=0.03), kernel.shape
        assert not bias.any(), bias.shape


def seed(n):
    np.random.seed(n)
    if FRAMEWORK == 'mxnet':
        from mxnet import npx
        npx.random.seed(n)
    elif FRAMEWORK == 'torch':
        import torch
        torch.manual_seed(n)
    else:
        import tensorflow as tf
        # Also seeds Python's `random`, which Keras draws dropout seeds from.
        tf.keras.utils.set_random_seed(n)

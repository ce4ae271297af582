"""AlexNet and the Trainer on real Fashion-MNIST examples."""
import numpy as np
import pytest

from conftest import (FRAMEWORK, assert_he_initialized,
                      fit_and_first_parameters, from_numpy, parameters,
                      predict, seed, to_numpy)


def test_alexnet_output_shape(d2l):
    for size in (224, d2l.AlexNet.min_size):
        model = d2l.AlexNet(lr=0.1)
        X = from_numpy(np.zeros((2, 1, size, size), np.float32))
        model.initialize(X)
        assert tuple(predict(model, X).shape) == (2, 10)


def test_alexnet_initialization_is_he(d2l):
    seed(0)
    model = d2l.AlexNet(lr=0.1)
    X = from_numpy(np.zeros((2, 1, 65, 65), np.float32))
    model.initialize(X)
    first = parameters(model)
    assert_he_initialized(first)
    model.initialize(X)  # Again: new values from the same distribution.
    assert_he_initialized(parameters(model))
    assert not np.array_equal(parameters(model)[0], first[0])


def test_alexnet_rejects_small_images(d2l):
    small = d2l.AlexNet.min_size - 1
    X = from_numpy(np.zeros((2, 1, small, small), np.float32))
    with pytest.raises(ValueError, match=str(d2l.AlexNet.min_size)):
        d2l.AlexNet(lr=0.1).initialize(X)


@pytest.mark.parametrize('make, name', [
    (lambda d2l: d2l.AlexNet(lr=0), 'lr'),
    (lambda d2l: d2l.AlexNet(lr=-0.1), 'lr'),
    (lambda d2l: d2l.Trainer(max_epochs=0), 'max_epochs')])
def test_bad_arguments(d2l, make, name):
    with pytest.raises(ValueError, match=name):
        make(d2l)


@pytest.fixture(scope='module')
def trained(d2l):
    """AlexNet trained for one epoch on 512 real training examples."""
    seed(0)
    data = d2l.FashionMNIST(batch_size=32, resize=(65, 65), num_train=512,
                            num_val=256)
    model = d2l.AlexNet(lr=0.01)
    trainer = d2l.Trainer(max_epochs=1)
    X, _ = next(iter(data.train_dataloader()))
    model.initialize(X)
    before = error_and_loss(model, data)
    trainer.fit(model, data)
    return data, model, trainer, before


def error_and_loss(model, data):
    """Validation error and loss computed here, without the Trainer."""
    wrong, losses, n = 0, [], 0
    for X, y in data.val_dataloader():
        logits = predict(model, X)
        y = to_numpy(y).astype(int)
        wrong += int((logits.argmax(axis=1) != y).sum())
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        losses.extend(-log_p[np.arange(len(y)), y])
        n += len(y)
    return wrong / n, float(np.mean(losses))


def test_training_lowers_the_loss(trained):
    data, model, _, (_, loss_before) = trained
    _, loss_after = error_and_loss(model, data)
    assert loss_after < loss_before - 0.2


def test_validate_equals_an_independent_error(trained):
    data, model, trainer, _ = trained
    error, _ = error_and_loss(model, data)
    assert float(trainer.validate(model=model)) == pytest.approx(
        error, abs=1e-6)
    assert 0 <= error < 0.9  # Learned something beyond chance (0.9).


def test_second_fit_continues_from_the_first(d2l):
    data = d2l.FashionMNIST(batch_size=64, resize=(65, 65), num_train=128,
                            num_val=64)
    model = d2l.AlexNet(lr=0.01)
    trainer = d2l.Trainer(max_epochs=1)
    trainer.fit(model, data)
    after_first = parameters(model)
    start_of_second = fit_and_first_parameters(model, trainer, data)
    assert len(start_of_second) == len(after_first)
    for start, end in zip(start_of_second, after_first):
        assert np.array_equal(start, end)
    assert not all(np.array_equal(a, b)
                   for a, b in zip(parameters(model), after_first))


def test_missing_gpu_falls_back_to_the_cpu_quietly(d2l, capsys):
    """Asked for a GPU on a machine without one, the trainer takes the CPU
    without a word in the notebook (the budget's num_gpus tells)."""
    if d2l.num_gpus():
        pytest.skip('this machine has a GPU')
    d2l.Trainer(max_epochs=1, num_gpus=1)
    assert capsys.readouterr() == ('', '')


@pytest.mark.skipif(FRAMEWORK != 'torch', reason="PyTorch's optimizer")
def test_sgd_makes_the_update_of_torch_optim(d2l):
    import copy
    import torch
    seed(0)
    data = d2l.FashionMNIST(batch_size=32, resize=(65, 65), num_train=64,
                            num_val=32)
    X, y = next(iter(data.train_dataloader()))
    model = d2l.AlexNet(lr=0.05)
    model.initialize(X)
    model.eval()  # No dropout: both models compute the same gradients.
    twin = copy.deepcopy(model)
    for net, optim in ((model, model.configure_optimizers()),
                       (twin, torch.optim.SGD(twin.parameters(), lr=0.05))):
        for _ in range(2):
            optim.zero_grad()
            net.loss(net(X), y).backward()
            optim.step()
    for ours, torchs in zip(parameters(model), parameters(twin)):
        np.testing.assert_array_equal(ours, torchs)
    assert not np.array_equal(parameters(model)[0], to_numpy(
        d2l.AlexNet(lr=0.05).net[0].weight))


@pytest.mark.skipif(FRAMEWORK != 'torch', reason="PyTorch's optimizer")
def test_training_imports_no_compiler():
    """torch.optim imports torch._dynamo (about a second), which training
    with the Trainer does not need."""
    import subprocess
    import sys
    code = ('import sys\nfrom d2l import torch as d2l\n'
            'data = d2l.FashionMNIST(batch_size=32, resize=(65, 65), '
            'num_train=64, num_val=32)\n'
            'd2l.Trainer(max_epochs=1).fit(d2l.AlexNet(lr=0.01), data)\n'
            'print("torch._dynamo" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         capture_output=True, text=True).stdout
    assert out == 'False\n'

"""Checkpoints: a trial that resumes in a new process trains on as if it
had never stopped."""
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from d2l import core
from d2l.checkpoint import (ST_CHECKPOINT_DIR, CheckpointError,
                            read_checkpoint, trial_checkpoint,
                            write_checkpoint)
from conftest import (FRAMEWORK, assert_he_initialized,
                      fit_and_first_parameters, from_numpy, predict, seed)

# Equal up to the float round-off of each framework's CPU kernels.
TOLERANCE = dict(rtol=1e-5, atol=1e-6)

# One worker of the test: trains AlexNet on 256 real images, one epoch per
# call, seeded before each epoch so that two runs see the same batches and
# dropout masks; restores from and saves to the given checkpoint files.
WORKER = '''
import sys
import numpy as np
sys.path.insert(0, {tests!r})
from conftest import seed
from d2l import {module} as d2l

def run(restore, epochs, save):
    seed(0)
    model = d2l.AlexNet(lr=0.02)
    model.board.display = False
    trainer = d2l.Trainer(max_epochs=1)
    data = d2l.FashionMNIST(batch_size=32, resize=(65, 65), num_train=256,
                            num_val=64)
    trainer.load_checkpoint(restore, model, data)
    while trainer.epoch < epochs:
        seed(trainer.epoch + 1)
        trainer.fit(model, data)
    trainer.save_checkpoint(save)

run(*[None if a == '-' else a for a in sys.argv[1:2]], int(sys.argv[2]),
    sys.argv[3])
'''


def run_worker(restore, epochs, save):
    """Run WORKER in a new Python process."""
    code = WORKER.format(tests=str(pathlib.Path(__file__).parent),
                         module=FRAMEWORK)
    subprocess.run([sys.executable, '-c', code, str(restore or '-'),
                    str(epochs), str(save)], check=True)


def saved_params(path):
    arrays, meta = read_checkpoint(path)
    return meta, {k: v for k, v in arrays.items() if k.startswith('param/')}


def test_resumed_training_ends_with_the_same_weights(tmp_path):
    run_worker(None, 2, tmp_path / 'straight.npz')
    run_worker(None, 1, tmp_path / 'epoch1.npz')
    run_worker(tmp_path / 'epoch1.npz', 2, tmp_path / 'resumed.npz')
    meta, straight = saved_params(tmp_path / 'straight.npz')
    meta_resumed, resumed = saved_params(tmp_path / 'resumed.npz')
    _, epoch1 = saved_params(tmp_path / 'epoch1.npz')
    assert meta['epoch'] == meta_resumed['epoch'] == 2
    assert straight.keys() == resumed.keys() and len(straight) >= 16
    for key in straight:
        np.testing.assert_allclose(resumed[key], straight[key],
                                   err_msg=key, **TOLERANCE)
    # The second epoch did change the weights.
    assert any(not np.allclose(epoch1[k], straight[k]) for k in straight)


def small_data(d2l):
    return d2l.FashionMNIST(batch_size=32, resize=(65, 65), num_train=128,
                            num_val=64)


def momentum_sgd(model):
    """SGD with momentum: an optimizer with a state per parameter."""
    if FRAMEWORK == 'torch':
        import torch
        return torch.optim.SGD(model.parameters(), lr=model.lr, momentum=0.9)
    if FRAMEWORK == 'mxnet':
        from mxnet import gluon
        return gluon.Trainer(model.collect_params(), 'sgd',
                             {'learning_rate': model.lr, 'momentum': 0.9})
    import tensorflow as tf
    return tf.keras.optimizers.SGD(learning_rate=model.lr, momentum=0.9)


def test_optimizer_state_round_trips(d2l, tmp_path):
    data = small_data(d2l)
    models, trainers = [], []
    for _ in range(2):
        model = d2l.AlexNet(lr=0.01)
        model.configure_optimizers = lambda model=model: momentum_sgd(model)
        models.append(model)
        trainers.append(d2l.Trainer(max_epochs=1))
    trainers[0].fit(models[0], data)
    trainers[0].save_checkpoint(tmp_path / 'c.npz')
    assert trainers[1].load_checkpoint(tmp_path / 'c.npz', models[1], data)
    params, optim, optim_meta = trainers[0]._get_state()
    params1, optim1, optim_meta1 = trainers[1]._get_state()
    # One momentum buffer per trainable parameter, and they are not zero.
    assert len(optim) >= 16 and any(np.abs(v).sum() > 0
                                    for v in optim.values())
    assert optim.keys() == optim1.keys() and optim_meta == optim_meta1
    for key in optim:
        np.testing.assert_array_equal(optim1[key], optim[key])
    for key in params:
        np.testing.assert_array_equal(params1[key], params[key])
    assert trainers[1].epoch == 1
    X = from_numpy(np.random.RandomState(0).rand(4, 1, 65, 65).astype(
        np.float32))
    np.testing.assert_allclose(predict(models[1], X), predict(models[0], X),
                               **TOLERANCE)


def test_missing_checkpoint_starts_from_scratch(d2l, tmp_path):
    model, trainer = d2l.AlexNet(lr=0.01), d2l.Trainer(max_epochs=1)
    data = small_data(d2l)
    assert not trainer.load_checkpoint(tmp_path / 'none.npz', model, data)
    assert not trainer.load_checkpoint(None, model, data)
    trainer.fit(model, data)
    assert trainer.epoch == 1
    trainer.save_checkpoint(None)  # Outside a trial: nothing is written.
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def checkpoint(d2l, tmp_path):
    """A real checkpoint of AlexNet after one epoch."""
    model, trainer = d2l.AlexNet(lr=0.01), d2l.Trainer(max_epochs=1)
    trainer.fit(model, small_data(d2l))
    trainer.save_checkpoint(tmp_path / 'c.npz')
    return tmp_path / 'c.npz'


def load_into_new_model(d2l, path, **kwargs):
    return d2l.Trainer(max_epochs=1).load_checkpoint(
        path, d2l.AlexNet(**kwargs), small_data(d2l))


def test_truncated_checkpoint_is_named(d2l, checkpoint):
    checkpoint.write_bytes(checkpoint.read_bytes()[:100000])
    with pytest.raises(CheckpointError, match=str(checkpoint)):
        load_into_new_model(d2l, checkpoint)


def test_checkpoint_of_another_architecture(d2l, checkpoint):
    with pytest.raises(CheckpointError, match=str(checkpoint)):
        load_into_new_model(d2l, checkpoint, num_classes=5)


def test_fit_after_a_checkpoint_that_does_not_fit_starts_afresh(
        d2l, checkpoint):
    """A restore initializes only the shapes of the parameters; when the
    checkpoint then does not fit, the next fit() initializes them."""
    model, trainer = d2l.AlexNet(lr=0.01), d2l.Trainer(max_epochs=1)
    # Larger images than the checkpoint's: the first dense layer differs.
    data = d2l.FashionMNIST(batch_size=32, resize=(128, 128), num_train=64,
                            num_val=32)
    with pytest.raises(CheckpointError):
        trainer.load_checkpoint(checkpoint, model, data)
    assert_he_initialized(fit_and_first_parameters(model, trainer, data))


def test_checkpoint_of_another_framework(d2l, checkpoint):
    arrays, meta = read_checkpoint(checkpoint)
    meta['library'] = 'd2l.jax'
    write_checkpoint(checkpoint, arrays, meta)
    with pytest.raises(CheckpointError, match='d2l.jax'):
        load_into_new_model(d2l, checkpoint)


def test_writing_is_atomic(checkpoint, monkeypatch):
    before = checkpoint.read_bytes()
    arrays, meta = read_checkpoint(checkpoint)

    def killed(file, **arrays):
        file.write(b'half a checkpoint')
        raise KeyboardInterrupt
    monkeypatch.setattr(np, 'savez', killed)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(checkpoint, arrays, meta)
    # The old checkpoint is intact, and the half-written file is gone.
    assert checkpoint.read_bytes() == before
    assert list(checkpoint.parent.iterdir()) == [checkpoint]


def test_trial_checkpoint_comes_from_the_command_line():
    argv = ['--learning_rate', '0.1', '--st_checkpoint_dir', '/tmp/t/3']
    assert trial_checkpoint(argv) == pathlib.Path(
        '/tmp/t/3/checkpoint.npz')
    assert trial_checkpoint(['--learning_rate', '0.1']) is None


def test_checkpoint_option_is_syne_tunes():
    """d2l spells out the name of Syne Tune's option, since importing
    syne_tune.constants imports all of Syne Tune (d2l/checkpoint.py)."""
    from syne_tune import constants
    assert ST_CHECKPOINT_DIR == constants.ST_CHECKPOINT_DIR


def test_new_model_answers_a_forward_call(d2l):
    seed(0)
    X = from_numpy(np.zeros((2, 1, 65, 65), np.float32))
    assert predict(d2l.AlexNet(), X).shape == (2, 10)


def test_process_start_is_in_the_past():
    assert 0 < core.seconds_since_process_start() < 24 * 3600

"""Fashion-MNIST through d2l: the real files, the framework's pipeline."""
import gzip
import shutil
import subprocess
import sys

import numpy as np
import pytest

from d2l import data
from conftest import FRAMEWORK, to_nchw, to_numpy

LOW, HIGH = (0 - data.MEAN) / data.STD, (1 - data.MEAN) / data.STD


def batches(loader):
    return [(to_nchw(X), to_numpy(y)) for X, y in loader]


def raw(name):
    """All the values of an official IDX file, read without d2l."""
    with gzip.open(data.find_fashion_mnist() / name, 'rb') as f:
        content = f.read()
    # The header holds 4 bytes, then 4 per dimension (3 images, 1 labels).
    return np.frombuffer(content, np.uint8, offset=16 if 'images' in name
                         else 8)


def pixels(X):
    """Standardized NCHW images back in [0, 1], channel dropped."""
    return X[:, 0] * data.STD + data.MEAN


def test_resized_batch(d2l):
    # One batch holds all 64 examples: its pixel range is the same whatever
    # the shuffle (12 of the 64 reach white after resizing).
    fmnist = d2l.FashionMNIST(batch_size=64, resize=(65, 65), num_train=64,
                              num_val=32)
    X, y = next(iter(fmnist.train_dataloader()))
    X = to_nchw(X)
    assert X.shape == (64, 1, 65, 65) and X.dtype == np.float32
    assert to_numpy(y).shape == (64,)
    # Standardized pixels: black and white images reach both ends.
    assert X.min() == pytest.approx(LOW, abs=1e-3)
    assert X.max() == pytest.approx(HIGH, abs=1e-2)
    assert LOW - 1e-3 <= X.min() and X.max() <= HIGH + 1e-3


def test_label_counts_match_the_official_dataset(d2l):
    # The official files are balanced: 6000 training and 1000 test images
    # per class; training and validation split the training file.
    y = np.concatenate([data.read_fashion_mnist(split)[1]
                        for split in ('train', 'val')])
    assert np.bincount(y, minlength=10).tolist() == [6000] * 10
    test = d2l.FashionMNIST(batch_size=1000).test_dataloader()
    labels = np.concatenate([y for _, y in batches(test)])
    assert np.bincount(labels.astype(int), minlength=10).tolist() == (
        [1000] * 10)


def test_validation_is_held_out_of_the_training_file():
    train, val = (data.read_fashion_mnist(s) for s in ('train', 'val'))
    assert train[0].shape == (50000, 28, 28) and train[1].shape == (50000,)
    assert val[0].shape == (10000, 28, 28) and val[1].shape == (10000,)
    # Together, in this order, they are exactly the training file: the
    # first 50000 examples train, the last 10000 validate, none does both.
    images = raw('train-images-idx3-ubyte.gz').reshape(60000, 28, 28)
    labels = raw('train-labels-idx1-ubyte.gz')
    assert np.array_equal(np.concatenate([train[0], val[0]]), images)
    assert np.array_equal(np.concatenate([train[1], val[1]]), labels)


def test_test_split_is_the_official_test_file(d2l):
    images, labels = data.read_fashion_mnist('test')
    assert images.shape == (10000, 28, 28)
    assert np.array_equal(images.reshape(-1),
                          raw('t10k-images-idx3-ubyte.gz'))
    assert np.array_equal(labels, raw('t10k-labels-idx1-ubyte.gz'))
    X, y = next(iter(d2l.FashionMNIST(batch_size=4).test_dataloader()))
    assert np.allclose(pixels(to_nchw(X)), images[:4] / 255, atol=1e-5)
    assert to_numpy(y).tolist() == labels[:4].tolist()


def test_subset_returns_exactly_what_it_says(d2l):
    fmnist = d2l.FashionMNIST(batch_size=32, num_train=100, num_val=50,
                              num_test=40)
    train = batches(fmnist.train_dataloader())
    assert sum(len(y) for _, y in train) == 100
    # Validation and test are not shuffled: the first examples of each.
    for split, loader, num in (('val', fmnist.val_dataloader(), 50),
                               ('test', fmnist.test_dataloader(), 40)):
        images, labels = data.read_fashion_mnist(split)
        X, y = (np.concatenate(a) for a in zip(*batches(loader)))
        assert y.tolist() == labels[:num].tolist(), split
        assert np.allclose(pixels(X), images[:num] / 255, atol=1e-5), split
    # Training is shuffled, but holds the first 100 training examples.
    _, official = data.read_fashion_mnist('train')
    assert sorted(np.concatenate([y for _, y in train]).tolist()) == sorted(
        official[:100].tolist())


@pytest.mark.parametrize('kwargs, name', [
    (dict(batch_size=0), 'batch_size'), (dict(batch_size=-3), 'batch_size'),
    (dict(resize=(0, 65)), 'resize'), (dict(num_train=0), 'num_train'),
    (dict(num_train=50001), 'num_train'), (dict(num_val=0), 'num_val'),
    (dict(num_val=10001), 'num_val'), (dict(num_test=10001), 'num_test'),
    (dict(num_test=2.5), 'num_test')])
def test_bad_arguments(d2l, kwargs, name):
    with pytest.raises(ValueError, match=name):
        d2l.FashionMNIST(**kwargs)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="'train', 'val' or 'test'"):
        data.read_fashion_mnist('validation')


def test_missing_data_says_where_and_how(d2l, tmp_path, monkeypatch):
    # A closed local port stands for a machine that is offline.
    monkeypatch.setattr(data, 'URL', 'http://127.0.0.1:9/')
    with pytest.raises(data.DataError) as err:
        d2l.FashionMNIST(root=tmp_path / 'nothing')
    message = str(err.value)
    assert str(tmp_path / 'nothing') in message
    assert 'apt-get install dataset-fashion-mnist' in message
    assert 'download' in message


def copy_files(folder):
    folder.mkdir()
    for name in data.FILES:
        shutil.copy(data.find_fashion_mnist() / name, folder)
    return folder


def test_truncated_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / 'cache-home'))
    root = copy_files(tmp_path / 'copy')
    path = root / 'train-labels-idx1-ubyte.gz'
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(data.DataError, match='train-labels-idx1-ubyte.gz'):
        data.read_fashion_mnist('train', root=root)


def test_wrong_content_fails_the_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / 'cache-home'))
    root = copy_files(tmp_path / 'copy')
    path = root / 't10k-labels-idx1-ubyte.gz'
    with gzip.open(path, 'rb') as f:
        labels = bytearray(f.read())
    labels[-1] = (labels[-1] + 1) % 10
    with gzip.open(path, 'wb') as f:
        f.write(bytes(labels))
    with pytest.raises(data.DataError, match='checksum'):
        data.read_fashion_mnist('test', root=root)


def test_reads_are_cached(monkeypatch):
    read, read_array = [], data._read_array

    def counted(path):
        read.append(path.name)
        return read_array(path)
    monkeypatch.setattr(data, '_read_array', counted)
    data._read_files.cache_clear()
    first, val, _, again, _, _ = (data.read_fashion_mnist(split) for split
                                  in ('train', 'val', 'test') * 2)
    # Each file is read once per process; its splits are views of it.
    assert sorted(read) == sorted(data.FILES)
    assert first[0].base is val[0].base is again[0].base
    # A new process finds the decoded arrays on disk and does not decode.
    code = ('from d2l import data\n'
            'data._decode = None\n'  # Fails loudly if called.
            'images, labels = data.read_fashion_mnist("train")\n'
            'print(images.shape, int(labels[:100].sum()))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ['(50000,', '28,', '28)',
                           str(int(first[1][:100].sum()))]

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


def test_resized_batch(d2l):
    fmnist = d2l.FashionMNIST(batch_size=16, resize=(65, 65), num_train=64,
                              num_val=32)
    X, y = next(iter(fmnist.train_dataloader()))
    X = to_nchw(X)
    assert X.shape == (16, 1, 65, 65) and X.dtype == np.float32
    assert to_numpy(y).shape == (16,)
    # Standardized pixels: black and white images reach both ends.
    assert X.min() == pytest.approx(LOW, abs=1e-3)
    assert X.max() == pytest.approx(HIGH, abs=1e-2)
    assert LOW - 1e-3 <= X.min() and X.max() <= HIGH + 1e-3


def test_label_counts_match_the_official_dataset(d2l):
    # The official splits are balanced: 6000 and 1000 images per class.
    _, y = data.read_fashion_mnist('train')
    assert np.bincount(y, minlength=10).tolist() == [6000] * 10
    val = d2l.FashionMNIST(batch_size=1000).val_dataloader()
    labels = np.concatenate([y for _, y in batches(val)])
    assert np.bincount(labels.astype(int), minlength=10).tolist() == (
        [1000] * 10)


def test_subset_returns_exactly_what_it_says(d2l):
    fmnist = d2l.FashionMNIST(batch_size=32, num_train=100, num_val=50)
    train = batches(fmnist.train_dataloader())
    val = batches(fmnist.val_dataloader())
    assert sum(len(y) for _, y in train) == 100
    assert sum(len(y) for _, y in val) == 50
    _, official = data.read_fashion_mnist('val')
    # Validation is not shuffled: the first 50 official test examples.
    assert np.concatenate([y for _, y in val]).tolist() == (
        official[:50].tolist())
    # Training is shuffled, but holds the first 100 training examples.
    _, official = data.read_fashion_mnist('train')
    assert sorted(np.concatenate([y for _, y in train]).tolist()) == sorted(
        official[:100].tolist())


def test_images_match_the_raw_files(d2l):
    images, _ = data.read_fashion_mnist('val')
    with gzip.open(data.find_fashion_mnist() / 't10k-images-idx3-ubyte.gz',
                   'rb') as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16)
    assert images.shape == (10000, 28, 28)
    assert np.array_equal(images.reshape(-1), raw)
    X, _ = next(iter(d2l.FashionMNIST(batch_size=4).val_dataloader()))
    pixels = to_nchw(X)[:, 0] * data.STD + data.MEAN
    assert np.allclose(pixels, images[:4] / 255, atol=1e-5)


@pytest.mark.parametrize('kwargs, name', [
    (dict(batch_size=0), 'batch_size'), (dict(batch_size=-3), 'batch_size'),
    (dict(resize=(0, 65)), 'resize'), (dict(num_train=0), 'num_train'),
    (dict(num_val=10001), 'num_val')])
def test_bad_arguments(d2l, kwargs, name):
    with pytest.raises(ValueError, match=name):
        d2l.FashionMNIST(**kwargs)


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
        data.read_fashion_mnist('val', root=root)


def test_reads_are_cached(tmp_path):
    first = data.read_fashion_mnist('train')
    assert data.read_fashion_mnist('train')[0] is first[0]
    # A new process finds the decoded arrays on disk and does not decode.
    code = ('from d2l import data\n'
            'data._decode = None\n'  # Fails loudly if called.
            'images, labels = data.read_fashion_mnist("train")\n'
            'print(images.shape, int(labels[:100].sum()))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ['(60000,', '28,', '28)',
                           str(int(first[1][:100].sum()))]

"""Finding, verifying, reading and caching the Fashion-MNIST files.

The splits: 'train' is the first 50000 images of the official training
file, 'val' its last 10000, held out for tuning hyperparameters, and 'test'
the official 10000 test images, which tuning never sees.

Framework-neutral: everything here returns numpy arrays, and each framework
module batches them with its own data pipeline (which TransformedLoader
wraps, without knowing the framework).
"""
import functools
import gzip
import hashlib
import os
import pathlib
import tempfile
import urllib.request

import numpy as np

from d2l import core

URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'
DEBIAN_DIR = pathlib.Path('/usr/share/datasets/fashion-mnist')
REPO_DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / 'data'
ENV_VAR = 'D2L_DATA_DIR'
# MD5 of each file's decompressed content, as published with the dataset.
# Checking the content rather than the .gz bytes accepts both the official
# download and Debian's re-compressed copy of the same files.
FILES = {
    'train-images-idx3-ubyte.gz': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
    'train-labels-idx1-ubyte.gz': '9018921c3c673c538a1fc5bad174d6f9',
    't10k-images-idx3-ubyte.gz': '8181f5470baa50b63fa0f6fddb340f0a',
    't10k-labels-idx1-ubyte.gz': '15d484375f8d13e6eb1aabb0c3f46965',
}
# The official file pair ('train' or 't10k') of each split, and the
# examples of it that the split holds. Validation is carved out of the
# training file so that tuning hyperparameters never sees the test images.
SPLITS = {'train': ('train', slice(0, 50000)),
          'val': ('train', slice(50000, 60000)),
          'test': ('t10k', slice(0, 10000))}
LABELS = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal',
          'shirt', 'sneaker', 'bag', 'ankle boot']
# Mean and standard deviation of the training pixels scaled to [0, 1];
# standardized inputs let AlexNet learn within the first epoch.
MEAN, STD = 0.2860, 0.3530


class DataError(FileNotFoundError):
    """The Fashion-MNIST files are missing, incomplete or corrupt."""


def candidate_dirs(root=None):
    """Folders searched for the four files, in order of preference."""
    if root is not None:
        return [pathlib.Path(root)]
    dirs = []
    if os.environ.get(ENV_VAR):
        dirs.append(pathlib.Path(os.environ[ENV_VAR]) / 'fashion-mnist')
    return dirs + [REPO_DATA_DIR / 'fashion-mnist', DEBIAN_DIR]


def _has_all(folder):
    return all((folder / name).is_file() for name in FILES)


def find_fashion_mnist(root=None, download=True):
    """Return the folder that holds the four Fashion-MNIST files.

    Looks in `root` if given, else in $D2L_DATA_DIR/fashion-mnist, the
    repository's data/fashion-mnist and Debian's package folder. When none
    has them, downloads them (if `download`) into the first writable one.
    """
    dirs = candidate_dirs(root)
    for folder in dirs:
        if _has_all(folder):
            return folder
    if download:
        target = dirs[0]
        try:
            return download_fashion_mnist(target)
        except OSError as err:
            reason = f'The download into {target} failed: {err}'
    else:
        reason = 'Downloading was not allowed.'
    looked = '\n'.join(f'  {d}' for d in dirs)
    raise DataError(
        f'Fashion-MNIST was not found. Looked in:\n{looked}\n{reason}\n'
        'Get the files in one of two ways:\n'
        '  * on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist\n'
        f'  * online: download the four files from {URL} into one of the '
        'folders above (d2l does so by itself when the machine is online), '
        f'or point {ENV_VAR} at a folder whose fashion-mnist/ holds them.')


def download_fashion_mnist(folder):
    """Download the four files into `folder` and verify their content."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        path = folder / name
        if path.is_file():
            continue
        print(f'Downloading {URL}{name} to {folder}')
        partial = path.with_suffix('.part')
        with urllib.request.urlopen(URL + name, timeout=60) as response:
            partial.write_bytes(response.read())
        _verified_content(partial, FILES[name])
        partial.rename(path)  # Only complete, verified files get the name.
    return folder


def _verified_content(path, md5):
    """The decompressed bytes of `path`, checked against their MD5."""
    try:
        with gzip.open(path, 'rb') as f:
            content = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f'{path} is corrupt or truncated ({err}); delete it '
                        'and get it again') from err
    if hashlib.md5(content).hexdigest() != md5:
        raise DataError(f'{path} does not match the official Fashion-MNIST '
                        'checksum; delete it and get it again')
    return content


def _decode(path):
    """Verify and decode one IDX file into a uint8 numpy array."""
    content = _verified_content(path, FILES[path.name])
    ndim = content[3]  # IDX header: two zero bytes, dtype code, ndim
    shape = np.frombuffer(content, '>u4', count=ndim, offset=4)
    return np.frombuffer(content, np.uint8, offset=4 + 4 * ndim).reshape(
        tuple(int(s) for s in shape))


def cache_dir():
    """Where decoded arrays are kept, so that new processes skip decoding."""
    for folder in (os.environ.get(ENV_VAR), REPO_DATA_DIR):
        if folder and os.access(pathlib.Path(folder).parent, os.W_OK):
            return pathlib.Path(folder) / 'cache'
    return pathlib.Path(tempfile.gettempdir()) / 'd2l-cache'


def _file_key(path):
    """A short fingerprint of a file's bytes, cheap next to decoding it."""
    return hashlib.md5(path.read_bytes()).hexdigest()[:16]


def _read_array(path):
    """Decode `path`, or load its decoded array from the on-disk cache."""
    cached = cache_dir() / f'{path.name[:-3]}-{_file_key(path)}.npy'
    if cached.is_file():
        return np.load(cached)
    array = _decode(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        # Write under a unique name, then rename: trial processes that read
        # at the same time never see a half-written cache file.
        with tempfile.NamedTemporaryFile(dir=cached.parent, suffix='.npy',
                                         delete=False) as f:
            np.save(f, array)
        os.replace(f.name, cached)
    except OSError:
        pass  # A read-only cache only costs time.
    return array


@functools.lru_cache(maxsize=None)
def _read_files(folder, prefix):
    """Images and labels of the official file pair `prefix`, read-only, so
    that the splits can share them as views."""
    images, labels = (_read_array(folder / f'{prefix}-{kind}-ubyte.gz')
                      for kind in ('images-idx3', 'labels-idx1'))
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def read_fashion_mnist(split, root=None):
    """Images (N, 28, 28) and labels (N,) of `split`, both uint8.

    `split` is 'train' (the first 50000 official training examples), 'val'
    (the last 10000 of them) or 'test' (the official 10000 test examples).
    Each file is decoded once: repeated reads in one process are views of
    the arrays in memory, and a new process loads the decoded arrays from
    the cache on disk.
    """
    if split not in SPLITS:
        raise ValueError("split must be 'train', 'val' or 'test', got "
                         f'{split!r}')
    prefix, examples = SPLITS[split]
    images, labels = _read_files(find_fashion_mnist(root), prefix)
    return images[examples], labels[examples]


def subset(split, num=None, root=None):
    """The first `num` examples of `split` (all of them if `num` is None)."""
    images, labels = read_fashion_mnist(split, root)
    if num is None:
        return images, labels
    if isinstance(num, bool) or not isinstance(num, int) or not (
            0 < num <= len(labels)):
        raise ValueError(f'num_{split} must be an integer between 1 and '
                         f'{len(labels)}, got {num!r}')
    return images[:num], labels[:num]


def check_resize(resize):
    """Return `resize` as a pair of positive ints, or raise a ValueError."""
    if isinstance(resize, int):
        resize = (resize, resize)
    resize = tuple(resize)
    if len(resize) != 2 or not all(isinstance(s, int) and s > 0
                                   for s in resize):
        raise ValueError('resize must be a pair of positive ints such as '
                         f'(224, 224), got {resize!r}')
    return resize


def check_image_size(size, min_size):
    """Raise a ValueError unless the (height, width) `size` is at least
    `min_size` pixels both ways; the message says how to resize the data.

    Each framework's AlexNet checks its inputs with this, so that images
    too small for it fail with this message rather than with an error
    about shapes from deep inside the network.
    """
    size = tuple(size)
    if min(size) < min_size:
        raise ValueError(
            f'AlexNet needs images of at least {min_size}x{min_size} pixels, '
            f'got {size}; use FashionMNIST(resize=({min_size}, {min_size})) '
            'or larger')


def check_fashion_mnist_args(batch_size, resize):
    core.check_positive('batch_size', batch_size)
    return check_resize(resize)


def text_labels(indices):
    """The names of the Fashion-MNIST classes with the given indices."""
    return [LABELS[int(i)] for i in indices]


class FashionMNISTBase(core.DataModule):
    """The Fashion-MNIST dataset :cite:`xiao2017fashion`, what no framework
    changes: the arguments, the three splits and their data loaders.

    `num_train`, `num_val` and `num_test` keep only the first examples of
    each split. A framework's `FashionMNIST` provides the two methods that
    raise NotImplementedError here.
    """
    def __init__(self, batch_size=64, resize=(28, 28), root=None,
                 num_train=None, num_val=None, num_test=None):
        super().__init__(root)
        resize = check_fashion_mnist_args(batch_size, resize)
        self.save_hyperparameters()
        self.train = subset('train', num_train, root)
        self.val = subset('val', num_val, root)
        self.test = subset('test', num_test, root)

    def transform(self, X, y):
        """Scale, resize and standardize a batch of uint8 images."""
        raise NotImplementedError

    def _loader(self, images, labels, shuffle):
        """Batches of the numpy `images` and `labels`, from the framework's
        data pipeline, each passed through `transform`."""
        raise NotImplementedError

    def get_dataloader(self, train):
        images, labels = self.train if train else self.val
        return self._loader(images, labels, shuffle=train)

    def test_dataloader(self):
        return self._loader(*self.test, shuffle=False)

    def text_labels(self, indices):
        """The class names of the given label indices."""
        return text_labels(indices)


class TransformedLoader:
    """A framework's data loader whose batches pass through `transform`
    (`FashionMNIST._loader` of MXNet and PyTorch)."""
    def __init__(self, loader, transform):
        self.loader, self.transform = loader, transform

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return (self.transform(*batch) for batch in self.loader)

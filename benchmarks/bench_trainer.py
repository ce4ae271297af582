"""Seconds per epoch: d2l.Trainer against a plain training loop.

Run it with the Python of one framework environment; it uses the framework
installed there (the same choice as tests/conftest.py):

    .envs/pytorch/bin/python benchmarks/bench_trainer.py [--reps 5]

Both sides train AlexNet (lr 0.01) for one epoch on the first 2000
Fashion-MNIST training images, batches of 32 resized to 65x65 on the CPU:

  d2l    d2l.Trainer(max_epochs=1).fit(model, data), as in the chapter;
  plain  a loop written directly in the framework: the same uint8 arrays
         from d2l.data.subset, the framework's own data pipeline, resize,
         standardize, forward, loss, backward, SGD step.

Each side first runs one untimed epoch (initialization, tf.function
tracing, MXNet's graph building); on the d2l side every later fit() of the
same Trainer and model is one more epoch of the same training. Then the two
alternate, the order swapped every repetition, in this one process, so that
load from other jobs on the machine hits both alike. The script prints
figures only: the median seconds per epoch of each side and their ratio
d2l/plain (the goal: at most 1.10), the same for process CPU seconds (all
threads), and the median of the ratios within each repetition.
"""
import importlib
import os
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from cli import parse_reps  # noqa: E402  (benchmarks/cli.py)
from d2l import data, frameworks  # noqa: E402
from d2l.resources import THREAD_VARS  # noqa: E402

FRAMEWORK = frameworks.installed().module
BATCH_SIZE, RESIZE, NUM_TRAIN, NUM_VAL, LR = 32, (65, 65), 2000, 1000, 0.01
GOAL = 1.10


# --- one epoch through d2l ---------------------------------------------------

def d2l_epoch(d2l):
    """An epoch of d2l.Trainer; repeated calls continue the same training."""
    fmnist = d2l.FashionMNIST(batch_size=BATCH_SIZE, resize=RESIZE,
                              num_train=NUM_TRAIN, num_val=NUM_VAL)
    model = d2l.AlexNet(lr=LR)
    trainer = d2l.Trainer(max_epochs=1)

    def epoch():
        trainer.fit(model, fmnist)
        if FRAMEWORK == 'mxnet':
            from mxnet import npx
            npx.waitall()  # MXNet runs asynchronously: wait for the end.
    return epoch


# --- one epoch of a plain loop, per framework -------------------------------
# The same layers (the `net` of a new d2l.AlexNet) with the framework's default
# initialization: d2l's He initialization changes no work per batch.

def plain_torch(d2l):
    import torch
    from torch.nn import functional as F
    images, labels = data.subset('train', NUM_TRAIN)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(images),
                                       torch.tensor(labels)),
        batch_size=BATCH_SIZE, shuffle=True)
    net = d2l.AlexNet().net
    net(torch.zeros(1, 1, *RESIZE))  # give the lazy layers their shapes
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)

    def epoch():
        net.train()
        for X, y in loader:
            X = F.interpolate(X.unsqueeze(1).float() / 255, size=RESIZE,
                              mode='bilinear')
            X = (X - data.MEAN) / data.STD
            loss = F.cross_entropy(net(X), y.long())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return epoch


def plain_mxnet(d2l):
    from mxnet import autograd, gluon, np as mnp, npx
    images, labels = data.subset('train', NUM_TRAIN)
    loader = gluon.data.DataLoader(
        gluon.data.ArrayDataset(np.array(images), np.array(labels)),
        BATCH_SIZE, shuffle=True)
    net = d2l.AlexNet().net  # a HybridSequential, already hybridized
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': LR})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

    def epoch():
        for X, y in loader:
            X = npx.image.resize(mnp.expand_dims(X.astype('float32') / 255,
                                                 3), size=RESIZE[::-1])
            X = (X.reshape(-1, 1, *RESIZE) - data.MEAN) / data.STD
            with autograd.record():
                loss = loss_fn(net(X), y.astype('int32'))
            loss.backward()
            trainer.step(X.shape[0])
        npx.waitall()
    return epoch


def plain_tensorflow(d2l):
    import tensorflow as tf
    images, labels = data.subset('train', NUM_TRAIN)

    def transform(X, y):
        X = tf.image.resize(tf.cast(X[..., None], tf.float32) / 255, RESIZE)
        return (X - data.MEAN) / data.STD, y

    dataset = (tf.data.Dataset.from_tensor_slices((images, labels))
               .shuffle(NUM_TRAIN).batch(BATCH_SIZE)
               .map(transform, num_parallel_calls=tf.data.AUTOTUNE)
               .prefetch(tf.data.AUTOTUNE))
    net = d2l.AlexNet().net
    net.build((None, *RESIZE, 1))
    optimizer = tf.keras.optimizers.SGD(learning_rate=LR)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(X, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, net(X, training=True))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    def epoch():
        for X, y in dataset:
            loss = step(X, y)
        float(loss)
    return epoch


PLAIN = {'torch': plain_torch, 'mxnet': plain_mxnet,
         'tensorflow': plain_tensorflow}


# --- timing -----------------------------------------------------------------

def timed(fn):
    """Wall-clock and process CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main():
    reps = parse_reps(__doc__, 'timed epochs of each side')
    d2l = importlib.import_module(f'd2l.{FRAMEWORK}')
    framework = importlib.import_module(FRAMEWORK)
    print(f'framework: {FRAMEWORK} {framework.__version__}, CPU, '
          f'{NUM_TRAIN} images, batch {BATCH_SIZE}, resize {RESIZE}, '
          f'{-(-NUM_TRAIN // BATCH_SIZE)} batches per epoch')
    print(f'{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; '
          + ', '.join(f'{var}={os.environ.get(var, "unset")}'
                      for var in THREAD_VARS))
    sides = {'d2l': d2l_epoch(d2l), 'plain': PLAIN[FRAMEWORK](d2l)}
    warm = {name: timed(epoch)[0] for name, epoch in sides.items()}
    print(f'warm-up epoch (not counted): d2l {warm["d2l"]:.2f} s, '
          f'plain {warm["plain"]:.2f} s')
    times = {name: [] for name in sides}
    for rep in range(reps):
        order = list(sides) if rep % 2 == 0 else list(sides)[::-1]
        for name in order:
            times[name].append(timed(sides[name]))
        print(f'rep {rep + 1}: ' + ', '.join(
            f'{name} {times[name][-1][0]:.2f} s '
            f'(CPU {times[name][-1][1]:.2f} s)' for name in sides),
            flush=True)
    med = {name: [statistics.median(t[i] for t in times[name])
                  for i in (0, 1)] for name in sides}
    ratio = med['d2l'][0] / med['plain'][0]
    print(f'median seconds per epoch: d2l {med["d2l"][0]:.2f}, '
          f'plain {med["plain"][0]:.2f}; ratio d2l/plain {ratio:.3f} '
          f'(goal <= {GOAL:.2f}: {"met" if ratio <= GOAL else "NOT met"})')
    print(f'median CPU seconds per epoch: d2l {med["d2l"][1]:.2f}, '
          f'plain {med["plain"][1]:.2f}; ratio '
          f'{med["d2l"][1] / med["plain"][1]:.3f}')
    # Each repetition ran the two sides one right after the other.
    paired = statistics.median(d[0] / p[0] for d, p in zip(times['d2l'],
                                                             times['plain']))
    print(f'median of the per-repetition ratios d2l/plain: {paired:.3f}')
    print(f'load average at the end: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()

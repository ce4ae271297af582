"""Checkpoints of a trainer: the file that a Syne Tune trial keeps, its
format, and saving and restoring a trainer's model and optimizer with it.

A checkpoint is one numpy `.npz` file: the parameters of the model under
`param/`, the arrays of the optimizer's state under `optim/`, and the JSON
string `meta` (the library and model that saved it, the epochs trained, the
shapes of the parameters and the rest of the optimizer's state).

Framework-neutral: a framework's `Trainer` converts its parameters and
optimizer state to and from numpy arrays (its hooks `_parameters`,
`_get_state` and `_set_state`, see `d2l.core.TrainerBase`).
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import zipfile

import numpy as np

__all__ = ['CheckpointError', 'checkpoint_file', 'trial_checkpoint']

CHECKPOINT_NAME = 'checkpoint.npz'
# Syne Tune's name, syne_tune.constants.ST_CHECKPOINT_DIR, written out:
# importing syne_tune.constants imports all of Syne Tune, Tuner and Ray Tune
# with it, which would add seconds to every trial's start-up.
# tests/test_checkpoint.py checks that the two agree.
ST_CHECKPOINT_DIR = 'st_checkpoint_dir'


class CheckpointError(ValueError):
    """A checkpoint file that exists but cannot be restored."""


def trial_checkpoint(argv=None):
    """The checkpoint file of the running Syne Tune trial, or None when no
    tuner runs this process.

    Syne Tune gives a trial its checkpoint folder only on the command line
    (`--st_checkpoint_dir`); the folder is the same when the trial resumes.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(f'--{ST_CHECKPOINT_DIR}', dest='folder')
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.folder is None:
        return None
    return checkpoint_file(args.folder)


def checkpoint_file(folder):
    """The file in which a trial keeps its checkpoint in `folder`."""
    return pathlib.Path(folder) / CHECKPOINT_NAME


def write_checkpoint(path, arrays, meta):
    """Write numpy `arrays` and the JSON-able `meta` to `path` atomically.

    The file is written under a temporary name and then renamed, so that a
    process killed while writing (Syne Tune kills paused trials) never
    leaves a partial checkpoint behind.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix='.tmp',
                                     delete=False) as f:
        try:
            np.savez(f, meta=np.array(json.dumps(meta)), **arrays)
        except BaseException:
            os.unlink(f.name)
            raise
    os.replace(f.name, path)


def read_checkpoint(path):
    """The (arrays, meta) written by `write_checkpoint`, or None if there is
    no file; raises CheckpointError, naming the file, if it is unreadable."""
    if path is None or not pathlib.Path(path).is_file():
        return None
    try:
        # No pickles: a checkpoint holds plain arrays and a JSON string.
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays.pop('meta')))
    except (OSError, ValueError, KeyError, EOFError,
            zipfile.BadZipFile) as err:
        raise CheckpointError(
            f'{path} is not a readable d2l checkpoint ({err}); delete it to '
            'train this trial from scratch') from err
    return arrays, meta


def _split_arrays(arrays, prefix):
    """The entries of `arrays` under `prefix`/, without the prefix."""
    return {k[len(prefix) + 1:]: v for k, v in arrays.items()
            if k.startswith(prefix + '/')}


def save(trainer, path):
    """Write the parameters of the model that `trainer` trained last, the
    state of its optimizer and the number of epochs trained to `path`."""
    params, optim, optim_meta = trainer._get_state()
    meta = dict(library=type(trainer).__module__,
                model=type(trainer.model).__name__, epoch=trainer.epoch,
                shapes={k: list(v.shape) for k, v in params.items()},
                optim=optim_meta)
    arrays = {f'param/{k}': v for k, v in params.items()}
    arrays.update({f'optim/{k}': v for k, v in optim.items()})
    write_checkpoint(path, arrays, meta)


def read(trainer, path, model):
    """The (arrays, meta) of the checkpoint at `path`, or None if there is
    no file; raises CheckpointError unless a trainer of the library of
    `trainer` saved it from a model of the class of `model`."""
    saved = read_checkpoint(path)
    if saved is None:
        return None
    meta = saved[1]
    library, name = type(trainer).__module__, type(model).__name__
    if (meta.get('library'), meta.get('model')) != (library, name):
        raise CheckpointError(
            f'{path} holds a {meta.get("model")} of '
            f'{meta.get("library")}, not a {name} of {library}; delete '
            'it or point to the checkpoint of this model')
    return saved


def restore(trainer, path, arrays, meta):
    """Load the checkpoint's `arrays` and `meta`, read from `path`, into the
    model of `trainer` and its optimizer, and return the number of epochs
    trained; raise CheckpointError if they do not fit."""
    params = _split_arrays(arrays, 'param')
    shapes = {k: list(v.shape) for k, v in trainer._parameters().items()}
    if shapes != {k: list(v.shape) for k, v in params.items()}:
        raise CheckpointError(
            f'{path} was saved from a {type(trainer.model).__name__} with '
            'other parameters (another architecture or input size); '
            'delete it or point to the checkpoint of this model')
    try:
        trainer._set_state(params, _split_arrays(arrays, 'optim'),
                           meta['optim'])
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(
            f'{path} does not fit this model and optimizer ({err}); '
            'delete it or point to the checkpoint of this model'
        ) from err
    return meta['epoch']

"""The command line that the repeated-measurement benchmarks share."""
import argparse
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from d2l.resources import THREAD_VARS  # noqa: E402


def parse_reps(doc, what):
    """`--reps N` (default 5, at least 1) and `--threads N` for a script
    whose docstring is `doc`; `what` says what is repeated. With
    `--threads`, the frameworks imported afterwards compute on N threads
    (unset, each starts a thread per core)."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--reps', type=int, default=5,
                        help=f'{what} (default 5)')
    parser.add_argument('--threads', type=int,
                        help="compute threads per framework (default: the "
                        "framework's own choice, a thread per core)")
    args = parser.parse_args()
    if args.reps < 1:
        parser.error('--reps must be at least 1')
    if args.threads is not None:
        if args.threads < 1:
            parser.error('--threads must be at least 1')
        os.environ.update({var: str(args.threads) for var in THREAD_VARS})
    return args.reps

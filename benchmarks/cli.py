"""The command line that the repeated-measurement benchmarks share."""
import argparse


def parse_reps(doc, what):
    """`--reps N` (default 5, at least 1) for a script whose docstring is
    `doc`; `what` says what is repeated."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--reps', type=int, default=5,
                        help=f'{what} (default 5)')
    args = parser.parse_args()
    if args.reps < 1:
        parser.error('--reps must be at least 1')
    return args.reps

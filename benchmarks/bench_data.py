"""Seconds to read Fashion-MNIST (all three splits) through d2l.data.

Framework-neutral: run it with the Python of any environment,

    .envs/pytorch/bin/python benchmarks/bench_data.py [--reps 5]

and it prints the median time of three kinds of read:

  cold       no decoded arrays anywhere: the four .gz files are
             decompressed, checked against their MD5 and parsed, and the
             arrays are written to the on-disk cache (a fresh temporary
             folder each time, through D2L_DATA_DIR);
  repeat     a second read in the same process (functools.lru_cache);
  new proc   a read in a fresh Python process that finds the on-disk cache
             (the time of the read itself, measured in that process; its
             start-up and imports are printed apart).

The .gz files stay in the operating system's page cache between reads, so
"cold" means not yet decoded, not read from the disk. The decoding alone
(d2l.data._decode of the four files, no cache) is printed as well.
"""
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cli import parse_reps  # noqa: E402  (benchmarks/cli.py)
from d2l import data  # noqa: E402

SPLITS = ('train', 'val', 'test')
# Run in the new process: time the read only, after the imports.
CHILD = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from d2l import data
start = time.perf_counter()
for split in {SPLITS!r}:
    data.read_fashion_mnist(split, sys.argv[1])
print(time.perf_counter() - start)
"""


def read_all(root):
    """Seconds to read all splits from the folder `root`."""
    start = time.perf_counter()
    for split in SPLITS:
        data.read_fashion_mnist(split, root)
    return time.perf_counter() - start


def decode_all(root):
    """Seconds to verify and decode the four files, without any cache."""
    start = time.perf_counter()
    for name in data.FILES:
        data._decode(root / name)
    return time.perf_counter() - start


def new_process(root):
    """Seconds of the read in a fresh process, and of the whole process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, '-c', CHILD, str(root)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1]), time.perf_counter() - start


def main():
    reps = parse_reps(__doc__, 'repetitions of each kind of read')
    # Found before D2L_DATA_DIR changes below, then passed on as `root`.
    root = data.find_fashion_mnist()
    print(f'Fashion-MNIST files: {root}')
    times = {'cold': [], 'repeat': [], 'new proc': [], 'decode only': []}
    process = []
    for _ in range(reps):
        # An empty data folder, so that the on-disk cache (its cache/)
        # starts empty; the child process inherits it.
        folder = tempfile.mkdtemp(prefix='d2l-bench-')
        os.environ[data.ENV_VAR] = folder
        try:
            data._read_files.cache_clear()
            times['cold'].append(read_all(root))
            times['repeat'].append(read_all(root))
            read, whole = new_process(root)
            times['new proc'].append(read)
            process.append(whole)
            times['decode only'].append(decode_all(root))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    for kind, seconds in times.items():
        med = statistics.median(seconds)
        print(f'{kind:>11}: median {med:.6f} s  (runs: '
              + ', '.join(f'{s:.4f}' for s in seconds) + ')')
    print(f'new process, start-up and imports included: median '
          f'{statistics.median(process):.2f} s')


if __name__ == '__main__':
    main()

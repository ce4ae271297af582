"""Start-up of a trial process: from process start to the first training step.

Every trial that Syne Tune starts or resumes is a new Python process, which
pays for the interpreter, the framework, d2l and the data before it trains.
This script starts such a process several times, the way a trial of the
chapter does it (CPU budget data and image size, one thread per worker as
with 2 workers on 2 cores), and prints the median time at which each step
was done, counted from the moment the operating system started the process
('interpreter' includes d2l.core, which the timing itself needs):

    .envs/pytorch/bin/python benchmarks/bench_startup.py [--reps 5]

It uses the framework installed in the environment that runs it.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys

FRAMEWORKS = ('mxnet', 'torch', 'tensorflow')
FRAMEWORK = next(f for f in FRAMEWORKS if importlib.util.find_spec(f))

# The child: the steps of the chapter's objective, each time-stamped from
# the process's start as the operating system records it.
CHILD = '''
import time
start = time.time()
from d2l import core
start -= core.seconds_since_process_start()
marks = {{'interpreter': time.time() - start}}
import {framework}
marks['framework'] = time.time() - start
from d2l import {framework} as d2l
marks['d2l'] = time.time() - start
from syne_tune import Reporter
marks['syne_tune'] = time.time() - start
budget = d2l.hpo_budget('cpu')
data = d2l.FashionMNIST(batch_size=32, **budget.data_args())
marks['data'] = time.time() - start
model = d2l.AlexNet(lr=0.01)
trainer = d2l.Trainer(max_epochs=1)
trainer.prepare_data(data)
trainer.prepare_model(model)
with trainer._device_scope():
    trainer._initialize(model)
marks['model'] = time.time() - start
trainer.train_dataloader = [next(iter(trainer.train_dataloader))]
trainer.fit_epoch()
marks['first step'] = time.time() - start
print(json.dumps(marks))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--reps', type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS='1', TF_NUM_INTRAOP_THREADS='1',
               TF_NUM_INTEROP_THREADS='1', TF_CPP_MIN_LOG_LEVEL='2')
    code = 'import json\n' + CHILD.format(framework=FRAMEWORK)
    runs = []
    for _ in range(args.reps + 1):  # The first run warms the file cache.
        out = subprocess.run([sys.executable, '-c', code], env=env,
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    runs = runs[1:]
    print(f'{FRAMEWORK}: seconds from process start, median of '
          f'{args.reps} processes')
    previous = 0
    for step in runs[0]:
        done = statistics.median(r[step] for r in runs)
        print(f'  {step:<12} done at {done:5.2f} s  (+{done - previous:.2f})')
        previous = done


if __name__ == '__main__':
    main()

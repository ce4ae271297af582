"""The Ray cluster section: a real two-node cluster, a node killed mid-trial.

The cluster is the build's (tools/ray_cluster.py), the objective is the
section's for this framework, the experiment is Ray Tune's
(tests/cluster/node_failure.py, run in the cluster as the notebooks are).
"""
import importlib.util
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from d2l import hpo

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location(
    'ray_cluster', ROOT / 'tools' / 'ray_cluster.py')
ray_cluster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ray_cluster)
MAX_EPOCHS = 2  # As in tests/cluster/node_failure.py.
# 127.0.0.1 in /proc/net/tcp, and as an IPv4-mapped IPv6 address.
LOOPBACK = {'0100007F', '0000000000000000FFFF00000100007F'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_address_is_a_clear_error(monkeypatch):
    address = f'127.0.0.1:{free_port()}'
    monkeypatch.setenv('RAY_ADDRESS', address)
    start = time.time()
    with pytest.raises(ConnectionError) as error:
        hpo.init_ray(hpo.choose_budget('cpu'))
    assert time.time() - start < 10
    assert f'RAY_ADDRESS={address}' in str(error.value)
    assert 'ray start --head' in str(error.value)


@pytest.fixture(scope='module')
def failed_node_run():
    # Short: Ray's Unix sockets live below this folder.
    folder = tempfile.mkdtemp(prefix='ray', dir='/tmp')
    output = os.path.join(folder, 'run.json')
    env = dict(os.environ, **{hpo.RAY_STORAGE_VAR: f'{folder}/results'})
    try:
        done = subprocess.run(
            [sys.executable, ROOT / 'tools' / 'ray_cluster.py', '--dir', folder,
             '--', sys.executable, ROOT / 'tests' / 'cluster' / 'node_failure.py',
             folder, output],
            env=env, capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, done.stdout + done.stderr
        with open(output) as f:
            run = json.load(f)
        run['leftovers'] = sorted(ray_cluster.RayCluster(folder).leftovers())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return run


def test_cluster_listens_on_loopback_only(failed_node_run):
    assert failed_node_run['listening'], 'no listening socket found'
    assert set(failed_node_run['listening']) <= LOOPBACK


def test_experiment_survives_the_killed_node(failed_node_run):
    run = failed_node_run
    assert 'killed' in run, 'no trial ran on the worker node'
    assert run['trials'] == 2 and run['errors'] == []
    print(f"\nnode killed; trial restarted after {run['recovered']:.1f} s, "
          f"reported again after {run['resumed']:.1f} s; experiment "
          f"{run['seconds']:.0f} s")


def test_killed_trial_continues_from_its_checkpoint(failed_node_run):
    reports = [r for r in failed_node_run['reports']
               if r['trial_id'] == failed_node_run['killed']]
    reports.sort(key=lambda r: r['timestamp'])
    # Every epoch once, in order: the restarted trial lost nothing and
    # repeated nothing.
    assert [r['epoch'] for r in reports] == list(range(1, MAX_EPOCHS + 1))
    assert reports[0]['node'] == failed_node_run['worker_node']
    assert reports[-1]['node'] != failed_node_run['worker_node']


def test_every_trial_is_in_the_results(failed_node_run):
    epochs = {}
    for r in failed_node_run['reports']:
        epochs.setdefault(r['trial_id'], []).append(r['epoch'])
    assert len(epochs) == 2
    assert all(sorted(e) == list(range(1, MAX_EPOCHS + 1))
               for e in epochs.values())


def test_no_ray_process_is_left(failed_node_run):
    assert failed_node_run['leftovers'] == []

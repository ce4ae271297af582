"""Run by tests/test_ray_cluster.py inside tools/ray_cluster.py (RAY_ADDRESS set).

    python tests/cluster/node_failure.py CLUSTER_DIR OUTPUT_JSON

Two trials of the cluster section's objective (d2l.objective_ray of this environment's
framework) run on the two nodes; once Ray Tune has registered the first checkpoint of the
trial on the worker node, the worker node is killed, while that trial trains its next epoch.
Writes what happened to OUTPUT_JSON.
"""
import importlib
import importlib.util
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tests'))
from conftest import FRAMEWORK  # noqa: E402
from d2l import hpo  # noqa: E402

spec = importlib.util.spec_from_file_location(
    'ray_cluster', ROOT / 'tools' / 'ray_cluster.py')
ray_cluster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ray_cluster)

MAX_EPOCHS = 2


def main(folder, output):
    import ray
    from ray import tune
    with open(os.path.join(folder, 'nodes.json')) as f:
        worker_node = json.load(f)[1]['node_id'][:8]
    cluster = ray_cluster.RayCluster(folder)
    run = {'listening': sorted(listening_addresses(cluster.leftovers())),
           'worker_node': worker_node}

    class KillWorkerNode(tune.Callback):
        """Kills the worker node once Ray Tune has registered a checkpoint of a
        trial that reported from it: the trial is then training its next epoch."""
        nodes = {}

        def on_trial_result(self, iteration, trials, trial, result):
            self.nodes[trial.trial_id] = result['node']
            if run.get('killed') == trial.trial_id:
                run.setdefault('resumed', time.time() - run['kill_time'])

        def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
            if (self.nodes.get(trial.trial_id) == worker_node
                    and 'killed' not in run):
                run['killed'], run['kill_time'] = trial.trial_id, time.time()
                ray_cluster.kill_node(folder, 1)

        def on_trial_recover(self, iteration, trials, trial, **info):
            # A trial that fails before the kill is an error of its own,
            # which run['errors'] reports; only the killed one recovers.
            if run.get('killed') == trial.trial_id:
                run.setdefault('recovered', time.time() - run['kill_time'])

    budget = hpo.choose_budget('cpu')
    resources = hpo.init_ray(budget)
    d2l = importlib.import_module(f'd2l.{FRAMEWORK}')
    tuner = tune.Tuner(
        tune.with_resources(d2l.objective_ray, resources),
        param_space={'learning_rate': 0.01, 'batch_size': 64,
                     'max_epochs': MAX_EPOCHS},
        tune_config=tune.TuneConfig(
            metric='validation_error', mode='min', num_samples=2,
            max_concurrent_trials=2, time_budget_s=240),
        run_config=tune.RunConfig(
            name='node-failure', storage_path=hpo.ray_storage_path(),
            verbose=0, callbacks=[KillWorkerNode()],
            failure_config=tune.FailureConfig(max_failures=2),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1)))
    start = time.time()
    grid = tuner.fit()
    run['seconds'] = time.time() - start
    run['trials'] = len(grid)
    run['errors'] = [repr(e) for e in grid.errors]
    results = hpo.ray_results(grid, start)
    run['reports'] = results[['trial_id', 'epoch', 'node', 'timestamp']].to_dict(
        'records')
    ray.shutdown()
    with open(output, 'w') as f:
        json.dump(run, f, default=str)


def listening_addresses(pids):
    """The local addresses on which `pids` listen for TCP connections."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f'/proc/{pid}/fd'):
                link = os.readlink(f'/proc/{pid}/fd/{fd}')
                if link.startswith('socket:['):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    addresses = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == '0A' and fields[9] in inodes:  # LISTEN
                    addresses.add(fields[1].rsplit(':', 1)[0])
    return addresses


if __name__ == '__main__':
    main(*sys.argv[1:])

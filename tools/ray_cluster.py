"""A real Ray cluster of several nodes on this machine, for the build and the tests.

    python tools/ray_cluster.py --dir DIR [--nodes 2] [--cpus-per-node 1] -- COMMAND ...

starts a head node and worker nodes, runs COMMAND with RAY_ADDRESS pointing at the head,
and stops the cluster afterwards, also when COMMAND fails or the tool is interrupted; it
exits with COMMAND's status, or 1 if a Ray process outlived the cluster. Run it with the
Python of the environment whose Ray (and d2l) the trials should use.

Each node is a Ray node of its own (GCS on the head, a raylet, an object store and worker
processes per node, with ports of its own and its share of the cores), started by Ray's
multi-node `ray.cluster_utils.Cluster`. `ray start` cannot build this cluster on the
loopback address: Ray replaces 127.0.0.1 by the machine's network address wherever it
meets it, unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, and with that setting `ray start`
refuses to add a worker node. With it, every service of every node listens on 127.0.0.1
only; there is no dashboard, and the cluster requires Ray's authentication token, which
lives in DIR/auth_token. Everything Ray writes (sessions, logs, spilled objects, its
address file) stays in DIR. DIR/nodes.json lists the nodes and their processes, so that
a command in the cluster can kill a worker node as a crash would (`kill_node`).
"""
import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time

# Unix sockets live in the session folder and their paths must stay below 108 bytes.
SOCKET_PATH_ROOM = 60


class RayCluster:
    """A head node and `nodes - 1` worker nodes on 127.0.0.1."""

    def __init__(self, folder, nodes=2, cpus_per_node=1):
        self.folder = os.path.abspath(folder)
        self.temp_dir = os.path.join(self.folder, 'tmp')
        if len(self.temp_dir) > 107 - SOCKET_PATH_ROOM:
            raise ValueError(f'{self.temp_dir} is too long for the Unix sockets that Ray '
                             'creates in it; use a shorter folder')
        self.nodes, self.cpus_per_node = nodes, cpus_per_node
        self.token_path = os.path.join(self.folder, 'auth_token')
        # What the nodes, and every process that uses the cluster, need to know.
        self.env = {'RAY_AUTH_MODE': 'token', 'RAY_AUTH_TOKEN_PATH': self.token_path,
                    'RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER': '0',
                    'RAY_USAGE_STATS_ENABLED': '0',
                    # A lost node is declared dead after about 3 s, not 30.
                    'RAY_health_check_period_ms': '1000',
                    'RAY_health_check_failure_threshold': '3'}
        # Only for the nodes: Ray's address file goes to $TMPDIR/ray, and the marker
        # finds every process of the cluster (Ray keeps RAY_AUTH_* from its agents).
        self.node_env = dict(self.env, TMPDIR=self.folder, D2L_RAY_CLUSTER=self.folder)
        self.cluster, self.address, self._saved_env = None, None, None

    def start(self):
        os.makedirs(self.temp_dir, exist_ok=True)
        os.makedirs(os.path.join(self.folder, 'ray'), exist_ok=True)
        fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, 'w') as f:
            f.write(secrets.token_hex(32))
        self._saved_env = {k: os.environ.get(k)
                           for k in [*self.node_env, 'RAY_ADDRESS', 'RAY_AUTH_TOKEN']}
        os.environ.pop('RAY_AUTH_TOKEN', None)
        os.environ.update(self.node_env)
        # Ray reads its settings when it is imported.
        from ray.cluster_utils import Cluster
        try:
            node_args = dict(num_cpus=self.cpus_per_node, num_gpus=0,
                             object_store_memory=300 * 2**20)
            self.cluster = Cluster(
                initialize_head=True, shutdown_at_exit=False,
                head_node_args=dict(node_args, include_dashboard=False,
                                    temp_dir=self.temp_dir))
            for _ in range(self.nodes - 1):
                self.cluster.add_node(**node_args)
            self.cluster.wait_for_nodes(timeout=120)
        except BaseException:
            self.stop()
            raise
        self.address = self.cluster.address
        self.env['RAY_ADDRESS'] = os.environ['RAY_ADDRESS'] = self.address
        # For the command: which node is which, and its processes (kill_node).
        nodes = [self.cluster.head_node] + list(self.cluster.worker_nodes)
        with open(os.path.join(self.folder, 'nodes.json'), 'w') as f:
            json.dump([{'node_id': node.node_id,
                        'pids': sorted({info.process.pid
                                        for infos in node.all_processes.values()
                                        for info in infos})}
                       for node in nodes], f)
        return self

    def leftovers(self):
        """Processes of this cluster still alive: every Ray process inherits the
        nodes' environment (workers rename themselves and may outlive their raylet,
        so names and parents do not find them all)."""
        marker = f'D2L_RAY_CLUSTER={self.folder}'.encode()
        left = set()
        for pid in _all_processes():
            try:
                with open(f'/proc/{pid}/environ', 'rb') as f:
                    if marker in f.read().split(b'\0'):
                        left.add(pid)
            except OSError:
                pass
        return left - _ancestors_and_self()

    def stop(self, timeout=30):
        """Stop every node (workers first); kill what does not stop in time."""
        if self.cluster is not None:
            try:
                self.cluster.shutdown()
            except Exception as e:  # A killed node cannot be shut down gracefully.
                print(f'note: Ray cluster shutdown: {e!r}', file=sys.stderr)
        deadline = time.time() + timeout
        while self.leftovers() and time.time() < deadline:
            time.sleep(0.5)
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._saved_env is not None:
            for k, v in self._saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self._saved_env = None


def kill_node(folder, i):
    """Kill worker node `i` (>= 1) of the cluster in `folder` and every process
    it started, as a crash of its machine would (callable from any process)."""
    assert i >= 1, 'the head node holds the cluster; kill a worker node'
    with open(os.path.join(folder, 'nodes.json')) as f:
        family = set(json.load(f)[i]['pids'])
    table = _all_processes()
    grown = True
    while grown:
        children = {pid for pid, ppid in table.items() if ppid in family}
        grown = not children <= family
        family |= children
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _all_processes():
    """{pid: parent pid} of the live processes on this machine (zombies left out)."""
    table = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open(f'/proc/{name}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if fields[0] != 'Z':
                table[int(name)] = int(fields[1])
    return table


def _ancestors_and_self():
    pids, pid, table = set(), os.getpid(), _all_processes()
    while pid in table and pid not in pids:
        pids.add(pid)
        pid = table[pid]
    return pids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dir', required=True, help='where everything of Ray goes')
    parser.add_argument('--nodes', type=int, default=2)
    parser.add_argument('--cpus-per-node', type=int, default=1)
    parser.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        parser.error('no command to run in the cluster')
    cluster = RayCluster(args.dir, args.nodes, args.cpus_per_node)
    # make's interrupt (SIGINT) or kill (SIGTERM) still stops the cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = 1
    try:
        cluster.start()
        print(f'=== Ray cluster: {args.nodes} nodes of {args.cpus_per_node} CPU at '
              f'{cluster.address} (files in {cluster.folder})', flush=True)
        env = {k: v for k, v in os.environ.items() if k not in cluster.node_env}
        status = subprocess.run(command, env=dict(env, **cluster.env)).returncode
    finally:
        cluster.stop()
        left = cluster.leftovers()
        if left:
            print(f'error: Ray processes {sorted(left)} outlived the cluster',
                  file=sys.stderr)
            status = 1
        else:
            print('=== Ray cluster stopped', flush=True)
    sys.exit(status)


if __name__ == '__main__':
    main()

"""How the build chooses between CPU and GPU environments (tools/choose_envs.sh, the Makefile,
requirements/*-gpu.txt, tools/gpu_probe.py), checked on this GPU-less machine with a fake
`nvidia-smi` on PATH. `make -n` prints what the build would run without running it; its
stamps go to a temporary BUILD folder, so the real build's record is untouched."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
import check_pins  # noqa: E402
from d2l.frameworks import FRAMEWORKS as TABLE, TABS  # noqa: E402

CHOOSE = ROOT / 'tools' / 'choose_envs.sh'
FRAMEWORKS = TABS
# Each framework's CPU and CUDA builds, by the canonical names of the pins.
CPU_BUILDS = {f.tab: f.package for f in TABLE}
GPU_BUILDS = {f.tab: check_pins.canonicalize_name(f.cuda.split('[')[0]) for f in TABLE}


@pytest.fixture
def machine(tmp_path):
    """run(gpus, *args, GPU=...) runs a command where `nvidia-smi -L` lists `gpus` GPUs (0: it
    fails, as on a machine without the NVIDIA driver); D2L_ENVS points at an empty folder."""
    bin_dir, envs = tmp_path / 'bin', tmp_path / 'envs'
    bin_dir.mkdir()
    envs.mkdir()

    def run(gpus, *args, **env):
        lines = ''.join(f'echo "GPU {i}: NVIDIA H200 (UUID: GPU-{i})"\n' for i in range(gpus))
        fake = bin_dir / 'nvidia-smi'
        fake.write_text('#!/bin/sh\n' + (lines or 'echo "NVIDIA-SMI has failed" >&2\nexit 9\n'))
        fake.chmod(0o755)
        # Not what a make that runs these tests passes to its children (MAKEFLAGS carries
        # its command-line variables, such as PYTHON).
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ('GPU', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
        full_env.update(PATH=f'{bin_dir}:{os.environ["PATH"]}', D2L_ENVS=str(envs), **env)
        return subprocess.run(args, capture_output=True, text=True, env=full_env, cwd=ROOT)
    run.envs = envs
    return run


@pytest.mark.parametrize('gpus, override, suffix', [
    (1, None, '-gpu'), (8, None, '-gpu'), (0, None, ''),
    (2, '0', ''), (0, '1', '-gpu'), (0, '', '')])
def test_choice(machine, gpus, override, suffix):
    env = {} if override is None else {'GPU': override}
    for fw in FRAMEWORKS:
        out = machine(gpus, str(CHOOSE), fw, **env)
        assert (out.returncode, out.stdout, out.stderr) == (0, fw + suffix + '\n', '')


def test_bad_override(machine):
    out = machine(1, str(CHOOSE), 'pytorch', GPU='yes')
    assert out.returncode == 2 and 'GPU must be 0 or 1' in out.stderr


def test_framework_that_cannot_use_the_gpu_stays_on_the_cpu(machine):
    """A GPU environment whose probe failed (its file no-gpu) is not chosen, and --note says
    so in one line; the other frameworks keep their GPU environments."""
    (machine.envs / 'mxnet-gpu').mkdir()
    (machine.envs / 'mxnet-gpu' / 'no-gpu').write_text(
        'MXNetError: no kernel image is available for execution on the device\n')
    assert machine(1, str(CHOOSE), 'mxnet').stdout == 'mxnet\n'
    assert machine(1, str(CHOOSE), 'pytorch').stdout == 'pytorch-gpu\n'
    note = machine(1, str(CHOOSE), '--note', 'mxnet').stdout
    assert note.count('\n') == 1 and 'the mxnet tab runs on the CPU' in note
    assert 'no kernel image' in note
    # Without a GPU, or for a framework that can use it, there is nothing to say.
    assert machine(0, str(CHOOSE), '--note', 'mxnet').stdout == ''
    assert machine(1, str(CHOOSE), '--note', 'pytorch').stdout == ''


@pytest.mark.parametrize('gpus, env, suffix', [(1, {}, '-gpu'), (0, {}, ''),
                                               (1, {'GPU': '0'}, ''), (0, {'GPU': '1'}, '-gpu')])
def test_makefile_builds_the_chosen_environments(machine, tmp_path, gpus, env, suffix):
    """`make -n -B envs` (what make would run if nothing were built yet) creates the chosen
    environments from their own requirement files and points the d2l-<framework> kernels at
    them; the choice is recorded like the budget."""
    build = tmp_path / 'build'
    out = machine(gpus, 'make', '-n', '-B', 'envs', f'BUILD={build}', **env)
    assert out.returncode == 0, out.stderr
    for fw in FRAMEWORKS:
        assert f'tools/make_env.sh {fw}{suffix} ' in out.stdout
        assert (f'cp .envs/{fw}{suffix}/kernel.json '
                f'.envs/jupyter/kernels/d2l-{fw}/kernel.json') in out.stdout
        other = '' if suffix else '-gpu'
        assert f'tools/make_env.sh {fw}{other} ' not in out.stdout
    assert (build / 'stamps' / 'envs').read_text().split() == [fw + suffix for fw in FRAMEWORKS]


def pins(name):
    """{canonical name: (requirement, its sha256 hashes)} of requirements/<name>.txt as pip
    reads it on Linux x86_64 (markers evaluated), and the same of its `-c` constraints."""
    found, problems = check_pins.parse(ROOT / 'requirements' / f'{name}.txt',
                                       check_pins.TARGETS['linux-x86_64'])
    assert not problems
    return ({check_pins.canonicalize_name(req.name): (req, hashes)
             for req, hashes, kind, _ in found if kind == kinds}
            for kinds in ('requirement', 'constraint'))


@pytest.mark.parametrize('fw', FRAMEWORKS)
def test_gpu_requirements_swap_only_the_framework(fw):
    """requirements/<fw>-gpu.txt is requirements/<fw>.txt (for Linux) with the framework's CPU
    build replaced by its CUDA build of the same version, plus what the CUDA build needs;
    every other pin is the same. Every line pins its files by sha256 (pip's hash-checking
    mode), none by a URL. PyTorch's CPU file constrains what the CUDA build needs to the same
    versions (a reader's pip takes that build from the public index)."""
    cpu, cuda_constraints = pins(fw)
    gpu, gpu_constraints = pins(f'{fw}-gpu')
    assert not gpu_constraints
    cpu_build, _ = cpu.pop(CPU_BUILDS[fw])
    framework, _ = gpu[GPU_BUILDS[fw]]
    assert str(framework.specifier) == str(cpu_build.specifier)
    assert all(hashes and not req.url for req, hashes in gpu.values())
    assert not any('://' in line or ' @ ' in line
                   for path in (ROOT / 'requirements').glob('*.txt')
                   for line in path.read_text().splitlines() if not line.startswith('#'))
    gpu.pop(GPU_BUILDS[fw])
    assert {name: str(gpu[name][0]) for name in cpu} == {
        name: str(req) for name, (req, _) in cpu.items()}
    added = {name: str(req) for name, (req, _) in gpu.items() if name not in cpu}
    assert all(re.match(r'nvidia-|cuda-|triton$', name) for name in added), added
    if fw == 'pytorch':
        assert {name: str(req) for name, (req, _) in cuda_constraints.items()} == added
    else:
        assert not cuda_constraints


def test_gpu_probe_says_why_it_cannot_compute_here():
    """tools/gpu_probe.py, in this environment on this GPU-less machine, exits 1 with one line
    that names the reason (make_env.sh records it in .envs/<fw>-gpu/no-gpu)."""
    from conftest import TAB
    out = subprocess.run([sys.executable, str(ROOT / 'tools' / 'gpu_probe.py'), TAB],
                         capture_output=True, text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].endswith('sees no GPU')

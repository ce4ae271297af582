#!/usr/bin/env python3
"""Write requirements/<framework>-gpu.txt from requirements/<framework>.txt.

    python3 tools/pin_gpu_requirements.py pytorch|tensorflow|mxnet

The GPU environment is the CPU one with the framework's CPU build swapped for its CUDA
build of the same version; everything else keeps its pin, and what the CUDA build adds
(NVIDIA's runtime libraries as wheels) is pinned to what pip resolves from PyPI today.
pip only reads the packages' metadata (`--dry-run --report`), so nothing of the several
GB is downloaded. This machine's pip configuration (local wheels, a cap on torch) is
ignored: the file must hold for any reader. The framework's wheel is pinned by its URL,
so that no local build of the same version (torch 2.13.0+cpu) can stand in for it.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# CPU requirement -> its CUDA build (same release). mxnet-cu117 is the newest CUDA
# build of MXNet 1.9.1, the last release.
CUDA_BUILD = {'pytorch': ('torch', 'torch==2.13.0'),
              'tensorflow': ('tensorflow_cpu', 'tensorflow[and-cuda]==2.21.0'),
              'mxnet': ('mxnet', 'mxnet-cu117==1.9.1')}


def canonical(name):
    return name.lower().replace('_', '-')


def main(framework):
    cpu_name, gpu_req = CUDA_BUILD[framework]
    cpu_file = ROOT / 'requirements' / f'{framework}.txt'
    pins = [line for line in cpu_file.read_text().splitlines()
            if line and not line.startswith('#')]
    kept = [p for p in pins if canonical(p.split('==')[0]) != canonical(cpu_name)]
    assert len(kept) == len(pins) - 1, f'{cpu_name} is not pinned in {cpu_file}'
    with tempfile.TemporaryDirectory() as tmp:
        req, report = pathlib.Path(tmp, 'req.txt'), pathlib.Path(tmp, 'report.json')
        req.write_text('\n'.join(kept + [gpu_req]) + '\n')
        env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_')}
        env['PIP_CONFIG_FILE'] = os.devnull
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--quiet',
                        '--ignore-installed', '--report', str(report), '-r', str(req)],
                       env=env, check=True)
        installs = json.loads(report.read_text())['install']
    gpu_name = canonical(gpu_req.split('[')[0].split('==')[0])
    lines = []
    for item in installs:
        name, version = item['metadata']['name'], item['metadata']['version']
        if canonical(name) == gpu_name:
            lines.append(f"{name} @ {item['download_info']['url']}")
        else:
            lines.append(f'{name}=={version}')
    added = sorted({canonical(line.split('==')[0].split(' @ ')[0]) for line in lines}
                   - {canonical(p.split('==')[0]) for p in kept})
    header = [
        f'# Fully pinned environment .envs/{framework}-gpu (Python 3.11, Linux x86_64), '
        'created by `make` when it finds an NVIDIA GPU (README: "GPUs").',
        f'# requirements/{framework}.txt with {cpu_name} replaced by its CUDA build '
        f'{gpu_req}, which adds: {" ".join(added)}.',
        f'# Regenerate: python3 tools/pin_gpu_requirements.py {framework}']
    out = ROOT / 'requirements' / f'{framework}-gpu.txt'
    out.write_text('\n'.join(header + sorted(lines, key=str.lower)) + '\n')
    print(f'{out}: {len(lines)} packages, added {" ".join(added)}')


if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1] not in CUDA_BUILD:
        sys.exit(f'usage: {sys.argv[0]} {"|".join(CUDA_BUILD)}')
    # pip resolves for the Python and platform it runs on.
    if sys.version_info[:2] != (3, 11) or os.uname().machine != 'x86_64':
        sys.exit('run this with Python 3.11 on Linux x86_64, e.g. .envs/book/bin/python')
    main(sys.argv[1])

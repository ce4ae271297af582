#!/usr/bin/env bash
# Which environment runs a framework's tab: .envs/FRAMEWORK (CPU builds) or .envs/FRAMEWORK-gpu
# (CUDA builds). Called by make; prints the environment's name.
#
#   tools/choose_envs.sh FRAMEWORK          e.g. pytorch-gpu
#   tools/choose_envs.sh --note FRAMEWORK   one line when a GPU is there but FRAMEWORK cannot use it
#
# GPU=1 or GPU=0 decides; unset or empty, NVIDIA GPUs do (`nvidia-smi -L` lists one). A GPU
# environment whose test computation failed on this machine's GPU (the file `no-gpu` in it,
# written by tools/make_env.sh; MXNet's last CUDA build, for CUDA 11.7, may predate the GPU)
# is not chosen: that tab stays on the CPU, and --note says why. D2L_ENVS replaces .envs/.
set -euo pipefail

note=0
[ "${1:-}" = --note ] && { note=1; shift; }
fw=${1:?usage: tools/choose_envs.sh [--note] FRAMEWORK}
envs=${D2L_ENVS:-$(cd "$(dirname "$0")/.." && pwd)/.envs}

case ${GPU:-} in
  1) gpu=1;;
  0) gpu=0;;
  # Not `nvidia-smi -L | grep -q`: grep stops at the first GPU, and with pipefail the
  # listing's broken pipe would count as no GPU.
  '') if list=$(nvidia-smi -L 2>/dev/null) && grep -q '^GPU ' <<<"$list"; then gpu=1; else gpu=0; fi;;
  *) echo "error: GPU must be 0 or 1 (or unset: use NVIDIA GPUs when nvidia-smi lists one), got '$GPU'" >&2
     exit 2;;
esac

if [ $gpu = 1 ] && [ -f "$envs/$fw-gpu/no-gpu" ]; then
  [ $note = 1 ] && echo "note: the $fw tab runs on the CPU (cpu budget): .envs/$fw-gpu cannot compute on this GPU: $(head -n 1 "$envs/$fw-gpu/no-gpu")"
  [ $note = 1 ] || echo "$fw"
elif [ $note = 0 ]; then
  if [ $gpu = 1 ]; then echo "$fw-gpu"; else echo "$fw"; fi
fi

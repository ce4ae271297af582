#!/usr/bin/env bash
# Create the virtual environment .envs/NAME from requirements/NAME.txt (called by make).
#
#   tools/make_env.sh NAME [PYTHON]
#
# NAME is book (d2lbook + Sphinx), a framework's tab in d2l/frameworks.py (its CPU build) or
# that tab with -gpu (its CUDA build). A framework
# environment also gets the repository's d2l package (editable) and the Jupyter kernel spec of
# its kernel d2l-FRAMEWORK in .envs/NAME/kernel.json, which make copies to
# .envs/jupyter/kernels/ for the environment it chose (found through JUPYTER_PATH=.envs/jupyter,
# never installed into the home directory). A GPU environment then computes a convolution on
# the GPU (tools/gpu_probe.py); when that fails, the reason goes to .envs/NAME/no-gpu and
# tools/choose_envs.sh keeps that framework on the CPU. The stamp .envs/NAME/.stamp is written
# last, so an interrupted run leaves an environment that the next `make` rebuilds from scratch.
set -euo pipefail

name=${1:?usage: tools/make_env.sh NAME [PYTHON]}
python=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
env=$root/.envs/$name
req=$root/requirements/$name.txt

die() { echo "error: $*" >&2; exit 1; }

[ -f "$req" ] || die "no requirements file $req"
command -v "$python" >/dev/null 2>&1 ||
  die "'$python' not found. Install Python 3.11 (Debian 12: sudo apt-get install python3 python3-venv) or run make PYTHON=/path/to/python3.11"
# The pins resolve for CPython 3.11.2 (Debian 12's python3) and later 3.11 releases: `make
# check-pins` checks each package's Requires-Python against 3.11.2.
version=$("$python" -c 'import platform as p; print(p.python_implementation(), p.python_version())') ||
  die "'$python' does not run"
too_old="requirements/*.txt are pinned for CPython 3.11.2 or a later 3.11 (Debian 12's python3"
too_old+=" is 3.11.2); '$python' is $version. Install one (Debian 12: sudo apt-get install python3"
too_old+=" python3-venv; elsewhere python.org, pyenv or your distribution), then run"
too_old+=" make PYTHON=/path/to/python3.11"
"$python" - <<'EOF' || die "$too_old"
import platform, sys
sys.exit(0 if platform.python_implementation() == 'CPython'
         and (3, 11, 2) <= sys.version_info[:3] < (3, 12) else 1)
EOF
"$python" -c 'import venv, ensurepip' 2>/dev/null ||
  die "'$python' cannot create virtual environments. Debian: sudo apt-get install python3-venv"

echo "=== creating .envs/$name from requirements/$name.txt"
rm -rf "$env"
"$python" -m venv "$env"
pip=("$env/bin/python" -m pip --disable-pip-version-check --no-input)
# Fully pinned (`make check-pins` checks that pip adds nothing). The GPU files also pin each
# file by its sha256: pip's hash-checking mode installs exactly those files, never a local
# build of the same version (such as torch 2.13.0+cpu).
hash_mode=(); [ "$name" = "${name%-gpu}" ] || hash_mode=(--require-hashes)
"${pip[@]}" install -q ${hash_mode[@]+"${hash_mode[@]}"} -r "$req"

if [ "$name" != book ]; then
  framework=${name%-gpu}
  # The chapter's library, editable, so notebooks and tests see the working tree's d2l/.
  "${pip[@]}" install -q --no-deps --no-build-isolation -e "$root"
  frameworks=("$python" "$root/d2l/frameworks.py")
  display="d2l ($("${frameworks[@]}" display "$framework")" ||
    die "'$framework' is not a framework of d2l/frameworks.py"
  if [ "$name" = "$framework" ]; then display="$display)"; else display="$display, GPU)"; fi
  cat > "$env/kernel.json" <<EOF
{
  "argv": ["$env/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
  "display_name": "$display",
  "language": "python",
  "env": {"TF_CPP_MIN_LOG_LEVEL": "2"},
  "metadata": {"debugger": true}
}
EOF
  # Smoke test: the framework and the library import in this environment.
  module=$("${frameworks[@]}" module "$framework")
  (cd /tmp && TF_CPP_MIN_LOG_LEVEL=2 "$env/bin/python" -c "import $module, d2l, syne_tune, ipykernel") ||
    die ".envs/$name was created but 'import $module, d2l, syne_tune, ipykernel' fails"
  if [ "$name" != "$framework" ]; then
    if why=$(cd /tmp && TF_CPP_MIN_LOG_LEVEL=2 "$env/bin/python" "$root/tools/gpu_probe.py" \
               "$framework" 2>&1 >/dev/null); then
      echo "=== .envs/$name computes on the GPU"
    else
      # The probe's reason is its last line (a framework may log before it).
      echo "${why##*$'\n'}" > "$env/no-gpu"
      echo "note: .envs/$name cannot compute on this GPU ($(cat "$env/no-gpu")); the $framework tab will run on the CPU"
    fi
  fi
else
  "$env/bin/python" -c 'import d2lbook, sphinx, sphinxcontrib.bibtex, notedown' ||
    die ".envs/book was created but d2lbook does not import"
fi
touch "$env/.stamp"
echo "=== .envs/$name ready"

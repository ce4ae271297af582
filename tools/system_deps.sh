#!/usr/bin/env bash
# Check the system packages the build needs; install the missing ones with apt when running as
# root on Debian/Ubuntu, else print what to install (called by make and by .ci/run).
#
#   tools/system_deps.sh [PYTHON]
#
# Needed: pandoc (d2lbook build rst), zip (d2lbook build pkg), make, a Python 3.11 that can
# create virtual environments, Chromium and its driver (make test views the HTML in them,
# tests/reader), and the Fashion-MNIST files (Debian: dataset-fashion-mnist). The data is
# optional here: without it, d2l downloads the files into data/ (d2l/data.py).
set -uo pipefail

python=${1:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
missing=() why=()

need() { missing+=("$1"); why+=("$1: $2"); }

command -v pandoc >/dev/null 2>&1 || need pandoc "d2lbook build rst converts notebooks with it"
command -v zip >/dev/null 2>&1 || need zip "d2lbook build pkg zips the notebooks"
command -v make >/dev/null 2>&1 || need make "the build is a Makefile"
command -v chromium >/dev/null 2>&1 || need chromium "make test opens the HTML in it (headless)"
command -v chromedriver >/dev/null 2>&1 ||
  need chromium-driver "Selenium drives Chromium through it (make test)"
if command -v "$python" >/dev/null 2>&1; then
  "$python" -c 'import venv, ensurepip' 2>/dev/null ||
    need python3-venv "'$python' must create virtual environments"
else
  need python3 "the environments are built with Python 3.11"
  need python3-venv "'$python' must create virtual environments"
fi

have_data() {
  local d
  for d in ${D2L_DATA_DIR:+"$D2L_DATA_DIR/fashion-mnist"} "$root/data/fashion-mnist" \
           /usr/share/datasets/fashion-mnist; do
    [ -f "$d/train-images-idx3-ubyte.gz" ] && [ -f "$d/t10k-labels-idx1-ubyte.gz" ] && return 0
  done
  return 1
}
data_missing=0
have_data || data_missing=1

apt_ok=0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then apt_ok=1; fi

want=("${missing[@]}")
if [ "$data_missing" = 1 ] && [ "$apt_ok" = 1 ]; then want+=(dataset-fashion-mnist); fi
[ ${#want[@]} = 0 ] && exit 0

if [ "$apt_ok" = 1 ]; then
  echo "=== installing Debian packages: ${want[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists are missing or stale for these packages.
  if ! apt-get install -y -q --no-install-recommends "${want[@]}"; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "${want[@]}" || {
      echo "error: apt-get install ${want[*]} failed" >&2; exit 1; }
  fi
  exit 0
fi

if [ ${#missing[@]} != 0 ]; then
  echo "error: missing system packages:" >&2
  printf '  %s\n' "${why[@]}" >&2
  echo "Install them (Debian/Ubuntu): sudo apt-get install ${missing[*]}" >&2
  [ "$data_missing" = 1 ] && echo "  (and optionally dataset-fashion-mnist, else d2l downloads Fashion-MNIST into data/)" >&2
  exit 1
fi
if [ "$data_missing" = 1 ]; then
  echo "note: Fashion-MNIST is not installed; d2l will download it into data/fashion-mnist." >&2
  echo "      To use the Debian copy instead: sudo apt-get install dataset-fashion-mnist" >&2
fi
exit 0

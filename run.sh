#!/usr/bin/env bash
# One entry point for people and CI. Sets itself up on first use (idempotent), then runs:
#   bash run.sh train [options]   train the network on MNIST, print its test accuracy
#   bash run.sh test  [pytest options]   the whole test suite, notebooks and browser test included
#   bash run.sh lab               JupyterLab on the notebooks
#   bash run.sh bench             the benchmarks (installs the peers: PyTorch CPU, scikit-learn)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command=${1:-help}
[ $# -gt 0 ] && shift

PYTHON=${PYTHON:-python3}
VENV=.venv

# Real MNIST for development and CI lives beside the repository; a user's copy is found by the
# package itself (cache, download, or the bundled subset).
if [ -z "${MNIST_SCRATCH_DATA:-}" ] && [ -f ../shared/data/mnist/t10k-images-idx3-ubyte.gz ]; then
  export MNIST_SCRATCH_DATA="$(cd ../shared/data/mnist && pwd)"
fi

setup() {  # setup EXTRAS: create .venv and install the package with those extras, once per change
  local extras=$1
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras-$(cat pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
  fi
}

setup_chromium() {  # the browser test drives Debian's Chromium through playwright
  if [ ! -x /usr/bin/chromium ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing Chromium (Debian package) for the browser test..."
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
}

case "$command" in
  train)
    setup base
    exec "$VENV/bin/python" -m mnist_scratch train "$@" ;;
  test)
    setup test
    setup_chromium
    exec "$VENV/bin/python" -m pytest --nbval-lax "$@" ;;
  lab)
    setup base
    exec "$VENV/bin/python" -m jupyterlab notebooks "$@" ;;
  bench)
    setup bench
    exec "$VENV/bin/python" benchmarks/run_all.py "$@" ;;
  *)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    [ "$command" = help ] || exit 2 ;;
esac

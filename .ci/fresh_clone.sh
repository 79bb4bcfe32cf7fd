#!/usr/bin/env bash
# A user's first minutes, as CI sees them: `git clone` into a folder named mnist_scratch with
# nothing beside it (no ../shared, no MNIST_SCRATCH_DATA: offline, the 5,000-digit sample), then
# the README's two commands, then `python -m mnist_scratch --help` from the folder holding the clone.
set -euo pipefail
source=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"  # like a home folder: other users may enter (the read-only store test runs as one)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$source" "$work/mnist_scratch"
as_user() { env -u MNIST_SCRATCH_DATA -u MNIST_SCRATCH_HOME -u MNIST_SCRATCH_QUICK "$@"; }
cd "$work/mnist_scratch"
echo "== fresh clone in $work/mnist_scratch: bash run.sh train"
as_user bash run.sh train
echo "== fresh clone: bash run.sh test"
as_user bash run.sh test
echo "== python -m mnist_scratch --help from the folder that holds the clone"
cd "$work"
as_user mnist_scratch/.venv/bin/python -m mnist_scratch --help >/dev/null
echo "fresh clone: all three passed"

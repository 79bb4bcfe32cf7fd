"""Checkpoint files: a ``.npz`` of named arrays plus one JSON metadata entry.

Everything is plain arrays and JSON, loaded with ``allow_pickle=False``: a checkpoint can be
inspected with ``np.load`` alone and can never execute code. Writes are atomic (temporary
file + rename), so an interrupted save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .atomic import atomic_path

FORMAT = "mnist_scratch"
META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A file is not an mnist_scratch checkpoint, or not one that fits what was asked."""


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` atomically."""
    if META_KEY in arrays:
        raise ValueError(f"{META_KEY!r} is reserved for the metadata")
    text = json.dumps({"format": FORMAT, **meta}, sort_keys=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **{META_KEY: np.array(text)}, **arrays)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint; returns ``(arrays, meta)`` or raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path} is not a checkpoint (.npz of named arrays): {exc}") from exc
    if not isinstance(arrays, dict) or META_KEY not in arrays:
        raise CheckpointError(f"{path} is an .npz file but not an mnist_scratch checkpoint (no metadata)")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint metadata: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: metadata format {meta.get('format')!r} is not {FORMAT!r}")
    return arrays, meta

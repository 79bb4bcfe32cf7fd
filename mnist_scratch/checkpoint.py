"""Checkpoint files: the one owner of the network's and the training run's files.

A checkpoint is a ``.npz`` archive of named arrays (``W1, b1, W2, b2, ...``; for a training run
also ``opt.<name>`` for the optimizer state; for a network with a memory of the user's corrections
``memory.keys, memory.labels, memory.radii``, see :mod:`mnist_scratch.memory`; for a retrained one
``before_retrain.W1, ...``, the weights its retrains start from, see :mod:`mnist_scratch.retrain`)
plus one JSON metadata entry, ``__meta__``. Nothing is ever unpickled: a checkpoint can be inspected
with ``np.load(path, allow_pickle=False)`` alone and can never execute code.

Reading trusts nothing in the file. The metadata is read first (bounded in size) and checked; it
says which arrays must be there and their shapes and dtype; each array's header is checked
against that *before* its data is read, and only the bytes those shapes need are read, so a
forged header or a zip bomb costs nothing. Parameters must be finite floating-point numbers of
the declared dtype. Anything else is a :class:`CheckpointError` naming the file and the problem.

Writes are atomic (:mod:`mnist_scratch.atomic`): at every instant the path holds a complete
file, the old one or the new one.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic import atomic_path
from .memory import NAMES as MEMORY_NAMES, CorrectionMemory
from .network import Network, architecture

FORMAT = "mnist_scratch"
BEFORE_RETRAIN = "before_retrain"  # the arrays before_retrain.W1, ... and the metadata flag
META_KEY = "__meta__"
INPUTS, CLASSES = 784, 10           # the only networks the package can use: 28 x 28 pixels -> 10 digits
MAX_HIDDEN_LAYERS, MAX_WIDTH = 8, 16_384
DTYPES = ("float32", "float64")
MAX_META_BYTES = 64 * 2**20         # the metadata (config, history) is small; refuse a giant one
MAX_EXTRA_BYTES = 256 * 2**20       # training state arrays other than the parameters
NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A file is not an mnist_scratch checkpoint, or not one that fits what was asked."""


# ----------------------------------------------------------------------------- writing
def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict, *,
                    backup_tag: str | None = None) -> Path | None:
    """Write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` atomically.

    With ``backup_tag``, a file already at ``path`` is kept as a backup (see :func:`keep_backup`),
    and the backup's path is returned; otherwise None.
    """
    if META_KEY in arrays:
        raise ValueError(f"{META_KEY!r} is reserved for the metadata")
    text = json.dumps({"format": FORMAT, **meta}, sort_keys=True, allow_nan=False)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{META_KEY: np.array(text)}, **arrays)
        # The old file is still at path until this block ends, then the new one replaces it.
        return keep_backup(path, backup_tag) if backup_tag else None


def network_metadata(net: Network) -> dict:
    """What a checkpoint records about the network itself."""
    return {"kind": "network", "sizes": list(net.sizes), "dtype": net.dtype.name}


def save_network(net: Network, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save ``net``'s parameters (``W1, b1, ...``) and ``metadata`` (a JSON-able dict) atomically."""
    save_network_keeping_backup(net, path, None, metadata)
    return Path(path)


def save_network_keeping_backup(net: Network, path: str | os.PathLike, tag: str | None,
                                metadata: dict | None = None) -> Path | None:
    """:func:`save_network`, keeping a file already at ``path`` beside it as
    ``<stem>.<tag>-<time>.npz`` (see :func:`keep_backup`); returns the backup's path, if any."""
    check_network_shape(net.sizes, str(path))
    arrays, meta = dict(net.params), {**network_metadata(net), "user": metadata or {}}
    if net.memory is not None:  # the user's corrections travel with the weights that were tuned on them
        check_memory_width(net.memory.width, net.sizes, str(path))
        arrays.update({f"memory.{name}": getattr(net.memory, name) for name in MEMORY_NAMES})
        meta["memory"] = {"size": len(net.memory), "width": net.memory.width,
                          "reach": net.memory.reach, "strength": net.memory.strength, "vote": net.memory.vote}
    if net.before_retrain is not None:  # the weights a retrain starts from (retrain.py)
        arrays.update({f"{BEFORE_RETRAIN}.{name}": net.before_retrain[name] for name in net.params})
        meta[BEFORE_RETRAIN] = True
    return save_checkpoint(path, arrays, meta, backup_tag=tag)


def check_writable(path: str | os.PathLike) -> Path:
    """Fail now, not after training, if a checkpoint cannot be written at ``path``."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give a file name for the checkpoint")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".write-test")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CheckpointError(f"cannot write a checkpoint to {path}: {exc.strerror or exc}") from None
    return path


def keep_backup(path: str | os.PathLike, tag: str) -> Path | None:
    """Keep the file at ``path`` as ``<stem>.<tag>-<time><suffix>`` beside it; return that name.

    The file stays where it is too (a hard link, or a copy where links are not possible), so the
    caller can then atomically replace ``path`` and ``path`` never goes missing.
    """
    path = Path(path)
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup, counter = path.with_name(f"{path.stem}.{tag}-{stamp}{path.suffix}"), 1
    while backup.exists():
        backup = path.with_name(f"{path.stem}.{tag}-{stamp}-{counter}{path.suffix}")
        counter += 1
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)
    return backup


# ----------------------------------------------------------------------------- reading
def _fail(path, problem: str) -> CheckpointError:
    return CheckpointError(f"{path}: {problem}")


def _open_archive(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})") from None
    if start == NPY_MAGIC:
        raise _fail(path, "is a single NumPy array (.npy), not a checkpoint (.npz archive of named arrays)")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise _fail(path, "is not a checkpoint: not an .npz archive (damaged, truncated, or another "
                          "kind of file)") from None


def _read_member(path: Path, archive: zipfile.ZipFile, name: str, shape: tuple | None, dtype: np.dtype | None,
                 max_bytes: int) -> np.ndarray:
    """Array ``name`` from the archive, refusing it unless its header says ``shape`` and ``dtype``.

    ``None`` for shape or dtype accepts any, within ``max_bytes``. The data is read only after the
    header passed, and only as many bytes as the header's shape needs.
    """
    try:
        info = archive.getinfo(name + ".npy")
    except KeyError:
        raise _fail(path, f"array {name!r} is missing") from None
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_1_0(member)
            elif version in ((2, 0), (3, 0)):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unknown .npy version {version}")
            if got_dtype.hasobject or got_dtype.fields is not None or got_dtype.subdtype is not None:
                raise _fail(path, f"array {name!r} holds Python objects or records ({got_dtype}), "
                                  f"not plain numbers")
            if dtype is not None and (got_dtype.kind != dtype.kind or got_dtype.itemsize != dtype.itemsize):
                raise _fail(path, f"array {name!r} is {got_dtype.name}, the metadata says {dtype.name}")
            if shape is not None and tuple(got_shape) != tuple(shape):
                raise _fail(path, f"array {name!r} has shape {tuple(got_shape)}, expected {tuple(shape)}")
            count = int(np.prod(got_shape, dtype=object))
            nbytes = count * got_dtype.itemsize
            if nbytes > max_bytes:
                raise _fail(path, f"array {name!r} claims {nbytes:,} bytes, more than it can hold")
            data = member.read(nbytes)
    except CheckpointError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
        raise _fail(path, f"array {name!r} is damaged ({str(exc).splitlines()[0][:120]})") from None
    if len(data) != nbytes:
        raise _fail(path, f"array {name!r} is truncated ({len(data):,} of {nbytes:,} bytes)")
    array = np.frombuffer(data, dtype=got_dtype).reshape(got_shape, order="F" if fortran else "C")
    return array.astype(got_dtype.newbyteorder("="), copy=True)


def read_metadata(path: str | os.PathLike) -> dict:
    """The checked metadata of the checkpoint at ``path`` (a network's or a training run's)."""
    path = Path(path)
    with _open_archive(path) as archive:
        return _metadata(path, archive)


def _metadata(path: Path, archive: zipfile.ZipFile) -> dict:
    if META_KEY + ".npy" not in archive.namelist():
        raise _fail(path, "is an .npz archive but not an mnist_scratch checkpoint (no metadata)")
    text = _read_member(path, archive, META_KEY, (), None, MAX_META_BYTES)
    if text.dtype.kind != "U":
        raise _fail(path, f"the metadata is {text.dtype}, not text")
    try:
        meta = json.loads(str(text[()]))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _fail(path, f"unreadable metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise _fail(path, f"the metadata is a JSON {type(meta).__name__}, not an object")
    if meta.get("format") != FORMAT:
        raise _fail(path, f"metadata format {meta.get('format')!r} is not {FORMAT!r}")
    check_network_shape(meta.get("sizes"), str(path))
    if meta.get("dtype", "float32") not in DTYPES:
        raise _fail(path, f"dtype {meta.get('dtype')!r} is not one of {', '.join(DTYPES)}")
    if meta.get("kind", "network") not in ("network", "training"):
        raise _fail(path, f"unknown checkpoint kind {meta.get('kind')!r}")
    if not isinstance(meta.get("history", []), list) or not all(isinstance(r, dict) for r in meta.get("history", [])):
        raise _fail(path, "the training history is not a list of records")
    return meta


def check_network_shape(sizes, source: str) -> tuple[int, ...]:
    """``sizes`` as a tuple if it is a network this package can use: 784 inputs, 10 classes.

    Raises :class:`CheckpointError` naming ``source`` otherwise.
    """
    if not isinstance(sizes, (list, tuple)) or not all(type(s) is int for s in sizes):
        raise CheckpointError(f"{source}: layer sizes must be a list of integers, got {sizes!r}"[:300])
    if not 2 <= len(sizes) <= MAX_HIDDEN_LAYERS + 2:
        raise CheckpointError(f"{source}: a network has 0..{MAX_HIDDEN_LAYERS} hidden layers, "
                              f"got sizes {list(sizes)}"[:300])
    if sizes[0] != INPUTS or sizes[-1] != CLASSES:
        raise CheckpointError(f"{source} holds a {architecture(sizes)} network; only networks from "
                              f"{INPUTS} pixels to {CLASSES} digits can be used")
    if not all(1 <= s <= MAX_WIDTH for s in sizes[1:-1]):
        raise CheckpointError(f"{source}: hidden layer widths must be 1..{MAX_WIDTH}, got {list(sizes)}")
    return tuple(sizes)


def _parameters(path: Path, archive: zipfile.ZipFile, meta: dict, prefix: str = "") -> dict[str, np.ndarray]:
    """The parameters ``W1, b1, ...`` (or, with ``prefix="before_retrain."``, the weights a retrain
    starts from), each checked: shape from ``meta["sizes"]``, floating point, finite."""
    sizes, dtype = tuple(meta["sizes"]), np.dtype(meta.get("dtype", "float32"))
    arrays = {}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        for name, shape in ((f"W{i}", (fan_in, fan_out)), (f"b{i}", (fan_out,))):
            array = _read_member(path, archive, prefix + name, shape, dtype, fan_in * fan_out * dtype.itemsize)
            if array.dtype.kind != "f":
                raise _fail(path, f"parameter {prefix + name} is {array.dtype}, not floating point")
            if not np.isfinite(array).all():
                raise _fail(path, f"parameter {prefix + name} holds NaN or infinite values")
            arrays[name] = array
    return arrays


def _before_retrain(path: Path, archive: zipfile.ZipFile, meta: dict) -> dict[str, np.ndarray] | None:
    """The weights a retrain starts from (``meta["before_retrain"]`` and the ``before_retrain.*``
    arrays), or None when the network was never retrained."""
    flag = meta.get(BEFORE_RETRAIN)
    if flag is None:
        return None
    if flag is not True:
        raise _fail(path, f"the metadata's {BEFORE_RETRAIN!r} is {flag!r}, not true")
    return _parameters(path, archive, meta, prefix=BEFORE_RETRAIN + ".")


def _refuse_unknown_members(path: Path, archive: zipfile.ZipFile, known: Callable[[str], bool]) -> None:
    """Refuse an archive holding anything besides the metadata and the arrays ``known`` accepts."""
    for member in archive.namelist():
        name = member[:-4] if member.endswith(".npy") else member
        if not (name == META_KEY or known(name)):
            raise _fail(path, f"unexpected entry {member!r} (not part of an mnist_scratch checkpoint)")


def _is_training_state(name: str) -> bool:
    return name.startswith(("opt.", "train."))


def check_memory_width(width, sizes, source: str) -> None:
    """A memory's keys must be digits as the network reads them: ``sizes[0]`` (784) numbers each."""
    if width != sizes[0]:
        raise CheckpointError(f"{source}: the memory of corrections holds keys of width {width}, but the "
                              f"network reads {sizes[0]} pixels; such a memory cannot be used with it")


def _memory(path: Path, archive: zipfile.ZipFile, meta: dict) -> CorrectionMemory | None:
    """The network's memory of corrections (``meta["memory"]`` and the ``memory.*`` arrays), or None."""
    info = meta.get("memory")
    if info is None:
        return None
    if not (isinstance(info, dict) and type(info.get("size")) is int and type(info.get("width")) is int
            and info["size"] >= 0 and all(type(info.get(k)) in (int, float) for k in ("reach", "strength"))
            and type(info.get("vote", "sum")) is str):
        raise _fail(path, "the memory's metadata is not {size: int, width: int, reach: number, strength: number, "
                          "vote: text}")
    check_memory_width(info["width"], meta["sizes"], str(path))
    m, width = info["size"], info["width"]
    shapes = {"keys": ((m, width), np.dtype(np.float32)), "labels": ((m,), np.dtype(np.int64)),
              "radii": ((m,), np.dtype(np.float32))}
    arrays = {name: _read_member(path, archive, f"memory.{name}", shape, dtype, MAX_EXTRA_BYTES)
              for name, (shape, dtype) in shapes.items()}
    try:
        # A memory saved before the votes became "nearest" has no "vote": it was made with summed votes.
        return CorrectionMemory(**arrays, reach=info["reach"], strength=info["strength"],
                                vote=info.get("vote", "sum"))
    except ValueError as exc:
        raise _fail(path, f"the memory is invalid: {exc}") from None


def load_network(path: str | os.PathLike, sizes=None) -> Network:
    """The network saved at ``path`` (by :func:`save_network`, or a training run's parameters).

    If ``sizes`` is given, a checkpoint of another architecture is a :class:`CheckpointError`.
    """
    path = Path(path)
    with _open_archive(path) as archive:
        meta = _metadata(path, archive)
        saved = tuple(meta["sizes"])
        if sizes is not None and tuple(sizes) != saved:
            raise CheckpointError(f"{path} holds a {architecture(saved)} network, expected {architecture(sizes)}")
        params = _parameters(path, archive, meta)
        memory = _memory(path, archive, meta)
        before = _before_retrain(path, archive, meta)
        _refuse_unknown_members(path, archive, lambda name: name in params or
                                (memory is not None and name.startswith("memory.")) or
                                (before is not None and name.startswith(BEFORE_RETRAIN + ".")) or
                                (meta.get("kind") == "training" and _is_training_state(name)))
    net = Network(saved, seed=0, dtype=meta.get("dtype", "float32"))
    for name, array in params.items():
        net.params[name][...] = array
    net.memory = memory
    net.before_retrain = before
    return net


def load_checkpoint(path: str | os.PathLike,
                    expected: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None,
                    ) -> tuple[dict[str, np.ndarray], dict]:
    """All arrays and the metadata of a checkpoint, every part checked: ``(arrays, meta)``.

    ``expected`` names the training-state arrays (``opt.*``, ``train.*``) a caller requires, with
    their shape and dtype (``None`` accepts any); without it they are read as found, bounded in
    size. Raises :class:`CheckpointError` (or ``FileNotFoundError``).
    """
    path = Path(path)
    with _open_archive(path) as archive:
        meta = _metadata(path, archive)
        arrays = _parameters(path, archive, meta)
        extra = {}
        if expected is not None:
            for name, (shape, dtype) in expected.items():
                extra[name] = _read_member(path, archive, name, shape, dtype, MAX_EXTRA_BYTES)
            _refuse_unknown_members(path, archive, lambda name: name in arrays or name in extra)
        else:
            memory = _memory(path, archive, meta)
            before = _before_retrain(path, archive, meta)
            _refuse_unknown_members(path, archive, lambda name: name in arrays or _is_training_state(name)
                                    or (memory is not None and name.startswith("memory."))
                                    or (before is not None and name.startswith(BEFORE_RETRAIN + ".")))
            if memory is not None:  # already read and checked by _memory
                extra.update({f"memory.{name}": getattr(memory, name) for name in MEMORY_NAMES})
            if before is not None:
                extra.update({f"{BEFORE_RETRAIN}.{name}": array for name, array in before.items()})
            for member in archive.namelist():
                name = member[:-4]
                if _is_training_state(name):
                    extra[name] = _read_member(path, archive, name, None, None, MAX_EXTRA_BYTES)
    return {**arrays, **extra}, meta


# ----------------------------------------------------------------------------- training runs
RUN_FIELDS = {"step": int, "total_steps": int, "config": dict, "history": list,
              "seconds": (int, float), "loss_sum": (int, float), "loss_count": int}


def save_run(path: str | os.PathLike, net: Network, optimizer_state: dict[str, np.ndarray], fields: dict) -> Path:
    """Write a training run: ``net``'s parameters, ``opt.<name>`` arrays and the JSON ``fields``.

    ``fields`` holds the JSON part (see ``RUN_FIELDS``; ``data_fingerprint`` too). Never writes
    NaN or infinite parameters (raises ``FloatingPointError``; the file at ``path`` stays as it was).
    """
    if not all(np.isfinite(a).all() for a in net.params.values()):
        raise FloatingPointError(f"the parameters hold NaN or inf; {path} was left as it was")
    arrays = dict(net.params)
    arrays.update({f"opt.{name}": value for name, value in optimizer_state.items()})
    save_checkpoint(path, arrays, {**network_metadata(net), **fields, "kind": "training"})
    return Path(path)


def read_run(path: str | os.PathLike, net: Network,
             optimizer_template: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a training run saved by :func:`save_run` into ``net``; returns ``(fields, optimizer_state)``.

    ``optimizer_template`` is a fresh optimizer state: its names, shapes and dtypes are the ones the
    file must have. ``net`` is only changed once everything has been read and checked.
    """
    path = Path(path)
    meta = read_metadata(path)
    if meta.get("kind") != "training":
        raise CheckpointError(f"{path} holds a bare network, not a training run: there is nothing to resume")
    if tuple(meta["sizes"]) != tuple(net.sizes):
        raise CheckpointError(f"{path} is a {architecture(meta['sizes'])} network; cannot resume "
                              f"into a {architecture(net.sizes)} network")
    if meta.get("dtype", "float32") != net.dtype.name:
        raise CheckpointError(f"{path} holds {meta.get('dtype', 'float32')} parameters; cannot resume "
                              f"into a {net.dtype.name} network")
    for name, kind in RUN_FIELDS.items():
        if type(meta.get(name)) is bool or not isinstance(meta.get(name), kind):
            raise CheckpointError(f"{path}: training field {name!r} is missing or of the wrong type")
    if not 0 <= meta["step"] <= meta["total_steps"] or meta["loss_count"] < 0:
        raise CheckpointError(f"{path}: step {meta['step']} of {meta['total_steps']} is not a valid position")
    expected = {f"opt.{name}": (value.shape, value.dtype) for name, value in optimizer_template.items()}
    arrays, _ = load_checkpoint(path, expected)
    optimizer_state = {name: arrays[f"opt.{name}"] for name in optimizer_template}
    if not all(np.isfinite(value).all() for value in optimizer_state.values()):
        raise CheckpointError(f"{path}: the optimizer state holds NaN or infinite values")
    for name, view in net.params.items():
        view[...] = arrays[name]
    return meta, optimizer_state

"""Writing IDX files, for tests only: the package reads MNIST's format, it never needs to write it."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
         np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes (uncompressed) of ``array``: magic, big-endian dimensions, big-endian data."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big_endian not in CODES:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, CODES[big_endian], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=big_endian).tobytes()


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip if ``compress`` (default: the name ends in .gz)."""
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz" if compress is None else compress:
        data = gzip.compress(data, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path

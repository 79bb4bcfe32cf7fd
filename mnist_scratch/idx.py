"""Reading IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number, then one big-endian uint32 per dimension, then the data:

    bytes 0-1  zero
    byte  2    type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
    byte  3    number of dimensions
    4*ndim     the dimensions, big-endian uint32
    rest       prod(dims) items, big-endian

MNIST images are ``(N, 28, 28)`` uint8 (magic 0x00000803), labels ``(N,)`` uint8 (0x00000801).
Files may be gzipped (detected from the content, not the name).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np


_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IdxFormatError(ValueError):
    """An IDX file is empty, truncated, too long, or has a wrong header."""


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """The decompressed bytes of an IDX file (gzipped or raw); errors name the file."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise IdxFormatError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array in native byte order, validating everything.

    Returns
    -------
    ndarray of shape ``dims`` with the dtype of the type code (uint8 for MNIST).
    """
    if len(data) == 0:
        raise IdxFormatError(f"{name}: the file is empty")
    if len(data) < 4:
        raise IdxFormatError(f"{name}: truncated header ({len(data)} bytes, need at least 4)")
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(
            f"{name}: wrong magic number 0x{data[:4].hex()} (an IDX file starts with two zero bytes)"
        )
    code, ndim = data[2], data[3]
    if code not in _DTYPES:
        raise IdxFormatError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise IdxFormatError(f"{name}: the header declares zero dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxFormatError(f"{name}: truncated header ({len(data)} bytes, need {header_len})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_len
    if actual < expected:
        raise IdxFormatError(
            f"{name}: truncated: the header declares shape {dims} ({expected} data bytes) "
            f"but only {actual} bytes follow"
        )
    if actual > expected:
        raise IdxFormatError(
            f"{name}: {actual - expected} unexpected bytes after the data of shape {dims}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read and validate an IDX file (gzipped or raw). See :func:`parse_idx`."""
    return parse_idx(read_idx_bytes(path), name=str(path))

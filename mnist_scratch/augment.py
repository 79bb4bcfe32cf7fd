"""Random small affine distortions of a batch of digits (data augmentation), vectorized.

Each digit gets its own random rotation, scale and shift; the output pixel at ``p`` (relative to
the image center ``c``) takes the input at ``c + R(-angle) (p - shift) / scale``, interpolated
bilinearly (zero outside the image). Drawn digits vary in exactly these ways, so a network trained
on them recognises a digit that is a little off-center, small, large or slanted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE = 28
_CENTER = (SIDE - 1) / 2.0
_ROWS, _COLS = np.meshgrid(np.arange(SIDE, dtype=np.float32) - _CENTER,
                           np.arange(SIDE, dtype=np.float32) - _CENTER, indexing="ij")
_ROWS, _COLS = _ROWS.ravel(), _COLS.ravel()  # (784,) pixel offsets from the center


@dataclass(frozen=True)
class AugmentConfig:
    max_shift: float = 2.0      # pixels, uniform in [-max_shift, max_shift] along each axis
    max_rotate: float = 10.0    # degrees, uniform in [-max_rotate, max_rotate]
    min_scale: float = 0.9      # uniform scale factor in [min_scale, max_scale]
    max_scale: float = 1.1


def random_affine(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """Distort every digit of a batch.

    x : (N, 784) float32 in [0, 1]  ->  (N, 784) float32 in [0, 1] (a new array)
    Draws exactly 5 * N numbers from ``rng`` (so resumed training stays reproducible).
    """
    n = len(x)
    draws = rng.random((n, 5), dtype=np.float32)
    angle = np.deg2rad(cfg.max_rotate, dtype=np.float32) * (2 * draws[:, 0:1] - 1)  # (N, 1)
    scale = cfg.min_scale + (cfg.max_scale - cfg.min_scale) * draws[:, 1:2]
    shift_r = cfg.max_shift * (2 * draws[:, 2:3] - 1)
    shift_c = cfg.max_shift * (2 * draws[:, 3:4] - 1)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    u, v = _ROWS - shift_r, _COLS - shift_c                   # (N, 784)
    src_r = cos * u + sin * v + _CENTER
    src_c = cos * v - sin * u + _CENTER
    return bilinear_sample(x.reshape(n, SIDE, SIDE), src_r, src_c)


def bilinear_sample(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample ``images: (N, 28, 28)`` at fractional ``rows, cols: (N, P)``; zero outside.

    Returns (N, P) float32.
    """
    n, width = len(images), SIDE + 3
    padded = np.zeros((n, width, width), dtype=np.float32)  # zero border: 1 before, 2 after
    padded[:, 1:SIDE + 1, 1:SIDE + 1] = images
    rows = np.clip(rows, -1, SIDE)  # anything outside lands on the zero border
    cols = np.clip(cols, -1, SIDE)
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    # Flat index of the top-left neighbour in the padded batch (+1 for the border).
    base = (r0.astype(np.int32) + 1) * width + (c0.astype(np.int32) + 1)
    base += (np.arange(n, dtype=np.int32) * width * width)[:, None]
    flat = padded.ravel()
    top = flat[base] + (flat[base + 1] - flat[base]) * fc
    bottom = flat[base + width] + (flat[base + width + 1] - flat[base + width]) * fc
    return top + (bottom - top) * fr

"""Random distortions of a batch of digits (data augmentation), vectorized.

Each digit gets its own random rotation, scale and shift, optionally a smooth random bend (the
"elastic distortions" of Simard, Steinkraus and Platt, 2003) and heavier strokes. People's digits
vary in exactly these ways, so a network trained on them recognises a digit that is a little
off-center, small, large, slanted, wobbly or drawn with a broad pen.

A warp says, for every output pixel ``p``, where in the input it reads:

    src(p) = c + R(-angle) (p - c - shift) / scale + e(p)

with ``c`` the image center, ``R`` a rotation and ``e`` an optional displacement field (zero
without elastic distortion). The input is interpolated bilinearly there (zero outside the image).

Two implementations of the same sampling:

* :func:`random_affine` and :func:`bilinear_sample`: the readable reference. Every digit gets
  fresh random numbers and its own sampling coordinates.
* The fast path used by training (:func:`make_bank`, :func:`warp_fast`, :func:`random_warp_fast`):
  ``bank_size`` warps (rotation, scale, sub-pixel shift, elastic bend) are precomputed once per
  epoch, each digit picks one of them plus a whole-pixel shift, and the digits are stored as
  ``uint8`` with a zero border. The whole-pixel shift then only moves the flat index where a digit
  is read (so it applies to the source: the digit moves by about minus that much), and the four taps of
  bilinear interpolation are four ``take``s from a ``uint8`` array: a batch costs 2-3 x less CPU
  than with the reference (``python benchmarks/bench_speed.py --sections augment``), and training
  makes the batches in a worker process (or on threads) while the network trains (:mod:`.batches`). The tests
  check that it gives the reference's numbers at the bank's coordinates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

SIDE = 28
_CENTER = (SIDE - 1) / 2.0
_ROWS, _COLS = np.meshgrid(np.arange(SIDE, dtype=np.float32) - _CENTER,
                           np.arange(SIDE, dtype=np.float32) - _CENTER, indexing="ij")
_ROWS, _COLS = _ROWS.ravel(), _COLS.ravel()  # (784,) pixel offsets from the center


@dataclass(frozen=True)
class AugmentConfig:
    max_shift: float = 2.0      # pixels, uniform in [-max_shift, max_shift] along each axis (the
                                # fast path: a whole number of pixels, up to its small rotation/scale)
    max_rotate: float = 10.0    # degrees, uniform in [-max_rotate, max_rotate]
    min_scale: float = 0.9      # uniform scale factor in [min_scale, max_scale]
    max_scale: float = 1.1
    elastic_alpha: float = 1.5  # pixels: strength of the elastic bend (Simard 2003); 0 = none
    elastic_sigma: float = 4.0  # pixels: smoothness of the bend (Gaussian std of the field)
    thicken: float = 0.0        # fraction of digits drawn with a broader pen (3 x 3 dilation)
    bank_size: int = 256        # fast path: warps precomputed per epoch (more: slower, cache misses)


# ----------------------------------------------------------------------------- reference path
def random_affine(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """Distort every digit of a batch (rotation, scale, shift only), the readable way.

    x : (N, 784) float32 in [0, 1]  ->  (N, 784) float32 in [0, 1] (a new array)
    Draws exactly 5 * N numbers from ``rng``.
    """
    n = len(x)
    draws = rng.random((n, 5), dtype=np.float32)
    angle = np.deg2rad(cfg.max_rotate, dtype=np.float32) * (2 * draws[:, 0] - 1)  # (N,)
    scale = cfg.min_scale + (cfg.max_scale - cfg.min_scale) * draws[:, 1]
    shift = cfg.max_shift * (2 * draws[:, 2:4] - 1)                                   # (N, 2)
    rows, cols = source_coordinates(angle, scale, shift)
    return bilinear_sample(x.reshape(n, SIDE, SIDE), rows, cols)


def source_coordinates(angle: np.ndarray, scale: np.ndarray, shift: np.ndarray,
                       displacement: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where each output pixel reads the input, for ``N`` warps.

    angle : (N,) radians;  scale : (N,) > 0;  shift : (N, 2) pixels (rows, columns)
    displacement : (N, 2, 784) pixels or None, added to the source point (elastic bend)
    Returns rows, cols : (N, 784) float32, input coordinates (0 .. 27 inside the image).
    """
    angle, scale = np.asarray(angle, np.float32)[:, None], np.asarray(scale, np.float32)[:, None]
    shift = np.asarray(shift, np.float32)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale   # (N, 1)
    u, v = _ROWS - shift[:, 0:1], _COLS - shift[:, 1:2]       # (N, 784) output offsets from center
    rows = cos * u + sin * v + _CENTER
    cols = cos * v - sin * u + _CENTER
    if displacement is not None:
        rows += displacement[:, 0]
        cols += displacement[:, 1]
    return rows, cols


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


def elastic_displacements(n: int, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """``n`` smooth random displacement fields (Simard et al. 2003): uniform noise in [-1, 1] per
    pixel and axis, Gaussian-smoothed with std ``sigma`` px, scaled so the largest displacement of
    each field is ``alpha`` px (Simard scaled by ``alpha`` before normalising; normalising makes
    ``alpha`` mean the same thing for every ``sigma``).

    Returns (n, 2, 784) float32 pixels (rows, columns).
    """
    noise = rng.uniform(-1, 1, size=(n, 2, SIDE, SIDE)).astype(np.float32)
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma), mode="constant")
    peak = np.abs(smooth).reshape(n, -1).max(axis=1)
    smooth *= (alpha / np.maximum(peak, 1e-12))[:, None, None, None]
    return smooth.reshape(n, 2, SIDE * SIDE)


# ----------------------------------------------------------------------------- fast path
@dataclass(frozen=True)
class WarpBank:
    """Precomputed warps for :func:`warp_fast`: for every warp and output pixel, the top-left of the
    four input pixels it interpolates, as a flat index into a zero-bordered (PADDED, PADDED)
    image, and its fractional position between them.

    index : (K, 784) int32 (half the memory of NumPy's index type, so more of it stays in cache)
    frac_r, frac_c : (K, 784) float32 in [0, 1)
    """

    index: np.ndarray
    frac_r: np.ndarray
    frac_c: np.ndarray
    max_shift: int  # whole pixels a digit may be shifted by on top of its warp

    def __len__(self) -> int:
        return len(self.index)


# Thickened strokes (:func:`thicken`) may spread ink this many pixels beyond the 28 x 28 box.
INK_MARGIN = 1


def border(max_shift: int) -> tuple[int, int]:
    """Zero rows/columns ``(before, after)`` a padded image needs for ``max_shift``-pixel shifts.

    Ink lies within ``[-m, 27 + m]`` (``m = INK_MARGIN``). A source point is clamped to
    ``[-1 - m - s, 28 + m + s]``: shifted by up to ``s`` either way, a point that started outside
    the ink still reads zeros (a clamped point is a whole pixel, so only its first tap has weight),
    and both taps stay inside the padded image.
    """
    return 1 + INK_MARGIN + 2 * max_shift, 2 + INK_MARGIN + 2 * max_shift


def padded_side(max_shift: int) -> int:
    return SIDE + sum(border(max_shift))


def to_padded_uint8(x: np.ndarray, max_shift: int) -> np.ndarray:
    """Digits as ``uint8`` with the zero border :func:`warp_fast` reads from.

    x : (N, 784) float in [0, 1] (rounded to multiples of 1/255: exact for MNIST's own pixels)
    Returns (N, P, P) uint8 in 0..255 with ``P = padded_side(max_shift)``.
    """
    before, _ = border(max_shift)
    side = padded_side(max_shift)
    out = np.zeros((len(x), side, side), dtype=np.uint8)
    digits = out[:, before:before + SIDE, before:before + SIDE]
    np.rint(np.clip(x.reshape(-1, SIDE, SIDE), 0, 1) * 255, out=digits, casting="unsafe")
    return out


def make_bank(cfg: AugmentConfig, rng: np.random.Generator, size: int | None = None,
              scale_factor: float = 1.0, bends: np.ndarray | None = None) -> WarpBank:
    """``size`` (default ``cfg.bank_size``) random warps of ``cfg``'s family, each with a sub-pixel
    shift in [0, 1) px along each axis; :func:`random_warp_fast` adds the whole pixels.

    ``scale_factor`` multiplies every scale (used to keep thickened digits at their usual size).
    ``bends``: (M, 2, 784) elastic displacement fields to pick from (smoothing fresh ones is the
    slow part of making a bank); default: fresh ones if ``cfg.elastic_alpha > 0``.
    """
    size = cfg.bank_size if size is None else size
    angle = np.deg2rad(cfg.max_rotate) * rng.uniform(-1, 1, size)
    scale = scale_factor * rng.uniform(cfg.min_scale, cfg.max_scale, size)
    fraction = rng.uniform(0, 1, (size, 2)) if cfg.max_shift >= 1 else np.zeros((size, 2))
    bend = None
    if bends is not None:
        bend = bends[rng.integers(0, len(bends), size)]
    elif cfg.elastic_alpha > 0:
        bend = elastic_displacements(size, rng, cfg.elastic_alpha, cfg.elastic_sigma)
    rows, cols = source_coordinates(angle, scale, fraction, bend)
    shift = int(cfg.max_shift)
    before, _ = border(shift)
    low, high = -1 - INK_MARGIN - shift, SIDE + INK_MARGIN + shift
    rows, cols = np.clip(rows, low, high), np.clip(cols, low, high)
    r0, c0 = np.floor(rows), np.floor(cols)
    index = (r0.astype(np.int32) + before) * padded_side(shift) + (c0.astype(np.int32) + before)
    return WarpBank(index, (rows - r0).astype(np.float32), (cols - c0).astype(np.float32), shift)


def warp_fast(images: np.ndarray, bank: WarpBank, warp: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Digit ``i`` through ``bank``'s warp ``warp[i]``, its source moved by ``shift[i]`` pixels.

    images : (N, P, P) uint8 from :func:`to_padded_uint8`;  warp : (N,) int in [0, len(bank))
    shift : (N, 2) int in [-bank.max_shift, bank.max_shift] (rows, columns)
    Returns (N, 784) float32 in [0, 1]: the same numbers as :func:`bilinear_sample` of the digits
    at the warp's coordinates plus ``shift``.
    """
    n, side = len(images), images.shape[1]
    if side != padded_side(bank.max_shift) or np.abs(shift).max(initial=0) > bank.max_shift:
        raise ValueError("images and shifts must match the bank's max_shift")
    # Flat index of each output pixel's top-left tap in the whole batch: the warp's index within
    # one image, plus where that image starts, plus the shift (rows of `side` bytes).
    start = np.arange(n, dtype=np.intp) * side * side + shift[:, 0] * side + shift[:, 1]    # (N,)
    index = bank.index[warp] + start[:, None]       # (N, 784) intp: ``take`` converts anything else
    flat = images.reshape(-1)
    # The four neighbours: the same index into the batch seen from 0, 1, `side` and `side + 1`
    # bytes further on (views, so no second index array is made).
    top_left, top_right, bottom_left, bottom_right = (
        flat[offset:].take(index).astype(np.float32) for offset in (0, 1, side, side + 1))  # (N, 784)
    frac_r, frac_c = bank.frac_r[warp], bank.frac_c[warp]                                  # (N, 784)
    top_right -= top_left                    # top = top_left + (top_right - top_left) * frac_c
    top_right *= frac_c
    top_left += top_right
    bottom_right -= bottom_left              # bottom, likewise
    bottom_right *= frac_c
    bottom_left += bottom_right
    bottom_left -= top_left                  # out = top + (bottom - top) * frac_r
    bottom_left *= frac_r
    top_left += bottom_left
    top_left *= np.float32(1 / 255)
    return top_left


def thicken(images: np.ndarray) -> np.ndarray:
    """Heavier strokes: each pixel becomes the brightest of its 3 x 3 neighbourhood (grey dilation),
    which widens every stroke by 2 px.

    images : (N, P, P) uint8 with a zero border of at least 1 px  ->  a new (N, P, P) uint8
    """
    rows = images.copy()
    np.maximum(rows[:, 1:], images[:, :-1], out=rows[:, 1:])    # brightest of up, here, down
    np.maximum(rows[:, :-1], images[:, 1:], out=rows[:, :-1])
    out = rows.copy()
    np.maximum(out[:, :, 1:], rows[:, :, :-1], out=out[:, :, 1:])  # ... and of left, here, right
    np.maximum(out[:, :, :-1], rows[:, :, 1:], out=out[:, :, :-1])
    return out


# A 3 x 3 dilation makes MNIST's 20-px digit box 22 px; thickened digits are shrunk back to 20.
THICK_SCALE = 20 / 22


@dataclass(frozen=True)
class EpochWarps:
    """The warps of one epoch: one bank for digits as they are, one for thickened digits."""

    plain: WarpBank
    thick: WarpBank | None


def make_epoch_warps(cfg: AugmentConfig, rng: np.random.Generator,
                     bends: np.ndarray | None = None) -> EpochWarps:
    """Fresh banks for one epoch (``bends`` as in :func:`make_bank`)."""
    thick = make_bank(cfg, rng, scale_factor=THICK_SCALE, bends=bends) if cfg.thicken > 0 else None
    return EpochWarps(make_bank(cfg, rng, bends=bends), thick)


def random_warp_fast(images: np.ndarray, rng: np.random.Generator, warps: EpochWarps,
                     cfg: AugmentConfig) -> np.ndarray:
    """Distort a batch with the fast path: each digit a random warp of ``warps``, a random whole-pixel
    shift and, with probability ``cfg.thicken``, heavier strokes.

    The whole-pixel source shift ``d`` in ``[1 - s, s]`` moves a digit by about ``-d``, the warp's
    sub-pixel shift by ``[0, 1)``: together about uniform in ``[-s, s)`` (``s = max_shift``), as in
    :func:`random_affine`.

    images : (N, P, P) uint8 from :func:`to_padded_uint8`  ->  (N, 784) float32 in [0, 1]
    """
    n, shift = len(images), warps.plain.max_shift
    warp = rng.integers(0, len(warps.plain), n)
    shifts = (rng.integers(1 - shift, shift + 1, (n, 2), dtype=np.int32) if shift
              else np.zeros((n, 2), np.int32))
    if warps.thick is None:
        return warp_fast(images, warps.plain, warp, shifts)
    heavy = rng.random(n) < cfg.thicken
    light = ~heavy
    out = np.empty((n, SIDE * SIDE), dtype=np.float32)
    out[light] = warp_fast(images[light], warps.plain, warp[light], shifts[light])
    out[heavy] = warp_fast(thicken(images[heavy]), warps.thick, warp[heavy], shifts[heavy])
    return out

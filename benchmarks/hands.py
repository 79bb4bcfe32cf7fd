"""Style-shifted "hands" for the retrain benchmark: MNIST digits redrawn as one person would.

A person writes consistently: the same slant, the same pen, the same letterform for each digit.
A hand here is made from MNIST validation digits (never trained on by ``train``, which carves
them out of the training set) in three steps:

1. **Letterform.** For each digit the hand takes a random validation digit of that class as its
   prototype and the ``PER_DIGIT`` digits most like it (nearest neighbours of 14 x 14
   thumbnails): a person writes a 7 always with or always without a crossbar, a 2 with or
   without a loop, with a little variation from one to the next.
2. **Pen and slant.** Every digit of the hand is enlarged 3x and warped by the hand's own
   transform: a shear (slant), a rotation, a horizontal squeeze or stretch, a smooth random
   displacement field shared by all its digits and another one per digit class (how this person
   bends a 4 or closes a 9), then its strokes are thickened or thinned with a disc.
3. **The pad's preprocessing** (:func:`mnist_scratch.preprocess.preprocess`), so the digits are
   exactly what the drawing pad would feed the network.

A mixed set of writers: each writer has a random style around a shared one (``SHARED``, as a new
dataset has its own pens and habits) and writes some of the validation digits, all letterforms.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mnist_scratch.preprocess import EmptyDrawingError, preprocess

PER_DIGIT = 60    # digits of each class in a hand (5 to learn from, the rest to test on)
UP = 3            # digits are warped at 3x resolution (84 x 84)


@dataclass(frozen=True)
class HandStyle:
    """How one person writes (all angles in radians, lengths in pixels of the 84 x 84 grid)."""

    shear: float = 0.0          # slant: x moves by shear * (distance above the centre)
    rotate: float = 0.0         # rotation of the whole digit
    squeeze: float = 1.0        # horizontal scale (< 1 narrow, > 1 wide)
    pen: float = 0.0            # stroke growth: > 0 thicker (disc radius), < 0 thinner
    wobble: float = 0.0         # amplitude of the displacement field shared by all digits
    letterform: float = 0.0     # amplitude of the per-class displacement fields
    seed: int = 0               # the random fields and the letterform choice


def thumbnails(x: np.ndarray) -> np.ndarray:
    """(N, 784) -> (N, 196): 14 x 14 block means, for comparing letterforms."""
    return x.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(x), -1)


def pick_letterforms(x: np.ndarray, y: np.ndarray, per_digit: int, seed: int) -> np.ndarray:
    """One letterform per digit: a random prototype of each class and its ``per_digit - 1``
    nearest neighbours (14 x 14 thumbnails, Euclidean) among that class's digits.

    x : (N, 784) float32 in [0, 1];  y : (N,) int  ->  indices (10 * per_digit,) into x
    """
    rng = np.random.default_rng(seed)
    thumbs = thumbnails(x)
    picked = []
    for digit in range(10):
        idx = np.flatnonzero(y == digit)
        proto = thumbs[rng.choice(idx)]
        dist = ((thumbs[idx] - proto) ** 2).sum(axis=1)
        picked.append(idx[np.argsort(dist)[:per_digit]])
    return np.concatenate(picked)


def _smooth_field(rng: np.random.Generator, amplitude: float, size: int = 28 * UP,
                  sigma: float = 10.0) -> np.ndarray:
    """A smooth random displacement field (2, size, size), its largest value ``amplitude``."""
    field = ndimage.gaussian_filter(rng.standard_normal((2, size, size)), (0, sigma, sigma))
    return field * (amplitude / max(np.abs(field).max(), 1e-9))


def draw_in_style(x: np.ndarray, y: np.ndarray, style: HandStyle) -> tuple[np.ndarray, np.ndarray]:
    """Redraw digits in a hand's style and preprocess them like the drawing pad.

    x : (N, 784) float32 in [0, 1];  y : (N,) int
    Returns (M, 784) float32 in [0, 1] and (M,) int64 (M <= N: a digit that vanishes is dropped).
    """
    rng = np.random.default_rng(style.seed)
    size = 28 * UP
    c = (size - 1) / 2
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    common = _smooth_field(rng, style.wobble)
    per_class = [_smooth_field(rng, style.letterform) for _ in range(10)]
    # Inverse map: output pixel (r, c) samples the input at A^-1 ((r, c) - centre) + centre + field.
    cos, sin = np.cos(style.rotate), np.sin(style.rotate)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, 0], [-style.shear, style.squeeze]])
    inverse = np.linalg.inv(forward)
    dr, dc = rows - c, cols - c
    src_r = inverse[0, 0] * dr + inverse[0, 1] * dc + c
    src_c = inverse[1, 0] * dr + inverse[1, 1] * dc + c
    disc = None
    if abs(style.pen) >= 0.5:
        radius = int(round(abs(style.pen)))
        disc = (np.add.outer(np.arange(-radius, radius + 1) ** 2, np.arange(-radius, radius + 1) ** 2)
                <= style.pen ** 2)
    out_x, out_y = [], []
    for image, label in zip(x, y):
        big = ndimage.zoom(image.reshape(28, 28), UP, order=1)
        field = common + per_class[int(label)]
        warped = ndimage.map_coordinates(big, [src_r + field[0], src_c + field[1]], order=1, cval=0.0)
        if disc is not None:
            op = ndimage.grey_dilation if style.pen > 0 else ndimage.grey_erosion
            warped = op(warped, footprint=disc)
        try:
            out_x.append(preprocess(np.clip(warped, 0, 1)).reshape(784))
        except EmptyDrawingError:
            continue
        out_y.append(int(label))
    return np.asarray(out_x, np.float32), np.asarray(out_y, np.int64)


# Nine hands, from nearly MNIST's style to far from it; each is legible to a person.
HANDS = {
    "neat":          HandStyle(shear=0.10, rotate=0.00, squeeze=0.95, pen=0.0, wobble=3, letterform=3, seed=0),
    "thin-narrow":   HandStyle(shear=-0.25, rotate=0.10, squeeze=0.65, pen=-1.2, wobble=5, letterform=5, seed=1),
    "thick-wide":    HandStyle(shear=0.05, rotate=-0.20, squeeze=1.50, pen=4.0, wobble=5, letterform=5, seed=2),
    "right-slant":   HandStyle(shear=0.65, rotate=0.05, squeeze=1.00, pen=1.0, wobble=4, letterform=5, seed=3),
    "left-slant":    HandStyle(shear=-0.50, rotate=0.05, squeeze=0.85, pen=0.0, wobble=4, letterform=5, seed=4),
    "tilted":        HandStyle(shear=0.10, rotate=0.40, squeeze=1.00, pen=1.5, wobble=5, letterform=5, seed=5),
    "curly":         HandStyle(shear=0.20, rotate=-0.10, squeeze=1.10, pen=2.0, wobble=8, letterform=9, seed=6),
    "slant-thick":   HandStyle(shear=0.60, rotate=-0.10, squeeze=1.00, pen=3.0, wobble=5, letterform=6, seed=7),
    "tilted-left":   HandStyle(shear=-0.30, rotate=-0.45, squeeze=0.90, pen=1.0, wobble=5, letterform=6, seed=8),
}


def random_style(rng: np.random.Generator, seed: int, strength: float = 1.0) -> HandStyle:
    """A random hand; ``strength`` scales how far it is from MNIST's average style."""
    return HandStyle(shear=strength * rng.uniform(-0.5, 0.5), rotate=strength * rng.uniform(-0.25, 0.25),
                     squeeze=float(np.exp(strength * rng.uniform(-0.3, 0.3))),
                     pen=strength * rng.uniform(-1.2, 3.5), wobble=strength * rng.uniform(3, 6),
                     letterform=strength * rng.uniform(3, 6), seed=seed)


def make_hand(x: np.ndarray, y: np.ndarray, style: HandStyle, per_digit: int = PER_DIGIT
              ) -> tuple[np.ndarray, np.ndarray]:
    """One person's digits: ``per_digit`` of each class in one letterform, redrawn in ``style``."""
    keep = pick_letterforms(x, y, per_digit, seed=style.seed + 1000)
    return draw_in_style(x[keep], y[keep], style)


# What the mixed set's writers share (a "new dataset": its own pens, slant and tilt).
SHARED = HandStyle(shear=0.60, rotate=0.40, squeeze=1.20, pen=2.5)


def make_mixed(x: np.ndarray, y: np.ndarray, n_writers: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digits from ``n_writers`` random writers around a shared style (``SHARED``), all letterforms.

    Returns x (M, 784), y (M,), writer (M,) int.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    parts = np.array_split(order, n_writers)
    xs, ys, ws = [], [], []
    for w, part in enumerate(parts):
        own = random_style(rng, seed=seed * 1000 + w, strength=0.5)
        style = HandStyle(shear=SHARED.shear + own.shear, rotate=SHARED.rotate + own.rotate,
                          squeeze=SHARED.squeeze * own.squeeze, pen=SHARED.pen + own.pen,
                          wobble=own.wobble, letterform=own.letterform, seed=own.seed)
        hx, hy = draw_in_style(x[part], y[part], style)
        xs.append(hx)
        ys.append(hy)
        ws.append(np.full(len(hy), w))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)

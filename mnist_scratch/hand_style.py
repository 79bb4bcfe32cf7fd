"""A person's slant, tilt and width, estimated from their corrections; MNIST redrawn that way.

Five corrections of a digit are few: a network learns a hand far better from twenty (on the tuning
hands of ``benchmarks/bench_retrain.py``, 97.2 % -> 98.9 % on average). But much of what makes a
hand a hand is one map shared by all its digits: a person slants, tilts and widens every digit the
same way. Estimated from the corrections, that map turns MNIST into many more digits of the hand.

**The style** is a linear map ``A`` of the image plane (rows, columns about the centre):

    A = rotation(rotate) @ [[1, 0], [-shear, squeeze]]      (shear: slant; squeeze: width)

A digit written in the style is the MNIST digit with every pixel moved by ``A``:
``styled(p) = mnist(A^-1 p)``; the style is *undone* by sampling the drawing at ``A p`` instead.

**Estimating it** (:func:`estimate_style`): undo a candidate style on every correction and measure
how far each one then is from the nearest MNIST digit with its label; the style that brings the
corrections closest to MNIST is the hand's:

    A* = argmin_A  mean_i  min_{j: y_j = y_i} || u(undo(x_i, A)) - u(m_j) ||^2,   u(v) = v / ||v||

searched coarse to fine (27 candidates around the best so far, steps halved, four rounds).

**Lookalikes** (:func:`lookalikes`): for each correction, the MNIST digits of its label nearest
to it once its style is undone: the same letterform, written by other people. Redrawn in the style
(:func:`redraw`), they are new examples of the person's hand that fine-tuning learns from beside
the corrections themselves (``retrain.fine_tune``).

Undone corrections are cropped, scaled into the 20 x 20 box and centred again (:func:`rebox`, the
preprocessing's last steps) so they compare with MNIST digits; redrawn digits go through the pad's
whole preprocessing (:func:`~mnist_scratch.preprocess.preprocess`) so they look like drawings. Both
are one call per digit, done once per retrain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from .augment import SIDE, bilinear_sample
from .memory import squared_distances
from .preprocess import (BOX, COM_CENTER, WIDTH_RANGE, EmptyDrawingError, align_center_of_mass,
                         bounding_box, center_in_canvas, normalize, preprocess, resize_to_box)


@dataclass(frozen=True)
class HandStyle:
    """How a hand differs from MNIST's average: angles in radians, ``squeeze`` a width factor."""

    rotate: float = 0.0   # tilt of the whole digit (the rotation in style_matrix)
    shear: float = 0.0    # slant: a point moves sideways by shear * its height above the centre
    squeeze: float = 1.0  # width: < 1 narrower, > 1 wider

    def describe(self) -> str:
        """A short text for a report: ``"tilted +12 deg, slanted +0.30, width x0.85"``."""
        return (f"tilted {np.degrees(self.rotate):+.0f} deg, slanted {self.shear:+.2f}, "
                f"width x{self.squeeze:.2f}")


def style_matrix(style: HandStyle) -> np.ndarray:
    """``A`` (2, 2) float64: (row, column) offsets from the centre -> where the style moves them."""
    cos, sin = np.cos(style.rotate), np.sin(style.rotate)
    return np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, 0.0], [-style.shear, style.squeeze]])


def warp(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Every output pixel ``p`` (offset from the centre) reads the input at ``matrix @ p``.

    x : (N, 784) float32 in [0, 1];  matrix : (2, 2)  ->  (N, 784) float32 (bilinear, zero outside)
    """
    c = (SIDE - 1) / 2
    r, q = np.mgrid[0:SIDE, 0:SIDE].reshape(2, -1).astype(np.float32) - c     # (784,) each
    rows = (matrix[0, 0] * r + matrix[0, 1] * q + c).astype(np.float32)
    cols = (matrix[1, 0] * r + matrix[1, 1] * q + c).astype(np.float32)
    n = len(x)
    return bilinear_sample(np.asarray(x, np.float32).reshape(n, SIDE, SIDE),
                           np.broadcast_to(rows, (n, SIDE * SIDE)), np.broadcast_to(cols, (n, SIDE * SIDE)))


def redraw(x: np.ndarray, y: np.ndarray, style: HandStyle) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits written in ``style`` and preprocessed like a drawing on the pad.

    x : (N, 784) float32 in [0, 1];  y : (N,) int  ->  (M, 784) float32 in [0, 1], (M,) int64, M <= N
    (a digit the style moves out of the picture is dropped)
    """
    styled, kept = [], []
    for i, image in enumerate(warp(x, np.linalg.inv(style_matrix(style)))):
        try:
            styled.append(preprocess(np.clip(image.reshape(SIDE, SIDE), 0, 1), width_range=WIDTH_RANGE).ravel())
        except EmptyDrawingError:
            continue
        kept.append(i)
    return np.asarray(styled, np.float32).reshape(-1, SIDE * SIDE), np.asarray(y, np.int64)[kept]


def rebox(image: np.ndarray) -> np.ndarray:
    """The preprocessing's last steps alone: crop to the ink (pixels above a tenth of the brightest),
    fit into the 20 x 20 box, centre of mass to the middle, brightest pixel 1.

    image : (28, 28) float32 in [0, 1]  ->  (28, 28) float32 in [0, 1]; EmptyDrawingError if blank
    """
    if image.max() <= 0:
        raise EmptyDrawingError("the digit left the picture")
    r0, r1, c0, c1 = bounding_box(image, 0.1)
    return normalize(align_center_of_mass(center_in_canvas(resize_to_box(image[r0:r1, c0:c1], BOX)), COM_CENTER))


def undo(x: np.ndarray, style: HandStyle) -> np.ndarray:
    """The digits with ``style`` taken out, re-centred in the 20 x 20 box (:func:`rebox`).

    x : (N, 784) float32 in [0, 1]  ->  (N, 784) float32 in [0, 1] (a digit that vanishes: zeros)
    """
    moved = warp(x, style_matrix(style)).reshape(-1, SIDE, SIDE)
    out = np.zeros_like(moved)
    for i, image in enumerate(moved):
        try:
            out[i] = rebox(image)
        except EmptyDrawingError:
            continue
    return out.reshape(-1, SIDE * SIDE)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Every row scaled to length 1 (an all-zero row stays zero): (N, D) -> (N, D) float32.

    Between unit rows ``||a - b||^2 = 2 - 2 cos(a, b)``: the distance then compares shapes, not
    amounts of ink (with plain distances a narrower digit, having less ink, is near everything,
    and the estimate drifted to styles that squeeze every digit: measured, 1.28 for unstyled digits).
    """
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)


def by_label(x_mnist: np.ndarray, y_mnist: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For each digit c in turn: the indices of the MNIST digits labelled c and those digits as unit
    rows, made one label at a time (all of MNIST at once would be 170 MB; ``list()`` it to reuse).

    x_mnist : (K, 784) float;  y_mnist : (K,) int  ->  10 pairs ((K_c,) int64, (K_c, 784) float32)
    """
    y_mnist = np.asarray(y_mnist, np.int64)
    for c in range(10):
        indices = np.flatnonzero(y_mnist == c)
        yield indices, unit_rows(x_mnist[indices])


def nearest_of_label(x: np.ndarray, y: np.ndarray, references: Iterable[tuple[np.ndarray, np.ndarray]],
                     k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest reference digits of its own label (distances between unit rows).

    x : (U, 784) float32, already unit rows;  y : (U,) int;  references : :func:`by_label`'s pairs
    Returns d2 (U, k) float32 squared distances (inf) and their indices (U, k) int64 (-1) where a
    label has fewer than k digits; the k are in no particular order.
    """
    d2 = np.full((len(y), k), np.inf, np.float32)
    found = np.full((len(y), k), -1, np.int64)
    for c, (indices, digits) in enumerate(references):
        mine = np.flatnonzero(y == c)
        if len(mine) == 0 or len(indices) == 0:
            continue
        n = min(k, len(indices))
        for start in range(0, len(mine), 256):                    # (256, K_c) distances at a time
            rows = mine[start:start + 256]
            dist = squared_distances(x[rows], digits)
            near = np.argpartition(dist, n - 1, axis=1)[:, :n]
            d2[rows, :n] = np.take_along_axis(dist, near, axis=1)
            found[rows, :n] = indices[near]
    return d2, found


def estimate_style(x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray, y_mnist: np.ndarray,
                   rounds: int = 4, steps: tuple[float, float, float] = (0.3, 0.4, 0.25)) -> HandStyle:
    """The style that, undone, brings the corrections closest to MNIST digits of their labels.

    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int
    x_mnist : (K, 784) float32 in [0, 1];  y_mnist : (K,) int (a few thousand digits are enough)
    steps : the first round's steps in rotate (radians), shear and log(squeeze); halved each round
    (four rounds reach 0.56 rad = 32 deg of tilt and 0.75 of slant, to 0.04 rad, 0.05 and 3 %).
    """
    y_user, y_mnist = np.asarray(y_user, np.int64), np.asarray(y_mnist, np.int64)
    x_user = np.asarray(x_user, np.float32)[np.isin(y_user, y_mnist)]   # a label MNIST lacks says nothing
    y_user = y_user[np.isin(y_user, y_mnist)]
    if len(y_user) == 0:
        return HandStyle()
    references = list(by_label(x_mnist, y_mnist))        # reused by every candidate
    scores: dict[tuple[float, float, float], float] = {}

    def score(style: HandStyle) -> float:
        """Mean squared distance of the undone corrections to their nearest MNIST digit of the label."""
        key = (round(style.rotate, 6), round(style.shear, 6), round(float(np.log(style.squeeze)), 6))
        if key not in scores:
            d2, _ = nearest_of_label(unit_rows(undo(x_user, style)), y_user, references, 1)
            scores[key] = float(d2.mean())
        return scores[key]

    best = HandStyle()
    for _ in range(rounds):
        s_rot, s_shear, s_log = steps
        candidates = [HandStyle(best.rotate + a, best.shear + b, best.squeeze * float(np.exp(c)))
                      for a in (-s_rot, 0.0, s_rot) for b in (-s_shear, 0.0, s_shear) for c in (-s_log, 0.0, s_log)]
        best = min(candidates, key=score)
        steps = (s_rot / 2, s_shear / 2, s_log / 2)
    return best


def lookalikes(x_user: np.ndarray, y_user: np.ndarray, style: HandStyle, x_mnist: np.ndarray,
               y_mnist: np.ndarray, per_drawing: int) -> np.ndarray:
    """For each correction, its ``per_drawing`` nearest MNIST digits of the same label once the
    style is undone (distances between unit rows, as in :func:`estimate_style`; each label's
    drawings against that label's digits only).

    Returns (U * per_drawing,) int64 indices into x_mnist, drawing by drawing (fewer when MNIST
    lacks a label or has fewer digits of it; repeats possible across drawings).

    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int;  x_mnist : (K, 784);  y_mnist : (K,)
    """
    _, found = nearest_of_label(unit_rows(undo(x_user, style)), np.asarray(y_user, np.int64),
                                by_label(x_mnist, y_mnist), per_drawing)
    return found[found >= 0]

"""Accuracy on drawings: MNIST test digits redrawn as hard-edged strokes anywhere on a 280 x 280
canvas, at any size and stroke width, then preprocessed and classified.

Each digit is cropped to its ink, enlarged (bilinear) so its longest side is 80..260 px,
thresholded to black and white (hard edges, like a drawing pad's pen), thickened or thinned with a
disc (Euclidean distance transform) to a random pen width of 8..32 px, and placed at a random spot
on the canvas.
A third of the drawings are given as RGBA dark ink on a white canvas, the rest as uint8 grayscale.
The same network's accuracy on the same clean MNIST digits is printed next to it.

    python benchmarks/bench_drawings.py [--checkpoint PATH] [--n 2000] [--seed 0] [--pen 18]

``--pen`` fixes the pen width (the drawing pad's brush is 18 px) instead of drawing it at random.
The accuracy is also broken down by the stroke width relative to the digit, in pixels of MNIST's
20-px box (MNIST's own strokes are ~2.5 px).

Without a checkpoint (and none at ``paths.default_checkpoint()``) a network is trained for a few
epochs first, which takes about half a minute.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from mnist_scratch import paths
from mnist_scratch.data import load_mnist
from mnist_scratch.preprocess import EmptyDrawingError, preprocess

CANVAS = 280


def stroke_width(mask: np.ndarray) -> float:
    """Estimate the stroke width of a binary drawing: twice the mean distance from the stroke's
    medial ridge to its edge (the ridge: local maxima of the distance transform)."""
    dist = ndimage.distance_transform_edt(mask)
    ridge = (dist > 0) & (dist >= ndimage.maximum_filter(dist, size=3))
    return float(2 * dist[ridge].mean()) if ridge.any() else 0.0


def redraw(digit: np.ndarray, rng: np.random.Generator, size_range=(80, 260),
           width_range=(8.0, 32.0), canvas: int = CANVAS) -> np.ndarray:
    """Redraw one MNIST digit as a hard-edged drawing.

    digit : (784,) float32 in [0, 1]  ->  (canvas, canvas) uint8 in {0, 255}, ink bright
    """
    img = digit.reshape(28, 28)
    rows, cols = np.flatnonzero(img.max(1) > 0.1), np.flatnonzero(img.max(0) > 0.1)
    crop = np.pad(img[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 1)
    side = rng.uniform(*size_range)
    big = ndimage.zoom(crop, side / (max(crop.shape) - 2), order=1, grid_mode=True,
                       mode="grid-constant")
    mask = big > 0.5
    # Change the pen width by growing or shrinking the shape with a disc.
    radius = 0.5 * (rng.uniform(*width_range) - stroke_width(mask))
    if radius > 0:
        grown = ndimage.distance_transform_edt(~mask) <= radius
        mask = grown
    elif radius < 0:
        thinned = ndimage.distance_transform_edt(mask) > -radius
        if thinned.sum() > 0.3 * mask.sum():  # don't erase the digit
            mask = thinned
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1][:canvas, :canvas]
    out = np.zeros((canvas, canvas), dtype=np.uint8)
    top = rng.integers(0, canvas - mask.shape[0] + 1)
    left = rng.integers(0, canvas - mask.shape[1] + 1)
    out[top:top + mask.shape[0], left:left + mask.shape[1]] = 255 * mask
    return out


def relative_stroke_width(drawing: np.ndarray) -> float:
    """Stroke width of a drawing in pixels of a 20-px box around the ink (MNIST's scale)."""
    mask = drawing > 127 if drawing.dtype == np.uint8 else drawing > 0.5
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    side = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    return stroke_width(mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]) * 20 / side


def as_rgba_dark_on_light(gray: np.ndarray) -> np.ndarray:
    """(H, W) uint8 ink-bright -> (H, W, 4) uint8 RGBA, black ink on an opaque white canvas."""
    rgba = np.full(gray.shape + (4,), 255, dtype=np.uint8)
    rgba[..., :3] = (255 - gray)[..., None]
    return rgba


def find_network(checkpoint: Path | None):
    """The network at ``checkpoint`` (or the default one), else a quickly trained one."""
    from mnist_scratch.checkpoint import load_network
    from mnist_scratch.network import Network

    path = Path(checkpoint) if checkpoint else paths.default_checkpoint()
    if path.is_file():
        print(f"network: {path}")
        return load_network(path)
    if checkpoint:
        raise SystemExit(f"no checkpoint at {path}")
    from mnist_scratch.train import TrainConfig, train

    print("network: none found, training one for 6 epochs ...")
    x, y = load_mnist("train")
    net = Network(seed=0)
    train(net, x, y, TrainConfig(epochs=6), progress=False)
    return net


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="network checkpoint (.npz)")
    parser.add_argument("--n", type=int, default=2000, help="number of test digits (the first n)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sizes, places and widths")
    parser.add_argument("--pen", type=float, default=None,
                        help="fixed pen width in px (default: random, 8..32)")
    args = parser.parse_args(argv)
    widths = (args.pen, args.pen) if args.pen else (8.0, 32.0)

    net = find_network(args.checkpoint)
    x, y = load_mnist("test")
    x, y = x[:args.n], y[:args.n]
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    inputs, empty = np.zeros_like(x), 0
    rel_width = np.zeros(len(x))
    for i, digit in enumerate(x):
        drawing = redraw(digit, rng, width_range=widths)
        rel_width[i] = relative_stroke_width(drawing)
        if i % 3 == 2:
            drawing = as_rgba_dark_on_light(drawing)
        try:
            inputs[i] = preprocess(drawing).reshape(784)
        except EmptyDrawingError:
            empty += 1  # counts as wrong: the all-zero input is left in place
    seconds = time.perf_counter() - start
    clean_ok = net.predict(x) == y
    drawn_ok = net.predict(inputs) == y
    clean, drawn = float(clean_ok.mean()), float(drawn_ok.mean())
    print(f"{len(x)} digits redrawn at 80..260 px, pen {widths[0]:g}..{widths[1]:g} px, "
          f"random places on {CANVAS} x {CANVAS} ({seconds:.1f} s)")
    print(f"accuracy on clean MNIST: {100 * clean:.2f} %")
    print(f"accuracy on drawings:    {100 * drawn:.2f} %   "
          f"(difference {100 * (drawn - clean):+.2f} points, {empty} rejected as empty)")
    print("by stroke width in a 20-px box:  width   n   drawings  clean")
    edges = [0, 1.5, 2.5, 3.5, 5, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (rel_width >= lo) & (rel_width < hi)
        if sel.any():
            print(f"{'':32s}{lo:4.1f}-{hi:<4.1f}{sel.sum():5d}  {100 * drawn_ok[sel].mean():6.2f} %"
                  f"  {100 * clean_ok[sel].mean():6.2f} %")


if __name__ == "__main__":
    main()

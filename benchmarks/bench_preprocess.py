"""Latency of a drawing -> ten class probabilities: ``preprocess`` + ``net.predict_proba``.

Three inputs, each over ``--n`` different drawings (MNIST test digits redrawn as hard-edged strokes
at random sizes, places and pen widths, see ``bench_drawings.py``):

* a 280 x 280 float32 grayscale image (what the drawing pad rasterises),
* the same as a 280 x 280 x 4 uint8 RGBA array, black ink on a white canvas,
* the drawing pad's whole path from recorded strokes:
  ``rasterize_strokes(..., out_size=(112, 112))``, then the same as above (stroke digits: an
  oval, a bent line, a "4" and a "7", jittered).

    python benchmarks/bench_preprocess.py [--checkpoint PATH] [--n 300]

Uses ``paths.default_checkpoint()`` if it exists, else a fresh (untrained) Network: the time does
not depend on the weights.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from mnist_scratch import paths
from mnist_scratch.data import load_mnist
from mnist_scratch.checkpoint import load_network
from mnist_scratch.network import Network
from mnist_scratch.preprocess import preprocess
from mnist_scratch.strokes import rasterize_strokes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_drawings import as_rgba_dark_on_light, redraw  # noqa: E402

_T = np.linspace(0, 2 * np.pi, 60)
STROKE_DIGITS = [  # unit coordinates, x right, y down
    [np.c_[0.5 + 0.3 * np.cos(_T), 0.5 + 0.5 * np.sin(_T)]],
    [np.c_[np.linspace(0.45, 0.55, 10), np.linspace(0.0, 1.0, 10)]],
    [np.c_[np.linspace(0.6, 0.0, 30), np.linspace(0.0, 0.7, 30)],
     np.c_[np.linspace(0.0, 0.9, 30), np.full(30, 0.7)],
     np.c_[np.full(40, 0.65), np.linspace(0.3, 1.0, 40)]],
    [np.c_[np.linspace(0.1, 0.9, 40), np.zeros(40)],
     np.c_[np.linspace(0.9, 0.4, 60), np.linspace(0.0, 1.0, 60)]],
]


def random_strokes(rng: np.random.Generator) -> list[np.ndarray]:
    """A stroke digit at a random size (80..240 px) and place on the 280 x 280 canvas, jittered."""
    template = STROKE_DIGITS[rng.integers(len(STROKE_DIGITS))]
    size = rng.uniform(80, 240)
    corner = rng.uniform(10, 270 - size, size=2)
    return [s * size + corner + rng.normal(0, 1.0, s.shape) for s in template]


def timed(fn, inputs, warmup: int = 20) -> np.ndarray:
    """Seconds per call of ``fn`` on each input (after ``warmup`` untimed calls)."""
    for item in inputs[:warmup]:
        fn(item)
    times = np.empty(len(inputs))
    for i, item in enumerate(inputs):
        start = time.perf_counter()
        fn(item)
        times[i] = time.perf_counter() - start
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="network checkpoint (.npz)")
    parser.add_argument("--n", type=int, default=300, help="number of drawings")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    path = args.checkpoint or paths.default_checkpoint()
    net = load_network(path) if Path(path).is_file() else Network(seed=0)
    print(f"network: {path if Path(path).is_file() else 'fresh Network (no checkpoint)'}")
    rng = np.random.default_rng(args.seed)
    x, _ = load_mnist("test")
    gray = [redraw(d, rng).astype(np.float32) / 255 for d in x[:args.n]]
    rgba = [as_rgba_dark_on_light((g * 255).astype(np.uint8)) for g in gray]
    strokes = [random_strokes(rng) for _ in range(args.n)]

    def classify(image):
        return net.predict_proba(preprocess(image).reshape(1, 784))

    def classify_strokes(s):
        return classify(rasterize_strokes(s, width=18.0, out_size=(112, 112)))

    print(f"{args.n} drawings, drawing -> ten probabilities (preprocess + predict_proba):")
    for name, fn, inputs in [("280 x 280 float32 grayscale", classify, gray),
                             ("280 x 280 x 4 uint8 RGBA", classify, rgba),
                             ("strokes -> 112 x 112 raster -> probs", classify_strokes, strokes)]:
        ms = 1e3 * timed(fn, inputs)
        print(f"  {name:38s} median {np.median(ms):.3f} ms   p90 {np.percentile(ms, 90):.3f} ms")


if __name__ == "__main__":
    main()

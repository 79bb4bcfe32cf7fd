"""What the drawing pad shows, as plain functions: text, HTML and RGB images from NumPy arrays.

:mod:`mnist_scratch.pad` is the widget shell; everything it displays is computed here, so it can be
tested (and replayed in notebook 05) without a browser:

* :func:`prediction_summary` / :func:`prediction_html`: the large predicted digit, or "not sure";
* :func:`bars_html`: the ten confidence bars;
* :func:`input_panel_rgb`: the 28 x 28 network input, with a faint cell grid while it is empty;
* :func:`saliency_overlay_rgb`: where more ink would raise (red) or lower (blue) the prediction,
  over a faded copy of the digit;
* :func:`hidden_units` / :func:`hidden_grid_rgb`: the 64 hidden units as an 8 x 8 grid, and which of
  them push the predicted digit up or down through ``W2``;
* :func:`report_html`: a retrain's result, before -> after.

Colours in HTML come from JupyterLab's theme variables (``--jp-layout-color*``,
``--jp-ui-font-color*``, ``--jp-brand-color*``) so the pad reads well in light and dark themes;
images use fixed colours that work on both.
"""
from __future__ import annotations

import html
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from .memory import votes

UNSURE_BELOW = 0.75  # below this top probability the pad says "not sure" instead of a digit
SALIENCY_FLOOR = 0.2  # |smoothed gradient| below this fraction of the largest is left out
SALIENCY_SIGMA = 0.8  # Gaussian smoothing of the gradient, in pixels: regions, not speckle

# Styles for the pad's HTML, scoped under .digitpad; every colour is a JupyterLab theme variable.
PAD_CSS = """<style>
.digitpad { color: var(--jp-ui-font-color1); font-family: var(--jp-ui-font-family); }
.digitpad .widget-box { overflow: visible; }
.digitpad .dp-row { flex-wrap: wrap; gap: 8px 20px; align-items: flex-start; }
.digitpad .dp-col { flex: 0 0 auto; }
.digitpad .dp-digit { font-size: 64px; line-height: 72px; font-weight: 700; text-align: center;
  color: var(--jp-brand-color1); min-width: 96px; }
.digitpad .dp-digit.dp-unsure { color: var(--jp-ui-font-color2); font-size: 30px; }
.digitpad .dp-digit.dp-empty { color: var(--jp-ui-font-color3); font-size: 20px; font-weight: 400; }
.digitpad .dp-sure { text-align: center; color: var(--jp-ui-font-color2); height: 20px; }
.digitpad .dp-memory { text-align: center; color: var(--jp-ui-font-color2); font-size: 12px; max-width: 230px; }
.digitpad .dp-bar { display: flex; align-items: center; gap: 6px; height: 20px;
  font-family: var(--jp-code-font-family); font-size: 12px; }
.digitpad .dp-track { width: 130px; height: 12px; background: var(--jp-layout-color2);
  border-radius: 2px; overflow: hidden; }
.digitpad .dp-fill { height: 100%; background: var(--jp-brand-color3); }
.digitpad .dp-top .dp-fill { background: var(--jp-brand-color1); }
.digitpad .dp-top { font-weight: 700; }
.digitpad .dp-pct { width: 5.5em; text-align: right; }
.digitpad .dp-muted { color: var(--jp-ui-font-color2); font-size: 12px; }
.digitpad .dp-up { color: var(--jp-success-color1); font-weight: 700; }
.digitpad .dp-down { color: var(--jp-error-color1); font-weight: 700; }
.digitpad .dp-report table { border-collapse: collapse; }
.digitpad .dp-report td, .digitpad .dp-report th { padding: 2px 10px; text-align: left; }
.digitpad .dp-report th { color: var(--jp-ui-font-color2); font-weight: 400; }
.digitpad .dp-legend { display: flex; gap: 12px; align-items: center; font-size: 12px; flex-wrap: wrap;
  max-width: 280px; }
.digitpad .dp-swatch { display: inline-block; width: 12px; height: 12px; vertical-align: middle;
  margin-right: 4px; border: 1px solid var(--jp-border-color1); }
.digitpad .digitpad-status { min-height: 20px; }
.digitpad .widget-html-content, .digitpad .widget-label { white-space: normal; line-height: 1.45; }
.digitpad canvas { cursor: crosshair; touch-action: none; }
</style>"""


# ---------------------------------------------------------------- text
def format_percent(p: float) -> str:
    """A probability as a percentage with one decimal: "93.1 %"; never "100.0 %" ("> 99.9 %")."""
    p = float(p)
    if p >= 0.9995:
        return "> 99.9 %"
    if 0 < p < 0.0005:
        return "< 0.1 %"
    return f"{100 * p:.1f} %"


@dataclass(frozen=True)
class PredictionSummary:
    digit: int | None  # the predicted digit; None when nothing is drawn or the network is not sure
    headline: str      # what is shown large: "7", "not sure" or "Draw a digit"
    detail: str        # the line under it: "93.1 % sure", "maybe 6 (47.3 %) or 5 (30.1 %)"


def prediction_summary(proba: np.ndarray | None, unsure_below: float = UNSURE_BELOW) -> PredictionSummary:
    """What the pad says about ``proba``: ``(10,)`` float probabilities summing to 1, or None.

    Below ``unsure_below`` the top probability is not trusted: a lowercase "a" or a dot should not
    read as a confident digit, so the two likeliest digits are named as guesses.
    """
    if proba is None:
        return PredictionSummary(None, "Draw a digit", "")
    p = np.asarray(proba, dtype=np.float64)
    first, second = np.argsort(p)[::-1][:2]
    if p[first] < unsure_below:
        return PredictionSummary(None, "not sure",
                                 f"maybe {first} ({format_percent(p[first])}) or {second} ({format_percent(p[second])})")
    return PredictionSummary(int(first), str(int(first)), f"{format_percent(p[first])} sure")


def prediction_html(summary: PredictionSummary, memory: str = "") -> str:
    """The large digit (class ``dp-digit``), the line under it, and the memory's part (:func:`memory_note`)."""
    kind = "" if summary.digit is not None else (" dp-empty" if summary.headline == "Draw a digit" else " dp-unsure")
    return (f'<div class="dp-digit{kind}">{html.escape(summary.headline)}</div>'
            f'<div class="dp-sure">{html.escape(summary.detail)}</div>'
            + (f'<div class="dp-memory">{html.escape(memory)}</div>' if memory else ""))


def memory_note(net, x: np.ndarray) -> str:
    """What the memory of the user's drawings (``net.memory``, see memory.py) did for one input:
    "" when there is no memory or no drawing reaches ``x``; otherwise which digit it voted for and,
    when that changed the answer, what the network alone would have said.

    x : (784,) or (1, 784) float in [0, 1]
    """
    if getattr(net, "memory", None) is None:
        return ""
    x = np.asarray(x, dtype=np.float32).reshape(1, -1)
    s = votes(x, net.memory)[0]                                     # (10,)
    if not s.any():
        return ""
    p = net.forward(x)                                              # (1, 10) the weights alone
    alone, shown = int(np.argmax(p[0])), int(np.argmax(net.memory.combine(x, p)[0]))
    if shown != alone:
        return f"your saved drawings changed it (the network alone: {alone})"
    return f"your saved drawings vote {int(np.argmax(s))}"


def bars_html(proba: np.ndarray | None) -> str:
    """Ten confidence bars. ``proba`` : ``(10,)`` float in [0, 1], or None (all bars empty).

    Fixed row heights (20 px) and no scroll container, so the box is as tall as its content.
    """
    p = np.zeros(10) if proba is None else np.asarray(proba, dtype=np.float64)
    top = None if proba is None else int(np.argmax(p))
    rows = []
    for d in range(10):
        cls = "dp-bar dp-top" if d == top else "dp-bar"
        rows.append(f'<div class="{cls}"><span>{d}</span><div class="dp-track">'
                    f'<div class="dp-fill" style="width:{100 * float(p[d]):.1f}%"></div></div>'
                    f'<span class="dp-pct">{format_percent(p[d])}</span></div>')
    return '<div class="digitpad-bars">' + "".join(rows) + "</div>"


def counts_text(counts: dict[int, int]) -> str:
    """"12 saved drawings: 0×1 1×2 ..." from ``{digit: count}`` (digits with none left out)."""
    total = sum(int(v) for v in counts.values())
    if total == 0:
        return "No saved drawings yet."
    per_digit = "  ".join(f"{d}: {int(counts[d])}" for d in range(10) if counts.get(d, 0))
    return f"{total} saved drawing{'s' if total != 1 else ''} ({per_digit})"


# ---------------------------------------------------------------- images
def png_bytes(image: np.ndarray) -> bytes:
    """PNG file bytes of ``image``: ``(H, W)`` or ``(H, W, 3)`` uint8 (Pillow)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"png_bytes needs (H, W) or (H, W, 3) uint8, got {image.shape} {image.dtype}")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale: ``(H, W[, C])`` -> ``(H * factor, W * factor[, C])``, same dtype."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def input_panel_rgb(x28: np.ndarray | None, scale: int = 5) -> np.ndarray:
    """The network's input as it sees it (white ink on black), ``scale`` screen pixels per cell.

    x28 : (28, 28) float in [0, 1], or None before the first stroke: then a dark field with a faint
    grid of the 28 x 28 cells and the 20 x 20 box MNIST centres its digits in, so the panel reads as
    "an empty input", not as a black square.
    Returns ``(28 * scale, 28 * scale, 3)`` uint8; with an input, pixel ``[r * scale, c * scale]``
    is exactly ``round(255 * x28[r, c])``.
    """
    if x28 is not None:
        gray = np.rint(np.clip(x28, 0.0, 1.0) * 255).astype(np.uint8)
        return upscale(np.repeat(gray[:, :, None], 3, axis=2), scale)
    side = 28 * scale
    panel = np.full((side, side, 3), 40, np.uint8)
    lines = np.arange(0, side, scale)
    panel[lines, :] = panel[:, lines] = 58  # cell grid
    lo, hi = 4 * scale, 24 * scale  # the 20 x 20 box
    for edge in (lo, hi - 1):
        panel[edge, lo:hi] = panel[lo:hi, edge] = 110
    return panel


def saliency_overlay_rgb(grad: np.ndarray, x28: np.ndarray, scale: int = 10,
                         floor: float = SALIENCY_FLOOR, sigma: float = SALIENCY_SIGMA) -> np.ndarray:
    """``d p / d x`` over a faded copy of the digit: red where more ink raises the predicted digit's
    probability, blue where it lowers it. The gradient is lightly smoothed (``sigma`` pixels) and
    values under ``floor`` of the largest are left out, so regions show instead of pixel speckle.

    Parameters
    ----------
    grad : (28, 28) float, the gradient of the predicted probability w.r.t. each input pixel
    x28 : (28, 28) float in [0, 1], the input; drawn as light grey ink on white
    scale : screen pixels per cell (10: a 280 x 280 image)
    floor : fraction of the largest ``|grad|`` (after smoothing) below which a pixel gets no colour
    sigma : standard deviation of the Gaussian smoothing, in pixels (0: none)

    Returns
    -------
    (28 * scale, 28 * scale, 3) uint8
    """
    grad = np.asarray(grad, dtype=np.float64)
    if sigma > 0:
        grad = gaussian_filter(grad, sigma, mode="constant")
    largest = float(np.max(np.abs(grad)))
    v = grad / largest if largest > 0 else np.zeros_like(grad)
    strength = np.clip((np.abs(v) - floor) / (1 - floor), 0, 1) ** 0.7  # (28, 28) in [0, 1]
    paper = 1 - 0.3 * np.clip(x28, 0, 1)  # the digit, faded to light grey
    base = np.repeat(paper[:, :, None], 3, axis=2)
    colour = np.where(v[:, :, None] > 0, np.array([0.84, 0.15, 0.16]), np.array([0.13, 0.40, 0.80]))
    alpha = 0.85 * strength[:, :, None]
    rgb = base * (1 - alpha) + colour * alpha
    return upscale(np.rint(rgb * 255).astype(np.uint8), scale)


SALIENCY_LEGEND = (
    '<div class="dp-legend">'
    '<span><span class="dp-swatch" style="background:#d6272a"></span>more ink here: more sure</span>'
    '<span><span class="dp-swatch" style="background:#2166cc"></span>more ink here: less sure</span>'
    '<span class="dp-muted">grey: your digit</span></div>')


def hidden_units(net, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The first hidden layer's response to one input and its effect on the predicted digit.

    Parameters
    ----------
    net : a 784-H-10 :class:`~mnist_scratch.network.Network`
    x : (784,) or (1, 784) float in [0, 1]

    Returns
    -------
    a1 : (H,) float, the hidden activations ``relu(x W1 + b1)``
    push : (H,) float, each unit's share of the predicted digit's logit, ``a1[j] * W2[j, k]``
        (positive: the unit argues for ``k``, negative: against it)
    k : int, the predicted digit
    """
    x = np.asarray(x, dtype=np.float32).reshape(1, -1)
    acts = _activations(net, x)
    a1, p = acts[1][0], acts[-1][0]
    k = int(np.argmax(p))
    return a1, a1 * net.params["W2"][:, k], k


def _activations(net, x: np.ndarray) -> list[np.ndarray]:
    """``[x, a1, ..., p]`` for a batch ``x`` (N, 784)."""
    return net.activations(x)


def hidden_grid_rgb(values: np.ndarray, signed: bool, cell: int = 22, gap: int = 2) -> np.ndarray:
    """An ``(H,)`` vector (H a square: 64 -> 8 x 8) as a grid of coloured cells.

    signed=False: 0 black .. largest light yellow (activations, >= 0).
    signed=True: green for positive, red for negative, black for 0 (what pushes the predicted
    digit up or down). Brightness is the square root of ``|value|`` over the largest, so weak
    units stay visible beside strong ones.
    Returns ``(side, side, 3)`` uint8 with ``side = n * cell + (n + 1) * gap``; grey gaps.
    """
    values = np.asarray(values, dtype=np.float64)
    n = int(round(np.sqrt(values.size)))
    if n * n != values.size:
        raise ValueError(f"hidden_grid_rgb needs a square number of units, got {values.size}")
    largest = float(np.max(np.abs(values))) or 1.0
    v = (values / largest).reshape(n, n)
    v = np.sign(v) * np.sqrt(np.abs(v))  # square root: weak units stay visible beside strong ones
    if signed:
        pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
        rgb = np.stack([0.95 * neg + 0.1 * pos, 0.8 * pos + 0.15 * neg, 0.25 * pos + 0.1 * neg], axis=2)
    else:
        rgb = np.stack([v, 0.9 * v, 0.55 * v], axis=2)
    cells = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    side = n * cell + (n + 1) * gap
    out = np.full((side, side, 3), 90, np.uint8)
    for r in range(n):
        y = gap + r * (cell + gap)
        for c in range(n):
            x = gap + c * (cell + gap)
            out[y:y + cell, x:x + cell] = cells[r, c]
    return out


def hidden_caption(a1: np.ndarray, push: np.ndarray, k: int, top: int = 3) -> str:
    """One sentence naming how many units are active and the strongest for and against ``k``."""
    order = np.argsort(push)
    up = [int(j) for j in order[::-1][:top] if push[j] > 0]
    down = [int(j) for j in order[:top] if push[j] < 0]
    return (f"{int(np.sum(a1 > 0))} of {a1.size} units active. For a {k}: units "
            f"{', '.join(map(str, up)) or 'none'} push up most; "
            f"{', '.join(map(str, down)) or 'none'} push down most (unit j is row j // 8, column j % 8).")


# ---------------------------------------------------------------- grid mode
def cells_between(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """The cells on the straight line from cell (r0, c0) to (r1, c1), both ends included, so a
    fast pointer that skips cells between two mouse events still paints a connected line."""
    n = max(abs(r1 - r0), abs(c1 - c0)) + 1
    rows = np.rint(np.linspace(r0, r1, n)).astype(int)
    cols = np.rint(np.linspace(c0, c1, n)).astype(int)
    return list(dict.fromkeys(zip(rows.tolist(), cols.tolist())))  # in order, no repeats


def paint_cell(grid: np.ndarray, r: int, c: int, erase: bool = False) -> np.ndarray:
    """Paint (or erase) cell (r, c) of ``grid`` in place with a soft round brush.

    grid : (28, 28) float32 in [0, 1], the network's input (1 = ink)
    Painting sets the cell to 1 and raises its four neighbours to at least 0.5 (MNIST strokes
    are 2-3 pixels wide with soft edges); erasing sets the cell and its neighbours to 0.
    Returns the ``(K, 2)`` int array of the (row, col) cells that changed.
    """
    h, w = grid.shape
    if not (0 <= r < h and 0 <= c < w):
        return np.zeros((0, 2), int)
    cells = [(r, c)] + [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                        if 0 <= r + dr < h and 0 <= c + dc < w]
    idx = np.array(cells)
    before = grid[idx[:, 0], idx[:, 1]].copy()
    if erase:
        grid[idx[:, 0], idx[:, 1]] = 0.0
    else:
        grid[idx[1:, 0], idx[1:, 1]] = np.maximum(grid[idx[1:, 0], idx[1:, 1]], 0.5)
        grid[r, c] = 1.0
    return idx[grid[idx[:, 0], idx[:, 1]] != before]


# ---------------------------------------------------------------- the retrain report
def _delta_html(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return ""
    diff = 100 * (after - before)
    cls = "dp-up" if diff > 0.005 else "dp-down" if diff < -0.005 else "dp-muted"
    return f'<span class="{cls}">{diff:+.2f} points</span>'


def _pct(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.2f} %"


def report_html(mnist_before: float, mnist_after: float, honest_before: str, honest_after: str,
                details: str, honest_change: tuple[float | None, float | None] = (None, None)) -> str:
    """A retrain's result as a small before -> after table.

    mnist_before, mnist_after : accuracy on the MNIST test set, in [0, 1]
    honest_before, honest_after : plain text, the running accuracy on the user's own drawings
        (predictions made before the label was given) before the retrain and since it
    details : plain text for the collapsed details line (sizes, time, file names)
    honest_change : (before, after) accuracies in [0, 1] behind those two texts, or None where
        there are no drawings yet; their difference is shown coloured like MNIST's
    """
    return (
        '<div class="dp-report"><b>Retrained.</b><table>'
        "<tr><th></th><th>before</th><th>after</th><th></th></tr>"
        f"<tr><td>MNIST test set</td><td>{_pct(mnist_before)}</td><td>{_pct(mnist_after)}</td>"
        f"<td>{_delta_html(mnist_before, mnist_after)}</td></tr>"
        f"<tr><td>your drawings</td><td>{html.escape(honest_before)}</td><td>{html.escape(honest_after)}</td>"
        f"<td>{_delta_html(*honest_change)}</td></tr></table>"
        f'<details><summary class="dp-muted">details</summary><div class="dp-muted">{html.escape(details)}</div>'
        "</details></div>")


def honest_fraction(correct: int, total: int) -> str:
    """"14 of 20 right (70 %)", or "no drawings yet"."""
    if total == 0:
        return "no drawings yet"
    return f"{correct} of {total} right ({100 * correct / total:.0f} %)"

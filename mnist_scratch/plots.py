"""Figures for the notebooks and the ``evaluate --figures`` command.

Every function builds and returns a :class:`matplotlib.figure.Figure` with the object-oriented
API (``Figure(...)``, never ``pyplot``): nothing global is created, the caller decides what to do
with the figure (``fig.savefig(path)``, or leave it as the last expression of a notebook cell,
where it is displayed exactly once), and figures are garbage-collected like any other object.

Images follow the MNIST convention ``x : (N, 784) float32 in [0, 1]`` with 1 = ink; they are
drawn dark ink on a light background (colormap ``gray_r``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure

from . import evaluate as ev

SIDE = 28  # MNIST images are 28 x 28 pixels
INK = "gray_r"
GAP_COLOR = "#f4a6a6"  # the reliability diagram's gap (opaque, so it looks the same over any bar)
LINE_STYLES = [  # one per run in a comparison: colour, width and marker differ, so equal curves stay visible
    {"color": "C0", "lw": 3.2, "marker": "o"}, {"color": "C1", "lw": 2.2, "marker": "s"},
    {"color": "C2", "lw": 1.4, "marker": "^"}, {"color": "C3", "lw": 1.0, "marker": "D"},
]


def _as_images(x: np.ndarray, name: str = "x") -> np.ndarray:
    """(N, 784) or (N, 28, 28) -> (N, 28, 28), with a clear error for anything else."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[1] == SIDE * SIDE:
        return x.reshape(-1, SIDE, SIDE)
    if x.ndim == 3 and x.shape[1:] == (SIDE, SIDE):
        return x
    raise ValueError(f"{name} must have shape (N, 784) or (N, 28, 28), got {x.shape}")


def _image_grid(n: int, ncols: int, cell: float = 1.0, title_space: float = 0.0):
    """A figure with ``n`` image axes on a grid of ``ncols`` columns, ticks off.

    Returns ``(fig, axes)`` with ``axes`` a flat list of length ``n`` (unused cells removed).
    """
    if n < 1:
        raise ValueError("nothing to draw: the grid needs at least one image")
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    height = cell * nrows + title_space + 0.3
    fig = Figure(figsize=(cell * ncols, height))
    grid = fig.subplots(nrows, ncols, squeeze=False)
    # Fixed margins (in inches) instead of a layout engine: fast even for 64 axes.
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - (title_space + 0.3) / height,
                        wspace=0.08, hspace=0.35 if title_space else 0.08)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.remove()
    axes = axes[:n]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_digits(x, y=None, n: int = 32, ncols: int = 8, title: str | None = None) -> Figure:
    """A grid of the first ``n`` digits, each titled with its label if ``y`` is given.

    Parameters
    ----------
    x : (N, 784) or (N, 28, 28) float in [0, 1]
    y : (N,) int (or any printable), optional labels shown above the images
    n : int, how many to show (at most N)
    ncols : int, images per row
    """
    images = _as_images(x)
    n = min(int(n), len(images))
    if y is not None and len(y) < n:
        raise ValueError(f"{n} digits to show but y has only {len(y)} labels")
    fig, axes = _image_grid(n, ncols, cell=1.0, title_space=0.3)
    for i, ax in enumerate(axes):
        ax.imshow(images[i], cmap=INK, vmin=0.0, vmax=1.0)
        if y is not None:
            ax.set_title(str(y[i]), fontsize=9, pad=2)
    fig.suptitle(title or f"{n} digits", fontsize=11)
    return fig


def plot_mean_digits(x, y) -> Figure:
    """The mean image of each digit 0-9 (the "average 3").

    Parameters
    ----------
    x : (N, 784) float in [0, 1]
    y : (N,) int in [0, 9]
    """
    images = _as_images(x)
    y = np.asarray(y)
    if len(y) != len(images):
        raise ValueError(f"x has {len(images)} images but y has {len(y)} labels")
    fig, axes = _image_grid(10, 10, cell=1.1, title_space=0.3)
    for k, ax in enumerate(axes):
        members = images[y == k]
        mean = members.mean(axis=0) if len(members) else np.zeros((SIDE, SIDE))
        ax.imshow(mean, cmap=INK, vmin=0.0, vmax=1.0)
        ax.set_title(f"{k} (n={len(members)})", fontsize=8, pad=2)
    fig.suptitle("Mean digit per class", fontsize=11)
    return fig


def plot_pixel_statistics(x) -> Figure:
    """Three panels: histogram of all pixel values, mean image, standard-deviation image.

    Parameters
    ----------
    x : (N, 784) float in [0, 1]
    """
    images = _as_images(x)
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax_hist, ax_mean, ax_std = fig.subplots(1, 3, width_ratios=[1.6, 1, 1])
    ax_hist.hist(images.ravel(), bins=50, range=(0, 1), color="tab:blue", log=True)
    ax_hist.set_xlabel("pixel value")
    ax_hist.set_ylabel("count (log scale)")
    zero = np.mean(images == 0)
    ax_hist.set_title(f"{zero:.0%} of pixels are exactly 0")
    for ax, img, name in ((ax_mean, images.mean(axis=0), "mean"), (ax_std, images.std(axis=0), "std")):
        shown = ax.imshow(img, cmap="viridis")
        ax.set_title(f"per-pixel {name}")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(shown, ax=ax, shrink=0.8)
    return fig


def plot_class_counts(splits: Mapping[str, np.ndarray]) -> Figure:
    """Grouped bars: how many examples of each digit every split holds.

    Parameters
    ----------
    splits : mapping name -> (N,) int labels, e.g. ``{"train": y_tr, "val": y_val, "test": y_te}``
    """
    if not splits:
        raise ValueError("splits is empty: pass at least one name -> labels")
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(splits)
    digits = np.arange(10)
    for i, (name, labels) in enumerate(splits.items()):
        counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=10)[:10]
        ax.bar(digits + (i - (len(splits) - 1) / 2) * width, counts, width, label=f"{name} ({counts.sum()})")
    ax.set_xticks(digits)
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    top = max(float(np.max(bar.get_height())) for bar in ax.patches)
    ax.set_ylim(0, 1.3 * top)  # head-room above the tallest bar, where the legend goes
    ax.legend(loc="upper center", ncol=len(splits), fontsize=8)
    ax.set_title("Examples per digit")
    return fig


def plot_preprocessing_steps(steps: Mapping[str, np.ndarray], ncols: int = 5) -> Figure:
    """The stages of preprocessing one drawing, left to right.

    Parameters
    ----------
    steps : ordered mapping name -> 2-D image (any size; float, or uint8), e.g. the result of
        ``mnist_scratch.preprocess.preprocess_steps``; the last one is usually the 28 x 28 input.
    ncols : int, panels per row
    """
    if not steps:
        raise ValueError("steps is empty: nothing to draw")
    fig, axes = _image_grid(len(steps), ncols, cell=2.0, title_space=0.4)
    for ax, (name, image) in zip(axes, steps.items()):
        image = np.asarray(image)
        if image.ndim == 1 and image.size == SIDE * SIDE:
            image = image.reshape(SIDE, SIDE)
        if image.ndim != 2:
            raise ValueError(f"step {name!r} must be a 2-D image, got shape {image.shape}")
        ax.imshow(image, cmap=INK, interpolation="nearest")
        ax.set_title(f"{name}\n{image.shape[0]}x{image.shape[1]}", fontsize=9)
    fig.suptitle("Preprocessing, step by step", fontsize=11)
    return fig


def plot_per_digit_accuracy(report_or_accuracy) -> Figure:
    """Bars of the accuracy on each digit, with the overall accuracy as a line.

    Parameters
    ----------
    report_or_accuracy : EvaluationReport, or (10,) float in [0, 1]
    """
    if isinstance(report_or_accuracy, ev.EvaluationReport):
        acc = report_or_accuracy.recall  # the accuracy on digit k is its recall
        overall = report_or_accuracy.accuracy
    else:
        acc = np.asarray(report_or_accuracy, dtype=np.float64)
        overall = float(np.nanmean(acc))
    if acc.shape != (10,):
        raise ValueError(f"per-digit accuracy must have shape (10,), got {acc.shape}")
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(np.arange(10), 100 * acc, color="tab:blue")
    ax.bar_label(bars, labels=[f"{100 * a:.1f}" for a in acc], fontsize=8)
    ax.axhline(100 * overall, color="tab:red", ls="--", lw=1, label=f"overall {100 * overall:.2f}%")
    low = np.nanmin(acc) if np.isfinite(acc).any() else 0.0
    bottom = max(0.0, 5 * np.floor((100 * low - 3) / 5))  # zoomed in, to a multiple of 5 %
    ax.set_ylim(bottom, 101)
    ax.set_xticks(np.arange(10))
    ax.set_xlabel("digit")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the axes, over no bar
    zoom = f" (the axis starts at {bottom:.0f} %, not 0)" if bottom > 0 else ""
    ax.set_title(f"Accuracy per digit{zoom}")
    return fig


def plot_confusion_matrix(confusion) -> Figure:
    """The confusion matrix with every count written in its cell.

    Colour is the fraction of the true row (on a square-root-ish scale so that the few mistakes
    are visible next to the large diagonal).

    Parameters
    ----------
    confusion : (10, 10) int, rows true digit, columns predicted digit (or an EvaluationReport)
    """
    if isinstance(confusion, ev.EvaluationReport):
        confusion = confusion.confusion
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {confusion.shape}")
    c = confusion.shape[0]
    rows = confusion.sum(axis=1, keepdims=True)
    rate = confusion / np.maximum(rows, 1)
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    shown = ax.imshow(rate, cmap="Blues", norm=PowerNorm(0.35, vmin=0.0, vmax=1.0))
    for i in range(c):
        for j in range(c):
            ax.text(j, i, str(int(confusion[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if rate[i, j] > 0.4 else "black")
    ax.set_xticks(np.arange(c))
    ax.set_yticks(np.arange(c))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("Confusion matrix (counts; colour = fraction of the row)")
    fig.colorbar(shown, ax=ax, shrink=0.8, label="fraction of true digit")
    return fig


def plot_confident_mistakes(x, y, proba, n: int = 16, ncols: int = 8) -> Figure:
    """Gallery of the misclassified digits with the highest confidence.

    Each image is titled ``true -> predicted`` and the confidence of the prediction.

    Parameters
    ----------
    x : (N, 784) float in [0, 1]
    y : (N,) int, true labels
    proba : (N, 10) float, predicted probabilities
    n : int, at most this many mistakes
    """
    images = _as_images(x)
    proba = np.asarray(proba)
    if len(proba) != len(images):
        raise ValueError(f"x has {len(images)} images but proba has {len(proba)} rows")
    idx = ev.most_confident_mistakes(proba, y, n)
    if len(idx) == 0:
        fig = Figure(figsize=(4, 1.5))
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        return fig
    fig, axes = _image_grid(len(idx), ncols, cell=1.3, title_space=0.4)
    for ax, i in zip(axes, idx):
        pred = int(proba[i].argmax())
        ax.imshow(images[i], cmap=INK, vmin=0.0, vmax=1.0)
        ax.set_title(f"{int(y[i])}→{pred}  {proba[i, pred]:.0%}", fontsize=8, pad=2)
    fig.suptitle("Most confident mistakes (true→predicted, confidence)", fontsize=11)
    return fig


def plot_first_layer_weights(weights, n: int = 64, ncols: int = 8) -> Figure:
    """The weights into the first ``n`` hidden units, each as a 28 x 28 image.

    Red pixels push the unit's input up, blue push it down; each image has its own symmetric
    colour scale.

    Parameters
    ----------
    weights : (784, H) float array ``W1``, or a network with ``params["W1"]``
    n : int, how many hidden units to show (at most H)
    """
    if hasattr(weights, "params"):
        weights = weights.params["W1"]
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[0] != SIDE * SIDE:
        raise ValueError(f"first-layer weights must have shape (784, H), got {w.shape}")
    n = min(int(n), w.shape[1])
    fig, axes = _image_grid(n, ncols, cell=1.0, title_space=0.3)
    for k, ax in enumerate(axes):
        img = w[:, k].reshape(SIDE, SIDE)
        vmax = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    fig.suptitle(f"First-layer weights of {n} hidden units (red +, blue −)", fontsize=11)
    return fig


def plot_reliability_diagram(proba, y, n_bins: int = 15) -> Figure:
    """Reliability diagram (accuracy vs confidence per bin) over a histogram of confidences.

    Parameters
    ----------
    proba : (N, 10) float, predicted probabilities
    y : (N,) int, true labels
    n_bins : int, equal-width confidence bins
    """
    bins = ev.reliability_bins(proba, y, n_bins)
    ece = ev.expected_calibration_error(proba, y, n_bins)
    centers = (bins.edges[:-1] + bins.edges[1:]) / 2
    width = bins.edges[1] - bins.edges[0]
    fig = Figure(figsize=(5, 6), layout="constrained")
    ax, ax_count = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    full = bins.count > 0
    acc, conf = bins.accuracy[full], bins.confidence[full]
    ax.bar(centers[full], acc, width * 0.95, color="tab:blue", label="accuracy", zorder=1)
    # The gap is drawn opaque from min(acc, conf) to max(acc, conf), over the accuracy bar where
    # accuracy exceeds confidence, so it has the legend's colour in both directions.
    ax.bar(centers[full], np.abs(conf - acc), width * 0.95, bottom=np.minimum(acc, conf),
           color=GAP_COLOR, edgecolor="tab:red", lw=0.8, label="gap |accuracy − confidence|", zorder=2)
    ax.plot(centers[full], conf, "_", color="black", ms=10, mew=2, label="mean confidence", zorder=3)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy in bin")
    ax.set_title(f"Reliability diagram (ECE = {ece:.4f})")
    ax.legend(loc="upper left", fontsize=8)
    ax_count.bar(centers, bins.count, width * 0.95, color="gray", log=True)
    ax_count.set_xlabel("confidence (largest probability)")
    ax_count.set_ylabel("examples")
    return fig


def _histories(histories, labels) -> list[tuple[str, list[dict]]]:
    """Normalise one history / a list of histories / a mapping label -> history."""
    if isinstance(histories, Mapping):
        pairs = [(str(k), list(v)) for k, v in histories.items()]
    elif isinstance(histories, Sequence) and histories and isinstance(histories[0], Mapping):
        pairs = [(labels[0] if labels else "", list(histories))]
    elif isinstance(histories, Sequence):
        names = list(labels) if labels is not None else [f"run {i + 1}" for i in range(len(histories))]
        if len(names) != len(histories):
            raise ValueError(f"{len(histories)} histories but {len(names)} labels")
        pairs = [(name, list(h)) for name, h in zip(names, histories)]
    else:
        raise TypeError("histories must be a history (list of dicts), a list of them or a dict")
    if not pairs or all(len(h) == 0 for _, h in pairs):
        raise ValueError("no training history to plot")
    return pairs


def _column(history: list[dict], key: str) -> np.ndarray:
    """Values of ``key`` over a history as float64, NaN where missing or None."""
    return np.array([np.nan if r.get(key) is None else r[key] for r in history], dtype=np.float64)


def plot_training_curves(histories, labels: Sequence[str] | None = None, x: str = "step",
                         logx: bool = False) -> Figure:
    """Loss and accuracy over training, for one run or several side by side.

    Parameters
    ----------
    histories : a history (list of dicts with keys "step", "epoch", "loss", "train_acc",
        "val_acc", "lr", "seconds"), a list of histories, or a mapping label -> history
    labels : names of the runs when ``histories`` is a list
    x : which key goes on the horizontal axis: "step", "epoch" or "seconds"
    logx : a logarithmic horizontal axis, for runs of very different lengths
    """
    if x not in {"step", "epoch", "seconds"}:
        raise ValueError(f"x must be 'step', 'epoch' or 'seconds', got {x!r}")
    runs = _histories(histories, labels)
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, (name, history) in enumerate(runs):
        # Earlier runs are drawn wider and with their own marker, so a run whose curve coincides
        # with a later one still shows around it.
        style = dict(LINE_STYLES[i % len(LINE_STYLES)], color=f"C{i % 10}", ms=4,
                     markevery=max(1, len(history) // 8))
        t = _column(history, x)
        prefix = f"{name}: " if name else ""
        ax_loss.plot(t, _column(history, "loss"), label=name or "loss", **style)
        train_acc, val_acc = _column(history, "train_acc"), _column(history, "val_acc")
        if np.isfinite(train_acc).any():
            ax_acc.plot(t, 100 * train_acc, label=f"{prefix}train", **style)
        if np.isfinite(val_acc).any():
            ax_acc.plot(t, 100 * val_acc, ls="--", label=f"{prefix}validation", **style)
    ax_loss.set_yscale("log")
    if logx:
        ax_loss.set_xscale("log")
        ax_acc.set_xscale("log")
    ax_loss.set_xlabel(x)
    ax_loss.set_ylabel("cross-entropy loss (log scale)")
    ax_loss.set_title("Loss")
    ax_loss.legend(fontsize=8)
    ax_acc.set_xlabel(x)
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("Accuracy (solid: train, dashed: validation)")
    ax_acc.legend(fontsize=8)
    return fig


def save_evaluation_figures(model, x, y, folder, history=None, dpi: int = 100) -> list[Path]:
    """Evaluate ``model`` on ``(x, y)`` and write the evaluation figures as PNG files.

    Parameters
    ----------
    model : object with ``predict_proba(x) -> (N, 10)`` (and ``params["W1"]`` for the weights)
    x : (N, 784) float32 in [0, 1]
    y : (N,) int in [0, 9]
    folder : str or Path, created if missing
    history : optional training history (list of dicts) for a training-curves figure

    Returns
    -------
    list of Path, the files written
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    proba = model.predict_proba(x)
    report = ev.evaluate(proba, None, y)
    figures = {
        "per_digit_accuracy": plot_per_digit_accuracy(report),
        "confusion_matrix": plot_confusion_matrix(report.confusion),
        "confident_mistakes": plot_confident_mistakes(x, y, proba),
        "reliability_diagram": plot_reliability_diagram(proba, y),
    }
    params = getattr(model, "params", None)
    if isinstance(params, Mapping) and "W1" in params:
        figures["first_layer_weights"] = plot_first_layer_weights(params["W1"])
    if history:
        figures["training_curves"] = plot_training_curves(history)
    written = []
    for name, fig in figures.items():
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    return written

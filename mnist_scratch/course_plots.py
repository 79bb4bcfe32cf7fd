"""Figures for the course notebooks (01, 06, 07): the tiny network's computational graph, activation
functions, activation histograms per layer, learning-rate sweeps, baselines and the playground.

Like :mod:`mnist_scratch.plots`, every function returns a :class:`matplotlib.figure.Figure` built
with the object-oriented API (never ``pyplot``), to be shown as the last expression of a cell.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from matplotlib.figure import Figure

FORWARD = "tab:blue"
GRADIENT = "tab:red"


# ----------------------------------------------------------------------------- the tiny network
def plot_computational_graph(values: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray]) -> Figure:
    """The 2-2-2 network as a graph: every node with its forward value (blue) and gradient (red).

    Parameters
    ----------
    values : the dict of :func:`mnist_scratch.course.tiny_values` (``x, z1, a1, z2, p, loss`` and
        ``dz1, da1, dz2, dp`` with shape (1, 2) each, one example)
    params : ``W1 (2, 2), b1 (2,), W2 (2, 2), b2 (2,)``; the weights label the edges
    """
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.set_xlim(-0.6, 5.6)
    ax.set_ylim(-0.3, 2.3)
    ax.axis("off")
    ys = (1.6, 0.4)
    columns = [("x", None), ("z1", "dz1"), ("a1", "da1"), ("z2", "dz2"), ("p", "dp")]
    for col, (name, grad) in enumerate(columns):
        for k in range(2):
            text = f"{name}[{k}] = {values[name][0, k]:.4g}"
            if grad is not None:
                text += f"\n∂L/∂{name}[{k}] = {values[grad][0, k]:.4g}"
            if name in ("z1", "z2"):
                text += f"\n(bias {params['b' + name[1]][k]:g})"
            ax.text(col, ys[k], text, ha="center", va="center", fontsize=8.5,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "gray"})
    ax.text(5, 1.0, f"L = {float(values['loss']):.4g}\n∂L/∂L = 1", ha="center", va="center", fontsize=9,
            bbox={"boxstyle": "round", "fc": "lightyellow", "ec": "gray"})
    arrow = {"arrowstyle": "->", "color": "gray", "lw": 0.8, "shrinkA": 38, "shrinkB": 38}
    for col, matrix in ((0, "W1"), (2, "W2")):
        for i in range(2):
            for j in range(2):
                ax.annotate("", xy=(col + 1, ys[j]), xytext=(col, ys[i]), arrowprops=arrow)
                mid = (col + 0.5, ys[i] + 0.3 * (ys[j] - ys[i]) + (0.08 if i == j else 0))
                ax.text(*mid, f"w={params[matrix][i, j]:g}", fontsize=7.5, ha="center", color="dimgray")
    for k in range(2):
        ax.annotate("", xy=(2, ys[k]), xytext=(1, ys[k]), arrowprops=arrow)
        ax.text(1.5, ys[k] + 0.1, "relu", fontsize=8, ha="center", color="dimgray")
        for j in range(2):
            ax.annotate("", xy=(4, ys[j]), xytext=(3, ys[k]), arrowprops=arrow)
        ax.annotate("", xy=(5, 1.0), xytext=(4, ys[k]), arrowprops=arrow)
    ax.text(3.5, 1.05, "softmax", fontsize=8, ha="center", color="dimgray")
    ax.text(4.5, 1.15, "-log p[y]", fontsize=8, ha="center", color="dimgray")
    ax.set_title("The tiny network: each node's forward value and the gradient of the loss with respect to it")
    return fig


# ----------------------------------------------------------------------------- activation functions
def plot_activation_function(fn: Callable, grad: Callable, name: str = "relu") -> Figure:
    """A function of one variable and its derivative, side by side, on ``z`` in [-3, 3]."""
    z = np.linspace(-3, 3, 601)
    fig = Figure(figsize=(9, 3), layout="constrained")
    ax_f, ax_g = fig.subplots(1, 2, sharex=True)
    ax_f.plot(z, fn(z), color=FORWARD, lw=2)
    ax_f.set_title(f"{name}(z)")
    ax_g.plot(z, grad(z), color=GRADIENT, lw=2)
    ax_g.set_title(f"{name}'(z): how much of the gradient passes")
    for ax in (ax_f, ax_g):
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_xlabel("z")
    return fig


def plot_softmax(softmax: Callable, logits, temperatures=(1.0, 0.5, 2.0)) -> Figure:
    """Bars of one row of logits and of ``softmax(logits / T)`` for a few temperatures ``T``.

    Dividing the logits by ``T < 1`` sharpens the probabilities, ``T > 1`` flattens them; adding a
    constant to every logit changes nothing.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(1, -1)
    k = np.arange(z.shape[1])
    fig = Figure(figsize=(11, 3), layout="constrained")
    axes = fig.subplots(1, 1 + len(temperatures))
    axes[0].bar(k, z[0], color="gray")
    axes[0].set_title("logits z")
    for ax, t in zip(axes[1:], temperatures):
        p = softmax(z / t)[0]
        ax.bar(k, p, color=FORWARD)
        ax.set_ylim(0, 1)
        ax.set_title(f"softmax(z / {t:g}), sum = {p.sum():.3f}")
    for ax in axes:
        ax.set_xticks(k)
        ax.set_xlabel("class")
    return fig


# ----------------------------------------------------------------------------- initialisation
def plot_activation_histograms(activations: Mapping[str, list[np.ndarray]]) -> Figure:
    """One row per initialisation, one column per hidden layer: histograms of the activations.

    Parameters
    ----------
    activations : mapping label -> [a1, a2, ...], each (N, width), e.g. from
        :func:`mnist_scratch.course.init_scale_activations`
    """
    labels = list(activations)
    n_layers = len(activations[labels[0]])
    fig = Figure(figsize=(2 * n_layers, 1.7 * len(labels) + 0.6), layout="constrained")
    grid = fig.subplots(len(labels), n_layers, squeeze=False, sharex="row")
    for row, label in zip(grid, labels):
        top = max(float(np.percentile(a, 99.5)) for a in activations[label]) or 1.0
        for layer, (ax, a) in enumerate(zip(row, activations[label]), start=1):
            rms = float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))
            ax.hist(a.ravel(), bins=40, range=(0, top), color=FORWARD, log=True)
            ax.set_title(f"layer {layer}: rms {rms:.3g}", fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel(label, fontsize=8)
    fig.suptitle("Hidden activations per layer (log counts; the spike at 0 is the ReLU's zeros)", fontsize=10)
    return fig


def plot_rms_per_layer(activations: Mapping[str, list[np.ndarray]]) -> Figure:
    """The root-mean-square activation of each hidden layer, one line per initialisation (log scale)."""
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    for label, acts in activations.items():
        rms = [float(np.sqrt(np.mean(a.astype(np.float64) ** 2))) for a in acts]
        ax.plot(np.arange(1, len(rms) + 1), rms, marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("rms activation (log scale)")
    ax.legend(fontsize=8)
    ax.set_title("Size of the signal, layer by layer")
    return fig


# ----------------------------------------------------------------------------- experiments
def plot_lr_sweep(points, momentum: float = 0.9) -> Figure:
    """Validation accuracy against the learning rate, one line per optimizer (log x).

    Left: against the learning rate. Right: momentum's points moved to its effective step
    ``lr / (1 - momentum)``, where they land on SGD's curve. Diverged runs are crosses at 0.
    """
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax_lr, ax_eff = fig.subplots(1, 2, sharey=True)
    names = list(dict.fromkeys(p.optimizer for p in points))
    for i, name in enumerate(names):
        mine = [p for p in points if p.optimizer == name]
        lr = np.array([p.lr for p in mine])
        acc = np.array([0.0 if p.diverged else 100 * p.val_acc for p in mine])
        style = {"color": f"C{i}", "marker": "osD^"[i % 4], "lw": 3 - 0.7 * i, "ms": 7 - i, "label": name}
        ax_lr.plot(lr, acc, **style)
        if name in ("sgd", "momentum"):
            ax_eff.plot(lr / (1 - momentum) if name == "momentum" else lr, acc, **style)
        for p in mine:
            if p.diverged:
                ax_lr.plot(p.lr, 0, "x", color="black", ms=9)
    for ax in (ax_lr, ax_eff):
        ax.set_xscale("log")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=8)
    ax_lr.set_xlabel("learning rate")
    ax_lr.set_ylabel("validation accuracy (%)")
    ax_lr.set_title("Accuracy after the same number of steps")
    ax_eff.set_xlabel(f"effective step: lr for SGD, lr / (1 - {momentum:g}) for momentum")
    ax_eff.set_title("Momentum shifted by its effective step")
    return fig


def plot_momentum_velocity(velocity: np.ndarray, momentum: float = 0.9) -> Figure:
    """The velocity of heavy-ball momentum under a constant gradient 1, approaching 1 / (1 - momentum)."""
    fig = Figure(figsize=(6, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(1, len(velocity) + 1), velocity, marker=".", color="C1", label="velocity v")
    ax.axhline(1 / (1 - momentum), color="gray", ls="--", label=f"1 / (1 - {momentum:g}) = {1 / (1 - momentum):g}")
    ax.set_xlabel("step")
    ax.set_ylabel("v (gradient = 1)")
    ax.legend(fontsize=8)
    ax.set_title("Momentum multiplies a steady gradient")
    return fig


def plot_baselines(results: Mapping[str, float]) -> Figure:
    """Horizontal bars of test accuracy per model, weakest first, each labelled with its value."""
    names = list(results)
    acc = 100 * np.array([results[n] for n in names])
    fig = Figure(figsize=(7, 0.45 * len(names) + 1), layout="constrained")
    ax = fig.subplots()
    bars = ax.barh(np.arange(len(names)), acc, color=[f"C{i}" for i in range(len(names))])
    ax.bar_label(bars, labels=[f"{a:.1f} %" for a in acc], padding=3, fontsize=8)
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 109)
    ax.set_xlabel("test accuracy (%), axis from 0")
    ax.set_title("What each step up buys")
    return fig


def plot_playground(result) -> Figure:
    """Three panels for a :class:`mnist_scratch.playground.PlayResult`: the loss of every step,
    the hidden activations at the end, and the last gradients of both weight matrices."""
    fig = Figure(figsize=(12, 3.2), layout="constrained")
    ax_loss, ax_act, ax_grad = fig.subplots(1, 3)
    losses = np.asarray(result.losses, dtype=np.float64)
    if len(losses):
        ax_loss.plot(np.arange(1, len(losses) + 1), losses, color="lightgray", lw=0.8, label="each step")
        window = max(1, len(losses) // 20)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax_loss.plot(np.arange(window, len(losses) + 1), smooth, color=FORWARD, label=f"mean of {window}")
        ax_loss.set_yscale("log")
        ax_loss.legend(fontsize=7)
    if result.diverged_at is not None:
        ax_loss.set_title(f"Loss: DIVERGED at step {result.diverged_at}", color="red")
    else:
        ax_loss.set_title(f"Loss (validation {result.val_acc:.1%} at the end)")
    ax_loss.set_xlabel("step")
    if result.activations is not None:
        ax_act.hist(result.activations.ravel(), bins=40, color=FORWARD, log=True)
        dead = float(np.mean(result.activations.max(axis=0) == 0))
        ax_act.set_title(f"Hidden activations ({dead:.0%} of units never fire)")
    else:
        ax_act.set_title("Hidden activations: none (diverged)")
        ax_act.axis("off")
    ax_act.set_xlabel("activation")
    grads = {k: v for k, v in result.gradients.items() if k.startswith("W")}
    if grads:
        top = max(float(np.abs(g).max()) for g in grads.values()) or 1.0
        for i, (name, g) in enumerate(grads.items()):
            ax_grad.hist(g.ravel(), bins=40, range=(-top, top), log=True, alpha=0.6, color=f"C{i + 2}", label=name)
        ax_grad.legend(fontsize=7)
    ax_grad.set_title("Gradients of the last step")
    ax_grad.set_xlabel("dL/dW")
    return fig


def plot_losses(losses, title: str = "Training loss of every step") -> Figure:
    """The loss of every training step (light) and its running mean (dark), log scale."""
    losses = np.asarray(losses, dtype=np.float64)
    if losses.size == 0:
        raise ValueError("no losses to plot")
    fig = Figure(figsize=(7, 3), layout="constrained")
    ax = fig.subplots()
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="lightgray", lw=0.8, label="each step")
    window = max(1, len(losses) // 25)
    ax.plot(steps[window - 1:], np.convolve(losses, np.ones(window) / window, mode="valid"),
            color=FORWARD, label=f"mean of {window} steps")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (log scale)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig

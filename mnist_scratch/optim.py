"""Optimizers and learning-rate schedules, on one flat parameter buffer, updated in place.

Each optimizer is a pair: ``init_state(name, n)`` gives its state as a dict of named arrays
(saved in checkpoints), and ``update(...)`` applies one step. With ``g`` the gradient, ``w`` the
parameters and ``lr`` the learning rate:

    gd, sgd    w -= lr * g                                  (gd = the full batch, sgd = a minibatch)
    momentum   v = mu * v + g;  w -= lr * v                  (heavy ball)
    adam       m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  t += 1
               w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
"""
from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine", "linear")


def init_state(name: str, n: int, dtype=np.float32) -> dict[str, np.ndarray]:
    """Zero state for optimizer ``name`` over ``n`` parameters."""
    if name in ("gd", "sgd"):
        return {}
    if name == "momentum":
        return {"velocity": np.zeros(n, dtype)}
    if name == "adam":
        return {"m": np.zeros(n, dtype), "v": np.zeros(n, dtype), "t": np.zeros((), np.int64)}
    raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def update(name: str, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], lr: float, *,
           momentum: float = 0.9, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
    """One in-place step on ``w`` (flat float32 parameters) from ``g`` (same shape).

    ``g`` is used as scratch space and holds garbage afterwards.
    """
    if name in ("gd", "sgd"):
        g *= lr
        w -= g
    elif name == "momentum":
        v = state["velocity"]
        v *= momentum
        v += g
        np.multiply(v, lr, out=g)
        w -= g
    elif name == "adam":
        m, v, t = state["m"], state["v"], state["t"]
        t += 1
        # In place, no temporaries: b m + (1 - b) g == b (m - g) + g.
        m -= g
        m *= beta1
        m += g
        np.square(g, out=g)
        v -= g
        v *= beta2
        v += g
        step_size = lr * math.sqrt(1 - beta2 ** int(t)) / (1 - beta1 ** int(t))
        np.sqrt(v, out=g)
        g += eps
        np.divide(m, g, out=g)
        g *= step_size
        w -= g
    else:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def learning_rate(schedule: str, base_lr: float, step: int, total_steps: int,
                  min_fraction: float = 0.0) -> float:
    """The learning rate at ``step`` (0-based) of ``total_steps``.

    constant: ``base_lr``;  cosine: from ``base_lr`` down to ``min_fraction * base_lr`` along half a
    cosine;  linear: straight down to ``min_fraction * base_lr``.
    """
    progress = min(step / max(total_steps, 1), 1.0)
    low = min_fraction * base_lr
    if schedule == "constant":
        return base_lr
    if schedule == "cosine":
        return low + (base_lr - low) * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "linear":
        return base_lr - (base_lr - low) * progress
    raise ValueError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")

"""Optimizers and learning-rate schedules, each update written as its textbook formula.

An optimizer is a small object with two methods:

    state = opt.init_state(params)          # a dict of named arrays (saved in checkpoints as opt.<key>)
    opt.step(params, grads, state, lr)      # one update of every parameter, in place

``params`` and ``grads`` are dicts of arrays with the same keys (``"W1", "b1", ...``). With ``w`` a
parameter, ``g`` its gradient and ``lr`` the learning rate:

    sgd, gd    w = w - lr * g                               (gd: g from the whole training set)
    momentum   v = mu * v + g;   w = w - lr * v              (heavy ball)
    adam       m = beta1 * m + (1 - beta1) * g;   v = beta2 * v + (1 - beta2) * g**2;   t = t + 1
               w = w - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)

The training loop runs the same updates rearranged for speed (``fast_path.py``); a test checks
that both agree.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent: ``w = w - lr * g``. No state."""

    def init_state(self, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {}

    def step(self, params, grads, state, lr: float) -> None:
        for name, w in params.items():
            w -= lr * grads[name]                                 # w = w - lr g


@dataclass(frozen=True)
class Momentum:
    """Heavy-ball momentum: ``v = mu * v + g;  w = w - lr * v``. State: ``velocity.W1`` ... (like params)."""

    momentum: float = 0.9   # mu: the fraction of the previous step that carries over

    def init_state(self, params):
        return {f"velocity.{name}": np.zeros_like(w) for name, w in params.items()}

    def step(self, params, grads, state, lr: float) -> None:
        for name, w in params.items():
            v = state[f"velocity.{name}"]
            v[...] = self.momentum * v + grads[name]              # v = mu v + g
            w -= lr * v                                           # w = w - lr v


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1). State: ``t`` (steps so far), ``m.W1``, ``v.W1``, ...

    ``m`` and ``v`` are running means of the gradient and of its square; dividing by
    ``1 - beta**t`` removes their bias towards the zeros they start from.
    """

    beta1: float = 0.9      # decay of the mean of g
    beta2: float = 0.999    # decay of the mean of g**2
    eps: float = 1e-8       # keeps the division finite where v is 0

    def init_state(self, params):
        state = {"t": np.zeros((), np.int64)}
        for name, w in params.items():
            state[f"m.{name}"] = np.zeros_like(w)
            state[f"v.{name}"] = np.zeros_like(w)
        return state

    def step(self, params, grads, state, lr: float) -> None:
        state["t"] += 1
        t = int(state["t"])
        for name, w in params.items():
            g, m, v = grads[name], state[f"m.{name}"], state[f"v.{name}"]
            m[...] = self.beta1 * m + (1 - self.beta1) * g        # m = beta1 m + (1 - beta1) g
            v[...] = self.beta2 * v + (1 - self.beta2) * g ** 2   # v = beta2 v + (1 - beta2) g^2
            m_hat = m / (1 - self.beta1 ** t)
            v_hat = v / (1 - self.beta2 ** t)
            w -= lr * m_hat / (np.sqrt(v_hat) + self.eps)         # w = w - lr m_hat / (sqrt(v_hat) + eps)


# Full-batch gradient descent is SGD whose "batch" is the whole training set (TrainConfig(batch_size=None)).
OPTIMIZERS = {"gd": SGD, "sgd": SGD, "momentum": Momentum, "adam": Adam}
HYPERPARAMETERS = {f.name for cls in set(OPTIMIZERS.values()) for f in dataclasses.fields(cls)}


def make_optimizer(name: str, **hyper: float):
    """The optimizer called ``name`` ("gd", "sgd", "momentum" or "adam") with its hyperparameters.

    ``hyper`` may hold the hyperparameters of every optimizer (``momentum``, ``beta1``, ``beta2``,
    ``eps``), so one config can carry them all; each optimizer takes its own and ignores the rest.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    unknown = set(hyper) - HYPERPARAMETERS
    if unknown:
        raise TypeError(f"unknown optimizer hyperparameter(s) {', '.join(sorted(unknown))}; "
                        f"known: {', '.join(sorted(HYPERPARAMETERS))}")
    cls = OPTIMIZERS[name]
    return cls(**{f.name: hyper[f.name] for f in dataclasses.fields(cls) if f.name in hyper})


# ----------------------------------------------------------------- learning-rate schedules
SCHEDULES = ("constant", "cosine", "linear")


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

"""The experiments of notebook 07: baselines, a learning-rate sweep, overfitting and regularisation.

Each is a plain function of arrays and a few numbers that returns plain results (dicts and
dataclasses); the notebook prints and plots them, and the tests call the same functions.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .network import Network
from .train import TrainConfig, TrainingDiverged, accuracy, train


# ----------------------------------------------------------------------------- baselines
def class_means(x: np.ndarray, y: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """The mean image of each class: ``x (N, 784)``, ``y (N,) int`` -> ``(n_classes, 784)`` float32.

    A class with no examples gets an all-zero template.
    """
    sums = np.zeros((n_classes, x.shape[1]), dtype=np.float64)
    np.add.at(sums, y, x)
    counts = np.bincount(y, minlength=n_classes)[:, None]
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def nearest_mean_predict(means: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The class whose mean image is closest (Euclidean) to each row of ``x``: ``(N,)`` int64.

    ``|x - m|^2 = |x|^2 - 2 x.m + |m|^2``, and ``|x|^2`` is the same for every class.
    """
    scores = x @ means.T - 0.5 * np.sum(means ** 2, axis=1)   # (N, 10): larger is closer
    return scores.argmax(axis=1).astype(np.int64)


def baselines(x_train, y_train, x_test, y_test, config: TrainConfig, seed: int = 0) -> dict[str, float]:
    """Test accuracy of ever stronger models trained on the same digits with the same budget.

    * ``chance``: guessing uniformly at random (expected accuracy 1/10);
    * ``most frequent digit``: always answering the most common training label;
    * ``nearest class mean``: the template matcher of notebook 02;
    * ``softmax regression 784-10``: ``Network((784, 10))``, no hidden layer, trained with ``config``;
    * ``network 784-64-10``: the same training, with 64 hidden ReLU units.
    """
    results = {
        "chance": 1 / 10,
        "most frequent digit": float(np.mean(y_test == np.bincount(y_train, minlength=10).argmax())),
        "nearest class mean": float(np.mean(nearest_mean_predict(class_means(x_train, y_train), x_test) == y_test)),
    }
    for name, sizes in (("softmax regression 784-10", (784, 10)), ("network 784-64-10", (784, 64, 10))):
        net = Network(sizes, seed=seed)
        train(net, x_train, y_train, config, progress=False)
        results[name] = accuracy(net, x_test, y_test)
    return results


# ----------------------------------------------------------------------------- learning-rate sweep
@dataclass(frozen=True)
class SweepPoint:
    """One training run of a sweep."""

    optimizer: str
    lr: float
    val_acc: float        # validation accuracy at the end (NaN if it diverged)
    loss: float           # mean training loss of the last steps (NaN if it diverged)
    diverged: bool        # the loss became NaN or infinite


def lr_sweep(x, y, x_val, y_val, optimizers=("sgd", "momentum", "adam"),
             lrs=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), steps: int = 300, batch_size: int = 128,
             seed: int = 0) -> list[SweepPoint]:
    """Train a fresh 784-64-10 network for ``steps`` steps per (optimizer, learning rate).

    Constant learning rate, no augmentation, the same initialisation and batches for every run,
    so only the optimizer and the rate differ.
    """
    points = []
    for name in optimizers:
        for lr in lrs:
            config = TrainConfig(optimizer=name, lr=float(lr), schedule="constant", batch_size=batch_size,
                                 steps=steps, augment=False, seed=seed, eval_every=max(1, steps // 5))
            net = Network(seed=seed)
            try:
                history = train(net, x, y, config, x_val=x_val, y_val=y_val, progress=False).history
            except TrainingDiverged:
                points.append(SweepPoint(name, float(lr), math.nan, math.nan, True))
                continue
            last = history[-1]
            diverged = not math.isfinite(last["loss"])
            points.append(SweepPoint(name, float(lr), last["val_acc"], last["loss"], diverged))
    return points


def best_lr(points: list[SweepPoint]) -> dict[str, SweepPoint]:
    """The point with the highest validation accuracy, per optimizer."""
    best: dict[str, SweepPoint] = {}
    for p in points:
        if not p.diverged and (p.optimizer not in best or p.val_acc > best[p.optimizer].val_acc):
            best[p.optimizer] = p
    return best


def effective_lr(lr: float, momentum: float = 0.9) -> float:
    """The step size heavy-ball momentum takes in a steady gradient: ``lr / (1 - momentum)``.

    With ``v = momentum * v + g`` and a constant ``g``, ``v`` grows to ``g / (1 - momentum)``, so
    momentum 0.9 at ``lr`` moves like SGD at ``10 * lr``.
    """
    return lr / (1 - momentum)


def momentum_velocity(g: float = 1.0, momentum: float = 0.9, steps: int = 60) -> np.ndarray:
    """The velocity ``v_t = momentum * v_{t-1} + g`` for a constant gradient ``g``: ``(steps,)``."""
    v, out = 0.0, []
    for _ in range(steps):
        v = momentum * v + g
        out.append(v)
    return np.array(out)


# ----------------------------------------------------------------------------- overfitting
REGULARISERS = {
    "no regularisation": {},
    "weight decay": {"weight_decay": 1e-2},
    "augmentation": {"augment": True},
    "weight decay + augmentation": {"weight_decay": 1e-2, "augment": True},
}


def regularisation_runs(x_small, y_small, x_val, y_val, epochs: float, variants=None,
                        base: TrainConfig | None = None, seed: int = 0) -> dict[str, list[dict]]:
    """Train the same network on a small training set with each regulariser; return the histories.

    ``variants``: mapping name -> fields of :class:`TrainConfig` to change (default
    :data:`REGULARISERS`). The history's ``train_acc`` is measured on the small training set
    itself, ``val_acc`` on ``x_val``, once per epoch.
    """
    base = base or TrainConfig(optimizer="adam", lr=1e-3, schedule="constant", batch_size=64,
                               augment=False)
    per_epoch = max(1, len(x_small) // base.batch_size)
    histories = {}
    for name, changes in (variants or REGULARISERS).items():
        config = dataclasses.replace(base, epochs=epochs, seed=seed, eval_every=per_epoch,
                                     **{"augment": False, **changes})
        histories[name] = train(Network(seed=seed), x_small, y_small, config, x_val=x_val, y_val=y_val,
                                progress=False).history
    return histories


def final_gap(history: list[dict]) -> tuple[float, float, float]:
    """``(train accuracy, validation accuracy, train - validation)`` at the end of a run."""
    last = history[-1]
    return last["train_acc"], last["val_acc"], last["train_acc"] - last["val_acc"]


def gap_table(histories: dict[str, list[dict]]) -> str:
    """Train and validation accuracy and their gap at the end of each run, and which run had the
    smallest gap and which the highest validation accuracy (several lines of text)."""
    gaps = {name: final_gap(history) for name, history in histories.items()}
    lines = [f"{name:>28}: train {t:.1%}, validation {v:.1%}, gap {100 * g:5.1f} points"
             for name, (t, v, g) in gaps.items()]
    smallest = min(gaps, key=lambda name: gaps[name][2])
    highest = max(gaps, key=lambda name: gaps[name][1])
    lines.append(f"smallest gap: {smallest}; highest validation accuracy: {highest}")
    return "\n".join(lines)

"""Training: the loop, its configuration, checkpoints and exact resume.

A training checkpoint holds everything the loop's future depends on: the parameters, the
optimizer state, the step (every batch and its distortions follow from the seed and the step, see
:mod:`.batches`), the config, the history and a fingerprint of the training data. So training
``N + M`` steps in one run gives bit-identical parameters to training ``N``, saving, loading and
training ``M`` more.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import optimizers
from .augment import AugmentConfig
from .batches import batch_source
from .checkpoint import CheckpointError, read_metadata, read_run, save_run
from .data import fingerprint
from .fast_path import FastTrainer
from .network import Network
from .threads import blas_threads

TRAIN_ACC_SAMPLE = 5_000  # training accuracy in the history is measured on this many digits


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``steps`` (if set) wins over ``epochs``."""

    optimizer: str = "adam"          # "gd" (full batch), "sgd", "momentum" or "adam"
    lr: float = 3e-3                 # base learning rate
    schedule: str = "cosine"         # "constant", "cosine" or "linear" decay over the run
    batch_size: int | None = 128     # None: the full training set every step (classic gradient descent)
    epochs: float = 30               # passes over the training set
    steps: int | None = None         # total optimizer steps; overrides epochs
    weight_decay: float = 0.0        # L2 penalty on weights (not biases): adds wd * W to the gradient
    momentum: float = 0.9            # for "momentum"
    beta1: float = 0.9               # for "adam"
    beta2: float = 0.999
    augment: bool = True             # random small shifts / rotations / scalings of each batch
    augment_config: AugmentConfig = AugmentConfig()
    seed: int = 0                    # shuffling and augmentation
    eval_every: int | None = None    # steps between history records (default: once per epoch)
    checkpoint_every: int | None = None  # steps between checkpoints (default: only at the end)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict, source: str = "the checkpoint") -> "TrainConfig":
        """The config saved by :meth:`to_json`; a :class:`CheckpointError` if it is not one."""
        names = {f.name for f in dataclasses.fields(cls)}
        augment_names = {f.name for f in dataclasses.fields(AugmentConfig)}
        if not isinstance(data, dict) or not isinstance(data.get("augment_config", {}), dict):
            raise CheckpointError(f"{source}: the training settings are not a JSON object")
        unknown = sorted(set(data) - names) + sorted(set(data.get("augment_config", {})) - augment_names)
        if unknown:
            raise CheckpointError(f"{source} has settings this version of mnist_scratch does not know "
                                  f"({', '.join(map(str, unknown))}): was it written by a newer version?")
        try:
            return cls(**{**data, "augment_config": AugmentConfig(**data.get("augment_config", {}))})
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: unusable training settings ({exc})") from None


# Named recipes: "default" meets the project's bar (>= 98 % test accuracy, seeds 0-2, in <= 15 s on 2 cores).
RECIPES = {
    "default": TrainConfig(),
    "classic": TrainConfig(optimizer="gd", lr=0.5, schedule="constant", batch_size=None, steps=500,
                           augment=False),
    "sgd": TrainConfig(optimizer="sgd", lr=0.1, schedule="cosine", epochs=10, augment=False),
    "momentum": TrainConfig(optimizer="momentum", lr=0.01, schedule="cosine", epochs=10, augment=False),
    "adam": TrainConfig(optimizer="adam", lr=1e-3, schedule="cosine", epochs=10, augment=False),
}


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; no checkpoint was written from the broken parameters."""


@dataclass
class TrainState:
    """Everything besides the network that the loop's future depends on."""

    optimizer_state: dict[str, np.ndarray]
    step: int = 0                    # (the batches of every step follow from it: see batches.py)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0             # training wall time so far, across resumes
    loss_sum: float = 0.0            # training losses since the last history record ...
    loss_count: int = 0              # ... and how many (so a resumed record averages the same steps)


@dataclass
class TrainResult:
    history: list[dict]
    step: int
    total_steps: int
    seconds: float
    checkpoint_path: Path | None


def plan(config: TrainConfig, n: int) -> tuple[int, int, int]:
    """``(batch_size, steps_per_epoch, total_steps)`` for ``n`` training digits.

    Each epoch uses ``n // batch_size`` full batches of a fresh shuffle (the few left over are
    different ones every epoch).
    """
    if config.optimizer not in optimizers.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose from {', '.join(optimizers.OPTIMIZERS)}")
    if config.schedule not in optimizers.SCHEDULES:
        raise ValueError(f"unknown schedule {config.schedule!r}; choose from {', '.join(optimizers.SCHEDULES)}")
    batch = n if config.batch_size is None else int(config.batch_size)
    if not 1 <= batch <= n:
        raise ValueError(f"batch_size must be in 1..{n} (the training set size), got {config.batch_size}")
    if config.lr <= 0 or not math.isfinite(config.lr):
        raise ValueError(f"the learning rate must be a positive number, got {config.lr}")
    per_epoch = n // batch
    total = int(config.steps) if config.steps is not None else int(round(config.epochs * per_epoch))
    if total < 1:
        raise ValueError("training needs at least one step (check steps / epochs)")
    return batch, per_epoch, total


def make_optimizer(config: TrainConfig):
    """The optimizer ``config`` names, with its hyperparameters from ``config``."""
    return optimizers.make_optimizer(config.optimizer, momentum=config.momentum, beta1=config.beta1,
                                     beta2=config.beta2)


def new_state(net: Network, config: TrainConfig) -> TrainState:
    """A fresh state: zero optimizer state (named arrays shaped for ``net``)."""
    return TrainState(make_optimizer(config).init_state(net.params))


def train(net: Network, x: np.ndarray, y: np.ndarray, config: TrainConfig = TrainConfig(), *,
          x_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
          checkpoint_path: str | os.PathLike | None = None, resume: bool = False,
          until_step: int | None = None, progress: bool = True,
          on_step: Callable[[int, int], None] | None = None) -> TrainResult:
    """Train ``net`` in place on ``x: (N, 784) float32 in [0, 1]``, ``y: (N,) int64``.

    ``checkpoint_path``: where checkpoints go (atomically); with ``resume=True`` training continues
    from the checkpoint there, if it exists. ``until_step`` stops this run early (as if
    interrupted) while keeping the schedule of the whole run. ``on_step(step, total)`` is called
    after every step (e.g. to move a progress widget). Raises :class:`TrainingDiverged` on a
    NaN/inf loss.
    """
    from tqdm.auto import tqdm  # deferred: importing tqdm.auto probes for Jupyter

    x, y = net.check_batch(x, y)  # the whole set, once: the fast path does not check its batches
    x = np.ascontiguousarray(x)
    batch, per_epoch, total = plan(config, len(x))
    data_id = fingerprint(x, y) if checkpoint_path is not None else None
    state = new_state(net, config)
    if resume and checkpoint_path is not None and Path(checkpoint_path).exists():
        state = load_training_checkpoint(checkpoint_path, net, config, data_id)
    stop = total if until_step is None else min(int(until_step), total)

    trainer = FastTrainer(net, make_optimizer(config), config.weight_decay, state.optimizer_state)
    state.optimizer_state = trainer.state  # live views into the trainer's buffers, for checkpoints
    start_time = time.perf_counter() - state.seconds
    sample = slice(0, min(len(x), TRAIN_ACC_SAMPLE))
    every = config.eval_every or per_epoch  # steps between history records
    bar = tqdm(total=stop, initial=state.step, disable=not progress, unit="step",
               desc=f"{config.optimizer} b={batch}", leave=True)
    blas = blas_threads()  # one BLAS thread; the batches are made on the other core
    batches = batch_source(x, y, config, batch, per_epoch, start=state.step, stop=stop)
    try:
        while state.step < stop:
            xb, yb = batches(state.step)
            loss = trainer.gradients(xb, yb)
            lr = optimizers.learning_rate(config.schedule, config.lr, state.step, total)
            if not math.isfinite(loss):
                raise TrainingDiverged(
                    f"the loss became {loss} at step {state.step} (learning rate {lr:g}); no checkpoint "
                    f"was written from these parameters; try a smaller learning rate")
            trainer.update(lr)
            state.step += 1
            state.loss_sum += loss
            state.loss_count += 1
            bar.update(1)
            if on_step is not None:
                on_step(state.step, stop)
            if state.step % every == 0 or state.step == total:
                record = {
                    "step": state.step,
                    "epoch": state.step / per_epoch,
                    "loss": state.loss_sum / state.loss_count,
                    "train_acc": accuracy(net, x[sample], y[sample]),
                    "val_acc": accuracy(net, x_val, y_val) if x_val is not None else None,
                    "lr": lr,
                    "seconds": time.perf_counter() - start_time,
                }
                state.history.append(record)
                state.loss_sum, state.loss_count = 0.0, 0
                bar.set_postfix(loss=f"{record['loss']:.4f}",
                                val=f"{record['val_acc']:.4f}" if record["val_acc"] is not None else "-")
            if checkpoint_path is not None and config.checkpoint_every and state.step % config.checkpoint_every == 0:
                state.seconds = time.perf_counter() - start_time
                save_training_checkpoint(checkpoint_path, net, config, state, data_id, total)
    finally:
        batches.close()
        blas.restore_original_limits()
        bar.close()
    state.seconds = time.perf_counter() - start_time
    if checkpoint_path is not None:
        save_training_checkpoint(checkpoint_path, net, config, state, data_id, total)
    return TrainResult(state.history, state.step, total, state.seconds,
                       Path(checkpoint_path) if checkpoint_path is not None else None)


def accuracy(net: Network, x: np.ndarray, y: np.ndarray, batch: int = 10_000) -> float:
    """Fraction of ``x: (N, 784)`` that ``net`` labels as ``y: (N,)``, in batches."""
    if len(y) == 0:
        return float("nan")
    hits = sum(int(np.sum(net.predict(x[i:i + batch]) == y[i:i + batch])) for i in range(0, len(y), batch))
    return hits / len(y)


# ----------------------------------------------------------------------------- checkpoints
def save_training_checkpoint(path, net: Network, config: TrainConfig, state: TrainState,
                             data_id: str | None, total_steps: int) -> Path:
    """Write the network and the training state to ``path`` atomically (never from NaN params)."""
    fields = {"step": state.step, "total_steps": total_steps, "config": config.to_json(),
              "history": state.history, "data_fingerprint": data_id, "seconds": state.seconds,
              "loss_sum": state.loss_sum, "loss_count": state.loss_count}
    try:
        return save_run(path, net, state.optimizer_state, fields)
    except FloatingPointError:
        raise TrainingDiverged(f"the parameters hold NaN or inf at step {state.step}; "
                               f"{path} was left as it was") from None


def load_training_checkpoint(path, net: Network, config: TrainConfig, data_id: str | None) -> TrainState:
    """Restore ``net`` and the training state from ``path``; errors if it cannot continue ``config``."""
    state = new_state(net, config)
    meta = read_metadata(path)
    if meta.get("kind") == "training":
        saved = TrainConfig.from_json(meta.get("config"), source=str(path))
        if dataclasses.replace(saved, epochs=config.epochs, steps=config.steps) != config:
            changed = [f.name for f in dataclasses.fields(config)
                       if f.name not in ("epochs", "steps") and getattr(saved, f.name) != getattr(config, f.name)]
            raise CheckpointError(f"{path} was trained with other settings ({', '.join(changed)}); only "
                                  f"epochs/steps may change on resume")
    # (Older checkpoints also hold a shuffle and a generator state: batches now follow from the step.)
    meta, optimizer_state = read_run(path, net, state.optimizer_state)
    if data_id is not None and meta.get("data_fingerprint") not in (None, data_id):
        warnings.warn(f"resuming {path} on different training data than it was trained on", stacklevel=3)
    for name, value in optimizer_state.items():
        state.optimizer_state[name][...] = value
    state.step, state.history = meta["step"], meta["history"]
    state.seconds, state.loss_sum, state.loss_count = float(meta["seconds"]), float(meta["loss_sum"]), meta["loss_count"]
    return state


def read_history(path: str | os.PathLike) -> list[dict]:
    """The training history stored in a training checkpoint (empty for a bare network)."""
    return list(read_metadata(path).get("history", []))

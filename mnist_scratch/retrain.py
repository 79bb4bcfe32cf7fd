"""Learning a person's handwriting from a few corrected drawings, without forgetting MNIST.

The user's drawings are few (five of each digit is enough to learn a hand); trained on alone, the
network would bend to them and lose MNIST. So every fine-tuning batch mixes the two:

* a fixed share of each batch (``user_fraction``) comes from the user's drawings, drawn again
  and again, each time moved a little by a random shift / rotation / scaling (``augment``), so
  five drawings of a digit act like many slightly different ones: that share, not the drawings'
  count, sets how much they weigh against MNIST;
* another share (``style_fraction``, taken out of the drawings' share) comes from MNIST digits
  that look like the drawings, redrawn in the hand's own slant, tilt and width, estimated from the
  drawings (:mod:`mnist_scratch.hand_style`): each correction brings twenty more examples of
  how this person writes that digit;
* the rest of the batch is a *replay* of MNIST training digits (by default drawn from the whole
  training set: a pool of 20,000 cost up to 0.2 points more of MNIST), so what the network knew
  keeps being asked of it;
* a pull towards the pre-trained weights (``anchor``, an L2 penalty on the change, "EWC-lite")
  keeps the network near the solution it started from:

      loss = cross_entropy(batch) + anchor / 2 * sum_k ||W_k - W_k(before)||^2
      d loss / d W_k = d cross_entropy / d W_k + anchor * (W_k - W_k(before))

The steps are Adam's, with the learning rate decaying along half a cosine to zero. Of the change
the fine-tuning made, ``keep`` (0.8) is kept: ``W = W(before) + keep * (W(tuned) - W(before))``,
a step back towards the pre-trained weights that costs MNIST less than it costs the user's hand.

Fine-tuning alone stalls below what a person expects (five corrections of a letterform move the
weights only so far before MNIST suffers), so the retrain then gives the network a *memory* of the
corrections (:mod:`mnist_scratch.memory`): each drawing with a few shifted copies, each reaching
only as far as the nearest MNIST digit that contradicts it. A new digit written like a correction
takes its label; a digit far from every correction (almost all of MNIST) keeps the network's answer.
The memory is part of the network (``net.memory``): ``predict``/``predict_proba`` use it and the
checkpoint holds it. What was measured for these choices (benchmarks/bench_retrain.py,
style-shifted hands) is in the README.

Honest figures: accuracy on the drawings just trained on says little (a network can fit 50
drawings perfectly and still misread the next one). The report gives MNIST test accuracy before
and after, and, for the user's drawings, the store's running accuracy: how often the network was
right on drawings it had not learned from, judged by what it predicted before each label was
given. The retrain is recorded in the store (:meth:`FeedbackStore.mark_retrain`), so the running
accuracy "since the last retrain" counts only drawings the retrained network had not seen.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .augment import AugmentConfig, random_affine
from .checkpoint import check_network_shape, save_network_keeping_backup
from .data import MnistData, load_dataset
from .hand_style import HandStyle, estimate_style, lookalikes, redraw, warp
from .memory import build_memory
from .network import Network
from .optimizers import Adam, learning_rate
from .running_accuracy import RunningAccuracy
from .threads import blas_threads
from .train import accuracy


@dataclass(frozen=True)
class RetrainConfig:
    """How to fine-tune on the user's drawings (the defaults are the measured choice)."""

    epochs: float = 1.1            # passes over the MNIST replay pool (sets the number of steps; a
                                   # pool smaller than min_replay counts as min_replay digits)
    lr: float = 1e-3               # Adam's base learning rate, decayed to 0 along half a cosine
    batch_size: int = 128
    user_fraction: float = 0.4     # share of every batch taken from the user's drawings
    replay_ratio: int = 10         # MNIST digits in the replay pool per user drawing ...
    min_replay: int = 60_000       # ... but at least this many (capped by the training set: all of it)
    anchor: float = 0.0            # L2 pull towards the pre-trained weights (0: off)
    style_replay: bool = True      # estimate the hand's slant/tilt/width and learn from MNIST
                                   # lookalikes of the drawings redrawn in it (hand_style.py)
    style_fraction: float = 0.25   # share of every batch taken from those lookalikes (out of the
                                   # drawings' share: the MNIST replay's share is unchanged)
    style_per_drawing: int = 20    # lookalikes per drawing ...
    style_max: int = 1000          # ... at most this many in all
    style_from: int = 50           # the style is estimated from the newest drawings, at most this many
    style_sample: int = 10_000     # MNIST digits the estimate compares them with
    style_min_pool: int = 20_000   # no lookalikes when fewer MNIST digits are there to replay (the
                                   # offline sample: they would be a quarter of what is replayed)
    augment: bool = True           # move each drawn-again drawing by a random small affine map
    augment_config: AugmentConfig = AugmentConfig(max_shift=1.5, max_rotate=8.0, min_scale=0.92,
                                                  max_scale=1.08)
    memory: bool = True            # give the network a memory of the drawings (memory.py) after tuning
    memory_copies: int = 10        # shifted / rotated copies of each drawing kept in the memory
    memory_reach: float = 1.0      # a drawing's kernel reaches this share of the way to the nearest
                                   # MNIST digit of another label
    memory_strength: float = 2.0   # weight of one full vote of the memory against the probabilities
    keep: float = 0.8              # share of the fine-tuned change kept: W(before) + keep * change
    seed: int = 0                  # the replay pool, the batches, the augmentation and the copies


@dataclass
class RetrainReport:
    """What a retrain did, measured. ``summary()`` is the text for the CLI and the pad."""

    n_user: int                      # drawings learned from
    n_replay: int                    # MNIST digits in the replay pool
    steps: int                       # optimizer steps
    before_mnist_acc: float          # MNIST test accuracy before ...
    after_mnist_acc: float           # ... and after
    before_user_acc: float           # accuracy on the drawings trained on, before (a fit, not a test)
    after_user_acc: float            # ... and after (a network can fit drawings it then misreads)
    running: RunningAccuracy | None  # the store's record just before the retrain (honest)
    seconds: float                   # the fine-tuning itself and building the memory
    checkpoint_path: Path | None     # where the network was saved
    backup_path: Path | None         # the network it replaced, kept
    memory_size: int = 0             # digits in the network's memory (drawings and their copies)
    style: HandStyle | None = None   # the hand's estimated style (None: style replay off)
    lookalikes: int = 0              # MNIST lookalikes of the drawings redrawn in it, learned from

    def style_text(self) -> str:
        """What the retrain learned of the hand's style, for the details line ("" if nothing)."""
        if self.style is None:
            return ""
        return (f"your hand: {self.style.describe()}, learned with {self.lookalikes:,} MNIST lookalikes "
                f"of your drawings redrawn that way")

    def summary(self) -> str:
        """A few lines that read as a result: MNIST before -> after, the honest figure on the
        user's drawings, and the files in a details line."""
        delta = 100 * (self.after_mnist_acc - self.before_mnist_acc)
        lines = [
            f"Learned from {self.n_user} of your drawings, mixed with a replay of {self.n_replay:,} MNIST "
            f"digits, in {self.seconds:.1f} s.",
            f"MNIST test accuracy: {100 * self.before_mnist_acc:.2f} % -> {100 * self.after_mnist_acc:.2f} % "
            f"({delta:+.2f} points).",
        ]
        r = self.running
        if r is not None and r.since_retrain_total:
            what = "since the previous retrain" if r.retrains else "so far"
            lines.append(f"Your drawings {what}: the network read {r.since_retrain_correct} of "
                         f"{r.since_retrain_total} right before you labelled them; the drawings you "
                         f"make next will show how the retrained network does.")
        details = [f"fits {round(self.after_user_acc * self.n_user)} of the {self.n_user} drawings it "
                   f"trained on (not a test)", f"{self.steps} steps"]
        if self.style is not None:
            details.append(self.style_text())
        if self.memory_size:
            details.append(f"a memory of {self.memory_size:,} digits (your drawings and shifted copies)")
        if self.checkpoint_path is not None:
            details.append(f"saved as {self.checkpoint_path.name} in {self.checkpoint_path.parent}"
                           + (f", previous network kept as {self.backup_path.name}" if self.backup_path else ""))
        lines.append("details: " + "; ".join(details))
        return "\n".join(lines)


def replay_pool(n_user: int, y_mnist: np.ndarray, config: RetrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Indices of the MNIST digits to replay: ``max(min_replay, replay_ratio * n_user)`` of them
    (all if there are fewer), drawn without replacement. ``y_mnist : (M,)``  ->  ``(R,) int64``."""
    n = min(len(y_mnist), max(config.min_replay, config.replay_ratio * n_user))
    return np.sort(rng.choice(len(y_mnist), size=n, replace=False))


def batch_make_up(config: RetrainConfig, lookalikes: bool) -> tuple[int, int, int]:
    """How many of each fine-tuning batch are the user's drawings, lookalikes and MNIST replay:
    ``(drawings, lookalikes, replay)``, summing to ``batch_size``. The lookalikes' share is taken
    out of the drawings' (the replay's stays the same with or without them)."""
    drawings = min(config.batch_size - 1, max(1, round(config.user_fraction * config.batch_size)))
    replay = config.batch_size - drawings
    looks = min(drawings - 1, round(config.style_fraction * config.batch_size)) if lookalikes else 0
    return drawings - looks, looks, replay


def fine_tune(net: Network, x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray,
              y_mnist: np.ndarray, pool: np.ndarray | None = None, config: RetrainConfig = RetrainConfig(),
              rng: np.random.Generator | None = None,
              progress: Callable[[int, int], None] | None = None,
              x_style: np.ndarray | None = None, y_style: np.ndarray | None = None) -> int:
    """Fine-tune ``net`` in place on the user's digits mixed with a replay of MNIST digits.

    Parameters
    ----------
    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int64 in 0..9, U >= 1
    x_mnist : (M, 784) float32 in [0, 1];  y_mnist : (M,) int64 in 0..9
    pool : (R,) int indices into them, the digits to replay (default: all M)
    progress : called as ``progress(step, total)`` after every step
    x_style : (S, 784) float32 in [0, 1];  y_style : (S,) int: MNIST lookalikes of the drawings
        redrawn in the hand's style (:func:`learn_style`), or None; when given they make up
        ``style_fraction`` of every batch, taken out of the drawings' share (the replay's is kept)

    Returns the number of steps taken: ``ceil(epochs * max(R, min_replay) / (batch_size - users per
    batch))``. A small pool (the 5,000-digit offline sample) is replayed more often rather than the
    retrain being shorter: with a tenth of the steps, the sample's network lost 1.8-3.2 points of
    its test accuracy in a retrain (three slanted hands, 5 corrections per digit), with the same
    steps as on full MNIST -1.6 to +0.4, 0.4 on average (five hands; measured 2026-11-26).
    """
    pool = np.arange(len(y_mnist)) if pool is None else np.asarray(pool)
    rng = np.random.default_rng(config.seed) if rng is None else rng
    n_user_batch, n_style_batch, n_replay_batch = batch_make_up(config, x_style is not None and len(x_style) > 0)
    total = max(1, math.ceil(config.epochs * max(len(pool), config.min_replay) / n_replay_batch))
    before = {k: w.copy() for k, w in net.params.items()} if config.anchor else None
    adam = Adam()
    state = adam.init_state(net.params)
    for step in range(1, total + 1):
        iu = rng.integers(0, len(y_user), n_user_batch)
        xu = x_user[iu]
        if config.augment:
            xu = random_affine(xu, rng, config.augment_config)
        ir = pool[rng.integers(0, len(pool), n_replay_batch)]
        xb = [xu, x_mnist[ir]]
        yb = [y_user[iu], y_mnist[ir]]
        if n_style_batch:
            i_s = rng.integers(0, len(y_style), n_style_batch)
            xs = x_style[i_s]
            xb.append(random_affine(xs, rng, config.augment_config) if config.augment else xs)
            yb.append(y_style[i_s])
        xb, yb = np.concatenate(xb), np.concatenate(yb)          # (B, 784), (B,)
        _, grads = net.loss_and_grads(xb, yb)
        if before is not None:  # a pull back towards the pre-trained weights
            for k, g in grads.items():
                g += config.anchor * (net.params[k] - before[k])
        adam.step(net.params, grads, state, learning_rate("cosine", config.lr, step - 1, total))
        if progress is not None:
            progress(step, total)
    return total


@dataclass(frozen=True)
class Learned:
    """What :func:`learn_drawings` did."""

    steps: int                    # optimizer steps taken
    replayed: int                 # MNIST digits in the replay pool
    style: HandStyle | None       # the hand's estimated style (None: style replay off)
    lookalikes: int               # MNIST lookalikes redrawn in it and learned from


def learn_style(x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray, y_mnist: np.ndarray,
                config: RetrainConfig = RetrainConfig()) -> tuple[HandStyle, np.ndarray, np.ndarray]:
    """The hand's style (estimated from the newest ``style_from`` drawings against ``style_sample``
    MNIST digits, picked with ``config.seed``) and the drawings' MNIST lookalikes redrawn in it (see
    :mod:`hand_style`). :func:`learn_drawings` calls it with its own arguments: the same result.

    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int;  x_mnist : (M, 784);  y_mnist : (M,)
    Returns the style, x_style (S, 784) float32 in [0, 1] and y_style (S,) int64.
    """
    sample = np.random.default_rng(config.seed).choice(len(y_mnist), min(len(y_mnist), config.style_sample),
                                                       replace=False)
    style = estimate_style(x_user[-config.style_from:], y_user[-config.style_from:],
                           x_mnist[sample], y_mnist[sample])
    per_drawing = max(1, min(config.style_per_drawing, config.style_max // len(y_user)))
    newest = slice(-max(1, config.style_max // per_drawing), None)
    picked = lookalikes(x_user[newest], y_user[newest], style, x_mnist, y_mnist, per_drawing)
    x_style, y_style = redraw(x_mnist[picked], y_mnist[picked], style)
    return style, x_style, y_style


def learn_drawings(net: Network, x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray,
                   y_mnist: np.ndarray, config: RetrainConfig = RetrainConfig(),
                   progress: Callable[[int, int], None] | None = None) -> Learned:
    """Teach ``net`` (in place) the user's digits: estimate the hand's style and redraw MNIST
    lookalikes of the drawings in it (``config.style_replay``), fine-tune on the drawings and the
    lookalikes mixed with MNIST replay, keep ``config.keep`` of the change, then give the network
    a memory of the drawings (which replaces any it had). The fine-tuning starts from
    ``net.before_retrain`` when the network was retrained before (the weights as trained), and
    sets it otherwise: the result depends on the drawings, not on how many retrains came first.

    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int in 0..9, U >= 1
    x_mnist : (M, 784) float32 in [0, 1];  y_mnist : (M,) int, the digits to replay (never test digits)
    """
    x_user, y_user = np.asarray(x_user, np.float32), np.asarray(y_user, np.int64)
    rng = np.random.default_rng(config.seed)
    pool = replay_pool(len(y_user), y_mnist, config, rng)
    style = x_style = y_style = None
    if config.style_replay and len(pool) >= config.style_min_pool:
        style, x_style, y_style = learn_style(x_user, y_user, x_mnist, y_mnist, config)
    # Every retrain starts from the weights as trained, before any retrain: retraining again learns
    # all the drawings afresh instead of adding a second change to the first (which, measured, let
    # MNIST drift 0.3 points lower over five retrains on the same drawings).
    before = net.before_retrain or {k: w.copy() for k, w in net.params.items()}
    for k, w in net.params.items():
        w[...] = before[k]
    steps = fine_tune(net, x_user, y_user, x_mnist, y_mnist, pool, config, rng, progress, x_style, y_style)
    for k, w in net.params.items():  # W = W(before) + keep * (W(tuned) - W(before))
        w[...] = before[k] + config.keep * (w - before[k])
    net.before_retrain = before
    if config.memory:
        net.memory = build_memory(x_user, y_user, x_mnist, y_mnist, rng, config.memory_copies,
                                  config.augment_config, config.memory_reach, config.memory_strength)
    return Learned(steps, len(pool), style, 0 if y_style is None else len(y_style))


def retrain_on_feedback(net: Network, store, *, config: RetrainConfig = RetrainConfig(),
                        data: MnistData | None = None, data_dir=None,
                        progress: Callable[[int, int], None] | None = None,
                        checkpoint_path: str | os.PathLike | None = None) -> RetrainReport:
    """Fine-tune ``net`` in place on ``store``'s drawings mixed with MNIST replay.

    ``store`` is a :class:`~mnist_scratch.store.FeedbackStore` (or anything with
    ``load() -> (x, y)``; its ``running_accuracy()`` goes into the report, and the retrain is
    recorded with ``mark_retrain()``, when the store has them).
    ``data`` (or ``data_dir``) gives MNIST; ``progress(done, total)`` follows the steps. If
    ``checkpoint_path`` is given the result is saved there, and a file already there is kept as a
    timestamped backup rather than overwritten. Raises ``ValueError`` when there are no drawings.
    """
    check_network_shape(net.sizes, "retrain")  # only 784 -> 10 networks can learn the user's digits
    if hasattr(store, "load_with_last_id"):
        x_user, y_user, last_id = store.load_with_last_id()
    else:
        (x_user, y_user), last_id = store.load(), None
    if len(y_user) == 0:
        raise ValueError("there are no saved drawings to learn from yet: draw some and press Correct or Wrong")
    data = data if data is not None else load_dataset(data_dir)
    running = store.running_accuracy() if hasattr(store, "running_accuracy") else None
    with blas_threads(1):
        before_mnist = accuracy(net, data.x_test, data.y_test)
        before_user = accuracy(net, x_user, y_user)
        start = time.perf_counter()
        learned = learn_drawings(net, x_user, y_user, data.x_train, data.y_train, config, progress)
        seconds = time.perf_counter() - start
        after_mnist = accuracy(net, data.x_test, data.y_test)
    saved = backup = None
    memory_size = len(net.memory) if net.memory is not None else 0
    style = learned.style
    meta = {"retrained_on_drawings": len(y_user), "replay": learned.replayed, "steps": learned.steps,
            "mnist_test_before": before_mnist, "mnist_test_after": after_mnist, "memory": memory_size,
            "style": None if style is None else {"rotate": style.rotate, "shear": style.shear,
                                                 "squeeze": style.squeeze, "lookalikes": learned.lookalikes}}
    if checkpoint_path is not None:
        saved = Path(checkpoint_path)
        # The previous network is kept as a backup; at every instant `saved` holds a whole network.
        backup = save_network_keeping_backup(net, saved, "before-retrain", metadata=meta)
    if hasattr(store, "mark_retrain"):
        store.mark_retrain(n_drawings=len(y_user), last_drawing_id=last_id, details={
            **meta, "checkpoint": saved.name if saved is not None else None})
    return RetrainReport(len(y_user), learned.replayed, learned.steps, before_mnist, after_mnist, before_user,
                         accuracy(net, x_user, y_user), running, seconds, saved, backup, memory_size,
                         style, learned.lookalikes)


def with_drawings(x_train: np.ndarray, y_train: np.ndarray, x_draw: np.ndarray, y_draw: np.ndarray,
                  share: float = 0.05) -> tuple[np.ndarray, np.ndarray, int]:
    """The training set plus the user's drawings, each repeated so that together they make up about
    ``share`` of the result (at least once each): a few hundred drawings then weigh beside 55,000
    MNIST digits (with augmentation every repeat is seen slightly moved).

    x_train : (N, 784) float32;  x_draw : (D, 784) float32  ->  x : (N + r D, 784), y, r
    """
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1, got {share}")
    repeats = max(1, round(share * len(y_train) / ((1 - share) * max(len(y_draw), 1))))
    x = np.concatenate([x_train, np.repeat(x_draw.astype(x_train.dtype), repeats, axis=0)])
    y = np.concatenate([y_train, np.repeat(np.asarray(y_draw, dtype=np.int64), repeats)])
    return x, y, repeats


# ----------------------------------------------------------------- a hand to try it on (notebook 05, tests)
def slanted_hand(x: np.ndarray, angle: float = 0.6, shear: float = 0.3) -> np.ndarray:
    """Digits as one person might write them, a hand the network was never shown: every digit
    turned by ``angle`` radians and slanted by ``shear``.

    x : (N, 784) float32 in [0, 1]  ->  (N, 784) float32 in [0, 1]
    """
    cos, sin = np.cos(angle), np.sin(angle)
    # Output pixel (r, q) (offsets from the centre) reads the digit at (cos r + sin q, -sin r + cos q + shear r).
    return warp(x, np.array([[cos, sin], [shear - sin, cos]]))


def split_per_digit(y: np.ndarray, per_digit: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``per_digit`` random digits of each class (the corrections) and of all the others.

    y : (N,) int in 0..9  ->  (10 * per_digit,) int64, (N - 10 * per_digit,) int64
    """
    rng = np.random.default_rng(seed)
    learn = np.concatenate([rng.choice(np.flatnonzero(y == d), per_digit, replace=False) for d in range(10)])
    return learn, np.setdiff1d(np.arange(len(y)), learn)

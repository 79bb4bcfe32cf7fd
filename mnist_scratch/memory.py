"""A memory of the user's corrected digits: learned instantly, read by a kernel, silent on MNIST.

Fine-tuning moves all of the network's weights a little; five corrected examples of a letterform
cannot move them far enough without costing MNIST. The memory adds what fine-tuning cannot: it
keeps the corrections themselves (``keys``, each with a few slightly shifted/rotated copies) and,
for a new digit ``x`` close to one of them, adds that correction's vote to the network's
probabilities ``p``:

    w_i(x) = max(0, 1 - ||x - k_i||^2 / (reach * r_i)^2)        a bump around key i, zero outside
    s_c(x) = max over the keys i with label c of w_i(x)             the vote for digit c, (N, 10)
    p_memory(x) = (p(x) + strength * s(x)) / (1 + strength * sum_c s_c(x))

``r_i`` (``radii``) is the distance from key ``k_i`` to the nearest MNIST training digit with
*another* label: a key only claims the space closer to it than the digits that contradict it. So
a digit far from every correction (almost every MNIST digit) gets ``s = 0`` and exactly the
network's answer, while a digit written like a correction takes that correction's label unless
the network is very sure of another.

Each digit's vote is its *highest* bump, the one of the correction ``x`` sits most inside, not the
sum of them all (``vote="nearest"``). Summed, the ten shifted copies of one drawing counted ten
times, and the keys of one digit together outvoted the network even where it was sure: on the
tuning hands of ``benchmarks/bench_retrain.py`` the summed memory turned 0-7 digits per hand that
the fine-tuned network read right into errors. With the highest bump and ``strength`` 2 the eight
tuning hands were read at 97.60 % on average over three retrain seeds, against 97.36 % summed
(strength 0.5), the tuning mixed set of 20 writers at 87.59 % against 87.31 %, MNIST validation
the same (README). Memories saved before that (their checkpoints have no ``vote``) keep the sum
they were made with.

Distances are measured on the 784 input pixels. The hidden layer's 64 activations were measured
too (on the tuning hands of ``benchmarks/bench_retrain.py``, see the README): with the same radii
the pixels gave 0.5-2 points more on the user's hands at the same MNIST cost, so the memory reads
pixels. Its cost: a (N, M) distance matrix per batch of N digits, M keys (550 for 50 drawings).

Symbols and names: k_i is ``keys[i]``, r_i ``radii[i]``, its label ``labels[i]``, ``reach`` and
``strength`` the two numbers of :class:`CorrectionMemory`; w is :func:`kernel_weights`, s
:func:`votes`, p_memory :meth:`CorrectionMemory.combine`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .augment import AugmentConfig, random_affine

NAMES = ("keys", "labels", "radii")  # the memory's arrays, saved as memory.<name> in a checkpoint
VOTES = ("nearest", "sum")            # how a digit's keys make its vote (see votes)


@dataclass
class CorrectionMemory:
    """The user's corrections and how far each one reaches.

    keys : (M, D) float32 in [0, 1], the corrected digits (and their shifted copies); D = 784 pixels
    labels : (M,) int64 in 0..9, the digit each key was corrected to
    radii : (M,) float32 >= 0, distance from each key to the nearest MNIST digit of another label
    reach : the bump around key i has radius ``reach * radii[i]`` (1.0: up to that nearest conflict)
    strength : how much one full vote weighs against the network's probabilities (which sum to 1)
    vote : how a digit's keys make its vote: "nearest" (the highest bump) or "sum" (all bumps added,
        the rule of memories saved before "nearest")
    """

    keys: np.ndarray
    labels: np.ndarray
    radii: np.ndarray
    reach: float = 1.0
    strength: float = 1.0
    vote: str = "nearest"

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, np.float32)
        self.labels = np.asarray(self.labels, np.int64)
        self.radii = np.asarray(self.radii, np.float32)
        m = len(self.labels)
        if self.keys.ndim != 2 or len(self.keys) != m or self.radii.shape != (m,):
            raise ValueError(f"a memory needs keys (M, D), labels (M,) and radii (M,), got "
                             f"{self.keys.shape}, {self.labels.shape}, {self.radii.shape}")
        if m and (self.labels.min() < 0 or self.labels.max() > 9):
            raise ValueError(f"memory labels must be digits 0..9, got {self.labels.min()}..{self.labels.max()}")
        if not (np.isfinite(self.keys).all() and np.isfinite(self.radii).all()) or (m and self.radii.min() < 0):
            raise ValueError("memory keys and radii must be finite, radii >= 0")
        if m and (self.keys.min() < 0 or self.keys.max() > 1):
            raise ValueError("memory keys must be pixels in [0, 1]")
        if not (self.reach > 0 and self.strength >= 0):
            raise ValueError(f"reach must be > 0 and strength >= 0, got {self.reach}, {self.strength}")
        if self.vote not in VOTES:
            raise ValueError(f"vote must be one of {', '.join(VOTES)}, got {self.vote!r}")

    @property
    def width(self) -> int:
        """D, the length of a key: the network's input width (784) for the memory to fit it."""
        return self.keys.shape[1]

    def __len__(self) -> int:
        return len(self.labels)

    def combine(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        """The network's probabilities with the memory's votes added, renormalised.

        x : (N, D) float in [0, 1], the digits;  p : (N, 10) float, the network's probabilities
        Returns (N, 10) in p's dtype, rows summing to 1; rows with no key in reach are ``p`` itself.
        """
        if x.shape[1] != self.width:
            raise ValueError(f"the memory holds digits of {self.width} numbers, got inputs of {x.shape[1]}")
        s = votes(x, self).astype(p.dtype)                            # (N, 10)
        near = s.any(axis=1)
        out = p.copy()
        q = p[near] + self.strength * s[near]                         # (n, 10)
        out[near] = q / q.sum(axis=1, keepdims=True)
        return out

    def combine_gradient(self, x: np.ndarray, p: np.ndarray, dp: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The derivative of :meth:`combine`: ``d p_memory[n, t_n] / d x[n]`` (the saliency of the
        answer the memory helped to give), from the network's own ``dp[n] = d p[n, t_n] / d x[n]``.

        With Z = 1 + strength * sum_c s_c and the quotient rule on p_memory = (p + strength s) / Z:

            d p_memory_t / dx = (dp_t/dx + strength * (ds_t/dx - p_memory_t * sum_c ds_c/dx)) / Z
            ds_c/dx = sum over the keys i that make the vote of digit c (its nearest key, or all
                      keys in reach for vote="sum") of  dw_i/dx = -2 (x - k_i) / (reach r_i)^2

        (w is 0 outside a bump: a key out of reach adds nothing). x : (N, D) float in [0, 1];
        p : (N, 10) the network's probabilities;  dp : (N, D);  target : (N,) int
        Returns (N, D) in dp's dtype; rows with no key in reach are ``dp`` itself.
        """
        x = np.asarray(x, np.float32)
        w = kernel_weights(x, self)                                     # (N, M)
        with np.errstate(divide="ignore"):
            a = np.where(voting_keys(w, self), 1 / (self.reach * self.radii) ** 2, 0).astype(np.float32)
        onehot = np.eye(10, dtype=np.float32)[self.labels]              # (M, 10)
        # ds_c/dx = -2 (sum_i a_i x - sum_i a_i k_i) over the keys i of digit c:   (N, 10, D)
        voting = np.einsum("nm,mc->ncm", a, onehot)                     # (N, 10, M) a_i of digit c's keys
        ds = -2 * ((a @ onehot)[:, :, None] * x[:, None, :] - voting @ self.keys)
        rows = np.arange(len(x))
        s = class_votes(w, self)                                        # (N, 10)
        z = 1 + self.strength * s.sum(axis=1)                           # (N,)
        q_t = (p[rows, target] + self.strength * s[rows, target]) / z   # (N,) p_memory of the target
        grad = (dp + self.strength * (ds[rows, target] - q_t[:, None] * ds.sum(axis=1))) / z[:, None]
        return grad.astype(dp.dtype)


# ----------------------------------------------------------------- reading the memory (the forward pass)
def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``||a_n - b_m||^2`` for every pair: a (N, D), b (M, D) float32 -> (N, M) float32 >= 0."""
    d = (a * a).sum(axis=1)[:, None] - 2 * (a @ b.T) + (b * b).sum(axis=1)[None, :]
    return np.maximum(d, 0)


def kernel_weights(x: np.ndarray, memory: CorrectionMemory) -> np.ndarray:
    """``w[n, i] = max(0, 1 - ||x_n - k_i||^2 / (reach r_i)^2)``: x (N, D) -> (N, M) float32 in [0, 1].

    A key whose radius is 0 (it lies on an MNIST digit of another label) reaches nothing.
    """
    reach2 = (memory.reach * memory.radii) ** 2                     # (M,)
    d2 = squared_distances(np.asarray(x, np.float32), memory.keys)  # (N, M)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(reach2 > 0, 1 - d2 / reach2, 0)
    return np.maximum(w, 0).astype(np.float32)


def votes(x: np.ndarray, memory: CorrectionMemory) -> np.ndarray:
    """``s[n, c]``: the highest kernel weight among the keys labelled c (0 if none), or their sum for
    ``vote="sum"``. x (N, D) -> (N, 10) float32 >= 0."""
    return class_votes(kernel_weights(x, memory), memory)


def class_votes(w: np.ndarray, memory: CorrectionMemory) -> np.ndarray:
    """The votes of :func:`votes` from the kernel weights ``w : (N, M)`` -> (N, 10) float32 >= 0."""
    return (w * voting_keys(w, memory)) @ np.eye(10, dtype=np.float32)[memory.labels]   # (N, M) @ (M, 10)


def voting_keys(w: np.ndarray, memory: CorrectionMemory) -> np.ndarray:
    """Which keys make each digit's vote: those in reach (``w > 0``), and for ``vote="nearest"`` only
    the highest of each digit. w : (N, M) kernel weights  ->  (N, M) bool."""
    voting = w > 0
    if memory.vote == "nearest":
        top = np.zeros_like(voting)
        for c in np.unique(memory.labels):                          # ten digits at most, not samples
            mine = np.flatnonzero(memory.labels == c)
            top[np.arange(len(w)), mine[w[:, mine].argmax(axis=1)]] = True   # that digit's nearest key
        voting &= top
    return voting


# ----------------------------------------------------------------- building the memory
def conflict_radii(keys: np.ndarray, labels: np.ndarray, x_mnist: np.ndarray, y_mnist: np.ndarray,
                   batch: int = 8192) -> np.ndarray:
    """For each key, the distance to the nearest MNIST digit with another label.

    keys : (M, D) float32;  labels : (M,) int;  x_mnist : (K, D) float32;  y_mnist : (K,) int
    Returns (M,) float32 >= 0 (inf if no digit has another label).
    """
    best = np.full(len(keys), np.inf, np.float32)
    for start in range(0, len(y_mnist), batch):
        xb, yb = x_mnist[start:start + batch], y_mnist[start:start + batch]
        d2 = squared_distances(keys, xb)                            # (M, batch)
        d2[labels[:, None] == yb[None, :]] = np.inf                 # the same label is no conflict
        best = np.minimum(best, d2.min(axis=1))
    return np.sqrt(best)


def build_memory(x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray, y_mnist: np.ndarray,
                 rng: np.random.Generator, copies: int = 10, augment: AugmentConfig = AugmentConfig(),
                 reach: float = 1.0, strength: float = 1.0, max_keys: int = 2000) -> CorrectionMemory:
    """A memory of the user's digits, each kept with ``copies`` randomly shifted/rotated/scaled copies
    (fewer if there would be more than ``max_keys`` keys; with more than ``max_keys`` drawings, the
    newest ``max_keys`` without copies: the rows of ``x_user`` come oldest first), radii measured
    against MNIST.

    ``max_keys`` bounds the retrain's time (the radii: every key against every MNIST digit) and the
    pad's (every prediction: every key). Measured with 500 drawings of one slanted hand on the
    2-core VM: 5,000 keys took an 11.2 s retrain and 3.2 ms a prediction, 2,000 keys 4.4 s and
    0.8 ms, reading that hand's other digits equally well (94.65 %); with 2,000 drawings, 96.10 %
    against 95.95 %. Fifty drawings keep all their 10 copies (550 keys) either way.

    x_user : (U, 784) float32 in [0, 1];  y_user : (U,) int in 0..9
    x_mnist : (K, 784) float32 in [0, 1];  y_mnist : (K,) int, the digits a key must not contradict
    """
    x_user = np.asarray(x_user, np.float32)[-max_keys:]
    y_user = np.asarray(y_user, np.int64)[-max_keys:]
    copies = max(0, min(copies, max_keys // max(len(y_user), 1) - 1))
    keys = np.concatenate([x_user] + [random_affine(x_user, rng, augment) for _ in range(copies)])
    labels = np.tile(y_user, copies + 1)
    radii = conflict_radii(keys, labels, np.asarray(x_mnist, np.float32), np.asarray(y_mnist))
    return CorrectionMemory(keys, labels, np.where(np.isfinite(radii), radii, 0), reach, strength)

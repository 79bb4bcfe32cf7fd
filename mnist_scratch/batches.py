"""The batches of a training run: which digits each step trains on, and how they are distorted.

The batch of step ``s`` depends only on the data, the config and ``s`` itself: epoch
``e = s // steps_per_epoch`` shuffles the digits with a generator seeded by ``(seed, e)`` and draws
that epoch's warps (see :mod:`.augment`) from another, and step ``s`` draws its digits' warps and
shifts from a generator seeded by ``(seed, s)``. Two things follow:

* a resumed run sees exactly the batches an uninterrupted one would, and the checkpoint only
  needs the step (no generator state, no shuffle);
* batches can be made ahead while the network trains, by another process (Linux,
  :mod:`.batch_processes`) or on background threads (:class:`Prefetcher`, elsewhere): who makes
  them, and in what order, cannot change them.

Usage in the training loop::

    batches = batch_source(x, y, config, batch_size, per_epoch, start=step, stop=stop)
    try:
        xb, yb = batches(step)          # once per step, steps in order
    finally:
        batches.close()
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from . import augment
from .batch_processes import Batch, ProcessPrefetcher, can_fork

# What each seeded generator is for: the seed sequence is (seed, purpose, epoch or step).
SHUFFLE, WARPS, STEP, BENDS = range(4)

# Background threads making augmented batches where processes cannot be forked: one costs ~0.8 ms
# of CPU against ~0.45 ms for a network step (measured), so two threads share it.
PREFETCH_WORKERS = 2
# With a worker process (Linux), the trainer makes every OWN_EVERY-th augmented batch itself: alone,
# the worker (0.67 ms a batch) kept the trainer (0.43 ms a step) waiting. Measured on the 2-core
# VM, 10 epochs of the default recipe: 3.7 s with the worker making every batch, 3.1 s with the
# trainer making one in 5 or 6, 3.0 s in 4, 3.4 s in 3 (threads: 4.2 s).
OWN_EVERY = 5
# Shared memory a worker process may fill (the ring of batches); larger batches use threads.
PROCESS_RING_BYTES = 64 * 2**20



def generator(seed: int, purpose: int, number: int = 0) -> np.random.Generator:
    """The generator for one purpose of one epoch or step of a run seeded with ``seed``."""
    return np.random.default_rng([seed, purpose, number])


class Batches:
    """``batches(step) -> (xb, yb)``: the batch of any step, computed from scratch.

    x : (N, 784) float32 in [0, 1];  y : (N,) int64
    ``batch_size == N`` means the whole set every step, in order (classic gradient descent).
    ``augment``: the distortions to apply, or None for the digits as they are.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, steps_per_epoch: int, seed: int,
                 augment_config: augment.AugmentConfig | None = None):
        self.x, self.y = x, y
        self.batch_size, self.steps_per_epoch, self.seed = batch_size, steps_per_epoch, seed
        self.augment = augment_config
        self.images = self.bends = None
        if augment_config is not None:
            # uint8 digits with a zero border (a quarter of the float32 memory), read by the fast path
            self.images = augment.to_padded_uint8(x, int(augment_config.max_shift))
            if augment_config.elastic_alpha > 0:  # smoothing fields is slow: once per run
                self.bends = augment.elastic_displacements(
                    augment_config.bank_size, generator(seed, BENDS), augment_config.elastic_alpha,
                    augment_config.elastic_sigma)
        self._epochs: dict[int, tuple[np.ndarray | None, augment.EpochWarps | None]] = {}
        self._lock = threading.Lock()  # batches may be made on several threads at once

    def epoch(self, epoch: int) -> tuple[np.ndarray | None, augment.EpochWarps | None]:
        """Epoch ``epoch``'s shuffle ((N,) int64, None for full batches) and warps (None without
        augmentation); the two latest epochs asked for are kept."""
        with self._lock:
            if epoch not in self._epochs:
                order = None
                if self.batch_size < len(self.y):
                    order = generator(self.seed, SHUFFLE, epoch).permutation(len(self.y))
                warps = None
                if self.augment is not None:
                    warps = augment.make_epoch_warps(self.augment, generator(self.seed, WARPS, epoch), self.bends)
                self._epochs[epoch] = (order, warps)
                if len(self._epochs) > 2:  # two threads may be on either side of an epoch's end
                    del self._epochs[min(self._epochs)]
            return self._epochs[epoch]

    def __call__(self, step: int) -> Batch:
        epoch, position = divmod(step, self.steps_per_epoch)
        order, warps = self.epoch(epoch)
        if order is None:
            idx = slice(None)  # the full batch: no shuffle, no copy
        else:
            idx = order[position * self.batch_size:(position + 1) * self.batch_size]
        if warps is None:
            return self.x[idx], self.y[idx]
        xb = augment.random_warp_fast(self.images[idx], generator(self.seed, STEP, step), warps, self.augment)
        return xb, self.y[idx]

    def close(self) -> None:
        """Nothing to release (the same interface as :class:`Prefetcher`)."""


class Prefetcher:
    """Makes ``make(step)`` for the steps ``start, start + 1, ..., stop - 1`` on ``workers``
    background threads, up to ``depth`` steps ahead; ``prefetcher(step)`` returns them, in order."""

    def __init__(self, make: Callable[[int], Batch], start: int, stop: int, depth: int = 4,
                 workers: int = 1):
        self._make, self._next, self._stop = make, start, stop
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batches")
        self._pending: deque = deque()
        for _ in range(depth):
            self._submit()

    def _submit(self) -> None:
        if self._next < self._stop:
            self._pending.append((self._next, self._pool.submit(self._make, self._next)))
            self._next += 1

    def __call__(self, step: int) -> Batch:
        if not self._pending or self._pending[0][0] != step:
            raise ValueError(f"batches are prefetched in order: step {step} was not the next one")
        _, future = self._pending.popleft()
        self._submit()
        return future.result()  # re-raises an error from the background thread here

    def close(self) -> None:
        """Stop making batches (waits for the one under way)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()


def batch_source(x: np.ndarray, y: np.ndarray, config, batch_size: int, steps_per_epoch: int, *,
                 start: int, stop: int, prefetch: bool | None = None, workers: int | None = None,
                 process: bool = True) -> Batches | Prefetcher | ProcessPrefetcher:
    """The batches of steps ``start .. stop - 1`` of a run with ``config`` (a ``TrainConfig``).

    ``prefetch`` makes them ahead: augmented batches in a worker process where one can be forked
    (:class:`~.batch_processes.ProcessPrefetcher`, the trainer making every :data:`OWN_EVERY`-th
    itself), otherwise on ``workers`` background threads (default: :data:`PREFETCH_WORKERS` when
    augmenting, else one: gathering a plain batch is quick; in a process it was no faster). It is on
    by default unless every step is the whole set as it is (nothing to make). Measured under load,
    2 plain epochs took 3.2 s with one thread ahead against 4.7 s without (medians of 4 interleaved
    runs). ``process=False`` keeps to threads.
    """
    batches = Batches(x, y, batch_size, steps_per_epoch, config.seed,
                      config.augment_config if config.augment else None)
    if prefetch is None:
        prefetch = config.augment or batch_size < len(y)
    if not prefetch:
        return batches
    ring = ProcessPrefetcher.ring_bytes((batch_size, x.shape[1]))
    if process and config.augment and can_fork() and ring <= PROCESS_RING_BYTES:
        try:
            return ProcessPrefetcher(batches, start, stop, (batch_size, x.shape[1]), own_every=OWN_EVERY)
        except OSError:  # no process semaphores here (e.g. no /dev/shm) or no fork: threads make them
            pass
    if workers is None:
        workers = PREFETCH_WORKERS if config.augment else 1
    return Prefetcher(batches, start, stop, workers=workers)

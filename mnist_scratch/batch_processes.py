"""Making the next batches in a worker process, so that it runs beside the network at full speed.

Threads of one Python process take turns holding the interpreter's lock between NumPy calls, and
both a training step and the making of a batch are many short NumPy calls. Measured on the 2-core
development VM: a network step took 0.43 ms alone and 0.71 ms with a batch being made on a second
thread, which itself went from 0.62 to 0.98 ms; in two processes, neither slowed down at all.

So on Linux the augmented batches are made in a forked worker process. A forked worker starts as a
copy of the training process: it has the digits, the shuffles and the warps already (nothing is
pickled or copied up front), and writes each batch into a ring of slots in memory shared with the
trainer. The batch of a step depends only on the step (:mod:`.batches`), so which process makes it
changes nothing: training gives bit for bit the same network either way. The trainer can make some
batches itself (``own_every``): a batch costs more than a network step, so a worker making all of
them would keep the trainer waiting.

The ring has ``depth`` slots. The batches the workers make are numbered in step order (0, 1, 2 ...
skipping the trainer's own); batch ``i`` goes to slot ``i % depth`` and is made by worker
``i % workers`` (``depth`` is a multiple of ``workers``, so a slot is always filled by the same
worker, in order). Two semaphores per slot hand it back and forth: ``ready`` (the worker filled it)
and ``free`` (the trainer is done with it). A batch handed out stays valid until the next call.

The workers compute nothing but NumPy array operations (no BLAS, no locks of other threads), which
is what makes forking a process that has threads safe here; they ignore Ctrl-C (the trainer stops
them) and report an error with the step it happened at.
"""
from __future__ import annotations

import mmap
import multiprocessing
import signal
import sys
import traceback
import warnings
from typing import Callable, Iterator

import numpy as np

Batch = tuple[np.ndarray, np.ndarray]  # xb (B, D) float32, yb (B,) int64


def can_fork() -> bool:
    """True where batches can be made in forked processes (Linux; elsewhere threads are used)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class ProcessPrefetcher:
    """``prefetcher(step) -> (xb, yb)`` for ``step = start, start + 1, ..., stop - 1``, in order,
    made by ``make(step)`` in ``workers`` forked processes up to ``depth`` batches ahead, except the
    steps ``s`` with ``s % own_every == 0`` (when ``own_every > 0``), which the caller's process makes.

    make : returns xb (B, D) float32 and yb (B,) int64 of the shapes ``batch_shape = (B, D)`` for
        every step (the batches of a training run are all full: see ``train.plan``)
    The arrays returned are views into shared memory, valid until the next call or :meth:`close`.
    """

    DEPTH = 4

    def __init__(self, make: Callable[[int], Batch], start: int, stop: int, batch_shape: tuple[int, int],
                 workers: int = 1, depth: int = DEPTH, own_every: int = 0):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._make, self.start, self.stop = make, int(start), int(stop)
        self.workers, self.own_every = int(workers), int(own_every)
        self.depth = -(-max(depth, workers) // workers) * workers   # a multiple of workers
        b, d = batch_shape
        x_bytes, y_bytes = self.depth * b * d * 4, self.depth * b * 8
        self._memory = mmap.mmap(-1, self.ring_bytes(batch_shape, self.depth))   # shared with the workers
        self._x = np.frombuffer(self._memory, np.float32, self.depth * b * d).reshape(self.depth, b, d)
        self._y = np.frombuffer(self._memory, np.int64, self.depth * b, offset=x_bytes).reshape(self.depth, b)
        self._step = np.frombuffer(self._memory, np.int64, self.depth, offset=x_bytes + y_bytes)
        self._step[:] = -1                     # the step each slot holds; -2: making it failed
        context = multiprocessing.get_context("fork")
        self._ready = [context.Semaphore(0) for _ in range(self.depth)]
        self._free = [context.Semaphore(1) for _ in range(self.depth)]
        self._errors = context.SimpleQueue()
        self._stopping = context.Event()
        self._next = self.start                # the step the trainer asks for next
        self._taken = 0                        # batches the trainer has taken from the workers
        self._held: int | None = None          # the slot the trainer is using
        self._processes = []
        with warnings.catch_warnings():
            # Python >= 3.12 warns about forking a process that has threads (here: BLAS's); the
            # workers only run NumPy array operations, which take no lock those threads could hold.
            warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
            try:
                for worker in range(self.workers):
                    process = context.Process(target=self._work, args=(worker, batch_shape), daemon=True,
                                              name=f"batches-{worker}")
                    process.start()
                    self._processes.append(process)
            except OSError:  # e.g. no memory to fork: stop the ones started, the caller decides
                self.close()
                raise

    @staticmethod
    def ring_bytes(batch_shape: tuple[int, int], depth: int = DEPTH) -> int:
        """The shared memory a ring of ``depth`` batches of ``batch_shape`` takes: xb, yb and the step."""
        b, d = batch_shape
        return depth * (b * d * 4 + b * 8 + 8)

    def _own(self, step: int) -> bool:
        """Whether the trainer makes this step's batch itself."""
        return self.own_every > 0 and step % self.own_every == 0

    def _worker_steps(self) -> Iterator[int]:
        """The steps the workers make, in order: batch 0, 1, 2 ... of the ring."""
        return (step for step in range(self.start, self.stop) if not self._own(step))

    # ------------------------------------------------------------------ in the worker processes
    def _work(self, worker: int, batch_shape: tuple[int, int]) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the trainer's to handle
        for number, step in enumerate(self._worker_steps()):
            if number % self.workers != worker:
                continue
            slot = number % self.depth
            self._free[slot].acquire()
            if self._stopping.is_set():
                return
            try:
                xb, yb = self._make(step)
                if xb.shape != batch_shape or yb.shape != batch_shape[:1]:
                    raise ValueError(f"a batch of shape {xb.shape} / {yb.shape}, expected {batch_shape} / "
                                     f"{batch_shape[:1]}")
                self._x[slot] = xb
                self._y[slot] = yb
                self._step[slot] = step
            except BaseException as error:  # noqa: BLE001 - everything goes back to the trainer
                self._errors.put((step, f"{type(error).__name__}: {error}", traceback.format_exc()))
                self._step[slot] = -2
                self._ready[slot].release()
                return
            self._ready[slot].release()

    # ------------------------------------------------------------------ in the trainer
    def __call__(self, step: int) -> Batch:
        if step != self._next or step >= self.stop:
            raise ValueError(f"batches are prefetched in order: step {step} was not the next one")
        if self._held is not None:             # the trainer is done with the previous batch
            self._free[self._held].release()
            self._held = None
        self._next = step + 1
        if self._own(step):
            return self._make(step)
        number, self._taken = self._taken, self._taken + 1
        slot = number % self.depth
        while not self._ready[slot].acquire(timeout=1.0):
            worker = self._processes[number % self.workers]
            if not worker.is_alive():
                raise RuntimeError(f"the process making batches stopped (exit code {worker.exitcode}) "
                                   f"before step {step}")
        if self._step[slot] == -2:             # the worker failed and said why
            failed, message, details = self._errors.get()
            raise RuntimeError(f"making the batch of step {failed} failed: {message}\n{details}")
        if self._step[slot] != step:           # never expected: a slot out of step with the trainer
            raise RuntimeError(f"the batch for step {step} holds step {self._step[slot]}")
        self._held = slot
        return self._x[slot], self._y[slot]

    def close(self) -> None:
        """Stop the workers (at once: a batch under way is thrown away) and wait for them."""
        self._stopping.set()
        for free in self._free:
            free.release()                     # wake a worker waiting for a slot
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        self._processes.clear()

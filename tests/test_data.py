"""Loading MNIST: validation, the source order, the checksummed download, the subset fallback."""
import gzip
import hashlib
import http.server
import threading
import warnings
from functools import partial

import numpy as np
import pytest

from mnist_scratch import data, paths
from mnist_scratch.data import (DownloadError, MnistSubsetWarning, download_mnist, fingerprint,
                                load_dataset, load_mnist, load_subset, read_split, train_val_split)
from idx_files import write_idx
from mnist_scratch.idx import IdxFormatError


def make_fake_mnist(folder, n_train=30, n_test=10, seed=0):
    """Write four small, valid IDX .gz files; returns {name: md5 of the .gz bytes}."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = data.FILES[split]
        write_idx(folder / images, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / labels, (np.arange(n) % 10).astype(np.uint8))
    return {name: hashlib.md5((folder / name).read_bytes()).hexdigest()
            for pair in data.FILES.values() for name in pair}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty data root, no MNIST_SCRATCH_DATA."""
    monkeypatch.setenv("MNIST_SCRATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MNIST_SCRATCH_DATA", raising=False)
    return tmp_path / "home"


# ------------------------------------------------------------------------------- real MNIST
def test_real_mnist_shapes_and_known_facts(mnist_dir):
    x, y = load_mnist("train", mnist_dir)
    assert x.shape == (60000, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() == 1.0
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    x, y = load_mnist("test", mnist_dir)
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_env_variable_points_the_loader(mnist_dir, home, monkeypatch):
    monkeypatch.setenv("MNIST_SCRATCH_DATA", str(mnist_dir))
    assert load_dataset().source == str(mnist_dir)


# ------------------------------------------------------------------------------- sources
def test_explicit_dir_without_files_is_an_error(tmp_path, home):
    with pytest.raises(FileNotFoundError, match="lacks the MNIST files"):
        load_mnist("test", tmp_path)


def test_cache_is_used(home):
    make_fake_mnist(paths.mnist_cache_dir())
    x, y = load_mnist("train", download=False)
    assert x.shape == (30, 784) and y.tolist()[:3] == [0, 1, 2]


def test_bad_split_name(home):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_mnist("validation", download=False)


def test_mismatched_counts_are_reported(tmp_path):
    make_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        read_split(tmp_path, "test")


def test_wrong_image_shape_is_reported(tmp_path):
    make_fake_mnist(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 27), np.uint8))
    with pytest.raises(ValueError, match=r"expected \(N, 28, 28\) uint8 images"):
        read_split(tmp_path, "test")


def test_truncated_file_in_data_dir_names_it(tmp_path):
    make_fake_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(IdxFormatError, match="t10k-images-idx3-ubyte.gz: truncated"):
        load_mnist("test", tmp_path)


# ------------------------------------------------------------------------------- the subset
def test_subset_fallback_warns_and_is_stratified(home):
    with pytest.warns(MnistSubsetWarning, match="subset"):
        x, y = load_mnist("train", download=False)
    assert x.shape == (4000, 784) and x.dtype == np.float32 and x.max() <= 1.0
    assert np.bincount(y).tolist() == [400] * 10
    subset = load_subset()
    assert np.bincount(subset.y_test).tolist() == [100] * 10 and subset.is_subset
    # train and test are disjoint digits of the 5,000 (no duplicate rows shared)
    train_rows = {row.tobytes() for row in subset.x_train}
    assert sum(row.tobytes() in train_rows for row in subset.x_test) <= 5  # MNIST has a few duplicates
    again = load_subset()
    np.testing.assert_array_equal(again.y_train, subset.y_train)  # fixed split
    np.testing.assert_array_equal(again.x_test, subset.x_test)


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_slice_of_the_subset_is_a_fair_sample(split):
    """The file is sorted by digit; the loaded splits are not (x[:128], x[-500:] hold all digits)."""
    subset = load_subset()
    y = subset.y_train if split == "train" else subset.y_test
    for part in (y[:128], y[-100:], y[len(y) // 2:len(y) // 2 + 100]):
        counts = np.bincount(part, minlength=10)
        assert counts.min() >= 2, counts  # each digit present, none dominating
        assert counts.max() <= 0.3 * len(part), counts


def test_warning_is_one_line(home):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset(download=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, MnistSubsetWarning)]
    assert len(messages) == 1 and "\n" not in messages[0] and "MNIST_SCRATCH_DATA" in messages[0]


# ------------------------------------------------------------------------------- download
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/'site'; yields (root folder, base url)."""
    site = tmp_path / "site"
    site.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_good_files(server, home):
    site, url = server
    hashes = make_fake_mnist(site)
    folder = download_mnist(mirrors=[url], hashes=hashes, timeout=10)
    assert folder == paths.mnist_cache_dir()
    for name, md5 in hashes.items():
        assert hashlib.md5((folder / name).read_bytes()).hexdigest() == md5
    x, y = load_mnist("test", download=False)
    assert x.shape == (10, 784)


@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_bad_download_is_rejected_and_never_cached(server, home, damage):
    site, url = server
    hashes = make_fake_mnist(site)
    target = site / "train-images-idx3-ubyte.gz"
    raw = bytearray(target.read_bytes())
    if damage == "corrupt":
        raw[len(raw) // 2] ^= 0xFF
    else:
        raw = raw[: len(raw) // 2]
    target.write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="train-images-idx3-ubyte.gz"):
        download_mnist(mirrors=[url], hashes=hashes, timeout=10)
    cache = paths.mnist_cache_dir()
    assert not (cache / "train-images-idx3-ubyte.gz").exists()
    assert not [p for p in cache.iterdir() if "train-images" in p.name]  # no partial leftovers


def test_second_mirror_is_tried(server, home, tmp_path, capfd):
    site, url = server
    hashes = make_fake_mnist(site)
    download_mnist(mirrors=[url + "missing/", url], hashes=hashes, timeout=10)
    assert data.has_files(paths.mnist_cache_dir())
    # One line says what is tried (not pooch's "Downloading data from" for every mirror and file);
    # a second call, with everything cached, says nothing.
    err = capfd.readouterr().err
    assert err.count("downloading MNIST into") == 1 and "Downloading data from" not in err, err
    download_mnist(mirrors=[url], hashes=hashes, timeout=10)
    assert "downloading" not in capfd.readouterr().err.lower()


def test_failed_download_falls_back_to_subset(server, home, monkeypatch):
    site, url = server  # serves nothing
    monkeypatch.setattr(data, "MIRRORS", (url,))
    with pytest.warns(MnistSubsetWarning, match="could not download"):
        subset = load_dataset()
    assert subset.is_subset and len(subset.y_train) == 4000


# ------------------------------------------------------------------------------- splits
def test_validation_split_is_fixed_and_disjoint():
    x = np.arange(1200, dtype=np.float32).reshape(1200, 1)
    y = np.arange(1200) % 10
    a = train_val_split(x, y, val_size=100, seed=0)
    b = train_val_split(x, y, val_size=100, seed=0)
    assert len(a[3]) == 100 and len(a[1]) == 1100
    np.testing.assert_array_equal(a[2], b[2])
    assert not set(a[0][:, 0]) & set(a[2][:, 0])
    assert len(train_val_split(x, y)[3]) == 100  # default 1/12
    with pytest.raises(ValueError, match="val_size"):
        train_val_split(x, y, val_size=1200)


def test_fingerprint_sees_one_pixel():
    x = np.zeros((5, 784), np.float32)
    y = np.zeros(5, np.int64)
    before = fingerprint(x, y)
    x[3, 100] = 0.5
    assert fingerprint(x, y) != before

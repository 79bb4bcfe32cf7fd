"""The IDX reader: round trips and every way a file can be broken."""
import gzip

import numpy as np
import pytest

from idx_files import encode_idx, write_idx
from mnist_scratch.idx import IdxFormatError, read_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".gz", ""])
def test_round_trip(tmp_path, rng, dtype, suffix):
    array = (rng.random((7, 5, 3)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a-idx3{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (7, 5, 3)
    np.testing.assert_array_equal(back, array)


def test_mnist_style_header():
    data = encode_idx(np.zeros((2, 28, 28), np.uint8))
    assert data[:4] == bytes([0, 0, 8, 3])
    assert data[4:16] == (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert len(data) == 16 + 2 * 784


def _write(tmp_path, data, gz=False):
    path = tmp_path / ("bad.gz" if gz else "bad")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


good = encode_idx(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (good[:3], "truncated header"),
    (good[:10], "truncated header"),
    (good[:-1], "truncated"),
    (good[:20], "only 4 bytes follow"),
    (good + b"\x00", "unexpected bytes"),
    (b"\x01\x02" + good[2:], "wrong magic"),
    (good[:2] + b"\x07" + good[3:], "unknown IDX type code"),
    (good[:3] + b"\x00" + good[4:], "zero dimensions"),
])
def test_broken_files_name_file_and_problem(tmp_path, data, message, gz):
    path = _write(tmp_path, data, gz)
    with pytest.raises(IdxFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(good)[:-12])
    with pytest.raises(IdxFormatError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_write_is_atomic_leaves_no_temp_files(tmp_path):
    write_idx(tmp_path / "x-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["x-idx1-ubyte.gz"]

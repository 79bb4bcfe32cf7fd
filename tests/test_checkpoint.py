"""Checkpoint files: exact round trips, and every broken or hostile file refused with a clear
CheckpointError (never a traceback of another kind, never a silently wrong network), in bounded
time and memory."""
from __future__ import annotations

import io
import json
import os
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_scratch import Network
from mnist_scratch.atomic import atomic_path
from mnist_scratch.checkpoint import (CheckpointError, check_writable, keep_backup, load_checkpoint, load_network,
                                      read_metadata, save_network, save_network_keeping_backup)


def _npz(path, members: dict[str, bytes]):
    """Write a zip archive with raw members (``name.npy`` -> bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _with_meta(path, net, **changes):
    """A valid network checkpoint of ``net`` whose metadata has ``changes`` applied (None deletes)."""
    meta = {"format": "mnist_scratch", "kind": "network", "sizes": list(net.sizes), "dtype": "float32", "user": {}}
    meta.update(changes)
    meta = {k: v for k, v in meta.items() if v is not None}
    members = {"__meta__.npy": _npy(np.array(json.dumps(meta)))}
    members.update({f"{k}.npy": _npy(v) for k, v in net.params.items()})
    return _npz(path, members)


@pytest.fixture
def net():
    return Network((784, 16, 10), seed=3)


# ----------------------------------------------------------------------------- round trips
def test_save_load_round_trip_is_exact(tmp_path):
    net = Network((784, 32, 16, 10), seed=5)
    path = save_network(net, tmp_path / "net.npz", metadata={"note": "hello"})
    back = load_network(path)
    assert back.sizes == net.sizes
    for name in net.params:
        np.testing.assert_array_equal(back.params[name], net.params[name])
    assert read_metadata(path)["user"] == {"note": "hello"}
    with np.load(path, allow_pickle=False) as archive:  # plain arrays, no pickles
        assert set(archive.files) == {"__meta__", "W1", "b1", "W2", "b2", "W3", "b3"}


def test_float64_networks_round_trip(tmp_path):
    net = Network((784, 8, 10), seed=1, dtype=np.float64)
    back = load_network(save_network(net, tmp_path / "n.npz"))
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back.params["W1"], net.params["W1"])


def test_loading_another_architecture_is_a_clear_error(tmp_path):
    path = save_network(Network((784, 32, 10), seed=0), tmp_path / "small.npz")
    with pytest.raises(CheckpointError, match="holds a 784-32-10 network, expected 784-64-10"):
        load_network(path, sizes=(784, 64, 10))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_network(tmp_path / "nothing.npz")


# ----------------------------------------------------------------------------- broken files
@pytest.mark.parametrize("content, message", [
    (b"", "not an .npz archive"),
    (b"not a zip at all", "not an .npz archive"),
    (b"PK\x03\x04broken", "not an .npz archive"),
    (_npy(np.zeros(3)), "single NumPy array \\(.npy\\)"),
])
def test_a_file_that_is_not_a_checkpoint(tmp_path, content, message):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_network(path)


def test_npz_without_metadata_is_rejected(tmp_path):
    np.savez(tmp_path / "other.npz", W1=np.zeros((784, 64)))
    with pytest.raises(CheckpointError, match="not an mnist_scratch checkpoint"):
        load_network(tmp_path / "other.npz")


@pytest.mark.parametrize("changes, message", [
    ({"sizes": None}, "layer sizes must be a list of integers"),
    ({"sizes": "784-16-10"}, "layer sizes must be a list of integers"),
    ({"sizes": ["784", "16", "10"]}, "layer sizes must be a list of integers"),
    ({"sizes": [784, 16.0, 10]}, "layer sizes must be a list of integers"),
    ({"sizes": [784, True, 10]}, "layer sizes must be a list of integers"),
    ({"sizes": [784, 10 ** 12, 10]}, "hidden layer widths must be"),
    ({"sizes": [784, 16, 12]}, "only networks from 784 pixels to 10 digits"),
    ({"sizes": [784]}, "hidden layers"),
    ({"dtype": "int8"}, "dtype 'int8' is not one of float32, float64"),
    ({"dtype": "object"}, "is not one of"),
    ({"dtype": "complex128"}, "is not one of"),
    ({"dtype": 7}, "is not one of"),
    ({"format": "other"}, "metadata format"),
    ({"kind": "mystery"}, "unknown checkpoint kind"),
    ({"history": {"a": 1}}, "history is not a list"),
    ({"history": [1, 2]}, "history is not a list"),
    ({"dtype": "float64"}, "is float32, the metadata says float64"),
])
def test_metadata_of_the_wrong_type_or_shape(tmp_path, net, changes, message):
    path = _with_meta(tmp_path / "bad.npz", net, **changes)
    with pytest.raises(CheckpointError, match=message):
        load_network(path)


@pytest.mark.parametrize("meta", ["[1, 2, 3]", "42", "null", "\"text\"", "{not json", "[" * 100_000])
def test_metadata_that_is_not_a_json_object(tmp_path, net, meta):
    members = {"__meta__.npy": _npy(np.array(meta))}
    members.update({f"{k}.npy": _npy(v) for k, v in net.params.items()})
    with pytest.raises(CheckpointError, match="metadata"):
        load_network(_npz(tmp_path / "bad.npz", members))


@pytest.mark.parametrize("name, array, message", [
    ("W1", np.zeros((784, 16), np.int8), "is int8, the metadata says float32"),
    ("W1", np.zeros((784, 16), np.int32), "is int32, the metadata says float32"),
    ("W1", np.zeros((784, 17), np.float32), "has shape \\(784, 17\\), expected \\(784, 16\\)"),
    ("b2", np.full(10, np.nan, np.float32), "NaN or infinite"),
    ("b2", np.full(10, np.inf, np.float32), "NaN or infinite"),
    ("W2", np.array([None] * 160, dtype=object).reshape(16, 10), "Python objects"),
])
def test_parameters_must_be_finite_floats_of_the_declared_dtype_and_shape(tmp_path, net, name, array, message):
    path = _with_meta(tmp_path / "bad.npz", net)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    members[f"{name}.npy"] = buffer.getvalue()
    with pytest.raises(CheckpointError, match=message):
        load_network(_npz(path, members))


def test_a_missing_parameter(tmp_path, net):
    path = _with_meta(tmp_path / "bad.npz", net)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n != "b1.npy"}
    with pytest.raises(CheckpointError, match="array 'b1' is missing"):
        load_network(_npz(path, members))


def _header_only(shape, dtype="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_2_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return b"\x93NUMPY\x02\x00" + buffer.getvalue()[8:]


def test_a_header_claiming_a_huge_shape_is_refused_before_reading(tmp_path, net):
    path = _with_meta(tmp_path / "bomb.npz", net, sizes=[784, 16_000, 10])
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["W1.npy"] = _header_only((784, 16_000))  # the header promises 50 MB, the data is absent
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="truncated|missing"):
        load_network(_npz(path, members))
    assert time.perf_counter() - start < 5
    members["W1.npy"] = _header_only((10 ** 9, 10 ** 9))
    with pytest.raises(CheckpointError, match="has shape"):
        load_network(_npz(path, members))


def test_an_unused_member_is_refused_without_reading_it(tmp_path, net):
    """A zip bomb: a few MB on disk that would decompress to gigabytes. Never decompressed."""
    path = _with_meta(tmp_path / "bomb.npz", net)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as member:
            member.write(_header_only((2 ** 28,), "|u1"))
            chunk = bytes(2 ** 24)
            for _ in range(16):
                member.write(chunk)  # 256 MB of zeros, ~250 KB compressed
    assert path.stat().st_size < 2 ** 21
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="unexpected entry 'extra.npy'"):
        load_network(path)
    with pytest.raises(CheckpointError, match="unexpected entry"):
        load_checkpoint(path)
    assert time.perf_counter() - start < 5


def test_the_error_never_suggests_allow_pickle(tmp_path, net):
    path = _with_meta(tmp_path / "bad.npz", net)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    members["__meta__.npy"] = buffer.getvalue()
    with pytest.raises(CheckpointError) as info:
        load_network(_npz(path, members))
    assert "allow_pickle" not in str(info.value) and str(path) in str(info.value)


# ----------------------------------------------------------------------------- writing
def test_a_folder_that_cannot_be_written_is_found_before_training(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(CheckpointError, match="cannot write a checkpoint"):
            check_writable(locked / "net.npz")
    finally:
        locked.chmod(0o700)
    with pytest.raises(CheckpointError, match="is a folder"):
        check_writable(tmp_path)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CheckpointError, match="cannot write a checkpoint"):  # even as root
        check_writable(tmp_path / "a-file" / "net.npz")
    assert check_writable(tmp_path / "new" / "net.npz").parent.is_dir()


def test_replacing_keeps_a_backup_and_the_path_always_holds_a_network(tmp_path, net):
    path = save_network(net, tmp_path / "net.npz")
    other = Network((784, 16, 10), seed=4)
    backup = save_network_keeping_backup(other, path, "before-retrain")
    assert backup.name.startswith("net.before-retrain-") and backup.exists()
    np.testing.assert_array_equal(load_network(backup).params["W1"], net.params["W1"])
    np.testing.assert_array_equal(load_network(path).params["W1"], other.params["W1"])
    assert keep_backup(tmp_path / "none.npz", "x") is None


def test_a_crash_while_saving_leaves_the_old_file_and_no_part_file(tmp_path, net):
    path = save_network(net, tmp_path / "net.npz")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_stale_part_files_of_dead_writers_are_removed_on_the_next_save(tmp_path, net):
    dead = tmp_path / ".net.npz.999999999.abc.part"   # no such process
    alive = tmp_path / f".net.npz.{os.getppid()}.abc.part"  # a live process: maybe still writing
    dead.write_bytes(b"x" * 1000)
    alive.write_bytes(b"x")
    save_network(net, tmp_path / "net.npz")
    assert not dead.exists() and alive.exists()


# ----------------------------------------------------------------------------- property-based
def _mutations():
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.floats(allow_nan=False)
                               | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                               max_leaves=12)
    return st.one_of(
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
        st.tuples(st.just("meta"), st.sampled_from(["sizes", "dtype", "kind", "format", "history", "user", "config",
                                                    "step"]), json_values),
        st.tuples(st.just("array"), st.sampled_from(["W1", "b1", "W2", "b2", "opt.m", "train.perm"]),
                  st.sampled_from(["<f4", "<f8", "|i1", "<i8", "|u1", ">f4", "<c8"]),
                  st.lists(st.integers(0, 1000), max_size=3)),
    )


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    path = save_network(Network((784, 16, 10), seed=3), tmp_path_factory.mktemp("ckpt") / "net.npz")
    return path.read_bytes()


def _mutate(data: bytes, mutation) -> bytes:
    kind = mutation[0]
    if kind == "truncate":
        return data[:int(mutation[1] * len(data))]
    if kind == "flip":
        out = bytearray(data)
        for where, value in mutation[1]:
            out[min(int(where * len(out)), len(out) - 1)] ^= value
        return bytes(out)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    if kind == "meta":
        meta = json.loads(str(np.load(io.BytesIO(members["__meta__.npy"]), allow_pickle=False)[()]))
        meta[mutation[1]] = mutation[2]
        members["__meta__.npy"] = _npy(np.array(json.dumps(meta)))
    else:
        _, name, dtype, shape = mutation
        members[f"{name}.npy"] = _npy(np.ones(shape, dtype=np.dtype(dtype)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in members.items():
            archive.writestr(name, value)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_any_mutated_checkpoint_loads_equivalently_or_raises_checkpoint_error(tmp_path, valid_bytes, mutation):
    path = tmp_path / "mutated.npz"
    path.write_bytes(_mutate(valid_bytes, mutation))
    original = load_network(_write(tmp_path / "orig.npz", valid_bytes))
    start = time.perf_counter()
    try:
        net = load_network(path)
    except CheckpointError as exc:
        assert str(path) in str(exc) and "allow_pickle" not in str(exc)
    else:  # whatever was changed did not touch the network: it must be the same network
        assert net.sizes == original.sizes and net.dtype == original.dtype
        for name in original.params:
            np.testing.assert_array_equal(net.params[name], original.params[name])
    assert time.perf_counter() - start < 2


def _write(path, data):
    path.write_bytes(data)
    return path

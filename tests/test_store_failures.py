"""The feedback store when the file or the disk lets it down: a read-only store, a full disk, a
damaged file, a forged header, random damage. Every case is a one-line FeedbackStoreError naming
the file (never an sqlite3 traceback), and nothing already saved is lost."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_scratch.digit_csv import read_csv
from mnist_scratch.store import APPLICATION_ID, FeedbackStore, FeedbackStoreError

NOBODY = 65534


def saved_store(folder: Path, n: int = 3) -> Path:
    path = folder / "drawings.sqlite3"
    with FeedbackStore(path) as store:
        for i in range(n):
            store.add(np.full((28, 28), (i * 40) % 256, np.uint8), i % 10)
    return path


@pytest.fixture
def public_tmp():
    """A folder another user can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="mnist_scratch_store_"))
    folder.chmod(0o755)
    yield folder
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(folder, ignore_errors=True)


def run_as_unprivileged(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in Python as a user to whom read-only permissions apply (root ignores them)."""
    command = [sys.executable, "-c", textwrap.dedent(code)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv (util-linux) to drop privileges")
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
        probe = subprocess.run([*command[:4], sys.executable, "-c", "import numpy, mnist_scratch"],
                               capture_output=True, timeout=120, cwd="/")
        if probe.returncode != 0:
            pytest.skip("the unprivileged user cannot read this Python environment (a private folder)")
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")


def test_a_store_in_a_read_only_folder_can_be_listed_and_exported_but_not_written(public_tmp):
    path = saved_store(public_tmp / "store")
    path.chmod(0o444)
    path.parent.chmod(0o555)
    out = public_tmp / "out"
    out.mkdir()
    out.chmod(0o777)
    result = run_as_unprivileged(f"""
        import numpy as np
        from mnist_scratch.store import FeedbackStore, FeedbackStoreError
        store = FeedbackStore({str(path)!r})
        print("count", len(store), store.load()[1].tolist())
        print("exported", store.export_csv({str(out / 'all.csv')!r}))
        try:
            store.add(np.zeros((28, 28), np.uint8), 7)
        except FeedbackStoreError as e:
            print("error:", e)
        """)
    assert result.returncode == 0, result.stderr
    assert "count 3 [0, 1, 2]" in result.stdout and "exported 3" in result.stdout
    assert "error: feedback store" in result.stdout and "cannot be written" in result.stdout
    assert "Traceback" not in result.stderr
    path.parent.chmod(0o755)
    assert len(FeedbackStore(path)) == 3  # nothing lost


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_saved(tmp_path):
    path = saved_store(tmp_path)
    store = FeedbackStore(path)
    with store._write() as con:  # the test's only reach inside: a tiny page limit stands in for a full disk
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    big = np.random.default_rng(0).integers(0, 256, (400, 784), dtype=np.uint8)
    store._con.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(FeedbackStoreError, match="disk is full") as info:
        store.add_images(big, np.arange(400) % 10, source="test")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    store.close()
    assert len(FeedbackStore(path)) == 3


def test_a_damaged_file_is_a_clear_error(tmp_path):
    path = saved_store(tmp_path, n=50)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 3000] = os.urandom(3000)
    path.write_bytes(bytes(data))
    with pytest.raises(FeedbackStoreError) as info:
        store = FeedbackStore(path)
        store.load()
        store.add(np.zeros((28, 28), np.uint8), 1)
    assert str(path) in str(info.value)


def test_a_forged_application_id_is_not_a_store(tmp_path):
    path = tmp_path / "forged.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 12345")
    con.execute("CREATE TABLE drawings (x)")
    con.commit()
    con.close()
    with pytest.raises(FeedbackStoreError, match="not a feedback store"):
        FeedbackStore(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with pytest.raises(FeedbackStoreError, match=str(path)):  # right header, wrong tables
        FeedbackStore(path).load()


def test_a_schema_damaged_into_invalid_utf8_is_the_store_error(tmp_path):
    # SQLite's error message quotes the damaged schema; decoding it failed with a bare
    # UnicodeDecodeError (found by the property test below in CI).
    path = saved_store(tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"NOT NULL UNIQUE REFERENCES drawings") + len(b"NOT NULL ")
    data[at] ^= 0x80  # "UNIQUE" -> "\xd5NIQUE"
    path.write_bytes(bytes(data))
    with pytest.raises(FeedbackStoreError, match="damaged") as info:
        FeedbackStore(path).load()
    assert str(path) in str(info.value)


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory):
    path = saved_store(tmp_path_factory.mktemp("store"), n=20)
    return path.read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=10))
def test_any_damaged_store_reads_or_raises_the_store_error(tmp_path, store_bytes, cut, flips):
    data = bytearray(store_bytes[:max(1, int(cut * len(store_bytes)))] if cut < 0.99 else store_bytes)
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= value
    path = tmp_path / f"damaged-{abs(hash((cut, tuple(flips))))}.sqlite3"
    path.write_bytes(bytes(data))
    try:
        store = FeedbackStore(path)
        x, y = store.load()
        assert x.shape == (len(y), 784) and set(y.tolist()) <= set(range(10))
        store.records(include_retracted=True)
        store.close()
    except FeedbackStoreError as exc:
        assert str(path) in str(exc)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("0123456789,-+. \nabé\r\t\x00")), max_size=3000),
       header=st.booleans())
def test_any_csv_reads_or_raises_a_value_error_naming_the_file(tmp_path, text, header):
    path = tmp_path / "any.csv"
    prefix = "label," + ",".join(f"pixel{k}" for k in range(784)) + "\n" if header else ""
    path.write_bytes((prefix + text).encode("utf-8", "surrogatepass"))
    try:
        x, y = read_csv(path)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert x.dtype == np.uint8 and x.shape == (len(y), 784) and set(y.tolist()) <= set(range(10))

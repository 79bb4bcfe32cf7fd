"""Tests of the feedback store: round trips, validation, append-only undo, CSV, and, for real, a
writer killed mid-save and several writer processes saving to one file at the same time."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from mnist_scratch import store as store_mod
from mnist_scratch.digit_csv import CSV_HEADER
from mnist_scratch.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    FeedbackStore,
    FeedbackStoreError,
    summarize_counts,
)

PROJECT_ROOT = Path(store_mod.__file__).resolve().parents[1]


def digit_image(seed: int) -> np.ndarray:
    """A reproducible (28, 28) uint8 test image."""
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "fb" / "drawings.sqlite3")


def fill(store: FeedbackStore, labels, source: str = "drawing_pad") -> list[int]:
    return [store.add(digit_image(i), label, source=source) for i, label in enumerate(labels)]


# ---------------------------------------------------------------- round trips
def test_new_store_is_empty_and_creates_nothing_until_the_first_save(tmp_path):
    path = tmp_path / "nested" / "fb.sqlite3"
    st = FeedbackStore(path)
    assert len(st) == 0 and st.records() == [] and st.undo_last() is None
    assert st.counts() == dict.fromkeys(range(10), 0)
    x, y = st.load()
    assert x.shape == (0, 784) and x.dtype == np.float32
    assert y.shape == (0,) and y.dtype == np.int64
    assert not path.parent.exists()
    st.add(digit_image(0), 4)
    assert path.is_file() and len(st) == 1


def test_default_path_comes_from_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_SCRATCH_HOME", str(tmp_path))
    st = FeedbackStore()
    assert st.path == tmp_path / "feedback" / "drawings.sqlite3"
    assert not (tmp_path / "feedback").exists()
    st.add(digit_image(0), 1)
    assert st.path.is_file()


def test_add_and_read_back_everything(store):
    image = digit_image(7)
    strokes = [[[10.25, 20.5], [11.0, 22.125], [12.0, 1e-3]], [[100.0, 100.0]], []]
    rid = store.add(image, 7, strokes=strokes, predicted=1, confidence=0.625,
                    canvas_size=(300, 280))
    (rec,) = store.records()
    assert rec.id == rid and rec.label == 7 and rec.predicted == 1 and rec.confidence == 0.625
    assert rec.image.dtype == np.uint8 and rec.image.shape == (28, 28)
    np.testing.assert_array_equal(rec.image, image)  # bytes exact
    assert rec.strokes == strokes  # JSON round trip is exact for floats
    assert rec.canvas_size == (300, 280) and rec.source == "drawing_pad"
    assert rec.created_utc.endswith("+00:00") and not rec.retracted
    np.testing.assert_array_equal(rec.pixels(), image.reshape(784).astype(np.float32) / 255)


def test_optional_fields_may_be_none(store):
    store.add(digit_image(1).reshape(784), 0, strokes=None, canvas_size=None, source="csv:x.csv")
    (rec,) = store.records()
    assert rec.strokes is None and rec.canvas_size is None and rec.predicted is None
    assert rec.confidence is None and rec.source == "csv:x.csv"


def test_float_images_are_quantised_to_uint8(store):
    image = np.random.default_rng(3).random((28, 28))  # float64 in [0, 1)
    store.add(image, 2)
    store.add(image.astype(np.float32).reshape(784), 2)
    x, y = store.load()
    assert x.dtype == np.float32 and x.shape == (2, 784) and y.tolist() == [2, 2]
    assert x.min() >= 0 and x.max() <= 1
    np.testing.assert_allclose(x[0], image.reshape(784), atol=0.5 / 255 + 1e-6)
    np.testing.assert_array_equal(store.records()[0].image, np.rint(image * 255).astype(np.uint8))


def test_load_counts_and_len(store):
    labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    ids = fill(store, labels)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    x, y = store.load()
    assert y.dtype == np.int64 and y.tolist() == labels
    expected = np.stack([digit_image(i).reshape(784) for i in range(len(labels))]) / np.float32(255)
    np.testing.assert_array_equal(x, expected.astype(np.float32))
    counts = store.counts()
    assert counts == {d: labels.count(d) for d in range(10)} and len(store) == len(labels)


def test_file_is_wal_with_schema_version(store):
    store.add(digit_image(0), 0)
    con = sqlite3.connect(store.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        con.close()


def test_rows_cannot_be_updated_or_deleted(store):
    rid = store.add(digit_image(0), 0)
    store.retract(rid)
    con = sqlite3.connect(store.path, isolation_level=None)
    try:
        for sql in ("DELETE FROM drawings", "UPDATE drawings SET label = 1",
                    "DELETE FROM retractions", "UPDATE retractions SET reason = 'x'"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def test_store_reopens_when_the_file_is_deleted_or_closed(store):
    store.add(digit_image(0), 0)
    store.path.unlink()  # e.g. the user wipes data/feedback while a notebook is open
    assert len(store) == 0
    store.add(digit_image(1), 1)
    with FeedbackStore(store.path) as again:
        assert again.load()[1].tolist() == [1]
    store.close()
    assert store.counts()[1] == 1


# ---------------------------------------------------------------- validation
GOOD = dict(image=np.zeros((28, 28), np.uint8), label=3)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(image=np.zeros((28, 27), np.uint8)), r"shape \(28, 28\) or \(784,\)"),
        (dict(image=np.zeros((1, 784), np.uint8)), r"shape"),
        (dict(image=np.zeros((28, 28), np.int64)), r"dtype int64"),
        (dict(image=np.zeros((28, 28), bool)), r"dtype bool"),
        (dict(image=np.full((28, 28), np.nan)), r"NaN or infinite"),
        (dict(image=np.full((28, 28), np.inf, np.float32)), r"NaN or infinite"),
        (dict(image=np.full((28, 28), 1.5)), r"in \[0, 1\]"),
        (dict(image=np.full((28, 28), -0.1)), r"in \[0, 1\]"),
        (dict(label=10), r"label must be in 0..9"),
        (dict(label=-1), r"label must be in 0..9"),
        (dict(label=3.0), r"label must be an int"),
        (dict(label=True), r"label must be an int"),
        (dict(label=None), r"label must be an int"),
        (dict(predicted=12), r"predicted must be in 0..9"),
        (dict(confidence=1.5), r"confidence must be in \[0, 1\]"),
        (dict(confidence=float("nan")), r"confidence must be in \[0, 1\]"),
        (dict(confidence="high"), r"confidence must be a float"),
        (dict(strokes=[[[1.0, 2.0, 3.0]]]), r"stroke 0 must be a list of \[x, y\] points"),
        (dict(strokes=[[[1.0, 2.0]], [[np.nan, 2.0]]]), r"stroke 1 contains NaN"),
        (dict(canvas_size=(0, 280)), r"canvas_size"),
        (dict(canvas_size="big"), r"canvas_size"),
        (dict(source=""), r"source must be a non-empty string"),
    ],
)
def test_bad_input_is_rejected_and_nothing_is_written(store, change, message):
    kwargs = {**GOOD, **change}
    with pytest.raises(ValueError, match=message):
        store.add(kwargs.pop("image"), kwargs.pop("label"), **kwargs)
    assert not store.path.exists() and len(store) == 0


def test_accepted_label_types(store):
    store.add(GOOD["image"], np.int64(9), predicted=np.uint8(0), confidence=np.float32(1.0))
    assert store.records()[0].label == 9 and store.records()[0].predicted == 0


# ---------------------------------------------------------------- retract and undo
def test_retract_keeps_the_row_but_it_stops_counting(store):
    a, b, c = fill(store, [1, 2, 3])
    store.retract(b, reason="mislabelled")
    assert [r.id for r in store.records()] == [a, c]
    assert store.counts()[2] == 0 and len(store) == 2
    assert store.load()[1].tolist() == [1, 3]
    every = store.records(include_retracted=True)
    assert [r.id for r in every] == [a, b, c]
    assert [r.retracted for r in every] == [False, True, False]
    with pytest.raises(ValueError, match=f"record {b} was already retracted"):
        store.retract(b)
    with pytest.raises(ValueError, match="no record with id 999"):
        store.retract(999)
    for bad in (2.0, True, "1"):
        with pytest.raises(ValueError, match="record_id must be an int"):
            store.retract(bad)
    assert len(store.records(include_retracted=True)) == 3


def test_retract_returns_the_retracted_record(store):
    (rid,) = fill(store, [4])
    rec = store.retract(rid, reason="undo")
    assert rec.id == rid and rec.label == 4 and rec.retracted
    np.testing.assert_array_equal(rec.image, digit_image(0))


def test_undo_last_retracts_newest_live_record(store):
    a, b = fill(store, [5, 6])
    c = store.add(digit_image(9), 7, source="csv:old.csv")
    undone = store.undo_last(source="drawing_pad")
    assert undone.id == b and undone.label == 6 and undone.retracted
    assert store.undo_last().id == c
    assert store.undo_last().id == a
    assert store.undo_last() is None and len(store) == 0
    assert len(store.records(include_retracted=True)) == 3  # nothing was deleted
    d = store.add(digit_image(10), 8)
    assert d > c and store.undo_last(source="nobody") is None and len(store) == 1


# ---------------------------------------------------------------- not a feedback store
def make_foreign_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["random_bytes", "text", "foreign_sqlite"])
def test_a_file_that_is_not_a_store_gives_a_clear_error_and_is_left_alone(tmp_path, kind):
    path = tmp_path / "data.bin"
    if kind == "random_bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("label,pixel0\n1,2\n" * 100)
    else:
        make_foreign_sqlite(path)
    before = path.read_bytes()
    with pytest.raises(FeedbackStoreError, match="not a feedback store"):
        FeedbackStore(path)
    assert path.read_bytes() == before


def test_a_folder_or_newer_schema_gives_a_clear_error(tmp_path, store):
    with pytest.raises(FeedbackStoreError, match="is a folder"):
        FeedbackStore(tmp_path)
    store.add(digit_image(0), 0)
    con = sqlite3.connect(store.path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(FeedbackStoreError, match="newer than this mnist_scratch"):
        FeedbackStore(store.path)
    with pytest.raises(FeedbackStoreError, match="newer"):
        store.add(digit_image(1), 1)  # an already open store object checks on every access


# ---------------------------------------------------------------- CSV
def test_csv_export_import_round_trip(store, tmp_path):
    fill(store, [0, 9, 8, 7])
    store.retract(store.records()[1].id)  # retracted digits are not exported
    out = tmp_path / "export" / "data.csv"
    out.parent.mkdir()
    out.write_text("old content")  # replaced atomically
    assert store.export_csv(out) == 3
    lines = out.read_text().splitlines()
    assert lines[0] == CSV_HEADER and len(lines) == 4
    assert lines[1] == "0," + ",".join(str(v) for v in digit_image(0).reshape(784))
    assert sorted(os.listdir(out.parent)) == ["data.csv"]  # no temporary file left behind

    other = FeedbackStore(tmp_path / "other.sqlite3")
    assert other.import_csv(out) == 3
    (x0, y0), (x1, y1) = store.load(), other.load()
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(y1, y0)
    rec = other.records()[0]
    assert rec.source == "csv:data.csv" and rec.strokes is None and rec.predicted is None
    assert other.import_csv(out) == 0  # the same file again adds nothing
    assert len(other) == 3
    other.retract(other.records()[0].id)  # a drawing that was taken back comes back on import
    assert other.import_csv(out, source="classic") == 1 and other.records()[-1].source == "classic"
    assert len(other) == 3


def test_add_images_skips_digits_already_there_and_repeats(store):
    x = np.stack([digit_image(d).reshape(784) for d in (1, 2, 1)])
    assert store.add_images(x, np.array([1, 2, 1]), source="batch") == 2  # the second 1 repeats
    assert store.add_images(x[:1], np.array([7]), source="batch") == 1   # same pixels, other label
    assert store.load()[1].tolist() == [1, 2, 7]
    with pytest.raises(ValueError, match="uint8"):
        store.add_images(x.astype(np.float32), np.array([1, 2, 1]), source="batch")
    with pytest.raises(ValueError, match="0..9"):
        store.add_images(x, np.array([1, 2, 10]), source="batch")
    assert len(store) == 3


def test_failed_export_leaves_the_old_file_and_no_temporary(store, tmp_path, monkeypatch):
    fill(store, [1, 2])
    out = tmp_path / "export" / "data.csv"
    out.parent.mkdir()
    out.write_text("old content")

    def broken_savetxt(f, *args, **kwargs):
        f.write("label,pix")  # half a file, then the disk fills up
        raise OSError("No space left on device")

    monkeypatch.setattr(store_mod.np, "savetxt", broken_savetxt)
    with pytest.raises(OSError, match="No space left"):
        store.export_csv(out)
    assert out.read_text() == "old content"
    assert sorted(os.listdir(out.parent)) == ["data.csv"]


def test_csv_of_an_empty_store_has_only_the_header(store, tmp_path):
    assert store.export_csv(tmp_path / "e.csv") == 0
    assert (tmp_path / "e.csv").read_text() == CSV_HEADER + "\n"
    assert store.import_csv(tmp_path / "e.csv") == 0 and not store.path.exists()


def test_csv_with_crlf_bom_and_blank_lines_imports(store, tmp_path):
    rows = [[d] + digit_image(d).reshape(784).tolist() for d in (4, 2)]
    body = "\r\n".join(",".join(map(str, r)) for r in rows)
    text = "\ufeff" + CSV_HEADER + "\r\n" + body + "\r\n\r\n"
    (tmp_path / "win.csv").write_text(text, newline="")
    assert store.import_csv(tmp_path / "win.csv") == 2
    assert store.load()[1].tolist() == [4, 2]
    np.testing.assert_array_equal(store.records()[1].image, digit_image(2))


def csv_rows(n: int = 4) -> list[list[str]]:
    return [[str(d % 10)] + [str(v) for v in digit_image(d).reshape(784)] for d in range(n)]


def bad_csv(case: str) -> str:
    header, rows = CSV_HEADER, csv_rows()
    if case == "too_few_columns":
        rows[2] = rows[2][:-1]
    elif case == "too_many_columns":
        rows[3] = rows[3] + ["0"]
    elif case == "not_a_number":
        rows[1][100] = "abc"
    elif case == "float":
        rows[3][5] = "1.5"
    elif case == "pixel_too_big":
        rows[2][785 - 1] = "256"
    elif case == "pixel_negative":
        rows[0][1] = "-1"
    elif case == "bad_label":
        rows[3][0] = "10"
    elif case == "bad_header":
        header = "digit," + CSV_HEADER.split(",", 1)[1]
    elif case == "no_label_column":
        header, rows = CSV_HEADER.split(",", 1)[1], [r[1:] for r in rows]
    elif case == "huge_number":
        rows[1][2] = "99999999999999999999999"
    elif case == "latin1":
        rows[0][0] = "caf\u00e9"
    elif case == "empty":
        return ""
    return "\n".join([header] + [",".join(r) for r in rows]) + "\n"


@pytest.mark.parametrize(
    "case, message",
    [
        ("too_few_columns", r"line 4: expected 785 columns, found 784"),
        ("too_many_columns", r"line 5: expected 785 columns, found 786"),
        ("not_a_number", r"line 3, column 101: 'abc' is not an integer"),
        ("float", r"line 5, column 6: '1.5' is not an integer"),
        ("pixel_too_big", r"line 4, column 785: pixel783 = 256 is outside 0..255"),
        ("pixel_negative", r"line 2, column 2: pixel0 = -1 is outside 0..255"),
        ("bad_label", r"line 5, column 1: label 10 is not a digit 0..9"),
        ("huge_number", r"line 3, column 3: 99999999999999999999999 is outside 0..255"),
        ("latin1", r"line 2, column 4: byte 0xe9 is not UTF-8 text"),
        ("bad_header", r"line 1: expected the header label,pixel0"),
        ("no_label_column", r"line 1: .*no 'label' column"),
        ("empty", r"empty file"),
    ],
)
def test_malformed_csv_is_rejected_whole_with_file_and_line(store, tmp_path, case, message):
    store.add(digit_image(99), 1)
    path = tmp_path / "bad.csv"
    path.write_bytes(bad_csv(case).encode("latin-1"))
    with pytest.raises(ValueError, match=message) as info:
        store.import_csv(path)
    assert "bad.csv" in str(info.value)
    assert len(store.records(include_retracted=True)) == 1  # all or nothing


# ---------------------------------------------------------------- summary for the CLI
def test_summarize_counts():
    text = summarize_counts({**dict.fromkeys(range(10), 0), 3: 12, 7: 1})
    lines = text.splitlines()
    assert lines[0].split() == ["digit", "drawings"] and len(lines) == 12
    assert lines[4].split() == ["3", "12"] and lines[8].split() == ["7", "1"]
    assert lines[-1].split() == ["total", "13"]


# ---------------------------------------------------------------- crashes and concurrency, for real
WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mnist_scratch.store import FeedbackStore

    path, tag, n, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "wait"
    store = FeedbackStore(path)
    if wait:
        print("ready", flush=True)
        sys.stdin.readline()
    for i in range(n):
        image = np.random.default_rng([len(tag), i]).integers(0, 256, (28, 28), dtype=np.uint8)
        rid = store.add(image, i % 10, strokes=[[[float(i), 0.5]]], source=tag)
        print(rid, i, flush=True)
    """
)


def start_writer(path: Path, tag: str, n: int, wait: bool) -> subprocess.Popen:
    pythonpath = os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), tag, str(n), "wait" if wait else "go"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def parse_saves(text: str) -> dict[int, int]:
    """``{record id: loop index}`` from complete "id i" lines of a writer's stdout."""
    return {int(a): int(b) for a, b in (ln.split() for ln in text.splitlines(keepends=True)
                                       if ln.endswith("\n") and ln.strip() != "ready")}


def check_integrity(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


@pytest.mark.parametrize("kill_after", [1, 15, 50])
def test_writer_killed_mid_save_loses_no_reported_record(tmp_path, kill_after):
    path = tmp_path / "fb.sqlite3"
    proc = start_writer(path, "victim", 10**6, wait=False)
    try:
        reported = []
        while len(reported) < kill_after:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read()}"
            reported.append(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        saves = parse_saves("".join(reported) + proc.stdout.read())
    finally:
        proc.kill()
        proc.stdout.close(), proc.stderr.close(), proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL and len(saves) >= kill_after

    check_integrity(path)
    st = FeedbackStore(path)
    by_id = {r.id: r for r in st.records()}
    assert set(saves) <= set(by_id)  # every reported save survived
    assert len(by_id) - len(saves) <= 1  # at most the one committed just before the kill
    for rid, i in saves.items():
        rng = np.random.default_rng([len("victim"), i])
        expected = rng.integers(0, 256, (28, 28), dtype=np.uint8)
        np.testing.assert_array_equal(by_id[rid].image, expected)
        assert by_id[rid].label == i % 10 and by_id[rid].strokes == [[[float(i), 0.5]]]
    new_id = st.add(digit_image(0), 3, source="after_crash")
    assert new_id > max(by_id) and st.records()[-1].source == "after_crash"
    check_integrity(path)


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    path, n, tags = tmp_path / "shared" / "fb.sqlite3", 100, ["a", "bb", "ccc"]
    procs = [start_writer(path, tag, n, wait=True) for tag in tags]
    try:
        for p in procs:  # all have imported and opened the (not yet existing) store
            assert p.stdout.readline() == "ready\n", p.stderr.read()
        for p in procs:  # go: everyone creates the file and saves at the same time
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    saves = [parse_saves(out) for out, _ in outputs]
    assert [len(s) for s in saves] == [n] * len(tags)
    all_ids = [rid for s in saves for rid in s]
    assert len(set(all_ids)) == n * len(tags)

    check_integrity(path)
    records = FeedbackStore(path).records()
    assert sorted(r.id for r in records) == sorted(all_ids)
    for tag, s in zip(tags, saves):
        mine = [r for r in records if r.source == tag]
        assert {r.id for r in mine} == set(s)
        assert sorted(r.label for r in mine) == sorted(i % 10 for i in range(n))


def test_concurrent_threads_share_one_store_object(store):
    errors = []

    def worker(k: int) -> None:
        try:
            for i in range(25):
                store.add(digit_image(100 * k + i), k, source=f"thread{k}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.counts() == {d: (25 if d < 4 else 0) for d in range(10)}

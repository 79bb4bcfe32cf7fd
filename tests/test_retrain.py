"""Tests of learning from the user's drawings: the store's honest running accuracy and retrain
marks (and the upgrade of older stores), ``retrain_on_feedback``, ``train --with-drawings`` and
``evaluate --drawings``."""
from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

from mnist_scratch.store import SCHEMA_VERSION, FeedbackStore, RunningAccuracy


def digit_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "drawings.sqlite3")


def save(store: FeedbackStore, pairs, start: int = 0) -> list[int]:
    """Save (label, predicted) pairs; returns the record ids."""
    return [store.add(digit_image(start + i), label, predicted=pred, confidence=None if pred is None else 0.9)
            for i, (label, pred) in enumerate(pairs)]


# ---------------------------------------------------------------- running accuracy
def test_running_accuracy_of_an_empty_store(store):
    acc = store.running_accuracy()
    assert acc == RunningAccuracy(last=20, recent_total=0, recent_correct=0, since_retrain_total=0,
                                  since_retrain_correct=0, retrains=0)
    assert acc.recent_accuracy is None and acc.text() == "no drawings with a recorded prediction yet"
    assert store.retrains() == [] and not store.path.exists()  # reading creates nothing


def test_running_accuracy_counts_the_prediction_made_before_the_label(store):
    # 25 drawings: the network was right on every third one.
    pairs = [(i % 10, i % 10 if i % 3 == 0 else (i + 1) % 10) for i in range(25)]
    save(store, pairs)
    acc = store.running_accuracy(last=20)
    expected_recent = sum(label == pred for label, pred in pairs[-20:])
    assert (acc.recent_total, acc.recent_correct) == (20, expected_recent)
    assert (acc.since_retrain_total, acc.since_retrain_correct) == (25, sum(l == p for l, p in pairs))
    assert acc.text() == f"of your last 20 drawings the network got {expected_recent} right (not retrained yet)"
    assert store.running_accuracy(last=100).recent_total == 25


def test_drawings_without_prediction_and_undone_ones_do_not_count(store):
    save(store, [(3, 3), (4, None), (5, 6)])
    store.undo_last()  # the wrong guess on 5 is undone
    acc = store.running_accuracy(last=5)
    assert (acc.recent_total, acc.recent_correct) == (1, 1)
    assert acc.text() == "of your last drawing the network got 1 right (not retrained yet)"


def test_since_retrain_counts_only_drawings_saved_after_the_mark(store):
    ids = save(store, [(1, 7), (2, 3), (3, 3)])
    mark = store.mark_retrain(details={"mnist_before": 0.98, "mnist_after": 0.979, "checkpoint": "net.npz"})
    (record,) = store.retrains()
    assert record.id == mark and record.last_drawing_id == ids[-1] and record.n_drawings == 3
    assert record.details["checkpoint"] == "net.npz"
    acc = store.running_accuracy(last=20)
    assert (acc.since_retrain_total, acc.since_retrain_correct, acc.retrains) == (0, 0, 1)
    assert acc.text() == "of your last 3 drawings the network got 1 right; no drawings since the last retrain yet"
    save(store, [(1, 1), (2, 2), (4, 9)], start=10)
    acc = store.running_accuracy(last=20)
    assert (acc.recent_total, acc.recent_correct) == (6, 3)
    assert (acc.since_retrain_total, acc.since_retrain_correct) == (3, 2)
    assert acc.since_retrain_accuracy == pytest.approx(2 / 3)
    assert acc.text() == "of your last 6 drawings the network got 3 right; since the last retrain, 2 of 3"


def test_mark_retrain_takes_explicit_counts_and_checks_them(store):
    save(store, [(1, 1)] * 4)
    store.mark_retrain(n_drawings=2, last_drawing_id=2)
    assert store.running_accuracy().since_retrain_total == 2
    for bad in ({"n_drawings": -1}, {"last_drawing_id": -3}, {"last_drawing_id": 1.5}, {"n_drawings": True}):
        with pytest.raises(ValueError):
            store.mark_retrain(**bad)
    assert len(store.retrains()) == 1


@pytest.mark.parametrize("last", [0, -1, 2.0, True])
def test_running_accuracy_rejects_a_bad_window(store, last):
    with pytest.raises(ValueError, match="last must be a positive int"):
        store.running_accuracy(last=last)


def test_retrain_marks_are_append_only(store):
    save(store, [(1, 1)])
    store.mark_retrain()
    con = sqlite3.connect(store.path, isolation_level=None)
    try:
        for sql in ("DELETE FROM retrains", "UPDATE retrains SET n_drawings = 0"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


# ---------------------------------------------------------------- upgrading a version-1 store
def make_version1_store(path) -> None:
    """A store exactly as schema version 1 wrote it (no retrains table), with two drawings."""
    from mnist_scratch import store as store_mod

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("BEGIN")
    for statement in store_mod._SCHEMA:
        con.execute(statement)
    con.execute(f"PRAGMA application_id = {store_mod.APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    for i, (label, pred) in enumerate([(3, 5), (7, 7)]):
        con.execute(store_mod._INSERT, ("2026-01-01T00:00:00.000+00:00", "drawing_pad", label, pred, 0.5,
                                        digit_image(i).tobytes(), None, 280, 280))
    con.execute("COMMIT")
    con.close()


def test_a_version1_store_is_upgraded_on_open_and_keeps_every_drawing(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_version1_store(path)
    store = FeedbackStore(path)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert con.execute("SELECT count(*) FROM retrains").fetchone()[0] == 0
    finally:
        con.close()
    records = store.records()
    assert [(r.label, r.predicted) for r in records] == [(3, 5), (7, 7)]
    np.testing.assert_array_equal(records[0].image, digit_image(0))
    assert store.running_accuracy().recent_correct == 1
    store.mark_retrain()
    assert store.retrains()[0].n_drawings == 2


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write read-only files")
def test_a_read_only_version1_store_is_still_read(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_version1_store(path)
    path.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        store = FeedbackStore(path)
        assert len(store) == 2 and store.retrains() == []
        assert store.running_accuracy().recent_total == 2
    finally:
        tmp_path.chmod(stat.S_IRWXU)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)

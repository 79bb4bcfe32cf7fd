"""The feedback store: the user's own labelled drawings, kept apart from MNIST in one SQLite file.

Every saved drawing is a row that is never updated or deleted (triggers enforce it). "Undo" is
itself an append: a row in ``retractions`` says that a drawing no longer counts. A save is one
transaction in WAL mode with ``synchronous=FULL``, so a process killed mid-save leaves every earlier
record intact, and a busy timeout makes two kernels saving at once wait for each other, not fail.

Schema (``PRAGMA application_id`` = ``APPLICATION_ID``, ``user_version`` = ``SCHEMA_VERSION``)::

    drawings     id INTEGER PRIMARY KEY AUTOINCREMENT   record id, increasing, never reused
                 created_utc TEXT      ISO 8601 UTC timestamp of the save
                 source TEXT           "drawing_pad", "csv:<file name>", ...
                 label INTEGER         the true digit, 0..9
                 predicted INTEGER     the network's guess at save time, 0..9 or NULL
                 confidence REAL       its probability, [0, 1] or NULL
                 image BLOB            784 bytes: the 28 x 28 uint8 image, row-major (as MNIST)
                 strokes TEXT          JSON [[[x, y], ...], ...] canvas coordinates, or NULL
                 canvas_width INTEGER, canvas_height INTEGER   canvas size in px, or NULL
    retractions  id, drawing_id (UNIQUE, references drawings), created_utc, reason
    retrains     id INTEGER PRIMARY KEY AUTOINCREMENT   (schema version 2)
                 created_utc TEXT      when the retrained network was made
                 last_drawing_id INTEGER   the newest drawing id it learned from (0: none)
                 n_drawings INTEGER    how many live drawings it learned from
                 details TEXT          JSON: MNIST accuracy before/after, checkpoint file name, ...

A version-1 store (no ``retrains`` table) is upgraded in place when it is opened, in one
transaction that only adds the table: no drawing is touched. A store that cannot be written (a
read-only file) is still read, as having no retrains.

Drawings are exported to and imported from CSV files in the Kaggle/classic layout
(:mod:`.digit_csv`); the honest running accuracy the store reports is a
:class:`~.running_accuracy.RunningAccuracy`.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mnist_scratch import paths
from mnist_scratch.atomic import atomic_path
from mnist_scratch.digit_csv import CSV_HEADER, read_csv
from mnist_scratch.network import check_labels
from mnist_scratch.running_accuracy import RetrainMark, RunningAccuracy

APPLICATION_ID = 0x4D4E4642  # "MNFB": marks an SQLite file as a feedback store
SCHEMA_VERSION = 2
# What SQLite calls can raise on a bad file: its own errors, and UnicodeDecodeError when the text
# it hands back (a stored string, or an error message quoting a damaged schema) is not UTF-8.
_SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)

_SCHEMA = (  # run statement by statement: executescript() would commit the open transaction
    """CREATE TABLE drawings (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        created_utc   TEXT    NOT NULL,
        source        TEXT    NOT NULL,
        label         INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        predicted     INTEGER CHECK (predicted BETWEEN 0 AND 9),
        confidence    REAL    CHECK (confidence BETWEEN 0.0 AND 1.0),
        image         BLOB    NOT NULL CHECK (length(image) = 784),
        strokes       TEXT,
        canvas_width  INTEGER,
        canvas_height INTEGER)""",
    """CREATE TABLE retractions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        drawing_id  INTEGER NOT NULL UNIQUE REFERENCES drawings (id),
        created_utc TEXT    NOT NULL,
        reason      TEXT)""",
    *(f"""CREATE TRIGGER {table}_no_{op} BEFORE {op.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the feedback store is append-only'); END"""
      for table in ("drawings", "retractions") for op in ("update", "delete")),
)

_MIGRATIONS = {  # version -> the statements that take a store from it to version + 1
    1: (
        """CREATE TABLE retrains (
            id              INTEGER PRIMARY KEY AUTOINCREMENT,
            created_utc     TEXT    NOT NULL,
            last_drawing_id INTEGER NOT NULL CHECK (last_drawing_id >= 0),
            n_drawings      INTEGER NOT NULL CHECK (n_drawings >= 0),
            details         TEXT)""",
        *(f"""CREATE TRIGGER retrains_no_{op} BEFORE {op.upper()} ON retrains
            BEGIN SELECT RAISE(ABORT, 'the feedback store is append-only'); END"""
          for op in ("update", "delete")),
    ),
}

_INSERT = (
    "INSERT INTO drawings (created_utc, source, label, predicted, confidence, image, strokes,"
    " canvas_width, canvas_height) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT d.id, d.image, d.label, d.predicted, d.confidence, d.created_utc, d.source, d.strokes,"
    " d.canvas_width, d.canvas_height, r.created_utc FROM drawings d"
    " LEFT JOIN retractions r ON r.drawing_id = d.id"
)
_LIVE = "NOT EXISTS (SELECT 1 FROM retractions r WHERE r.drawing_id = d.id)"


class FeedbackStoreError(Exception):
    """The file cannot be used as a feedback store (not SQLite, another database, newer schema)."""


@dataclass(frozen=True, eq=False)
class FeedbackRecord:
    """One saved drawing, as read back from the store."""

    id: int  # record id, increasing in save order
    image: np.ndarray = field(repr=False)  # (28, 28) uint8 in 0..255, ink bright on dark (as MNIST)
    label: int  # the true digit, 0..9
    predicted: int | None  # the network's guess when it was saved
    confidence: float | None  # the probability of that guess, in [0, 1]
    created_utc: str  # ISO 8601 UTC timestamp of the save
    source: str  # "drawing_pad", "csv:<file name>", ...
    strokes: list[list[list[float]]] | None = field(repr=False)  # [x, y] canvas points or None
    canvas_size: tuple[int, int] | None  # (width, height) in px, None if unknown
    retracted_utc: str | None = None  # when it was retracted (undone), None while it counts

    @property
    def retracted(self) -> bool:
        return self.retracted_utc is not None

    def pixels(self) -> np.ndarray:
        """The image as the network sees it: ``(784,) float32 in [0, 1]``."""
        return self.image.reshape(784).astype(np.float32) / np.float32(255)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _check_digit(value, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int 0..9, got {value!r}")
    if not 0 <= value <= 9:
        raise ValueError(f"{name} must be in 0..9, got {value}")
    return int(value)


def image_to_uint8(image) -> np.ndarray:
    """Validate a digit image and convert it to the stored form.

    Parameters
    ----------
    image : (28, 28) or (784,) array, uint8 in 0..255 or float in [0, 1] (ink bright on dark)

    Returns
    -------
    (784,) uint8 in 0..255 ; floats are scaled by 255 and rounded (values within 1e-6 outside
    [0, 1] are clipped).
    """
    a = np.asarray(image)
    if a.shape not in {(28, 28), (784,)}:
        raise ValueError(f"image must have shape (28, 28) or (784,), got {a.shape}")
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a.reshape(784))
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"image must be uint8 0..255 or float in [0, 1], got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise ValueError("image contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"float image must be in [0, 1], got values in [{lo:g}, {hi:g}]")
    return np.rint(np.clip(a.reshape(784), 0, 1) * 255).astype(np.uint8)


def _strokes_json(strokes) -> str | None:
    """``None`` or strokes (each a sequence of [x, y] points) as compact JSON, validated."""
    if strokes is None:
        return None
    out = []
    for i, stroke in enumerate(strokes):
        pts = np.asarray(stroke, dtype=np.float64)
        if pts.size == 0:
            pts = pts.reshape(0, 2)
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"stroke {i} must be a list of [x, y] points, got shape {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise ValueError(f"stroke {i} contains NaN or infinite coordinates")
        out.append(pts.tolist())
    return json.dumps(out, separators=(",", ":"))


def _check_canvas(canvas_size) -> tuple[int | None, int | None]:
    if canvas_size is None:
        return None, None
    try:
        w, h = canvas_size
        ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                 for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"canvas_size must be (width, height) positive ints, got {canvas_size!r}")
    return int(w), int(h)


class FeedbackStore:
    """Append-only store of labelled drawings in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The SQLite file; default ``mnist_scratch.paths.feedback_db()``. Nothing is created until the
        first save (its parent folder included); reading a missing store gives an empty store.
    timeout : float
        Seconds a save waits for another process's save before giving up.

    Raises
    ------
    FeedbackStoreError
        If ``path`` exists but is not a feedback store, or was written by a newer schema.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 30.0):
        path = paths.feedback_db() if path is None else Path(path).expanduser()
        self.path = Path(os.path.abspath(path))
        self.timeout = float(timeout)
        self._lock = threading.RLock()  # one transaction at a time on the shared connection
        self._con: sqlite3.Connection | None = None  # opened on first use, kept open
        self._file_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the file _con has open
        self._read_only = False  # True when the file could only be opened for reading
        with self._read() as con:  # opening an existing file validates it
            old = con is not None and self._check_header(con) < SCHEMA_VERSION
        if old and not self._read_only:
            self._upgrade()

    def __repr__(self) -> str:
        return f"FeedbackStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection (it is reopened when needed)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ connections
    # One connection stays open: closing the last connection to a WAL database checkpoints it,
    # which would make every save several times slower.
    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def _connection(self, create: bool) -> tuple[sqlite3.Connection | None, int]:
        """The open connection and schema version (0 for a new, empty file), or (None, 0) when
        there is no file and ``create`` is False. The caller holds ``self._lock``."""
        file_id = self._file_identity()
        if self._con is not None and (file_id != self._file_id or (create and self._read_only)):
            self.close()  # deleted or replaced, or open read-only and now asked to write: reopen
            self._read_only = False
        if self._con is None:
            if file_id is None and not create:
                return None, 0
            self._con = self._open(create)
            self._file_id = self._file_identity()
        return self._con, self._check_header(self._con)

    def _open(self, create: bool) -> sqlite3.Connection:
        if self.path.is_dir():
            raise FeedbackStoreError(f"{self.path} is a folder, not a feedback store file")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # Reading works on a store that cannot be written (a read-only file, or a read-only folder,
        # where WAL's side files cannot be made): then the file is opened read-only, and as
        # immutable if even that needs the side files.
        modes = ["rwc"] if create else ["rw", "ro", "ro&immutable=1"]
        con = None
        for mode in modes:
            try:
                con = sqlite3.connect(f"{self.path.as_uri()}?mode={mode}", uri=True, timeout=self.timeout,
                                      isolation_level=None, check_same_thread=False)
                self._check_header(con)
            except _SQLITE_ERRORS as e:
                if con is not None:
                    con.close()
                    con = None
                if mode == modes[-1]:
                    raise self._explain(e, "open it") from e
                continue
            except BaseException:
                if con is not None:
                    con.close()
                raise
            self._read_only = mode != modes[0] and not create
            break
        try:
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA synchronous = FULL")  # a reported save survives even power loss
        except BaseException:
            con.close()
            raise
        return con

    def _check_header(self, con: sqlite3.Connection) -> int:
        """Return the schema version (0 = empty file) or raise if this is not a feedback store."""
        try:
            # One statement, so one snapshot: read separately, the three could straddle another
            # process's commit of a new store (application_id still 0, tables already there).
            app_id, version, n_objects = con.execute(
                "SELECT (SELECT application_id FROM pragma_application_id()),"
                " (SELECT user_version FROM pragma_user_version()),"
                " (SELECT count(*) FROM sqlite_master)").fetchone()
        except sqlite3.OperationalError:
            raise  # could not read it now (locked, read-only side files, ...): not a verdict on the file
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:  # (SQLite's message quoting a damaged schema)
            raise FeedbackStoreError(
                f"{self.path} is not a feedback store, or a damaged one (SQLite says: {e})") from e
        if app_id == 0 and version == 0 and n_objects == 0:
            return 0
        if app_id != APPLICATION_ID:
            raise FeedbackStoreError(
                f"{self.path} is an SQLite database but not a feedback store "
                f"(application_id {app_id:#x}, expected {APPLICATION_ID:#x})"
            )
        if version > SCHEMA_VERSION:
            raise FeedbackStoreError(
                f"{self.path} has schema version {version}, newer than this mnist_scratch "
                f"understands ({SCHEMA_VERSION}); upgrade mnist_scratch to read it"
            )
        if version < 1:
            raise FeedbackStoreError(f"{self.path} has an invalid schema version {version}")
        return version

    @staticmethod
    def _migrate(con: sqlite3.Connection, version: int) -> None:
        """Bring a store from schema ``version`` to ``SCHEMA_VERSION`` inside the caller's
        transaction (statements that only add tables: drawings are never touched)."""
        for v in range(version, SCHEMA_VERSION):
            for statement in _MIGRATIONS[v]:
                con.execute(statement)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _upgrade(self) -> None:
        """Upgrade an older store on open; a store that cannot be written stays readable as is."""
        try:
            with self._write():
                pass  # _write migrates (and so does every later save, if this one cannot)
        except FeedbackStoreError:
            pass  # cannot be written now (read-only, locked): it is read as it is

    def _ensure_wal(self, con: sqlite3.Connection) -> None:
        # Switching to WAL needs an exclusive lock and SQLite does not wait for it, so retry.
        deadline = time.monotonic() + self.timeout
        while con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            try:
                con.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _explain(self, error: sqlite3.Error | UnicodeDecodeError, doing: str) -> FeedbackStoreError:
        """A one-line :class:`FeedbackStoreError` for an SQLite error: the file, what happened, what to do."""
        text = str(error)
        lowered = "malformed: " + text if isinstance(error, UnicodeDecodeError) else text.lower()
        if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
            advice = ("the file or its folder cannot be written (read-only?): saved drawings can still "
                      "be listed and exported; to save new ones, make it writable or use another --store")
        elif "full" in lowered:
            advice = "the disk is full: free some space and save again (the drawings saved before are intact)"
        elif "malformed" in lowered or "not a database" in lowered or "i/o" in lowered or "corrupt" in lowered:
            advice = ("the file is damaged: keep a copy of it, then export what can be read "
                      "(python -m mnist_scratch feedback export FILE.csv) into a new store")
        elif "locked" in lowered or "busy" in lowered:
            advice = "another program kept the store locked too long: try again"
        else:
            advice = "SQLite could not do it"
        return FeedbackStoreError(f"feedback store {self.path}: could not {doing}: {advice} (SQLite: {text})")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """The connection for reading, or None when there is no store (yet)."""
        with self._lock:
            try:
                con, version = self._connection(create=False)
                yield con if version else None  # version 0: another process is creating the store
            except _SQLITE_ERRORS as e:
                raise self._explain(e, "read the saved drawings") from e

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), creating the store if needed."""
        with self._lock:
            try:
                con, _ = self._connection(create=True)
                self._ensure_wal(con)
                con.execute("BEGIN IMMEDIATE")
            except _SQLITE_ERRORS as e:
                raise self._explain(e, "save") from e
            try:
                version = self._check_header(con)
                if version == 0:  # first save ever: create the schema
                    for statement in _SCHEMA:
                        con.execute(statement)
                    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    version = 1
                if version < SCHEMA_VERSION:
                    self._migrate(con, version)
                yield con
                con.execute("COMMIT")
            except BaseException as e:
                if con.in_transaction:
                    try:
                        con.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # SQLite rolls back by itself when a statement fails this way
                if isinstance(e, _SQLITE_ERRORS):
                    raise self._explain(e, "save") from e
                raise

    # ------------------------------------------------------------------ writing
    def add(self, image, label: int, *, strokes=None, predicted: int | None = None,
            confidence: float | None = None, source: str = "drawing_pad",
            canvas_size: tuple[int, int] | None = (280, 280)) -> int:
        """Save one labelled drawing and return its record id.

        Parameters
        ----------
        image : (28, 28) or (784,) uint8 in 0..255 or float in [0, 1]
            The preprocessed digit, ink bright on dark (what the network received).
        label : int in 0..9
            The true digit.
        strokes : list of strokes, each a list of [x, y] floats, optional
            The raw pointer coordinates on the canvas; ``None`` when unknown.
        predicted, confidence : int in 0..9 and float in [0, 1], optional
            The network's guess and its probability at save time.
        source : str
            Where the drawing comes from, e.g. ``"drawing_pad"`` or ``"csv:data.csv"``.
        canvas_size : (width, height) positive ints, optional
        """
        row = self._row(image, label, strokes, predicted, confidence, source, canvas_size)
        with self._write() as con:
            return con.execute(_INSERT, row).lastrowid

    @staticmethod
    def _row(image, label, strokes, predicted, confidence, source, canvas_size) -> tuple:
        pixels = image_to_uint8(image)
        label = _check_digit(label, "label")
        predicted = _check_digit(predicted, "predicted", allow_none=True)
        if confidence is not None:
            if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.number)):
                raise ValueError(
                    f"confidence must be a float in [0, 1] or None, got {confidence!r}")
            confidence = float(confidence)
            if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
                raise ValueError(f"confidence must be in [0, 1], got {confidence}")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be a non-empty string, got {source!r}")
        width, height = _check_canvas(canvas_size)
        return (_now(), source, label, predicted, confidence, pixels.tobytes(),
                _strokes_json(strokes), width, height)

    def retract(self, record_id: int, *, reason: str | None = None) -> FeedbackRecord:
        """Mark a record as no longer counting (it stays in the file) and return it (now with
        ``retracted`` True). Raises ValueError if the id does not exist or is already retracted."""
        if isinstance(record_id, bool) or not isinstance(record_id, (int, np.integer)):
            raise ValueError(f"record_id must be an int, got {record_id!r}")
        with self._write() as con:
            return self._retract(con, int(record_id), reason)

    def _retract(self, con: sqlite3.Connection, record_id: int,
                 reason: str | None) -> FeedbackRecord:
        if con.execute("SELECT 1 FROM drawings WHERE id = ?", (record_id,)).fetchone() is None:
            raise ValueError(f"no record with id {record_id} in {self.path}")
        done = con.execute("SELECT created_utc FROM retractions WHERE drawing_id = ?",
                           (record_id,)).fetchone()
        if done is not None:
            raise ValueError(f"record {record_id} was already retracted at {done[0]}")
        con.execute("INSERT INTO retractions (drawing_id, created_utc, reason) VALUES (?, ?, ?)",
                    (record_id, _now(), reason))
        return self._record(con.execute(_SELECT + " WHERE d.id = ?", (record_id,)).fetchone())

    def undo_last(self, source: str | None = None) -> FeedbackRecord | None:
        """Retract the newest live record (of ``source`` if given) and return it (now with
        ``retracted`` True), or return None when there is nothing to undo."""
        if not self.path.exists():
            return None
        sql, args = f"SELECT max(d.id) FROM drawings d WHERE {_LIVE}", ()
        if source is not None:
            sql, args = sql + " AND d.source = ?", (source,)
        with self._write() as con:
            row = con.execute(sql, args).fetchone()
            if row[0] is None:
                return None
            return self._retract(con, row[0], "undo")

    # ------------------------------------------------------------------ reading
    def _check_row(self, rid, image, label) -> None:
        """Refuse a row a damaged file returned (SQLite reads some damage as NULL or short values)."""
        if not isinstance(image, bytes) or len(image) != 784 or type(label) is not int or not 0 <= label <= 9:
            raise FeedbackStoreError(
                f"feedback store {self.path}: record {rid} is damaged (the file is corrupted): keep a copy of "
                f"the file; the other drawings can be exported with python -m mnist_scratch feedback export")

    def _record(self, row) -> FeedbackRecord:
        rid, image, label, pred, conf, created, source, strokes, w, h, retracted = row
        self._check_row(rid, image, label)
        try:
            strokes = None if strokes is None else json.loads(strokes)
        except (ValueError, TypeError, RecursionError):
            strokes = None  # the strokes are a convenience; the image is the record
        return FeedbackRecord(
            id=rid, image=np.frombuffer(image, dtype=np.uint8).reshape(28, 28).copy(), label=label,
            predicted=pred, confidence=conf, created_utc=created, source=source,
            strokes=strokes, canvas_size=None if w is None else (w, h), retracted_utc=retracted,
        )

    def records(self, include_retracted: bool = False) -> list[FeedbackRecord]:
        """All live records (or all records) in save order."""
        with self._read() as con:
            if con is None:
                return []
            sql = _SELECT + ("" if include_retracted else f" WHERE {_LIVE}") + " ORDER BY d.id"
            return [self._record(row) for row in con.execute(sql)]

    def counts(self) -> dict[int, int]:
        """Live records per digit, ``{0: n0, ..., 9: n9}`` (every digit present)."""
        out = dict.fromkeys(range(10), 0)
        with self._read() as con:
            if con is not None:
                sql = f"SELECT label, count(*) FROM drawings d WHERE {_LIVE} GROUP BY label"
                out.update(dict(con.execute(sql).fetchall()))
        return out

    def __len__(self) -> int:
        return sum(self.counts().values())

    def _load_uint8(self) -> tuple[np.ndarray, np.ndarray]:
        with self._read() as con:
            rows = [] if con is None else con.execute(
                f"SELECT id, image, label FROM drawings d WHERE {_LIVE} ORDER BY d.id").fetchall()
        for row in rows:
            self._check_row(*row)
        x = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(rows), 784)
        return x, np.array([r[2] for r in rows], dtype=np.int64)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The live drawings in the form of ``load_mnist``.

        Returns
        -------
        x : (N, 784) float32 in [0, 1]
        y : (N,) int64 in 0..9
        """
        x, y = self._load_uint8()
        return x.astype(np.float32) / np.float32(255), y

    # ------------------------------------------------------------------ CSV
    def export_csv(self, path: str | os.PathLike) -> int:
        """Write the live drawings as ``label,pixel0,...,pixel783`` CSV (integers 0..255), replacing
        ``path`` atomically (its folder is created if missing). Returns the number of digits
        written."""
        x, y = self._load_uint8()
        table = np.concatenate([y[:, None], x.astype(np.int64)], axis=1)  # (N, 785)
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            np.savetxt(f, table, fmt="%d", delimiter=",", header=CSV_HEADER, comments="")
        return len(y)

    def import_csv(self, path: str | os.PathLike, source: str | None = None) -> int:
        """Add the digits of a ``label,pixel0,...,pixel783`` CSV file in one transaction (all or
        nothing) and return how many were added (see :meth:`add_images` for what is skipped).
        ``source`` defaults to ``"csv:<file name>"``. Raises ValueError naming the file, line and
        problem for a malformed file."""
        path = Path(path)
        x, y = read_csv(path)
        return self.add_images(x, y, source=f"csv:{path.name}" if source is None else source)

    def add_images(self, x: np.ndarray, y: np.ndarray, source: str) -> int:
        """Add many digits in one transaction and return how many were added.

        x : (N, 784) uint8 in 0..255;  y : (N,) int in 0..9
        A digit already in the store (a live drawing with the same label and the same 784 pixels)
        or repeated earlier in ``x`` is skipped, so importing a file twice adds nothing the second
        time.
        """
        x = np.asarray(x)
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 784:
            raise ValueError(f"expected x: (N, 784) uint8, got {x.shape} {x.dtype}")
        y = check_labels(y, len(x))
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"source must be a non-empty string, got {source!r}")
        if len(y) == 0:
            return 0
        now = _now()
        with self._write() as con:
            seen = set(con.execute(f"SELECT label, image FROM drawings d WHERE {_LIVE}").fetchall())
            rows = []
            for image, label in zip(x, y):
                key = (int(label), image.tobytes())
                if key not in seen:
                    seen.add(key)
                    rows.append((now, source, key[0], None, None, key[1], None, None, None))
            con.executemany(_INSERT, rows)
        return len(rows)

    # ------------------------------------------------------------------ honest accuracy
    def load_with_last_id(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Like :meth:`load`, plus the id of the newest drawing loaded (0 when there is none), read
        in one query: pass it to :meth:`mark_retrain` so a drawing saved while the network was
        training is not counted as learned from."""
        with self._read() as con:
            rows = [] if con is None else con.execute(
                f"SELECT image, label, d.id FROM drawings d WHERE {_LIVE} ORDER BY d.id").fetchall()
        x = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.uint8).reshape(len(rows), 784)
        y = np.array([r[1] for r in rows], dtype=np.int64)
        return x.astype(np.float32) / np.float32(255), y, (rows[-1][2] if rows else 0)

    def mark_retrain(self, *, n_drawings: int | None = None, last_drawing_id: int | None = None,
                     details: dict | None = None) -> int:
        """Record that a network was retrained on the store's drawings; returns the mark's id.

        ``last_drawing_id`` is the newest drawing it learned from (default: the newest live one
        now), ``n_drawings`` how many (default: the live drawings up to it). ``details`` is any
        JSON-serialisable dict (e.g. MNIST accuracy before and after, the checkpoint's file name).
        Drawings saved after the mark are ones the retrained network has not seen:
        :meth:`running_accuracy` counts them apart.
        """
        text = None if details is None else json.dumps(details, sort_keys=True)
        with self._write() as con:
            if last_drawing_id is None:
                last_drawing_id = con.execute(
                    f"SELECT coalesce(max(d.id), 0) FROM drawings d WHERE {_LIVE}").fetchone()[0]
            if isinstance(last_drawing_id, bool) or not isinstance(last_drawing_id, (int, np.integer)) \
                    or last_drawing_id < 0:
                raise ValueError(f"last_drawing_id must be an int >= 0, got {last_drawing_id!r}")
            if n_drawings is None:
                n_drawings = con.execute(f"SELECT count(*) FROM drawings d WHERE {_LIVE} AND d.id <= ?",
                                         (int(last_drawing_id),)).fetchone()[0]
            if isinstance(n_drawings, bool) or not isinstance(n_drawings, (int, np.integer)) or n_drawings < 0:
                raise ValueError(f"n_drawings must be an int >= 0, got {n_drawings!r}")
            return con.execute(
                "INSERT INTO retrains (created_utc, last_drawing_id, n_drawings, details) VALUES (?, ?, ?, ?)",
                (_now(), int(last_drawing_id), int(n_drawings), text)).lastrowid

    def retrains(self) -> list[RetrainMark]:
        """Every retrain mark, oldest first (empty for a store that was never retrained)."""
        with self._read() as con:
            if con is None or self._check_header(con) < 2:
                return []
            rows = con.execute("SELECT id, created_utc, last_drawing_id, n_drawings, details"
                               " FROM retrains ORDER BY id").fetchall()
        return [RetrainMark(i, created, last, n, {} if details is None else json.loads(details))
                for i, created, last, n, details in rows]

    def running_accuracy(self, last: int = 20) -> RunningAccuracy:
        """How often the network was right on the user's drawings, before each label was given.

        Counts the live drawings whose prediction was recorded when they were saved (imported
        CSV digits have none): the newest ``last`` of them, and all of them saved after the latest
        retrain mark. Neither figure uses a drawing the network had learned from when it guessed.
        """
        if isinstance(last, bool) or not isinstance(last, (int, np.integer)) or last < 1:
            raise ValueError(f"last must be a positive int, got {last!r}")
        marks = self.retrains()
        since = marks[-1].last_drawing_id if marks else 0
        with self._read() as con:
            rows = [] if con is None else con.execute(
                f"SELECT d.id, d.label = d.predicted FROM drawings d WHERE {_LIVE}"
                " AND d.predicted IS NOT NULL ORDER BY d.id").fetchall()
        recent = rows[-int(last):]
        after = [hit for rid, hit in rows if rid > since]
        return RunningAccuracy(last=int(last), recent_total=len(recent),
                               recent_correct=sum(hit for _, hit in recent),
                               since_retrain_total=len(after), since_retrain_correct=sum(after),
                               retrains=len(marks))


def summarize_counts(counts: dict[int, int]) -> str:
    """A small text table of saved drawings per digit, with the total."""
    width = max(8, len(str(sum(counts.values()))))
    lines = [f"digit  {'drawings':>{width}}"]
    lines += [f"{d:>5}  {counts.get(d, 0):>{width}}" for d in range(10)]
    lines.append(f"total  {sum(counts.get(d, 0) for d in range(10)):>{width}}")
    return "\n".join(lines)

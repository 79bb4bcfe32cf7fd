"""Digits as CSV files, in the Kaggle/classic layout the feedback store exports and imports.

A ``label,pixel0,...,pixel783`` header, then one digit per line as integers: the label 0..9, then
the 784 pixels 0..255 (pixel ``k`` is row ``k // 28``, column ``k % 28``). Reading checks every
field and names the file, the line and the column of the first problem.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

CSV_HEADER = "label," + ",".join(f"pixel{k}" for k in range(784))
_INT_FIELD = re.compile(r"\s*[+-]?\d+\s*")


def read_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse and validate a Kaggle/classic digit CSV file.

    Returns
    -------
    x : (N, 784) uint8 in 0..255
    y : (N,) int64 in 0..9
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ValueError(f"{path}, line {line}, column {column}: byte {raw[e.start]:#04x} is not UTF-8 text "
                         f"(a CSV of digits holds only numbers and commas; save it as UTF-8)") from None
    if not lines or not lines[0].strip():
        raise ValueError(f"{path}: empty file, expected the header {CSV_HEADER[:30]}...")
    header = [h.strip().strip('"') for h in lines[0].split(",")]
    if header != CSV_HEADER.split(","):
        if header and header[0] == "pixel0":
            problem = ("it has no 'label' column "
                       "(Kaggle's test.csv is unlabelled and cannot be imported)")
        else:
            problem = f"it starts {','.join(header[:3])!r} and has {len(header)} columns"
        raise ValueError(
            f"{path}, line 1: expected the header label,pixel0,...,pixel783 but {problem}")
    numbers = [i for i in range(1, len(lines)) if lines[i].strip()]  # 0-based indices of data lines
    body = [lines[i] for i in numbers]
    for i, line in zip(numbers, body):
        if line.count(",") != 784:
            raise ValueError(
                f"{path}, line {i + 1}: expected 785 columns, found {line.count(',') + 1}")
    if not body:
        return np.zeros((0, 784), np.uint8), np.zeros(0, np.int64)
    # Every message names the file, the 1-based line and the 1-based column (column 1 is the label).
    def where(row: int, col: int) -> str:
        return f"{path}, line {numbers[row] + 1}, column {col + 1}"

    try:
        table = np.loadtxt(body, delimiter=",", dtype=np.int64, comments=None, ndmin=2)  # (N, 785)
    except (ValueError, OverflowError):
        for row, line in enumerate(body):
            for col, text in enumerate(line.split(",")):
                if not _INT_FIELD.fullmatch(text):
                    raise ValueError(f"{where(row, col)}: {text.strip()[:20]!r} is not an integer") from None
                if not -2**62 < int(text) < 2**62:
                    raise ValueError(f"{where(row, col)}: {text.strip()[:30]} is outside "
                                     f"{'0..9' if col == 0 else '0..255'}") from None
        raise ValueError(f"{path}: not a CSV of integers") from None
    bad_label = np.flatnonzero((table[:, 0] < 0) | (table[:, 0] > 9))
    if bad_label.size:
        r = bad_label[0]
        raise ValueError(f"{where(r, 0)}: label {table[r, 0]} is not a digit 0..9")
    bad_pixel = np.argwhere((table[:, 1:] < 0) | (table[:, 1:] > 255))
    if bad_pixel.size:
        r, c = bad_pixel[0]
        raise ValueError(f"{where(r, c + 1)}: pixel{c} = {table[r, c + 1]} is outside 0..255")
    return table[:, 1:].astype(np.uint8), table[:, 0].astype(np.int64)

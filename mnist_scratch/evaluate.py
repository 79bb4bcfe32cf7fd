"""Evaluation metrics for a digit classifier: accuracy, per-digit scores, confusion, calibration.

Everything here is plain NumPy on arrays of predictions, so it works for any model that has a
``predict_proba(x) -> (N, 10)`` method and for probabilities computed elsewhere.

Conventions
-----------
* ``confusion[i, j]`` counts the examples whose **true** digit is ``i`` and whose **predicted**
  digit is ``j`` (rows true, columns predicted); the diagonal holds the correct predictions.
* Per-digit accuracy of digit ``k`` is the fraction of the examples of digit ``k`` that the model
  classifies correctly, ``confusion[k, k] / confusion[k].sum()``: that is the recall of ``k``
  (``EvaluationReport.recall``).
* Precision of digit ``k`` is ``confusion[k, k] / confusion[:, k].sum()``. When the model never
  predicts ``k`` that is 0 / 0: it is **NaN** (undefined), not 0, so an averaging caller has to
  decide explicitly (``np.nanmean``). Likewise recall / per-digit accuracy is NaN for a digit
  with no examples.
* Confidence is the largest predicted probability of a row. The expected calibration error
  (ECE) splits ``[0, 1]`` into ``n_bins`` equal-width bins ``(lo, hi]`` (the first bin also
  holds 0) and averages ``|accuracy - confidence|`` over the bins, weighted by their counts:

  .. math:: \\mathrm{ECE} = \\sum_b \\frac{n_b}{N} \\left| \\mathrm{acc}_b - \\mathrm{conf}_b \\right|
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import check_labels

N_CLASSES = 10


def _check_labels(y, name: str, n_classes: int) -> np.ndarray:
    """``y`` as (N,) int64 labels in ``0 .. n_classes - 1`` (the network's one label check), or a
    ValueError that names the argument."""
    try:
        return check_labels(y, classes=n_classes)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _check_proba(proba: np.ndarray, y=None, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Check predicted probabilities (and their labels) once.

    Returns ``(proba, y)``: ``proba`` as a 2-D float array of probabilities (finite, in [0, 1],
    ``n_classes`` columns if given), ``y`` (if given) as labels for its columns, one per row.
    """
    proba = np.asarray(proba)
    if proba.ndim != 2:
        raise ValueError(f"proba must be 2-D (N, n_classes), got shape {proba.shape}")
    if not np.issubdtype(proba.dtype, np.floating):
        raise ValueError(f"proba must be floating point, got dtype {proba.dtype}")
    if n_classes is not None and proba.shape[1] != n_classes:
        raise ValueError(f"proba must have {n_classes} columns (one per digit), got {proba.shape}")
    if proba.size and not np.all(np.isfinite(proba)):
        raise ValueError("proba contains NaN or infinite values (did training diverge?)")
    if proba.size and (proba.min() < 0 or proba.max() > 1 + 1e-6):
        raise ValueError(
            f"proba must hold probabilities in [0, 1] (not logits), "
            f"got values in [{proba.min():g}, {proba.max():g}]"
        )
    if y is not None:
        y = _check_labels(y, "y", proba.shape[1])
        if len(y) != len(proba):
            raise ValueError(f"proba has {len(proba)} rows but y has {len(y)} labels")
    return proba, y


def confusion_matrix(y_true, y_pred, n_classes: int = N_CLASSES) -> np.ndarray:
    """Count (true, predicted) pairs.

    Parameters
    ----------
    y_true, y_pred : (N,) int in [0, n_classes)
    n_classes : int

    Returns
    -------
    confusion : (n_classes, n_classes) int64
        ``confusion[i, j]`` = number of examples of true class ``i`` predicted as ``j``.
    """
    y_true = _check_labels(y_true, "y_true", n_classes)
    y_pred = _check_labels(y_pred, "y_pred", n_classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    # Each pair (i, j) gets the flat index i * C + j; one bincount counts them all.
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall from a confusion matrix.

    Parameters
    ----------
    confusion : (C, C) int, rows true, columns predicted

    Returns
    -------
    precision, recall : (C,) float64 in [0, 1]; NaN where undefined (class never predicted /
        class absent from the data).
    """
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square (C, C) matrix, got shape {confusion.shape}")
    diag = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)  # (C,) how often each class was predicted
    actual = confusion.sum(axis=1)  # (C,) how many examples of each class
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, diag / predicted, np.nan)
        recall = np.where(actual > 0, diag / actual, np.nan)
    return precision, recall


@dataclass(frozen=True)
class ReliabilityBins:
    """Calibration statistics per confidence bin (see :func:`reliability_bins`).

    Attributes
    ----------
    edges : (n_bins + 1,) float64, ``0, 1/n_bins, ..., 1``
    confidence : (n_bins,) float64, mean confidence in the bin (NaN for an empty bin)
    accuracy : (n_bins,) float64, fraction correct in the bin (NaN for an empty bin)
    count : (n_bins,) int64, examples in the bin
    """

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def reliability_bins(proba, y, n_bins: int = 15) -> ReliabilityBins:
    """Bin the examples by confidence and measure accuracy in each bin.

    Parameters
    ----------
    proba : (N, C) float, rows are predicted probabilities
    y : (N,) int in [0, C), true labels
    n_bins : int >= 1, number of equal-width bins over [0, 1]

    Returns
    -------
    ReliabilityBins
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    n_bins = int(n_bins)
    proba, y = _check_proba(proba, y)
    confidence = proba.max(axis=1).astype(np.float64)  # (N,)
    correct = (proba.argmax(axis=1) == y).astype(np.float64)  # (N,)
    # Bin b holds confidences in (b / n_bins, (b + 1) / n_bins]; 0 goes into bin 0.
    idx = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.int64)
    conf_sum = np.bincount(idx, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=correct, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, conf_sum / count, np.nan)
        mean_acc = np.where(count > 0, acc_sum / count, np.nan)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return ReliabilityBins(edges=edges, confidence=mean_conf, accuracy=mean_acc, count=count)


def expected_calibration_error(proba, y, n_bins: int = 15) -> float:
    """Expected calibration error: count-weighted mean of ``|accuracy - confidence|`` per bin.

    Parameters
    ----------
    proba : (N, C) float, predicted probabilities
    y : (N,) int, true labels
    n_bins : int

    Returns
    -------
    float in [0, 1]; 0 means perfectly calibrated on these bins.
    """
    bins = reliability_bins(proba, y, n_bins)
    n = bins.count.sum()
    if n == 0:
        raise ValueError("expected_calibration_error needs at least one example")
    full = bins.count > 0
    gap = np.abs(bins.accuracy[full] - bins.confidence[full])
    return float(np.sum(bins.count[full] / n * gap))


def most_confident_mistakes(proba, y, n: int) -> np.ndarray:
    """Indices of the misclassified examples the model was most sure about.

    Parameters
    ----------
    proba : (N, C) float, predicted probabilities
    y : (N,) int, true labels
    n : int >= 0, how many to return (fewer if there are fewer mistakes)

    Returns
    -------
    indices : (min(n, n_mistakes),) int64, sorted by decreasing confidence
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    proba, y = _check_proba(proba, y)
    wrong = np.flatnonzero(proba.argmax(axis=1) != y)
    confidence = proba[wrong].max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    return wrong[order[: int(n)]].astype(np.int64)


@dataclass(frozen=True)
class EvaluationReport:
    """The evaluation of a classifier on a labelled data set (see :func:`evaluate`).

    Attributes
    ----------
    n : int, number of examples
    accuracy : float in [0, 1]
    precision : (10,) float64, NaN for a digit never predicted
    recall : (10,) float64, the accuracy on each digit; NaN for a digit absent from the data
    confusion : (10, 10) int64, rows true, columns predicted
    ece : float in [0, 1], expected calibration error
    """

    n: int
    accuracy: float
    precision: np.ndarray
    recall: np.ndarray
    confusion: np.ndarray
    ece: float

    @property
    def support(self) -> np.ndarray:
        """(10,) int64: number of examples of each true digit."""
        return self.confusion.sum(axis=1)


def evaluate(model_or_proba, x=None, y=None, n_bins: int = 15) -> EvaluationReport:
    """Evaluate a classifier (or its precomputed probabilities) on labelled data.

    Parameters
    ----------
    model_or_proba : object with ``predict_proba(x) -> (N, 10)``, or an (N, 10) float array of
        probabilities (then ``x`` is ignored and may be None)
    x : (N, 784) float32 in [0, 1], the inputs (needed for a model)
    y : (N,) int in [0, 9], true labels
    n_bins : int, bins for the calibration error

    Returns
    -------
    EvaluationReport
    """
    if y is None:
        raise ValueError("evaluate needs the true labels y")
    if hasattr(model_or_proba, "predict_proba"):
        if x is None:
            raise ValueError("evaluate needs the inputs x to run the model")
        proba = model_or_proba.predict_proba(x)
    else:
        proba = model_or_proba
    proba, y = _check_proba(proba, y, N_CLASSES)
    if len(y) == 0:
        raise ValueError("evaluate needs at least one example")
    pred = proba.argmax(axis=1)
    confusion = confusion_matrix(y, pred)
    precision, recall = precision_recall(confusion)
    return EvaluationReport(
        n=int(len(y)),
        accuracy=float(np.mean(pred == y)),
        precision=precision,
        recall=recall,
        confusion=confusion,
        ece=expected_calibration_error(proba, y, n_bins),
    )


def _fmt(value: float) -> str:
    """Format a fraction as a percentage, or ``n/a`` for NaN."""
    return "n/a" if np.isnan(value) else f"{100 * value:.2f}%"


def format_report(report: EvaluationReport) -> str:
    """An aligned text table: one row per digit, then overall accuracy and ECE.

    Parameters
    ----------
    report : EvaluationReport

    Returns
    -------
    str, several lines without a trailing newline
    """
    header = f"{'digit':>5}  {'count':>6}  {'precision':>9}  {'recall':>9}"
    lines = [header, "-" * len(header)]
    for k in range(len(report.recall)):
        lines.append(f"{k:>5}  {int(report.support[k]):>6}  {_fmt(report.precision[k]):>9}  {_fmt(report.recall[k]):>9}")
    lines.append("-" * len(header))
    lines.append(f"{'all':>5}  {report.n:>6}  accuracy {_fmt(report.accuracy)}")
    lines.append(f"expected calibration error (ECE): {report.ece:.4f}")
    return "\n".join(lines)

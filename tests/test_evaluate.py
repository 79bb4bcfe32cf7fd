"""Metrics of mnist_scratch.evaluate against small cases computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from mnist_scratch import evaluate as ev


def one_hot_proba(pred, confidence, n_classes=10):
    """(N, C) probabilities: ``confidence`` on ``pred``, the rest spread evenly."""
    pred = np.asarray(pred)
    confidence = np.broadcast_to(np.asarray(confidence, dtype=np.float64), pred.shape)
    proba = np.repeat(((1 - confidence) / (n_classes - 1))[:, None], n_classes, axis=1)
    proba[np.arange(len(pred)), pred] = confidence
    return proba


class ToyModel:
    """Anything with predict_proba is a model for evaluate()."""

    def __init__(self, proba):
        self.proba = proba
        self.seen = None

    def predict_proba(self, x):
        self.seen = x
        return self.proba


def test_confusion_matrix_hand_case():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    cm = ev.confusion_matrix(y_true, y_pred, n_classes=3)
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64


def test_confusion_matrix_default_shape_and_total():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 500)
    y_pred = rng.integers(0, 10, 500)
    cm = ev.confusion_matrix(y_true, y_pred)
    assert cm.shape == (10, 10)
    assert cm.sum() == 500
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y_true, minlength=10))
    np.testing.assert_array_equal(cm.sum(axis=0), np.bincount(y_pred, minlength=10))
    assert np.trace(cm) == np.sum(y_true == y_pred)


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([0, 1], [0], "has 2 labels but y_pred has 1"),
        ([[0, 1]], [[0, 1]], r"y_true: y must be \(N,\) integer labels"),
        ([0, 10], [0, 1], r"y_true: labels must be in 0\.\.9"),
        ([0, 1], [0, -1], r"y_pred: labels must be in 0\.\.9"),
        ([0.5, 1.0], [0, 1], "integer labels"),
        ([0.0, 1.0], [0, 1], "integer labels"),  # floats are refused even when whole numbers
    ],
)
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        ev.confusion_matrix(y_true, y_pred)


def test_precision_recall_hand_case_and_never_predicted_is_nan():
    cm = np.array([[3, 1, 0], [2, 2, 0], [1, 0, 0]])
    precision, recall = ev.precision_recall(cm)
    np.testing.assert_allclose(precision[:2], [3 / 6, 2 / 3])
    assert np.isnan(precision[2])  # class 2 is never predicted: 0 / 0
    np.testing.assert_allclose(recall, [3 / 4, 2 / 4, 0.0])


def test_recall_nan_for_absent_class():
    cm = np.array([[2, 0], [0, 0]])
    precision, recall = ev.precision_recall(cm)
    assert recall[0] == 1.0 and np.isnan(recall[1])
    assert precision[0] == 1.0 and np.isnan(precision[1])


def test_ece_zero_for_perfectly_calibrated_toy():
    # 10 examples at confidence 0.8, 8 of them right; 10 at 1.0, all right.
    y = np.zeros(20, dtype=np.int64)
    pred = np.array([0] * 8 + [1] * 2 + [0] * 10)
    conf = np.array([0.8] * 10 + [1.0] * 10)
    proba = one_hot_proba(pred, conf)
    assert ev.expected_calibration_error(proba, y) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_overconfident_toy():
    # All predictions at confidence 0.9, half right: gap 0.4 everywhere.
    y = np.zeros(10, dtype=np.int64)
    pred = np.array([0] * 5 + [3] * 5)
    proba = one_hot_proba(pred, 0.9)
    assert ev.expected_calibration_error(proba, y) == pytest.approx(0.4, abs=1e-12)


def test_ece_weights_bins_by_count():
    # 3 examples at 0.95 all right (gap 0.05), 1 example at 0.55 wrong (gap 0.55).
    y = np.array([1, 1, 1, 2])
    pred = np.array([1, 1, 1, 4])
    proba = one_hot_proba(pred, [0.95, 0.95, 0.95, 0.55])
    expected = 3 / 4 * 0.05 + 1 / 4 * 0.55
    assert ev.expected_calibration_error(proba, y, n_bins=10) == pytest.approx(expected, abs=1e-12)


def test_reliability_bins_contents():
    y = np.array([1, 1, 1, 2])
    proba = one_hot_proba([1, 1, 1, 4], [0.95, 0.95, 0.95, 0.55])
    bins = ev.reliability_bins(proba, y, n_bins=10)
    assert bins.edges.shape == (11,) and bins.count.shape == (10,)
    assert bins.count.sum() == 4
    assert bins.count[9] == 3 and bins.count[5] == 1
    assert bins.accuracy[9] == 1.0 and bins.accuracy[5] == 0.0
    assert bins.confidence[9] == pytest.approx(0.95)
    assert np.isnan(bins.accuracy[0]) and np.isnan(bins.confidence[0])


def test_reliability_bin_edges_are_right_closed():
    # Confidence exactly 0.5 goes in the bin (0.4, 0.5], confidence 1.0 in the last bin.
    proba = one_hot_proba([0, 0], [0.5, 1.0], n_classes=2)
    bins = ev.reliability_bins(proba, [0, 0], n_bins=10)
    assert bins.count[4] == 1 and bins.count[9] == 1


@pytest.mark.parametrize("n_bins", [0, -3, 2.5])
def test_reliability_bins_rejects_bad_n_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        ev.reliability_bins(one_hot_proba([0], 0.9), [0], n_bins=n_bins)


def test_most_confident_mistakes_order_and_limit():
    y = np.array([0, 1, 2, 3, 4, 5])
    pred = np.array([0, 2, 2, 9, 7, 1])  # mistakes at 1, 3, 4, 5
    conf = np.array([0.99, 0.6, 0.9, 0.95, 0.7, 0.95])
    proba = one_hot_proba(pred, conf)
    np.testing.assert_array_equal(ev.most_confident_mistakes(proba, y, 3), [3, 5, 4])
    np.testing.assert_array_equal(ev.most_confident_mistakes(proba, y, 100), [3, 5, 4, 1])
    assert ev.most_confident_mistakes(proba, y, 0).shape == (0,)
    assert ev.most_confident_mistakes(one_hot_proba(y, 0.9), y, 5).shape == (0,)


def test_evaluate_with_model_and_with_probabilities():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 10, 300)
    pred = np.where(rng.random(300) < 0.8, y, (y + 1) % 10)
    proba = one_hot_proba(pred, 0.8).astype(np.float32)
    x = rng.random((300, 784), dtype=np.float32)
    model = ToyModel(proba)
    report = ev.evaluate(model, x, y)
    assert model.seen is x
    assert report.n == 300
    assert report.accuracy == pytest.approx(np.mean(pred == y))
    np.testing.assert_array_equal(report.confusion, ev.confusion_matrix(y, pred))
    assert not hasattr(report, "per_digit_accuracy")  # the accuracy on digit k is recall[k]
    for k in range(10):
        np.testing.assert_allclose(report.recall[k], np.mean(pred[y == k] == k))
        np.testing.assert_allclose(report.precision[k], np.mean(y[pred == k] == k))
    assert report.ece == pytest.approx(abs(report.accuracy - 0.8), abs=1e-6)
    np.testing.assert_array_equal(report.support, np.bincount(y, minlength=10))
    same = ev.evaluate(proba, None, y)
    assert same.accuracy == report.accuracy and same.ece == report.ece


@pytest.mark.parametrize(
    "proba, y, match",
    [
        (np.full((3, 10), 0.1), [0, 1], "3 rows but y has 2"),
        (np.full((3, 9), 0.1), [0, 1, 2], "10 columns"),
        (np.full(10, 0.1), [0], "must be 2-D"),
        (np.full((2, 10), 0.1), [0, 12], r"labels must be in 0\.\.9"),
        (np.zeros((0, 10)), np.zeros(0, dtype=np.int64), "at least one example"),
        (np.full((2, 10), np.nan), [0, 1], "NaN or infinite"),
        (np.full((2, 10), np.inf), [0, 1], "NaN or infinite"),
        (np.arange(20.0).reshape(2, 10), [0, 1], r"probabilities in \[0, 1\] \(not logits\)"),
        (np.full((2, 10), -0.1), [0, 1], r"probabilities in \[0, 1\]"),
    ],
)
def test_evaluate_rejects_bad_shapes(proba, y, match):
    with pytest.raises(ValueError, match=match):
        ev.evaluate(proba, None, y)


def test_evaluate_model_needs_x():
    with pytest.raises(ValueError, match="needs the inputs x"):
        ev.evaluate(ToyModel(np.full((1, 10), 0.1)), None, [0])


def test_format_report_is_an_aligned_table():
    y = np.array([0, 0, 1, 1, 2])
    proba = one_hot_proba([0, 1, 1, 1, 1], 0.9)
    text = ev.format_report(ev.evaluate(proba, None, y))
    lines = text.splitlines()
    assert lines[0].split() == ["digit", "count", "precision", "recall"]  # recall = accuracy on the digit
    rows = lines[2:12]
    assert len({len(r) for r in rows}) == 1  # every digit row has the same width
    assert rows[0].split() == ["0", "2", "100.00%", "50.00%"]
    assert rows[2].split() == ["2", "1", "n/a", "0.00%"]  # 2 never predicted
    assert rows[5].split() == ["5", "0", "n/a", "n/a"]
    assert "60.00%" in text and "ECE" in text

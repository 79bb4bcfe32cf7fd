"""Every plot function returns a Figure with the expected panels and saves as a PNG."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless; the plots module itself never touches pyplot or the backend

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnist_scratch import evaluate as ev
from mnist_scratch import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def toy():
    """60 random 'digits', labels, and probabilities that are right about 70 % of the time."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 784), dtype=np.float32)
    y = np.arange(60) % 10
    logits = rng.normal(size=(60, 10)) + 3.0 * np.eye(10)[np.where(rng.random(60) < 0.7, y, (y + 3) % 10)]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return x, y, proba.astype(np.float32)


def n_images(fig: Figure) -> int:
    return sum(len(ax.images) for ax in fig.axes)


def assert_png(fig: Figure, path):
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=40)
    assert path.read_bytes()[:8] == PNG_MAGIC


def history(n, acc0=0.5):
    return [
        {"step": i, "epoch": i / 10, "loss": 2.0 / (i + 1), "train_acc": acc0 + i / 200,
         "val_acc": acc0 + i / 250, "lr": 0.1, "seconds": 0.05 * i}
        for i in range(n)
    ]


def test_plot_digits(toy, tmp_path):
    x, y, _ = toy
    fig = plots.plot_digits(x, y, n=12, ncols=5)
    assert len(fig.axes) == 12 and n_images(fig) == 12
    assert fig.axes[3].get_title() == str(y[3])
    assert_png(fig, tmp_path / "digits.png")


def test_plot_digits_accepts_28x28_and_rejects_other_shapes(toy):
    x, _, _ = toy
    assert n_images(plots.plot_digits(x.reshape(-1, 28, 28), n=3)) == 3
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        plots.plot_digits(np.zeros((4, 100)))
    assert n_images(plots.plot_digits(x, [7, 8, 9], n=3)) == 3  # labels for the shown ones suffice
    with pytest.raises(ValueError, match="only 2 labels"):
        plots.plot_digits(x, [7, 8], n=3)


def test_plot_mean_digits_and_pixel_statistics(toy, tmp_path):
    x, y, _ = toy
    fig = plots.plot_mean_digits(x, y)
    assert n_images(fig) == 10
    expected = x[y == 3].mean(axis=0).reshape(28, 28)
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), expected, rtol=1e-6)
    assert_png(fig, tmp_path / "mean.png")
    stats = plots.plot_pixel_statistics(x)
    assert n_images(stats) == 2  # mean and std images (plus histogram and two colorbars)
    assert_png(stats, tmp_path / "stats.png")
    with pytest.raises(ValueError, match="labels"):
        plots.plot_mean_digits(x, y[:5])


def test_plot_class_counts(toy, tmp_path):
    _, y, _ = toy
    fig = plots.plot_class_counts({"train": y, "val": y[:20]})
    (ax,) = fig.axes
    assert len(ax.patches) == 20  # 10 bars per split
    assert_png(fig, tmp_path / "counts.png")


def test_plot_preprocessing_steps(tmp_path):
    rng = np.random.default_rng(1)
    steps = {"canvas": rng.random((200, 200)), "cropped": rng.random((40, 31)), "28x28": rng.random((28, 28))}
    fig = plots.plot_preprocessing_steps(steps)
    assert n_images(fig) == 3
    assert [ax.get_title().splitlines()[0] for ax in fig.axes] == list(steps)
    assert_png(fig, tmp_path / "steps.png")
    with pytest.raises(ValueError, match="2-D image"):
        plots.plot_preprocessing_steps({"bad": np.zeros((2, 3, 4))})


def test_plot_per_digit_accuracy(toy, tmp_path):
    _, y, proba = toy
    report = ev.evaluate(proba, None, y)
    fig = plots.plot_per_digit_accuracy(report)
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, 100 * report.recall)  # the accuracy on digit k is its recall
    assert_png(fig, tmp_path / "per_digit.png")
    bottom = ax.get_ylim()[0]
    if bottom > 0:  # a zoomed axis says so
        assert f"starts at {bottom:.0f} %" in ax.get_title()
    with pytest.raises(ValueError, match=r"\(10,\)"):
        plots.plot_per_digit_accuracy(np.ones(9))


def test_plot_confusion_matrix(toy, tmp_path):
    _, y, proba = toy
    cm = ev.confusion_matrix(y, proba.argmax(axis=1))
    fig = plots.plot_confusion_matrix(cm)
    ax = fig.axes[0]
    assert len(ax.images) == 1
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 100 and texts[0] == str(cm[0, 0]) and texts[12] == str(cm[1, 2])
    assert_png(fig, tmp_path / "cm.png")
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((3, 4)))


def test_plot_confident_mistakes(toy, tmp_path):
    x, y, proba = toy
    n_wrong = int(np.sum(proba.argmax(axis=1) != y))
    assert n_wrong > 8
    fig = plots.plot_confident_mistakes(x, y, proba, n=8)
    assert n_images(fig) == 8
    first = ev.most_confident_mistakes(proba, y, 1)[0]
    assert fig.axes[0].get_title().startswith(f"{y[first]}→{proba[first].argmax()}")
    assert_png(fig, tmp_path / "mistakes.png")
    none = plots.plot_confident_mistakes(x, proba.argmax(axis=1), proba)
    assert n_images(none) == 0


def test_plot_first_layer_weights(tmp_path):
    rng = np.random.default_rng(2)
    w1 = rng.normal(size=(784, 64)).astype(np.float32)
    fig = plots.plot_first_layer_weights(w1)
    assert len(fig.axes) == 64 and n_images(fig) == 64
    np.testing.assert_array_equal(fig.axes[5].images[0].get_array(), w1[:, 5].reshape(28, 28))
    assert_png(fig, tmp_path / "w1.png")
    assert n_images(plots.plot_first_layer_weights(w1[:, :10])) == 10
    with pytest.raises(ValueError, match=r"\(784, H\)"):
        plots.plot_first_layer_weights(w1.T)


def test_plot_reliability_diagram(toy, tmp_path):
    _, y, proba = toy
    fig = plots.plot_reliability_diagram(proba, y, n_bins=10)
    assert len(fig.axes) == 2
    ece = ev.expected_calibration_error(proba, y, n_bins=10)
    assert f"{ece:.4f}" in fig.axes[0].get_title()
    assert_png(fig, tmp_path / "reliability.png")


def test_plot_training_curves_one_and_several(tmp_path):
    fig = plots.plot_training_curves(history(20))
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 1 and len(ax_acc.lines) == 2
    assert_png(fig, tmp_path / "one.png")
    runs = {"sgd": history(20), "adam": history(5, 0.8)}
    fig = plots.plot_training_curves(runs, x="seconds")
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.lines) == 2 and len(ax_acc.lines) == 4
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["sgd", "adam"]
    np.testing.assert_allclose(ax_loss.lines[1].get_xdata(), [0.05 * i for i in range(5)])
    listed = plots.plot_training_curves([history(3), history(4)], labels=["a", "b"], x="epoch", logx=True)
    assert len(listed.axes[0].lines) == 2
    assert listed.axes[0].get_xscale() == "log" and listed.axes[1].get_xscale() == "log"


def test_plot_training_curves_missing_validation_and_errors():
    no_val = [dict(r, val_acc=None) for r in history(5)]
    fig = plots.plot_training_curves(no_val)
    assert len(fig.axes[1].lines) == 1
    with pytest.raises(ValueError, match="x must be"):
        plots.plot_training_curves(history(3), x="minutes")
    with pytest.raises(ValueError, match="labels"):
        plots.plot_training_curves([history(3), history(3)], labels=["only one"])
    with pytest.raises(ValueError, match="no training history"):
        plots.plot_training_curves([])


def test_save_evaluation_figures(toy, tmp_path):
    x, y, proba = toy

    class Model:
        params = {"W1": np.random.default_rng(3).normal(size=(784, 16)).astype(np.float32)}

        def predict_proba(self, inputs):
            assert inputs is x
            return proba

    folder = tmp_path / "figs" / "nested"
    written = plots.save_evaluation_figures(Model(), x, y, folder, history=history(10))
    names = sorted(p.name for p in written)
    assert names == sorted([
        "per_digit_accuracy.png", "confusion_matrix.png", "confident_mistakes.png",
        "reliability_diagram.png", "first_layer_weights.png", "training_curves.png",
    ])
    for path in written:
        assert path.parent == folder and path.read_bytes()[:8] == PNG_MAGIC


def test_per_digit_axis_zooms_and_says_so():
    fig = plots.plot_per_digit_accuracy(np.linspace(0.95, 0.995, 10))
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 90 and "the axis starts at 90 %, not 0" in ax.get_title()
    low = plots.plot_per_digit_accuracy(np.linspace(0.02, 0.5, 10)).axes[0]
    assert low.get_ylim()[0] == 0 and "starts at" not in low.get_title()


def test_class_count_legend_does_not_cover_the_bars():
    rng = np.random.default_rng(0)
    splits = {"train": rng.integers(0, 10, 5000), "validation": rng.integers(0, 10, 500),
              "test": np.r_[rng.integers(0, 10, 900), np.full(100, 9)]}
    fig = plots.plot_class_counts(splits)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend_box = ax.get_legend().get_window_extent()
    for bar in ax.patches:
        assert not legend_box.overlaps(bar.get_window_extent()), "the legend hides a bar"


@pytest.mark.parametrize("over_confident", [True, False])
def test_reliability_gap_has_its_legend_colour_both_ways(over_confident):
    """Where accuracy exceeds confidence the gap used to be a translucent overlay on the blue bar,
    a colour the legend did not show. Now it is opaque, in the legend's colour, either way."""
    from matplotlib.colors import to_rgba

    y = np.arange(200) % 10
    confidence = 0.95 if over_confident else 0.55
    right = np.random.default_rng(0).random(200) < (0.6 if over_confident else 0.9)
    pred = np.where(right, y, (y + 1) % 10)
    proba = np.full((200, 10), (1 - confidence) / 9)
    proba[np.arange(200), pred] = confidence
    ax = plots.plot_reliability_diagram(proba, y, n_bins=10).axes[0]
    handles, labels = ax.get_legend_handles_labels()
    gap_handle = handles[labels.index("gap |accuracy − confidence|")]
    gap_bars = [p for p in gap_handle.patches if p.get_height() > 0]
    assert gap_bars
    for bar in gap_bars:
        assert bar.get_facecolor() == to_rgba(plots.GAP_COLOR)  # opaque: alpha 1
        assert bar.get_zorder() > 1  # drawn over the accuracy bar
    acc_bar = [p for p in handles[labels.index("accuracy")].patches if p.get_height() > 0][0]
    low, high = sorted((acc_bar.get_height(), confidence))
    gap = next(b for b in gap_bars if abs(b.get_x() - acc_bar.get_x()) < 1e-9)
    assert gap.get_y() == pytest.approx(low) and gap.get_height() == pytest.approx(high - low)


def test_comparison_curves_stay_distinguishable():
    """Two runs with identical histories (SGD under momentum): different widths and markers."""
    same = history(12)
    fig = plots.plot_training_curves({"sgd": same, "momentum": same})
    first, second = fig.axes[0].lines
    assert first.get_linewidth() > second.get_linewidth()
    assert first.get_marker() != second.get_marker()


def test_per_digit_legend_covers_no_bar():
    fig = plots.plot_per_digit_accuracy(np.array([0.988, 0.988, 0.964, 0.972, 0.968, 0.959, 0.968, 0.959, 0.955, 0.948]))
    fig.canvas.draw()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    assert not any(box.overlaps(bar.get_window_extent()) for bar in ax.patches)

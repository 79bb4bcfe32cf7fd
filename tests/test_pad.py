"""The drawing pad without a browser: drive its handlers with synthetic strokes and clicks."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mnist_scratch.checkpoint import load_network, save_network
from mnist_scratch.network import Network
from mnist_scratch.pad import (DigitPad, strokes_to_input, bars_html, counts_html, png_bytes, prediction_text,
                               saliency_rgb, upscale)
from mnist_scratch.preprocess import preprocess
from mnist_scratch.store import FeedbackStore
from mnist_scratch.strokes import rasterize_strokes


def line(p0, p1, n=12):
    """n + 1 points from p0 to p1 (canvas pixels)."""
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return [tuple(map(float, p)) for p in (1 - t) * np.array(p0) + t * np.array(p1)]


ONE = [line((150, 45), (135, 235))]
ZERO = [[(140 + 55 * np.sin(a), 140 - 85 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 41)]]
SEVEN = [line((75, 60), (205, 60), 8) + line((205, 60), (120, 235), 12)[1:]]


def draw(pad: DigitPad, strokes) -> None:
    """Replay strokes as mouse events: down at the first point, moves, up at the last."""
    for stroke in strokes:
        pad.on_mouse_down(*stroke[0])
        for x, y in stroke[1:-1]:
            pad.on_mouse_move(x, y)
        pad.on_mouse_up(*stroke[-1])


def expected_proba(net, strokes):
    """What the pad should predict for these strokes, computed directly."""
    x28 = strokes_to_input(strokes, 280, 18.0)
    return net.predict_proba(x28.reshape(1, 784))[0]


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture
def store(tmp_path):
    return FeedbackStore(tmp_path / "feedback.sqlite3")


@pytest.fixture
def pad(trained_net, store, tmp_path):
    return DigitPad(trained_net, store, checkpoint_path=tmp_path / "ckpt" / "net.npz")


def assert_no_errors(pad):
    assert pad.output.outputs == (), pad.output.outputs


# ---------------------------------------------------------------- pure helpers
@pytest.mark.parametrize("shape", [(28, 28), (7, 5, 3)])
def test_png_bytes_round_trip(shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(png_bytes(image)), image)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros(4, np.uint8)])
def test_png_bytes_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="png_bytes"):
        png_bytes(bad)


def test_upscale_and_saliency_colours():
    assert upscale(np.arange(4).reshape(2, 2), 3).shape == (6, 6)
    grad = np.zeros((28, 28))
    grad[0, 0], grad[0, 1] = 2.0, -1.0
    rgb = saliency_rgb(grad, np.zeros((28, 28)))
    assert rgb.dtype == np.uint8 and rgb.shape == (28, 28, 3)
    np.testing.assert_array_equal(rgb[0, 0], [255, 0, 0])  # strongest positive: red
    np.testing.assert_array_equal(rgb[0, 1], [128, 128, 255])  # half negative: light blue
    np.testing.assert_array_equal(rgb[5, 5], [255, 255, 255])  # zero: white


def test_text_helpers():
    p = np.full(10, 0.01, np.float32)
    p[7] = 0.91
    assert prediction_text(p) == "Prediction: 7 (91.0 %)"
    assert prediction_text(None) == "Draw a digit"
    html = bars_html(p)
    assert html.count("%;height:100%") == 10 and "91.0 %" in html
    assert "Saved drawings (3)" in counts_html({0: 1, 5: 2})


# ---------------------------------------------------------------- drawing and prediction
def test_new_pad_is_empty(pad):
    assert pad.prediction.value == "Draw a digit"
    assert pad.proba is None and pad.strokes == []
    assert decode_png(pad.input_image.value).shape == (140, 140, 3)
    assert "application/vnd.jupyter.widget-view+json" in pad._repr_mimebundle_()
    assert_no_errors(pad)


@pytest.mark.parametrize("strokes, digit", [(ONE, 1), (ZERO, 0), (SEVEN, 7)], ids=["1", "0", "7"])
def test_drawing_predicts_the_digit(pad, trained_net, strokes, digit):
    draw(pad, strokes)
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, strokes), atol=1e-6)
    assert int(np.argmax(pad.proba)) == digit
    assert pad.prediction.value == prediction_text(pad.proba)
    assert f"{100 * pad.proba[digit]:5.1f} %" in pad.bars.value
    panel = decode_png(pad.input_image.value)  # the 28 x 28 input, upscaled 5x, white on black
    np.testing.assert_array_equal(panel[::5, ::5, 0], np.rint(pad.x28 * 255).astype(np.uint8))
    assert pad.strokes == [list(s) for s in strokes]
    assert_no_errors(pad)


def test_throttle_keeps_the_final_prediction(trained_net, store):
    pad = DigitPad(trained_net, store, predict_interval=3600.0)  # at most one run per stroke
    draw(pad, SEVEN)
    # One run at mouse down (a dot), none during the 19 moves, one forced at mouse up.
    assert pad.n_predictions <= 2
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, SEVEN), atol=1e-6)
    assert pad.prediction.value == prediction_text(pad.proba)


def test_moves_without_a_pressed_button_are_ignored(pad):
    pad.on_mouse_move(100, 100)
    pad.on_mouse_up(100, 100)
    assert pad.strokes == [] and pad.proba is None


def test_touch_draws_like_the_mouse(pad, trained_net):
    stroke = ONE[0]
    pad.on_touch_start([stroke[0]])
    for p in stroke[1:]:
        pad.on_touch_move([p, (0.0, 0.0)])  # a second finger is ignored
    pad.on_touch_end([])  # the lifted finger is not always reported
    assert pad.strokes == [stroke]
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, ONE), atol=1e-6)


def test_saliency_overlay(pad, trained_net):
    draw(pad, ONE)
    pixels = decode_png(pad.input_image.value)
    pad.overlay.value = "saliency"
    heat = decode_png(pad.input_image.value)
    assert heat.shape == (140, 140, 3) and not np.array_equal(heat, pixels)
    grad = trained_net.input_gradient(pad.x28.reshape(1, 784), np.array([1]))[0].reshape(28, 28)
    np.testing.assert_array_equal(heat[::5, ::5], saliency_rgb(grad, pad.x28))
    pad.overlay.value = "pixels"
    np.testing.assert_array_equal(decode_png(pad.input_image.value), pixels)
    assert_no_errors(pad)


def test_clear_resets(pad):
    draw(pad, ZERO)
    pad.click_clear()
    assert pad.strokes == [] and pad.proba is None and pad.x28 is None
    assert pad.prediction.value == "Draw a digit"
    assert decode_png(pad.input_image.value).max() == 0
    assert_no_errors(pad)


# ---------------------------------------------------------------- feedback
def test_correct_saves_the_prediction_and_clears(pad, store, trained_net):
    draw(pad, ONE)
    proba, x28 = pad.proba.copy(), pad.x28.copy()
    pad.click_correct()
    (rec,) = store.records()
    assert rec.label == rec.predicted == 1
    assert rec.confidence == pytest.approx(float(proba.max()), abs=1e-6)
    np.testing.assert_array_equal(rec.image, np.rint(x28 * 255).astype(np.uint8))
    assert rec.strokes == [[list(p) for p in s] for s in ONE]
    assert rec.source == "drawing_pad" and rec.canvas_size == (280, 280)
    assert pad.status.value == f"Saved drawing #{rec.id} as 1"
    assert pad.strokes == [] and pad.prediction.value == "Draw a digit"
    assert "<b>1</b>: 1" in pad.counts.value
    assert_no_errors(pad)


def test_wrong_then_label_saves_the_chosen_digit(pad, store):
    draw(pad, ZERO)
    assert pad.label_box.layout.display == "none"
    pad.click_wrong()
    assert pad.label_box.layout.display == "flex"
    pad.click_label(6)
    (rec,) = store.records()
    assert (rec.label, rec.predicted) == (6, 0)
    assert pad.label_box.layout.display == "none"
    assert pad.status.value == f"Saved drawing #{rec.id} as 6"
    assert store.counts()[6] == 1 and "<b>6</b>: 1" in pad.counts.value
    assert_no_errors(pad)


def test_undo_retracts_the_last_save(pad, store):
    draw(pad, ONE)
    pad.click_correct()
    draw(pad, ZERO)
    pad.click_wrong()
    pad.click_label(8)
    first, second = store.records()
    pad.click_undo()
    assert [r.id for r in store.records()] == [first.id]
    assert pad.status.value == f"Removed drawing #{second.id} (saved as 8)"
    assert "<b>8</b>: 0" in pad.counts.value and "Saved drawings (1)" in pad.counts.value
    pad.click_undo()
    pad.click_undo()
    assert store.records() == [] and pad.status.value == "Nothing to undo."
    assert_no_errors(pad)


def test_undo_only_retracts_this_pads_own_saves(trained_net, store, tmp_path):
    """Two notebooks on one store file: each Undo takes back its own save, not the newest one."""
    mine = DigitPad(trained_net, store)
    theirs = DigitPad(trained_net, FeedbackStore(store.path))  # another kernel's store object
    draw(mine, ONE)
    mine.click_correct()
    draw(theirs, ZERO)
    theirs.click_correct()
    my_rec, their_rec = store.records()
    mine.click_undo()
    assert [r.id for r in store.records()] == [their_rec.id]
    assert mine.status.value == f"Removed drawing #{my_rec.id} (saved as 1)"
    mine.click_undo()
    assert mine.status.value == "Nothing to undo." and len(store) == 1
    assert_no_errors(mine)


def test_undo_skips_a_save_already_retracted_elsewhere(pad, store):
    draw(pad, ONE)
    pad.click_correct()
    draw(pad, SEVEN)
    pad.click_correct()
    first, second = store.records()
    FeedbackStore(store.path).retract(second.id)  # e.g. undone from the command line
    pad.click_undo()
    assert store.records() == [] and pad.status.value.startswith(f"Removed drawing #{first.id}")
    assert pad.saved_ids == []
    assert_no_errors(pad)


def test_buttons_without_a_drawing_are_harmless(pad, store):
    for click in (pad.click_correct, pad.click_wrong, lambda: pad.click_label(3)):
        click()
        assert pad.status.value == "Nothing to save: draw a digit first."
    pad.click_retrain()
    assert pad.status.value == "Nothing to retrain on: save some drawings first."
    pad.click_undo()
    pad.click_clear()
    assert store.records() == [] and pad.label_box.layout.display == "none"
    assert_no_errors(pad)


# ---------------------------------------------------------------- errors and missing network
def test_callback_errors_are_shown_in_the_output(pad, store):
    draw(pad, ONE)
    pad.click_label(11)  # no digit button says 11: a bug, reported in the widget
    assert store.records() == []
    assert pad.status.value.startswith("Error in click_label: ValueError")
    (out,) = pad.output.outputs
    assert out["name"] == "stderr" and "label must be a digit 0-9, got 11" in out["text"]


def test_a_repeated_error_is_shown_once(pad, store):
    draw(pad, ONE)
    pad.click_label(11)
    pad.status.value = ""
    pad.click_label(11)  # the same failure again: named in the status, traceback not repeated
    assert pad.status.value.startswith("Error in click_label: ValueError")
    assert len(pad.output.outputs) == 1


def test_touch_handler_errors_are_shown_not_raised(pad):
    pad.on_touch_start([10.0])  # malformed touch lists from a front end
    assert pad.status.value.startswith("Error in on_touch_start: TypeError")
    pad.on_touch_move(5)
    assert pad.status.value.startswith("Error in on_touch_move: TypeError")
    assert pad.strokes == [] and len(pad.output.outputs) == 2


def test_a_network_of_the_wrong_shape_is_reported_not_raised(store):
    pad = DigitPad(Network(sizes=(100, 8, 10)), store)
    draw(pad, ONE)  # every handler fails inside the network; none raises
    assert pad.status.value.startswith("Error in on_mouse_")
    assert pad.output.outputs and all(o["name"] == "stderr" for o in pad.output.outputs)


def test_without_a_checkpoint_the_pad_says_train_first(store, tmp_path):
    pad = DigitPad(store=store, checkpoint_path=tmp_path / "missing.npz")
    assert pad.net is None
    assert "python -m mnist_scratch train" in pad.message.value
    draw(pad, ONE)
    assert pad.prediction.value == "No network: train first"
    pad.click_correct()
    assert store.records() == [] and "no network" in pad.status.value.lower()
    pad.click_wrong()
    pad.click_label(1)  # labelled drawings can be collected before any training
    (rec,) = store.records()
    assert (rec.label, rec.predicted, rec.confidence) == (1, None, None)
    assert_no_errors(pad)


def test_loads_the_checkpoint_it_is_given(trained_net, store, tmp_path):
    path = save_network(trained_net, tmp_path / "net.npz")
    pad = DigitPad(store=store, checkpoint_path=path)
    assert pad.message.value == ""
    draw(pad, SEVEN)
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, SEVEN), atol=1e-6)


# ---------------------------------------------------------------- retraining
def test_retrain_fine_tunes_reports_and_saves(trained_net, store, tmp_path, mnist_data):
    from mnist_scratch.retrain import RetrainConfig

    net = trained_net.copy()
    path = tmp_path / "ckpt" / "net.npz"
    pad = DigitPad(net, store, checkpoint_path=path, retrain_options={
        "config": RetrainConfig(epochs=1.0, min_replay=300, augment=False), "data": mnist_data})
    for strokes, label in [(ONE, 1), (ZERO, 0), (SEVEN, 7), (ONE, 7)]:
        draw(pad, strokes)
        pad.click_wrong()
        pad.click_label(label)
    before = net.parameter_vector()
    pad.click_retrain()
    assert_no_errors(pad)
    report = pad.last_report
    assert report.n_user == 4 and report.n_replay == 300
    assert not np.array_equal(net.parameter_vector(), before)  # fine-tuned in place
    assert pad.progress.value == pad.progress.max > 1  # the bar followed every step
    assert "MNIST test" in pad.report.value and f"{100 * report.after_mnist_acc:.2f} %" in pad.report.value
    assert path.is_file() and pad.status.value.startswith("Retrained on 4 drawings")
    np.testing.assert_allclose(load_network(path).parameter_vector(), net.parameter_vector())
    assert not pad.retrain_button.disabled


def test_retrain_without_a_network_says_so(store, tmp_path):
    pad = DigitPad(store=store, checkpoint_path=tmp_path / "missing.npz")
    draw(pad, ONE)
    pad.click_label(1)
    pad.click_retrain()
    assert "No network to retrain" in pad.status.value
    assert_no_errors(pad)

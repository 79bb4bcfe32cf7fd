"""The drawing pad without a browser: its view functions, and its handlers driven by synthetic events."""
from __future__ import annotations

import io
import re
from html import escape as html_escape
import threading

import numpy as np
import pytest
from PIL import Image

from mnist_scratch import pad_view as view
from mnist_scratch.checkpoint import load_network, save_network
from mnist_scratch.network import Network
from mnist_scratch.pad import DigitPad, strokes_to_input
from mnist_scratch.pad_feedback import GRID_SOURCE
from mnist_scratch.pad_replay import RECORDED_SEVEN, plot_pad_snapshot
from mnist_scratch.store import FeedbackStore


def line(p0, p1, n=12):
    """n + 1 points from p0 to p1 (canvas pixels)."""
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    return [tuple(map(float, p)) for p in (1 - t) * np.array(p0) + t * np.array(p1)]


ONE = [line((150, 45), (135, 235))]
ZERO = [[(140 + 55 * np.sin(a), 140 - 85 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 41)]]
SEVEN = [line((75, 60), (205, 60), 8) + line((205, 60), (120, 235), 12)[1:]]
SEVEN_TWO_STROKES = [line((75, 60), (205, 60), 8), line((205, 60), (120, 235), 12)]


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


def assert_running_accuracy(pad, store):
    """The pad shows the store's running accuracy, which counts the guesses recorded at save time."""
    rated = [r for r in store.records() if r.predicted is not None][-20:]
    ra = pad.running_accuracy()
    assert (ra.recent_total, ra.recent_correct) == (len(rated), sum(r.predicted == r.label for r in rated))
    assert html_escape(ra.text()) in pad.accuracy.value


def big_digit(pad) -> str:
    return re.search(r'class="dp-digit[^"]*">([^<]*)<', pad.prediction.value).group(1)


# ---------------------------------------------------------------- text
@pytest.mark.parametrize("p, text", [(0.931, "93.1 %"), (0.9994, "99.9 %"), (0.9995, "> 99.9 %"), (1.0, "> 99.9 %"),
                                     (0.0, "0.0 %"), (0.0004, "< 0.1 %"), (0.0005, "0.1 %")])
def test_format_percent_never_says_100(p, text):
    assert view.format_percent(p) == text


def test_prediction_summary_says_not_sure_below_the_threshold():
    p = np.full(10, 0.01)
    p[7] = 0.91
    assert view.prediction_summary(p) == view.PredictionSummary(7, "7", "91.0 % sure")
    p = np.full(10, 0.05)
    p[6], p[5] = 0.45, 0.15  # a dot: the top class is far from certain
    s = view.prediction_summary(p)
    assert (s.digit, s.headline, s.detail) == (None, "not sure", "maybe 6 (45.0 %) or 5 (15.0 %)")
    assert view.prediction_summary(None).headline == "Draw a digit"
    assert 'class="dp-digit dp-unsure">not sure<' in view.prediction_html(s)


def test_bars_html_has_ten_rows_without_scroll_or_fixed_colours():
    p = np.full(10, 0.001)
    p[3] = 0.991
    bars = view.bars_html(p)
    assert bars.count('class="dp-bar') == 10 and bars.count('class="dp-bar dp-top"') == 1
    assert 'style="width:99.1%"' in bars and "99.1 %" in bars and "100.0 %" not in bars
    assert "#" not in bars and "overflow" not in bars  # colours come from the stylesheet
    assert view.bars_html(None).count('style="width:0.0%"') == 10


def test_stylesheet_colours_are_theme_variables():
    css = view.PAD_CSS
    assert re.findall(r"#[0-9a-fA-F]{3,6}\b", css) == []
    for var in ("--jp-layout-color2", "--jp-ui-font-color1", "--jp-brand-color1"):
        assert f"var({var})" in css
    assert "flex-wrap: wrap" in css  # the row reflows on a narrow screen


def test_counts_text():
    assert view.counts_text(dict.fromkeys(range(10), 0)) == "No saved drawings yet."
    assert view.counts_text({**dict.fromkeys(range(10), 0), 0: 1, 5: 2}) == "3 saved drawings (0: 1  5: 2)"


def test_report_html_colours_the_differences_and_escapes():
    html = view.report_html(0.9712, 0.9701, "last 20: 14 of 20 right (70 %)", "since: <b>", "details & more")
    assert "97.12 %" in html and "97.01 %" in html
    assert '<span class="dp-down">-0.11 points</span>' in html
    assert "since: &lt;b&gt;" in html and "details &amp; more" in html and "<details>" in html
    assert '<span class="dp-up">+0.50 points</span>' in view.report_html(0.9, 0.905, "", "", "")
    honest = view.report_html(0.97, 0.97, "last 20: 14 of 20 right (70 %)", "since: 9 of 10 right (90 %)", "",
                              honest_change=(0.7, 0.9))
    assert '<span class="dp-up">+20.00 points</span>' in honest
    assert view.honest_fraction(14, 20) == "14 of 20 right (70 %)"
    assert view.honest_fraction(0, 0) == "no drawings yet"


# ---------------------------------------------------------------- images
@pytest.mark.parametrize("shape", [(28, 28), (7, 5, 3)])
def test_png_bytes_round_trip(shape):
    image = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(view.png_bytes(image)), image)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.uint8), np.zeros(4, np.uint8)])
def test_png_bytes_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="png_bytes"):
        view.png_bytes(bad)


def test_input_panel_is_exact_with_ink_and_a_faint_grid_without():
    x = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    panel = view.input_panel_rgb(x, 5)
    assert panel.shape == (140, 140, 3)
    np.testing.assert_array_equal(panel[::5, ::5, 0], np.rint(x * 255).astype(np.uint8))
    empty = view.input_panel_rgb(None, 10)
    assert empty.shape == (280, 280, 3) and 0 < empty.min() < empty.max()  # not a solid black square
    assert empty[0, 0, 0] > empty[5, 5, 0]  # grid lines brighter than the cells


def test_saliency_overlay_colours_and_fades():
    x = np.zeros((28, 28))
    x[10:18, 13:15] = 1.0  # the digit
    grad = np.zeros((28, 28))
    grad[3:6, 3:6], grad[20:23, 20:23] = 1.0, -1.0
    rgb = view.saliency_overlay_rgb(grad, x, scale=1)
    assert rgb.shape == (28, 28, 3) and rgb.dtype == np.uint8
    r, g, b = rgb[4, 4].astype(int)
    assert r > 150 and r > g + 80 and r > b + 80  # more ink here raises p: red
    r, g, b = rgb[21, 21].astype(int)
    assert b > 150 and b > r + 80  # ... lowers p: blue
    np.testing.assert_array_equal(rgb[27, 0], [255, 255, 255])  # no signal, no ink: white paper
    assert 160 <= rgb[14, 13, 0] <= 200 and len(set(rgb[14, 13])) == 1  # the digit: faded grey
    speckle = np.zeros((28, 28))
    speckle[3, 3], speckle[25, 25] = 1.0, 0.1  # under the floor (0.2 of the largest): left out
    weak = view.saliency_overlay_rgb(speckle, x, scale=1, sigma=0)
    np.testing.assert_array_equal(weak[25, 25], [255, 255, 255])
    assert weak[3, 3, 0] > weak[3, 3, 1] + 80
    assert view.saliency_overlay_rgb(grad, x, scale=10).shape == (280, 280, 3)


def test_hidden_units_add_up_to_the_logit(trained_net):
    x = strokes_to_input(SEVEN)
    a1, push, k = view.hidden_units(trained_net, x)
    p = trained_net.params
    x64 = x.reshape(784).astype(np.float64)
    expected_a1 = np.maximum(x64 @ p["W1"].astype(np.float64) + p["b1"], 0)
    np.testing.assert_allclose(a1, expected_a1, rtol=1e-4, atol=1e-5)
    logits = expected_a1 @ p["W2"].astype(np.float64) + p["b2"]
    assert k == int(np.argmax(logits)) == 7
    np.testing.assert_allclose(push.sum() + p["b2"][k], logits[k], rtol=1e-4, atol=1e-4)
    caption = view.hidden_caption(a1, push, k)
    assert caption.startswith(f"{int(np.sum(a1 > 0))} of 64 units active. For a 7: units {int(np.argmax(push))},")


def test_hidden_grid_colours():
    values = np.zeros(64)
    values[0], values[9] = 2.0, -2.0
    rgb = view.hidden_grid_rgb(values, signed=True, cell=10, gap=2)
    assert rgb.shape == (8 * 10 + 9 * 2,) * 2 + (3,)
    up, down, zero = rgb[2 + 5, 2 + 5], rgb[14 + 5, 14 + 5], rgb[2 + 5, 14 + 5]
    assert up[1] > 150 and up[0] < 60  # green pushes up
    assert down[0] > 200 and down[1] < 60  # red pushes down
    np.testing.assert_array_equal(zero, [0, 0, 0])
    act = view.hidden_grid_rgb(np.abs(values), signed=False, cell=10, gap=2)
    assert act[7, 7].min() > 100 and act[7, 19].max() == 0
    with pytest.raises(ValueError, match="square number"):
        view.hidden_grid_rgb(np.zeros(10), signed=False)


def test_grid_brush():
    cells = view.cells_between(0, 0, 3, 6)
    assert cells[0] == (0, 0) and cells[-1] == (3, 6) and len(cells) == 7  # one cell per column
    assert all(abs(r1 - r0) <= 1 and c1 - c0 == 1 for (r0, c0), (r1, c1) in zip(cells, cells[1:]))  # connected
    assert view.cells_between(5, 5, 5, 5) == [(5, 5)]
    grid = np.zeros((28, 28), np.float32)
    changed = view.paint_cell(grid, 0, 5)
    assert sorted(map(tuple, changed)) == [(0, 4), (0, 5), (0, 6), (1, 5)]  # no row -1 at the edge
    assert grid[0, 5] == 1.0 and grid[1, 5] == grid[0, 4] == 0.5 and grid.sum() == 2.5
    assert len(view.paint_cell(grid, 0, 5)) == 0  # nothing new
    view.paint_cell(grid, 1, 5, erase=True)
    assert grid[1, 5] == grid[0, 5] == 0.0 and grid.sum() == 1.0
    assert len(view.paint_cell(grid, 28, 3)) == 0  # off the grid


def test_replay_figure(trained_net):
    fig = plot_pad_snapshot(trained_net, strokes_to_input(RECORDED_SEVEN))
    assert len(fig.axes) == 5 and fig.axes[0].get_title().startswith("7")


# ---------------------------------------------------------------- drawing and prediction
def test_new_pad_invites_drawing(pad):
    assert big_digit(pad) == "Draw a digit" and pad.proba is None and pad.strokes == []
    assert pad.correct_button.disabled and pad.wrong_button.disabled and pad.undo_button.disabled
    assert all(b.disabled for b in pad.label_buttons) and pad.undo_stroke_button.disabled
    panel = decode_png(pad.view_image.value)
    np.testing.assert_array_equal(panel, view.input_panel_rgb(None, 10))  # the faint grid
    assert "application/vnd.jupyter.widget-view+json" in pad._repr_mimebundle_()
    assert_no_errors(pad)


@pytest.mark.parametrize("strokes, digit", [(ONE, 1), (ZERO, 0), (SEVEN, 7)], ids=["1", "0", "7"])
def test_drawing_predicts_the_digit(pad, trained_net, strokes, digit):
    draw(pad, strokes)
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, strokes), atol=1e-6)
    assert int(np.argmax(pad.proba)) == digit and big_digit(pad) == str(digit)
    assert pad.bars.value == view.bars_html(pad.proba)
    panel = decode_png(pad.view_image.value)  # the 28 x 28 input, upscaled 10x, white on black
    np.testing.assert_array_equal(panel[::10, ::10, 0], np.rint(pad.x28 * 255).astype(np.uint8))
    assert pad.strokes == [list(s) for s in strokes]
    assert not pad.correct_button.disabled and not pad.wrong_button.disabled
    assert_no_errors(pad)


def test_throttle_keeps_the_final_prediction(trained_net, store):
    pad = DigitPad(trained_net, store, predict_interval=3600.0)  # at most one run per stroke
    draw(pad, SEVEN)
    assert pad.n_predictions <= 2  # at mouse down (a dot), none during the 19 moves, one at mouse up
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, SEVEN), atol=1e-6)


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


def test_leaving_with_the_button_held_and_coming_back_keeps_drawing(pad, trained_net):
    top, down = SEVEN_TWO_STROKES
    pad.on_mouse_down(*top[0])
    for p in top[1:]:
        pad.on_mouse_move(*p)
    pad.on_mouse_out(279.0, 60.0)  # left the canvas at its right edge, button held
    pad.on_mouse_move(250, 250)  # no button state in move events: ignored while outside
    pad._on_dom_event({"type": "mouseenter", "relativeX": down[0][0], "relativeY": down[0][1], "buttons": 1})
    for p in down[1:-1]:
        pad.on_mouse_move(*p)
    pad.on_mouse_up(*down[-1])
    assert pad.strokes == [top + [(279.0, 60.0)], down]
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, pad.strokes), atol=1e-6)
    # Released outside, then back in without a button: nothing is drawn.
    pad.on_mouse_down(100, 100)
    pad.on_mouse_out(0.0, 100.0)
    pad.on_mouse_enter(50, 50, buttons=0)
    pad.on_mouse_move(60, 60)
    assert len(pad.strokes) == 3 and pad.strokes[-1] == [(100.0, 100.0), (0.0, 100.0)]
    assert_no_errors(pad)


@pytest.mark.parametrize("shown", ["saliency", "hidden"])
def test_views_beside_the_bars(pad, trained_net, shown):
    draw(pad, ONE)
    pad.views.value = shown
    k = int(np.argmax(pad.proba))
    if shown == "saliency":
        grad = trained_net.saliency(pad.x28.reshape(1, 784), np.array([k]))[0].reshape(28, 28)
        np.testing.assert_array_equal(decode_png(pad.view_image.value), view.saliency_overlay_rgb(grad, pad.x28, 10))
        assert "more ink here: more sure" in pad.view_caption.value
        assert pad.hidden_box.layout.display == "none"
    else:
        a1, push, _ = view.hidden_units(trained_net, pad.x28)
        np.testing.assert_array_equal(decode_png(pad.hidden_act.value), view.hidden_grid_rgb(a1, False, cell=14))
        np.testing.assert_array_equal(decode_png(pad.hidden_push.value), view.hidden_grid_rgb(push, True, cell=14))
        assert pad.hidden_box.layout.display == "flex" and pad.view_image.layout.display == "none"
        assert f"push on the {k}" in pad.hidden_push_title.value
    draw(pad, [line((150, 235), (200, 235), 4)])  # the views follow the drawing
    assert str(int(np.argmax(pad.proba))) in (pad.view_caption.value + pad.hidden_push_title.value)
    pad.views.value = "input"
    np.testing.assert_array_equal(decode_png(pad.view_image.value), view.input_panel_rgb(pad.x28, 10))
    assert_no_errors(pad)


def test_undo_stroke_and_clear(pad, trained_net):
    draw(pad, SEVEN_TWO_STROKES)
    pad.click_undo_stroke()
    assert pad.strokes == [SEVEN_TWO_STROKES[0]]
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, SEVEN_TWO_STROKES[:1]), atol=1e-6)
    pad.click_undo_stroke()
    assert pad.strokes == [] and pad.proba is None and big_digit(pad) == "Draw a digit"
    assert pad.undo_stroke_button.disabled
    draw(pad, ZERO)
    pad.click_clear()
    assert pad.strokes == [] and pad.proba is None and pad.x28 is None and pad.correct_button.disabled
    assert_no_errors(pad)


# ---------------------------------------------------------------- grid mode
def test_grid_mode_paints_the_input_directly(pad, store, trained_net):
    pad.mode_toggle.value = "grid"
    assert pad.mode == "grid" and pad.brush.layout.display == "flex"
    pad.on_mouse_down(145, 45)  # cell (4, 14)
    pad.on_mouse_move(142, 150)
    pad.on_mouse_up(138, 235)  # cell (23, 13): the cells between are painted too
    assert pad.grid[4:24, 13:15].max(axis=1).min() == 1.0  # a connected vertical bar
    np.testing.assert_array_equal(pad.x28, pad.grid)  # no preprocessing: exactly what was painted
    np.testing.assert_allclose(pad.proba, trained_net.predict_proba(pad.grid.reshape(1, 784))[0], atol=1e-6)
    assert big_digit(pad) == "1"
    pad.brush.value = True  # erase the lower half
    pad.on_mouse_down(142, 150)
    pad.on_mouse_up(138, 235)
    assert pad.grid[16:24].max() == 0 and pad.grid[4:14].max() == 1.0
    pad.click_undo_stroke()  # the erase is taken back
    assert pad.grid[4:24, 13:15].max(axis=1).min() == 1.0
    pad.click_wrong()
    pad.click_label(1)
    (rec,) = store.records()
    assert (rec.label, rec.source, rec.strokes, rec.canvas_size) == (1, GRID_SOURCE, None, None)
    assert rec.image.max() == 255 and pad.grid.max() == 0  # saved, then cleared
    pad.mode_toggle.value = "pen"
    assert pad.mode == "pen" and pad.brush.layout.display == "none"
    assert_no_errors(pad)


def test_an_unknown_mode_is_reported(pad):
    pad.set_mode("spray")
    assert pad.status.value.startswith("Error in set_mode: ValueError: mode must be one of")


# ---------------------------------------------------------------- feedback
def test_correct_saves_the_prediction_and_clears(pad, store):
    draw(pad, ONE)
    proba, x28 = pad.proba.copy(), pad.x28.copy()
    pad.click_correct()
    (rec,) = store.records()
    assert rec.label == rec.predicted == 1
    assert rec.confidence == pytest.approx(float(proba.max()), abs=1e-6)
    np.testing.assert_array_equal(rec.image, np.rint(x28 * 255).astype(np.uint8))
    assert rec.strokes == [[list(p) for p in s] for s in ONE]
    assert rec.source == "drawing_pad" and rec.canvas_size == (280, 280)
    assert pad.status.value == f"Saved drawing #{rec.id} as 1 (the network got it right). Draw the next one."
    assert pad.strokes == [] and big_digit(pad) == "Draw a digit" and pad.correct_button.disabled
    assert "1 saved drawing (1: 1)" in pad.accuracy.value
    assert_running_accuracy(pad, store)
    assert_no_errors(pad)


def test_a_double_click_on_correct_keeps_the_success_message(pad, store):
    draw(pad, ONE)
    pad.click_correct()
    message = pad.status.value
    pad.click_correct()  # the second click of a double click: nothing drawn any more
    assert pad.status.value == message and len(store) == 1


def test_a_new_stroke_clears_the_last_message(pad):
    draw(pad, ONE)
    pad.click_correct()
    assert pad.status.value.startswith("Saved drawing")
    pad.on_mouse_down(100, 100)
    assert pad.status.value == ""


def test_wrong_then_label_saves_the_chosen_digit(pad, store):
    draw(pad, ZERO)
    assert pad.label_box.layout.display == "none"
    pad.click_wrong()
    assert pad.label_box.layout.display == "flex"
    pad.click_label(6)
    (rec,) = store.records()
    assert (rec.label, rec.predicted) == (6, 0)
    assert pad.label_box.layout.display == "none"
    assert pad.status.value == f"Saved drawing #{rec.id} as 6 (the network said 0). Draw the next one."
    assert "(6: 1)" in pad.accuracy.value
    assert_running_accuracy(pad, store)
    assert_no_errors(pad)


def test_undo_retracts_the_last_save_and_updates_the_counts(pad, store):
    draw(pad, ONE)
    pad.click_correct()
    draw(pad, ZERO)
    pad.click_wrong()
    pad.click_label(8)
    first, second = store.records()
    assert "2 saved drawings (1: 1  8: 1)" in pad.accuracy.value and not pad.undo_button.disabled
    pad.click_undo()
    assert [r.id for r in store.records()] == [first.id]
    assert pad.status.value == f"Removed drawing #{second.id} (saved as 8)."
    assert "1 saved drawing (1: 1)" in pad.accuracy.value
    assert_running_accuracy(pad, store)
    pad.click_undo()
    assert pad.undo_button.disabled and "No saved drawings yet." in pad.accuracy.value
    pad.click_undo()
    assert store.records() == [] and pad.status.value == "Nothing to undo."
    assert_no_errors(pad)


def test_undo_only_retracts_this_pads_own_saves(trained_net, store):
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


def test_buttons_without_a_drawing_do_nothing(pad, store):
    pad.status.value = "earlier message"
    for click in (pad.click_correct, pad.click_wrong, lambda: pad.click_label(3)):
        click()
        assert pad.status.value == "earlier message"
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
    pad.status.value = ""
    pad.click_label(11)  # the same failure again: named in the status, traceback not repeated
    assert pad.status.value.startswith("Error in click_label") and len(pad.output.outputs) == 1


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
    assert pad.net is None and "python -m mnist_scratch train" in pad.message.value
    assert pad.retrain_button.disabled
    draw(pad, ONE)
    assert big_digit(pad) == "no network" and pad.correct_button.disabled and not pad.wrong_button.disabled
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


# ---------------------------------------------------------------- retraining in the background
@pytest.fixture
def gated_retrain(monkeypatch):
    """The real retrain_on_feedback, held at its start until the test opens the gate."""
    import mnist_scratch.retrain as retrain

    gate, real = threading.Event(), retrain.retrain_on_feedback

    def held(*args, **kwargs):
        assert gate.wait(60), "the test never opened the gate"
        return real(*args, **kwargs)

    monkeypatch.setattr(retrain, "retrain_on_feedback", held)
    return gate


def retrain_pad(trained_net, store, tmp_path, mnist_data):
    from mnist_scratch.retrain import RetrainConfig

    return DigitPad(trained_net.copy(), store, checkpoint_path=tmp_path / "ckpt" / "net.npz", retrain_options={
        "config": RetrainConfig(epochs=1.0, min_replay=300, augment=False, style_min_pool=0), "data": mnist_data})


def save_four(pad):
    for strokes, label in [(ONE, 1), (ZERO, 0), (SEVEN, 7), (ONE, 7)]:
        draw(pad, strokes)
        pad.click_wrong()
        pad.click_label(label)


def test_retrain_runs_in_the_background_and_the_pad_stays_usable(trained_net, store, tmp_path, mnist_data,
                                                                 gated_retrain):
    pad = retrain_pad(trained_net, store, tmp_path, mnist_data)
    save_four(pad)
    before = pad.net.params["W1"].copy()
    pad.click_retrain()
    assert pad.retraining and pad.progress.layout.display == "flex"
    assert pad.retrain_button.disabled and pad.undo_button.disabled
    assert pad.status.value.startswith("Retraining on 4 drawings")
    pad.click_retrain()  # a second click while training: ignored
    draw(pad, SEVEN)  # the pad keeps drawing and predicting with the old network meanwhile
    np.testing.assert_allclose(pad.proba, expected_proba(trained_net, SEVEN), atol=1e-6)
    assert not pad.correct_button.disabled
    gated_retrain.set()
    assert pad.wait_for_retrain(120)
    assert_no_errors(pad)
    report = pad.last_report
    assert report.n_user == 4 and report.n_replay == 300
    assert not np.array_equal(pad.net.params["W1"], before)  # the new weights are in the pad's network
    np.testing.assert_array_equal(pad.net.before_retrain["W1"], before)  # where the next retrain starts
    assert pad.progress.layout.display == "none" and pad.progress.value == pad.progress.max > 1
    assert not pad.retrain_button.disabled and not pad.undo_button.disabled
    np.testing.assert_allclose(pad.proba, pad.net.predict_proba(pad.x28.reshape(1, 784))[0], atol=1e-6)
    assert f"{100 * report.after_mnist_acc:.2f} %" in pad.report.value and "MNIST test set" in pad.report.value
    right = sum(r.predicted == r.label for r in store.records())  # the guesses recorded before the labels
    assert f"last 4: {right} of 4 right ({100 * right / 4:.0f} %)" in pad.report.value and "since: no drawings yet" in pad.report.value
    assert "saved as net.npz" in pad.report.value and str(tmp_path) in pad.report.value
    assert f"your hand: {report.style.describe()}, learned with {report.lookalikes:,} MNIST lookalikes" in pad.report.value
    saved = load_network(tmp_path / "ckpt" / "net.npz")
    np.testing.assert_allclose(saved.params["W1"], pad.net.params["W1"])


def test_after_a_retrain_the_report_follows_new_drawings_and_undo_says_it_was_learned(
        trained_net, store, tmp_path, mnist_data):
    pad = retrain_pad(trained_net, store, tmp_path, mnist_data)
    save_four(pad)
    pad.click_retrain()
    assert pad.wait_for_retrain(120)
    draw(pad, ZERO)
    pad.click_wrong()
    pad.click_label(0)  # a new drawing: "since the retrain" counts it
    right = int(store.records()[-1].predicted == 0)
    assert f"since: {right} of 1 right ({100 * right} %)" in pad.report.value
    pad.click_undo()  # the drawing saved after the retrain
    assert pad.status.value.endswith("(saved as 0).") and "since: no drawings yet" in pad.report.value
    pad.click_undo()  # one the network was retrained on
    assert "already learned from it in the last retrain" in pad.status.value and "forgotten" in pad.status.value
    assert "3 saved drawings" in pad.accuracy.value
    assert_no_errors(pad)


def test_a_failing_retrain_is_shown_and_the_pad_recovers(trained_net, store, tmp_path, monkeypatch):
    import mnist_scratch.retrain as retrain

    def broken(*args, **kwargs):
        raise RuntimeError("MNIST is not available")

    monkeypatch.setattr(retrain, "retrain_on_feedback", broken)
    pad = DigitPad(trained_net.copy(), store, checkpoint_path=tmp_path / "net.npz")
    draw(pad, ONE)
    pad.click_correct()
    pad.click_retrain()
    assert pad.wait_for_retrain(60)
    assert pad.status.value == "Error in _retrain: RuntimeError: MNIST is not available (details below)"
    assert pad.progress.layout.display == "none" and not pad.retrain_button.disabled
    assert pad.last_report is None


def test_retrain_without_a_network_says_so(store, tmp_path):
    pad = DigitPad(store=store, checkpoint_path=tmp_path / "missing.npz")
    draw(pad, ONE)
    pad.click_wrong()
    pad.click_label(1)
    pad.click_retrain()
    assert "No network to retrain" in pad.status.value
    assert_no_errors(pad)


def test_the_pad_scrolls_itself_into_view_once_shown(pad):
    """After Run All the notebook shows its last cell; a script output inside the pad brings the pad
    back into view when the browser renders it (checked for real in test_browser.py)."""
    (out,) = pad._scroller.outputs
    script = out["data"]["application/javascript"]
    (own_class,) = [c for c in pad.widget._dom_classes if c.startswith("digitpad-")]
    assert f"document.querySelector('.{own_class}')" in script and "scrollIntoView" in script
    assert pad._scroller.layout.display == "none"

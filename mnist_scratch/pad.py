"""The drawing pad: draw a digit, watch the network's confidences, correct it, retrain.

``DigitPad`` is a thin ipywidgets shell. It records the pointer coordinates of each stroke,
rasterises them in NumPy (:func:`mnist_scratch.strokes.rasterize_strokes`), turns the raster
into an MNIST-style 28 x 28 input (:func:`mnist_scratch.preprocess.preprocess`) and asks the
network. It never reads pixels back from the browser (``sync_image_data`` snapshots can arrive
late or not at all), so the handlers work the same when a test calls them directly::

    pad = DigitPad(net, FeedbackStore(tmp_path / "db.sqlite3"))
    pad.on_mouse_down(140, 40); pad.on_mouse_move(140, 240); pad.on_mouse_up(140, 240)
    pad.proba                      # (10,) float32, the live prediction
    pad.click_wrong(); pad.click_label(1)   # saved, canvas cleared

Every public handler catches its own errors and shows the traceback in ``pad.output`` (an
``Output`` widget inside the pad), so nothing is lost and the kernel's comm keeps working.

DOM classes (for browser tests): ``digitpad`` (root), ``digitpad-canvas``,
``digitpad-prediction``, ``digitpad-status``, ``digitpad-input``, ``digitpad-clear``,
``digitpad-correct``, ``digitpad-wrong``, ``digitpad-undo``, ``digitpad-retrain``,
``digitpad-label-<d>`` for the ten digit buttons.
"""
from __future__ import annotations

import functools
import html
import struct
import time
import traceback
import zlib
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, hold_canvas

from . import paths
from .checkpoint import load_network
from .network import Network
from .preprocess import EmptyDrawingError, preprocess
from .store import FeedbackStore
from .strokes import rasterize_strokes

RASTER_SIZE = 112  # strokes are rasterised at this resolution for prediction

SOURCE = "drawing_pad"
PANEL_SCALE = 5  # the 28 x 28 input is shown 140 x 140 px
INK = "#111111"
PAPER = "#ffffff"


# ---------------------------------------------------------------- pure helpers
def strokes_to_input(strokes, canvas_size: int = 280, brush_width: float = 18.0) -> np.ndarray | None:
    """What the network sees of a drawing: ``(28, 28) float32 in [0, 1]``, or None if it is empty.

    ``strokes`` are pointer coordinates on a ``canvas_size`` square canvas. They are rasterised at
    ``RASTER_SIZE`` (112 x 112) rather than full size, which keeps a prediction under a millisecond;
    the preprocessing reduces to a grid of that order anyway.
    """
    small = min(canvas_size, RASTER_SIZE)
    image = rasterize_strokes(strokes, canvas_size=(canvas_size, canvas_size), width=brush_width,
                              out_size=(small, small))
    try:
        return preprocess(image)
    except EmptyDrawingError:
        return None


def png_bytes(image: np.ndarray) -> bytes:
    """Encode an image as PNG (no pyplot, no Pillow).

    Parameters
    ----------
    image : (H, W) uint8 grayscale or (H, W, 3) uint8 RGB

    Returns
    -------
    bytes, a valid 8-bit PNG file
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"png_bytes needs (H, W) or (H, W, 3) uint8, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    color_type = 0 if image.ndim == 2 else 2
    rows = image.reshape(h, -1)  # (H, W * channels)
    raw = np.hstack([np.zeros((h, 1), np.uint8), rows]).tobytes()  # filter byte 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscale: (H, W[, C]) -> (H * factor, W * factor[, C]), same dtype."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def pixels_rgb(x28: np.ndarray) -> np.ndarray:
    """The network's input as the network sees it, white ink on black.

    x28 : (28, 28) float in [0, 1]  ->  (28, 28, 3) uint8
    """
    gray = np.rint(np.clip(x28, 0.0, 1.0) * 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def saliency_rgb(grad: np.ndarray, x28: np.ndarray) -> np.ndarray:
    """A diverging heatmap of d p / d x: red raises the predicted class, blue lowers it.

    Parameters
    ----------
    grad : (28, 28) float, the gradient of the predicted class probability w.r.t. the pixels
    x28 : (28, 28) float in [0, 1], the input; its ink is drawn as a faint grey shadow

    Returns
    -------
    (28, 28, 3) uint8, white where the gradient is 0
    """
    scale = float(np.max(np.abs(grad)))
    v = np.clip(grad / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(grad, dtype=np.float64)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=2)  # red for +, blue for -
    rgb = np.clip(rgb, 0, 1) * (1 - 0.25 * np.clip(x28, 0, 1))[:, :, None]
    return np.rint(rgb * 255).astype(np.uint8)


def prediction_text(proba: np.ndarray | None) -> str:
    """"Prediction: 7 (93.1 %)" for (10,) probabilities, "Draw a digit" for None."""
    if proba is None:
        return "Draw a digit"
    k = int(np.argmax(proba))
    return f"Prediction: {k} ({100 * float(proba[k]):.1f} %)"


def bars_html(proba: np.ndarray | None) -> str:
    """Ten horizontal confidence bars as HTML; the top class in green, the rest in grey-blue.

    proba : (10,) float in [0, 1] or None (all bars empty)
    """
    p = np.zeros(10) if proba is None else np.asarray(proba, dtype=np.float64)
    top = None if proba is None else int(np.argmax(p))
    rows = []
    for d in range(10):
        color = "#2e9d4f" if d == top else "#7b93b5"
        pct = 100 * float(p[d])
        rows.append(
            '<div style="display:flex;align-items:center;gap:6px;font-family:monospace;height:20px">'
            f'<b style="width:1em">{d}</b>'
            '<div style="width:150px;height:12px;background:#e8e8e8">'
            f'<div style="width:{pct:.1f}%;height:100%;background:{color}"></div></div>'
            f'<span style="width:4.5em;text-align:right">{pct:5.1f} %</span></div>'
        )
    return '<div class="digitpad-bars">' + "".join(rows) + "</div>"


def counts_html(counts: dict[int, int]) -> str:
    """The per-digit count of saved drawings as a one-row HTML table."""
    cells = "".join(f"<td style='padding:0 6px'><b>{d}</b>: {int(counts.get(d, 0))}</td>" for d in range(10))
    total = sum(int(counts.get(d, 0)) for d in range(10))
    return f"<table class='digitpad-counts'><tr><td>Saved drawings ({total}):</td>{cells}</tr></table>"


def report_html(report) -> str:
    """Before/after accuracies of a ``RetrainReport`` as a small HTML table."""
    def pct(v):
        return "n/a" if v is None or np.isnan(v) else f"{100 * v:.2f} %"

    return (
        "<table class='digitpad-report'><tr><th></th><th>before</th><th>after</th></tr>"
        f"<tr><td>MNIST test</td><td>{pct(report.before_mnist_acc)}</td><td>{pct(report.after_mnist_acc)}</td></tr>"
        f"<tr><td>your drawings ({report.n_user})</td><td>{pct(report.before_user_acc)}</td>"
        f"<td>{pct(report.after_user_acc)}</td></tr></table>"
        f"<div>Fine-tuned on {report.n_user} drawings + {report.n_replay} MNIST replay digits "
        f"in {report.seconds:.1f} s; saved to <code>{html.escape(str(report.checkpoint_path))}</code></div>"
    )


def _shows_errors(method):
    """Wrap a handler so that an exception is shown in the pad's Output widget, not raised.

    A traceback identical to the one shown last is not appended again (a broken network would
    otherwise add one per mouse move); the status line names every error.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a widget callback must never raise
            details = traceback.format_exc()
            if details != self._last_traceback:
                self.output.append_stderr(details)
                self._last_traceback = details
            self.status.value = f"Error in {method.__name__}: {type(exc).__name__}: {exc} (details below)"
            return None
    return wrapper


# ---------------------------------------------------------------- the widget
class DigitPad:
    """Draw a digit, see the network's prediction live, save corrections, retrain.

    Parameters
    ----------
    net : Network or None. Default: ``checkpoint.load_network(checkpoint_path)`` if that file exists;
        otherwise the pad still draws and saves labels, and says how to train a network.
    store : FeedbackStore or None. Default: ``FeedbackStore()`` (``paths.feedback_db()``).
    checkpoint_path : where the network is loaded from and where Retrain saves it.
        Default: ``paths.default_checkpoint()``.
    canvas_size : int, the square canvas' side in pixels.
    brush_width : float, the stroke width in canvas pixels (drawn and rasterised alike).
    predict_interval : float, seconds; while a stroke is drawn the network runs at most this often
        (the kernel keeps up with the mouse); it always runs when a stroke ends.
    retrain_options : dict, optional, extra keyword arguments for
        :func:`mnist_scratch.retrain.retrain_on_feedback` (e.g. ``config=RetrainConfig(...)``).

    Attributes
    ----------
    strokes : list of lists of (x, y) float canvas pixels, the drawing so far
    proba : (10,) float32 or None, the latest prediction (None: nothing to classify)
    x28 : (28, 28) float32 in [0, 1] or None, the latest network input
    n_predictions : int, how many times the network has run (for tests of the throttle)
    saved_ids : list of int, the store ids this pad saved and has not undone, oldest first
    widget : the ipywidgets box; displaying the pad displays it
    """

    def __init__(self, net=None, store=None, *, checkpoint_path=None, canvas_size: int = 280,
                 brush_width: float = 18.0, predict_interval: float = 0.08,
                 retrain_options: dict | None = None):
        self.canvas_size = int(canvas_size)
        self.brush_width = float(brush_width)
        self.predict_interval = float(predict_interval)
        self.retrain_options = dict(retrain_options or {})
        self.last_report = None
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else paths.default_checkpoint()
        self.strokes: list[list[tuple[float, float]]] = []
        self.proba = None
        self.x28 = None
        self.n_predictions = 0
        self.saved_ids: list[int] = []  # Undo retracts only these: never another notebook's save
        self._drawing = False
        self._last_traceback: str | None = None
        self._last_predict = -np.inf
        self._build_widgets()
        self.net = net if net is not None else self._load_default_net()
        self.store = store if store is not None else FeedbackStore()
        self._refresh_counts()
        self._show_prediction()

    # ------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        s = self.canvas_size
        self.canvas = Canvas(width=s, height=s, layout=widgets.Layout(
            width=f"{s}px", height=f"{s}px", border="1px solid #999", flex="0 0 auto"))
        self.canvas.add_class("digitpad-canvas")
        self._reset_canvas()
        self.canvas.on_mouse_down(self.on_mouse_down)
        self.canvas.on_mouse_move(self.on_mouse_move)
        self.canvas.on_mouse_up(self.on_mouse_up)
        self.canvas.on_mouse_out(self.on_mouse_up)
        self.canvas.on_touch_start(self.on_touch_start)
        self.canvas.on_touch_move(self.on_touch_move)
        self.canvas.on_touch_end(self.on_touch_end)

        def button(text, cls, handler, style=""):
            b = widgets.Button(description=text, button_style=style, layout=widgets.Layout(width="auto"))
            b.add_class(cls)
            b.on_click(lambda _b: handler())
            return b

        self.clear_button = button("Clear", "digitpad-clear", self.click_clear)
        self.correct_button = button("Correct", "digitpad-correct", self.click_correct, "success")
        self.wrong_button = button("Wrong", "digitpad-wrong", self.click_wrong, "danger")
        self.undo_button = button("Undo last save", "digitpad-undo", self.click_undo)
        self.retrain_button = button("Retrain", "digitpad-retrain", self.click_retrain, "warning")
        self.label_buttons = []
        for d in range(10):
            b = widgets.Button(description=str(d), layout=widgets.Layout(width="34px"))
            b.add_class(f"digitpad-label-{d}")
            b.on_click(lambda _b, d=d: self.click_label(d))
            self.label_buttons.append(b)
        self.label_box = widgets.HBox([widgets.Label("The right digit is:"), *self.label_buttons],
                                      layout=widgets.Layout(display="none"))

        self.prediction = widgets.Label("Draw a digit", style={"font_size": "18px", "font_weight": "bold"})
        self.prediction.add_class("digitpad-prediction")
        self.bars = widgets.HTML()
        self.input_image = widgets.Image(format="png", width=28 * PANEL_SCALE, height=28 * PANEL_SCALE)
        self.input_image.add_class("digitpad-input")
        self.overlay = widgets.ToggleButtons(options=["pixels", "saliency"], value="pixels",
                                             style={"button_width": "80px"})
        self.overlay.observe(lambda _change: self._safe_redraw_panel(), names="value")
        self.counts = widgets.HTML()
        self.status = widgets.Label("")
        self.status.add_class("digitpad-status")
        self.message = widgets.HTML()
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Retrain",
                                            layout=widgets.Layout(display="none"))
        self.report = widgets.HTML()
        self.output = widgets.Output()

        panel = widgets.VBox([widgets.HTML("<b>Network input (28 x 28)</b>"), self.input_image, self.overlay])
        top = widgets.HBox([widgets.VBox([self.canvas, self.clear_button]),
                            widgets.VBox([self.prediction, self.bars], layout=widgets.Layout(margin="0 16px")),
                            panel], layout=widgets.Layout(align_items="flex-start"))
        actions = widgets.HBox([self.correct_button, self.wrong_button, self.undo_button, self.retrain_button])
        self.widget = widgets.VBox([self.message, top, actions, self.label_box, self.counts, self.status,
                                    self.progress, self.report, self.output])
        self.widget.add_class("digitpad")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _load_default_net(self):
        if not self.checkpoint_path.is_file():
            self.message.value = (
                f"<b>No trained network yet</b> (looked for <code>{html.escape(str(self.checkpoint_path))}</code>). "
                "Train one first, e.g. <code>python -m mnist_scratch train</code>, then re-run this "
                "cell. You can still draw and save labelled digits.")
            return None
        try:
            return load_network(self.checkpoint_path)
        except Exception:  # noqa: BLE001 - show a broken checkpoint instead of failing the cell
            self.output.append_stderr(traceback.format_exc())
            self.message.value = (f"<b>Could not load</b> <code>{html.escape(str(self.checkpoint_path))}</code> "
                                  "(details below). Re-train with <code>python -m mnist_scratch train</code>.")
            return None

    # ------------------------------------------------------------ drawing
    def _reset_canvas(self) -> None:
        with hold_canvas():
            self.canvas.clear()
            self.canvas.fill_style = PAPER
            self.canvas.fill_rect(0, 0, self.canvas_size, self.canvas_size)
            self.canvas.stroke_style = INK
            self.canvas.fill_style = INK
            self.canvas.line_width = self.brush_width
            self.canvas.line_cap = "round"
            self.canvas.line_join = "round"

    @_shows_errors
    def on_mouse_down(self, x: float, y: float) -> None:
        """Start a stroke at canvas pixel (x, y) and draw a dot there."""
        self._drawing = True
        self.strokes.append([(float(x), float(y))])
        self.canvas.fill_circle(x, y, self.brush_width / 2)
        self._predict(force=False)

    @_shows_errors
    def on_mouse_move(self, x: float, y: float) -> None:
        """Extend the current stroke (ignored when no button is held)."""
        if not self._drawing:
            return
        self._extend(x, y)
        self._predict(force=False)

    @_shows_errors
    def on_mouse_up(self, x: float, y: float) -> None:
        """End the stroke and always predict, so the throttle never drops the final answer."""
        if not self._drawing:
            return
        self._extend(x, y)
        self._drawing = False
        self._predict(force=True)

    @_shows_errors
    def on_touch_start(self, touches) -> None:
        """Touch start: ``touches`` is a list of (x, y); the first finger draws."""
        if touches:
            self.on_mouse_down(*touches[0])

    @_shows_errors
    def on_touch_move(self, touches) -> None:
        if touches:
            self.on_mouse_move(*touches[0])

    @_shows_errors
    def on_touch_end(self, touches) -> None:
        if not self._drawing:
            return
        if touches:
            self.on_mouse_up(*touches[0])
        else:  # the lifted finger's position is not always reported
            self.on_mouse_up(*self.strokes[-1][-1])

    def _extend(self, x: float, y: float) -> None:
        x0, y0 = self.strokes[-1][-1]
        if (float(x), float(y)) == (x0, y0):
            return
        self.strokes[-1].append((float(x), float(y)))
        self.canvas.stroke_line(x0, y0, x, y)

    @_shows_errors
    def click_clear(self) -> None:
        """Erase the drawing and the prediction."""
        self._clear()
        self.status.value = "Cleared."

    def _clear(self) -> None:
        self.strokes = []
        self._drawing = False
        self._reset_canvas()
        self.label_box.layout.display = "none"
        self._predict(force=True)

    # ------------------------------------------------------------ prediction
    def _predict(self, force: bool) -> None:
        """Rasterise the strokes, preprocess, run the network (at most every predict_interval s)."""
        now = time.monotonic()
        if not force and now - self._last_predict < self.predict_interval:
            return
        self._last_predict = now
        self.x28, self.proba = None, None
        if self.strokes:
            self.x28 = strokes_to_input(self.strokes, self.canvas_size, self.brush_width)
        if self.x28 is not None and self.net is not None:
            self.proba = self.net.predict_proba(self.x28.reshape(1, 784))[0]
            self.n_predictions += 1
        self._show_prediction()

    def _show_prediction(self) -> None:
        if self.net is None and self.x28 is not None:
            self.prediction.value = "No network: train first"
        else:
            self.prediction.value = prediction_text(self.proba)
        self.bars.value = bars_html(self.proba)
        self._redraw_panel()

    def _redraw_panel(self) -> None:
        x28 = np.zeros((28, 28), np.float32) if self.x28 is None else self.x28
        if self.overlay.value == "saliency" and self.proba is not None:
            target = np.array([int(np.argmax(self.proba))])
            grad = self.net.input_gradient(x28.reshape(1, 784), target)[0].reshape(28, 28)
            rgb = saliency_rgb(grad, x28)
        else:
            rgb = pixels_rgb(x28)
        self.input_image.value = png_bytes(upscale(rgb, PANEL_SCALE))

    @_shows_errors
    def _safe_redraw_panel(self) -> None:
        self._redraw_panel()

    # ------------------------------------------------------------ feedback
    def _nothing_drawn(self) -> bool:
        if self.x28 is None:
            self.status.value = "Nothing to save: draw a digit first."
            return True
        return False

    @_shows_errors
    def click_correct(self) -> None:
        """Save the drawing with the predicted label, then clear."""
        if self._nothing_drawn():
            return
        if self.proba is None:
            self.status.value = "No prediction to confirm (no network): use Wrong and pick the digit."
            return
        self._save(int(np.argmax(self.proba)))

    @_shows_errors
    def click_wrong(self) -> None:
        """Reveal the ten digit buttons to pick the right label."""
        if self._nothing_drawn():
            return
        self.label_box.layout.display = "flex"
        self.status.value = "Which digit did you draw? Click it below."

    @_shows_errors
    def click_label(self, digit: int) -> None:
        """Save the drawing with label ``digit`` (0-9), then clear."""
        if self._nothing_drawn():
            return
        if int(digit) != digit or not 0 <= digit <= 9:
            raise ValueError(f"label must be a digit 0-9, got {digit!r}")
        self._save(int(digit))

    def _save(self, label: int) -> None:
        image = np.rint(self.x28 * 255).astype(np.uint8)  # (28, 28) uint8
        predicted = None if self.proba is None else int(np.argmax(self.proba))
        confidence = None if self.proba is None else float(np.max(self.proba))
        record_id = self.store.add(image, label, strokes=[list(s) for s in self.strokes],
                                   predicted=predicted, confidence=confidence, source=SOURCE,
                                   canvas_size=(self.canvas_size, self.canvas_size))
        self.saved_ids.append(record_id)
        self._clear()
        self._refresh_counts()
        self.status.value = f"Saved drawing #{record_id} as {label}"

    @_shows_errors
    def click_undo(self) -> None:
        """Retract the newest drawing this pad saved.

        Only this pad's own saves are undone: with two notebooks open on one store, the other
        notebook's newest drawing is not this user's "last save". A save already retracted
        elsewhere (e.g. by the other pad's owner) is skipped.
        """
        removed = None
        while removed is None and self.saved_ids:
            record_id = self.saved_ids.pop()
            try:
                removed = self.store.retract(record_id, reason="undo")
            except ValueError:  # already retracted elsewhere, or no longer in the file
                continue
        self._refresh_counts()
        if removed is None:
            self.status.value = "Nothing to undo."
        else:
            self.status.value = f"Removed drawing #{removed.id} (saved as {removed.label})"

    def _refresh_counts(self) -> None:
        self.counts.value = counts_html(self.store.counts())

    # ------------------------------------------------------------ retraining
    @_shows_errors
    def click_retrain(self) -> None:
        """Fine-tune the network on the saved drawings plus MNIST replay; save the checkpoint."""
        from .retrain import retrain_on_feedback  # loads MNIST code only when asked

        if self.net is None:
            self.status.value = "No network to retrain: train one first (python -m mnist_scratch train)."
            return
        if len(self.store) == 0:
            self.status.value = "Nothing to retrain on: save some drawings first."
            return
        self.status.value = "Retraining..."
        self.progress.value, self.progress.layout.display = 0, "flex"
        self.retrain_button.disabled = True
        try:
            result = retrain_on_feedback(self.net, self.store, progress=self._on_progress,
                                         checkpoint_path=self.checkpoint_path, **self.retrain_options)
        finally:
            self.retrain_button.disabled = False
        self.last_report = result
        self.report.value = report_html(result)
        self.status.value = f"Retrained on {result.n_user} drawings; saved {result.checkpoint_path}"
        self._predict(force=True)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.max = max(int(total), 1)
        self.progress.value = min(int(done), self.progress.max)


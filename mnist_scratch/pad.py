"""The drawing pad: draw a digit, watch the network think, correct it, retrain it on your hand.

``DigitPad`` is a thin ipywidgets shell. In *pen* mode it records the pointer coordinates of each
stroke, rasterises them in NumPy (:func:`mnist_scratch.strokes.rasterize_strokes`) and turns the
raster into an MNIST-style 28 x 28 input (:func:`mnist_scratch.preprocess.preprocess`); in *grid*
mode the user paints the 28 x 28 input cells directly. Everything it shows is computed by the
plain functions of :mod:`mnist_scratch.pad_view`. It never reads pixels back from the browser, so
a test (or notebook 05) can drive the handlers directly::

    pad = DigitPad(net, FeedbackStore(tmp_path / "db.sqlite3"))
    pad.on_mouse_down(140, 40); pad.on_mouse_move(140, 240); pad.on_mouse_up(140, 240)
    pad.proba                      # (10,) float32, the live prediction
    pad.click_wrong(); pad.click_label(1)   # saved, canvas cleared
    pad.click_retrain(); pad.wait_for_retrain()   # training runs in a background thread

Saving, undo, the honest running accuracy and the background retrain are in
:mod:`mnist_scratch.pad_feedback` (a mixin of ``DigitPad``). Every public handler catches its own errors and shows the traceback in ``pad.output`` (an
``Output`` widget inside the pad), so nothing is lost and the kernel's comm keeps working.

DOM classes (for browser tests): ``digitpad`` (root), ``digitpad-canvas``, ``digitpad-prediction``
(the large digit and its line), ``digitpad-bars``, ``digitpad-status``, ``digitpad-view`` (the
image beside the bars), ``digitpad-accuracy``, ``digitpad-report``, ``digitpad-progress``, and one
per button: ``digitpad-clear``, ``digitpad-undo-stroke``, ``digitpad-correct``, ``digitpad-wrong``,
``digitpad-undo``, ``digitpad-retrain``, ``digitpad-label-<d>``, ``digitpad-mode``,
``digitpad-views``.
"""
from __future__ import annotations

import functools
import html
import threading
import time
import traceback
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from ipycanvas import Canvas, hold_canvas
from ipyevents import Event
from IPython.display import Javascript

from . import pad_view as view
from . import paths
from .pad_feedback import FeedbackActions, shows_errors
from .checkpoint import load_network
from .preprocess import EmptyDrawingError, preprocess
from .store import FeedbackStore
from .strokes import rasterize_strokes

RASTER_SIZE = 112  # strokes are rasterised at this resolution for prediction
VIEW_SCALE = 10  # the 28 x 28 views are shown 280 x 280 px
INK, PAPER, GUIDE = "#111111", "#ffffff", "#c8c8c8"
MODES = {"pen": "Pen", "grid": "28 × 28 grid"}
VIEWS = {"input": "Network input", "saliency": "Saliency", "hidden": "Hidden units"}


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


class DigitPad(FeedbackActions):
    """Draw a digit, see the network's prediction live, save corrections, retrain.

    Parameters
    ----------
    net : Network or None. Default: the checkpoint at ``checkpoint_path`` if that file exists;
        otherwise the pad still draws and saves labels, and says how to train a network.
    store : FeedbackStore or None. Default: ``FeedbackStore()`` (``paths.feedback_db()``).
    checkpoint_path : where the network is loaded from and where Retrain saves it.
        Default: ``paths.default_checkpoint()``.
    canvas_size : int, the square canvas' side in pixels (a multiple of 28 suits grid mode).
    brush_width : float, the pen width in canvas pixels (drawn and rasterised alike).
    predict_interval : float, seconds; while a stroke is drawn the network runs at most this often;
        it always runs when a stroke ends.
    retrain_options : dict, optional, extra keyword arguments for
        :func:`mnist_scratch.retrain.retrain_on_feedback` (e.g. ``config=RetrainConfig(...)``).

    Attributes
    ----------
    mode : "pen" or "grid"
    strokes : list of lists of (x, y) float canvas pixels, the pen drawing so far
    grid : (28, 28) float32 in [0, 1], the painted input in grid mode
    proba : (10,) float32 or None, the latest prediction (None: nothing to classify)
    x28 : (28, 28) float32 in [0, 1] or None, the latest network input
    n_predictions : int, how many times the network has run (for tests of the throttle)
    saved_ids : list of int, the store ids this pad saved and has not undone, oldest first
    last_report : the latest ``RetrainReport`` or None
    widget : the ipywidgets box; displaying the pad displays it
    """

    def __init__(self, net=None, store=None, *, checkpoint_path=None, canvas_size: int = 280,
                 brush_width: float = 18.0, predict_interval: float = 0.08,
                 retrain_options: dict | None = None):
        self.canvas_size = int(canvas_size)
        self.brush_width = float(brush_width)
        self.predict_interval = float(predict_interval)
        self.retrain_options = dict(retrain_options or {})
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else paths.default_checkpoint()
        self.mode = "pen"
        self.strokes: list[list[tuple[float, float]]] = []
        self.grid = np.zeros((28, 28), np.float32)
        self._grid_history: list[np.ndarray] = []  # the grid before each grid stroke, for undo
        self.proba = None
        self.x28 = None
        self.n_predictions = 0
        self.saved_ids: list[int] = []  # Undo retracts only these: never another notebook's save
        self.last_report = None
        self._drawing = False
        self._left_while_drawing = False  # the pointer left the canvas with the button held
        self._erase = False
        self._last_traceback: str | None = None
        self._last_predict = -np.inf
        # The retrain thread swaps the weights in, and predicts, under this lock.
        self._net_lock = threading.RLock()
        self._retrain_thread: threading.Thread | None = None  # the latest retrain's thread
        self._training = False  # True from Retrain until the thread has restored the buttons
        self._learned_through = 0  # the newest store id the last retrain learned from
        self._before_retrain = None  # running accuracy when the last retrain started
        self._build_widgets()
        self.net = net if net is not None else self._load_default_net()
        self.store = store if store is not None else FeedbackStore()
        self._reset_canvas()
        self._refresh_accuracy()
        self._show_prediction()

    # ------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        s = self.canvas_size
        self.canvas = Canvas(width=s, height=s, layout=widgets.Layout(
            width=f"{s}px", height=f"{s}px", border="1px solid var(--jp-border-color1)", flex="0 0 auto"))
        self.canvas.add_class("digitpad-canvas")
        self.canvas.on_mouse_down(self.on_mouse_down)
        self.canvas.on_mouse_move(self.on_mouse_move)
        self.canvas.on_mouse_up(self.on_mouse_up)
        self.canvas.on_mouse_out(self.on_mouse_out)
        self.canvas.on_touch_start(self.on_touch_start)
        self.canvas.on_touch_move(self.on_touch_move)
        self.canvas.on_touch_end(self.on_touch_end)
        # ipycanvas does not say whether a button is held when the pointer comes back in.
        self._enter_events = Event(source=self.canvas, watched_events=["mouseenter"])
        self._enter_events.on_dom_event(self._on_dom_event)

        def button(text, cls, handler, style="", tooltip=""):
            b = widgets.Button(description=text, button_style=style, tooltip=tooltip,
                               layout=widgets.Layout(width="auto"))
            b.add_class(cls)
            b.on_click(lambda _b: handler())
            return b

        self.undo_stroke_button = button("Undo stroke", "digitpad-undo-stroke", self.click_undo_stroke)
        self.clear_button = button("Clear", "digitpad-clear", self.click_clear)
        self.brush = widgets.ToggleButtons(options=[("paint", False), ("erase", True)], value=False,
                                           style={"button_width": "60px"}, layout=widgets.Layout(display="none"))
        self.brush.observe(lambda change: setattr(self, "_erase", bool(change["new"])), names="value")
        self.mode_toggle = widgets.ToggleButtons(options=[(v, k) for k, v in MODES.items()], value="pen",
                                                 style={"button_width": "110px"})
        self.mode_toggle.add_class("digitpad-mode")
        self.mode_toggle.observe(lambda change: self.set_mode(change["new"]), names="value")

        self.correct_button = button("Correct", "digitpad-correct", self.click_correct, "success",
                                     "save this drawing with the predicted digit")
        self.wrong_button = button("Wrong", "digitpad-wrong", self.click_wrong, "danger",
                                   "pick the right digit, then it is saved")
        self.undo_button = button("Undo last save", "digitpad-undo", self.click_undo)
        self.retrain_button = button("Retrain", "digitpad-retrain", self.click_retrain, "warning",
                                     "fine-tune the network on your saved drawings")
        self.label_buttons = []
        for d in range(10):
            b = widgets.Button(description=str(d), layout=widgets.Layout(width="34px"))
            b.add_class(f"digitpad-label-{d}")
            b.on_click(lambda _b, d=d: self.click_label(d))
            self.label_buttons.append(b)
        self.label_box = widgets.HBox([widgets.Label("The right digit is:"), *self.label_buttons],
                                      layout=widgets.Layout(display="none", flex_flow="row wrap"))

        self.prediction = widgets.HTML()
        self.prediction.add_class("digitpad-prediction")
        self.bars = widgets.HTML()
        self.views = widgets.ToggleButtons(options=[(v, k) for k, v in VIEWS.items()], value="input",
                                           style={"button_width": "auto"})
        self.views.add_class("digitpad-views")
        self.views.observe(lambda _change: self._safe_redraw_view(), names="value")
        side = 28 * VIEW_SCALE
        self.view_image = widgets.Image(format="png", width=side, height=side,
                                        layout=widgets.Layout(width=f"{side}px", height=f"{side}px"))
        self.view_image.add_class("digitpad-view")
        self.hidden_act = widgets.Image(format="png")
        self.hidden_push = widgets.Image(format="png")
        self.hidden_push_title = widgets.HTML()
        self.hidden_box = widgets.HBox([
            widgets.VBox([widgets.HTML("<b>activations</b>"), self.hidden_act]),
            widgets.VBox([self.hidden_push_title, self.hidden_push], layout=widgets.Layout(margin="0 0 0 12px"))],
            layout=widgets.Layout(display="none"))
        self.hidden_box.add_class("digitpad-hidden")
        self.view_caption = widgets.HTML(layout=widgets.Layout(width=f"{side}px"))

        self.status = widgets.HTML()
        self.status.add_class("digitpad-status")
        self.message = widgets.HTML()
        self.accuracy = widgets.HTML()
        self.accuracy.add_class("digitpad-accuracy")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Training",
                                            layout=widgets.Layout(display="none", width="280px"))
        self.progress.add_class("digitpad-progress")
        self.report = widgets.HTML()
        self.report.add_class("digitpad-report")
        self.output = widgets.Output()
        self._scroller = widgets.Output(layout=widgets.Layout(display="none"))

        column = functools.partial(widgets.VBox, layout=widgets.Layout(flex="0 0 auto"))
        draw_col = column([self.canvas, widgets.HBox([self.undo_stroke_button, self.clear_button, self.brush])])
        predict_col = column([self.prediction, self.bars])
        view_col = column([self.views, self.view_image, self.hidden_box, self.view_caption])
        row = widgets.Box([draw_col, predict_col, view_col])
        row.add_class("dp-row")
        actions = widgets.Box([self.correct_button, self.wrong_button, self.undo_button, self.retrain_button],
                              layout=widgets.Layout(flex_flow="row wrap"))
        self.widget = widgets.VBox([widgets.HTML(view.PAD_CSS), self.message, self.mode_toggle, row, actions,
                                    self.label_box, self.status, self.progress, self.accuracy, self.report,
                                    self.output, self._scroller])
        self.widget.add_class("digitpad")
        self._dom_id = f"digitpad-{id(self):x}"
        self.widget.add_class(self._dom_id)
        self._scroll_into_view()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _scroll_into_view(self) -> None:
        """Show the pad once it is on the page: after Run All the notebook has scrolled to its last
        cell. A one-off script output inside the pad scrolls the pad's cell into view when the
        output is rendered (JupyterLab and Notebook 7 run script outputs of the running session)."""
        script = ("const pad = document.querySelector('.%s');"
                  "if (pad) { setTimeout(() => pad.scrollIntoView({block: 'start'}), 50); }" % self._dom_id)
        self._scroller.append_display_data(Javascript(script))

    def _load_default_net(self):
        where = html.escape(str(self.checkpoint_path))
        if not self.checkpoint_path.is_file():
            self.message.value = (
                f"<b>No trained network yet</b> (looked for <code>{where}</code>). Train one first, e.g. "
                "<code>python -m mnist_scratch train</code>, then re-run this cell. You can still draw "
                "and save labelled digits.")
            return None
        try:
            return load_network(self.checkpoint_path)
        except Exception:  # noqa: BLE001 - show a broken checkpoint instead of failing the cell
            self.output.append_stderr(traceback.format_exc())
            self.message.value = (f"<b>Could not load</b> <code>{where}</code> (details below). "
                                  "Re-train with <code>python -m mnist_scratch train</code>.")
            return None

    # ------------------------------------------------------------ the canvas
    @property
    def _cell(self) -> float:
        return self.canvas_size / 28

    def _reset_canvas(self) -> None:
        """Paper with a faint guide box (and a placeholder before the first stroke), or the grid."""
        s = self.canvas_size
        with hold_canvas():
            self.canvas.clear()
            if self.mode == "grid":
                self.canvas.fill_style = GUIDE
                self.canvas.fill_rect(0, 0, s, s)
                self._paint_cells(np.argwhere(np.ones((28, 28), bool)))
                return
            self.canvas.fill_style = PAPER
            self.canvas.fill_rect(0, 0, s, s)
            margin = s / 7  # MNIST centres digits in a 20 x 20 box of the 28 x 28 field
            self.canvas.stroke_style = GUIDE
            self.canvas.line_width = 1.5
            self.canvas.set_line_dash([6, 6])
            self.canvas.stroke_rect(margin, margin, s - 2 * margin, s - 2 * margin)
            self.canvas.set_line_dash([])
            if not self.strokes:
                self.canvas.fill_style = "#9a9a9a"
                self.canvas.font = "16px sans-serif"
                self.canvas.text_align = "center"
                self.canvas.fill_text("draw a digit here", s / 2, s / 2)
            self.canvas.stroke_style = INK
            self.canvas.fill_style = INK
            self.canvas.line_width = self.brush_width
            self.canvas.line_cap = "round"
            self.canvas.line_join = "round"
            for stroke in self.strokes:
                self._draw_stroke(stroke)

    def _draw_stroke(self, stroke) -> None:
        if len(stroke) == 1:
            self.canvas.fill_circle(*stroke[0], self.brush_width / 2)
        else:
            self.canvas.stroke_lines(stroke)

    def _paint_cells(self, cells: np.ndarray) -> None:
        """Redraw grid cells ``(K, 2)`` (row, col): ink from white (0) to black (1), 1 px gaps."""
        if len(cells) == 0:
            return
        grey = np.rint(255 * (1 - self.grid[cells[:, 0], cells[:, 1]])).astype(np.uint8)
        self.canvas.fill_styled_rects(cells[:, 1] * self._cell + 0.5, cells[:, 0] * self._cell + 0.5,
                                      self._cell - 1, self._cell - 1, color=np.repeat(grey[:, None], 3, 1))

    @shows_errors
    def set_mode(self, mode: str) -> None:
        """Switch between "pen" (strokes) and "grid" (paint the 28 x 28 cells); clears the drawing."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        self.mode = mode
        self.mode_toggle.value = mode
        self.brush.layout.display = "flex" if mode == "grid" else "none"
        self._clear()
        self.status.value = ("Paint cells with the mouse; switch to erase to remove them. This is exactly "
                             "what the network receives." if mode == "grid" else "")

    # ------------------------------------------------------------ pointer events
    @shows_errors
    def on_mouse_down(self, x: float, y: float) -> None:
        """Start a stroke at canvas pixel (x, y)."""
        if self._drawing:  # a lost mouse-up (released outside): end that stroke first
            self._end_stroke()
        self._drawing = True
        self._left_while_drawing = False
        self.status.value = ""  # a fresh drawing: the last message no longer applies
        if self.mode == "grid":
            self._grid_history.append(self.grid.copy())
            self._last_cell = self._cell_at(x, y)
            self._paint_cells(view.paint_cell(self.grid, *self._last_cell, erase=self._erase))
        else:
            first = not self.strokes
            self.strokes.append([(float(x), float(y))])
            if first:
                self._reset_canvas()  # removes the placeholder text
            else:
                self.canvas.fill_circle(x, y, self.brush_width / 2)
        self._predict(force=False)

    @shows_errors
    def on_mouse_move(self, x: float, y: float) -> None:
        """Extend the current stroke (ignored when no button is held)."""
        if not self._drawing:
            return
        self._extend(x, y)
        self._predict(force=False)

    @shows_errors
    def on_mouse_up(self, x: float, y: float) -> None:
        """End the stroke and always predict, so the throttle never drops the final answer."""
        if not self._drawing:
            return
        self._extend(x, y)
        self._end_stroke()

    @shows_errors
    def on_mouse_out(self, x: float, y: float) -> None:
        """The pointer left the canvas: end the stroke here, but keep drawing if it comes back
        with the button still held (see :meth:`on_mouse_enter`)."""
        if not self._drawing:
            return
        self._extend(x, y)
        self._end_stroke()
        self._left_while_drawing = True

    @shows_errors
    def on_mouse_enter(self, x: float, y: float, buttons: int) -> None:
        """The pointer came back in; ``buttons`` is the DOM bitmask (1: primary button held)."""
        if self._left_while_drawing and int(buttons) & 1:
            self.on_mouse_down(x, y)
        self._left_while_drawing = False

    def _on_dom_event(self, event: dict) -> None:
        if event.get("type") == "mouseenter":
            self.on_mouse_enter(event.get("relativeX", 0), event.get("relativeY", 0), event.get("buttons", 0))

    @shows_errors
    def on_touch_start(self, touches) -> None:
        """Touch start: ``touches`` is a list of (x, y); the first finger draws."""
        if touches:
            self.on_mouse_down(*touches[0])

    @shows_errors
    def on_touch_move(self, touches) -> None:
        if touches:
            self.on_mouse_move(*touches[0])

    @shows_errors
    def on_touch_end(self, touches) -> None:
        if not self._drawing:
            return
        if touches:
            self.on_mouse_up(*touches[0])
        else:  # the lifted finger's position is not always reported
            self._end_stroke()

    def _cell_at(self, x: float, y: float) -> tuple[int, int]:
        return (int(np.clip(y // self._cell, 0, 27)), int(np.clip(x // self._cell, 0, 27)))

    def _extend(self, x: float, y: float) -> None:
        if self.mode == "grid":
            cell = self._cell_at(x, y)
            for r, c in view.cells_between(*self._last_cell, *cell)[1:]:
                self._paint_cells(view.paint_cell(self.grid, r, c, erase=self._erase))
            self._last_cell = cell
            return
        x0, y0 = self.strokes[-1][-1]
        if (float(x), float(y)) == (x0, y0):
            return
        self.strokes[-1].append((float(x), float(y)))
        self.canvas.stroke_line(x0, y0, x, y)

    def _end_stroke(self) -> None:
        self._drawing = False
        self._predict(force=True)

    # ------------------------------------------------------------ clear and undo stroke
    @shows_errors
    def click_clear(self) -> None:
        """Erase the drawing and the prediction."""
        self._clear()
        self.status.value = ""

    @shows_errors
    def click_undo_stroke(self) -> None:
        """Take back the last stroke (pen) or the last painted line of cells (grid)."""
        if self.mode == "grid":
            if self._grid_history:
                self.grid = self._grid_history.pop()
        elif self.strokes:
            self.strokes.pop()
        self._drawing = False
        self._reset_canvas()
        self._predict(force=True)

    def _clear(self) -> None:
        self.strokes = []
        self.grid = np.zeros((28, 28), np.float32)
        self._grid_history = []
        self._drawing = False
        self._left_while_drawing = False
        self._reset_canvas()
        self.label_box.layout.display = "none"
        self._predict(force=True)

    # ------------------------------------------------------------ prediction
    def _predict(self, force: bool) -> None:
        """Compute the input, run the network (at most every predict_interval s unless forced)."""
        now = time.monotonic()
        if not force and now - self._last_predict < self.predict_interval:
            return
        with self._net_lock:  # the retrain thread may predict too, when it finishes
            self._last_predict = now
            self._predict_now()

    def _predict_now(self) -> None:
        self.x28, self.proba = None, None
        if self.mode == "grid":
            self.x28 = self.grid.copy() if self.grid.any() else None
        elif self.strokes:
            self.x28 = strokes_to_input(self.strokes, self.canvas_size, self.brush_width)
        if self.x28 is not None and self.net is not None:
            self.proba = self.net.predict_proba(self.x28.reshape(1, 784))[0]
            self.n_predictions += 1
        self._show_prediction()

    def _show_prediction(self) -> None:
        if self.net is None and self.x28 is not None:
            summary = view.PredictionSummary(None, "no network", "train one first")
        else:
            summary = view.prediction_summary(self.proba)
        note = view.memory_note(self.net, self.x28) if self.proba is not None else ""
        self.prediction.value = view.prediction_html(summary, note)
        self.bars.value = view.bars_html(self.proba)
        self._refresh_buttons()
        self._redraw_view()

    def _redraw_view(self) -> None:
        """The selected view beside the bars: the input, the saliency map or the hidden units."""
        shown = self.views.value
        hidden = shown == "hidden" and self.proba is not None
        self.hidden_box.layout.display = "flex" if hidden else "none"
        self.view_image.layout.display = "none" if hidden else "flex"
        if hidden:
            with self._net_lock:
                a1, push, k = view.hidden_units(self.net, self.x28.reshape(784))
            self.hidden_act.value = view.png_bytes(view.hidden_grid_rgb(a1, signed=False, cell=14))
            self.hidden_push.value = view.png_bytes(view.hidden_grid_rgb(push, signed=True, cell=14))
            self.hidden_push_title.value = f"<b>push on the {k}</b>"
            self.view_caption.value = ('<span class="dp-muted">' + html.escape(view.hidden_caption(a1, push, k))
                                       + " Right: green pushes the digit up, red down (through W2).</span>")
        elif shown == "saliency" and self.proba is not None:
            k = int(np.argmax(self.proba))
            with self._net_lock:
                grad = self.net.saliency(self.x28.reshape(1, 784), np.array([k]))[0].reshape(28, 28)
            self.view_image.value = view.png_bytes(view.saliency_overlay_rgb(grad, self.x28, VIEW_SCALE))
            self.view_caption.value = f"<b>Why a {k}?</b>" + view.SALIENCY_LEGEND
        else:
            self.view_image.value = view.png_bytes(view.input_panel_rgb(self.x28, VIEW_SCALE))
            self.view_caption.value = ('<span class="dp-muted">' + (
                "What the network receives: 28 × 28 pixels, your digit scaled into the middle 20 × 20 box."
                if self.x28 is not None else "Empty: the 28 × 28 cells the network will see. Draw on the canvas.")
                + ("" if shown == "input" or self.x28 is None else " (Draw something to see this view.)")
                + "</span>")

    @shows_errors
    def _safe_redraw_view(self) -> None:
        self._redraw_view()

    def _refresh_buttons(self) -> None:
        """Enable exactly the buttons that make sense now (a disabled button cannot be clicked twice)."""
        drawn = self.x28 is not None
        training = self.retraining
        self.correct_button.disabled = not drawn or self.proba is None
        self.wrong_button.disabled = not drawn
        for b in self.label_buttons:
            b.disabled = not drawn
        self.undo_stroke_button.disabled = not (self.strokes or self._grid_history)
        self.clear_button.disabled = not (self.strokes or self.grid.any())
        self.undo_button.disabled = training or not self.saved_ids
        self.retrain_button.disabled = training or self.net is None

"""The drawing pad's feedback half: save a labelled drawing, undo a save, the honest running
accuracy, and retraining in a background thread.

:class:`FeedbackActions` is a mixin of :class:`mnist_scratch.pad.DigitPad` (which builds the widgets
and handles drawing); it is kept apart so each file reads in one sitting. It uses the pad's widgets
(``status``, ``accuracy``, ``report``, ``progress``, buttons), its current input (``x28``, ``proba``)
and its ``store`` and ``net``.
"""
from __future__ import annotations

import functools
import html
import threading
import traceback
from pathlib import Path

import numpy as np

from . import pad_view as view

SOURCE = "drawing_pad"  # the store's source for pen drawings
GRID_SOURCE = "drawing_pad_grid"  # ... and for digits painted cell by cell
RUNNING_LAST = 20  # the running accuracy covers this many recent drawings


def shows_errors(method):
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


class FeedbackActions:
    """Correct / Wrong / Undo last save / Retrain for :class:`~mnist_scratch.pad.DigitPad`."""

    @shows_errors
    def click_correct(self) -> None:
        """Save the drawing with the predicted label, then clear. Does nothing without a drawing
        (e.g. the second click of a double click), so the last message stays."""
        if self.x28 is None:
            return
        if self.proba is None:
            self.status.value = "No prediction to confirm (no network): use Wrong and pick the digit."
            return
        self._save(int(np.argmax(self.proba)))

    @shows_errors
    def click_wrong(self) -> None:
        """Reveal the ten digit buttons to pick the right label."""
        if self.x28 is None:
            return
        self.label_box.layout.display = "flex"
        self.status.value = "Which digit did you draw? Click it below."

    @shows_errors
    def click_label(self, digit: int) -> None:
        """Save the drawing with label ``digit`` (0-9), then clear."""
        if self.x28 is None:
            return
        if int(digit) != digit or not 0 <= digit <= 9:
            raise ValueError(f"label must be a digit 0-9, got {digit!r}")
        self._save(int(digit))

    def _save(self, label: int) -> None:
        image = np.rint(self.x28 * 255).astype(np.uint8)  # (28, 28) uint8
        predicted = None if self.proba is None else int(np.argmax(self.proba))
        confidence = None if self.proba is None else float(np.max(self.proba))
        if self.mode == "grid":
            record_id = self.store.add(image, label, predicted=predicted, confidence=confidence,
                                       source=GRID_SOURCE, canvas_size=None)  # no strokes, no canvas
        else:
            record_id = self.store.add(image, label, strokes=[list(s) for s in self.strokes],
                                       predicted=predicted, confidence=confidence, source=SOURCE,
                                       canvas_size=(self.canvas_size, self.canvas_size))
        self.saved_ids.append(record_id)
        self._clear()
        self._refresh_accuracy()
        verdict = "" if predicted is None else (" (the network got it right)" if predicted == label
                                                else f" (the network said {predicted})")
        self.status.value = f"Saved drawing #{record_id} as {label}{verdict}. Draw the next one."

    @shows_errors
    def click_undo(self) -> None:
        """Retract the newest drawing this pad saved.

        Only this pad's own saves are undone: with two notebooks open on one store, the other
        notebook's newest drawing is not this user's "last save". A save already retracted
        elsewhere is skipped. If the last retrain learned from the drawing, the status says so:
        the network keeps what it learned until the next retrain (which leaves the drawing out).
        """
        if self.retraining:
            return
        removed = None
        while removed is None and self.saved_ids:
            record_id = self.saved_ids.pop()
            try:
                removed = self.store.retract(record_id, reason="undo")
            except ValueError:  # already retracted elsewhere, or no longer in the file
                continue
        self._refresh_accuracy()
        self._refresh_buttons()
        if removed is None:
            self.status.value = "Nothing to undo."
        elif removed.id <= self._learned_through:
            self.status.value = (f"Removed drawing #{removed.id} (saved as {removed.label}). The network "
                                 "already learned from it in the last retrain; the next Retrain starts again from "
                                 "the network as trained and leaves it out, so it will be forgotten.")
        else:
            self.status.value = f"Removed drawing #{removed.id} (saved as {removed.label})."

    # ------------------------------------------------------------ running accuracy and counts
    def running_accuracy(self):
        """The store's honest running accuracy: predictions recorded before each label was given."""
        return self.store.running_accuracy(last=RUNNING_LAST)

    def accuracy_text(self) -> str:
        """The running-accuracy sentence the pad shows under its buttons."""
        ra = self.running_accuracy()
        return ra.text() if ra.recent_total else "Save a few drawings to see how often the network reads you right."

    def _refresh_accuracy(self) -> None:
        line = self.accuracy_text()
        self.accuracy.value = (f"<div><b>Your drawings:</b> {html.escape(line)}</div>"
                               f'<div class="dp-muted">{html.escape(view.counts_text(self.store.counts()))}</div>')
        if self.last_report is not None:
            self._show_report()

    # ------------------------------------------------------------ retraining
    @property
    def retraining(self) -> bool:
        """True while a retrain runs in the background."""
        return self._training

    @shows_errors
    def click_retrain(self) -> None:
        """Fine-tune the network on the saved drawings plus MNIST replay, in a background thread.

        The pad stays usable meanwhile (drawing and saving work; Retrain and Undo last save are
        disabled); a progress bar follows the steps and disappears at the end. The network is
        trained as a copy and its weights are swapped in at the end, so predictions never see
        half-updated weights.
        """
        if self.retraining:
            return
        if self.net is None:
            self.status.value = "No network to retrain: train one first (python -m mnist_scratch train)."
            return
        records = self.store.records()
        if not records:
            self.status.value = "Nothing to retrain on: save some drawings first."
            return
        self._before_retrain = self.running_accuracy()
        newest = max(r.id for r in records)
        self.progress.value, self.progress.max, self.progress.layout.display = 0, 1, "flex"
        self.status.value = f"Retraining on {len(records)} drawings... you can keep drawing meanwhile."
        with self._net_lock:
            copy = self.net.copy()
        self._training = True
        self._retrain_thread = threading.Thread(target=self._retrain_worker, args=(copy, newest),
                                                name="digitpad-retrain", daemon=True)
        self._retrain_thread.start()
        self._refresh_buttons()

    def wait_for_retrain(self, timeout: float | None = None) -> bool:
        """Block until the background retrain (if any) finishes; True if none is running now."""
        if self._retrain_thread is not None:
            self._retrain_thread.join(timeout)
        return not self.retraining

    def _retrain_worker(self, net_copy, newest_id: int) -> None:
        """The background thread: retrain, then always give the pad back its buttons."""
        try:
            self._retrain(net_copy, newest_id)
        finally:
            self.progress.layout.display = "none"
            self._training = False
            self._refresh_buttons()

    @shows_errors
    def _retrain(self, net_copy, newest_id: int) -> None:
        from .retrain import retrain_on_feedback  # loads MNIST code only when asked

        report = retrain_on_feedback(net_copy, self.store, progress=self._on_progress,
                                     checkpoint_path=self.checkpoint_path, **self.retrain_options)
        with self._net_lock:
            for name, array in self.net.params.items():
                array[...] = net_copy.params[name]
            self.net.memory = net_copy.memory  # the retrain's memory of the drawings (memory.py)
            self.net.before_retrain = net_copy.before_retrain  # where the next retrain starts
        self._learned_through = newest_id
        self._ensure_retrain_mark(newest_id, report.n_user)
        self.last_report = report
        self._refresh_accuracy()
        self.status.value = "Retrained: the network now knows your drawings (see below). Try it again."
        self._predict(force=True)

    def _ensure_retrain_mark(self, newest_id: int, n_drawings: int) -> None:
        """Make sure the store knows the network has learned the drawings up to ``newest_id``
        (``retrain_on_feedback`` records it; this covers a retrain function that does not), so
        "since the last retrain" counts only drawings the network has not learned from."""
        marks = self.store.retrains()
        if not marks or marks[-1].last_drawing_id < newest_id:
            self.store.mark_retrain(last_drawing_id=newest_id, n_drawings=n_drawings)

    def _on_progress(self, done: int, total: int) -> None:
        total = max(int(total), 1)
        if self.progress.max != total:
            self.progress.max = total
        if int(done) * 50 // total != self.progress.value * 50 // total or int(done) >= total:
            self.progress.value = min(int(done), total)  # about 50 updates per run, not one per step

    def _show_report(self) -> None:
        r = self.last_report
        before = self._before_retrain
        after = self.running_accuracy()
        saved = "not saved" if r.checkpoint_path is None else (
            f"saved as {Path(r.checkpoint_path).name}"
            + (f", previous kept as {Path(r.backup_path).name}" if getattr(r, "backup_path", None) else "")
            + f" in {Path(r.checkpoint_path).parent}")
        learned = r.style_text()
        details = (f"Fine-tuned on {r.n_user} drawings + {r.n_replay} MNIST replay digits in {r.seconds:.1f} s; "
                   + (f"{learned}; " if learned else "") + f"{saved}.")
        self.report.value = view.report_html(
            r.before_mnist_acc, r.after_mnist_acc,
            f"last {before.recent_total}: {view.honest_fraction(before.recent_correct, before.recent_total)}",
            f"since: {view.honest_fraction(after.since_retrain_correct, after.since_retrain_total)}",
            details, (_fraction(before.recent_correct, before.recent_total),
                      _fraction(after.since_retrain_correct, after.since_retrain_total)))


def _fraction(correct: int, total: int) -> float | None:
    return correct / total if total else None

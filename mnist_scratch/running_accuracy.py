"""The network's honest record on the user's own drawings, as the feedback store reports it.

The store keeps, for every drawing, what the network predicted *before* the user gave the label,
and a mark for every retrain (:meth:`~.store.FeedbackStore.mark_retrain`). From those two,
:meth:`~.store.FeedbackStore.running_accuracy` counts the last drawings' guesses and the guesses
made since the latest retrain: a figure no network has learned its way into.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainMark:
    """One retrain recorded in the store."""

    id: int
    created_utc: str       # ISO 8601 UTC
    last_drawing_id: int   # the newest drawing the retrained network learned from (0: none)
    n_drawings: int        # how many drawings it learned from
    details: dict          # e.g. {"mnist_before": 0.981, "mnist_after": 0.979, "checkpoint": "net.npz"}


@dataclass(frozen=True)
class RunningAccuracy:
    """The network's record on the user's drawings, each guess made before its label was known.

    Both figures are honest: a drawing is counted with the prediction the network made when the
    user drew it, never re-predicted by a network that has since learned from it.
    """

    last: int                   # the window asked for
    recent_total: int           # drawings in the window (fewer than ``last`` early on)
    recent_correct: int         # ... of which the network got right
    since_retrain_total: int    # drawings saved since the latest retrain (all, if never retrained)
    since_retrain_correct: int
    retrains: int = 0           # how many retrains the store has recorded

    @property
    def recent_accuracy(self) -> float | None:
        return self.recent_correct / self.recent_total if self.recent_total else None

    @property
    def since_retrain_accuracy(self) -> float | None:
        return self.since_retrain_correct / self.since_retrain_total if self.since_retrain_total else None

    def text(self) -> str:
        """E.g. "of your last 20 drawings the network got 14 right; since the last retrain, 19 of 20"."""
        if self.recent_total == 0:
            return "no drawings with a recorded prediction yet"
        n = self.recent_total
        head = (f"of your last {n} drawings" if n > 1 else "of your last drawing") + \
            f" the network got {self.recent_correct} right"
        if self.retrains == 0:
            return head + " (not retrained yet)"
        if self.since_retrain_total == 0:
            return head + "; no drawings since the last retrain yet"
        return head + f"; since the last retrain, {self.since_retrain_correct} of {self.since_retrain_total}"

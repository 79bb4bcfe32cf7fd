"""The training playground of notebook 07: a few seconds of training, redrawn for every setting.

:func:`play` is the logic (plain, tested): train a fresh network on a few thousand digits with one
:class:`PlayConfig` and return the loss of every step, the validation accuracy, and the hidden
activations and gradients to draw as histograms. :class:`Playground` is the thin widget shell:
sliders for the learning rate (log scale), batch size, hidden width and initialisation scale, a
choice of optimizer, and a *Train* button whose handler calls :meth:`Playground.run`.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .network import Network
from .optimizers import make_optimizer

OPTIMIZER_NAMES = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class PlayConfig:
    """One playground run."""

    lr: float = 0.1             # learning rate
    batch_size: int = 64        # digits per step
    hidden: int = 64            # width of the hidden layer (784-hidden-10)
    init_scale: float = 1.0     # multiplies He's initial weights (1 = He, Var(W) = 2 / n_in)
    optimizer: str = "sgd"      # "sgd", "momentum" (0.9) or "adam"
    steps: int = 300            # training steps
    seconds: float | None = None  # stop earlier after this much training time
    seed: int = 0               # initialisation and batches

    def check(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"the learning rate must be a positive number, got {self.lr}")
        if self.batch_size < 1 or self.hidden < 1 or self.steps < 1:
            raise ValueError("batch_size, hidden and steps must be at least 1")
        if not self.init_scale > 0:
            raise ValueError(f"init_scale must be positive, got {self.init_scale}")
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZER_NAMES)}")


@dataclass
class PlayResult:
    """What one run did."""

    config: PlayConfig
    losses: list[float] = field(default_factory=list)   # the batch loss of every step
    val_acc: float = math.nan                            # at the end (NaN if it diverged)
    activations: np.ndarray | None = None                # (n_probe, hidden) hidden outputs at the end
    gradients: dict[str, np.ndarray] = field(default_factory=dict)  # of the last step, keyed like params
    diverged_at: int | None = None                       # the step whose loss became NaN/inf
    seconds: float = 0.0

    def verdict(self) -> str:
        """How the run went, from its losses.

        ``"diverged"``: the loss became inf/NaN. ``"diverges"``: the loss blew up along the way
        (above 3 x its first value) or ended more than 10 % above where it started.
        ``"crawls"``: it fell by less than 10 %. ``"learns"``: it fell by more.
        (Start and end are means of the first and last 10 steps: single batches are noisy.)
        """
        if self.diverged_at is not None:
            return "diverged"
        first, last = np.mean(self.losses[:10]), np.mean(self.losses[-10:])
        if max(self.losses) > 3 * self.losses[0] or last > 1.1 * first:
            return "diverges"
        return "crawls" if last > 0.9 * first else "learns"

    def summary(self) -> str:
        """One line, e.g. ``sgd lr 0.1: 300 steps in 0.4 s, loss 2.31 -> 0.35, validation 89.1 %``."""
        c = self.config
        head = f"{c.optimizer} lr {c.lr:g}, batch {c.batch_size}, hidden {c.hidden}, init x{c.init_scale:g}"
        if self.diverged_at is not None:
            return f"{head}: DIVERGED at step {self.diverged_at} (the loss became inf/NaN)"
        first, last = np.mean(self.losses[:10]), np.mean(self.losses[-10:])
        return (f"{head}: {len(self.losses)} steps in {self.seconds:.1f} s, loss {first:.2f} -> {last:.2f} "
                f"({self.verdict()}), validation {self.val_acc:.1%}")


def play(config: PlayConfig, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
         n_probe: int = 500) -> PlayResult:
    """Train a fresh ``784-hidden-10`` network with ``config``; never raises on divergence.

    x : (N, 784) float32 in [0, 1];  y : (N,) int.  Batches are drawn at random (with replacement)
    from a generator seeded by ``config.seed``. Overflow warnings of a diverging run are silenced:
    the result says where it diverged instead.
    """
    config.check()
    rng = np.random.default_rng(config.seed)
    net = Network((x.shape[1], config.hidden, 10), seed=rng)
    for name, value in net.params.items():
        if name.startswith("W"):
            value *= config.init_scale
    optimizer = make_optimizer(config.optimizer)
    state = optimizer.init_state(net.params)
    result = PlayResult(config)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        for step in range(config.steps):
            batch = rng.integers(0, len(x), config.batch_size)
            loss, grads = net.loss_and_grads(x[batch], y[batch])
            if not math.isfinite(loss) or not all(np.isfinite(g).all() for g in grads.values()):
                result.diverged_at = step
                break
            optimizer.step(net.params, grads, state, config.lr)
            result.losses.append(loss)
            result.gradients = grads
            if config.seconds is not None and time.perf_counter() - start > config.seconds:
                break
        result.seconds = time.perf_counter() - start
        if result.diverged_at is None and all(np.isfinite(v).all() for v in net.params.values()):
            result.val_acc = float(np.mean(net.predict(x_val) == y_val))
            result.activations = net.activations(x_val[:n_probe])[1]
    return result


class Playground:
    """Sliders, an optimizer choice and a *Train* button over :func:`play`; the figure redraws.

    Display it as the last expression of a cell. ``run()`` is what the button calls (tests call it
    directly); the last result is ``self.result``; errors are shown in the output area.
    """

    def __init__(self, x, y, x_val, y_val, steps: int = 300, seconds: float | None = 5.0):
        import ipywidgets as w

        self.data = (x, y, x_val, y_val)
        self.steps, self.seconds = steps, seconds
        self.result: PlayResult | None = None
        style = {"description_width": "110px"}
        layout = w.Layout(width="420px")
        self.lr = w.FloatLogSlider(value=0.1, base=10, min=-4, max=1, step=0.25, description="learning rate",
                                   readout_format=".4g", style=style, layout=layout)
        self.batch_size = w.SelectionSlider(options=[8, 16, 32, 64, 128, 256, 512], value=64,
                                            description="batch size", style=style, layout=layout)
        self.hidden = w.SelectionSlider(options=[4, 8, 16, 32, 64, 128, 256], value=64,
                                        description="hidden units", style=style, layout=layout)
        self.init_scale = w.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.25,
                                           description="init scale (×He)", readout_format=".3g",
                                           style=style, layout=layout)
        self.optimizer = w.Dropdown(options=list(OPTIMIZER_NAMES), value="sgd", description="optimizer",
                                    style=style, layout=layout)
        self.button = w.Button(description="Train", button_style="primary", icon="play")
        self.status = w.HTML()
        self.output = w.Output()
        self.button.on_click(lambda _button: self.run())
        self.widget = w.VBox([self.lr, self.batch_size, self.hidden, self.init_scale, self.optimizer,
                              w.HBox([self.button, self.status]), self.output])

    def config(self) -> PlayConfig:
        """The :class:`PlayConfig` the controls describe right now."""
        return PlayConfig(lr=float(self.lr.value), batch_size=int(self.batch_size.value),
                          hidden=int(self.hidden.value), init_scale=float(self.init_scale.value),
                          optimizer=str(self.optimizer.value), steps=self.steps, seconds=self.seconds)

    def run(self) -> PlayResult | None:
        """Train with the current settings and redraw (the button's handler)."""
        from .course_plots import plot_playground

        self.status.value = "training..."
        self.output.clear_output(wait=True)
        with self.output:
            try:
                self.result = play(self.config(), *self.data)
                self.status.value = self.result.summary()
                from IPython.display import display

                display(plot_playground(self.result))
            except Exception as error:  # shown to the learner, not lost in the kernel log
                self.status.value = f"error: {error}"
                print(f"{type(error).__name__}: {error}")
                return None
        return self.result

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

"""The sizes the notebooks run at: full size for a learner, small and fast for CI.

The notebooks never hard-code how many digits or steps to use; they read one frozen
:class:`NotebookSettings` from :func:`notebook_settings`, which picks the quick values when
``MNIST_SCRATCH_QUICK=1`` (see :func:`mnist_scratch.paths.quick_mode`) and the full ones otherwise.
So the very same notebooks run top to bottom in well under a minute each in the test suite and
at full size on a learner's machine.

    from mnist_scratch.notebook_settings import notebook_settings
    settings = notebook_settings()
    config = settings.config("sgd")          # a TrainConfig sized for this mode
    path = settings.checkpoint("03_adam")    # <data root>/checkpoints/notebook_03_adam.npz
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .checkpoint import load_network
from .data import load_dataset, train_val_split
from .network import Network
from .train import RECIPES, TrainConfig, train


@dataclass(frozen=True)
class NotebookSettings:
    """Knobs the notebooks read. Every count is an upper bound: a smaller data set wins."""

    quick: bool                # True when MNIST_SCRATCH_QUICK is set: CI-sized runs
    n_train: int | None        # training digits for notebooks 03-04 (None: the whole training split)
    n_stats: int | None        # digits for the pixel statistics of notebook 02 (None: all)
    gd_steps: int              # steps of full-batch gradient descent, the classic recipe
    gd_eval_every: int         # steps between history records of the gradient-descent run
    epochs: float              # epochs of each minibatch optimizer (SGD, momentum, Adam)
    eval_every: int            # steps between history records of minibatch runs
    resume_steps: int          # total steps of the exact-resume demonstration (interrupted halfway)
    build_n_train: int | None  # digits the learner's own training loop runs on (notebook 06)
    build_epochs: int          # epochs of the learner's training loop
    sweep_n_train: int         # digits for the learning-rate sweep and the playground (notebook 07)
    sweep_steps: int           # steps of each run of the learning-rate sweep
    overfit_n: int             # the small training set that overfits (notebook 07)
    overfit_epochs: float      # epochs of each regularisation run
    play_steps: int            # steps of a playground run
    n_val: int | None          # validation digits for the experiments (None: all 5,000)
    n_gallery: int = 32        # digits in a sample grid
    seed: int = 0              # initialisation, shuffling and augmentation

    def config(self, recipe: str) -> TrainConfig:
        """The named recipe of :data:`mnist_scratch.train.RECIPES`, sized for this mode.

        ``"classic"`` (full-batch gradient descent) runs ``gd_steps`` steps; ``"sgd"``,
        ``"momentum"``, ``"adam"`` and ``"default"`` run ``epochs`` epochs.
        """
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
        base = RECIPES[recipe]
        if base.batch_size is None:  # full batch: one step is one epoch, count steps
            return dataclasses.replace(base, steps=self.gd_steps, eval_every=self.gd_eval_every,
                                       seed=self.seed)
        return dataclasses.replace(base, epochs=self.epochs, steps=None, eval_every=self.eval_every,
                                   seed=self.seed)

    def resume_config(self) -> TrainConfig:
        """The default recipe (Adam, cosine schedule, augmentation) cut to ``resume_steps`` steps.

        Augmentation and shuffling draw random numbers every step, so an exact resume has to
        restore the generator's state too: a strict test of the checkpoint.
        """
        return dataclasses.replace(RECIPES["default"], steps=self.resume_steps,
                                   eval_every=max(1, self.resume_steps // 10), seed=self.seed)

    def checkpoint(self, name: str) -> Path:
        """Where a notebook keeps its checkpoint ``name``: ``<data root>/checkpoints/notebook_<name>.npz``.

        Under the package's data root (``MNIST_SCRATCH_HOME`` in tests), never in the source tree.
        """
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"checkpoint name must be a plain file stem, got {name!r}")
        return paths.checkpoint_dir() / f"notebook_{name}.npz"

    def drawing_network(self) -> Network:
        """The network for the drawing pad: the one ``python -m mnist_scratch train`` saved, if any.

        Otherwise train the default recipe now (with a progress bar; the README gives the measured
        training time) and save it where ``train`` would, so the next start is instant. In quick mode
        the stand-in is trained on ``n_train`` digits for ``epochs`` epochs and saved as a notebook
        checkpoint instead, never as the default one.
        """
        target = paths.default_checkpoint()
        if target.exists():
            return load_network(target)
        if self.quick and self.checkpoint("05_quick").exists():
            return load_network(self.checkpoint("05_quick"))
        data = load_dataset()
        x_train, y_train, x_val, y_val = train_val_split(data.x_train, data.y_train)
        config = self.config("default") if self.quick else RECIPES["default"]
        net = Network(seed=self.seed)
        train(net, x_train[:self.n_train], y_train[:self.n_train], config, x_val=x_val, y_val=y_val,
              checkpoint_path=self.checkpoint("05_quick") if self.quick else target)
        return net

    def describe(self) -> str:
        """One line for the top of a notebook: which mode and the main sizes."""
        mode = "QUICK mode (MNIST_SCRATCH_QUICK=1): small, fast settings" if self.quick else "full size"
        train = "all" if self.n_train is None else f"{self.n_train:,}"
        return (f"{mode}: training digits {train}, gradient descent {self.gd_steps} steps, "
                f"{self.epochs:g} epochs per minibatch optimizer")


FULL = NotebookSettings(quick=False, n_train=None, n_stats=None, gd_steps=200, gd_eval_every=10,
                        epochs=10, eval_every=100, resume_steps=1000, build_n_train=None, build_epochs=1,
                        sweep_n_train=10_000, sweep_steps=300, overfit_n=1_000, overfit_epochs=40,
                        play_steps=600, n_val=None)
QUICK = NotebookSettings(quick=True, n_train=10_000, n_stats=10_000, gd_steps=40, gd_eval_every=4,
                         epochs=2, eval_every=10, resume_steps=100, build_n_train=10_000, build_epochs=1,
                         sweep_n_train=2_000, sweep_steps=40, overfit_n=500, overfit_epochs=8,
                         play_steps=60, n_val=1_000)


def notebook_settings(quick: bool | None = None) -> NotebookSettings:
    """The settings for this run: :data:`QUICK` if ``quick`` (default: ``paths.quick_mode()``), else :data:`FULL`."""
    if quick is None:
        quick = paths.quick_mode()
    return QUICK if quick else FULL

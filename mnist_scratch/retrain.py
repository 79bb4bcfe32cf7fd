"""Fine-tuning on the user's own drawings without forgetting MNIST.

The user's drawings are few (tens to hundreds); trained on alone, the network would bend to them
and lose MNIST. So each fine-tuning run mixes every saved drawing with a *replay* of MNIST
training digits (``replay_ratio`` per drawing, at least ``min_replay``), and trains briefly with a
small learning rate. Accuracy on the MNIST test set and on the drawings is measured before and
after, so the user sees both what was gained and what (if anything) was lost.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .checkpoint import check_network_shape, save_network_keeping_backup
from .data import MnistData, load_dataset
from .network import Network
from .train import TrainConfig, accuracy, train


@dataclass(frozen=True)
class RetrainConfig:
    epochs: float = 3.0        # passes over the mixed set
    lr: float = 5e-4           # Adam, constant: small, so MNIST knowledge is kept
    batch_size: int = 64
    replay_ratio: int = 10     # MNIST digits replayed per user drawing
    min_replay: int = 2000     # ... but at least this many
    augment: bool = True
    seed: int = 0


@dataclass
class RetrainReport:
    n_user: int
    n_replay: int
    before_mnist_acc: float
    after_mnist_acc: float
    before_user_acc: float
    after_user_acc: float
    seconds: float
    checkpoint_path: Path | None
    backup_path: Path | None

    def summary(self) -> str:
        """A few lines for the CLI and the drawing pad."""
        lines = [
            f"fine-tuned on {self.n_user} of your drawings + {self.n_replay} MNIST digits in {self.seconds:.1f} s",
            f"MNIST test accuracy:     {100 * self.before_mnist_acc:6.2f} % -> {100 * self.after_mnist_acc:6.2f} %",
            f"your drawings (trained on): {100 * self.before_user_acc:6.2f} % -> {100 * self.after_user_acc:6.2f} %",
        ]
        if self.checkpoint_path is not None:
            lines.append(f"saved: {self.checkpoint_path}"
                         + (f" (previous kept as {self.backup_path.name})" if self.backup_path else ""))
        return "\n".join(lines)


def mix_with_replay(x_user: np.ndarray, y_user: np.ndarray, x_mnist: np.ndarray, y_mnist: np.ndarray,
                    config: RetrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """The user's digits plus a random replay sample of MNIST digits.

    x_user : (U, 784) float32;  x_mnist : (M, 784) float32  ->  x : (U + R, 784), y : (U + R,), R
    """
    n_replay = min(len(y_mnist), max(config.min_replay, config.replay_ratio * len(y_user)))
    pick = rng.choice(len(y_mnist), size=n_replay, replace=False)
    x = np.concatenate([x_user.astype(np.float32), x_mnist[pick]])
    y = np.concatenate([y_user.astype(np.int64), y_mnist[pick]])
    return x, y, n_replay


def retrain_on_feedback(net: Network, store, *, config: RetrainConfig = RetrainConfig(),
                        data: MnistData | None = None, data_dir=None,
                        progress: Callable[[int, int], None] | None = None,
                        checkpoint_path: str | os.PathLike | None = None) -> RetrainReport:
    """Fine-tune ``net`` in place on ``store``'s drawings mixed with MNIST replay.

    ``store`` is a :class:`~mnist_scratch.store.FeedbackStore` (anything with ``load() -> (x, y)``).
    ``data`` (or ``data_dir``) gives MNIST; ``progress(done, total)`` follows the steps. If
    ``checkpoint_path`` is given the result is saved there, and a file already there is kept as a
    timestamped backup rather than overwritten. Raises ``ValueError`` when there are no drawings.
    """
    check_network_shape(net.sizes, "retrain")  # only 784 -> 10 networks can learn the user's digits
    x_user, y_user = store.load()
    if len(y_user) == 0:
        raise ValueError("there are no saved drawings to learn from yet: draw some and press Correct or Wrong")
    data = data if data is not None else load_dataset(data_dir)
    before_mnist = accuracy(net, data.x_test, data.y_test)
    before_user = accuracy(net, x_user, y_user)
    rng = np.random.default_rng(config.seed)
    x, y, n_replay = mix_with_replay(x_user, y_user, data.x_train, data.y_train, config, rng)
    train_config = TrainConfig(optimizer="adam", lr=config.lr, schedule="constant",
                               batch_size=min(config.batch_size, len(y)), epochs=config.epochs,
                               augment=config.augment, seed=config.seed)
    result = train(net, x, y, train_config, progress=False, on_step=progress)
    saved = backup = None
    if checkpoint_path is not None:
        saved = Path(checkpoint_path)
        # The previous network is kept as a backup; at every instant `saved` holds a whole network.
        backup = save_network_keeping_backup(net, saved, "before-retrain",
                                             metadata={"retrained_on_drawings": len(y_user), "replay": n_replay})
    return RetrainReport(len(y_user), n_replay, before_mnist, accuracy(net, data.x_test, data.y_test),
                         before_user, accuracy(net, x_user, y_user), result.seconds, saved, backup)

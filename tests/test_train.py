"""The training loop, checkpoints and exact resume."""
import dataclasses
import functools
import math

import numpy as np
import pytest

from mnist_scratch import Network
from mnist_scratch import batches
from mnist_scratch import train as train_module
from mnist_scratch.augment import AugmentConfig
from mnist_scratch.checkpoint import CheckpointError, load_checkpoint, save_network
from mnist_scratch.train import (RECIPES, TrainConfig, TrainingDiverged, accuracy, plan, read_history,
                                 train)


@pytest.fixture(scope="module")
def small(mnist_data):
    """2,000 training digits and 500 validation digits."""
    return mnist_data.x_train[:2000], mnist_data.y_train[:2000], mnist_data.x_train[-500:], mnist_data.y_train[-500:]


def test_plan_counts_steps():
    assert plan(TrainConfig(batch_size=100, epochs=2), 1050) == (100, 10, 20)
    assert plan(TrainConfig(batch_size=None, steps=7), 1050) == (1050, 1, 7)
    with pytest.raises(ValueError, match="batch_size must be in 1..50"):
        plan(TrainConfig(batch_size=64), 50)


# ------------------------------------------------------------------------------- training
@pytest.mark.parametrize("recipe", ["classic", "sgd", "momentum", "adam", "default"])
def test_every_recipe_learns(recipe, small):
    x, y, xv, yv = small
    config = dataclasses.replace(RECIPES[recipe], steps=100, epochs=1)  # momentum needs ~100 on the subset
    net = Network(seed=0)
    result = train(net, x, y, config, x_val=xv, y_val=yv, progress=False)
    assert result.step == 100 and result.history[-1]["step"] == 100
    assert result.history[-1]["val_acc"] > 0.75, result.history[-1]
    assert set(result.history[0]) == {"step", "epoch", "loss", "train_acc", "val_acc", "lr", "seconds"}


def test_weight_decay_shrinks_weights(small):
    x, y, _, _ = small
    norms = []
    for decay in (0.0, 0.5):
        net = Network(seed=0)
        train(net, x, y, TrainConfig(optimizer="sgd", lr=0.1, epochs=2, augment=False, weight_decay=decay),
              progress=False)
        norms.append(np.linalg.norm(net.params["W1"]))
    assert norms[1] < 0.9 * norms[0]


@pytest.mark.parametrize("config", [
    TrainConfig(optimizer="adam", batch_size=64, epochs=2, augment=True, schedule="cosine"),
    TrainConfig(optimizer="momentum", lr=0.02, batch_size=50, epochs=2, augment=False, weight_decay=1e-3),
    TrainConfig(optimizer="gd", lr=0.3, batch_size=None, steps=12, augment=False, schedule="linear"),
    TrainConfig(batch_size=64, epochs=2, augment_config=AugmentConfig(thicken=0.3, elastic_alpha=2.0, bank_size=32)),
], ids=["adam-augment", "momentum-decay", "full-batch-gd", "thicken-elastic"])
def test_resume_is_bit_identical(config, small, tmp_path):
    x, y, xv, yv = small
    _, per_epoch, total = plan(config, len(y))
    stop = total // 2 + 3 if per_epoch > 1 else total // 2  # mid-epoch when there are epochs
    one_run = Network(seed=0)
    straight = train(one_run, x, y, config, x_val=xv, y_val=yv, progress=False)

    first = Network(seed=0)
    path = tmp_path / "run.npz"
    train(first, x, y, config, x_val=xv, y_val=yv, checkpoint_path=path, until_step=stop, progress=False)
    assert load_checkpoint(path)[1]["step"] == stop
    resumed = Network(seed=99)  # different init: everything must come from the checkpoint
    result = train(resumed, x, y, config, x_val=xv, y_val=yv, checkpoint_path=path, resume=True, progress=False)
    assert result.step == total
    np.testing.assert_array_equal(resumed.parameter_vector(), one_run.parameter_vector())
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(result.history) == strip(straight.history)
    assert strip(read_history(path)) == strip(straight.history)


def test_resume_with_more_epochs_continues(small, tmp_path):
    x, y, _, _ = small
    config = TrainConfig(optimizer="adam", schedule="constant", epochs=1, augment=False)
    path = tmp_path / "run.npz"
    train(Network(seed=0), x, y, config, checkpoint_path=path, progress=False)
    longer = dataclasses.replace(config, epochs=2)
    straight = Network(seed=0)
    train(straight, x, y, longer, progress=False)
    resumed = Network(seed=0)
    train(resumed, x, y, longer, checkpoint_path=path, resume=True, progress=False)
    np.testing.assert_array_equal(resumed.parameter_vector(), straight.parameter_vector())


def test_resume_on_other_data_warns(small, tmp_path):
    x, y, _, _ = small
    config = TrainConfig(steps=10, augment=False)
    path = tmp_path / "run.npz"
    train(Network(seed=0), x, y, config, checkpoint_path=path, until_step=5, progress=False)
    with pytest.warns(UserWarning, match="different training data"):
        train(Network(seed=0), x[::-1].copy(), y[::-1].copy(), config, checkpoint_path=path, resume=True,
              progress=False)


def test_resume_with_other_settings_or_architecture_fails(small, tmp_path):
    x, y, _, _ = small
    config = TrainConfig(steps=10, augment=False)
    path = tmp_path / "run.npz"
    train(Network(seed=0), x, y, config, checkpoint_path=path, until_step=5, progress=False)
    with pytest.raises(CheckpointError, match="other settings \\(lr\\)"):
        train(Network(seed=0), x, y, dataclasses.replace(config, lr=0.1), checkpoint_path=path, resume=True,
              progress=False)
    with pytest.raises(CheckpointError, match="cannot resume into a 784-32-10 network"):
        train(Network((784, 32, 10), seed=0), x, y, config, checkpoint_path=path, resume=True, progress=False)
    bare = save_network(Network(seed=0), tmp_path / "bare.npz")
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(Network(seed=0), x, y, config, checkpoint_path=bare, resume=True, progress=False)


def test_divergence_stops_and_never_saves_broken_parameters(small, tmp_path):
    x, y, _, _ = small
    path = tmp_path / "run.npz"
    config = TrainConfig(optimizer="sgd", lr=0.05, steps=4, augment=False, schedule="constant")
    train(Network(seed=0), x, y, config, checkpoint_path=path, progress=False)
    good = path.read_bytes()
    # One step to inf: the save after it refuses, the good file stays byte for byte.
    with pytest.raises(TrainingDiverged, match="NaN or inf|became"), np.errstate(all="ignore"):
        train(Network(seed=0), x, y, dataclasses.replace(config, lr=1e39, checkpoint_every=1),
              checkpoint_path=path, progress=False)
    assert path.read_bytes() == good
    # Finite garbage first, NaN a step later: the loss check stops it, the last save is finite.
    with pytest.raises(TrainingDiverged, match="smaller learning rate") as info, np.errstate(all="ignore"):
        train(Network(seed=0), x, y, dataclasses.replace(config, lr=1e30, steps=50, checkpoint_every=1),
              checkpoint_path=path, progress=False)
    arrays, meta = load_checkpoint(path)
    assert all(np.isfinite(v).all() for k, v in arrays.items() if not k.startswith("train."))
    assert f"at step {meta['step']}" in str(info.value)


def test_checkpoint_every_writes_periodically(small, tmp_path):
    x, y, _, _ = small
    path = tmp_path / "run.npz"
    train(Network(seed=0), x, y, TrainConfig(steps=9, checkpoint_every=4, augment=False), checkpoint_path=path,
          until_step=6, progress=False)
    assert load_checkpoint(path)[1]["step"] == 6  # the final save of this (interrupted) run
    train(Network(seed=0), x, y, TrainConfig(steps=9, checkpoint_every=4, augment=False), checkpoint_path=path,
          resume=True, progress=False)
    assert load_checkpoint(path)[1]["step"] == 9
    assert not [p for p in tmp_path.iterdir() if p.name != "run.npz"]  # no temp files left


def test_accuracy_helper(small):
    x, y, _, _ = small
    net = Network(seed=0)
    assert accuracy(net, x, y) == pytest.approx(np.mean(net.predict(x) == y))
    assert math.isnan(accuracy(net, x[:0], y[:0]))


def test_bad_training_input(small):
    x, y, _, _ = small
    with pytest.raises(ValueError, match=r"x must be \(N, 784\)"):
        train(Network(seed=0), x[:, :700], y, TrainConfig(steps=1), progress=False)
    with pytest.raises(ValueError, match="learning rate"):
        train(Network(seed=0), x, y, TrainConfig(steps=1, lr=-1), progress=False)


@pytest.mark.parametrize("how", [dict(prefetch=False), dict(prefetch=True, workers=1, process=False),
                                 dict(prefetch=True, workers=2, process=False), dict(prefetch=True, process=True)],
                         ids=["in-loop", "one-thread-ahead", "two-threads-ahead", "worker-process"])
def test_making_batches_ahead_changes_nothing(how, small, monkeypatch):
    x, y, _, _ = small
    config = TrainConfig(batch_size=64, epochs=2, augment_config=AugmentConfig(thicken=0.3, bank_size=32))
    reference = Network(seed=0)
    train(reference, x, y, config, progress=False)
    monkeypatch.setattr(train_module, "batch_source", functools.partial(batches.batch_source, **how))
    net = Network(seed=0)
    train(net, x, y, config, progress=False)
    np.testing.assert_array_equal(net.parameter_vector(), reference.parameter_vector())


def test_training_uses_one_blas_thread_and_restores_the_setting(small):
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    x, y, _, _ = small
    before, during = blas_threads(), []
    train(Network(seed=0), x, y, TrainConfig(steps=3, augment=False), progress=False,
          on_step=lambda step, total: during.append(blas_threads()))
    assert during and all(threads == [1] * len(before) for threads in during)
    assert blas_threads() == before

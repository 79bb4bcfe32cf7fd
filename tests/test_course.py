"""The course helpers: real source display, the tiny worked network, finite differences,
initialisation statistics, the experiments and the playground (called without a browser)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from mnist_scratch import course, course_plots, experiments, network, playground
from mnist_scratch.network import Network
from mnist_scratch.train import TrainConfig


# ----------------------------------------------------------------------------- show_source
def test_show_source_is_the_real_source():
    shown = course.show_source(network.softmax)
    assert shown.code == course.source_of(network.softmax)
    assert shown.code.startswith("def softmax(")
    assert "network.py" in shown.title and "softmax" in shown.title
    html = shown._repr_html_()
    assert "<pre" in html and "softmax" in html and "<details>" not in html
    assert "<details>" in course.show_source(network.relu, collapsed=True)._repr_html_()


def test_show_source_of_a_method_is_dedented():
    shown = course.show_source(Network.backward)
    assert shown.code.startswith("def backward(self")
    assert "Network.backward" in shown.title


def test_show_source_refuses_objects_without_source():
    with pytest.raises(ValueError, match="no Python source"):
        course.show_source(np.add)


# ----------------------------------------------------------------------------- the tiny network
def test_tiny_network_matches_the_hand_computation_of_notebook_01():
    """The numbers written out by hand in notebook 01's markdown."""
    v = course.tiny_values()
    np.testing.assert_allclose(v["z1"], [[1.0, -0.5]])
    np.testing.assert_allclose(v["a1"], [[1.0, 0.0]])
    np.testing.assert_allclose(v["z2"], [[1.0, -1.0]])
    np.testing.assert_allclose(v["p"], [[0.8808, 0.1192]], atol=5e-5)
    assert float(v["loss"]) == pytest.approx(2.1269, abs=5e-5)
    np.testing.assert_allclose(v["dp"], [[0.0, -8.389]], atol=5e-4)
    np.testing.assert_allclose(v["dz2"], [[0.8808, -0.8808]], atol=5e-5)
    np.testing.assert_allclose(v["da1"], [[1.7616, -1.3212]], atol=5e-5)
    np.testing.assert_allclose(v["dz1"], [[1.7616, 0.0]], atol=5e-5)
    np.testing.assert_allclose(v["dW1"], [[1.7616, 0.0], [3.5232, 0.0]], atol=5e-5)
    np.testing.assert_allclose(v["db1"], [1.7616, 0.0], atol=5e-5)
    np.testing.assert_allclose(v["dW2"], [[0.8808, -0.8808], [0.0, 0.0]], atol=5e-5)
    np.testing.assert_allclose(v["db2"], [0.8808, -0.8808], atol=5e-5)


def test_tiny_gradients_agree_with_finite_differences():
    net = course.tiny_network()
    numeric = course.numerical_gradients(net, course.TINY_X, course.TINY_Y)
    grads = net.loss_and_grads(course.TINY_X, course.TINY_Y)[1]
    assert course.relative_error(numeric, grads) < 1e-8


def test_numerical_gradients_restore_every_parameter(rng):
    net = Network((784, 4, 10), seed=0, dtype=np.float64)
    before = {k: v.copy() for k, v in net.params.items()}
    x, y = rng.random((3, 784)), np.array([1, 2, 3])
    numeric = course.numerical_gradients(net, x, y)
    for name in before:
        np.testing.assert_array_equal(net.params[name], before[name])
    assert course.relative_error(numeric, net.loss_and_grads(x, y)[1]) < 1e-6
    broken = {k: v * (2 if k == "b1" else 1) for k, v in numeric.items()}
    assert course.relative_error(broken, numeric) > 1e-3


def test_init_scale_activations_vanish_and_explode_as_notebook_01_says(rng):
    x = (rng.random((300, 784)) < 0.2).astype(np.float32)
    acts = course.init_scale_activations(x, sizes=(784, 128, 128, 128, 128, 10))
    rms = {k: np.array([np.sqrt(np.mean(np.square(a, dtype=np.float64))) for a in v]) for k, v in acts.items()}
    he, lecun, big = rms.values()
    assert len(he) == 4  # hidden layers only
    assert np.all(lecun[1:] / lecun[:-1] < 0.9)     # variance 1/n: shrinks every layer (about 0.71)
    assert np.all(big[1:] / big[:-1] > 1.2)         # variance 4/n: grows every layer (about 1.41)
    assert 0.7 < he[-1] / he[0] < 1.5               # He: roughly steady


# ----------------------------------------------------------------------------- experiments
def test_nearest_mean_is_the_closest_template():
    means = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]], dtype=np.float32)
    x = np.array([[0.1, 0.2], [0.9, 0.7], [4.0, 0.5], [2.6, 0.0]], dtype=np.float32)
    pred = experiments.nearest_mean_predict(means, x)
    brute = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(pred, brute)
    assert pred.dtype == np.int64


def test_class_means():
    x = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]], dtype=np.float32)
    means = experiments.class_means(x, np.array([0, 0, 2]), n_classes=3)
    np.testing.assert_allclose(means, [[2.0, 1.0], [0.0, 0.0], [5.0, 5.0]])


def test_effective_lr_and_velocity():
    assert experiments.effective_lr(0.01, 0.9) == pytest.approx(0.1)
    v = experiments.momentum_velocity(1.0, 0.9, steps=200)
    assert v[0] == 1.0 and v[1] == pytest.approx(1.9) and v[-1] == pytest.approx(10.0, rel=1e-6)


@pytest.fixture(scope="module")
def small_mnist(mnist_data):
    from mnist_scratch.data import train_val_split

    x_tr, y_tr, x_val, y_val = train_val_split(mnist_data.x_train, mnist_data.y_train, seed=0)
    return x_tr[:2000], y_tr[:2000], x_val[:500], y_val[:500]


def test_baselines_order(small_mnist, mnist_data):
    x, y, _, _ = small_mnist
    config = TrainConfig(optimizer="adam", lr=1e-3, schedule="constant", epochs=3, augment=False)
    results = experiments.baselines(x, y, mnist_data.x_test[:1000], mnist_data.y_test[:1000], config)
    assert list(results) == ["chance", "most frequent digit", "nearest class mean",
                             "softmax regression 784-10", "network 784-64-10"]
    assert results["chance"] == 0.1
    assert results["nearest class mean"] > 0.5 > results["most frequent digit"]
    assert results["softmax regression 784-10"] > results["nearest class mean"] - 0.05


def test_lr_sweep_marks_crawling_and_diverging_rates(small_mnist):
    x, y, x_val, y_val = small_mnist
    points = experiments.lr_sweep(x, y, x_val, y_val, optimizers=("sgd",), lrs=(1e-5, 0.1, 1e4), steps=40)
    assert [(p.optimizer, p.lr) for p in points] == [("sgd", 1e-5), ("sgd", 0.1), ("sgd", 1e4)]
    crawl, good, huge = points
    assert good.val_acc > crawl.val_acc + 0.2
    assert huge.diverged or huge.val_acc < 0.3
    assert experiments.best_lr(points)["sgd"] is good


def test_regularisation_runs_and_gap_table(small_mnist):
    x, y, x_val, y_val = small_mnist
    histories = experiments.regularisation_runs(
        x[:256], y[:256], x_val, y_val, epochs=3,
        variants={"none": {}, "weight decay": {"weight_decay": 1e-2}})
    assert list(histories) == ["none", "weight decay"]
    assert all(len(h) == 3 for h in histories.values())  # one record per epoch
    train_acc, val_acc, gap = experiments.final_gap(histories["none"])
    assert gap == pytest.approx(train_acc - val_acc)
    table = experiments.gap_table(histories)
    assert "smallest gap:" in table and "weight decay" in table


# ----------------------------------------------------------------------------- playground
@pytest.fixture(scope="module")
def play_data(small_mnist):
    return small_mnist


def test_play_learns_crawls_and_diverges(play_data):
    good = playground.play(playground.PlayConfig(lr=0.1, steps=60), *play_data)
    slow = playground.play(playground.PlayConfig(lr=1e-5, steps=60), *play_data)
    wild = playground.play(playground.PlayConfig(lr=50.0, steps=60), *play_data)
    assert good.verdict() == "learns" and good.val_acc > 0.5
    assert len(good.losses) == 60 and good.activations.shape == (len(play_data[3]), 64)
    assert set(good.gradients) == {"W1", "b1", "W2", "b2"}
    assert slow.verdict() == "crawls"
    assert wild.verdict() in ("diverged", "diverges")
    assert "lr 0.1" in good.summary() and "learns" in good.summary()


def test_play_is_deterministic_and_checks_its_config(play_data):
    a = playground.play(playground.PlayConfig(lr=0.05, steps=20, hidden=16, optimizer="adam"), *play_data)
    b = playground.play(playground.PlayConfig(lr=0.05, steps=20, hidden=16, optimizer="adam"), *play_data)
    assert a.losses == b.losses and a.activations.shape[1] == 16
    for bad in (dict(lr=-1.0), dict(optimizer="lbfgs"), dict(init_scale=0.0), dict(batch_size=0)):
        with pytest.raises(ValueError):
            playground.play(playground.PlayConfig(**bad), *play_data)


def test_play_init_scale_changes_the_start(play_data):
    tiny = playground.play(playground.PlayConfig(lr=1e-6, steps=5, init_scale=0.01), *play_data)
    he = playground.play(playground.PlayConfig(lr=1e-6, steps=5, init_scale=1.0), *play_data)
    assert tiny.losses[0] == pytest.approx(np.log(10), abs=0.01)  # tiny weights: uniform guesses
    assert abs(he.losses[0] - np.log(10)) > 0.01


def test_playground_widget_button_calls_play(play_data):
    pg = playground.Playground(*play_data, steps=15, seconds=None)
    pg.lr.value = 0.1
    pg.optimizer.value = "momentum"
    pg.hidden.value = 32
    config = pg.config()
    assert (config.lr, config.optimizer, config.hidden, config.steps) == (pytest.approx(0.1), "momentum", 32, 15)
    result = pg.run()
    assert result is pg.result and len(result.losses) == 15
    assert "momentum" in pg.status.value
    pg.button.click()  # the real button runs the same handler
    assert pg.result is not result and pg.result.losses == result.losses
    pg.batch_size.value = 8
    pg.data = (play_data[0][:4], play_data[1][:4], play_data[2], play_data[3])
    assert pg.run() is not None  # a tiny set still trains (batches drawn with replacement)


def test_playground_shows_errors_instead_of_raising(play_data):
    pg = playground.Playground(*play_data, steps=5, seconds=None)
    pg.data = (play_data[0][:, :10], *play_data[1:])  # wrong width: Network refuses it
    assert pg.run() is None
    assert pg.status.value.startswith("error:")


# ----------------------------------------------------------------------------- figures
def test_course_figures(tmp_path, play_data):
    values = course.tiny_values()
    figures = [
        course_plots.plot_computational_graph(values, course.TINY_PARAMS),
        course_plots.plot_activation_function(network.relu, network.relu_grad),
        course_plots.plot_softmax(network.softmax, [2.0, 1.0, 0.1]),
        course_plots.plot_momentum_velocity(experiments.momentum_velocity()),
        course_plots.plot_baselines({"chance": 0.1, "net": 0.97}),
        course_plots.plot_losses([2.3, 1.0, 0.5, 0.4]),
        course_plots.plot_playground(playground.play(playground.PlayConfig(steps=5), *play_data)),
    ]
    for i, fig in enumerate(figures):
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / f"{i}.png", dpi=30)
    graph_text = " ".join(t.get_text() for t in figures[0].axes[0].texts)
    assert "L = 2.127" in graph_text and "∂L/∂z1[0] = 1.762" in graph_text
    with pytest.raises(ValueError):
        course_plots.plot_losses([])


def test_activation_histograms_one_panel_per_layer_and_scheme(rng):
    acts = {"a": [rng.random((50, 8)) for _ in range(3)], "b": [rng.random((50, 8)) for _ in range(3)]}
    fig = course_plots.plot_activation_histograms(acts)
    assert len(fig.axes) == 6
    assert len(course_plots.plot_rms_per_layer(acts).axes[0].lines) == 2


def test_lr_sweep_figure_shifts_momentum_by_its_effective_step():
    points = [experiments.SweepPoint("sgd", 0.1, 0.9, 0.3, False),
              experiments.SweepPoint("momentum", 0.01, 0.9, 0.3, False),
              experiments.SweepPoint("adam", 10.0, float("nan"), float("nan"), True)]
    fig = course_plots.plot_lr_sweep(points)
    ax_lr, ax_eff = fig.axes
    shifted = {line.get_label(): line.get_xdata()[0] for line in ax_eff.lines}
    assert shifted["momentum"] == pytest.approx(0.1) and shifted["sgd"] == pytest.approx(0.1)
    crosses = [line for line in ax_lr.lines if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_xdata()[0] == 10.0

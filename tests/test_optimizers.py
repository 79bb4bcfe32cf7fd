"""The optimizers against their textbook formulas, worked by hand on tiny examples; the schedules."""
import math

import numpy as np
import pytest

from mnist_scratch import optimizers
from mnist_scratch.optimizers import SGD, Adam, Momentum, learning_rate, make_optimizer


def tiny():
    """Two parameters and their gradients, float64."""
    params = {"W1": np.array([[1.0, -2.0], [0.5, 0.0]]), "b1": np.array([0.25, -0.75])}
    grads = {"W1": np.array([[0.5, -1.0], [2.0, 0.0]]), "b1": np.array([-0.1, 0.3])}
    return params, grads


def test_sgd_is_w_minus_lr_g():
    params, grads = tiny()
    opt = make_optimizer("sgd")
    state = opt.init_state(params)
    assert state == {}
    opt.step(params, grads, state, lr=0.1)
    np.testing.assert_allclose(params["W1"], [[0.95, -1.9], [0.3, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(params["b1"], [0.26, -0.78], rtol=1e-15)


def test_momentum_accumulates_velocity():
    params, grads = tiny()
    opt = make_optimizer("momentum", momentum=0.5)
    state = opt.init_state(params)
    assert sorted(state) == ["velocity.W1", "velocity.b1"]
    velocity = state["velocity.b1"]
    for _ in range(2):
        opt.step(params, grads, state, lr=0.1)
    # v1 = g, v2 = 0.5 g + g = 1.5 g; w = w0 - 0.1 (g + 1.5 g) = w0 - 0.25 g
    np.testing.assert_allclose(params["b1"], [0.25 + 0.025, -0.75 - 0.075], rtol=1e-15)
    np.testing.assert_allclose(state["velocity.W1"], 1.5 * tiny()[1]["W1"], rtol=1e-15)
    assert state["velocity.b1"] is velocity  # updated in place: a checkpoint sees the live arrays


def test_adam_follows_algorithm_1_step_by_step():
    params, grads = tiny()
    w0 = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer("adam", beta1=0.8, beta2=0.9, eps=1e-3)
    state = opt.init_state(params)
    assert sorted(state) == ["m.W1", "m.b1", "t", "v.W1", "v.b1"] and int(state["t"]) == 0
    second = {"W1": -0.5 * grads["W1"], "b1": grads["b1"] + 1.0}
    opt.step(params, grads, state, lr=0.01)
    opt.step(params, second, state, lr=0.02)
    assert int(state["t"]) == 2
    for name in params:  # the same two steps, one number at a time, in plain Python
        for i in np.ndindex(params[name].shape):
            w, m, v = w0[name][i], 0.0, 0.0
            for t, (g, lr) in enumerate([(grads[name][i], 0.01), (second[name][i], 0.02)], start=1):
                m = 0.8 * m + 0.2 * g
                v = 0.9 * v + 0.1 * g * g
                w -= lr * (m / (1 - 0.8 ** t)) / (math.sqrt(v / (1 - 0.9 ** t)) + 1e-3)
            assert params[name][i] == pytest.approx(w, rel=1e-13, abs=1e-15), (name, i)
            assert state[f"m.{name}"][i] == pytest.approx(m, rel=1e-13, abs=1e-15)
            assert state[f"v.{name}"][i] == pytest.approx(v, rel=1e-13, abs=1e-15)


def test_adam_first_step_is_lr_times_the_sign():
    params, grads = tiny()
    before = params["W1"].copy()
    opt = make_optimizer("adam")
    opt.step(params, grads, opt.init_state(params), lr=0.01)
    # m_hat = g and v_hat = g^2 after one step, so the step is lr g / (|g| + eps)
    np.testing.assert_allclose(before - params["W1"], 0.01 * np.sign(grads["W1"]), rtol=1e-6)


def test_names_are_looked_up_once():
    assert make_optimizer("gd") == SGD() == make_optimizer("sgd")
    assert make_optimizer("momentum", momentum=0.5, beta1=0.1) == Momentum(momentum=0.5)  # beta1 not its own
    assert make_optimizer("adam", momentum=0.5, beta2=0.99) == Adam(beta2=0.99)
    assert set(optimizers.OPTIMIZERS) == {"gd", "sgd", "momentum", "adam"}
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; choose from gd, sgd, momentum, adam"):
        make_optimizer("rmsprop")
    with pytest.raises(TypeError, match="unknown optimizer hyperparameter.*betta1"):
        make_optimizer("adam", betta1=0.9)


def test_state_is_shaped_like_the_parameters():
    params, _ = tiny()
    for name in optimizers.OPTIMIZERS:
        state = make_optimizer(name).init_state(params)
        for key, value in state.items():
            assert isinstance(value, np.ndarray)
            if key != "t":
                assert value.shape == params[key.split(".", 1)[1]].shape and value.dtype == np.float64


def test_schedules():
    assert learning_rate("constant", 0.1, 50, 100) == 0.1
    assert learning_rate("cosine", 0.1, 0, 100) == pytest.approx(0.1)
    assert learning_rate("cosine", 0.1, 50, 100) == pytest.approx(0.05)
    assert learning_rate("linear", 0.1, 75, 100) == pytest.approx(0.025)
    with pytest.raises(ValueError, match="unknown schedule"):
        learning_rate("step", 0.1, 0, 1)

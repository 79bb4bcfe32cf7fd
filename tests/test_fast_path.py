"""The fast path computes what the readable path computes: loss, gradients and optimizer steps."""
import numpy as np
import pytest

from mnist_scratch import Network
from mnist_scratch.fast_path import FastTrainer, softmax_cross_entropy
from mnist_scratch.network import cross_entropy, cross_entropy_grad, softmax
from mnist_scratch.optimizers import make_optimizer

ARCHITECTURES = [(784, 64, 10), (784, 10), (784, 128, 64, 10), (20, 7, 5, 4)]
# float64 shows the two paths are the same arithmetic up to rounding; float32 is what training runs.
TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-13), np.float32: dict(rtol=2e-4, atol=2e-6)}


def batch(sizes, dtype, rng, n=32):
    return rng.random((n, sizes[0])).astype(dtype), rng.integers(0, sizes[-1], n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_softmax_cross_entropy_is_the_readable_pair(dtype, rng):
    logits = (rng.normal(size=(50, 10)) * 5).astype(dtype)
    y = rng.integers(0, 10, 50)
    p = softmax(logits)
    loss, dlogits = softmax_cross_entropy(logits.copy(), y)
    assert loss == pytest.approx(cross_entropy(p, y), rel=TOLERANCE[dtype]["rtol"])
    np.testing.assert_allclose(dlogits, cross_entropy_grad(p, y), **TOLERANCE[dtype])


def test_fused_loss_is_exact_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3.0, 1.0, 0.2]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dlogits = softmax_cross_entropy(logits, np.array([1, 0, 0]))
    expected = (2e4 + np.log(3) + np.log(np.exp([0.0, -2.0, -2.8]).sum())) / 3
    assert loss == pytest.approx(expected, rel=1e-4)
    assert np.all(np.isfinite(dlogits)) and np.allclose(dlogits.sum(axis=1), 0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
def test_same_loss_and_gradients(sizes, dtype, rng):
    net = Network(sizes, seed=4, dtype=dtype)
    for name, b in net.params.items():
        if name.startswith("b"):
            b[...] = rng.normal(0, 0.1, b.shape)
    x, y = batch(sizes, dtype, rng)
    loss, grads = net.loss_and_grads(x, y)
    trainer = FastTrainer(net, make_optimizer("sgd"))
    assert trainer.gradients(x, y) == pytest.approx(loss, rel=TOLERANCE[dtype]["rtol"])
    assert list(trainer.grads) == list(grads)
    for name, grad in grads.items():
        assert trainer.grads[name].dtype == dtype
        np.testing.assert_allclose(trainer.grads[name], grad, **TOLERANCE[dtype], err_msg=name)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=lambda s: "-".join(map(str, s)))
def test_same_parameters_after_several_steps(sizes, optimizer, weight_decay, rng):
    readable = Network(sizes, seed=5, dtype=np.float64)
    fast = readable.copy()
    opt = make_optimizer(optimizer, momentum=0.8, beta1=0.85, beta2=0.99)
    state = opt.init_state(readable.params)
    trainer = FastTrainer(fast, opt, weight_decay)
    for step in range(6):
        x, y = batch(sizes, np.float64, rng)
        lr = 0.05 / (step + 1)
        loss, grads = readable.loss_and_grads(x, y)
        for name, w in readable.params.items():
            if name.startswith("W"):
                grads[name] += weight_decay * w          # the L2 penalty's gradient, weights only
        opt.step(readable.params, grads, state, lr)
        assert trainer.gradients(x, y) == pytest.approx(loss, rel=1e-12)
        trainer.update(lr)
    for name, w in readable.params.items():
        np.testing.assert_allclose(fast.params[name], w, rtol=1e-10, atol=1e-13, err_msg=name)
    assert set(trainer.state) == set(state)
    for key, value in state.items():
        np.testing.assert_allclose(trainer.state[key], value, rtol=1e-10, atol=1e-13, err_msg=key)


def test_state_is_live_views_and_can_start_from_a_checkpoint(rng):
    net = Network((20, 7, 5), seed=0)
    opt = make_optimizer("adam")
    template = opt.init_state(net.params)
    trainer = FastTrainer(net, opt)
    assert {k: v.shape for k, v in trainer.state.items()} == {k: v.shape for k, v in template.items()}
    m = trainer.state["m.W1"]
    trainer.gradients(*batch((20, 7, 5), np.float32, rng))
    trainer.update(1e-3)
    assert m is trainer.state["m.W1"] and m.any() and int(trainer.state["t"]) == 1  # saved arrays see steps

    saved = {k: v.copy() for k, v in trainer.state.items()}
    resumed = FastTrainer(net.copy(), opt, state=saved)
    for key, value in saved.items():
        np.testing.assert_array_equal(resumed.state[key], value)
    with pytest.raises(ValueError, match="'m.W1' does not fit"):
        FastTrainer(Network((20, 6, 5)), opt, state=saved)


def test_an_optimizer_without_a_fast_update_is_refused_at_once():
    class Lion:
        def init_state(self, params):
            return {}

    with pytest.raises(TypeError, match="no update for Lion"):
        FastTrainer(Network((6, 3)), Lion())

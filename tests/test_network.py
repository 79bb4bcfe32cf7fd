"""The network: gradients against finite differences, the softmax, overfitting, save/load."""
import numpy as np
import pytest

from mnist_scratch import Network
from mnist_scratch.network import relu, relu_backward, softmax, softmax_cross_entropy


def numerical_grad(net, x, y, name, index, eps=1e-6):
    view = net.params[name].reshape(-1)
    old = view[index]
    view[index] = old + eps
    plus, _ = net.loss_and_grads(x, y)
    view[index] = old - eps
    minus, _ = net.loss_and_grads(x, y)
    view[index] = old
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize("sizes", [(784, 64, 10), (20, 7, 5), (12, 9, 8, 4), (6, 3)])
def test_gradients_match_central_differences(sizes, rng):
    net = Network(sizes, seed=3, dtype=np.float64)
    for name in net.params:
        if name.startswith("b"):
            net.params[name][...] = rng.normal(0, 0.1, net.params[name].shape)  # non-trivial biases
    x = rng.random((8, sizes[0]))
    y = rng.integers(0, sizes[-1], 8)
    _, grads = net.loss_and_grads(x, y)
    for name, grad in grads.items():
        assert grad.shape == net.params[name].shape
        for index in rng.choice(grad.size, size=min(grad.size, 12), replace=False):
            expected = numerical_grad(net, x, y, name, index)
            assert grad.reshape(-1)[index] == pytest.approx(expected, rel=1e-5, abs=1e-8), (name, index)


def test_input_gradient_is_saliency(rng):
    net = Network((30, 16, 10), seed=1, dtype=np.float64)
    x = rng.random((3, 30))
    saliency = net.input_gradient(x, target=np.array([2, 5, 7]))
    assert saliency.shape == (3, 30)
    for row, target in enumerate([2, 5, 7]):
        for pixel in (0, 11, 29):
            bumped = [x.copy(), x.copy()]
            bumped[0][row, pixel] += 1e-6
            bumped[1][row, pixel] -= 1e-6
            expected = (net.predict_proba(bumped[0])[row, target]
                        - net.predict_proba(bumped[1])[row, target]) / 2e-6
            assert saliency[row, pixel] == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_relu_and_its_derivative_sit_together():
    z = np.array([[-1.0, 0.0, 2.0]])
    a = relu(z)
    assert a.tolist() == [[0.0, 0.0, 2.0]]
    assert relu_backward(np.ones_like(z), a).tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3.0, 1.0, 0.2]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        p = softmax(logits)
        loss, dlogits = softmax_cross_entropy(logits, np.array([1, 0, 0]))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    assert np.isfinite(loss) and loss == pytest.approx((2e4 + np.log(3) + np.log(np.exp([0.0, -2.0, -2.8]).sum())) / 3, rel=1e-4)
    assert np.all(np.isfinite(dlogits)) and np.allclose(dlogits.sum(axis=1), 0, atol=1e-6)


def test_predictions_have_the_documented_types(rng):
    net = Network(seed=0)
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (784, 64), "b1": (64,), "W2": (64, 10), "b2": (10,)}
    assert all(v.dtype == np.float32 for v in net.params.values())
    x = rng.random((5, 784)).astype(np.float32)
    p = net.predict_proba(x)
    assert p.shape == (5, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    assert net.predict(x).dtype == np.int64 and net.predict(x).tolist() == p.argmax(1).tolist()


def test_he_initialisation_scale():
    net = Network((784, 256, 10), seed=0)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert net.params["W2"].std() == pytest.approx(np.sqrt(2 / 256), rel=0.1)
    assert not net.params["b1"].any()
    assert not np.array_equal(Network(seed=1).params["W1"], net.params["W1"][:, :64])


def test_params_are_views_of_one_flat_buffer():
    net = Network(seed=0)
    net.flat[:] = 0
    assert not net.params["W2"].any()
    net.params["b2"][3] = 7
    assert net.flat[-7] == 7


def test_overfits_a_batch_of_32(rng, mnist_test):
    x, y = mnist_test[0][:32], mnist_test[1][:32]
    net = Network(seed=0)
    for _ in range(300):
        _, grads = net.loss_and_grads(x, y)
        for name, grad in grads.items():
            net.params[name] -= 0.5 * grad
    assert (net.predict(x) == y).mean() == 1.0
    assert net.loss_and_grads(x, y)[0] < 0.05


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 783), np.float32), r"shape \(N, 784\)"),
    (np.zeros(784, np.float32), r"shape \(N, 784\)"),
    (np.zeros((3, 784), np.uint8), "floats"),
])
def test_bad_input_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        Network(seed=0).predict(bad)


def test_bad_labels_are_named():
    net = Network(seed=0)
    x = np.zeros((2, 784), np.float32)
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        net.loss_and_grads(x, np.array([0, 10]))
    with pytest.raises(ValueError, match="integer labels"):
        net.loss_and_grads(x, np.array([0.0, 1.0]))


def test_copy_is_independent():
    net = Network(seed=0)
    other = net.copy()
    other.flat += 1
    assert not np.array_equal(net.flat, other.flat)

"""The readable network: gradients against finite differences, the softmax, overfitting, input checks."""
import numpy as np
import pytest

from mnist_scratch import Network
from mnist_scratch.network import (architecture, cross_entropy, cross_entropy_grad, relu, relu_grad,
                                   softmax)


def numerical_grad(net, x, y, name, index, eps=1e-6):
    view = net.params[name].reshape(-1)
    old = view[index]
    view[index] = old + eps
    plus, _ = net.loss_and_grads(x, y)
    view[index] = old - eps
    minus, _ = net.loss_and_grads(x, y)
    view[index] = old
    return (plus - minus) / (2 * eps)


@pytest.mark.parametrize("sizes", [(784, 64, 10), (784, 10), (784, 128, 64, 10), (20, 7, 5), (12, 9, 8, 4), (6, 3)])
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


def test_every_parameter_of_a_tiny_network_matches_central_differences(rng):
    net = Network((5, 4, 3, 3), seed=2, dtype=np.float64)
    x, y = rng.random((6, 5)), rng.integers(0, 3, 6)
    _, grads = net.loss_and_grads(x, y)
    for name, grad in grads.items():
        numeric = [numerical_grad(net, x, y, name, i) for i in range(grad.size)]
        np.testing.assert_allclose(grad.reshape(-1), numeric, rtol=1e-6, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_its_derivative_sit_together(dtype):
    z = np.array([[-1.0, 0.0, 2.0]], dtype)
    assert relu(z).tolist() == [[0.0, 0.0, 2.0]] and relu(z).dtype == dtype
    assert relu_grad(z).tolist() == [[0.0, 0.0, 1.0]] and relu_grad(z).dtype == dtype
    np.testing.assert_array_equal(relu_grad(relu(z)), relu_grad(z))  # the backward pass uses A for Z


def test_cross_entropy_and_its_gradient_on_a_worked_example():
    p = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5]])
    y = np.array([0, 2])
    assert cross_entropy(p, y) == pytest.approx(-(np.log(0.7) + np.log(0.5)) / 2, rel=1e-12)
    np.testing.assert_allclose(cross_entropy_grad(p, y), [[-0.15, 0.1, 0.05], [0.125, 0.125, -0.25]], rtol=1e-12)


def test_backward_starts_from_p_minus_onehot_over_n(rng):
    """The last layer's gradients are exactly A(L-1).T (P - Y) / N and the batch sum of (P - Y) / N."""
    net = Network((10, 6, 4), seed=0, dtype=np.float64)
    x, y = rng.random((5, 10)), rng.integers(0, 4, 5)
    a = net.activations(x)
    delta = (a[-1] - np.eye(4)[y]) / 5
    grads = net.backward(a, y)
    np.testing.assert_allclose(grads["W2"], a[1].T @ delta, rtol=1e-12)
    np.testing.assert_allclose(grads["b2"], delta.sum(axis=0), rtol=1e-12, atol=1e-15)
    assert list(grads) == list(net.params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [3.0, 1.0, 0.2]], dtype=dtype)
    y = np.array([1, 0, 0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        p = softmax(logits)
        loss, dlogits = cross_entropy(p, y), cross_entropy_grad(p, y)
    assert p.dtype == dtype and np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(p[1], 1 / 3, rtol=1e-6)
    # Row 0 gives its label probability exp(-2e4) = 0: the loss is large but finite (capped at -log(tiny)).
    assert np.isfinite(loss) and loss > 80 / 3
    assert np.all(np.isfinite(dlogits)) and np.allclose(dlogits.sum(axis=1), 0, atol=1e-6)
    moderate = np.array([[3.0, 1.0, 0.2]], dtype)
    logsumexp = np.log(np.exp([3.0, 1.0, 0.2]).sum())
    assert cross_entropy(softmax(moderate), np.array([1])) == pytest.approx(logsumexp - 1.0, rel=1e-5)


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


@pytest.mark.parametrize("sizes", [(784, 10), (784, 64, 10), (784, 128, 64, 10)])
def test_layers_and_params_are_the_same_live_arrays(sizes, rng):
    net = Network(sizes, seed=0)
    assert net.sizes == sizes and architecture(sizes) == "-".join(map(str, sizes))
    assert list(net.params) == [f"{kind}{l}" for l in range(1, len(sizes)) for kind in "Wb"]
    for l, (W, b) in enumerate(net.layers, start=1):
        assert W is net.params[f"W{l}"] and b is net.params[f"b{l}"]
        assert W.shape == (sizes[l - 1], sizes[l]) and b.shape == (sizes[l],)
    x = rng.random((4, 784)).astype(np.float32)
    a = net.activations(x)
    assert [v.shape for v in a] == [(4, n) for n in sizes] and a[0] is x
    np.testing.assert_array_equal(a[-1], net.forward(x))
    np.testing.assert_array_equal(net.forward(x), net.predict_proba(x))
    net.params[f"W{len(sizes) - 1}"][...] = 0
    net.layers[-1][1][...] = np.arange(sizes[-1])  # the last bias, through .layers
    assert (net.predict(x) == sizes[-1] - 1).all()
    assert net.parameter_vector().shape == (sum(w.size for w in net.params.values()),)


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
    (np.zeros((3, 783), np.float32), r"x must be \(N, 784\) floats"),
    (np.zeros(784, np.float32), r"x must be \(N, 784\) floats"),
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
    assert other.sizes == net.sizes and other.dtype == net.dtype
    np.testing.assert_array_equal(other.parameter_vector(), net.parameter_vector())
    other.params["W1"] += 1
    other.params["b2"] += 1
    assert not np.array_equal(net.parameter_vector(), other.parameter_vector())
    assert not net.params["b2"].any()

"""A fully connected network, ``784 -> 64 ReLU -> 10 softmax``, written as the math of notebook 01.

A batch is a matrix with one digit per row. Layer ``l = 1, 2, ..., last`` (the classic network has
two layers, so ``last = 2``) computes, with the shapes of the classic network:

    A(0)  = X                          (N, 784)   the input pixels in [0, 1]
    Z(l)  = A(l-1) W(l) + b(l)         (N, 64)    pre-activation; b(l) is added to every row
    A(l)  = relu(Z(l))                 (N, 64)    for the hidden layers, l < last
    Y_hat = softmax(Z(last))           (N, 10)    the predicted probabilities
    L     = -(1/N) sum_i log Y_hat[i, y_i]        the mean cross-entropy (the loss)

and backpropagation, with Delta(l) = dL/dZ(l) and Y the one-hot labels (Y[i, k] = 1 if k = y_i):

    Delta(last) = (Y_hat - Y) / N
    dL/dW(l)    = A(l-1).T Delta(l)                dL/db(l) = sum of the rows of Delta(l)
    Delta(l-1)  = (Delta(l) W(l).T) * relu'(Z(l-1))          (* elementwise)

In the code: W(l), b(l) are ``W, b = self.layers[l - 1]`` (also ``params["W1"]``, ``params["b1"]``,
...), A(l) is ``a[l]``, Y_hat is ``p`` (``a[-1]``), Y is ``onehot``, Delta(l) is ``delta``, N is
``len(y)``. Nielsen's network.py writes ``W a`` with one digit per column; here ``a W``, so his ``w``
is our ``W.T``. The training loop runs this same math rearranged for speed: see ``fast_path.py``.
"""
from __future__ import annotations

import numpy as np

DEFAULT_SIZES = (784, 64, 10)


# ----------------------------------------------------------------- each function beside its derivative
def relu(z: np.ndarray) -> np.ndarray:
    """``max(z, 0)`` elementwise; same shape and dtype as ``z``."""
    return np.maximum(z, 0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """relu'(z) = 1 where ``z > 0``, else 0, in the dtype of ``z``.

    ``relu_grad(relu(z))`` gives the same array, so the backward pass can use A instead of Z.
    """
    return (z > 0).astype(z.dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``softmax(z)[i, k] = exp(z[i, k]) / sum_j exp(z[i, j])``.

    ``z : (N, K)`` float -> ``(N, K)``, same dtype, rows in [0, 1] summing to 1. Subtracting each
    row's maximum first changes nothing mathematically and keeps ``exp`` finite for logits of 1e4.
    """
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy ``L = -(1/N) sum_i log p[i, y_i]``.

    ``p : (N, K)`` float probabilities, ``y : (N,)`` int labels in 0..K-1. A probability that
    rounded to 0 counts as the smallest positive float (``-log`` gives about 87 in float32), so a
    very wrong network has a large finite loss, never inf.
    """
    picked = p[np.arange(len(y)), y]                      # (N,) the probability of the right digit
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(p.dtype).tiny))))


def cross_entropy_grad(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Delta(last) = dL/dZ(last) for ``p = softmax(Z(last))``: ``(p - onehot) / N``, shape (N, K)."""
    N = len(y)
    onehot = np.eye(p.shape[1], dtype=p.dtype)[y]        # (N, K): Y[i, k] = 1 if k = y_i, else 0
    return (p - onehot) / N


def check_labels(y, n: int | None = None, classes: int = 10) -> np.ndarray:
    """``y`` as ``(n,) int64`` labels in ``0 .. classes - 1``, or a ``ValueError`` naming the problem."""
    y = np.asarray(y)
    if y.ndim != 1 or (n is not None and len(y) != n) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({'N' if n is None else n},) integer labels, got {y.shape} {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels must be in 0..{classes - 1}, got {y.min()}..{y.max()}")
    return y.astype(np.int64, copy=False)


def architecture(sizes) -> str:
    """``(784, 64, 10) -> "784-64-10"``."""
    return "-".join(str(int(n)) for n in sizes)


# ----------------------------------------------------------------- the network
class Network:
    """A multilayer perceptron: ReLU hidden layers and a softmax output.

    Parameters
    ----------
    sizes : layer widths, input first: ``(784, 64, 10)`` is the classic network, ``(784, 10)``
        softmax regression, ``(784, 128, 64, 10)`` two hidden layers.
    seed : int or ``np.random.Generator`` for the He initialisation.
    dtype : float32 (default, fast) or float64 (gradient checks).

    Attributes
    ----------
    layers : list of ``(W, b)``, ``W`` of shape (n_in, n_out) and ``b`` of shape (n_out,).
    params : dict ``"W1", "b1", "W2", "b2", ...`` of the same arrays (changing one changes the network).
    memory : a :class:`~mnist_scratch.memory.CorrectionMemory` of the user's corrected digits, or None
        (the default: the plain network). When set, :meth:`predict_proba` and :meth:`predict` add
        its votes, and :meth:`saliency` their derivative; training, :meth:`forward` and
        :meth:`input_gradient` use the weights alone.
    before_retrain : dict like ``params`` of the weights as trained, before any retrain on the user's
        drawings, or None (never retrained). A retrain starts from them, so retraining again re-learns
        the drawings rather than piling a second change on the first (see retrain.py).
    """

    def __init__(self, sizes=DEFAULT_SIZES, seed: int | np.random.Generator = 0, dtype=np.float32):
        self.sizes = tuple(int(n) for n in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer widths, got {self.sizes}")
        self.dtype = np.dtype(dtype)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # He initialisation: Var(W) = 2 / n_in keeps the size of the ReLU activations from layer to
        # layer, so deep stacks neither vanish nor explode; biases start at 0.
        self.layers = [((rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(self.dtype),
                        np.zeros(n_out, self.dtype))
                       for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.params = {}
        for l, (W, b) in enumerate(self.layers, start=1):
            self.params[f"W{l}"], self.params[f"b{l}"] = W, b
        self.memory = None
        self.before_retrain = None

    def check_batch(self, x, y=None) -> tuple[np.ndarray, np.ndarray | None]:
        """The one place inputs are checked: ``x`` as an (N, n_in) array in the network's dtype.

        Raises ``ValueError`` naming the problem unless ``x`` is (N, n_in) floats and ``y`` (if
        given) (N,) integer labels in ``0 .. n_out - 1``. Returns ``(x, y)``, ``y`` as int64.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must be (N, {self.sizes[0]}) floats in [0, 1], got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"x must be floats in [0, 1], got dtype {x.dtype}")
        if y is not None:
            y = check_labels(y, len(x), self.sizes[-1])
        return x.astype(self.dtype, copy=False), y

    # ------------------------------------------------------------- forward and backward
    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """The forward pass, keeping every layer's output: ``[A(0) = x, A(1), ..., Y_hat]``.

        ``x : (N, 784)`` float in [0, 1]. ``A(l)`` has shape (N, n_l), e.g. (N, 64); the last entry
        is ``p``, the softmax probabilities Y_hat, (N, 10). The backward pass needs them all.
        """
        x, _ = self.check_batch(x)
        a = [x]                                               # A(0) = X                    (N, 784)
        for l, (W, b) in enumerate(self.layers, start=1):
            z = a[-1] @ W + b                                 # Z(l) = A(l-1) W(l) + b(l)    (N, n_l)
            a.append(relu(z) if l < len(self.layers) else softmax(z))  # A(l), or Y_hat = softmax(Z(last))
        return a

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The probabilities ``p = Y_hat : (N, 10)`` for ``x : (N, 784)`` float in [0, 1]."""
        return self.activations(x)[-1]

    def backward(self, a: list[np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean cross-entropy for every parameter, by backpropagation.

        Parameters
        ----------
        a : the list :meth:`activations` returned, ``[X, A(1), ..., Y_hat]``.
        y : ndarray of shape (N,), int labels in 0..9.

        Returns
        -------
        dict ``"W1", "b1", ...`` of new arrays shaped like ``params``: dL/dW(l), dL/db(l).
        """
        grads = {}
        delta = cross_entropy_grad(a[-1], y)                  # Delta(last) = (p - onehot) / N   (N, 10)
        for l in range(len(self.layers), 0, -1):
            W, _ = self.layers[l - 1]
            grads[f"W{l}"] = a[l - 1].T @ delta               # dL/dW(l) = A(l-1).T Delta(l)  (n_{l-1}, n_l)
            grads[f"b{l}"] = delta.sum(axis=0)                # dL/db(l): sum over the batch      (n_l,)
            if l > 1:                                         # relu'(Z) = relu_grad(A): same zeros
                delta = (delta @ W.T) * relu_grad(a[l - 1])   # Delta(l-1)                  (N, n_{l-1})
        return {name: grads[name] for name in self.params}    # in the order of params

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """The loss L on ``x : (N, 784)`` float, ``y : (N,)`` int, and its gradients (keyed like params)."""
        x, y = self.check_batch(x, y)
        a = self.activations(x)
        return cross_entropy(a[-1], y), self.backward(a, y)

    # ------------------------------------------------------------- using a trained network
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, ndarray of shape (N, 10) in the network's dtype, rows summing to 1:
        the softmax output, with the memory's votes added when there is a memory (see memory.py)."""
        if self.memory is None:
            return self.forward(x)
        x, _ = self.check_batch(x)
        return self.memory.combine(x, self.forward(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable digit for each row of ``x``: ndarray of shape (N,), int64."""
        return self.predict_proba(x).argmax(axis=1).astype(np.int64)

    def input_gradient(self, x: np.ndarray, target: int | np.ndarray) -> np.ndarray:
        """Saliency: ``d p[i, target_i] / d x[i]``, ndarray of shape (N, 784); ``target`` int or (N,) int.

        The same chain rule as :meth:`backward`, started from ``dp_t/dZ(last) = p_t (onehot_t - p)``
        (the softmax's derivative) and carried down to the pixels instead of stopping at the weights.
        """
        a = self.activations(x)
        p = a[-1]
        onehot = np.eye(p.shape[1], dtype=p.dtype)[np.broadcast_to(target, (len(p),))]
        p_t = (p * onehot).sum(axis=1, keepdims=True)         # (N, 1) the target's probability
        delta = p_t * (onehot - p)                            # dp_t/dZ(last)                (N, 10)
        for l in range(len(self.layers), 0, -1):
            W, _ = self.layers[l - 1]
            delta = delta @ W.T                               # dp_t/dA(l-1)           (N, n_{l-1})
            if l > 1:
                delta = delta * relu_grad(a[l - 1])           # dp_t/dZ(l-1)
        return delta

    def saliency(self, x: np.ndarray, target: int | np.ndarray) -> np.ndarray:
        """``d predict_proba(x)[i, target_i] / d x[i]``, ndarray of shape (N, 784): :meth:`input_gradient`,
        with the memory's votes carried through when there is a memory (``CorrectionMemory.combine_gradient``)."""
        grad = self.input_gradient(x, target)
        if self.memory is None:
            return grad
        x, _ = self.check_batch(x)
        return self.memory.combine_gradient(x, self.forward(x), grad, np.broadcast_to(target, (len(x),)))

    def copy(self) -> "Network":
        """An independent network with the same sizes, dtype and parameters."""
        other = Network(self.sizes, seed=0, dtype=self.dtype)
        for name, value in self.params.items():
            other.params[name][...] = value
        other.memory = self.memory  # never changed in place: a retrain sets a new one
        other.before_retrain = self.before_retrain  # likewise
        return other

    def parameter_vector(self) -> np.ndarray:
        """All parameters in one new 1-D array (W1, b1, W2, b2, ... flattened): a copy, for comparisons."""
        return np.concatenate([value.ravel() for value in self.params.values()])

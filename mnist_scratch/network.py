"""A fully connected network, ``784 -> 64 ReLU -> 10 softmax``, its forward and backward passes.

Notation (row-vector convention: a batch is a matrix with one digit per row, as in NumPy):

    a0 = x                      (N, 784)   the input pixels
    z_l = a_{l-1} @ W_l + b_l   (N, n_l)   pre-activation of layer l
    a_l = relu(z_l)             (N, n_l)   hidden layers
    p = softmax(z_L)            (N, 10)    output probabilities
    L = -mean_i log p[i, y_i]              mean categorical cross-entropy

Backward pass (``delta_l`` is dL/dz_l):

    delta_L = (p - onehot(y)) / N
    dL/dW_l = a_{l-1}.T @ delta_l,   dL/db_l = sum_i delta_l[i]
    delta_{l-1} = (delta_l @ W_l.T) * relu'(z_{l-1})

Nielsen's network.py writes ``W @ a`` with column vectors; here ``a @ W``, so his ``w`` is our ``W.T``.

All parameters live in one flat float32 buffer (``net.flat``); ``net.params`` holds named views
into it ("W1" (784, 64), "b1" (64,), "W2" (64, 10), "b2" (10,)), so an optimizer can update every
parameter with one vectorized operation and the named arrays see the change.
"""
from __future__ import annotations

import numpy as np

DEFAULT_SIZES = (784, 64, 10)


# --------------------------------------------------------------------- each function beside its derivative
def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``max(z, 0)`` elementwise (into ``out`` if given, e.g. ``out=z`` in place)."""
    return np.maximum(z, 0, out=out)


def relu_backward(delta: np.ndarray, a: np.ndarray) -> np.ndarray:
    """dL/dz from dL/da for ``a = relu(z)``: pass the gradient where ``a > 0`` (in place)."""
    delta *= a > 0
    return delta


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``z: (N, K)``; subtracting the row maximum keeps ``exp`` finite."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(logits)`` against labels, and its gradient.

    Parameters
    ----------
    logits : (N, K) float;  y : (N,) int in 0..K-1

    Returns
    -------
    loss : float, ``mean_i (logsumexp(z_i) - z_i[y_i])`` (no log(0): the log is of a sum >= 1)
    dlogits : (N, K), ``(softmax(z) - onehot(y)) / N``
    """
    n, k = logits.shape
    starts = np.arange(0, n * k, k)                        # (N,) where each row starts in logits.ravel()
    # Row maxima by argmax + flat indexing: the same numbers as logits.max(axis=1), several times
    # faster on a (128, 10) batch (NumPy's reductions along a short last axis are slow).
    row_max = logits.ravel()[starts + logits.argmax(axis=1)]
    shifted = logits - row_max[:, None]                    # (N, K), every row's maximum is 0
    target = starts + y                                    # (N,) flat index of z_i[y_i]
    picked = shifted.ravel()[target]                       # (N,) z_i[y_i] - max_i
    exp = np.exp(shifted, out=shifted)                     # in place: shifted is not needed again
    sums = exp.sum(axis=1)                                 # (N,) each >= 1
    loss = float(np.log(sums).sum() - picked.sum()) / n
    exp /= (n * sums)[:, None]                             # softmax / N
    exp.ravel()[target] -= 1 / n                           # (softmax - onehot) / N
    return loss, exp


# --------------------------------------------------------------------- the network
class Network:
    """A multilayer perceptron with ReLU hidden layers and a softmax output.

    Parameters
    ----------
    sizes : layer widths, input first; ``(784, 64, 10)`` is the classic network
    seed : int or ``np.random.Generator`` for the He initialisation
    dtype : float32 (default, fast) or float64 (for gradient checks)
    """

    def __init__(self, sizes=DEFAULT_SIZES, seed: int | np.random.Generator = 0, dtype=np.float32):
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
        self.sizes = sizes
        self.dtype = np.dtype(dtype)
        self.flat = np.zeros(sum(a * b + b for a, b in self.layer_shapes), dtype=self.dtype)
        self.params = self.views(self.flat)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for i, (fan_in, fan_out) in enumerate(self.layer_shapes, start=1):
            # He initialisation: Var(W) = 2 / fan_in keeps the variance of ReLU activations
            # roughly constant from layer to layer, so deep stacks neither vanish nor explode.
            self.params[f"W{i}"][...] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        self._grad_flat = np.empty_like(self.flat)  # reused by the training loop
        self._grad_views = self.views(self._grad_flat)

    @property
    def layer_shapes(self) -> list[tuple[int, int]]:
        """``[(784, 64), (64, 10)]``: the shape of each weight matrix."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views ``W1, b1, W2, b2, ...`` into a flat buffer shaped like ``self.flat``."""
        out, start = {}, 0
        for i, (fan_in, fan_out) in enumerate(self.layer_shapes, start=1):
            out[f"W{i}"] = flat[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
            start += fan_in * fan_out
            out[f"b{i}"] = flat[start:start + fan_out]
            start += fan_out
        return out

    def weight_mask(self) -> np.ndarray:
        """Flat array, 1 where ``self.flat`` holds a weight and 0 for a bias (for L2 decay)."""
        mask = np.zeros_like(self.flat)
        for name, view in self.views(mask).items():
            if name.startswith("W"):
                view[...] = 1
        return mask

    # ----------------------------------------------------------------- forward and backward
    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (N, {self.sizes[0]}), got {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"x must be floats in [0, 1], got dtype {x.dtype}")
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, checked: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits and the activations the backward pass needs.

        x : (N, 784) float in [0, 1]  ->  logits : (N, 10);  activations : [x, a1, ..., a_{L-1}]
        """
        a = x if checked else self._check_x(x)
        activations = [a]
        for i in range(1, self.num_layers):
            z = a @ self.params[f"W{i}"]  # (N, n_i)
            z += self.params[f"b{i}"]
            a = relu(z, out=z)
            activations.append(a)
        logits = a @ self.params[f"W{self.num_layers}"] + self.params[f"b{self.num_layers}"]  # (N, 10)
        return logits, activations

    def backward(self, dlogits: np.ndarray, activations: list[np.ndarray],
                 grad_flat: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Write dL/dparams into ``grad_flat`` (shaped like ``self.flat``) from dL/dlogits.

        Returns dL/dx ``(N, 784)`` if ``input_grad``, else None (the first layer then skips that
        matrix product, which training never needs).
        """
        grads = self._grad_views if grad_flat is self._grad_flat else self.views(grad_flat)
        delta = dlogits  # (N, n_L)
        for i in range(self.num_layers, 0, -1):
            a_prev = activations[i - 1]  # (N, n_{i-1})
            np.matmul(a_prev.T, delta, out=grads[f"W{i}"])  # (n_{i-1}, n_i)
            np.matmul(np.ones(len(delta), delta.dtype), delta, out=grads[f"b{i}"])  # sum over the batch
            if i > 1:
                delta = relu_backward(delta @ self.params[f"W{i}"].T, a_prev)  # (N, n_{i-1})
            elif input_grad:
                return delta @ self.params["W1"].T  # (N, 784)
        return None

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Mean cross-entropy on ``(x, y)`` and its gradient for every parameter.

        x : (N, 784) float in [0, 1];  y : (N,) int in 0..9
        Returns ``(loss, grads)``; ``grads`` has the keys and shapes of ``params`` (fresh arrays).
        """
        grad_flat = np.empty_like(self.flat)
        loss = self.loss_and_flat_grads(x, y, grad_flat)
        return loss, self.views(grad_flat)

    def loss_and_flat_grads(self, x: np.ndarray, y: np.ndarray, grad_flat: np.ndarray,
                            checked: bool = False) -> float:
        """Like :meth:`loss_and_grads` but writes into ``grad_flat`` (no allocation): the hot path.

        ``checked=True`` promises that ``x`` and ``y`` were validated already (the training loop
        checks the whole set once) and skips the per-batch checks.
        """
        if not checked:
            x = self._check_x(x)
            self.check_labels(y, len(x))
        logits, activations = self.forward(x, checked=True)
        loss, dlogits = softmax_cross_entropy(logits, y)
        self.backward(dlogits, activations, grad_flat)
        return loss

    def check_labels(self, y: np.ndarray, n: int) -> None:
        """Raise ``ValueError`` unless ``y`` is ``(n,)`` integers in ``0..K-1``."""
        y = np.asarray(y)
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be ({n},) integer labels, got {y.shape} {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.sizes[-1]):
            raise ValueError(f"labels must be in 0..{self.sizes[-1] - 1}, got {y.min()}..{y.max()}")

    # ----------------------------------------------------------------- predictions
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, 10)`` in the network's dtype, rows summing to 1."""
        return softmax(self.forward(x)[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted digits ``(N,)`` int64."""
        return np.argmax(self.forward(x)[0], axis=1).astype(np.int64)

    def input_gradient(self, x: np.ndarray, target: int | np.ndarray) -> np.ndarray:
        """Saliency: d p[target] / d x for each row, ``(N, 784)``.

        With ``p = softmax(z)``, ``dp_t/dz_j = p_t (1[j = t] - p_j)``; the network's own backward
        pass carries that to the pixels.
        """
        logits, activations = self.forward(x)
        p = softmax(logits)
        target = np.broadcast_to(np.asarray(target, dtype=np.int64), (len(p),))
        rows = np.arange(len(p))
        p_t = p[rows, target][:, None]
        dlogits = -p_t * p
        dlogits[rows, target] += p_t[:, 0]
        return self.backward(dlogits, activations, np.empty_like(self.flat), input_grad=True)

    # ----------------------------------------------------------------- copies and files
    def copy(self) -> "Network":
        """An independent network with the same sizes and parameters."""
        other = Network(self.sizes, seed=0, dtype=self.dtype)
        other.flat[...] = self.flat
        return other

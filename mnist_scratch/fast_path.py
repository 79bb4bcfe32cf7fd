"""The training loop's hot path: the same math as ``network.py`` and ``optimizers.py``, arranged for speed.

Read ``network.py`` and ``optimizers.py`` to learn what is computed; this module only changes how:

- the gradients and the optimizer state live in one flat buffer each, with named views
  (``grads["W1"]`` ...), so an optimizer updates every parameter with a few whole-buffer operations;
- everything is updated in place, into buffers allocated once;
- softmax and cross-entropy are fused: the loss comes from ``logsumexp(z) - z[y]`` (never ``log 0``)
  and ``(p - onehot) / N`` is formed by subtracting ``1/N`` at the label instead of building ``onehot``;
- row maxima by ``argmax`` + flat indexing and bias gradients as ``ones @ delta`` (NumPy's
  reductions along a short axis are slow; the numbers are the same);
- inputs are not checked here: ``train`` checks the whole training set once, before the loop.

``tests/test_fast_path.py`` checks that the loss, the gradients and the parameters after several
optimizer steps agree with the readable path, for several architectures and every optimizer.
"""
from __future__ import annotations

import math

import numpy as np

from .network import Network
from .optimizers import SGD, Adam, Momentum


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``cross_entropy(softmax(logits), y)`` and ``cross_entropy_grad``, fused; overwrites ``logits``.

    Parameters
    ----------
    logits : ndarray of shape (N, K), float, C-contiguous; used as scratch space.
    y : ndarray of shape (N,), int in 0..K-1.

    Returns
    -------
    loss : float, ``mean_i (log sum_j exp(z_ij - max_i) - (z_i,y_i - max_i))``.
    dlogits : ndarray of shape (N, K), ``(softmax(logits) - onehot(y)) / N`` (the ``logits`` buffer).
    """
    n, k = logits.shape
    starts = np.arange(0, n * k, k)                        # (N,) where each row starts in logits.ravel()
    row_max = logits.ravel()[starts + logits.argmax(axis=1)]
    shifted = np.subtract(logits, row_max[:, None], out=logits)  # (N, K), each row's maximum is 0
    target = starts + y                                    # (N,) flat index of z_i[y_i]
    picked = shifted.ravel()[target]                       # (N,) z_i[y_i] - max_i
    exp = np.exp(shifted, out=shifted)
    sums = exp.sum(axis=1)                                 # (N,) each >= 1
    loss = float(np.log(sums).sum() - picked.sum()) / n
    exp /= (n * sums)[:, None]                             # softmax / N
    exp.ravel()[target] -= 1 / n                           # (softmax - onehot) / N
    return loss, exp


class FastTrainer:
    """One training step of ``net`` in two calls: ``loss = gradients(x, y)``, then ``update(lr)``.

    Parameters
    ----------
    net : the Network to train; its parameter arrays are updated in place.
    optimizer : an object from ``optimizers.make_optimizer`` (SGD, Momentum or Adam).
    weight_decay : L2 penalty on the weights (not the biases): adds ``weight_decay * W`` to dW.
    state : optional optimizer state to start from (e.g. from a checkpoint), keyed and shaped like
        ``optimizer.init_state(net.params)``; it is copied in.

    Attributes
    ----------
    grads : dict ``"W1", "b1", ...`` of views into one flat gradient buffer, filled by :meth:`gradients`.
    state : the optimizer state with the keys of ``optimizer.init_state``, as views into the
        trainer's flat buffers: save these arrays to checkpoint the run.
    """

    def __init__(self, net: Network, optimizer, weight_decay: float = 0.0,
                 state: dict[str, np.ndarray] | None = None):
        self.net, self.optimizer, self.weight_decay = net, optimizer, float(weight_decay)
        self.grad_flat = np.zeros(sum(w.size for w in net.params.values()), net.dtype)
        self.grads = self._views(self.grad_flat)
        self.updates = [(net.params[name], g) for name, g in self.grads.items()]  # (w, its slot in grad_flat)
        self.layer_grads = [(self.grads[f"W{l}"], self.grads[f"b{l}"]) for l in range(1, len(net.layers) + 1)]
        template = optimizer.init_state(net.params)
        self.flat: dict[str, np.ndarray] = {}              # "m", "v", "velocity": one flat buffer each
        self.state: dict[str, np.ndarray] = {}
        for key, value in template.items():
            prefix, _, name = key.partition(".")
            if name in net.params:                         # "m.W1": a view into the flat buffer "m"
                if prefix not in self.flat:
                    self.flat[prefix] = np.zeros_like(self.grad_flat)
                    self.state.update({f"{prefix}.{n}": v for n, v in self._views(self.flat[prefix]).items()})
            else:                                          # e.g. Adam's step count "t"
                self.state[key] = value
        for key, value in (state or {}).items():
            if key not in self.state or np.shape(value) != self.state[key].shape:
                raise ValueError(f"optimizer state {key!r} does not fit this network and optimizer")
            self.state[key][...] = value
        self._ones = np.ones(0, net.dtype)
        steps = {SGD: self._sgd_step, Momentum: self._momentum_step, Adam: self._adam_step}
        if type(optimizer) not in steps:
            raise TypeError(f"the fast path has no update for {type(optimizer).__name__}")
        self._step = steps[type(optimizer)]

    def _views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views ``W1, b1, ...`` into ``flat``, shaped like the network's parameters."""
        views, start = {}, 0
        for name, w in self.net.params.items():
            views[name] = flat[start:start + w.size].reshape(w.shape)
            start += w.size
        return views

    def gradients(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy on a batch; its gradient (plus weight decay) goes into ``self.grads``.

        ``x : (N, 784)`` in the network's dtype, ``y : (N,)`` int in 0..9, both already checked.
        """
        layers = self.net.layers
        a = [x]
        for W, b in layers[:-1]:
            z = a[-1] @ W                                  # Z(l) = A(l-1) W(l) + b(l)
            z += b
            a.append(np.maximum(z, 0, out=z))              # A(l) = relu(Z(l)), in place
        W, b = layers[-1]
        logits = a[-1] @ W
        logits += b
        loss, delta = softmax_cross_entropy(logits, y)     # Delta(last) = (p - onehot) / N
        if len(self._ones) != len(x):
            self._ones = np.ones(len(x), self.net.dtype)
        for l in range(len(layers), 0, -1):
            (W, _), (dW, db) = layers[l - 1], self.layer_grads[l - 1]
            np.matmul(a[l - 1].T, delta, out=dW)           # A(l-1).T Delta(l)
            np.matmul(self._ones, delta, out=db)           # sum over the batch
            if l > 1:
                delta = delta @ W.T                        # Delta(l-1) = (Delta(l) W(l).T) * relu'(Z(l-1))
                delta *= a[l - 1] > 0
        if self.weight_decay:
            for (W, _), (dW, _) in zip(layers, self.layer_grads):
                dW += self.weight_decay * W
        return loss

    def update(self, lr: float) -> None:
        """One optimizer step with learning rate ``lr`` from ``self.grads`` (which it uses as scratch)."""
        self._step(self.grad_flat, lr)                     # leaves the step to take in g
        for w, step in self.updates:                       # w = w - step, parameter by parameter
            w -= step

    def _sgd_step(self, g: np.ndarray, lr: float) -> None:
        g *= lr                                            # step = lr g

    def _momentum_step(self, g: np.ndarray, lr: float) -> None:
        v = self.flat["velocity"]
        v *= self.optimizer.momentum                       # v = mu v + g
        v += g
        np.multiply(v, lr, out=g)                          # step = lr v

    def _adam_step(self, g: np.ndarray, lr: float) -> None:
        beta1, beta2, eps = self.optimizer.beta1, self.optimizer.beta2, self.optimizer.eps
        t = self.state["t"]
        t += 1
        m, v = self.flat["m"], self.flat["v"]
        m -= g                                             # m = beta1 m + (1 - beta1) g
        m *= beta1                                         #   = beta1 (m - g) + g
        m += g
        np.square(g, out=g)
        v -= g                                             # v = beta2 v + (1 - beta2) g^2
        v *= beta2
        v += g
        # step = lr m_hat / (sqrt(v_hat) + eps) = lr sqrt(c2) / c1 * m / (sqrt(v) + eps sqrt(c2))
        c1, c2 = 1 - beta1 ** int(t), 1 - beta2 ** int(t)
        np.sqrt(v, out=g)
        g += eps * math.sqrt(c2)
        np.divide(m, g, out=g)
        g *= lr * math.sqrt(c2) / c1

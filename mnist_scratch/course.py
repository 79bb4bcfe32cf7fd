"""Helpers the notebooks use to teach: the real source beside an equation, a tiny worked network,
a finite-difference gradient, and the activations of a deep stack under different initialisations.

    from mnist_scratch import course, network
    course.show_source(network.softmax)       # the code that really runs, syntax-highlighted

Nothing here changes what the network computes; every number comes from :mod:`mnist_scratch.network`.
"""
from __future__ import annotations

import html
import inspect
import textwrap
from dataclasses import dataclass

import numpy as np

from .network import Network


# ----------------------------------------------------------------------------- showing source
@dataclass(frozen=True)
class Source:
    """Source code that displays itself syntax-highlighted in Jupyter and as plain text elsewhere.

    ``collapsed=True`` wraps it in a ``<details>`` block that the reader clicks to open.
    """

    code: str
    title: str
    collapsed: bool = False

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer

            body = highlight(self.code, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
        except ImportError:  # pygments comes with IPython, but plain text is a fine fallback
            body = f"<pre>{html.escape(self.code)}</pre>"
        title = html.escape(self.title)
        if self.collapsed:
            return f"<details><summary><code>{title}</code> (click to show)</summary>{body}</details>"
        return f"<div><small><code>{title}</code></small>{body}</div>"

    def __repr__(self) -> str:
        return f"# {self.title}\n{self.code}"


def source_of(obj) -> str:
    """The source text of a function, method or class, dedented (``inspect.getsource``)."""
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as error:
        raise ValueError(f"no Python source available for {obj!r}: {error}") from None


def show_source(obj, collapsed: bool = False) -> Source:
    """The real source of ``obj`` (from the installed package, not a copy), to display in a notebook.

    The title names the module and line, e.g. ``mnist_scratch/network.py:41  softmax``.
    """
    code = source_of(obj)
    target = inspect.unwrap(obj)
    try:
        file = inspect.getsourcefile(target) or "?"
        line = inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        file, line = "?", 0
    short = "/".join(file.replace("\\", "/").split("/")[-2:])
    name = getattr(target, "__qualname__", getattr(target, "__name__", repr(target)))
    return Source(code, f"{short}:{line}  {name}", collapsed)


# ----------------------------------------------------------------------------- the tiny network
TINY_X = np.array([[1.0, 2.0]])               # (1, 2) one example with two inputs
TINY_Y = np.array([1])                        # its label: the second of two classes
TINY_PARAMS = {
    "W1": np.array([[0.5, -1.0], [0.25, 0.5]]),   # (2 inputs, 2 hidden)
    "b1": np.array([0.0, -0.5]),
    "W2": np.array([[1.0, -1.0], [0.5, 2.0]]),    # (2 hidden, 2 outputs)
    "b2": np.array([0.0, 0.0]),
}


def tiny_network() -> Network:
    """A 2-2-2 float64 :class:`Network` holding :data:`TINY_PARAMS`, for the worked example."""
    net = Network((2, 2, 2), seed=0, dtype=np.float64)
    for name, value in TINY_PARAMS.items():
        net.params[name][...] = value
    return net


def tiny_values(net: Network | None = None) -> dict[str, np.ndarray]:
    """Every forward value and every gradient of the tiny network on ``TINY_X, TINY_Y``.

    Computed by the package's own code (``Network.activations`` and ``Network.loss_and_grads``);
    keys: ``x, z1, a1, z2, p, loss`` and ``dW1, db1, dW2, db2, dp, dz2, da1, dz1`` (row vectors, N = 1).
    """
    net = net or tiny_network()
    x, a1, p = net.activations(TINY_X)
    loss, grads = net.loss_and_grads(TINY_X, TINY_Y)
    z1 = TINY_X @ net.params["W1"] + net.params["b1"]
    z2 = a1 @ net.params["W2"] + net.params["b2"]
    onehot = np.eye(2)[TINY_Y]
    dz2 = p - onehot                          # (p - onehot) / N with N = 1
    da1 = dz2 @ net.params["W2"].T
    values = {"x": x, "z1": z1, "a1": a1, "z2": z2, "p": p, "loss": np.float64(loss),
              "dp": np.where(onehot > 0, -1 / p, 0.0),              # dL/dp for L = -log p[y]: only the true class's entry
              "dz2": dz2, "da1": da1, "dz1": np.where(z1 > 0, da1, 0.0)}
    values.update({f"d{name}": g for name, g in grads.items()})
    return values


# ----------------------------------------------------------------------------- gradient check
def numerical_gradients(net: Network, x: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central finite differences ``(L(θ + ε) - L(θ - ε)) / 2ε`` for every parameter, one at a time.

    x : (N, n_in) float64;  y : (N,) int.  Returns a dict shaped like ``net.params`` (float64).
    Slow (two forward passes per parameter): for a small network and a handful of examples.
    """
    numeric = {}
    for name, value in net.params.items():
        grad = np.zeros(value.shape, dtype=np.float64)
        for j in np.ndindex(value.shape):
            saved = value[j]
            value[j] = saved + eps
            up = net.loss_and_grads(x, y)[0]
            value[j] = saved - eps
            down = net.loss_and_grads(x, y)[0]
            value[j] = saved                   # put the parameter back exactly
            grad[j] = (up - down) / (2 * eps)
        numeric[name] = grad
    return numeric


def relative_error(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """``|a - b| / (|a| + |b|)`` over all arrays of two gradient dicts with the same keys."""
    diff = np.sqrt(sum(np.sum((a[k] - b[k]) ** 2) for k in a))
    size = np.sqrt(sum(np.sum(a[k] ** 2) for k in a)) + np.sqrt(sum(np.sum(b[k] ** 2) for k in b))
    return float(diff / size) if size else 0.0


# ----------------------------------------------------------------------------- initialisation
def init_scale_activations(x: np.ndarray, sizes=(784, 256, 256, 256, 256, 256, 256, 10),
                           variances=None, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """The hidden activations of one deep network under several weight variances.

    The network is He-initialised (``Var(W) = 2 / n_in``) and then every weight is rescaled so
    that ``Var(W) = factor / n_in``; biases stay 0.

    Parameters
    ----------
    x : (N, 784) float32 in [0, 1]
    variances : mapping label -> factor (default: He 2/n, LeCun 1/n, and 4/n)

    Returns
    -------
    dict label -> [a1, a2, ...], the hidden layers' outputs (N, width) each
    """
    variances = variances or {"He: Var(W) = 2/n": 2.0, "LeCun: Var(W) = 1/n": 1.0, "Var(W) = 4/n": 4.0}
    base = Network(sizes, seed=seed)
    out = {}
    for label, factor in variances.items():
        net = base.copy()
        for name, value in net.params.items():
            if name.startswith("W"):
                value *= np.sqrt(factor / 2.0)     # He's variance 2/n becomes factor/n
        out[label] = net.activations(x)[1:-1]      # hidden layers only (not x, not p)
    return out

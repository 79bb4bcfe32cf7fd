"""Build it yourself: reference solutions and the checkers of notebook 06.

The learner writes, in order, ``relu``, ``softmax``, ``cross_entropy``, ``forward``, ``backward``,
``sgd_step`` and a training loop. Each ``check_*`` function calls the learner's function on small
worked examples and compares it with the reference solution below:

    check_relu(relu)                 relu(z) -> array of z's shape
    check_softmax(softmax)           softmax(z: (N, K)) -> (N, K), rows summing to 1
    check_cross_entropy(ce)          cross_entropy(p: (N, K), y: (N,) int) -> float, the mean
    check_forward(forward)           forward(params, x: (N, 784)) -> p: (N, 10)
    check_backward(backward)         backward(params, x, y) -> (loss, grads), grads keyed like params
    check_sgd_step(sgd_step)         sgd_step(params, grads, lr) -> None, params updated in place

``params`` is a dict of float32 arrays ``W1 (784, 64), b1 (64,), W2 (64, 10), b2 (10,)``.

A checker returns ``True`` when the function is right, and otherwise prints what is wrong in the
learner's terms (wrong shape, wrong numbers on a small example, overflow on large logits, a
gradient off by a factor of N, ...) and returns ``False``. It never raises because of the
learner's code: an unfinished skeleton (``raise NotImplementedError`` or returning ``None``)
is reported as "not yet".
"""
from __future__ import annotations

import warnings

import numpy as np

from .course import show_source

SIZES = (784, 64, 10)


# ============================================================================= reference solutions
def relu(z):
    """max(z, 0) elementwise.  z: any shape -> the same shape."""
    return np.maximum(z, 0)


def softmax(z):
    """Row-wise softmax.  z: (N, K) logits -> (N, K) probabilities, each row summing to 1."""
    shifted = z - z.max(axis=1, keepdims=True)   # (N, K), each row's largest logit becomes 0:
    e = np.exp(shifted)                          # exp cannot overflow, and the shift cancels below
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(p, y):
    """Mean cross-entropy.  p: (N, K) probabilities, y: (N,) int labels -> mean_i -log p[i, y_i]."""
    n = len(y)
    right = p[np.arange(n), y]                   # (N,) the probability each row gives its true label
    return float(-np.log(right).mean())


def forward(params, x):
    """x: (N, 784) in [0, 1] -> p: (N, 10) probabilities."""
    z1 = x @ params["W1"] + params["b1"]         # (N, 64)
    a1 = relu(z1)                                # (N, 64)
    z2 = a1 @ params["W2"] + params["b2"]        # (N, 10) the logits
    return softmax(z2)                           # (N, 10)


def backward(params, x, y):
    """Loss and gradients.  x: (N, 784), y: (N,) int -> (loss, grads), grads keyed like params."""
    n = len(x)
    z1 = x @ params["W1"] + params["b1"]         # (N, 64)  forward again, keeping what we need
    a1 = relu(z1)                                # (N, 64)
    p = softmax(a1 @ params["W2"] + params["b2"])  # (N, 10)
    loss = cross_entropy(p, y)
    onehot = np.eye(p.shape[1], dtype=p.dtype)[y]  # (N, 10)
    delta2 = (p - onehot) / n                    # (N, 10)  dL/dz2
    delta1 = (delta2 @ params["W2"].T) * (z1 > 0)  # (N, 64)  dL/dz1: back through W2, then relu'
    grads = {
        "W1": x.T @ delta1,                      # (784, 64)
        "b1": delta1.sum(axis=0),                # (64,)  summed over the batch
        "W2": a1.T @ delta2,                     # (64, 10)
        "b2": delta2.sum(axis=0),                # (10,)
    }
    return loss, grads


def sgd_step(params, grads, lr):
    """One step downhill, in place: every parameter moves by -lr times its gradient."""
    for name in params:
        params[name] -= lr * grads[name]         # -= changes the array itself, not just the dict


def init_params(rng, sizes=SIZES):
    """He-initialised parameters ``W1 (784, 64), b1 (64,), W2 (64, 10), b2 (10,)``, float32."""
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = (rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32)
        params[f"b{i}"] = np.zeros(n_out, dtype=np.float32)
    return params


def train(params, x, y, epochs, lr, batch_size, rng):
    """Minibatch SGD on x: (N, 784), y: (N,); returns the loss of every step."""
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))          # a fresh shuffle every epoch
        for start in range(0, len(x) - batch_size + 1, batch_size):
            batch = order[start:start + batch_size]
            loss, grads = backward(params, x[batch], y[batch])
            sgd_step(params, grads, lr)
            losses.append(loss)
    return losses


REFERENCE = {f.__name__: f for f in (relu, softmax, cross_entropy, forward, backward, sgd_step,
                                     init_params, train)}


def solution(name: str):
    """The reference solution of exercise ``name``, collapsed: click to reveal it."""
    if name not in REFERENCE:
        raise ValueError(f"no exercise {name!r}; choose from {', '.join(REFERENCE)}")
    return show_source(REFERENCE[name], collapsed=True)


# ============================================================================= checking machinery
class _NotYet(Exception):
    """The learner's function is still the skeleton."""


class _Wrong(Exception):
    """The learner's function is wrong; the message says how, in the learner's terms."""


def _call(fn, name, *args):
    """Call the learner's function on copies of ``args``; errors become :class:`_Wrong`/`_NotYet`."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(*args)
    except NotImplementedError:
        raise _NotYet(f"{name} still raises NotImplementedError") from None
    except Exception as error:  # the learner's bug, reported rather than raised
        hint = ""
        if "broadcast" in str(error):
            hint = ("\n  hint: a reduction such as z.max(axis=1) has shape (N,); keep the axis with "
                    "keepdims=True so that it lines up with the rows of an (N, K) array")
        elif "matmul" in str(error) or "aligned" in str(error):
            hint = "\n  hint: check the order of the matrix product; x @ W needs x (N, n_in) and W (n_in, n_out)"
        raise _Wrong(f"{name} raised {type(error).__name__}: {error}{hint}") from None
    return out


def _array(out, name, what="an array"):
    """The learner's return value as a float array, or a _Wrong/_NotYet explaining why not."""
    if out is None:
        raise _NotYet(f"{name} returns None (is it still the skeleton, or is a `return` missing?)")
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Wrong(f"{name} should return {what}, got {type(out).__name__}") from None
    return arr


def _close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and np.allclose(a, b, rtol=rtol, atol=atol)


def _fmt(a) -> str:
    return np.array2string(np.asarray(a, dtype=np.float64), precision=4, suppress_small=True,
                           max_line_width=100, threshold=12)


def _run(name: str, check) -> bool:
    """Run ``check()``; print one verdict line (plus details); return whether it passed."""
    try:
        message = check()
    except _NotYet as why:
        print(f"not yet: {why}. Write {name} in the cell above, run it, then run this check again.")
        return False
    except _Wrong as why:
        print(f"✗ {name} is not right yet:\n  {why}")
        return False
    print(f"✓ {name} is right. {message}")
    return True


def _unchanged(inputs: dict, copies: dict, name: str) -> None:
    for key, value in inputs.items():
        if not np.array_equal(value, copies[key]):
            raise _Wrong(f"{name} changed its input {key} in place; compute a new array instead, "
                         f"so the caller's {key} stays as it was (the backward pass needs it)")


# ============================================================================= relu
def check_relu(fn) -> bool:
    """Check ``relu(z) -> max(z, 0)`` elementwise, for any shape, without touching ``z``."""
    def check():
        z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0], [1e4, -1e4, 1.0, -1.0, 2.5]], dtype=np.float32)
        keep = z.copy()
        out = _array(_call(fn, "relu", z), "relu")
        _unchanged({"z": z}, {"z": keep}, "relu")
        if out.shape != z.shape:
            raise _Wrong(f"relu(z) has shape {out.shape} for z of shape {z.shape}; relu works "
                         f"elementwise, so its output has the shape of its input")
        expected = relu(keep)
        if not _close(out, expected):
            if _close(out, keep):
                raise _Wrong("negative inputs must become 0: your relu returns z unchanged")
            if _close(out, np.abs(keep)):
                raise _Wrong("negative inputs must become 0, not their absolute value")
            if _close(out, keep > 0):
                raise _Wrong("that is relu's slope (1 where z > 0, else 0), its derivative; "
                             "relu itself returns z where z > 0 and 0 elsewhere")
            if _close(out, np.minimum(keep, 0)):
                raise _Wrong("relu keeps the positive part, max(z, 0); yours keeps the negative part")
            raise _Wrong(f"wrong values: relu({_fmt(keep[0])}) should be {_fmt(expected[0])}, "
                         f"yours gives {_fmt(out[0])}")
        vector = np.array([-1.0, 0.25, 2.0], dtype=np.float32)
        if not _close(_array(_call(fn, "relu", vector.copy()), "relu"), relu(vector)):
            raise _Wrong("relu must work for any shape; on the 1-D array [-1, 0.25, 2] it gives "
                         "something other than [0, 0.25, 2]")
        return "It keeps positive numbers and turns negative ones into 0."
    return _run("relu", check)


# ============================================================================= softmax
def _softmax_axis0(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def check_softmax(fn) -> bool:
    """Check ``softmax(z: (N, K)) -> (N, K)``: values, rows summing to 1, no overflow."""
    def check():
        z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)  # (2, 3)
        out = _array(_call(fn, "softmax", z.copy()), "softmax")
        if out.shape != z.shape:
            raise _Wrong(f"softmax of a (2, 3) array returned shape {out.shape}; it should keep the "
                         f"shape (one probability per logit)")
        expected = softmax(z)
        if not _close(out, expected):
            sums = out.sum(axis=1)
            if np.allclose(out.sum(axis=0), 1) and not np.allclose(sums, 1):
                raise _Wrong("each column sums to 1, but each ROW (one example) should: "
                             "sum along axis=1 with keepdims=True")
            if np.isclose(out.sum(), 1):
                raise _Wrong("you divided by the sum over the whole batch; each row must sum to 1 "
                             "on its own: e / e.sum(axis=1, keepdims=True)")
            if _close(out, np.exp(z)) or _close(out, np.exp(z - z.max(axis=1, keepdims=True))):
                raise _Wrong("the exponentials are there, but they are not normalised: divide each "
                             "row by its sum so the row sums to 1")
            if not np.allclose(sums, 1):
                raise _Wrong(f"the rows should sum to 1, yours sum to {_fmt(sums)}")
            raise _Wrong(f"wrong values: softmax([[1, 2, 3], [0, 0, 0]]) should be {_fmt(expected)}, "
                         f"yours gives {_fmt(out)}")
        square = np.array([[0.0, 1.0, 5.0], [2.0, 0.0, 0.0], [1.0, 3.0, 2.0]], dtype=np.float32)
        keep = square.copy()
        out = _array(_call(fn, "softmax", square), "softmax")
        _unchanged({"z": square}, {"z": keep}, "softmax")
        if not _close(out, softmax(keep)):
            if _close(out, _softmax_axis0(keep)):
                raise _Wrong("on a square (3, 3) batch each column sums to 1 instead of each row: "
                             "normalise along axis=1")
            raise _Wrong("right on a (2, 3) batch but wrong on a square (3, 3) one: a reduction "
                         "without keepdims=True has shape (N,) and lines up with the columns, not the "
                         "rows, when N == K; use z.max(axis=1, keepdims=True) and e.sum(axis=1, keepdims=True)")
        large = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
        out = _array(_call(fn, "softmax", large.copy()), "softmax")
        if not np.all(np.isfinite(out)):
            raise _Wrong("overflow on large logits: softmax([[1000, 0, -1000]]) gives nan/inf because "
                         "exp(1000) is infinite in floating point. Subtract each row's maximum before "
                         "exp (z - z.max(axis=1, keepdims=True)); it cancels in the ratio")
        if not _close(out, softmax(large)):
            raise _Wrong(f"wrong values for large logits: softmax([[1000, 0, -1000]]) should be "
                         f"{_fmt(softmax(large))}, yours gives {_fmt(out)}")
        spread = np.array([[1000.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        out = _array(_call(fn, "softmax", spread.copy()), "softmax")
        if not _close(out, softmax(spread)):
            raise _Wrong("rows of very different sizes ([[1000, 0], [0, 1]]) go wrong: subtract each "
                         "row's OWN maximum (z.max(axis=1, keepdims=True)), not the batch's maximum, "
                         "or the second row underflows to 0 / 0")
        return "Rows sum to 1 and large logits do not overflow."
    return _run("softmax", check)


# ============================================================================= cross-entropy
def check_cross_entropy(fn) -> bool:
    """Check ``cross_entropy(p: (N, K), y: (N,)) -> float``: the mean of ``-log p[i, y_i]``."""
    def check():
        p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.25, 0.5, 0.25]], dtype=np.float32)
        y = np.array([0, 1, 2, 1])
        keep_p = p.copy()
        out = _call(fn, "cross_entropy", p, y.copy())
        arr = _array(out, "cross_entropy", "a number")
        _unchanged({"p": p}, {"p": keep_p}, "cross_entropy")
        expected = cross_entropy(keep_p, y)
        per_example = -np.log(keep_p[np.arange(4), y])
        if arr.shape == (4,) and _close(arr, per_example):
            raise _Wrong("you return one loss per example; the loss is their mean, a single number")
        if arr.size != 1:
            raise _Wrong(f"cross_entropy should return one number (the mean loss), got an array of "
                         f"shape {arr.shape}")
        value = float(arr.reshape(()))
        if not np.isclose(value, expected, rtol=1e-5):
            if np.isclose(value, 4 * expected, rtol=1e-5):
                raise _Wrong("you return the SUM over the 4 examples; the loss is the mean: divide by N")
            if np.isclose(value, -expected, rtol=1e-5):
                raise _Wrong("the sign is flipped: log p is negative, the loss is -log p (a positive number)")
            if np.isclose(value, -np.log(keep_p[:, y]).mean(), rtol=1e-5):
                raise _Wrong("p[:, y] picks an N x N block (every row's probability of every label); "
                             "pick one entry per row with p[np.arange(N), y]")
            if np.isclose(value, -np.log(keep_p).mean(), rtol=1e-5):
                raise _Wrong("you averaged -log p over all classes; only the probability of the TRUE "
                             "class counts: p[np.arange(N), y]")
            if np.isclose(value, expected / np.log(10), rtol=1e-5) or np.isclose(value, expected / np.log(2), rtol=1e-5):
                raise _Wrong("use the natural logarithm np.log, not log10 or log2")
            raise _Wrong(f"wrong value: for p = {_fmt(keep_p)} and y = {y.tolist()} the mean "
                         f"cross-entropy is {expected:.6f}, yours gives {value:.6f}")
        sure = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype=np.float32)
        y2 = np.array([1, 2])
        value = float(_array(_call(fn, "cross_entropy", sure.copy(), y2.copy()), "cross_entropy").reshape(-1)[0])
        if not np.isclose(value, cross_entropy(sure, y2), rtol=1e-5):
            if np.isnan(value):
                raise _Wrong("nan when a WRONG class has probability exactly 0: onehot * log(p) "
                             "computes 0 * log(0) = 0 * (-inf) = nan. Pick the true class's "
                             "probability with p[np.arange(N), y] instead of multiplying by a one-hot matrix")
            raise _Wrong(f"wrong value when some probabilities are 0: expected "
                         f"{cross_entropy(sure, y2):.6f}, got {value:.6f}")
        return "It is the mean of -log(probability of the true digit)."
    return _run("cross_entropy", check)


# ============================================================================= forward
def example_params(seed: int = 0, sizes=SIZES) -> dict[str, np.ndarray]:
    """Checker parameters: He-initialised weights and non-zero biases (so a missing bias shows)."""
    rng = np.random.default_rng(seed)
    params = init_params(rng, sizes)
    for name in params:
        if name.startswith("b"):
            params[name][...] = rng.normal(0.0, 0.5, params[name].shape)
    return params


def example_batch(n: int, seed: int = 1):
    """``x (n, 784) float32 in [0, 1]`` (sparse like digits) and ``y (n,) int64`` for the checkers."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, SIZES[0])) * (rng.random((n, SIZES[0])) < 0.2)).astype(np.float32)
    return x, rng.integers(0, SIZES[-1], n).astype(np.int64)


def _copy(params):
    return {k: v.copy() for k, v in params.items()}


def _forward_variants(params, x):
    """Forward passes with one typical mistake each, to name the mistake."""
    def net(act=relu, b1=True, b2=True, out=softmax):
        z1 = x @ params["W1"] + (params["b1"] if b1 else 0)
        z2 = act(z1) @ params["W2"] + (params["b2"] if b2 else 0)
        return out(z2)
    return {
        "you return the logits z2; apply softmax to turn them into probabilities": net(out=lambda z: z),
        "the hidden layer is missing its relu: a1 = relu(z1)": net(act=lambda z: z),
        "the bias b1 is missing: z1 = x @ W1 + b1": net(b1=False),
        "the bias b2 is missing: z2 = a1 @ W2 + b2": net(b2=False),
        "relu belongs to the hidden layer only; the output layer goes straight into softmax":
            net(out=lambda z: softmax(relu(z))),
        "softmax normalises each row (axis=1), not each column": net(out=_softmax_axis0),
    }


def check_forward(fn) -> bool:
    """Check ``forward(params, x: (N, 784)) -> p: (N, 10)`` against the reference on 5 digits."""
    def check():
        params = example_params()
        keep = _copy(params)
        x, _ = example_batch(5)
        out = _call(fn, "forward", params, x.copy())
        if isinstance(out, tuple):
            raise _Wrong(f"forward returns a tuple of {len(out)} things; return only p, the (N, 10) "
                         f"probabilities (backward computes what else it needs)")
        p = _array(out, "forward")
        _unchanged(params, keep, "forward")
        if p.shape != (5, 10):
            raise _Wrong(f"for x of shape (5, 784) forward returns shape {p.shape}; it should be (5, 10): "
                         f"one probability per digit class for each of the 5 examples")
        expected = forward(keep, x)
        if not _close(p, expected, rtol=1e-3, atol=1e-6):
            for mistake, wrong in _forward_variants(keep, x).items():
                if _close(p, wrong, rtol=1e-3, atol=1e-6):
                    raise _Wrong(mistake)
            raise _Wrong(f"wrong probabilities: for the first example expected {_fmt(expected[0])}, "
                         f"got {_fmt(p[0])} (max difference {np.nanmax(np.abs(p - expected)):.3g})")
        one = _array(_call(fn, "forward", params, x[:1].copy()), "forward")
        if one.shape != (1, 10):
            raise _Wrong(f"a batch of one digit, x of shape (1, 784), gives shape {one.shape} instead of (1, 10)")
        return "Each row of p holds ten probabilities summing to 1."
    return _run("forward", check)


# ============================================================================= backward
def _unpack_backward(out, n):
    if not isinstance(out, tuple) or len(out) != 2:
        if out is None:
            raise _NotYet("backward returns None (is it still the skeleton, or is a `return` missing?)")
        raise _Wrong("backward must return a pair (loss, grads)")
    loss, grads = out
    if not isinstance(grads, dict):
        raise _Wrong(f"the second thing backward returns should be a dict of gradients, got {type(grads).__name__}")
    missing = [k for k in ("W1", "b1", "W2", "b2") if k not in grads]
    if missing:
        raise _Wrong(f"grads has no {', '.join(missing)}: it needs one gradient per parameter, keyed "
                     f"like params (W1, b1, W2, b2)")
    return loss, {k: _array(grads[k], f"grads[{k!r}]") for k in ("W1", "b1", "W2", "b2")}


def _no_relu_grad(params, x, y):
    """The reference backward without relu's derivative (a typical mistake)."""
    n = len(x)
    a1 = relu(x @ params["W1"] + params["b1"])
    p = softmax(a1 @ params["W2"] + params["b2"])
    delta2 = (p - np.eye(10, dtype=p.dtype)[y]) / n
    delta1 = delta2 @ params["W2"].T
    return {"W1": x.T @ delta1, "b1": delta1.sum(axis=0)}


def check_backward(fn) -> bool:
    """Check ``backward(params, x, y) -> (loss, grads)`` against the reference on 6 digits."""
    def check():
        params = example_params()
        keep = _copy(params)
        x, y = example_batch(6)
        n = len(x)
        loss, grads = _unpack_backward(_call(fn, "backward", params, x.copy(), y.copy()), n)
        _unchanged(params, keep, "backward")
        ref_loss, ref = backward(keep, x, y)
        for name in ("W2", "b2", "W1", "b1"):  # output layer first: errors there spread down
            g, r = grads[name], ref[name]
            if g.shape != r.shape:
                if name.startswith("b") and g.shape == (n, r.shape[0]):
                    raise _Wrong(f"grads[{name!r}] has shape {g.shape}: one row per example. The bias "
                                 f"is shared by all {n} examples, so its gradient is the SUM over the batch: "
                                 f"delta.sum(axis=0), shape {r.shape}")
                if name.startswith("b") and g.shape == (n,):
                    raise _Wrong(f"grads[{name!r}] has shape {g.shape}: you summed over the wrong axis; "
                                 f"sum over the batch, delta.sum(axis=0), shape {r.shape}")
                if g.shape == r.shape[::-1]:
                    raise _Wrong(f"grads[{name!r}] has shape {g.shape}, the transpose of params[{name!r}] "
                                 f"{r.shape}; a gradient has its parameter's shape: a.T @ delta, not delta.T @ a")
                raise _Wrong(f"grads[{name!r}] has shape {g.shape} but params[{name!r}] has shape {r.shape}; "
                             f"every gradient has the shape of its parameter")
            if _close(g, r, rtol=1e-3, atol=1e-6):
                continue
            if _close(g, -r, rtol=1e-3, atol=1e-6):
                raise _Wrong(f"grads[{name!r}] has the wrong sign: it points downhill. The output error "
                             f"is p - onehot (predicted minus true), not onehot - p")
            if _close(g, n * r, rtol=1e-3, atol=1e-6):
                if name.startswith("b") and _close(grads[name.replace("b", "W")], ref[name.replace("b", "W")], 1e-3, 1e-6):
                    raise _Wrong(f"grads[{name!r}] is N = {n} times too large while the weights' gradients "
                                 f"are right: sum delta (which already holds the 1/N), not p - onehot")
                raise _Wrong(f"grads[{name!r}] is N = {n} times too large: the loss is the MEAN over "
                             f"the batch, so the output error is (p - onehot) / N")
            if _close(g, r / n, rtol=1e-3, atol=1e-6):
                if name.startswith("b"):
                    raise _Wrong(f"grads[{name!r}] is N = {n} times too small: you averaged delta over "
                                 f"the batch, but the 1/N is already inside delta, so SUM it: delta.sum(axis=0)")
                raise _Wrong(f"grads[{name!r}] is N = {n} times too small: divide by N only once "
                             f"(in delta2 = (p - onehot) / N)")
            if name in ("W1", "b1") and _close(g, _no_relu_grad(keep, x, y)[name], rtol=1e-3, atol=1e-6):
                raise _Wrong(f"grads[{name!r}] ignores the ReLU: on the way back through relu, multiply "
                             f"by its derivative (z1 > 0), so units that were off pass no gradient")
            worst = np.unravel_index(np.nanargmax(np.abs(g - r)), r.shape) if np.isfinite(g).all() else None
            where = f" (largest difference at index {tuple(int(i) for i in worst)})" if worst is not None else ""
            raise _Wrong(f"grads[{name!r}] has the right shape but wrong values{where}: expected values "
                         f"like {_fmt(r.ravel()[:4])}, got {_fmt(g.ravel()[:4])}")
        loss_arr = _array(loss, "the loss", "a number")
        if loss_arr.size != 1 or not np.isclose(float(loss_arr.reshape(-1)[0]), ref_loss, rtol=1e-4):
            raise _Wrong(f"the gradients are right but the loss is not: expected {ref_loss:.6f} (the mean "
                         f"cross-entropy), got {_fmt(loss_arr)}")
        return "The loss and all four gradients match (to float32 precision)."
    return _run("backward", check)


# ============================================================================= sgd_step
def check_sgd_step(fn) -> bool:
    """Check ``sgd_step(params, grads, lr) -> None``: ``params[k] -= lr * grads[k]`` in place."""
    def check():
        for lr in (0.1, 0.03):
            params = example_params(seed=2)
            arrays = dict(params)                     # the very array objects, to see in-place updates
            before = _copy(params)
            grads = example_params(seed=3)
            grads_before = _copy(grads)
            out = _call(fn, "sgd_step", params, grads, lr)
            expected = {k: before[k] - lr * grads_before[k] for k in before}
            for name in before:
                if name not in params:
                    raise _Wrong(f"params lost its entry {name!r}")
                if params[name] is not arrays[name]:
                    if _close(params[name], expected[name]):
                        raise _Wrong(f"params[{name!r}] = ... puts a NEW array into the dict; anything else "
                                     f"holding the old array (a Network, an optimizer) never sees the step. "
                                     f"Update it in place: params[name] -= lr * grads[name]")
                    raise _Wrong(f"params[{name!r}] was replaced by a new array; update it in place with -=")
            if all(np.array_equal(params[k], before[k]) for k in before):
                if isinstance(out, dict):
                    raise _Wrong("params did not change: you return new parameters, but sgd_step must "
                                 "change params itself (in place) and return nothing")
                raise _Wrong("params did not change at all after the step")
            for name in before:
                if not np.array_equal(grads[name], grads_before[name]):
                    raise _Wrong(f"sgd_step changed grads[{name!r}]; only params should change")
                got = params[name]
                if _close(got, expected[name], rtol=1e-5, atol=1e-7):
                    continue
                if np.array_equal(got, before[name]):
                    raise _Wrong(f"params[{name!r}] was not updated: every parameter takes a step, "
                                 f"biases included")
                if _close(got, before[name] + lr * grads_before[name], rtol=1e-5, atol=1e-7):
                    raise _Wrong(f"params[{name!r}] moved UPHILL: subtract the gradient (-=), do not add it")
                if _close(got, before[name] - grads_before[name], rtol=1e-5, atol=1e-7):
                    raise _Wrong(f"params[{name!r}] moved by the whole gradient: multiply it by the learning rate lr")
                raise _Wrong(f"params[{name!r}] has wrong values after a step with lr = {lr}: expected "
                             f"{_fmt(expected[name].ravel()[:3])}..., got {_fmt(got.ravel()[:3])}...")
            if any(params[k].dtype != before[k].dtype for k in before):
                raise _Wrong("the step changed the parameters' dtype; keep them float32")
        return "Every parameter moves by -lr x its gradient, in place."
    return _run("sgd_step", check)


# ============================================================================= using the learner's work
CHECKS = {"relu": check_relu, "softmax": check_softmax, "cross_entropy": check_cross_entropy,
          "forward": check_forward, "backward": check_backward, "sgd_step": check_sgd_step}


def passes(name: str, fn) -> bool:
    """Whether the learner's ``fn`` passes the checker of exercise ``name``, silently."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return CHECKS[name](fn)


def mine_or_reference(name: str, fn):
    """The learner's ``fn`` if it passes its checker, else the reference solution (and says so)."""
    if name not in CHECKS:
        raise ValueError(f"no checker for {name!r}; choose from {', '.join(CHECKS)}")
    if passes(name, fn):
        print(f"using your {name}")
        return fn
    print(f"your {name} does not pass check_{name} yet: using the reference {name} instead")
    return REFERENCE[name]


def run_training(train_fn, params, x, y, epochs, lr, batch_size, seed=0):
    """Run the learner's training loop; if it is unfinished or fails, run the reference loop instead.

    Returns the list of per-step losses. ``params`` is trained in place either way.
    """
    rng = np.random.default_rng(seed)
    start = _copy(params)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            losses = train_fn(params, x, y, epochs, lr, batch_size, rng)
        if losses is None:
            raise _NotYet("your train returns None")
        return list(losses)
    except Exception as error:  # the learner's loop must never stop the notebook
        why = ("it still raises NotImplementedError" if isinstance(error, NotImplementedError)
               else str(error) if isinstance(error, _NotYet)
               else f"it raised {type(error).__name__}: {error}")
        print(f"your train is not finished ({why}): running the reference loop exercises.train instead")
        for name, value in start.items():
            params[name][...] = value
        return train(params, x, y, epochs, lr, batch_size, np.random.default_rng(seed))


def accuracy(forward_fn, params, x, y, batch: int = 10_000) -> float:
    """Fraction of ``x: (N, 784)`` that ``forward_fn(params, x).argmax(axis=1)`` labels as ``y``."""
    hits = sum(int(np.sum(np.argmax(forward_fn(params, x[i:i + batch]), axis=1) == y[i:i + batch]))
               for i in range(0, len(y), batch))
    return hits / len(y)

"""Tests of the memory of corrected digits (mnist_scratch/memory.py): its kernel and votes, how the
network uses it, its checkpoint round trip and the refusal of bad memories; and that a network
without a memory behaves exactly as before."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from mnist_scratch.checkpoint import CheckpointError, load_checkpoint, load_network, save_network
from mnist_scratch.memory import CorrectionMemory, build_memory, conflict_radii, kernel_weights, votes
from mnist_scratch.network import Network, relu, softmax


def small_memory(rng, m=6, width=784, reach=1.0, strength=1.0) -> CorrectionMemory:
    keys = rng.random((m, width), dtype=np.float32)
    return CorrectionMemory(keys, np.arange(m) % 10, np.full(m, 3.0, np.float32), reach, strength)


def random_net(seed=0) -> Network:
    net = Network(seed=seed)
    rng = np.random.default_rng(seed)
    for value in net.params.values():  # non-zero biases too, so nothing is trivially equal
        value[...] += 0.01 * rng.standard_normal(value.shape).astype(np.float32)
    return net


# ---------------------------------------------------------------- the kernel and the votes
def test_kernel_weights_and_votes_follow_the_formula():
    rng = np.random.default_rng(1)
    keys = rng.random((8, 7), dtype=np.float32)
    labels = [3, 3, 3, 5, 5, 8, 0, 3]  # several keys for 3 and 5; no key at all for most digits
    memory = CorrectionMemory(keys, labels, [0.5, 1.0, 1.5, 2.0, 0.0, 1.2, 1.4, 1.6], reach=0.8)
    x = rng.random((9, 7), dtype=np.float32)
    w = kernel_weights(x, memory)
    for n in range(9):
        for i in range(8):
            d2 = float(np.sum((x[n].astype(np.float64) - keys[i]) ** 2))
            reach = 0.8 * float(memory.radii[i])
            expected = max(0.0, 1 - d2 / reach ** 2) if reach > 0 else 0.0  # key 4 reaches nothing
            assert w[n, i] == pytest.approx(expected, abs=1e-5)
    assert (w > 0).sum() > 9  # the check above is not all zeros
    nearest = votes(x, memory)
    summed = votes(x, CorrectionMemory(keys, labels, memory.radii, reach=0.8, vote="sum"))
    for c in range(10):
        mine = np.flatnonzero(memory.labels == c)
        np.testing.assert_array_equal(nearest[:, c], w[:, mine].max(axis=1) if len(mine) else 0)
        np.testing.assert_allclose(summed[:, c], w[:, mine].sum(axis=1), atol=1e-6)
    assert (summed[:, 3] > nearest[:, 3]).any()  # the two rules differ where keys of a digit overlap


def test_copies_of_one_drawing_do_not_outvote_the_network():
    # Ten identical keys labelled 1 (a drawing and its copies) and a digit near the edge of their bump:
    # summed, the ten small votes beat a network 90 % sure of 9; the nearest key's vote alone does not.
    key = np.zeros((1, 784), np.float32)
    x = key.copy()
    x[0, :5] = 0.4  # ||x - key||^2 = 0.8, w = 1 - 0.8 / 1 = 0.2 for each copy; 2 x 0.2 < 0.9 < 2 x 10 x 0.2
    p = np.full((1, 10), 0.1 / 9, np.float32)
    p[0, 9] = 0.9
    copies = dict(keys=np.repeat(key, 10, axis=0), labels=np.ones(10, np.int64), radii=np.ones(10, np.float32),
                  strength=2.0)
    assert CorrectionMemory(**copies, vote="sum").combine(x, p).argmax() == 1
    assert CorrectionMemory(**copies).combine(x, p).argmax() == 9


@pytest.mark.parametrize("vote", ["nearest", "sum"])
def test_saliency_with_a_memory_matches_finite_differences(vote):
    # A small float64 network and keys around the inputs, so that several digits' bumps reach them.
    rng = np.random.default_rng(11)
    net = Network((30, 16, 10), seed=2, dtype=np.float64)
    x = (0.3 + 0.4 * rng.random((4, 30))).astype(np.float64)
    keys = np.clip(np.repeat(x, 3, axis=0) + 0.08 * rng.standard_normal((12, 30)), 0, 1).astype(np.float32)
    net.memory = CorrectionMemory(keys, [1, 1, 4, 2, 2, 2, 7, 7, 3, 5, 5, 1], np.full(12, 1.3, np.float32),
                                  strength=2.0, vote=vote)
    assert (votes(x, net.memory) > 0).sum(axis=1).min() >= 2  # the memory takes part in every answer
    target = np.array([1, 2, 7, 5])
    saliency = net.saliency(x, target)
    assert not np.allclose(saliency, net.input_gradient(x, target), atol=1e-3)  # the memory changed it
    h = 1e-3  # the memory reads float32 distances; its votes are quadratic in x, so central differences are exact
    for row in range(4):
        for pixel in range(0, 30, 3):
            up, down = x.copy(), x.copy()
            up[row, pixel] += h
            down[row, pixel] -= h
            expected = (net.predict_proba(up)[row, target[row]] - net.predict_proba(down)[row, target[row]]) / (2 * h)
            assert saliency[row, pixel] == pytest.approx(expected, abs=2e-3), (row, pixel)
    far = np.zeros((1, 30))  # no key in reach: exactly the network's own saliency
    np.testing.assert_array_equal(net.saliency(far, 3), net.input_gradient(far, 3))


def test_a_digit_far_from_every_key_keeps_the_networks_answer_exactly():
    rng = np.random.default_rng(2)
    memory = CorrectionMemory(np.zeros((3, 784), np.float32), [1, 2, 3], np.full(3, 0.5, np.float32))
    x = np.ones((4, 784), np.float32)  # ||x - k||^2 = 784, far outside the reach of 0.5
    p = softmax(rng.standard_normal((4, 10)).astype(np.float32))
    out = memory.combine(x, p)
    assert np.array_equal(out, p) and out is not p


def test_a_digit_on_a_key_takes_its_label_unless_the_network_is_surer():
    key = np.full((1, 784), 0.5, np.float32)
    memory = CorrectionMemory(key, [7], [1.0], strength=1.0)
    unsure = np.full((1, 10), 0.1, np.float32)
    out = memory.combine(key, unsure)
    np.testing.assert_allclose(out, (unsure + np.eye(10, dtype=np.float32)[7]) / 2, atol=1e-6)
    assert out.argmax() == 7 and out.sum() == pytest.approx(1.0)
    near = key.copy()
    near[0, :2] += 0.5  # ||near - key||^2 = 0.5: half a vote, w = 1 - 0.5 / 1^2
    assert memory.combine(near, unsure).argmax() == 7
    sure = np.eye(10, dtype=np.float32)[[3]] * 0.99 + 0.001  # 3 at 99.1 %: half a vote for 7 does not win
    np.testing.assert_allclose(memory.combine(near, sure), (sure + 0.5 * np.eye(10, dtype=np.float32)[7]) / 1.5,
                               atol=1e-6)
    assert memory.combine(near, sure).argmax() == 3


def test_conflict_radii_are_the_distance_to_the_nearest_digit_of_another_label():
    rng = np.random.default_rng(3)
    keys, labels = rng.random((4, 20), dtype=np.float32), np.array([0, 1, 2, 0])
    x, y = rng.random((50, 20), dtype=np.float32), rng.integers(0, 3, 50)
    r = conflict_radii(keys, labels, x, y, batch=7)  # several batches
    for i in range(4):
        other = x[y != labels[i]].astype(np.float64)
        assert r[i] == pytest.approx(np.sqrt(((other - keys[i]) ** 2).sum(axis=1)).min(), rel=1e-4)


def test_build_memory_keeps_each_drawing_and_its_copies():
    rng = np.random.default_rng(4)
    x_user, y_user = rng.random((12, 784), dtype=np.float32), np.arange(12) % 10
    x_mnist, y_mnist = rng.random((40, 784), dtype=np.float32), np.arange(40) % 10
    memory = build_memory(x_user, y_user, x_mnist, y_mnist, np.random.default_rng(0), copies=3)
    assert len(memory) == 48 and memory.width == 784
    np.testing.assert_array_equal(memory.keys[:12], x_user)  # the drawings themselves, then the copies
    np.testing.assert_array_equal(memory.labels, np.tile(y_user, 4))
    assert np.all(memory.radii > 0) and memory.keys.min() >= 0 and memory.keys.max() <= 1
    capped = build_memory(x_user, y_user, x_mnist, y_mnist, np.random.default_rng(0), copies=10, max_keys=30)
    assert len(capped) == 24  # 30 keys at most: each drawing once and one copy
    newest = build_memory(x_user, y_user, x_mnist, y_mnist, np.random.default_rng(0), max_keys=5)
    np.testing.assert_array_equal(newest.keys, x_user[-5:])  # more drawings than keys: the newest
    np.testing.assert_array_equal(newest.labels, y_user[-5:])


@pytest.mark.parametrize("bad, match", [
    ({"labels": [0, 10]}, "digits 0..9"),
    ({"radii": [1.0, -1.0]}, "radii >= 0"),
    ({"keys": np.full((2, 784), 2.0, np.float32)}, r"pixels in \[0, 1\]"),
    ({"radii": [1.0]}, "keys"),
    ({"reach": 0.0}, "reach must be > 0"),
    ({"vote": "mean"}, "vote must be one of nearest, sum"),
])
def test_a_bad_memory_is_refused(bad, match):
    args = {"keys": np.zeros((2, 784), np.float32), "labels": [0, 1], "radii": [1.0, 1.0], **bad}
    with pytest.raises(ValueError, match=match):
        CorrectionMemory(**args)


# ---------------------------------------------------------------- the network with and without memory
def test_a_network_without_memory_is_bit_identical_to_the_plain_forward_pass():
    net = random_net()
    x = np.random.default_rng(5).random((32, 784), dtype=np.float32)
    assert net.memory is None and net.copy().memory is None
    W1, b1, W2, b2 = (net.params[k] for k in ("W1", "b1", "W2", "b2"))
    before = softmax(relu(x @ W1 + b1) @ W2 + b2)  # what predict_proba computed before memories existed
    assert np.array_equal(net.predict_proba(x), before)
    assert np.array_equal(net.predict(x), before.argmax(axis=1))


def test_a_network_with_memory_predicts_with_it(tmp_path):
    net = random_net()
    rng = np.random.default_rng(6)
    x = rng.random((5, 784), dtype=np.float32)
    plain = net.predict(x)
    labels = (plain + 1) % 10  # every drawing corrected to another digit than the network said
    net.memory = CorrectionMemory(x, labels, np.full(5, 1.0, np.float32), strength=100.0)
    np.testing.assert_array_equal(net.predict(x), labels)
    np.testing.assert_array_equal(net.predict_proba(x), net.memory.combine(x, net.forward(x)))
    far = np.zeros((3, 784), np.float32)  # far from every key: the network's own answer
    np.testing.assert_array_equal(net.predict_proba(far), net.forward(far))
    assert net.copy().memory is net.memory
    with pytest.raises(ValueError, match="x must be"):
        net.predict(x[:, :100])


def test_a_network_with_memory_survives_the_checkpoint_round_trip(tmp_path):
    net = random_net()
    net.memory = small_memory(np.random.default_rng(7), m=8, reach=0.9, strength=2.0)
    path = save_network(net, tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as archive:  # named arrays anyone can inspect
        assert {"memory.keys", "memory.labels", "memory.radii"} <= set(archive.files)
        meta = json.loads(str(archive["__meta__"]))
    assert meta["memory"] == {"size": 8, "width": 784, "reach": 0.9, "strength": 2.0, "vote": "nearest"}
    loaded = load_network(path)
    for name in ("keys", "labels", "radii"):
        np.testing.assert_array_equal(getattr(loaded.memory, name), getattr(net.memory, name))
    assert (loaded.memory.reach, loaded.memory.strength, loaded.memory.vote) == (0.9, 2.0, "nearest")
    x = np.concatenate([net.memory.keys, np.zeros((2, 784), np.float32)])
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    arrays, _ = load_checkpoint(path)
    assert arrays["memory.labels"].shape == (8,)


def test_a_memory_saved_before_the_nearest_vote_keeps_its_summed_votes(tmp_path):
    net = random_net()
    rng = np.random.default_rng(8)
    keys = np.clip(0.5 + 0.01 * rng.standard_normal((12, 784)), 0, 1).astype(np.float32)  # all overlapping
    net.memory = CorrectionMemory(keys, np.arange(12) % 3, np.full(12, 3.0, np.float32), vote="sum")
    path = save_network(net, tmp_path / "net.npz")
    summed = net.predict_proba(keys)
    rewrite(path, lambda meta: meta["memory"].pop("vote"))  # as written before "vote" existed
    loaded = load_network(path)
    assert loaded.memory.vote == "sum"
    np.testing.assert_allclose(loaded.predict_proba(keys), summed, rtol=1e-4)  # float32 distances of near keys
    loaded.memory.vote = "nearest"
    assert not np.allclose(loaded.predict_proba(keys), summed, rtol=1e-3)  # the rule matters here


def test_a_checkpoint_without_memory_is_as_before(tmp_path):
    path = save_network(random_net(), tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["W1", "W2", "__meta__", "b1", "b2"]
        assert "memory" not in json.loads(str(archive["__meta__"]))
    assert load_network(path).memory is None


def rewrite(path, meta_change=None, arrays_change=None):
    """Rewrite a checkpoint with its metadata and arrays changed (a damaged or forged file)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    (meta_change or (lambda m: None))(meta)
    arrays.update(arrays_change or {})
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)


def saved_with_memory(tmp_path, m=4):
    net = random_net()
    net.memory = small_memory(np.random.default_rng(8), m=m)
    return save_network(net, tmp_path / "net.npz")


def test_a_memory_of_the_wrong_width_is_refused_with_a_clear_message(tmp_path):
    net = random_net()
    net.memory = small_memory(np.random.default_rng(9), m=3, width=64)  # e.g. hidden activations
    with pytest.raises(CheckpointError, match="keys of width 64, but the network reads 784 pixels"):
        save_network(net, tmp_path / "wide.npz")
    assert not (tmp_path / "wide.npz").exists()
    path = saved_with_memory(tmp_path, m=3)
    rewrite(path, lambda meta: meta["memory"].update(width=64),
            {"memory.keys": np.zeros((3, 64), np.float32)})
    with pytest.raises(CheckpointError, match="keys of width 64, but the network reads 784 pixels"):
        load_network(path)
    with pytest.raises(ValueError, match="memory holds digits of 784 numbers, got inputs of 64"):
        small_memory(np.random.default_rng(9)).combine(np.zeros((1, 64), np.float32), np.zeros((1, 10)))


@pytest.mark.parametrize("meta_change, arrays_change, match", [
    (None, {"memory.labels": np.array([0, 1, 2, 12])}, "the memory is invalid: memory labels must be digits"),
    (None, {"memory.radii": None}, "array 'memory.radii' is missing"),
    (None, {"memory.keys": np.zeros((5, 784), np.float32)}, r"'memory.keys' has shape \(5, 784\), expected \(4, 784\)"),
    (None, {"memory.radii": np.full(4, np.nan, np.float32)}, "must be finite"),
    (None, {"memory.labels": np.zeros(4, np.float64)}, "'memory.labels' is float64, the metadata says int64"),
    (lambda meta: meta["memory"].update(size="4"), None, "memory's metadata"),
    (lambda meta: meta["memory"].update(vote=1), None, "memory's metadata"),
    (lambda meta: meta["memory"].update(vote="most"), None, "the memory is invalid: vote must be one of"),
    (lambda meta: meta.pop("memory"), None, "unexpected entry 'memory.keys.npy'"),
])
def test_a_damaged_memory_in_a_checkpoint_is_refused(tmp_path, meta_change, arrays_change, match):
    path = saved_with_memory(tmp_path)
    rewrite(path, meta_change, arrays_change)
    with pytest.raises(CheckpointError, match=match):
        load_network(path)


def saved_retrained(tmp_path):
    """A network saved with the weights its retrains start from (``before_retrain``)."""
    net = random_net()
    net.before_retrain = {k: (w + 0.5).astype(w.dtype) for k, w in net.params.items()}
    return net, save_network(net, tmp_path / "retrained.npz")


def test_the_weights_before_retrain_survive_the_checkpoint_round_trip(tmp_path):
    from mnist_scratch.checkpoint import load_checkpoint

    net, path = saved_retrained(tmp_path)
    back = load_network(path)
    assert back.before_retrain.keys() == net.params.keys()
    for name in net.params:
        np.testing.assert_array_equal(back.before_retrain[name], net.before_retrain[name])
        np.testing.assert_array_equal(back.params[name], net.params[name])
    arrays, meta = load_checkpoint(path)
    assert meta["before_retrain"] is True and "before_retrain.W1" in arrays
    assert load_network(saved_with_memory(tmp_path)).before_retrain is None  # never retrained


@pytest.mark.parametrize("meta_change, arrays_change, match", [
    (None, {"before_retrain.b2": np.full(10, np.nan, np.float32)}, "before_retrain.b2 holds NaN"),
    (None, {"before_retrain.W1": np.zeros((784, 3), np.float32)}, "'before_retrain.W1' has shape"),
    (None, {"before_retrain.W2": None}, "array 'before_retrain.W2' is missing"),
    (None, {"before_retrain.b1": np.zeros(8, np.int32)}, "before_retrain.b1"),
    (lambda meta: meta.update(before_retrain="yes"), None, "'before_retrain' is 'yes', not true"),
    (lambda meta: meta.pop("before_retrain"), None, "unexpected entry 'before_retrain."),
])
def test_damaged_weights_before_retrain_are_refused(tmp_path, meta_change, arrays_change, match):
    _, path = saved_retrained(tmp_path)
    rewrite(path, meta_change, arrays_change)
    with pytest.raises(CheckpointError, match=match) as caught:
        load_network(path)
    assert str(path) in str(caught.value)


def test_the_pad_shows_the_memorys_answer(tmp_path):
    from mnist_scratch.pad import DigitPad, strokes_to_input
    from mnist_scratch.store import FeedbackStore

    stroke = [(150.0 - 15 * t, 45.0 + 190 * t) for t in np.linspace(0, 1, 12)]  # a "1"
    x28 = strokes_to_input([stroke], 280, 18.0).reshape(1, 784)
    net = random_net()
    label = int((net.predict(x28)[0] + 1) % 10)  # the user said it is another digit
    net.memory = CorrectionMemory(x28, [label], [1.0], strength=100.0)
    pad = DigitPad(net, FeedbackStore(tmp_path / "s.sqlite3"), checkpoint_path=tmp_path / "net.npz")
    pad.on_mouse_down(*stroke[0])
    for point in stroke[1:-1]:
        pad.on_mouse_move(*point)
    pad.on_mouse_up(*stroke[-1])
    assert int(np.argmax(pad.proba)) == label
    np.testing.assert_allclose(pad.proba, net.predict_proba(x28)[0], atol=1e-6)
    alone = int(net.forward(x28)[0].argmax())
    assert f"your saved drawings changed it (the network alone: {alone})" in pad.prediction.value


def test_the_memory_note_says_what_the_memory_did():
    from mnist_scratch.pad_view import memory_note

    net = random_net()
    x = np.random.default_rng(4).random((1, 784), dtype=np.float32)
    alone = int(net.predict(x)[0])
    assert memory_note(net, x) == ""                                    # no memory
    other = (alone + 1) % 10
    net.memory = CorrectionMemory(1 - x, [other], [1.0])                # a drawing far away
    assert memory_note(net, x) == ""
    net.memory = CorrectionMemory(x, [other], [1.0], strength=100.0)    # on x, strong: it decides
    assert memory_note(net, x) == f"your saved drawings changed it (the network alone: {alone})"
    net.memory = CorrectionMemory(x, [alone], [1.0], strength=100.0)    # on x, agreeing
    assert memory_note(net, x.reshape(784)) == f"your saved drawings vote {alone}"


def test_the_pads_saliency_follows_the_memory(tmp_path):
    from mnist_scratch import pad_view as view
    from mnist_scratch.pad import VIEW_SCALE, DigitPad, strokes_to_input
    from mnist_scratch.store import FeedbackStore

    stroke = [(150.0 - 15 * t, 45.0 + 190 * t) for t in np.linspace(0, 1, 12)]  # a "1"
    x28 = strokes_to_input([stroke], 280, 18.0).reshape(1, 784)
    net = random_net()
    label = int((net.predict(x28)[0] + 1) % 10)
    key = np.roll(x28.reshape(28, 28), 1, axis=1).reshape(1, 784)  # the correction, one pixel to the right
    net.memory = CorrectionMemory(key, [label], [1.5 * float(np.linalg.norm(key - x28))], strength=100.0)
    pad = DigitPad(net, FeedbackStore(tmp_path / "s.sqlite3"), checkpoint_path=tmp_path / "net.npz")
    pad.on_mouse_down(*stroke[0])
    for point in stroke[1:-1]:
        pad.on_mouse_move(*point)
    pad.on_mouse_up(*stroke[-1])
    pad.views.value = "saliency"
    assert int(np.argmax(pad.proba)) == label and f"Why a {label}?" in pad.view_caption.value
    image = lambda grad: view.png_bytes(view.saliency_overlay_rgb(grad.reshape(28, 28), pad.x28, VIEW_SCALE))
    assert pad.view_image.value == image(net.saliency(x28, label))
    assert pad.view_image.value != image(net.input_gradient(x28, label))  # not the weights' part alone


def test_retrain_gives_the_network_a_memory_that_its_checkpoint_keeps(trained_net, mnist_data, tmp_path):
    from mnist_scratch.retrain import RetrainConfig, retrain_on_feedback
    from mnist_scratch.store import FeedbackStore

    store = FeedbackStore(tmp_path / "s.sqlite3")
    x, y = mnist_data.x_test[:20], mnist_data.y_test[:20]
    wrong = (y + 1) % 10  # corrections the network could not guess: only the memory can know them
    store.add_images(np.rint(x * 255).astype(np.uint8), wrong, source="test")
    net = trained_net.copy()
    config = RetrainConfig(epochs=0.02, min_replay=2000, memory_copies=2)
    report = retrain_on_feedback(net, store, config=config, data=mnist_data, checkpoint_path=tmp_path / "n.npz")
    assert report.memory_size == len(net.memory) == 60 and "a memory of 60 digits" in report.summary()
    stored = store.load()[0]  # the drawings as the store keeps them (8-bit)
    np.testing.assert_array_equal(net.memory.keys[:20], stored)
    saved = load_network(tmp_path / "n.npz")
    np.testing.assert_array_equal(saved.memory.keys, net.memory.keys)
    np.testing.assert_array_equal(saved.predict(stored), net.predict(stored))
    plain = retrain_on_feedback(trained_net.copy(), store, config=RetrainConfig(epochs=0.02, min_replay=2000,
                                                                                 memory=False), data=mnist_data)
    assert plain.memory_size == 0


def test_the_pads_retrain_hands_the_memory_to_the_pads_network(trained_net, mnist_data, tmp_path):
    from mnist_scratch.pad import DigitPad
    from mnist_scratch.retrain import RetrainConfig
    from mnist_scratch.store import FeedbackStore

    store = FeedbackStore(tmp_path / "s.sqlite3")
    x, y = mnist_data.x_test[:10], mnist_data.y_test[:10]
    store.add_images(np.rint(x * 255).astype(np.uint8), (y + 1) % 10, source="test")
    options = {"config": RetrainConfig(epochs=1.0, min_replay=300, memory_copies=1), "data": mnist_data}
    pad = DigitPad(trained_net.copy(), store, checkpoint_path=tmp_path / "net.npz", retrain_options=options)
    assert pad.net.memory is None
    pad.click_retrain()
    assert pad.wait_for_retrain(120) and pad.output.outputs == ()
    assert len(pad.net.memory) == 20 and pad.last_report.memory_size == 20
    np.testing.assert_array_equal(load_network(tmp_path / "net.npz").memory.keys, pad.net.memory.keys)


# ---------------------------------------------------------------- any damage to a memory checkpoint
def _memory_mutations():
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["size", "width", "reach", "strength", "vote"]) | st.text(max_size=8), inner,
            max_size=5),
        max_leaves=12)
    return st.one_of(
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8)),
        st.tuples(st.just("meta"), st.sampled_from(["memory", "sizes", "before_retrain"]), json_values),
        st.tuples(st.just("array"), st.sampled_from(["memory.keys", "memory.labels", "memory.radii",
                                                     "before_retrain.W1", "before_retrain.b2"]),
                  st.sampled_from(["<f4", "<f8", "|i1", "<i8", "|u1", ">f4", "<c8", "|b1"]),
                  st.lists(st.integers(0, 1000), max_size=3)))


@pytest.fixture(scope="module")
def memory_checkpoint_bytes(tmp_path_factory):
    net = Network((784, 16, 10), seed=3)
    net.memory = small_memory(np.random.default_rng(0), m=20, strength=0.5)
    net.before_retrain = {k: w * 0.5 for k, w in Network((784, 16, 10), seed=4).params.items()}
    return save_network(net, tmp_path_factory.mktemp("memory") / "net.npz").read_bytes()


def test_any_damaged_memory_checkpoint_loads_a_usable_network_or_raises_checkpoint_error(
        tmp_path, memory_checkpoint_bytes):
    from hypothesis import HealthCheck, given, settings

    from test_checkpoint import _mutate  # the same damage as the network-only checkpoints get

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(mutation=_memory_mutations())
    def check(mutation):
        path = tmp_path / "damaged.npz"
        path.write_bytes(_mutate(memory_checkpoint_bytes, mutation))
        try:
            net = load_network(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
        else:  # what loads must predict
            p = net.predict_proba(np.zeros((2, 784), np.float32))
            assert p.shape == (2, 10) and np.allclose(p.sum(axis=1), 1, atol=1e-5)

    check()

"""hand_style.py: estimating a hand's tilt, slant and width, and redrawing MNIST in it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mnist_scratch import hand_style as H
from mnist_scratch.preprocess import preprocess


@pytest.fixture(scope="module")
def digits(mnist_data):
    """MNIST training digits: 6,000 to compare with (or what the offline sample has) and, apart
    from them, 100 to write a hand with."""
    x, y = mnist_data.x_train, mnist_data.y_train
    n = min(6000, len(y) - 100)
    return x[:n], y[:n], x[n:n + 100], y[n:n + 100]


def test_the_plain_style_is_the_identity():
    assert np.allclose(H.style_matrix(H.HandStyle()), np.eye(2))
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    assert np.allclose(H.warp(x, np.eye(2)), x, atol=1e-6)  # whole-pixel samples: the pixels themselves


def test_warp_then_its_inverse_gives_the_digit_back(mnist_data):
    x = mnist_data.x_train[:20]
    a = H.style_matrix(H.HandStyle(rotate=0.2, shear=0.1, squeeze=0.9))
    back = H.warp(H.warp(x, a), np.linalg.inv(a))
    # Two bilinear resamplings blur a little; the digit is the same.
    assert np.abs(back - x).mean() < 0.05
    assert all(np.corrcoef(b, d)[0, 1] > 0.9 for b, d in zip(back, x))


def test_a_style_moves_pixels_the_documented_way():
    """One dot above the centre: a positive shear moves it sideways by shear * its height."""
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 7, 13] = x[0, 7, 14] = 1.0                       # 6.5 rows above the centre (13.5)
    style = H.HandStyle(shear=0.4)
    (y,), = H.warp(x.reshape(1, 784), np.linalg.inv(H.style_matrix(style))).reshape(1, 1, 784)
    moved = y.reshape(28, 28)
    row, col = np.unravel_index(np.argmax(moved), moved.shape)
    assert row == 7 and abs((col - 13.5) - 0.4 * 6.5) <= 1.0  # A^-1 p = source; A maps (dr, dc) -> (dr, dc - shear dr)


def test_unit_rows_have_length_one_and_blank_rows_stay_blank():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    u = H.unit_rows(x)
    assert np.allclose(u, [[0.6, 0.8], [0.0, 0.0]]) and u.dtype == np.float32


@pytest.mark.parametrize("true", [H.HandStyle(0.3, 0.2, 1.0), H.HandStyle(-0.2, -0.4, 0.8),
                                  H.HandStyle(0.0, 0.5, 1.3), H.HandStyle()])
def test_the_estimate_recovers_a_known_style(digits, true):
    """Fifty digits redrawn in a known style; the estimate, from them and MNIST digits of their
    labels alone, brings them as close to MNIST as the true style does, and its map is near the
    true one. Measured with 6,000 reference digits: || A_est - A_true || 0.07-0.26 (rotation and
    slant trade off a little: both lean the top of a digit)."""
    x_ref, y_ref, x_new, y_new = digits
    x_hand, y_hand = H.redraw(x_new[:50], y_new[:50], true)
    est = H.estimate_style(x_hand, y_hand, x_ref, y_ref)
    refs = list(H.by_label(x_ref, y_ref))
    score = {s: float(H.nearest_of_label(H.unit_rows(H.undo(x_hand, s)), y_hand, refs, 1)[0].mean())
             for s in (est, true, H.HandStyle())}
    assert score[est] <= score[true] + 0.005, score
    if true != H.HandStyle():
        assert score[true] < score[H.HandStyle()] - 0.01, score  # the style is there to be found
    assert np.linalg.norm(H.style_matrix(est) - H.style_matrix(true)) <= 0.35, est


def test_redraw_gives_pad_like_digits_with_their_labels(digits):
    _, _, x, y = digits
    out, labels = H.redraw(x[:10], y[:10], H.HandStyle(0.3, 0.3, 1.2))
    assert out.shape == (10, 784) and out.dtype == np.float32 and labels.dtype == np.int64
    assert np.array_equal(labels, y[:10])
    assert out.min() >= 0 and np.allclose(out.max(axis=1), 1.0)   # preprocessed: brightest pixel 1
    plain, _ = H.redraw(x[:3], y[:3], H.HandStyle())
    assert np.allclose(plain, [preprocess(d.reshape(28, 28)).ravel() for d in x[:3]], atol=1e-5)


def test_redraw_drops_a_digit_that_leaves_the_picture():
    x = np.zeros((2, 784), np.float32)
    x[0, 28 * 14 + 10:28 * 14 + 18] = 1.0   # a stroke in the middle
    x[1, 0] = 1.0                           # a corner pixel: the style moves it off the picture
    out, labels = H.redraw(x, np.array([1, 7]), H.HandStyle(squeeze=1.3))
    assert len(out) == len(labels) <= 1


def test_lookalikes_share_the_label_and_a_digit_finds_itself(digits):
    x_ref, y_ref, _, _ = digits
    idx = np.arange(0, 200, 20)
    found = H.lookalikes(x_ref[idx], y_ref[idx], H.HandStyle(), x_ref, y_ref, per_drawing=5)
    assert found.shape == (50,) and found.dtype == np.int64
    assert np.array_equal(y_ref[found], np.repeat(y_ref[idx], 5))
    assert all(i in found[5 * k:5 * k + 5] for k, i in enumerate(idx))  # its own nearest (distance 0)


def test_a_label_mnist_lacks_is_left_out():
    rng = np.random.default_rng(0)
    x_ref = rng.random((30, 784), dtype=np.float32)
    y_ref = np.repeat([0, 1, 2], 10)
    x_user = rng.random((4, 784), dtype=np.float32)
    found = H.lookalikes(x_user, np.array([0, 9, 9, 1]), H.HandStyle(), x_ref, y_ref, per_drawing=3)
    assert len(found) == 6 and set(y_ref[found]) <= {0, 1}
    assert H.estimate_style(x_user[1:3], np.array([9, 9]), x_ref, y_ref) == H.HandStyle()


def test_the_description_names_the_numbers():
    text = H.HandStyle(rotate=np.radians(12), shear=0.3, squeeze=0.85).describe()
    assert "+12 deg" in text and "+0.30" in text and "x0.85" in text


def test_learn_drawings_learns_the_style_only_with_enough_replay(mnist_data):
    """With a pool of at least ``style_min_pool`` digits the retrain estimates the style and learns
    from lookalikes; below it (the offline sample) it does not."""
    from mnist_scratch.network import Network
    from mnist_scratch.retrain import RetrainConfig, learn_drawings, slanted_hand, split_per_digit

    x, y = mnist_data.x_train[:2000], mnist_data.y_train[:2000]
    learn, _ = split_per_digit(y[:300], 3)
    hand = slanted_hand(x[:300], 0.4, 0.0)
    config = RetrainConfig(epochs=0.05, memory=False, style_min_pool=1000, style_sample=1000)
    on = learn_drawings(Network(seed=0), hand[learn], y[learn], x, y, config)
    assert on.style is not None and on.lookalikes == 30 * 20
    assert 0.2 <= on.style.rotate <= 0.6, on.style   # the hand is turned by 0.4 rad
    off = learn_drawings(Network(seed=0), hand[learn], y[learn], x, y,
                         dataclasses.replace(config, style_min_pool=len(y) + 1))
    assert off.style is None and off.lookalikes == 0


def test_any_drawings_give_a_style_inside_the_search_and_lookalikes_of_their_labels(digits):
    """Noise, blank and one-label drawings: the estimate stays inside what the search can reach
    and the lookalikes carry the drawings' labels; nothing raises."""
    x_ref, y_ref, _, _ = digits
    rng = np.random.default_rng(3)
    cases = [(rng.random((12, 784), dtype=np.float32), rng.integers(0, 10, 12)),     # noise
             (np.zeros((3, 784), np.float32), np.array([1, 2, 3])),                 # blank
             (x_ref[y_ref == 7][:6], np.full(6, 7))]                                # one label
    for x, y in cases:
        style = H.estimate_style(x, y, x_ref, y_ref)
        assert abs(style.rotate) <= 0.57 and abs(style.shear) <= 0.76 and 0.6 <= style.squeeze <= 1.7, style
        found = H.lookalikes(x, y, style, x_ref, y_ref, per_drawing=2)
        assert np.array_equal(y_ref[found], np.repeat(y, 2))
        out, labels = H.redraw(x_ref[found], y_ref[found], style)
        assert out.shape == (len(labels), 784) and np.isfinite(out).all()


def test_the_retrained_checkpoint_records_the_style(trained_net, mnist_data, tmp_path):
    from mnist_scratch.checkpoint import read_metadata
    from mnist_scratch.retrain import RetrainConfig, retrain_on_feedback, slanted_hand, split_per_digit
    from mnist_scratch.store import FeedbackStore

    store = FeedbackStore(tmp_path / "s.sqlite3")
    learn, _ = split_per_digit(mnist_data.y_test[:300], 2)
    x = slanted_hand(mnist_data.x_test[:300])[learn]
    store.add_images(np.rint(x * 255).astype(np.uint8), mnist_data.y_test[:300][learn], source="test")
    config = RetrainConfig(epochs=0.02, min_replay=2000, style_min_pool=0, memory=False)
    report = retrain_on_feedback(trained_net.copy(), store, config=config, data=mnist_data,
                                 checkpoint_path=tmp_path / "n.npz")
    style = read_metadata(tmp_path / "n.npz")["user"]["style"]   # the retrain's own record
    assert report.style is not None and report.lookalikes == style["lookalikes"] == 20 * 20
    assert H.HandStyle(style["rotate"], style["shear"], style["squeeze"]) == report.style
    assert f"your hand: {report.style.describe()}" in report.summary()

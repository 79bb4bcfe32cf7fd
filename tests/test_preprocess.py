"""MNIST-style preprocessing: the invariants of the output (size, centre of mass, box), invariance
to where and how large a digit is drawn, the input formats (grayscale, RGBA of either polarity),
errors for empty and malformed input, and the accuracy the network keeps on real MNIST digits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_scratch.preprocess import (
    COM_CENTER, EmptyDrawingError, center_of_mass, estimate_stroke_width, normalize_stroke_width,
    preprocess, preprocess_steps, resize_to_box, to_grayscale,
)
from mnist_scratch.strokes import rasterize_strokes

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

# Stroke digits in unit coordinates (x right, y down), drawn at any place, size and pen width.
_t = np.linspace(0, 2 * np.pi, 40)
DIGITS = {
    "0": [np.c_[0.5 + 0.3 * np.cos(_t), 0.5 + 0.5 * np.sin(_t)]],
    "1": [np.array([[0.45, 0.1], [0.55, 0.0], [0.5, 1.0]])],
    "4": [np.array([[0.6, 0.0], [0.0, 0.7], [0.9, 0.7]]), np.array([[0.65, 0.3], [0.65, 1.0]])],
    "7": [np.array([[0.1, 0.0], [0.9, 0.0], [0.4, 1.0]])],
}


def draw(name: str, x0: float, y0: float, size: float, pen: float, canvas: int = 280) -> np.ndarray:
    """(canvas, canvas) float32 drawing of DIGITS[name] scaled to ``size`` px at (x0, y0)."""
    strokes = [s * size + (x0, y0) for s in DIGITS[name]]
    return rasterize_strokes(strokes, (canvas, canvas), width=pen)


@st.composite
def drawings(draw_, names=tuple(DIGITS), min_size=60.0):
    """(name, x0, y0, size, pen) with the digit inside a 280 x 280 canvas and a pen 8-16 % of
    the digit's size (MNIST-like strokes)."""
    name = draw_(st.sampled_from(names))
    size = draw_(st.floats(min_size, 230.0))
    x0 = draw_(st.floats(15.0, 265.0 - size))
    y0 = draw_(st.floats(15.0, 265.0 - size))
    pen = draw_(st.floats(0.08, 0.16)) * size
    return name, x0, y0, size, pen


def ink_box_side(image: np.ndarray, level: float = 0.1) -> int:
    """Longest side of the bounding box of pixels >= level."""
    rows = np.flatnonzero(image.max(axis=1) >= level)
    cols = np.flatnonzero(image.max(axis=0) >= level)
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def as_rgba(gray_u8: np.ndarray, kind: str) -> np.ndarray:
    """Encode an ink-bright uint8 image as the RGBA a canvas could give."""
    rgba = np.zeros(gray_u8.shape + (4,), dtype=np.uint8)
    if kind == "dark_on_light":
        rgba[..., :3], rgba[..., 3] = (255 - gray_u8)[..., None], 255
    elif kind == "light_on_dark":
        rgba[..., :3], rgba[..., 3] = gray_u8[..., None], 255
    elif kind == "black_on_transparent":  # ipycanvas' default: nothing drawn is (0, 0, 0, 0)
        rgba[..., 3] = gray_u8
    elif kind == "white_on_transparent":
        rgba[..., :3], rgba[..., 3] = 255, gray_u8
    return rgba


# ---------------------------------------------------------------- output invariants

@pytest.mark.parametrize("make", [
    lambda: draw("4", 40, 50, 150, 18),
    lambda: (draw("7", 10, 20, 60, 8, canvas=100) * 255).astype(np.uint8),
    lambda: draw("0", 5, 5, 40, 5, canvas=60)[:, :45].astype(np.float64),
    lambda: as_rgba((draw("1", 100, 30, 200, 18) * 255).astype(np.uint8), "black_on_transparent"),
    lambda: draw("0", 50, 50, 150, 18) > 0.5,  # bool
])
def test_output_is_28x28_float32_in_unit_range(make):
    out = preprocess(make())
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)


@given(drawings())
@SETTINGS
def test_center_of_mass_is_at_mnist_center(params):
    out = preprocess(draw(*params))
    row, col = center_of_mass(out)
    # The spec allows +-0.5 px; the sub-pixel shift makes it exact unless ink leaves the canvas.
    assert abs(row - COM_CENTER) <= 0.1 and abs(col - COM_CENTER) <= 0.1


def test_mnist_center_of_mass_convention(mnist_test):
    """Real MNIST digits have their centre of mass at pixel (14, 14), 0-based, +-0.5 px."""
    images = mnist_test[0][:2000].reshape(-1, 28, 28)
    coms = np.array([center_of_mass(im) for im in images])  # (N, 2) row, col
    assert np.abs(coms.mean(axis=0) - COM_CENTER).max() < 0.05
    assert np.abs(coms - COM_CENTER).max() <= 0.55


@given(drawings())
@SETTINGS
def test_ink_fits_a_20_pixel_box(params):
    out = preprocess(draw(*params))
    side = ink_box_side(out)  # the sub-pixel shift can spread the edge over a 21st pixel
    assert 20 <= side <= 21


@given(drawings(), drawings())
@SETTINGS
def test_position_and_size_on_the_canvas_barely_matter(first, second):
    """The same digit (pen width proportional to its size) drawn anywhere, at any size, gives
    nearly the same 28 x 28 image: mean absolute difference below 0.04 (typically ~0.015)."""
    name, _, _, size, pen = first
    second = (name, *second[1:3], second[3], pen * second[3] / size)  # same pen-to-size ratio
    a, b = preprocess(draw(*first)), preprocess(draw(*second))
    assert np.abs(a - b).mean() < 0.04


def test_preprocess_steps_are_ordered_and_end_with_the_result():
    image = draw("4", 60, 40, 170, 18)
    steps = preprocess_steps(image)
    assert list(steps) == ["grayscale", "reduced", "smoothed", "thresholded", "stroke_width",
                           "cropped", "resized", "centered", "aligned", "normalized"]
    assert all(v.ndim == 2 and v.dtype == np.float32 for v in steps.values())
    assert max(steps["reduced"].shape) < 100  # the working grid is small
    assert max(steps["resized"].shape) == 20
    assert steps["centered"].shape == steps["aligned"].shape == (28, 28)
    np.testing.assert_array_equal(steps["normalized"], preprocess(image))


# ---------------------------------------------------------------- input formats

@pytest.mark.parametrize("kind", ["dark_on_light", "light_on_dark", "black_on_transparent",
                                  "white_on_transparent"])
def test_rgba_of_either_polarity_matches_grayscale(kind):
    gray = (draw("4", 50, 60, 150, 18) * 255).round().astype(np.uint8)
    expected = preprocess(gray)
    rgba = as_rgba(gray, kind)
    np.testing.assert_allclose(preprocess(rgba), expected, atol=1e-5)
    if kind in ("dark_on_light", "light_on_dark"):  # opaque: the same without the alpha channel
        np.testing.assert_allclose(preprocess(rgba[..., :3]), expected, atol=1e-5)


def test_uint8_and_float_grayscale_agree():
    gray = draw("7", 30, 30, 200, 20)
    u8 = (gray * 255).round().astype(np.uint8)
    np.testing.assert_allclose(preprocess(u8), preprocess(u8 / 255.0), atol=1e-5)


def test_grey_background_is_removed():
    gray = (draw("0", 50, 60, 150, 18) * 255).round().astype(np.uint8)
    rgba = as_rgba(gray, "dark_on_light")
    rgba[..., :3] = (rgba[..., :3] * 0.8).astype(np.uint8)  # a light grey page, dark ink
    ink = to_grayscale(rgba)
    assert np.median(ink) == 0.0 and ink.max() == pytest.approx(1.0)
    assert np.abs(preprocess(rgba) - preprocess(gray)).mean() < 0.01


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("image", [
    np.zeros((280, 280), dtype=np.uint8),
    np.zeros((28, 28), dtype=np.float32),
    np.full((100, 100), 0.05, dtype=np.float32),  # faint haze, no ink
    np.zeros((280, 280, 4), dtype=np.uint8),  # an untouched ipycanvas: transparent
    np.full((280, 280, 4), 255, dtype=np.uint8),  # an opaque white page
    np.pad(np.full((3, 3), 255, dtype=np.uint8), 138),  # a 3 x 3 speck on 281 x 281 (near-empty)
])
def test_empty_or_near_empty_drawing_raises(image):
    with pytest.raises(EmptyDrawingError, match="empty"):
        preprocess(image)
    assert issubclass(EmptyDrawingError, ValueError)


@pytest.mark.parametrize("size", [28, 56, 112, 280, 560])
def test_a_dot_or_an_all_ink_canvas_is_not_a_digit_on_every_canvas_size(size):
    """The same drawing scaled to any canvas gets the same answer: never a solid 20 x 20 square."""
    k = size // 28
    dot = np.zeros((size, size), np.float32)
    dot[14 * k:15 * k, 14 * k:15 * k] = 1.0  # one pixel of a 28 x 28 canvas, scaled
    with pytest.raises(EmptyDrawingError, match="too little to be a digit"):
        preprocess(dot)
    with pytest.raises(EmptyDrawingError, match="not a digit"):
        preprocess(np.ones((size, size), np.float32))
    stroke = np.zeros((size, size), np.float32)
    stroke[4 * k:24 * k, 13 * k:15 * k] = 1.0  # a "1": scaled, it is a digit on every canvas
    assert preprocess(stroke).max() == pytest.approx(1.0)


@pytest.mark.parametrize("image", [np.ones((1, 1), np.float32), np.full((1, 1), 255, np.uint8),
                                   np.ones((3, 3), np.float32)])
def test_a_tiny_all_ink_image_is_not_a_digit(image):
    with pytest.raises(EmptyDrawingError, match="not a digit"):
        preprocess(image)


def test_a_pen_dot_is_not_empty():
    out = preprocess(rasterize_strokes([[(140.0, 140.0)]], width=18.0))
    assert out.shape == (28, 28) and out.max() == pytest.approx(1.0)


@pytest.mark.parametrize("image, match", [
    (np.full((28, 28), np.nan, dtype=np.float32), "NaN or infinite"),
    (np.pad(np.array([[np.inf]]), 5), "NaN or infinite"),
    (np.zeros(784, dtype=np.float32), r"shape \(H, W\)"),
    (np.zeros((1, 28, 28), dtype=np.float32), r"shape \(H, W\)"),
    (np.zeros((28, 28, 2), dtype=np.uint8), r"shape \(H, W\)"),
    (np.zeros((0, 28), dtype=np.uint8), "empty"),
    (np.zeros((28, 28), dtype=np.complex64), "dtype"),
    (np.full((28, 28), "x"), "dtype"),
    (np.full((28, 28), 255.0), r"\[0, 1\]"),
    (np.full((28, 28), -3, dtype=np.int16), "0..255"),
    ([[0, 1], [2]], "NumPy array"),
])
def test_bad_input_raises_a_clear_value_error(image, match):
    with pytest.raises(ValueError, match=match):
        preprocess(image)


# ---------------------------------------------------------------- the steps

def test_resize_keeps_aspect_ratio_and_ink():
    rng = np.random.default_rng(0)
    image = rng.random((60, 24), dtype=np.float32)
    out = resize_to_box(image, 20)
    assert out.shape == (20, 8)
    # area averaging conserves ink: total scales with the area ratio (20 / 60) ** 2
    assert out.sum() == pytest.approx(image.sum() * (20 / 60) ** 2, rel=1e-4)
    square = rng.random((20, 20), dtype=np.float32)
    np.testing.assert_allclose(resize_to_box(square, 20), square, atol=1e-6)  # already 20: as is


@pytest.mark.parametrize("name", ["0", "4"])
def test_stroke_width_is_brought_towards_mnist(name):
    """MNIST's strokes are ~2.5 px wide (median; 90 % within 1.9-3.6 px)."""
    thick = draw(name, 100, 100, 70, 26)  # ~7 px strokes in the 20 px box
    thin = draw(name, 20, 20, 240, 6)  # ~0.5 px strokes
    for image, lo, hi in ((thick, 3.0, 4.5), (thin, 2.2, 3.0)):
        plain = estimate_stroke_width(preprocess(image, width_range=None))
        normalized = estimate_stroke_width(preprocess(image))
        assert lo <= normalized <= hi and not lo <= plain <= hi
    # at MNIST's own resolution thin strokes are left alone (thickening needs resolution)
    small = draw(name, 4, 4, 20, 1.2, canvas=28)
    np.testing.assert_array_equal(normalize_stroke_width(small, scale=1.0), small)


# ---------------------------------------------------------------- real MNIST

def test_mnist_digits_survive_preprocessing(trained_net, mnist_test):
    """Sending real MNIST test digits through preprocess costs the trained network at most 0.5
    points of accuracy, and changes the images little (mean absolute difference < 0.05)."""
    x, y = mnist_test[0][:2000], mnist_test[1][:2000]
    processed = np.stack([preprocess(im.reshape(28, 28)).reshape(784) for im in x])
    assert np.abs(processed - x).mean() < 0.05
    clean = (trained_net.predict(x) == y).mean()
    after = (trained_net.predict(processed) == y).mean()
    assert after >= clean - 0.005, f"accuracy {clean:.4f} -> {after:.4f} after preprocessing"


@given(drawings(min_size=100.0))
@SETTINGS
def test_rasterising_at_reduced_size_gives_the_same_digit(params):
    """The drawing pad may rasterise its strokes at 112 x 112 instead of 280 x 280 (~4x faster).
    (For digits under ~100 px the reduced raster is too coarse to thicken very thin strokes.)"""
    name, x0, y0, size, pen = params
    strokes = [s * size + (x0, y0) for s in DIGITS[name]]
    full = preprocess(rasterize_strokes(strokes, width=pen))
    reduced = preprocess(rasterize_strokes(strokes, width=pen, out_size=(112, 112)))
    assert np.abs(full - reduced).mean() < 0.04  # as close as moving the digit (test above)

"""Rasterising pointer strokes: geometry (dots, thickness, caps), anti-aliasing, reduced output
sizes, and clear errors for malformed strokes."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_scratch.strokes import rasterize_strokes, strokes_to_segments

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

coord = st.floats(min_value=20.0, max_value=260.0, allow_nan=False)
stroke = st.lists(st.tuples(coord, coord), min_size=1, max_size=30)
strokes_strategy = st.lists(stroke, min_size=1, max_size=3)


@given(strokes=strokes_strategy, width=st.floats(4.0, 30.0))
@SETTINGS
def test_output_shape_dtype_range(strokes, width):
    image = rasterize_strokes(strokes, width=width)
    assert image.shape == (280, 280) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.max() == pytest.approx(1.0)  # a pen 4+ px wide fully covers some pixel


def test_no_strokes_gives_a_blank_image():
    assert not rasterize_strokes([]).any()
    assert not rasterize_strokes([[], []], out_size=(28, 28)).any()
    assert rasterize_strokes([[]]).shape == (280, 280)


@pytest.mark.parametrize("width", [6.0, 18.0, 25.5])
def test_a_single_point_is_a_round_dot(width):
    x, y = 100.3, 150.7
    image = rasterize_strokes([[(x, y)]], width=width)
    r = width / 2
    assert image.sum() == pytest.approx(np.pi * r * r, rel=0.03)  # area of the disc
    rows, cols = np.indices(image.shape) + 0.5  # pixel centres
    assert (image * cols).sum() / image.sum() == pytest.approx(x, abs=0.02)
    assert (image * rows).sum() / image.sum() == pytest.approx(y, abs=0.02)
    extent = np.flatnonzero(image.max(axis=0) > 0.5)
    assert abs(len(extent) - width) <= 1.5


@pytest.mark.parametrize("width", [3.0, 9.5, 18.0, 31.0])
def test_horizontal_line_is_width_thick(width):
    image = rasterize_strokes([[(40.0, 140.2), (240.0, 140.2)]], width=width)
    profile = image[:, 140]  # a column through the middle of the line
    assert profile.sum() == pytest.approx(width, abs=0.05)  # ink across the line == pen width
    assert (profile == 1).sum() >= np.floor(width) - 1


@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 90.0, 133.0])
def test_line_area_is_length_times_width_plus_round_caps(angle):
    width, length = 14.0, 150.0
    a = np.deg2rad(angle)
    start = np.array([140.0, 140.0]) - 0.5 * length * np.array([np.cos(a), np.sin(a)])
    end = start + length * np.array([np.cos(a), np.sin(a)])
    image = rasterize_strokes([[tuple(start), tuple(end)]], width=width)
    expected = length * width + np.pi * (width / 2) ** 2  # rectangle plus two half-disc caps
    assert image.sum() == pytest.approx(expected, rel=0.01)


def test_edges_are_anti_aliased():
    image = rasterize_strokes([[(30.0, 40.0), (250.0, 233.0)]], width=10.0)
    partial = (image > 0.05) & (image < 0.95)
    assert partial.sum() > 100  # a diagonal line has partly covered pixels along both edges
    assert (image == 1.0).sum() > 1000


def test_overlapping_strokes_do_not_add_up():
    line = [(40.0, 100.0), (240.0, 100.0)]
    once = rasterize_strokes([line])
    twice = rasterize_strokes([line, line[::-1], line])
    np.testing.assert_allclose(twice, once, atol=1e-6)
    many_points = [(x, 100.0) for x in np.linspace(40, 240, 101)]
    np.testing.assert_allclose(rasterize_strokes([many_points]), once, atol=1e-5)


@given(strokes=strokes_strategy, width=st.floats(10.0, 30.0))
@SETTINGS
def test_reduced_size_matches_full_size_downsampled(strokes, width):
    """out_size=(56, 56) agrees with rasterising at 280 x 280 and averaging 5 x 5 blocks.

    The one-pixel anti-aliasing ramp adds ~pi/12 px of area around each round cap (two per stroke)
    at any scale: negligible at full size, a fixed allowance at the reduced size."""
    full = rasterize_strokes(strokes, width=width)
    small = rasterize_strokes(strokes, width=width, out_size=(56, 56))
    reference = full.reshape(56, 5, 56, 5).mean(axis=(1, 3))
    diff = np.abs(small - reference)
    inked = (small > 0) | (reference > 0)
    # Single pixels can differ by up to ~0.4 in the notch of a sharp turn (where two capsules'
    # ramps overlap, a pixel gets the larger coverage, not their union); on average they agree.
    assert diff[inked].mean() < 0.08  # the worst case is a lone dot 2 px across
    caps = 2 * len(strokes)
    assert small.sum() == pytest.approx(reference.sum(), rel=0.03, abs=0.3 * caps)


def test_non_square_canvas_maps_x_to_columns_and_y_to_rows():
    image = rasterize_strokes([[(150.0, 50.0)]], canvas_size=(100, 200), width=10.0,
                              out_size=(50, 100))
    assert image.shape == (50, 100)
    rows, cols = np.indices(image.shape) + 0.5  # pixel centres
    assert (image * cols).sum() / image.sum() == pytest.approx(75.0, abs=0.05)  # x 150 / 2
    assert (image * rows).sum() / image.sum() == pytest.approx(25.0, abs=0.05)  # y 50 / 2


def test_points_far_outside_the_canvas_are_clipped_not_costly():
    image = rasterize_strokes([[(-1e12, 140.0), (1e12, 140.0)]], width=18.0)
    np.testing.assert_allclose(image.sum(axis=0), 18.0, atol=1e-3)  # a full-width bar
    assert not rasterize_strokes([[(-500.0, -500.0), (-400.0, 900.0)]]).any()


def test_accepts_numpy_arrays_and_tuples():
    pts = np.array([[50.0, 60.0], [120.0, 200.0], [220.0, 90.0]])
    expected = rasterize_strokes([pts.tolist()])
    np.testing.assert_array_equal(rasterize_strokes([pts]), expected)
    np.testing.assert_array_equal(rasterize_strokes((tuple(map(tuple, pts)),)), expected)
    assert strokes_to_segments([pts]).shape == (2, 4)


@pytest.mark.parametrize("strokes, match", [
    ([[(10.0, float("nan"))]], "non-finite"),
    ([[(10.0, 20.0), (float("inf"), 5.0)]], "non-finite"),
    ([(10.0, 20.0), (30.0, 40.0)], "one stroke instead of a list"),
    ([[(1.0, 2.0, 3.0)]], r"shape \(n_points, 2\)"),
    ([[[(1.0, 2.0)]]], r"shape \(n_points, 2\)"),
    ([[("a", "b")]], "number pairs"),
    ([[(1.0, 2.0), (3.0,)]], "number pairs"),
    (None, "list of strokes"),
    ("strokes", "list of strokes"),
    (["abc"], "got a string"),
])
def test_malformed_strokes_raise_clear_errors(strokes, match):
    with pytest.raises(ValueError, match=match):
        rasterize_strokes(strokes)


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0.0}, "width"),
    ({"width": float("nan")}, "width"),
    ({"canvas_size": (0, 280)}, "canvas_size"),
    ({"canvas_size": 280}, "canvas_size"),
    ({"out_size": (28.5, 28)}, "out_size"),
])
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rasterize_strokes([[(10.0, 10.0)]], **kwargs)

"""MNIST-style preprocessing: turn a drawing of any size into the 28 x 28 image the network expects.

MNIST digits were made by fitting each handwritten digit, with anti-aliasing, into a 20 x 20 box
(keeping its aspect ratio) and placing that box in a 28 x 28 field so that the ink's centre of mass
sits at the field's centre: pixel (row 14, column 14) counting from 0, which is where the centre
of mass of real MNIST digits lies (+- 0.5 px). :func:`preprocess` does the same to a drawing, in
small public steps that a notebook can show one by one (:func:`preprocess_steps`):

0a. :func:`to_grayscale`           any accepted input -> ink intensity, bright on dark, float32
0b. :func:`reduce_to_grid`         crop to the ink, area-average down to a small working grid
1.  :func:`smooth`                 light Gaussian blur
2.  :func:`threshold_noise`        zero everything fainter than 10 % of the brightest ink
2b. :func:`normalize_stroke_width` thin very thick strokes, thicken very thin ones
3.  :func:`crop_to_bbox`           cut out the ink's bounding box (:func:`bounding_box`)
4.  :func:`resize_to_box`          aspect-preserving, anti-aliased resize: longest side 20 px
5.  :func:`center_in_canvas`       paste into the middle of a 28 x 28 canvas
6.  :func:`align_center_of_mass`   sub-pixel shift putting the centre of mass at (14, 14)
7.  :func:`normalize`              scale so the brightest pixel is 1; clip to [0, 1]

Design notes (measured with a trained 784-64-10 network, see ``benchmarks/``):

* Step 0b is for speed. Blurring a 280 x 280 image costs milliseconds; the working grid keeps the
  ink's longest side at 40-80 px (an integer block mean, exact area averaging), where every later
  step costs microseconds. The whole pipeline takes ~0.3 ms for a 280 x 280 drawing.
* Area (box) averaging when shrinking and bilinear interpolation when enlarging reproduce MNIST's
  own anti-aliasing, and a 28 x 28 MNIST digit passes through almost unchanged (its box is already
  20 px, so steps 3-5 are exact; step 6 moves it by less than half a pixel). The network loses no
  accuracy on MNIST test digits sent through :func:`preprocess` (the tests allow 0.5 points).
* Blur is kept light (``SIGMA`` = 0.15 output px): up to 0.3 px made no difference on MNIST, 0.5 px
  and more cost accuracy on MNIST and on drawings.
* Step 2b is not in the original MNIST recipe: a digit drawn small with a wide pen, or large with a
  thin one, has strokes outside anything MNIST contains; bringing them into MNIST's range
  (``WIDTH_RANGE``, output px) gained ~2 points on drawings of random size and pen width.

An empty or near-empty drawing raises :class:`EmptyDrawingError` (a ``ValueError``) rather than
becoming a confident prediction of nothing.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

BOX = 20  # MNIST's digit box: the ink's longest side, in output pixels
CANVAS = 28  # output side
COM_CENTER = 14.0  # MNIST's centre of mass (row and column, 0-based pixel indices)
WORK_SIZE = 40  # the working grid keeps the ink's longest side at >= 40 px (2 x BOX) when shrinking
SIGMA = 0.15  # Gaussian blur, std in *output* pixels (scaled to the working grid)
THRESHOLD = 0.1  # noise threshold, as a fraction of the brightest pixel
WIDTH_RANGE = (2.6, 3.4)  # stroke widths (output px) outside this are brought into it
MIN_SCALE_TO_THICKEN = 2.0  # thicken only on a working grid >= 2x the output resolution
MARGIN = 2  # zero border (px) around the working grid
MIN_INK = 0.1  # a pixel must reach this intensity to count as ink at all
MIN_INK_AREA = 2e-3  # a drawing whose total ink is below this fraction of its area is "empty"
MAX_INK_COVER = 0.6  # a canvas with more of its pixels inked than this is not a digit drawing


class EmptyDrawingError(ValueError):
    """The image holds no ink, or so little (a stray click or speck) that it is not a digit.

    Raised by :func:`preprocess` instead of returning an image the network would classify with
    misleading confidence. Callers such as the drawing pad catch it and show "draw a digit".
    """


# ---------------------------------------------------------------- step 0: input and working grid

def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Convert any accepted input to ink intensity, bright ink on a dark background.

    Parameters
    ----------
    image : ndarray
        * ``(H, W)`` grayscale, ink bright on dark: ``uint8`` 0..255 (or another integer type in
          that range), ``bool``, or floating point in [0, 1];
        * ``(H, W, 4)`` RGBA or ``(H, W, 3)`` RGB, ``uint8`` 0..255 or float in [0, 1], as an
          ipycanvas canvas gives. Dark-on-light and light-on-dark both work: transparent pixels are
          background, and the polarity is the one whose background (the image border, or failing
          that the median pixel) is darker; on a tie (e.g. a transparent background) the ink is
          whichever colour the opaque pixels have. A grey background level is subtracted and the
          rest rescaled to [0, 1].

        A 2-D array is taken as it is (no polarity detection): ink must be bright.

    Returns
    -------
    gray : (H, W) float32 in [0, 1], ink bright (1) on dark (0)

    Raises
    ------
    ValueError
        For a non-array, a wrong shape or dtype, NaN/inf, or values outside the documented range.
    """
    if not isinstance(image, np.ndarray):
        try:
            image = np.asarray(image)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"image must be a NumPy array, got {type(image).__name__}: "
                             f"{exc}") from None
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty: shape {image.shape}")
    x = _to_unit_float(image)
    if x.ndim == 2:
        return x
    rgb = x[..., :3]
    alpha = x[..., 3] if x.shape[2] == 4 else np.ones(x.shape[:2], np.float32)
    lum = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (H, W) luminance
    light = alpha * lum  # ink if the ink is light: composite on black
    dark = alpha * (1.0 - lum)  # ink if the ink is dark: composite on white, then invert
    bg_light, bg_dark = _background_level(light), _background_level(dark)
    if abs(bg_light - bg_dark) > 0.05:
        ink, bg = (light, bg_light) if bg_light < bg_dark else (dark, bg_dark)
    else:  # e.g. strokes on a transparent canvas: both backgrounds are 0
        ink, bg = (light, bg_light) if light.mean() >= dark.mean() else (dark, bg_dark)
    if bg > 0:  # a grey background (a photo, a tinted canvas) becomes black
        ink = np.clip((ink - bg) / (1.0 - bg), 0.0, 1.0) if bg < 1 else np.zeros_like(ink)
    return ink.astype(np.float32, copy=False)


def _to_unit_float(image: np.ndarray) -> np.ndarray:
    """Map uint8/int/bool/float arrays to float32 in [0, 1], rejecting NaN/inf and bad ranges."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) * np.float32(1 / 255)
    if image.dtype == np.bool_:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        lo, hi = int(image.min()), int(image.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"integer image values must be in 0..255, got {lo}..{hi}")
        return image.astype(np.float32) * np.float32(1 / 255)
    if np.issubdtype(image.dtype, np.floating):
        lo, hi = float(image.min()), float(image.max())  # NaN propagates into both
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("image contains NaN or infinite values")
        if lo < -1e-3 or hi > 1 + 1e-3:
            raise ValueError(f"float image values must be in [0, 1], got {lo:.4g}..{hi:.4g} "
                             "(divide uint8-range floats by 255)")
        x = image.astype(np.float32, copy=False)
        return np.clip(x, 0.0, 1.0) if lo < 0 or hi > 1 else x
    raise ValueError(f"image dtype must be uint8, another integer, bool or float, "
                     f"got {image.dtype}")


def _background_level(x: np.ndarray) -> float:
    """The background intensity: the median of the image border, or, if the border is mostly ink
    (e.g. a tight crop), the median of the image (every 4th row and column: the majority)."""
    border = np.concatenate([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])
    level = float(np.median(border))
    return level if level < 0.5 else float(np.median(x[::4, ::4]))


def check_not_empty(gray: np.ndarray, min_ink: float = MIN_INK, min_ink_area: float = MIN_INK_AREA,
                    max_ink_cover: float = MAX_INK_COVER) -> None:
    """Raise :class:`EmptyDrawingError` unless ``gray`` holds something that can be a digit.

    Every rule is relative to the canvas, so the same drawing scaled to another canvas size gets
    the same answer: no pixel reaches ``min_ink``; the total ink (sum of intensities) is below
    ``min_ink_area`` of the area (a stray click, a one-pixel dot on 28 x 28); or more than
    ``max_ink_cover`` of the pixels are ink (an all-ink canvas, a 1 x 1 image), which would
    otherwise be stretched into a solid square.

    Parameters
    ----------
    gray : (H, W) float32 in [0, 1], ink bright
    """
    peak = float(gray.max())
    if peak < min_ink:
        raise EmptyDrawingError(f"the drawing is empty (brightest ink {peak:.3f} < {min_ink})")
    total = float(gray.sum(dtype=np.float64))
    needed = min_ink_area * gray.size
    if total < needed:
        raise EmptyDrawingError(f"the drawing is nearly empty (ink {total:.1f} pixel(s) of {gray.size}, "
                                f"needs at least {needed:.1f}): too little to be a digit")
    cover = float(np.mean(gray >= 0.5 * peak))
    if cover > max_ink_cover:
        raise EmptyDrawingError(f"the drawing is not a digit: {100 * cover:.0f} % of the canvas is ink "
                                f"(nothing empty around it to show a shape)")


def reduce_to_grid(gray: np.ndarray, work_size: int = WORK_SIZE,
                   threshold: float = THRESHOLD) -> np.ndarray:
    """Crop to the ink (pixels above ``threshold`` x max) and shrink by an integer factor ``f``
    with a block mean (exact area averaging), ``f`` being the largest that keeps the ink's longest
    side at least ``work_size`` px; no shrinking for small inputs. A zero margin of ``MARGIN`` px
    is added around it.

    Parameters
    ----------
    gray : (H, W) float32 in [0, 1], ink bright, not empty

    Returns
    -------
    grid : (h, w) float32 in [0, 1], ink's longest side in [work_size, 2 * work_size) when shrunk
    """
    r0, r1, c0, c1 = bounding_box(gray, threshold)
    f = max(1, (max(r1 - r0, c1 - c0)) // work_size)
    h = -(-(r1 - r0) // f) * f  # round the crop up to a multiple of f
    w = -(-(c1 - c0) // f) * f
    crop = gray[r0:r0 + h, c0:c0 + w]
    if crop.shape != (h, w):  # the rounded-up crop ran past the image edge
        crop = np.pad(crop, ((0, h - crop.shape[0]), (0, w - crop.shape[1])))
    if f > 1:
        crop = crop.reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return np.pad(crop, MARGIN)  # room for the blur


# ---------------------------------------------------------------- steps 1-7 (and 2b)

def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Step 1: Gaussian blur with standard deviation ``sigma`` pixels (zero outside the image).

    image : (h, w) float32 -> (h, w) float32. ``sigma <= 0`` returns the image unchanged.
    """
    if sigma <= 0:
        return image
    return ndimage.gaussian_filter(image, sigma, mode="constant", truncate=3.0)


def threshold_noise(image: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Step 2: set pixels fainter than ``threshold`` x the brightest pixel to 0 (keep the rest).

    image : (h, w) float32 -> (h, w) float32
    """
    return np.where(image >= threshold * image.max(), image, np.float32(0))


def estimate_stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels: ``2 * ink area / ink perimeter``, the perimeter being the summed
    gradient magnitude (central differences, nearly isotropic). A stroke of width w and length L
    has area w L and perimeter ~ 2 L; round caps make the estimate a little low. Unreliable for
    strokes under ~2 px.

    image : (h, w) float, ink bright. Returns 0.0 for an empty image.
    """
    padded = np.pad(image.astype(np.float32, copy=False), 1)
    gy, gx = np.gradient(padded)
    perimeter = float(np.sqrt(gy * gy + gx * gx).sum())
    return 2.0 * float(padded.sum()) / perimeter if perimeter > 0 else 0.0


def normalize_stroke_width(image: np.ndarray, scale: float = 1.0,
                           width_range: tuple[float, float] = WIDTH_RANGE,
                           min_scale: float = MIN_SCALE_TO_THICKEN) -> np.ndarray:
    """Step 2b (not in the MNIST recipe): bring the stroke width into MNIST's usual range.

    A digit drawn small with a wide pen has strokes far thicker than MNIST's (a thick 0 becomes a
    blob), one drawn large with a thin pen far thinner. The stroke width is estimated
    (:func:`estimate_stroke_width`, divided by ``scale`` = image px per output px); if it lies
    outside ``width_range`` (output px), the ink (pixels above half the maximum) is eroded or
    dilated to the nearest end of the range with a Euclidean distance transform, keeping a
    one-pixel anti-aliased edge. Thickening needs resolution, so it is only done when
    ``scale >= min_scale`` (not to a 28 x 28 MNIST image, where it would cost accuracy); thinning
    that would mostly erase the digit is skipped. MNIST's widths by this estimate: median 2.5 px, 90 % within 1.9-3.6.

    image : (h, w) float32, ink bright -> (h', w') float32 (padded by the radius if thickened)
    """
    width = estimate_stroke_width(image) / scale
    low, high = width_range
    if width > high:
        radius = 0.5 * (width - high) * scale  # erosion depth in image px
        depth = ndimage.distance_transform_edt(image > 0.5 * image.max())  # (h, w) float64
        thinned = np.clip(depth - radius, 0.0, 1.0).astype(np.float32)  # edge pixels partly covered
        return thinned if thinned.sum() > 0.25 * (depth > 0).sum() else image
    if 0 < width < low and scale >= min_scale:
        radius = 0.5 * (low - width) * scale  # dilation distance in image px
        padded = np.pad(image, int(np.ceil(radius)))  # room to grow
        gap = ndimage.distance_transform_edt(padded <= 0.5 * image.max())  # 0 on the ink
        return np.clip(1.0 + radius - gap, 0.0, 1.0).astype(np.float32)
    return image


def bounding_box(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int]:
    """The ink's bounding box ``(row0, row1, col0, col1)`` (end-exclusive) of the pixels above
    ``threshold`` x the brightest pixel (any non-zero pixel for ``threshold=0``).

    Raises :class:`EmptyDrawingError` if no pixel qualifies.
    """
    mask = image > threshold * image.max()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        raise EmptyDrawingError("the drawing is empty (no ink to crop)")
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def crop_to_bbox(image: np.ndarray) -> np.ndarray:
    """Step 3: cut out the bounding box of the non-zero pixels. (h, w) -> (bh, bw) float32."""
    r0, r1, c0, c1 = bounding_box(image)
    return image[r0:r1, c0:c1]


def _resample_matrix(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """(n_out, n_in) float32 matrix resampling a 1-D signal by ``scale`` output px per input px,
    centred in ``n_out`` pixels. Shrinking (scale < 1) averages the input over each output pixel's
    footprint (area/box filter); enlarging interpolates linearly between input pixel centres."""
    offset = 0.5 * (n_out - n_in * scale)  # empty output pixels before the signal starts
    edges = (np.arange(n_out + 1) - offset) / scale  # output pixel edges in input coordinates
    if scale <= 1.0:
        lo = np.clip(edges[:-1, None], np.arange(n_in), np.arange(n_in) + 1)
        hi = np.clip(edges[1:, None], np.arange(n_in), np.arange(n_in) + 1)
        weights = (hi - lo) * scale  # overlap of output pixel i with input pixel j, / footprint
    else:
        centres = np.clip(0.5 * (edges[:-1] + edges[1:]) - 0.5, 0, n_in - 1)
        j = np.arange(n_in)
        weights = np.maximum(0.0, 1.0 - np.abs(centres[:, None] - j))
        outside = (edges[1:] <= 0) | (edges[:-1] >= n_in)
        weights[outside] = 0.0
    return weights.astype(np.float32)


def resize_to_box(image: np.ndarray, box: int = BOX) -> np.ndarray:
    """Step 4: resize so the longest side is ``box`` px, keeping the aspect ratio (the short side
    is rounded up to whole pixels and the image centred in it). Anti-aliased: area averaging when
    shrinking, bilinear when enlarging, one small matrix product per axis.

    image : (h, w) float32 -> (box, ceil(w * s)) or (ceil(h * s), box) float32, s = box / max(h, w)
    """
    h, w = image.shape
    scale = box / max(h, w)
    out_h = min(box, max(1, int(np.ceil(h * scale - 1e-6))))
    out_w = min(box, max(1, int(np.ceil(w * scale - 1e-6))))
    rows = _resample_matrix(h, out_h, scale)  # (out_h, h)
    cols = _resample_matrix(w, out_w, scale)  # (out_w, w)
    return rows @ image @ cols.T  # (out_h, out_w)


def center_in_canvas(image: np.ndarray, size: int = CANVAS) -> np.ndarray:
    """Step 5: paste ``image`` (at most ``size`` x ``size``) into the middle of a zero canvas.

    image : (h, w) float32 -> (size, size) float32
    """
    h, w = image.shape
    if h > size or w > size:
        raise ValueError(f"image {image.shape} does not fit a {size} x {size} canvas")
    canvas = np.zeros((size, size), dtype=np.float32)
    top, left = (size - h) // 2, (size - w) // 2
    canvas[top:top + h, left:left + w] = image
    return canvas


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted centre ``(row, col)`` in 0-based pixel indices. image : (h, w) float."""
    total = image.sum(dtype=np.float64)
    if total <= 0:
        raise EmptyDrawingError("the drawing is empty (no ink for a centre of mass)")
    row = float(image.sum(axis=1) @ np.arange(image.shape[0])) / total
    col = float(image.sum(axis=0) @ np.arange(image.shape[1])) / total
    return row, col


def align_center_of_mass(image: np.ndarray, center: float = COM_CENTER) -> np.ndarray:
    """Step 6: shift by a sub-pixel amount (bilinear) so the centre of mass is at
    ``(center, center)``; MNIST's convention is (14, 14). Ink shifted off the canvas is lost.

    image : (n, n) float32 -> (n, n) float32
    """
    row, col = center_of_mass(image)
    shifted = ndimage.shift(image, (center - row, center - col), order=1, mode="constant")
    return shifted.astype(np.float32, copy=False)


def normalize(image: np.ndarray) -> np.ndarray:
    """Step 7: scale so the brightest pixel is 1, clip to [0, 1]. (n, n) -> (n, n) float32."""
    peak = image.max()
    if peak <= 0:
        raise EmptyDrawingError("the drawing is empty (nothing to normalise)")
    return np.clip(image / peak, 0.0, 1.0).astype(np.float32, copy=False)


# ---------------------------------------------------------------- the pipeline

def preprocess_steps(image: np.ndarray, *, sigma: float = SIGMA, threshold: float = THRESHOLD,
                     width_range: tuple[float, float] | None = WIDTH_RANGE,
                     work_size: int = WORK_SIZE) -> dict[str, np.ndarray]:
    """Run the pipeline and return every intermediate image, in order.

    Parameters
    ----------
    image : see :func:`to_grayscale`
    sigma : float >= 0
        Smoothing in output pixels (multiplied by the working grid's scale before blurring).
    threshold : float in [0, 1)
        Noise threshold as a fraction of the brightest pixel.
    width_range : (low, high) output px, or None
        Stroke widths outside it are brought into it (:func:`normalize_stroke_width`); None skips
        that step (the plain MNIST recipe).
    work_size : int >= 20
        Minimum longest side of the ink on the working grid (see :func:`reduce_to_grid`).

    Returns
    -------
    steps : dict str -> (h, w) float32
        Keys, in order: ``"grayscale"``, ``"reduced"``, ``"smoothed"``, ``"thresholded"``,
        ``"stroke_width"``, ``"cropped"``, ``"resized"``, ``"centered"``, ``"aligned"``,
        ``"normalized"``; the last is ``(28, 28) float32 in [0, 1]``, what :func:`preprocess`
        returns.

    Raises
    ------
    EmptyDrawingError
        The image is empty or near-empty (see :func:`check_not_empty`).
    ValueError
        Bad input (see :func:`to_grayscale`).
    """
    steps: dict[str, np.ndarray] = {}
    steps["grayscale"] = gray = to_grayscale(image)
    check_not_empty(gray)
    steps["reduced"] = grid = reduce_to_grid(gray, work_size, threshold)
    r0, r1, c0, c1 = bounding_box(grid, threshold)
    scale = max(r1 - r0, c1 - c0) / BOX  # working-grid px per output px
    steps["smoothed"] = x = smooth(grid, sigma * scale)
    steps["thresholded"] = x = threshold_noise(x, threshold)
    if width_range is not None:
        x = normalize_stroke_width(x, scale, width_range)
    steps["stroke_width"] = x
    steps["cropped"] = x = crop_to_bbox(x)
    steps["resized"] = x = resize_to_box(x, BOX)
    steps["centered"] = x = center_in_canvas(x, CANVAS)
    steps["aligned"] = x = align_center_of_mass(x, COM_CENTER)
    steps["normalized"] = normalize(x)
    return steps


def preprocess(image: np.ndarray, *, sigma: float = SIGMA, threshold: float = THRESHOLD,
               width_range: tuple[float, float] | None = WIDTH_RANGE,
               work_size: int = WORK_SIZE) -> np.ndarray:
    """Turn a drawing into an MNIST-like digit image.

    Parameters
    ----------
    image : ndarray, any size
        ``(H, W)`` grayscale, ink bright on dark (``uint8`` 0..255 or float in [0, 1]), or an
        ``(H, W, 4)`` RGBA / ``(H, W, 3)`` RGB array (``uint8``), dark-on-light or light-on-dark,
        transparent pixels being background; see :func:`to_grayscale`.
    sigma, threshold, width_range, work_size
        See :func:`preprocess_steps`; the defaults are the measured best.

    Returns
    -------
    digit : (28, 28) float32 in [0, 1]
        Ink's longest side 20 px, centre of mass at (14, 14) +- 0.5 px (0-based row, col), the
        brightest pixel 1. ``digit.reshape(1, 784)`` is a row for ``Network.predict_proba``.

    Raises
    ------
    EmptyDrawingError (a ValueError)
        The drawing cannot be a digit (see :func:`check_not_empty`): no pixel reaches ``MIN_INK``,
        the total ink is below ``MIN_INK_AREA`` of the image area (a stray click, a one-pixel
        dot), or more than ``MAX_INK_COVER`` of it is ink (an all-ink canvas, a 1 x 1 image).
    ValueError
        NaN/inf, wrong shape or dtype, values out of range.
    """
    return preprocess_steps(image, sigma=sigma, threshold=threshold, width_range=width_range,
                            work_size=work_size)["normalized"]

"""The drawing pad without a browser: a recorded drawing and one figure of everything the pad shows.

Notebook 05 runs unattended in the test suite (no browser, so no pointer events). It replays
:data:`RECORDED_SEVEN`, pointer coordinates recorded from a real drawing session on the 280 x 280
canvas, through the pad's own plain functions, and :func:`plot_pad_snapshot` draws what the pad
would show: the bars, the network input, the saliency map and the hidden units.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import pad_view as view

# A 7 as the pad records it: strokes of (x, y) canvas pixels on the 280 x 280 canvas (a top bar
# drawn left to right with a slight rise, then the down stroke with a small hook).
RECORDED_SEVEN = [
    [(72.0, 70.0), (88.0, 68.0), (106.0, 66.0), (124.0, 64.0), (142.0, 63.0), (160.0, 62.0),
     (178.0, 61.0), (194.0, 61.0), (206.0, 62.0), (204.0, 76.0), (196.0, 94.0), (186.0, 114.0),
     (176.0, 134.0), (166.0, 155.0), (157.0, 175.0), (149.0, 194.0), (142.0, 212.0), (137.0, 226.0),
     (134.0, 236.0)],
    [(120.0, 148.0), (140.0, 147.0), (160.0, 146.0), (182.0, 145.0)],  # the cross bar
]


def plot_pad_snapshot(net, x28: np.ndarray) -> Figure:
    """The pad's views of one input as a matplotlib figure (for notebooks and reports).

    Parameters
    ----------
    net : a 784-64-10 :class:`~mnist_scratch.network.Network`
    x28 : (28, 28) float32 in [0, 1], the network input (e.g. from ``strokes_to_input``)

    Returns
    -------
    Figure with five panels: confidence bars, the input, the saliency overlay, and the 64 hidden
    units' activations and push on the predicted digit (8 x 8, unit j at row j // 8, column j % 8).
    """
    x = np.asarray(x28, dtype=np.float32)
    proba = net.predict_proba(x.reshape(1, 784))[0]
    a1, push, k = view.hidden_units(net, x.reshape(784))
    grad = net.saliency(x.reshape(1, 784), np.array([k]))[0].reshape(28, 28)
    fig = Figure(figsize=(13.5, 2.9))
    axes = fig.subplots(1, 5, gridspec_kw={"width_ratios": [1.3, 1, 1, 1, 1]})
    fig.subplots_adjust(left=0.03, right=0.99, bottom=0.08, top=0.86, wspace=0.25)
    bars = axes[0]
    colours = ["#1976d2" if d == k else "#90caf9" for d in range(10)]
    bars.barh(np.arange(10), proba, color=colours)
    bars.set_yticks(np.arange(10))
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_title(f"{view.prediction_summary(proba).headline}: {view.format_percent(proba[k])}")
    panels = [
        (view.input_panel_rgb(x, 1), "network input (28 x 28)"),
        (view.saliency_overlay_rgb(grad, x, 1), f"saliency: red raises p({k})"),
        (view.hidden_grid_rgb(a1, signed=False, cell=10, gap=1), f"hidden: {int(np.sum(a1 > 0))} of 64 active"),
        (view.hidden_grid_rgb(push, signed=True, cell=10, gap=1), f"push on {k}: green up, red down"),
    ]
    for ax, (image, title) in zip(axes[1:], panels):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig

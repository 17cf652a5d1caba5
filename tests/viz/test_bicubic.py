"""Bicubic forensics figures (sr_lib.viz.bicubic): the figures show exactly the numbers they are given."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


from sr_lib.viz.bicubic import delta_heatmap, per_image_bars


def cells():
    return pd.DataFrame([
        {"paper": "LIIF", "table": "T1", "dataset": "Set5", "scale": 2.0, "delta": 0.004},
        {"paper": "LIIF", "table": "T1", "dataset": "Set5", "scale": 3.0, "delta": -0.5},
        {"paper": "EQSR", "table": "T2", "dataset": "B100", "scale": 2.0, "delta": 3.0},
    ])


def test_heatmap_cells_marks_and_clipping():
    fig = delta_heatmap(cells(), tol=0.01)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["EQSR T2 · B100", "LIIF T1 · Set5"]                      # pivot rows, sorted
    assert [t.get_text() for t in ax.get_xticklabels()] == ["×2", "×3"]
    assert img[0, 0] == 1.0                                                  # 3.0 dB clipped to ±1
    assert np.ma.is_masked(img[0, 1]) or not np.isfinite(img[0, 1])          # no EQSR ×3 cell
    np.testing.assert_allclose([img[1, 0], img[1, 1]], [0.004, -0.5])
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["•", "-0.50", "+3.00"])                         # within tol → dot


def test_per_image_bars_heights_and_printed_line():
    per_image = pd.DataFrame({"ours": [30.0, 31.0, 29.5], "alt": [30.2, 30.8, 29.0]}, index=["a", "b", "c"])
    fig = per_image_bars(per_image, printed=30.1, columns=["ours", "alt"], title="Set5 ×2")
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [30.0, 31.0, 29.5, 30.2, 30.8, 29.0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 30.1
    labels = ax.get_legend_handles_labels()[1]
    assert "ours (mean 30.17)" in labels and "printed mean 30.10" in labels
    assert ax.get_ylim()[0] == 28.0                                          # 1 dB under the lowest bar

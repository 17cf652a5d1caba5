"""CiaoSR figures (sr_lib.viz.ciaosr): Table 7 ratios and the degradation stages, built without pyplot."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sr_lib.data import realworld
from sr_lib.viz import save_figure
from sr_lib.viz.ciaosr import plot_degradation, plot_ratios


def test_ratio_bars_for_size_and_time(tmp_path):
    lines = pd.DataFrame({"metric": ["params_ratio"] * 2 + ["time_ratio"] * 2, "method": ["LIIF", "CiaoSR"] * 2,
                          "printed": [1.0, 1.5, 1.0, 2.0], "ours": [1.0, 1.4, 1.0, 3.8]})
    fig = plot_ratios(lines, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [len(ax.patches) for ax in fig.axes] == [4, 4]          # printed and ours per method
    assert save_figure(fig, tmp_path / "r.png").stat().st_size > 0


def test_degradation_shows_the_hr_and_every_stage():
    hr = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    stages = realworld.sample_degradation(0)
    fig = plot_degradation(hr, stages, (8, 8))
    assert sum(ax.get_visible() and bool(ax.images) for ax in fig.axes) == len(stages) + 1

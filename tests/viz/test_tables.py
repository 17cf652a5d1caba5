"""Table figures (sr_lib.viz.tables): printed vs ours per scale, claim margins."""
from __future__ import annotations

import pandas as pd

from sr_lib.viz.tables import claim_margin_figures, plot_psnr_vs_scale


def test_margin_figures_only_for_tables_with_ours():
    base = dict(claim="A > B", backbone="", dataset="Set5", scale=2.0, printed=0.1, ours_std=0.0, holds_ours=True)
    claims = pd.DataFrame([{**base, "table": "t1", "ours": 0.05}, {**base, "table": "t2", "ours": float("nan")}])
    assert list(claim_margin_figures(claims, "X", "smoke")) == ["t1"]
    assert claim_margin_figures(claims, "X", "smoke", tables=("t2",)) == {}


def test_psnr_vs_scale_has_a_printed_and_an_ours_panel_per_backbone():
    side = pd.DataFrame([{"method": m, "backbone": "RDN", "scale": s, "metric": "psnr", "printed": 30.0 - s,
                          "ours": 28.0 - s, "ours_std": 0.1, "weights": "trained here", "dataset": "Set5",
                          "eval_set": "Set5: first 1 images"} for m in ("LIIF", "CiaoSR") for s in (2.0, 4.0)])
    fig = plot_psnr_vs_scale(side, methods=["LIIF", "CiaoSR"])
    assert len(fig.axes) == 2 and all(len(ax.get_legend_handles_labels()[1]) == 2 for ax in fig.axes)

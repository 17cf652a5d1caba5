"""Table figures (sr_lib.viz.tables): printed vs ours per scale, claim margins."""
from __future__ import annotations

import pandas as pd
import pytest

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
    assert len(fig.axes) == 2 and all(len(ax.get_legend().get_texts()) == 2 for ax in fig.axes)   # a legend on each


def _claim_rows(claim, scales, metric="psnr", **extra):
    return [{"claim": claim, "backbone": "RDN", "dataset": "Set5", "scale": s, "metric": metric, "printed": 0.1,
             "ours": 0.05 * (i + 1), "ours_std": float("nan"), "table": "t", **extra} for i, s in enumerate(scales)]


def test_claim_panels_have_legends_units_and_no_single_point_panel():
    from sr_lib.viz.tables import plot_claim_margins
    rows = (_claim_rows("A > B (psnr)", [2.0, 3.0, 4.0]) + _claim_rows("A > C (ssim)", [2.0, 4.0], "ssim")
            + _claim_rows("D > E (psnr)", [12.0]) + _claim_rows("F > G (psnr)", [12.0])
            + _claim_rows("D > E (ssim)", [12.0], "ssim"))
    fig = plot_claim_margins(pd.DataFrame(rows), title="t")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4                      # 2 trend panels + 1 one-row-per-cell panel per metric (psnr, ssim)
    for ax in axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[0] == "printed" and labels[1].startswith("ours"), labels
    ylabels = [ax.get_ylabel() for ax in axes[:2]]
    assert "dB" in ylabels[0] and "SSIM" in ylabels[1] and "dB" not in ylabels[1]
    assert "SSIM" in axes[3].get_xlabel() and len(axes[2].get_yticks()) == 2      # two single psnr cells


def test_claim_spread_is_the_confidence_interval_when_the_claims_carry_one():
    from sr_lib.viz.tables import plot_claim_margins
    rows = _claim_rows("A > B (psnr)", [2.0, 3.0])
    for r in rows:
        r.update(ci_low=r["ours"] - 0.02, ci_high=r["ours"] + 0.05)
    fig = plot_claim_margins(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert "95% CI" in [t.get_text() for t in ax.get_legend().get_texts()][1]
    segments = [c for c in ax.collections if c.get_segments()][0].get_segments()
    assert [round(seg[1][1] - seg[0][1], 6) for seg in segments] == [0.07, 0.07]   # from ci_low to ci_high


def test_a_cell_that_is_not_tested_is_drawn_apart_from_the_evidence():
    from sr_lib.viz.tables import plot_claim_margins
    rows = _claim_rows("A > B (psnr)", [2.0, 3.0, 4.0], verdict="holds")
    rows[2]["verdict"] = "not tested (run x below the health bar)"
    rows += _claim_rows("C > D (psnr)", [2.0, 4.0], verdict="not tested (run y below the health bar)")
    fig = plot_claim_margins(pd.DataFrame(rows))
    mixed, untested = [ax for ax in fig.axes if ax.get_visible()]
    assert set(t.get_text() for t in mixed.get_legend().get_texts()) == {
        "printed", "ours (1 seed)", "ours, not tested (a run below the health bar)"}
    crosses = [ln for ln in mixed.get_lines() if ln.get_marker() == "x"]
    assert len(crosses) == 1 and list(crosses[0].get_ydata()) == [rows[2]["ours"]]
    labels = {t.get_text() for t in untested.get_legend().get_texts()}
    assert labels == {"printed", "ours, not tested (a run below the health bar)"}   # no filled "evidence" point


def test_a_printed_margin_on_a_flagged_number_is_drawn_apart_and_named_in_the_legend():
    from sr_lib.viz.tables import plot_claim_margins
    rows = _claim_rows("A > B (psnr)", [2.0, 3.0, 4.0], printed_flag="")
    rows[1].update(printed=-9.9, printed_flag="SUSPICIOUS: A printed 27.18 (likely 37.18)")
    ax = plot_claim_margins(pd.DataFrame(rows)).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "printed" and "printed, flagged: likely typo" in labels, labels
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines["printed"].get_ydata()) == [0.1, 0.1]                   # the two unflagged cells
    flagged = lines["printed, flagged: likely typo"]
    assert flagged.get_marker() == "^" and list(flagged.get_xdata()) == [0.9]
    lo, hi = ax.get_ylim()                     # the typo is drawn at the edge, with its value, not squashing the rest
    assert lo > -1.0 and flagged.get_ydata()[0] == pytest.approx(lo + 0.03 * (hi - lo))
    assert [t.get_text() for t in ax.texts] == ["-9.90, off scale"]


def test_a_flagged_printed_cell_is_kept_off_the_printed_curve():
    side = pd.DataFrame([{"method": "EQSR", "backbone": "EQNet", "scale": s, "metric": "psnr", "printed": 38.0 - s,
                          "ours": 37.0 - s, "ours_std": 0.1, "weights": "trained here", "dataset": "Set5",
                          "eval_set": "Set5: first 5 images", "flag": ""} for s in (2.25, 2.75, 3.25)])
    side.loc[0, ["printed", "flag"]] = [27.18, "SUSPICIOUS"]                  # a typo for 35.75
    printed = plot_psnr_vs_scale(side, methods=["EQSR"]).axes[0]
    curve = next(ln for ln in printed.get_lines() if ln.get_label() == "EQSR")
    assert list(curve.get_xdata()) == [2.75, 3.25]                          # the typo is not on the curve
    mark = next(ln for ln in printed.get_lines() if ln.get_marker() == "^" and len(ln.get_xdata()))
    assert list(mark.get_xdata()) == [2.25] and list(mark.get_ydata()) == [27.18] and mark.get_mfc() == "none"
    assert "flagged printed cell" in [t.get_text() for t in printed.get_legend().get_texts()]

"""Figures for regenerated paper tables (``sr_lib.repro.experiments``): printed vs ours.

Both functions take the frames ``side_by_side_table`` / ``check_claims`` return and build a
``matplotlib.figure.Figure`` without pyplot; save with ``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure


def plot_psnr_vs_scale(sbs: pd.DataFrame, methods=None, metric: str = "psnr", title: str = "") -> Figure:
    """PSNR against scale per method: the printed numbers (left) and ours ± seed std (right).

    One row of panels per backbone. The two columns may use different test images (a
    stand-in for an absent dataset), so compare curve shapes and orderings, not levels.
    """
    d = sbs[(sbs["metric"] == metric) & ~sbs["weights"].fillna("").str.startswith("official")]
    methods = list(methods or d["method"].drop_duplicates())
    backbones = [b for b in d["backbone"].drop_duplicates() if (d["backbone"] == b).any()]
    backbones = [b for b in backbones if d[(d["backbone"] == b) & d["method"].isin(methods)]["ours"].notna().any()]
    backbones = backbones or [""]
    fig = Figure(figsize=(10, 3.4 * len(backbones)), layout="constrained")
    axes = fig.subplots(len(backbones), 2, squeeze=False)
    colors = dict(zip(methods, colormaps["tab10"](np.arange(len(methods)) % 10)))
    for row, bb in zip(axes, backbones):
        for ax, col, what in ((row[0], "printed", "printed"), (row[1], "ours", "ours")):
            for m in methods:
                g = d[(d["method"] == m) & ((d["backbone"] == bb) | (d["backbone"] == ""))
                      & d[col].notna()].sort_values("scale")
                if g.empty:
                    continue
                if col == "ours" and g["ours_std"].notna().any():
                    ax.errorbar(g["scale"], g[col], yerr=g["ours_std"].fillna(0), marker="o", ms=3, capsize=2,
                                color=colors[m], label=m)
                else:
                    ax.plot(g["scale"], g[col], marker="o", ms=3, color=colors[m], label=m)
            ax.set_xscale("log")
            scales = sorted(d["scale"].dropna().unique())
            ax.set_xticks(scales, [f"×{s:g}" for s in scales])
            ax.minorticks_off()
            ax.set_ylabel(f"{metric.upper()}" + (" (dB)" if metric == "psnr" else ""))
            where = _where(d[d["backbone"] == bb], col)
            ax.set_title(f"{bb or 'all'} — {what}{where}", fontsize=9)
            ax.grid(alpha=0.3)
        row[1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_claim_margins(claims: pd.DataFrame, title: str = "") -> Figure:
    """Each claim's margin (better − worse) per scale: printed (open) vs ours ± seed std (filled).

    A point above zero means the claimed ordering holds. One panel per claim and backbone.
    """
    groups = list(claims.groupby(["claim", "backbone", "dataset"], sort=False))
    n = max(len(groups), 1)
    cols = min(n, 3)
    fig = Figure(figsize=(4.2 * cols, 3.0 * int(np.ceil(n / cols))), layout="constrained")
    axes = np.atleast_1d(fig.subplots(int(np.ceil(n / cols)), cols, squeeze=False)).ravel()
    for ax, ((claim, bb, ds), g) in zip(axes, groups):
        g = g.sort_values("scale")
        x = np.arange(len(g))
        ax.axhline(0, color="k", lw=0.8)
        ax.plot(x - 0.1, g["printed"], "o", mfc="none", color="C0", label="printed")
        ok = g["ours"].notna()
        ax.errorbar(x[ok] + 0.1, g.loc[ok, "ours"], yerr=g.loc[ok, "ours_std"].fillna(0), fmt="o", color="C3",
                    capsize=2, label="ours (mean ± seed std)")
        ax.set_xticks(x, [f"×{s:g}" for s in g["scale"]])
        ax.set_title(f"{claim}\n{bb} {ds}", fontsize=8)
        ax.set_ylabel("margin (dB)")
        ax.grid(alpha=0.3)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if groups:
        axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def _where(d: pd.DataFrame, col: str) -> str:
    if col == "printed" or d.empty:
        return f" ({', '.join(sorted(d['dataset'].dropna().unique()))})" if not d.empty else ""
    sets = d.loc[d["ours"].notna(), "eval_set"].dropna().unique()
    return f"\n({'; '.join(sets)})" if len(sets) else ""




def claim_margin_figures(claims: pd.DataFrame, paper_label: str, profile: str, tables=None) -> dict:
    """``{table: plot_claim_margins(...)}`` for every table of ``claims`` (or of ``tables``) that has
    a claim cell of ours."""
    figs = {}
    for table, g in (claims.groupby("table") if len(claims) else []):
        g = g[g["ours"].notna()]
        if len(g) and (tables is None or table in tables):
            figs[table] = plot_claim_margins(g, title=f"{paper_label} {table}: claim margins, "
                                                      f"printed vs ours ({profile})")
    return figs


__all__ = ["plot_psnr_vs_scale", "plot_claim_margins", "claim_margin_figures"]

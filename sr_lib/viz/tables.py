"""Figures for regenerated paper tables (``sr_lib.repro.experiments``): printed vs ours.

Both functions take the frames ``side_by_side_table`` / ``check_claims`` return and build a
``matplotlib.figure.Figure`` without pyplot; save with ``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from sr_lib.repro.tables import flagged_mask


def plot_psnr_vs_scale(sbs: pd.DataFrame, methods=None, metric: str = "psnr", title: str = "") -> Figure:
    """PSNR against scale per method: the printed numbers (left) and ours ± seed std (right).

    One row of panels per backbone. The two columns may use different test images (a
    stand-in for an absent dataset), so compare curve shapes and orderings, not levels.
    """
    d = sbs[(sbs["metric"] == metric) & ~sbs["weights"].fillna("").str.startswith("official")].copy()
    d["backbone"] = d["backbone"].fillna("")            # no backbone (Bicubic): drawn in every row
    methods = list(methods or d["method"].drop_duplicates())
    backbones = [b for b in d["backbone"].drop_duplicates() if (d["backbone"] == b).any()]
    backbones = [b for b in backbones if d[(d["backbone"] == b) & d["method"].isin(methods)]["ours"].notna().any()]
    backbones = [b for b in backbones if b] or backbones or [""]     # no row of its own for "no backbone"
    fig = Figure(figsize=(10, 3.4 * len(backbones)), layout="constrained")
    axes = fig.subplots(len(backbones), 2, squeeze=False)
    colors = dict(zip(methods, colormaps["tab10"](np.arange(len(methods)) % 10)))
    for row, bb in zip(axes, backbones):
        here = d[(d["backbone"] == bb) | (d["backbone"] == "")]          # this backbone's lines and Bicubic
        for ax, col, what in ((row[0], "printed", "printed"), (row[1], "ours", "ours")):
            for m in methods:
                g = here[(here["method"] == m) & here[col].notna()].sort_values("scale")
                if g.empty:
                    continue
                if col == "ours" and g["ours_std"].notna().any():
                    ax.errorbar(g["scale"], g[col], yerr=g["ours_std"].fillna(0), marker="o", ms=3, capsize=2,
                                color=colors[m], label=m)
                else:                       # a flagged printed cell stays off the line (drawn below)
                    ok = ~flagged_mask(g, "flag") if col == "printed" else np.ones(len(g), dtype=bool)
                    ax.plot(g["scale"][ok], g[col][ok], marker="o", ms=3, color=colors[m], label=m)
            if col == "printed":
                _draw_flagged_cells(ax, here, methods, colors)
            ax.set_xscale("log")
            scales = sorted(d["scale"].dropna().unique())
            ax.set_xticks(scales, _thinned_labels(scales))
            ax.minorticks_off()
            ax.set_ylabel(f"{metric.upper()}" + (" (dB)" if metric == "psnr" else ""))
            where = _where(d[d["backbone"] == bb], col)
            ax.set_title(_wrap(f"{bb or 'all'} — {what} {where}", 60), fontsize=9)
            ax.grid(alpha=0.3)
            if ax.has_data():
                ax.legend(fontsize=7, title=what, title_fontsize=7)
    if title:
        fig.suptitle(_wrap(title, 100))
    return fig


def _draw_flagged_cells(ax, d: pd.DataFrame, methods, colors) -> None:
    """Printed cells the paper tables flag (a likely typo, a low-confidence reading): open triangles
    in the method's colour, off the method's curve, so that a typo such as 27.18 for 37.18 does not
    read as a collapse of the method."""
    f = d[d["method"].isin(methods) & d["printed"].notna()]
    f = f[flagged_mask(f, "flag")]
    if f.empty:
        return
    for m, g in f.groupby("method", sort=False):
        ax.plot(g["scale"], g["printed"], "^", mfc="none", ls="none", color=colors[m])
    ax.plot([], [], "^", mfc="none", ls="none", color="0.3", label="flagged printed cell")


def _thinned_labels(scales, chars_per_axis: float = 45.0) -> list[str]:
    """``×s`` tick labels on a log axis, blank where a label would run into the previous one
    (their half widths, at ``chars_per_axis`` characters across the axis, exceed the gap); the
    last scale is always labelled (its neighbour gives way)."""
    text = [f"×{s:g}" for s in scales]
    if len(scales) < 2:
        return text
    x = np.log(np.asarray(scales, dtype=float))
    span = (x[-1] - x[0]) or 1.0

    def fits(i, j):
        return (x[j] - x[i]) / span >= (len(text[i]) + len(text[j])) / 2 / chars_per_axis

    keep = [0]
    for j in range(1, len(scales)):
        if fits(keep[-1], j):
            keep.append(j)
        elif j == len(scales) - 1:
            while len(keep) > 1 and not fits(keep[-1], j):
                keep.pop()
            keep.append(j)
    return [t if i in keep else "" for i, t in enumerate(text)]


def _margin_label(metric: str) -> str:
    m = str(metric).lower()
    unit = "dB" if m == "psnr" else ("SSIM" if m == "ssim" else m)
    return f"margin ({unit}; > 0: as claimed)"


def _ours_spread(g: pd.DataFrame):
    """(yerr for errorbar or None, legend text): the 95% bootstrap CI over images when the claims
    carry it (``ci_low``/``ci_high``), else the seed std, else none."""
    if {"ci_low", "ci_high"} <= set(g.columns) and g["ci_low"].notna().any():
        lo = (g["ours"] - g["ci_low"]).clip(lower=0).fillna(0).to_numpy()
        hi = (g["ci_high"] - g["ours"]).clip(lower=0).fillna(0).to_numpy()
        return np.vstack([lo, hi]), "ours (mean, 95% CI over images)"
    if "ours_std" in g and g["ours_std"].notna().any():
        return g["ours_std"].fillna(0).to_numpy(), "ours (mean ± seed std)"
    return None, "ours (1 seed)"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _untested(g: pd.DataFrame) -> np.ndarray:
    """Cells whose verdict is "not tested (...)": drawn apart, since their numbers are no evidence."""
    if "verdict" not in g:
        return np.zeros(len(g), dtype=bool)
    return g["verdict"].astype(str).str.startswith("not tested").to_numpy()


def _untested_label(g: pd.DataFrame) -> str:
    why = "a run below the health bar" if g["verdict"].astype(str).str.contains("health bar").any() else "no statistics"
    return f"ours, not tested ({why})"


def _draw_printed(ax, pos: np.ndarray, g: pd.DataFrame, across: bool = False) -> None:
    """The printed margins of ``g`` at ``pos`` that rest on no flagged printed number: open circles.
    ``across``: margins on the x axis (one row per cell), else on the y axis."""
    keep = ~flagged_mask(g)
    if keep.any():
        at, val = pos[keep], g.loc[keep, "printed"].to_numpy(dtype=float)
        ax.plot(*((val, at) if across else (at, val)), "o", mfc="none", ls="none", color="C0", label="printed")


def _draw_printed_flagged(ax, pos: np.ndarray, g: pd.DataFrame, across: bool = False) -> None:
    """The printed margins of ``g`` that rest on a flagged printed number (a likely typo, a
    low-confidence reading): open triangles. Drawn last, inside the axis limits the evidence set, so
    that a flagged outlier (a 10 dB typo) cannot squash it: one outside is drawn at the edge with its value."""
    keep = flagged_mask(g)
    if not keep.any():
        return
    typo = g.loc[keep, "printed_flag"].astype(str).str.contains("SUSPICIOUS").any()
    at, val = pos[keep], g.loc[keep, "printed"].to_numpy(dtype=float)
    lo, hi = ax.get_xlim() if across else ax.get_ylim()
    inset = 0.03 * (hi - lo)
    shown = np.clip(val, lo + inset, hi - inset)
    for a, v, w in zip(at, val, shown):
        if v != w:
            ax.annotate(f"{v:+.2f}, off scale", (w, a) if across else (a, w), fontsize=6, color="C1",
                        xytext=(4, 0), textcoords="offset points", va="center")
    ax.plot(*((shown, at) if across else (at, shown)), "^", mfc="none", ls="none", color="C1",
            label="printed, flagged: " + ("likely typo" if typo else "low-confidence reading"))
    (ax.set_xlim if across else ax.set_ylim)(lo, hi)


def _draw_ours(ax, pos: np.ndarray, g: pd.DataFrame, across: bool = False) -> None:
    """Our margins of ``g`` at positions ``pos``: tested cells filled with their spread, untested ones
    grey crosses. ``across``: margins on the x axis (one row per cell), else on the y axis."""
    ok, untested = g["ours"].notna().to_numpy(), _untested(g)
    for keep, evidence in ((ok & ~untested, True), (ok & untested, False)):
        if not keep.any():
            continue
        at, val = pos[keep], g.loc[keep, "ours"]
        xy = (val, at) if across else (at, val)
        if evidence:
            err, label = _ours_spread(g[keep])
            ax.errorbar(*xy, **{"xerr" if across else "yerr": err}, fmt="o", color="C3", capsize=2, label=label)
        else:
            ax.plot(*xy, "x", color="0.5", label=_untested_label(g[keep]))


def plot_claim_margins(claims: pd.DataFrame, title: str = "") -> Figure:
    """Each claim's margin (better − worse) per scale: printed (open) vs ours (filled, with its spread).
    A printed margin that rests on a number the paper tables flag (``printed_flag``) is an open triangle.

    A point above zero means the claimed ordering holds; a cell whose verdict is "not tested" (a run
    below the health bar, say) is a grey cross, apart from the evidence. One panel per claim, backbone and dataset
    printed at two or more scales (a legend on each); cells printed at a single scale are folded
    into one panel per metric, one row per cell, rather than one panel per point. Units follow the
    metric (dB for PSNR; SSIM is unitless).
    """
    claims = claims.copy()
    if "metric" not in claims:
        claims["metric"] = "psnr"
    groups = list(claims.groupby(["claim", "backbone", "dataset"], sort=False, dropna=False))
    multi = [(k, g) for k, g in groups if g["scale"].nunique() >= 2]
    single = pd.concat([g for _, g in groups if g["scale"].nunique() < 2]) if len(multi) < len(groups) else None
    metrics = list(dict.fromkeys(single["metric"])) if single is not None else []
    cols = min(max(len(multi), 1), 3)
    rows = int(np.ceil(len(multi) / cols))
    single_h = [0.9 + 0.28 * int((single["metric"] == m).sum()) for m in metrics]
    fig = Figure(figsize=(4.4 * cols if multi else 8.0, 3.2 * rows + sum(single_h) + (0.5 if title else 0)),
                 layout="constrained")
    parts = fig.subfigures(2 if multi and metrics else 1, 1, squeeze=False,
                           height_ratios=[3.2 * rows, sum(single_h)] if multi and metrics else None).ravel()
    if multi:
        axes = np.atleast_1d(parts[0].subplots(rows, cols, squeeze=False)).ravel()
        for ax, ((claim, bb, ds), g) in zip(axes, multi):
            g = g.sort_values("scale")
            x = np.arange(len(g))
            ax.axhline(0, color="k", lw=0.8)
            _draw_printed(ax, x - 0.1, g)
            _draw_ours(ax, x + 0.1, g)
            _draw_printed_flagged(ax, x - 0.1, g)
            ax.set_xticks(x, [f"×{s:g}" for s in g["scale"]])
            where = " ".join(str(v) for v in (bb, ds) if isinstance(v, str) and v)
            ax.set_title(_wrap(f"{claim} · {where}", 46), fontsize=8)
            ax.set_ylabel(_margin_label(g["metric"].iloc[0]), fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5, loc="best")
        for ax in axes[len(multi):]:
            ax.set_visible(False)
    if metrics:
        sub = parts[-1]
        axes = np.atleast_1d(sub.subplots(len(metrics), 1, squeeze=False, height_ratios=single_h)).ravel()
        for ax, metric in zip(axes, metrics):
            g = single[single["metric"] == metric].reset_index(drop=True)
            y = np.arange(len(g))[::-1]
            ax.axvline(0, color="k", lw=0.8)
            _draw_printed(ax, y + 0.12, g, across=True)
            _draw_ours(ax, y - 0.12, g, across=True)
            _draw_printed_flagged(ax, y + 0.12, g, across=True)
            labels = [f"{c} · {' '.join(str(v) for v in (b, d) if isinstance(v, str) and v)} ×{s:g}"
                      for c, b, d, s in zip(g["claim"], g["backbone"], g["dataset"], g["scale"])]
            ax.set_yticks(y, [_wrap(t, 70) for t in labels], fontsize=7)
            ax.set_ylim(-0.6, len(g) - 0.4)
            ax.set_xlabel(_margin_label(metric), fontsize=8)
            ax.set_title("claims printed at one scale, one row each", fontsize=8)
            ax.grid(alpha=0.3, axis="x")
            ax.legend(fontsize=6.5, loc="best")
    if title:
        fig.suptitle(_wrap(title, 110), fontsize=10)
    return fig


def _where(d: pd.DataFrame, col: str) -> str:
    if col == "printed" or d.empty:
        return f"({', '.join(sorted(d['dataset'].dropna().unique()))})" if not d.empty else ""
    sets = d.loc[d["ours"].notna(), "eval_set"].dropna().unique()
    return f"({'; '.join(sets)})" if len(sets) else ""




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

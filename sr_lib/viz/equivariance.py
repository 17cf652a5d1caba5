"""EQ_S curves over the SR scale r, one panel per method (and θ) with the baseline beside it
(EQSR poster Eq. 6; ``sr_lib.metrics.equivariance.eq_s_curve``).

Input: a DataFrame with columns ``method, theta, r, eq_s_db`` (and optionally
``eq_s_std``, drawn as a band), e.g. ``pd.concat`` of ``eq_s_curve`` results.
Lower is more equivariant. Figures are built without pyplot; save them with
``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

REQUIRED = ("method", "theta", "r", "eq_s_db")


def plot_eq_curves(frame: pd.DataFrame, title: str = "Scale-equivariance error EQ_S (lower is better)",
                   baseline: str = "Bicubic", show_std: bool = True, cols: int = 4) -> Figure:
    """EQ_S (dB) against r: one panel per method (and θ), each with the ``baseline`` method (if
    present) dashed black for reference, all on one y scale. Curves drawn together overlap into
    an unreadable band; side by side each one is readable and still compares."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"EQ_S frame lacks columns {missing}")
    if frame.empty:
        raise ValueError("no EQ_S values to plot")
    thetas = sorted(frame["theta"].unique())
    methods = list(dict.fromkeys(frame["method"]))                  # first-seen order
    colors = dict(zip(methods, colormaps["tab10"](np.arange(len(methods)) % 10)))
    shown = [m for m in methods if m != baseline] or methods
    panels = [(theta, m) for theta in thetas for m in shown]
    cols = max(1, min(cols, len(shown)))
    rows = int(np.ceil(len(panels) / cols))
    fig = Figure(figsize=(3.1 * cols + 0.4, 2.5 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)).ravel()

    def curve(ax, theta, method, style, label, band=True):
        d = frame[(frame["theta"] == theta) & (frame["method"] == method)].sort_values("r")
        if d.empty:
            return
        ax.plot(d["r"], d["eq_s_db"], marker="o", ms=3, label=label, **style)
        if band and show_std and "eq_s_std" in d and (d["eq_s_std"] > 0).any():
            ax.fill_between(d["r"], d["eq_s_db"] - d["eq_s_std"], d["eq_s_db"] + d["eq_s_std"],
                            color=style["color"], alpha=0.15, lw=0)

    for ax, (theta, method) in zip(axes, panels):
        if baseline in methods and method != baseline:
            curve(ax, theta, baseline, {"color": "black", "ls": "--"}, baseline, band=False)
        curve(ax, theta, method, {"color": colors[method], "ls": "-"}, method)
        ax.set_title(method + (f" · θ = {theta:g}" if len(thetas) > 1 else ""), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("EQ_S  [dB]")
    for ax in axes[(rows - 1) * cols:]:
        ax.set_xlabel("network scale r")
    band = " (band: the method's ± std over images)" if show_std and "eq_s_std" in frame and (frame["eq_s_std"] > 0).any() else ""
    thetas_txt = ", ".join(f"{t:g}" for t in thetas)
    fig.suptitle(f"{title}\nθ = {thetas_txt} (bicubic degradation){band}", fontsize=10)
    return fig


__all__ = ["plot_eq_curves"]

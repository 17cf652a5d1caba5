"""EQ_S curves over the SR scale r, one line per method and one panel per θ
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
                   baseline: str = "Bicubic", show_std: bool = True) -> Figure:
    """EQ_S (dB) against r; the ``baseline`` method (if present) is drawn dashed black."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"EQ_S frame lacks columns {missing}")
    if frame.empty:
        raise ValueError("no EQ_S values to plot")
    thetas = sorted(frame["theta"].unique())
    methods = list(dict.fromkeys(frame["method"]))                  # first-seen order
    colors = colormaps["tab10"](np.arange(len(methods)) % 10)
    fig = Figure(figsize=(5.0 * len(thetas) + 0.6, 4.0), layout="constrained")
    axes = fig.subplots(1, len(thetas), squeeze=False, sharey=True)[0]
    for ax, theta in zip(axes, thetas):
        for method, color in zip(methods, colors):
            d = frame[(frame["theta"] == theta) & (frame["method"] == method)].sort_values("r")
            if d.empty:
                continue
            style = {"color": "black", "ls": "--"} if method == baseline else {"color": color, "ls": "-"}
            ax.plot(d["r"], d["eq_s_db"], marker="o", ms=3, label=method, **style)
            if show_std and "eq_s_std" in d and (d["eq_s_std"] > 0).any():
                ax.fill_between(d["r"], d["eq_s_db"] - d["eq_s_std"], d["eq_s_db"] + d["eq_s_std"],
                                color=style["color"], alpha=0.12, lw=0)
        ax.set_title(f"θ = {theta:g}  (bicubic degradation)")
        ax.set_xlabel("network scale r")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("EQ_S  [dB]")
    axes[-1].legend(fontsize=8)
    fig.suptitle(title)
    return fig


__all__ = ["plot_eq_curves"]

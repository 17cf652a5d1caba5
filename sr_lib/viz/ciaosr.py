"""Figures of the CiaoSR tables (notebook 20): Table 7's size and time ratios, Table 9's degradation.

Inputs come from ``sr_lib.repro.papers.ciaosr`` (``size_time_lines``) and ``sr_lib.data.realworld``;
each function returns a ``matplotlib.figure.Figure`` built without pyplot (save with
``sr_lib.viz.save_figure``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sr_lib.data.realworld import apply_stage, as_float01


def plot_ratios(lines: pd.DataFrame, title: str = "") -> Figure:
    """Table 7: size and time relative to LIIF, printed (open bars) vs ours (filled)."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric, name in ((axes[0], "params_ratio", "model size / LIIF"), (axes[1], "time_ratio", "time / LIIF")):
        d = lines[lines["metric"] == metric]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["printed"], 0.4, fill=False, edgecolor="k", label="printed")
        ax.bar(x + 0.2, d["ours"], 0.4, color="tab:blue", label="ours")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(x, d["method"], fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_degradation(hr: np.ndarray, stages, out_size, title: str = "") -> Figure:
    """The HR image and the image after each ``realworld`` stage (same scale of display)."""
    imgs, names = [as_float01(hr)], ["HR"]
    for st in stages:
        imgs.append(apply_stage(imgs[-1], st, out_size))
        names.append(st.kind.replace("_noise", " noise"))
    cols = min(len(imgs), 6)
    rows = int(np.ceil(len(imgs) / cols))
    fig = Figure(figsize=(2.2 * cols, 2.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, img, name in zip(axes, imgs, names):
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(f"{name} {img.shape[0]}x{img.shape[1]}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


__all__ = ["plot_ratios", "plot_degradation"]

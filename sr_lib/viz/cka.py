"""Layer × layer CKA heatmaps (EQSR supplement Sec. 3): block i of a model at
scale s_a against block j at scale s_b (``sr_lib.engine.features.scale_cka_matrix``).

Figures are built without pyplot (no global state); save them with
``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.figure import Figure


def _axis_label(scale, which: str) -> str:
    return f"block at ×{scale:g}" if scale is not None else f"block at scale {which}"


def short_block_names(names: Sequence[str]) -> tuple[list[str], str]:
    """Block module names without the words every one of them has: ``(['0.blocks.0', ...],
    'layers.*.residual_group')`` for ``layers.0.residual_group.blocks.0`` ... (the dropped words
    are returned for the axis label). Names that would become empty keep their last word."""
    parts = [str(n).split(".") for n in names]
    common = [w for w in parts[0] if not w.isdigit() and all(w in p for p in parts)] if parts else []
    short = [".".join(w for w in p if w not in common) or p[-1] for p in parts]
    return short, ".".join(common)


def draw_cka_heatmap(ax, matrix, scales=None, title: str = "", vmin: float = 0.0, vmax: float = 1.0,
                     cbar: bool = True, names: Sequence[str] | None = None):
    """Draw one ``[A, B]`` CKA matrix on ``ax`` (rows: blocks at s_a, columns: blocks at s_b) on a
    fixed ``vmin``–``vmax`` colour scale (0–1: panels and runs compare). Row 0 is at the bottom, so
    the diagonal runs from bottom-left to top-right. ``names``: the blocks' module names, shown
    as tick labels (without the words they all share, which go to the axis labels)."""
    m = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    if names is not None and len(names) == m.shape[0] == m.shape[1]:
        labels, common = short_block_names(names)
    else:
        labels, common = [str(i) for i in range(max(m.shape))], ""
    step = max(1, int(np.ceil(len(labels) / 32)))           # at most ~32 labels per axis
    sns.heatmap(m, ax=ax, vmin=vmin, vmax=vmax, cmap="magma", square=True, cbar=cbar,
                xticklabels=labels[:m.shape[1]], yticklabels=labels[:m.shape[0]],
                cbar_kws={"label": f"CKA (fixed {vmin:g}–{vmax:g} scale)"} if cbar else None)
    ax.set_xticks(ax.get_xticks()[::step], [t.get_text() for t in ax.get_xticklabels()][::step])
    ax.set_yticks(ax.get_yticks()[::step], [t.get_text() for t in ax.get_yticklabels()][::step])
    size = 8 if len(labels) <= 8 else 5.5
    ax.tick_params(axis="x", labelsize=size, labelrotation=90)
    ax.tick_params(axis="y", labelsize=size, labelrotation=0)
    ax.invert_yaxis()
    s_a, s_b = scales if scales is not None else (None, None)
    suffix = f"\n({common})" if common else ""
    ax.set_ylabel(_axis_label(s_a, "a") + suffix, fontsize=8)
    ax.set_xlabel(_axis_label(s_b, "b") + suffix, fontsize=8)
    ax.set_title(title, fontsize=10)
    return ax


def plot_cka_heatmap(matrix, scales=None, title: str = "", names: Sequence[str] | None = None) -> Figure:
    """One heatmap; ``names`` (block module names) are listed under the plot when given."""
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    draw_cka_heatmap(ax, matrix, scales, title)
    if names is not None:
        ax.text(0.0, -0.18, f"blocks 0–{len(names) - 1}: {names[0]} … {names[-1]}", transform=ax.transAxes,
                fontsize=7, va="top")
    return fig


def plot_cka_heatmaps(matrices: Mapping[str, object], scales=None, suptitle: str = "",
                      names: Mapping[str, Sequence[str]] | None = None) -> Figure:
    """Side-by-side heatmaps, one per model (``{model name: matrix}``), on one fixed 0–1 colour
    scale; ``names``: ``{model: block names}`` for the tick labels. Each title gives the mean of the
    diagonal (same block at the two scales)."""
    n = len(matrices)
    if n == 0:
        raise ValueError("no CKA matrices to plot")
    fig = Figure(figsize=(4.8 * n + 0.8, 5.0), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for k, (ax, (name, m)) in enumerate(zip(axes, matrices.items())):
        arr = m.detach().cpu().numpy() if isinstance(m, torch.Tensor) else np.asarray(m)
        diag = np.diagonal(arr).mean() if arr.shape[0] == arr.shape[1] else float("nan")
        draw_cka_heatmap(ax, arr, scales, f"{name}\n(diagonal mean {diag:.3f})", cbar=(k == n - 1),
                         names=(names or {}).get(name))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_cka_frame(frame: pd.DataFrame, suptitle: str = "") -> Figure:
    """``plot_cka_heatmaps`` from the tidy frame ``cka_matrices`` returns (columns ``model, s_a, s_b,
    i, j, block_i, block_j, cka``, e.g. ``eqsr_analyses_cka.csv``), with the block names."""
    if frame.empty:
        raise ValueError("no CKA values to plot")
    mats, names = {}, {}
    for model, g in frame.groupby("model", sort=False):
        a, b = int(g["i"].max()) + 1, int(g["j"].max()) + 1
        m = np.full((a, b), np.nan)
        m[g["i"].astype(int), g["j"].astype(int)] = g["cka"].astype(float)
        mats[model] = m
        names[model] = list(g.sort_values("i").drop_duplicates("i")["block_i"])
    first = frame.iloc[0]
    return plot_cka_heatmaps(mats, scales=(float(first["s_a"]), float(first["s_b"])), suptitle=suptitle,
                             names=names)


__all__ = ["draw_cka_heatmap", "plot_cka_heatmap", "plot_cka_heatmaps", "plot_cka_frame", "short_block_names"]

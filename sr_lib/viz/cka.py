"""Layer × layer CKA heatmaps (EQSR supplement Sec. 3): block i of a model at
scale s_a against block j at scale s_b (``sr_lib.engine.features.scale_cka_matrix``).

Figures are built without pyplot (no global state); save them with
``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure


def _axis_label(scale, which: str) -> str:
    return f"block at ×{scale:g}" if scale is not None else f"block at scale {which}"


def draw_cka_heatmap(ax, matrix, scales=None, title: str = "", vmin: float = 0.0, vmax: float = 1.0,
                     cbar: bool = True):
    """Draw one ``[A, B]`` CKA matrix on ``ax`` (rows: blocks at s_a, columns: blocks at s_b).
    Row 0 is at the bottom, so the diagonal runs from bottom-left to top-right."""
    m = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    sns.heatmap(m, ax=ax, vmin=vmin, vmax=vmax, cmap="magma", square=True, cbar=cbar,
                xticklabels=[str(j) for j in range(m.shape[1])], yticklabels=[str(i) for i in range(m.shape[0])],
                cbar_kws={"label": "CKA"} if cbar else None)
    ax.invert_yaxis()
    s_a, s_b = scales if scales is not None else (None, None)
    ax.set_ylabel(_axis_label(s_a, "a"))
    ax.set_xlabel(_axis_label(s_b, "b"))
    ax.set_title(title)
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


def plot_cka_heatmaps(matrices: Mapping[str, object], scales=None, suptitle: str = "") -> Figure:
    """Side-by-side heatmaps, one per model (``{model name: matrix}``), same colour scale."""
    n = len(matrices)
    if n == 0:
        raise ValueError("no CKA matrices to plot")
    fig = Figure(figsize=(4.4 * n + 0.8, 4.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for k, (ax, (name, m)) in enumerate(zip(axes, matrices.items())):
        draw_cka_heatmap(ax, m, scales, name, cbar=(k == n - 1))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


__all__ = ["draw_cka_heatmap", "plot_cka_heatmap", "plot_cka_heatmaps"]

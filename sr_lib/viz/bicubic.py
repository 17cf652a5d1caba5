"""Figures for the Bicubic forensics (notebook 01): agreement at a glance and per-image misses.

Functions return ``matplotlib.figure.Figure`` objects built without pyplot; save them with
``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure


def delta_heatmap(cells: pd.DataFrame, delta: str = "delta", tol: float = 0.01,
                  title: str = "ours − printed (dB), Bicubic PSNR") -> Figure:
    """Heatmap of ``delta`` per (paper/table/dataset) row × scale column.

    ``cells``: columns paper, table, dataset, scale and ``delta``. Cells within ``tol`` are
    marked with a dot, misses carry their delta as text; colour is clipped to ±1 dB.
    """
    df = cells.assign(row=cells["paper"] + " " + cells["table"] + " · " + cells["dataset"])
    grid = df.pivot_table(index="row", columns="scale", values=delta, aggfunc="first")
    fig = Figure(figsize=(max(6.0, 0.55 * grid.shape[1] + 3), max(2.5, 0.42 * grid.shape[0] + 1.2)))
    ax = fig.add_subplot(1, 1, 1)
    vals = grid.to_numpy(dtype=float)
    lim = max(0.05, min(1.0, np.nanmax(np.abs(vals)) if np.isfinite(vals).any() else 0.05))
    mesh = ax.imshow(np.clip(vals, -lim, lim), cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), aspect="auto")
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals[i, j]
            if np.isfinite(v):
                ax.text(j, i, "•" if abs(v) <= tol + 1e-9 else f"{v:+.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks(range(grid.shape[1]), [f"×{s:g}" for s in grid.columns], rotation=60, fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    ax.set_title(f"{title}; • = within {tol:g} dB", fontsize=9)
    fig.colorbar(mesh, ax=ax, label="delta (dB)")
    fig.tight_layout()
    return fig


def per_image_bars(per_image: pd.DataFrame, printed: float, columns, title: str = "") -> Figure:
    """Per-image PSNR of a few candidates (``columns`` of ``per_image``, indexed by image),
    with the set means and the printed mean as horizontal lines."""
    n = len(per_image)
    fig = Figure(figsize=(max(5.0, 0.35 * n + 2), 3.2))
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(columns), 1)
    x = np.arange(n)
    for k, col in enumerate(columns):
        ax.bar(x + k * width, per_image[col], width, label=f"{col} (mean {per_image[col].mean():.2f})")
    ax.axhline(printed, color="k", lw=1, ls="--", label=f"printed mean {printed:.2f}")
    ax.set_xticks(x + 0.4 - width / 2, per_image.index, rotation=70, fontsize=7)
    lo = float(np.nanmin(per_image[list(columns)].to_numpy())) - 1
    ax.set_ylim(max(lo, 0), None)
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


__all__ = ["delta_heatmap", "per_image_bars"]

"""Kriging weight maps of EQSR's neural kriging upsampler (poster §3; ``methods-notes.md`` §4).

Kriging predicts ẑ₀ = Σᵢ λᵢ zᵢ; EQSR's weights over the 3×3 HR neighbourhood of a query
are λ = K_data ⊙ K_scale: a data kernel predicted from the features (scale
independent by construction) times an RBF of the distance between the query and the LR
centre each neighbour is assigned to (``sr_lib.models.layers.kriging``). For one HR pixel at
several scales, the figure shows one row per scale and three columns: K_data, K_scale
and their product — ``kriging_panels`` returns exactly the arrays drawn.

Input: ``{scale: KrigingMap}`` from ``sr_lib.repro.papers.eqsr.kriging_maps`` (or bare
``KrigingWeights``). Figures are built without pyplot; save with ``sr_lib.viz.save_figure``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.figure import Figure

from sr_lib.models.layers.kriging import KrigingWeights

COLUMNS = ("data", "distance", "product")
TITLES = {"data": "K_data (features)", "distance": "K_scale = exp(−d²/2ℓ²)", "product": "λ = K_data · K_scale"}


def _weights(m) -> KrigingWeights:
    return m.weights if hasattr(m, "weights") else m


def kriging_panels(weights, block: int = 0, group: int | None = None) -> dict:
    """The three 3×3 float64 arrays of one involution ``block``: ``data``, ``distance``,
    ``product`` (= data × distance). ``group=None`` averages K_data over the channel
    groups (K_scale is shared, so the product of the mean is the mean of the products)."""
    w = _weights(weights)
    if not 0 <= block < len(w.data):
        raise ValueError(f"block must be in [0, {len(w.data)}), got {block}")
    data = w.data[block].detach().double().cpu().numpy()                       # [G,3,3]
    if group is None:
        data = data.mean(axis=0)
    elif 0 <= group < data.shape[0]:
        data = data[group]
    else:
        raise ValueError(f"group must be in [0, {data.shape[0]}) or None, got {group}")
    dist = w.distance.detach().double().cpu().numpy()
    return {"data": data, "distance": dist, "product": data * dist}


def _annotate(ax, a: np.ndarray) -> None:
    for (i, j), v in np.ndenumerate(a):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="black",
                bbox={"facecolor": "white", "alpha": 0.6, "lw": 0, "pad": 0.5})


def plot_kriging_weights(maps: Mapping[float, object], block: int = 0, group: int | None = None,
                         title: str = "") -> Figure:
    """One row per scale, columns K_data | K_scale | product over the 3×3 HR neighbourhood
    (centre = the query pixel). K_data and the product share one symmetric diverging colour
    scale over every row (the data kernel is not constrained to be positive), so the rows
    compare across scales; K_scale is in [0, 1]."""
    if not maps:
        raise ValueError("no kriging maps to plot")
    n = len(maps)
    fig = Figure(figsize=(9.6, 2.5 * n + 0.6), layout="constrained")
    axes = fig.subplots(n, 3, squeeze=False)
    every = {scale: kriging_panels(m, block, group) for scale, m in maps.items()}
    lim = max(max(np.abs(p["data"]).max(), np.abs(p["product"]).max()) for p in every.values())
    lim = max(lim, 1e-12)
    for row, (scale, m) in zip(axes, maps.items()):
        panels = every[scale]
        for ax, col in zip(row, COLUMNS):
            a = panels[col]
            if col == "distance":
                im = ax.imshow(a, cmap="viridis", vmin=0.0, vmax=1.0)
            else:
                im = ax.imshow(a, cmap="RdBu_r", vmin=-lim, vmax=lim)
            _annotate(ax, a)
            ax.set_xticks(range(3), ["−1", "0", "+1"])
            ax.set_yticks(range(3), ["−1", "0", "+1"])
            ax.set_title(TITLES[col], fontsize=9)
            fig.colorbar(im, ax=ax, shrink=0.8)
        where = f"HR pixel {tuple(m.yx)}" if hasattr(m, "yx") else ""
        row[0].set_ylabel(f"×{float(scale):g}\n{where}", fontsize=9)
    fig.suptitle(title or f"Kriging weights of involution block {block} "
                          f"({'mean over groups' if group is None else f'group {group}'})")
    return fig


def kriging_explorer(model, lr, scales=(1.5, 2.0, 3.0, 4.0, 6.0), block: int = 0):
    """ipywidgets explorer: a scale slider and a pixel picker (relative row/column of the
    query) redraw the three kernels of ``model`` (an EQSR) for the LR image ``lr``.
    Needs a live Jupyter kernel; returns the widget."""
    import ipywidgets as widgets
    from IPython.display import display

    from sr_lib.repro.papers.eqsr import kriging_map

    scale = widgets.SelectionSlider(options=[float(s) for s in scales], value=float(scales[0]),
                                    description="scale ×")
    fy = widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="row (rel.)")
    fx = widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="col (rel.)")
    blk = widgets.Dropdown(options=[0, 1], value=block, description="block")
    out = widgets.Output()

    def redraw(_=None):
        m = kriging_map(model, lr, scale.value, (fy.value, fx.value))
        with out:
            out.clear_output(wait=True)
            display(plot_kriging_weights({scale.value: m}, blk.value))

    for w in (scale, fy, fx, blk):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([scale, blk]), widgets.HBox([fy, fx]), out])


__all__ = ["kriging_panels", "plot_kriging_weights", "kriging_explorer", "COLUMNS"]

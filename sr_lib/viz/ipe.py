"""Figures for the IPE story (IPE-LIIF Sec. 4.1, Fig. 3): how the sinc envelope
of integrated positional encoding damps each frequency band at a given SR scale.

All functions return ``matplotlib.figure.Figure`` objects built without pyplot
(no global state, no ``plt.show``); save them with ``sr_lib.viz.save_figure``. Radii follow
``sr_lib.models.layers.ipe``: an HR pixel at scale s has half-width r = 1/s in LIIF's
relative units (one LR pixel = 2 units), and ω_l = 2^l·π.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from sr_lib.models.layers.ipe import (frequencies, integrated_positional_encoding, liif_radius, positional_encoding,
                               sinc)

DEFAULT_SCALES = (2.0, 3.0, 4.0, 6.0, 12.0, 30.0)   # in-distribution ×2–×4, out-of-distribution ×6–×30


def envelope_frame(scales: Sequence[float] = DEFAULT_SCALES, L: int = 10) -> pd.DataFrame:
    """sinc(ω_l r) for every scale and band: one row per (scale, l), columns
    ``scale, r, l, omega, sinc, abs_sinc`` (r = 1/s, float64)."""
    w = frequencies(L, dtype=torch.float64)
    rows = []
    for s in scales:
        r = liif_radius(float(s))
        env = sinc(w * r)
        rows += [{"scale": float(s), "r": r, "l": l, "omega": w[l].item(), "sinc": env[l].item(),
                  "abs_sinc": abs(env[l].item())} for l in range(L)]
    return pd.DataFrame(rows)


def plot_sinc_envelopes(scales: Sequence[float] = DEFAULT_SCALES, L: int = 10) -> Figure:
    """|sinc(ω_l / s)| against the band index l, one curve per scale.

    Markers are the L bands IPE actually uses; the thin line continues the
    envelope between them (fractional l) to show the sinc lobes.
    """
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    l_fine = torch.linspace(0, L - 1, 400, dtype=torch.float64)
    w_fine = 2.0 ** l_fine * np.pi                            # ω at fractional l
    colors = _colors(len(scales))
    for s, c in zip(scales, colors):
        r = liif_radius(float(s))
        fine = sinc(w_fine * r).abs()
        ax.plot(l_fine, fine, color=c, lw=0.8, alpha=0.6)
        env = envelope_frame([s], L)
        ax.plot(env["l"], env["abs_sinc"], "o", color=c, ms=4, label=f"×{s:g} (r = {r:.3g})")
    ax.set_xlabel("frequency band l   (ω_l = 2^l π)")
    ax.set_ylabel("|sinc(ω_l r)|   (damping of band l)")
    ax.set_title("IPE envelope per SR scale: small scales damp high bands")
    ax.set_xticks(range(L))
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(title="scale", fontsize=8)
    return fig


def plot_ipe_vs_pe(band: int = 2, scales: Sequence[float] = DEFAULT_SCALES, extent: float = 1.0,
                   n: int = 801) -> Figure:
    """PE and IPE of band ``band`` along one axis, for x in [-extent, extent]
    (LIIF relative units: [-1, 1] is one LR pixel). Left: sin channel; right: cos."""
    x = torch.linspace(-extent, extent, n, dtype=torch.float64).unsqueeze(-1)   # [n,1]
    L = band + 1
    pe = positional_encoding(x, L).view(n, 2, L)[:, :, band]                   # [n,2]
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colors = _colors(len(scales))
    for k, (ax, name) in enumerate(zip(axes, ("sin", "cos"))):
        ax.plot(x[:, 0], pe[:, k], color="black", lw=1.6, label="PE (r = 0)")
        for s, c in zip(scales, colors):
            ipe = integrated_positional_encoding(x, liif_radius(float(s)), L).view(n, 2, L)[:, k, band]
            ax.plot(x[:, 0], ipe, color=c, lw=1.0, label=f"IPE ×{s:g}")
        ax.set_title(f"{name}(ω_{band} x)·sinc(ω_{band} r),  ω_{band} = {2 ** band}π")
        ax.set_xlabel("relative coordinate x (one LR pixel = 2 units)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("encoding value")
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig


def plot_envelope_map(L: int = 10, scale_range: tuple[float, float] = (1.0, 32.0), n: int = 400) -> Figure:
    """sinc(ω_l / s) as a map over (scale, band): where IPE passes a band (≈ ±1),
    suppresses it (≈ 0) or flips its sign (negative side lobes)."""
    scales = np.geomspace(*scale_range, n)
    bands = np.arange(L)
    radii = torch.tensor([liif_radius(s) for s in scales], dtype=torch.float64)
    vals = sinc(frequencies(L, dtype=torch.float64)[:, None] * radii[None, :]).numpy()   # [L,n]
    fig = Figure(figsize=(7.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(scales, bands, vals, cmap="RdBu_r", vmin=-1, vmax=1, shading="nearest")
    ax.set_xscale("log")
    ax.set_xlabel("SR scale s   (r = 1/s)")
    ax.set_ylabel("band l")
    ax.set_yticks(bands)
    ax.set_title("sinc(2^l π / s): IPE tends to plain PE as s grows")
    fig.colorbar(mesh, ax=ax, label="sinc(ω_l r)")
    return fig


def _colors(n: int):
    from matplotlib import colormaps
    return colormaps["viridis"](np.linspace(0.0, 0.9, max(n, 1)))


__all__ = ["envelope_frame", "plot_sinc_envelopes", "plot_ipe_vs_pe", "plot_envelope_map", "DEFAULT_SCALES"]

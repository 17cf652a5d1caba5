"""Positional encoding (PE) and integrated positional encoding (IPE) of a pixel.

IPE-LIIF (Sec. 4.1, Eq. 3–6; derivation in ``specs/methods-notes.md`` §1):

    PE(x)     = [sin(ω_l x), cos(ω_l x)]                               (Eq. 3)
    IPE(x, r) = E_{t ~ U[x-r, x+r]} PE(t)
              = [sin(ω_l x)·sinc(ω_l r), cos(ω_l x)·sinc(ω_l r)]        (Eq. 4–6)

because (1/2r)∫_{x-r}^{x+r} sin(ωt) dt = sin(ωx)·sin(ωr)/(ωr), and the same for
cos. No official code exists, so this module *is* the reference; its
conventions are:

- **Frequencies** ω_l = 2^l·π, l = 0..L-1 (``frequencies``). No 1/2π factor.
- **sinc** is the unnormalised sinc(u) = sin(u)/u with sinc(0) = 1, computed as
  ``torch.sinc(u/π)`` (PyTorch's normalised sinc), which is exact and smooth at 0.
- **Box**: the pixel is the axis-aligned box of centre x and half-width r on
  each axis (the paper's "radius, half of the edge"). A box is a product of
  independent uniform distributions, so axis d gets its own factor sinc(ω_l r_d).
  ``r`` broadcasts against ``x`` (one radius for all axes, or one per axis).
- **Output layout** for x of shape ``[..., D]``: ``[..., 2·L·D]`` ordered
  (sin | cos) → frequency l → axis d, i.e. channel ``k·L·D + l·D + d`` with
  k = 0 for sin, 1 for cos. For 2-D LIIF coordinates (y, x) and L = 10 this is
  4L = 40 channels.
- **The raw coordinate is not kept**: the encoding replaces x (the paper
  concatenates "the IPE instead of the coordinate input"). Callers that want x
  beside it concatenate it themselves.
- **Units** are the caller's (ω_l is not rescaled). In IPE-LIIF, x is LIIF's
  relative coordinate ``rel`` (one LR pixel = 2 units) and r is half the HR
  pixel in the same units, r = rel_cell/2 = (H_lr/H_hr, W_lr/W_hr) ≈ 1/s. In
  IPE-MetaSR, x is the HR pixel centre inside its LR pixel (one LR pixel =
  1 unit) and r = 1/(2s).
- **Precision**: in float32 the top band's phase ω_9·x reaches ≈ 3.2e3 rad for
  |rel| ≤ 2, so sin/cos carry absolute errors up to a few 1e-4 (rounding of x
  and of ω·x); reference checks run in float64.
- r → 0 gives plain PE exactly (sinc(0) = 1); |IPE| ≤ |PE| elementwise since
  |sinc| ≤ 1. With ω_l = 2^l π and r = 1/s, every band with 2^l/s a positive
  integer is exactly zero (a zero of sinc), e.g. all bands at s = 1.
"""
from __future__ import annotations

import math

import torch


def frequencies(L: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """ω_l = 2^l·π for l = 0..L-1: ``[L]``."""
    if L < 1:
        raise ValueError(f"the number of frequencies L must be >= 1, got {L}")
    return (2.0 ** torch.arange(L, dtype=dtype, device=device)) * math.pi


def sinc(u: torch.Tensor) -> torch.Tensor:
    """Unnormalised sinc(u) = sin(u)/u with sinc(0) = 1 (differentiable at 0)."""
    return torch.sinc(u / math.pi)


def _phases(x: torch.Tensor, L: int) -> torch.Tensor:
    """ω_l·x_d: ``[..., D] → [..., L, D]``."""
    w = frequencies(L, dtype=x.dtype, device=x.device).unsqueeze(-1)   # [L,1]
    return x.unsqueeze(-2) * w


def _flatten(sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """``[..., L, D]`` twice → ``[..., 2·L·D]`` in (sin|cos, l, d) order."""
    return torch.cat([sin.flatten(-2), cos.flatten(-2)], dim=-1)


def positional_encoding(x: torch.Tensor, L: int) -> torch.Tensor:
    """PE (IPE-LIIF Eq. 3): ``x [..., D] → [..., 2·L·D]`` = [sin(ω_l x_d)], [cos(ω_l x_d)]."""
    wx = _phases(x, L)                          # [...,L,D]
    return _flatten(torch.sin(wx), torch.cos(wx))


def sinc_envelope(r: torch.Tensor, L: int) -> torch.Tensor:
    """Damping factors sinc(ω_l r) of IPE: ``r [..., D] → [..., L, D]`` (Eq. 4–5)."""
    return sinc(_phases(r, L))


def integrated_positional_encoding(x: torch.Tensor, r, L: int) -> torch.Tensor:
    """IPE (IPE-LIIF Eq. 6): expected PE over the box [x-r, x+r] per axis.

    ``x [..., D]``; ``r`` a tensor broadcasting with ``x`` (or a float), the
    half-width of the box on each axis, r >= 0. Returns ``[..., 2·L·D]`` (the
    broadcast shape) laid out like ``positional_encoding``.
    """
    x, r = torch.broadcast_tensors(x, torch.as_tensor(r, dtype=x.dtype, device=x.device))
    wx = _phases(x, L)                          # [...,L,D]
    damp = sinc_envelope(r, L)                  # [...,L,D]
    return _flatten(torch.sin(wx) * damp, torch.cos(wx) * damp)


def liif_radius(scale: float) -> float:
    """Half-width r of an HR pixel at SR scale s in LIIF relative units (one LR pixel = 2 units): 1/s."""
    return 1.0 / scale


def encoding_dim(L: int, D: int = 2) -> int:
    """Channels of PE/IPE of a D-dimensional coordinate: 2·L·D (40 for L = 10, D = 2)."""
    return 2 * L * D


__all__ = ["frequencies", "sinc", "positional_encoding", "integrated_positional_encoding",
           "sinc_envelope", "liif_radius", "encoding_dim"]

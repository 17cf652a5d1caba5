"""Scale-equivariance error EQ_S (EQSR poster, Eq. 6; ``methods-notes.md`` §2).

    EQ_S(f, r, θ) = 10·log10( mean( (φ(f(x; r); θ) − f(φ(x; θ); r))² ) )

f(·; r) is an SR method at scale r, φ(·; θ) a MATLAB-style bicubic downscale by
θ (antialiased; ``sr_lib.data.resize.imresize_matlab`` in float64). Branch A
super-resolves then degrades, branch B degrades then super-resolves; lower
(more negative dB) is more equivariant, and an exactly equivariant pair gives
−∞.

Sizes (our choice, stated so results are comparable):
- x is cropped top-left so that its θ-downscale has an exact pixel count: with
  θ = p/q in lowest terms (denominator ≤ 64), h and w become multiples of p
  (skipped when p exceeds the image), then h_θ = h/θ (rounded otherwise);
- both branches are brought to the same target ``(round(h_θ·r), round(w_θ·r))``:
  branch B asks f for exactly that size, branch A super-resolves x to
  ``round(h·r)`` and downscales with the θ kernel to the target size;
- φ(x; θ) is clipped to [0, 1] before it is given to f (an LR image), and so is
  branch A's result; no quantisation (float images);
- ``shave`` pixels (default ⌈r⌉, the PSNR convention at scale r) are removed from
  every border before the mean, over all RGB values.

Per image the value is in dB; a set's value is the mean of the per-image dB
values (as PSNR is averaged).

An *upscaler* is any callable ``f(lr [1,3,h,w] in [0,1], (H, W)) -> [1,3,H,W]``, given by the
caller (this module runs no model itself): ``sr_lib.engine.evaluate.ModelUpscaler(model)`` for a
model (``super_resolve`` at the requested size, on the model's device, the result back on the
LR's); ``bicubic_upscaler`` is the baseline.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Iterable, Sequence

import pandas as pd
import torch

from sr_lib.data.resize import imresize_matlab

Upscaler = Callable[[torch.Tensor, tuple], torch.Tensor]


def bicubic_downscale(img: torch.Tensor, theta: float, size) -> torch.Tensor:
    """φ(·; θ): MATLAB bicubic with the 1/θ antialiasing kernel, to ``size = (h, w)``."""
    return imresize_matlab(img, scale=1.0 / theta, size=tuple(size))


def bicubic_upscaler(lr: torch.Tensor, size) -> torch.Tensor:
    """The Bicubic baseline as an upscaler: MATLAB bicubic to ``size``, clipped to [0, 1]."""
    return imresize_matlab(lr, size=tuple(size)).clamp(0, 1)


def crop_for_theta(img: torch.Tensor, theta: float) -> torch.Tensor:
    """Top-left crop of ``[..., H, W]`` to multiples of p, θ = p/q (see module doc)."""
    p = Fraction(theta).limit_denominator(64).numerator
    h, w = img.shape[-2:]
    if p > min(h, w):
        return img
    return img[..., : h - h % p, : w - w % p]


def branch_pair(f: Upscaler, x: torch.Tensor, r: float, theta: float,
                downscale: Callable = bicubic_downscale) -> tuple[torch.Tensor, torch.Tensor]:
    """(φ(f(x; r); θ), f(φ(x; θ); r)) for one image ``x [1,3,h,w]`` in [0, 1]; both ``[1,3,H,W]``."""
    x = crop_for_theta(x, theta)
    h, w = x.shape[-2:]
    lr_size = (round(h / theta), round(w / theta))
    target = (round(lr_size[0] * r), round(lr_size[1] * r))
    if min(lr_size) < 1 or min(target) < 1:
        raise ValueError(f"a {h}x{w} image is too small for r={r}, θ={theta}")
    sr_then_down = downscale(f(x, (round(h * r), round(w * r))), theta, target).clamp(0, 1)
    down_then_sr = f(downscale(x, theta, lr_size).clamp(0, 1), target)
    return sr_then_down, down_then_sr.to(sr_then_down.dtype)


def eq_s(f: Upscaler, images, r: float, theta: float, shave: int | None = None,
         downscale: Callable = bicubic_downscale) -> torch.Tensor:
    """EQ_S in dB of every image: ``images`` is ``[B,3,H,W]``, ``[3,H,W]`` or a list of
    ``[3,H,W]`` / ``[1,3,H,W]`` (any sizes) in [0, 1] → float64 tensor ``[B]`` (−inf if exact)."""
    if torch.is_tensor(images):
        images = [images] if images.dim() == 3 else list(images)
    shave = math.ceil(r) if shave is None else int(shave)
    out = []
    for img in images:
        x = img if img.dim() == 4 else img.unsqueeze(0)
        a, b = branch_pair(f, x, r, theta, downscale)
        if shave:
            if 2 * shave >= min(a.shape[-2:]):
                raise ValueError(f"shave {shave} leaves nothing of a {a.shape[-2]}x{a.shape[-1]} image")
            a, b = a[..., shave:-shave, shave:-shave], b[..., shave:-shave, shave:-shave]
        mse = (a.double() - b.double()).square().mean()
        out.append(10 * torch.log10(mse))
    return torch.stack(out)


def eq_s_curve(f: Upscaler, images, scales: Iterable[float], thetas: Sequence[float] = (2.0,),
               method: str = "", shave: int | None = None) -> pd.DataFrame:
    """EQ_S over scales r for each θ: one row per (θ, r) with columns
    ``method, theta, r, eq_s_db`` (mean over images of the per-image dB) ``, eq_s_std, n_images``."""
    rows = []
    for theta in thetas:
        for r in scales:
            v = eq_s(f, images, float(r), float(theta), shave)
            rows.append({"method": method, "theta": float(theta), "r": float(r), "eq_s_db": v.mean().item(),
                         "eq_s_std": v.std().item() if len(v) > 1 else 0.0, "n_images": len(v)})
    return pd.DataFrame(rows)


__all__ = ["eq_s", "eq_s_curve", "branch_pair", "crop_for_theta", "bicubic_downscale", "bicubic_upscaler",
           "Upscaler"]

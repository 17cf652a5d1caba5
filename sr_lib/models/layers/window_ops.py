"""Window operations of (shifted-)window self-attention (Swin Transformer, Liu et al. 2021, §3.2).

Generic helpers shared by the SwinIR encoder (``swinir.py``) and HAT-like encoders
(EQSR). Layout: images are channels-last ``[B,H,W,C]``; a window of side ``ws``
holds ``ws*ws`` tokens in row-major order.

The arithmetic follows SwinIR's ``window_partition`` / ``window_reverse`` /
``calculate_mask`` / relative-position index (spec reference-implementations §2),
so that masks and indices are bit-identical to the official buffers.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


def window_partition(x: torch.Tensor, ws: int) -> torch.Tensor:
    """``[B,H,W,C]`` → ``[B*nW, ws, ws, C]`` with windows in row-major order (H, W multiples of ws)."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, c)


def window_reverse(windows: torch.Tensor, ws: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``[B*nW, ws, ws, C]`` → ``[B,H,W,C]``."""
    b = windows.shape[0] // ((h // ws) * (w // ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


def relative_position_index(ws: int) -> torch.Tensor:
    """``[ws², ws²]`` int64 index into a ``[(2ws−1)², heads]`` bias table.

    Token i at (yi, xi), token j at (yj, xj): index = (yi−yj+ws−1)·(2ws−1) + (xi−xj+ws−1).
    """
    ys, xs = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()])            # [2, N]
    rel = (pos[:, :, None] - pos[:, None, :]).permute(1, 2, 0)  # [N, N, 2]
    rel = rel + (ws - 1)
    return rel[..., 0] * (2 * ws - 1) + rel[..., 1]


def shifted_window_mask(h: int, w: int, ws: int, shift: int, dtype=torch.float32,
                        device=None) -> torch.Tensor:
    """Attention mask ``[nW, ws², ws²]`` of the cyclic-shift scheme for an ``h×w`` map.

    After rolling by (−shift, −shift), tokens that came from different image regions
    must not attend to each other: their pair gets −100, all others 0.
    ``h`` and ``w`` must be multiples of ``ws``. The tensor is cached per size, dtype
    and device (no host→device copy per forward): treat it as read-only.
    """
    if torch.empty(0).is_meta:      # a size count on the meta device (models.registry.count_elements): no cache
        return _mask_cpu.__wrapped__(h, w, ws, shift).to(dtype)
    return _mask_on(h, w, ws, shift, dtype, torch.device(device or "cpu"))


@functools.lru_cache(maxsize=64)
def _mask_on(h: int, w: int, ws: int, shift: int, dtype, device) -> torch.Tensor:
    return _mask_cpu(h, w, ws, shift).to(dtype=dtype, device=device)


@functools.lru_cache(maxsize=32)
def _mask_cpu(h: int, w: int, ws: int, shift: int) -> torch.Tensor:
    region = torch.zeros(1, h, w, 1)
    bands = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    label = 0
    for hs in bands:
        for wsl in bands:
            region[:, hs, wsl, :] = label
            label += 1
    win = window_partition(region, ws).view(-1, ws * ws)             # [nW, N]
    diff = win.unsqueeze(1) - win.unsqueeze(2)                         # [nW, N, N]
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)



def hard_window_mask(mask: torch.Tensor) -> torch.Tensor:
    """A shift mask of ``shifted_window_mask`` (0 / −100, the official buffer) with −10⁴ for the −100s,
    for use in the attention: the masked pairs then get a softmax weight of exactly 0 instead of
    ≈ e⁻¹⁰⁰ ≈ 4·10⁻⁴⁴, which float32 holds only as a denormal number, and denormals make every
    product with them (the softmax, its product with V and their backward) many times slower on
    x86 CPUs. The attention output changes by ~10⁻⁴⁴ relative."""
    return mask.masked_fill(mask < 0, -1e4)


def reflect_pad_to_multiple(x: torch.Tensor, m: int):
    """Reflect-pad bottom/right to a multiple of ``m`` (repeated when the map is smaller than the pad)."""
    h, w = x.shape[-2:]
    ph, pw = (m - h % m) % m, (m - w % m) % m
    if (ph and h < 2) or (pw and w < 2):
        raise ValueError(f"cannot reflect-pad a {h}×{w} input; windowed models need at least 2 pixels per side")
    while x.shape[-2] < h + ph or x.shape[-1] < w + pw:
        dh = min(h + ph - x.shape[-2], x.shape[-2] - 1)
        dw = min(w + pw - x.shape[-1], x.shape[-1] - 1)
        x = F.pad(x, (0, dw, 0, dh), mode="reflect")
    return x, (ph, pw)


def init_transformer_weights(m: torch.nn.Module) -> None:
    """The Swin/HAT release init (``model.apply(init_transformer_weights)``): Linear weights
    N(0, 0.02) — the releases call ``trunc_normal_(std=.02)``, which truncates at ±2 = ±100σ, the
    same distribution and much faster to draw —, zero biases, unit LayerNorms."""
    if isinstance(m, torch.nn.Linear):
        torch.nn.init.normal_(m.weight, std=0.02)
        if m.bias is not None:
            torch.nn.init.zeros_(m.bias)
    elif isinstance(m, torch.nn.LayerNorm):
        torch.nn.init.ones_(m.weight)
        torch.nn.init.zeros_(m.bias)


__all__ = ["reflect_pad_to_multiple", "hard_window_mask", "window_partition", "window_reverse", "relative_position_index",
           "shifted_window_mask", "init_transformer_weights"]

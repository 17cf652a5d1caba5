"""Feature sampling shared by every implicit decoder (coordinates and cells: ``sr_lib.geometry``).

Conventions (LIIF's, used by all official codebases here):
- an axis of n pixels spans [-1, 1]; pixel i has centre (-1 + 1/n) + (2/n)·i;
- a 2-D grid is (row/y, col/x) in its last dimension, row-major when flattened;
- ``grid_sample`` wants (x, y), so samplers flip the last dimension and use
  ``align_corners=False``;
- the cell of a query is the HR pixel size in the same units, (2/H, 2/W).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F



def sample_nearest(feat: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """``feat [B,C,h,w]`` at ``coord [B,Q,2]`` (y, x) by nearest neighbour → ``[B,Q,C]``."""
    out = F.grid_sample(feat, coord.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)
    return out[:, :, 0, :].permute(0, 2, 1)


def sample_bilinear(img: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """``img [B,C,h,w]`` at ``coord [B,Q,2]`` bilinearly, border padding → ``[B,Q,C]``."""
    out = F.grid_sample(img, coord.flip(-1).unsqueeze(1), mode="bilinear",
                        padding_mode="border", align_corners=False)
    return out[:, :, 0, :].permute(0, 2, 1)


def unfold3x3(feat: torch.Tensor) -> torch.Tensor:
    """3×3 zero-padded neighbourhood of every pixel: ``[B,C,h,w] → [B,9C,h,w]``, channel c·9+k."""
    b, c, h, w = feat.shape
    return F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)


def pixel_rows(feat: torch.Tensor) -> torch.Tensor:
    """``[B,C,h,w] → [B,h·w,C]`` contiguous, pixels row-major (a view when ``feat`` is channels-last)."""
    b, c, h, w = feat.shape
    return feat.permute(0, 2, 3, 1).reshape(b, h * w, c)


def unfold3x3_rows(feat: torch.Tensor) -> torch.Tensor:
    """``unfold3x3(feat)`` as per-pixel rows ``[B,h·w,9C]`` (pixels row-major, channel c·9+k), built in
    that layout: a depthwise 3×3 convolution with one-hot kernels on the channels-last map, so the
    output needs no transposing copy. Every output is 1·x plus exact zeros: the same numbers
    (finite ``feat``); autocast is off so half precision never rounds them."""
    b, c, h, w = feat.shape
    onehot = torch.eye(9, dtype=feat.dtype, device=feat.device).repeat(c, 1).view(9 * c, 1, 3, 3)
    with torch.autocast(feat.device.type, enabled=False):
        out = F.conv2d(feat.contiguous(memory_format=torch.channels_last), onehot, padding=1, groups=c)
    return pixel_rows(out)


def unfold3x3_linear(feat: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(unfold3x3_rows(feat), weight, bias)`` → ``[B,h·w,O]`` as one 3×3 convolution
    (``weight [O,9C]`` in ``unfold3x3``'s c·9+k column order), without building the 9C-wide rows;
    equal up to float summation order."""
    b, c, h, w = feat.shape
    out = F.conv2d(feat.contiguous(memory_format=torch.channels_last), weight.reshape(-1, c, 3, 3), bias, padding=1)
    return pixel_rows(out)

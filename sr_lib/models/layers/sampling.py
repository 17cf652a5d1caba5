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

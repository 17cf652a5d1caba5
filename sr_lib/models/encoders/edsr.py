"""EDSR backbone without upsampling tail (Lim et al. 2017; liif ``models/edsr.py``, spec §2).

``edsr-baseline``: 16 residual blocks of 64 channels, res_scale 1. The state_dict
layout is LIIF's: ``sub_mean``/``add_mean`` (MeanShift 1×1 convs, frozen, present
but not called, as in the official code), ``head.0``, ``body.{0..n-1}.body.{0,2}``,
``body.n`` (the conv after the blocks). Output: ``[B, n_feats, h, w]`` (``out_dim``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sr_lib.models.base import DIV2K_MEAN
from sr_lib.models.registry import register_backbone


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class MeanShift(nn.Conv2d):
    """±RGB mean as a frozen 1×1 conv (kept only for the official key layout)."""

    def __init__(self, sign: int, rgb_range: float = 1.0, rgb_mean=DIV2K_MEAN):
        super().__init__(3, 3, 1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * rgb_range * torch.tensor(rgb_mean)
        self.weight.requires_grad_(False)
        self.bias.requires_grad_(False)


class ResBlock(nn.Module):
    """x + res_scale · conv(relu(conv(x)))."""

    def __init__(self, n_feats: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(conv3x3(n_feats, n_feats), nn.ReLU(True), conv3x3(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x):
        return self.body(x).mul(self.res_scale) + x


class EDSR(nn.Module):
    def __init__(self, n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0, n_colors: int = 3):
        super().__init__()
        self.sub_mean = MeanShift(-1)
        self.add_mean = MeanShift(+1)
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        self.body = nn.Sequential(*[ResBlock(n_feats, res_scale) for _ in range(n_resblocks)],
                                  conv3x3(n_feats, n_feats))
        self.out_dim = n_feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,h,w]`` (normalised LR) → ``[B,out_dim,h,w]``."""
        x = self.head(x)
        return self.body(x) + x

    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """The residual blocks ``body.{i}`` (not the conv after them): what CKA compares."""
        return [(f"body.{i}", block) for i, block in enumerate(self.body[:-1])]


@register_backbone("edsr-baseline")
def edsr_baseline(n_resblocks: int = 16, n_feats: int = 64, res_scale: float = 1.0) -> EDSR:
    return EDSR(n_resblocks, n_feats, res_scale)


@register_backbone("edsr")
def edsr(n_resblocks: int = 32, n_feats: int = 256, res_scale: float = 0.1) -> EDSR:
    """Full EDSR (32 blocks, 256 channels, res_scale 0.1) without tail."""
    return EDSR(n_resblocks, n_feats, res_scale)

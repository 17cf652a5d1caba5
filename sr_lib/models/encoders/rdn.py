"""Residual Dense Network without upsampling tail (Zhang et al. 2018; liif ``models/rdn.py``, spec §2).

Presets of the RDN paper: 'B' = (D=16 blocks, C=8 layers, G=64 growth), 'A' = (20, 6, 32);
G0 = 64. Keys: ``SFENet1``, ``SFENet2``, ``RDBs.{d}.convs.{c}.conv.0``, ``RDBs.{d}.LFF``,
``GFF.{0,1}``. Output ``[B, G0, h, w]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sr_lib.models.registry import register_backbone

PRESETS = {"A": (20, 6, 32), "B": (16, 8, 64)}


class DenseLayer(nn.Module):
    """cat(x, relu(conv3x3(x))): grows the channels by ``growth``."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(c_in, growth, 3, padding=1), nn.ReLU())

    def forward(self, x):
        return torch.cat((x, self.conv(x)), 1)


class RDB(nn.Module):
    """Residual dense block: C dense layers, 1×1 local feature fusion (LFF), local residual."""

    def __init__(self, g0: int, growth: int, n_layers: int):
        super().__init__()
        self.convs = nn.Sequential(*[DenseLayer(g0 + c * growth, growth) for c in range(n_layers)])
        self.LFF = nn.Conv2d(g0 + n_layers * growth, g0, 1)

    def forward(self, x):
        return self.LFF(self.convs(x)) + x


class RDN(nn.Module):
    def __init__(self, D: int = 16, C: int = 8, G: int = 64, G0: int = 64, n_colors: int = 3):
        super().__init__()
        self.SFENet1 = nn.Conv2d(n_colors, G0, 3, padding=1)
        self.SFENet2 = nn.Conv2d(G0, G0, 3, padding=1)
        self.RDBs = nn.ModuleList([RDB(G0, G, C) for _ in range(D)])
        self.GFF = nn.Sequential(nn.Conv2d(D * G0, G0, 1), nn.Conv2d(G0, G0, 3, padding=1))
        self.out_dim = G0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,h,w]`` → ``[B,G0,h,w]``."""
        f1 = self.SFENet1(x)
        x = self.SFENet2(f1)
        outs = []
        for block in self.RDBs:
            x = block(x)
            outs.append(x)
        return self.GFF(torch.cat(outs, 1)) + f1


@register_backbone("rdn")
def rdn(preset: str = "B", D: int | None = None, C: int | None = None, G: int | None = None,
        G0: int = 64) -> RDN:
    """RDN from a paper preset ('A' / 'B'), any of D, C, G overriding it."""
    if preset not in PRESETS:
        raise ValueError(f"unknown RDN preset {preset!r}; known: {sorted(PRESETS)}")
    d, c, g = PRESETS[preset]
    return RDN(D or d, C or c, G or g, G0)

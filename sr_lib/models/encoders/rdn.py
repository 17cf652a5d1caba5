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


# Parameter names of the two released layouts of the same network (liif ``models/rdn.py``; mmedit
# ``rdn.py``, CiaoSR's encoder): (dense layers, local fusion, conv inside a dense layer) of a block,
# then (shallow feature conv 1, conv 2, blocks, global fusion) of the network.
LAYOUTS = {"liif": ("convs", "LFF", "conv.0", "SFENet1", "SFENet2", "RDBs", "GFF"),
           "mmedit": ("layers", "lff", "conv", "sfe1", "sfe2", "rdbs", "gff")}


class DenseLayer(nn.Module):
    """cat(x, relu(conv3x3(x))): grows the channels by ``growth``."""

    def __init__(self, c_in: int, growth: int, layout: str = "liif"):
        super().__init__()
        conv = nn.Conv2d(c_in, growth, 3, padding=1)
        # liif keys the conv as ``conv.0`` (conv and ReLU in one Sequential), mmedit as ``conv``
        self.conv = nn.Sequential(conv, nn.ReLU()) if LAYOUTS[layout][2] == "conv.0" else conv
        self.relu = nn.Identity() if LAYOUTS[layout][2] == "conv.0" else nn.ReLU()

    def forward(self, x):
        return torch.cat((x, self.relu(self.conv(x))), 1)


class RDB(nn.Module):
    """Residual dense block: C dense layers, 1×1 local feature fusion (LFF), local residual."""

    def __init__(self, g0: int, growth: int, n_layers: int, layout: str = "liif"):
        super().__init__()
        self._dense, self._fusion = LAYOUTS[layout][:2]
        setattr(self, self._dense, nn.Sequential(*[DenseLayer(g0 + c * growth, growth, layout)
                                                   for c in range(n_layers)]))
        setattr(self, self._fusion, nn.Conv2d(g0 + n_layers * growth, g0, 1))

    def forward(self, x):
        return getattr(self, self._fusion)(getattr(self, self._dense)(x)) + x


class RDN(nn.Module):
    """D residual dense blocks of C layers (growth G) on G0 channels, global fusion, global skip.

    ``layout`` names the parameters as liif (default) or as mmedit (``MMEditRDN``); same network."""

    def __init__(self, D: int = 16, C: int = 8, G: int = 64, G0: int = 64, n_colors: int = 3,
                 layout: str = "liif"):
        super().__init__()
        self._sfe1, self._sfe2, self._blocks, self._gff = LAYOUTS[layout][3:]
        setattr(self, self._sfe1, nn.Conv2d(n_colors, G0, 3, padding=1))
        setattr(self, self._sfe2, nn.Conv2d(G0, G0, 3, padding=1))
        setattr(self, self._blocks, nn.ModuleList([RDB(G0, G, C, layout) for _ in range(D)]))
        setattr(self, self._gff, nn.Sequential(nn.Conv2d(D * G0, G0, 1), nn.Conv2d(G0, G0, 3, padding=1)))
        self.out_dim = G0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,h,w]`` → ``[B,G0,h,w]``."""
        f1 = getattr(self, self._sfe1)(x)
        x = getattr(self, self._sfe2)(f1)
        outs = []
        for block in getattr(self, self._blocks):
            x = block(x)
            outs.append(x)
        return getattr(self, self._gff)(torch.cat(outs, 1)) + f1

    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """The residual dense blocks (``RDBs.{i}`` / ``rdbs.{i}``): what CKA compares."""
        return [(f"{self._blocks}.{i}", block) for i, block in enumerate(getattr(self, self._blocks))]


@register_backbone("rdn")
def rdn(preset: str = "B", D: int | None = None, C: int | None = None, G: int | None = None,
        G0: int = 64) -> RDN:
    """RDN from a paper preset ('A' / 'B'), any of D, C, G overriding it."""
    if preset not in PRESETS:
        raise ValueError(f"unknown RDN preset {preset!r}; known: {sorted(PRESETS)}")
    d, c, g = PRESETS[preset]
    return RDN(D or d, C or c, G or g, G0)

"""EDSR and RDN feature extractors in the mmedit-0.11 parameter layout (CiaoSR's encoders).

CiaoSR builds its encoders with mmedit (``EDSR``, ``RDN`` from
``mmedit.models.backbones.sr_backbones``) and then keeps only the feature part,
dropping the upsampler and the output conv (spec
``reference-implementations.md`` §2 "CiaoSR EDSR / RDN"). The parameter names
therefore differ from LIIF's EDSR (``head``/``body``/``tail``):

- EDSR: ``conv_first`` (3→C), ``body.{i}.conv1/conv2`` (ResidualBlockNoBN:
  conv, ReLU, conv, ×res_scale, + input), ``conv_after_body``, global skip.
- RDN: ``sfe1``, ``sfe2``, ``rdbs.{i}.layers.{j}.conv`` (dense layers),
  ``rdbs.{i}.lff`` (1×1 local fusion), ``gff.0`` (1×1) and ``gff.1`` (3×3),
  global skip from ``sfe1``.

Both map ``[B,3,h,w] → [B,C,h,w]`` and expose ``mid_channels`` (= ``out_dim``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sr_lib.models.encoders.rdn import RDN
from sr_lib.models.registry import register_backbone


def _conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResidualBlockNoBN(nn.Module):
    """conv → ReLU → conv, scaled by ``res_scale`` and added to the input."""

    def __init__(self, channels: int, res_scale: float = 1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = _conv3x3(channels, channels)
        self.conv2 = _conv3x3(channels, channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class MMEditEDSR(nn.Module):
    """EDSR feature extractor (mmedit layout, no upsampler). Defaults = EDSR-baseline (16×64)."""

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, num_blocks: int = 16,
                 res_scale: float = 1.0):
        super().__init__()
        self.mid_channels = self.out_dim = mid_channels
        self.conv_first = _conv3x3(in_channels, mid_channels)
        self.body = nn.Sequential(*[ResidualBlockNoBN(mid_channels, res_scale) for _ in range(num_blocks)])
        self.conv_after_body = _conv3x3(mid_channels, mid_channels)

    def forward(self, x):
        x = self.conv_first(x)                     # [B,C,h,w]
        return self.conv_after_body(self.body(x)) + x

    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """The residual blocks ``body.{i}``: what CKA compares."""
        return [(f"body.{i}", block) for i, block in enumerate(self.body)]


class MMEditRDN(RDN):
    """RDN feature extractor (mmedit layout, no upsampler). Defaults = CiaoSR's RDN (16 blocks × 8 layers, G=64)."""

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, num_blocks: int = 16,
                 num_layers: int = 8, channel_growth: int = 64):
        super().__init__(num_blocks, num_layers, channel_growth, mid_channels, in_channels, layout="mmedit")
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks


@register_backbone("mmedit-edsr")
def make_mmedit_edsr(**options) -> MMEditEDSR:
    return MMEditEDSR(**options)


@register_backbone("mmedit-rdn")
def make_mmedit_rdn(**options) -> MMEditRDN:
    return MMEditRDN(**options)


__all__ = ["MMEditEDSR", "MMEditRDN", "ResidualBlockNoBN"]

"""Meta-SR's meta-upscale module as implemented in LIIF (Hu et al., CVPR 2019; spec §3).

    I(x_q) = z*(x_q)ᵀ · W(Δ(x_q), 1/s),  W: MLP(3 → 256 → 9C·3) reshaped to [9C, 3]   (Meta-SR Eq. 3–4)

z* is the 3×3-unfolded latent of the LR pixel containing the HR pixel's top-left
corner, Δ the corner's offset inside that LR pixel (in LR pixels, [0,1)) and
1/s = cell_y·h/2. No local ensemble, no skip.

Subclass contract (IPE-MetaSR): override ``weight_features(rel, rel_cell)`` and
``weight_features_dim`` (the input of the weight-prediction net), optionally
``make_imnet(in_dim)``; set their attributes before ``super().__init__``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import unfold3x3_rows
from sr_lib.models.layers.local_ensemble import gather_rows, lr_grid, nearest_index
from sr_lib.models.liif import LatentGrid
from sr_lib.models.layers.mlp import MLP
from sr_lib.models.registry import make_backbone, register


class MetaSR(ImplicitSR):
    input_norm = "half"

    def __init__(self, encoder: nn.Module, hidden: tuple = (256,), out_dim: int = 3):
        super().__init__()
        self.encoder = encoder
        self.hidden, self.out_dim = list(hidden), out_dim
        self.latent_dim = encoder.out_dim * 9
        self.imnet = self.make_imnet(self.weight_features_dim)

    # -- overridable pieces (IPE-MetaSR) --
    @property
    def weight_features_dim(self) -> int:
        return 3

    def weight_features(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        """Input of the weight net: ``rel [B,Q,2]`` (offset in LR pixels), ``rel_cell [B,Q,2]``
        (= cell·(h/2, w/2) ≈ 1/s) → ``[B,Q,D]``; Meta-SR uses (Δy, Δx, 1/s_y)."""
        return torch.cat([rel, rel_cell[..., :1]], -1)

    def make_imnet(self, in_dim: int) -> nn.Module:
        return MLP(in_dim, self.latent_dim * self.out_dim, self.hidden)

    # -- the interface --
    def encode(self, x: torch.Tensor, scale_hw=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,h,w]
        h, w = feat.shape[-2:]
        centres, index_map = lr_grid((h, w), feat)
        corners = centres - centres.new_tensor([(2 / h) / 2, (2 / w) / 2])   # LR pixel top-left corners
        latent = unfold3x3_rows(feat)                                 # [B,hw,9C]
        return LatentGrid(feat, latent, corners, index_map)

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``."""
        b, q = coord.shape[:2]
        h, w = z.size
        corner = coord - cell / 2                                     # HR pixel top-left [B,Q,2]
        idx = nearest_index(z.index_map, (corner + 1e-6).clamp(-1 + 1e-6, 1 - 1e-6))   # [B,Q]
        half_hw = coord.new_tensor([h / 2, w / 2])
        rel = (corner - z.centres[idx]) * half_hw                     # [B,Q,2] in [0,1)
        weights = self.imnet(self.weight_features(rel, cell * half_hw)).view(b * q, self.latent_dim, -1)
        q_latent = gather_rows(z.latent, idx).view(b * q, 1, -1)      # [BQ,1,9C]
        return torch.bmm(q_latent, weights).view(b, q, -1)


@register("metasr")
def metasr(backbone: str = "edsr-baseline", hidden: tuple = (256,), **backbone_options) -> MetaSR:
    return MetaSR(make_backbone(backbone, **backbone_options), hidden)


__all__ = ["MetaSR"]

"""LTE: Local Texture Estimator (Lee & Jin, CVPR 2022; spec §4).

    g(δ, r) = A ⊙ [cos(π(F·δ + P(r))), sin(π(F·δ + P(r)))]               (paper Eq. 5–7)

A = ``coef`` (amplitude, 3×3 conv), F = ``freq`` (128 2-D frequencies, 3×3 conv),
P = ``phase`` (Linear 2→128, no bias) of the cell; δ = rel coordinate. The MLP
output is blended over the 4 corners as in LIIF (Eq. 4) and a bilinear upsample
of the (normalised) input is added.

Convention of the official code kept here: the LR centre grid follows the *input*
size, the ensemble radius and the rel/cell scaling follow the *feature* size
(they differ for the padded, uncropped SwinIR features). LTE's test-time cell
clip (cell × max(s/4, 1)) belongs to the evaluation protocol: it is passed as
``super_resolve(..., cell_scale=...)``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import sample_bilinear
from sr_lib.models.layers.local_ensemble import gather_rows, local_neighbours, lr_grid, nearest_index
from sr_lib.models.liif import LatentGrid
from sr_lib.models.layers.mlp import MLP
from sr_lib.models.registry import make_backbone, register


class LTE(ImplicitSR):
    input_norm = "half"

    def __init__(self, encoder: nn.Module, hidden: Sequence[int] = (256,) * 3, hidden_dim: int = 256,
                 out_dim: int = 3):
        super().__init__()
        self.encoder = encoder
        self.coef = nn.Conv2d(encoder.out_dim, hidden_dim, 3, padding=1)
        self.freq = nn.Conv2d(encoder.out_dim, hidden_dim, 3, padding=1)
        self.phase = nn.Linear(2, hidden_dim // 2, bias=False)
        self.imnet = MLP(hidden_dim, out_dim, hidden)

    def encode(self, x: torch.Tensor, scale_hw=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,hf,wf]
        coef_freq = torch.cat([self.coef(feat), self.freq(feat)], 1)  # [B,2K,hf,wf]
        centres, index_map = lr_grid(x.shape[-2:], x)
        return LatentGrid(feat, coef_freq.flatten(2).transpose(1, 2).contiguous(), centres, index_map, inp=x)

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``."""
        b, q = coord.shape[:2]
        hf, wf = z.feat.shape[-2:]
        nb = local_neighbours(coord, cell, z.centres, z.index_map, (hf, wf))   # centres on the input grid
        # latents live on the feature grid: a second lookup where it is not the input grid (padded SwinIR)
        idx_f = nb.idx if z.size == (hf, wf) else nearest_index(lr_grid((hf, wf), z.feat)[1], nb.coords)  # [B,4Q]
        q_coef, q_freq = gather_rows(z.latent, idx_f).chunk(2, dim=-1)  # [B,4Q,K] each
        rel, rel_cell = nb.rel, nb.rel_cell                           # [B,4,Q,2], [B,Q,2]
        f = q_freq.view(b, 4, q, -1, 2)                               # [B,4,Q,K/2,(y,x)]
        theta = f[..., 0] * rel[..., 0:1] + f[..., 1] * rel[..., 1:2]  # [B,4,Q,K/2]
        theta = theta + self.phase(rel_cell).unsqueeze(1)
        basis = torch.cat([torch.cos(math.pi * theta), torch.sin(math.pi * theta)], -1)  # [B,4,Q,K]
        preds = self.imnet(q_coef.view(b, 4, q, -1) * basis)         # [B,4,Q,O]
        return nb.blend(preds) + sample_bilinear(z.inp, coord)


@register("lte")
def lte(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 3, hidden_dim: int = 256,
        **backbone_options) -> LTE:
    return LTE(make_backbone(backbone, **backbone_options), hidden, hidden_dim)


__all__ = ["LTE"]

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

from sr_lib.official.refvec import official
from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import sample_bilinear
from sr_lib.models.liif import (LatentGrid, area_blend, ensemble_coords, gather_rows, lr_grid, nearest_index,
                                official_encoder, official_query_inputs)
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

    def encode(self, x: torch.Tensor, scale=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,hf,wf]
        coef_freq = torch.cat([self.coef(feat), self.freq(feat)], 1)  # [B,2K,hf,wf]
        centres, index_map = lr_grid(x.shape[-2:], x)
        return LatentGrid(feat, coef_freq.flatten(2).transpose(1, 2).contiguous(), centres, index_map, inp=x)

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``."""
        b, q = coord.shape[:2]
        hf, wf = z.feat.shape[-2:]
        coord_s = ensemble_coords(coord, (hf, wf), True).reshape(b, 4 * q, 2)  # [B,4Q,2]
        idx_f = nearest_index(_feature_index_map(z), coord_s)         # [B,4Q] on the feature grid
        idx_c = idx_f if z.size == (hf, wf) else nearest_index(z.index_map, coord_s)
        q_coef, q_freq = gather_rows(z.latent, idx_f).chunk(2, dim=-1)  # [B,4Q,K] each
        scale_hw = coord.new_tensor([hf, wf])
        rel = (coord.unsqueeze(1) - z.centres[idx_c].view(b, 4, q, 2)) * scale_hw   # [B,4,Q,2]
        rel_cell = cell * scale_hw                                    # [B,Q,2]
        f = q_freq.view(b, 4, q, -1, 2)                               # [B,4,Q,K/2,(y,x)]
        theta = f[..., 0] * rel[..., 0:1] + f[..., 1] * rel[..., 1:2]  # [B,4,Q,K/2]
        theta = theta + self.phase(rel_cell).unsqueeze(1)
        basis = torch.cat([torch.cos(math.pi * theta), torch.sin(math.pi * theta)], -1)  # [B,4,Q,K]
        preds = self.imnet(q_coef.view(b, 4, q, -1) * basis)         # [B,4,Q,O]
        return area_blend(preds, rel) + sample_bilinear(z.inp, coord)


def _feature_index_map(z: LatentGrid) -> torch.Tensor:
    hf, wf = z.feat.shape[-2:]
    if z.size == (hf, wf):
        return z.index_map
    return lr_grid((hf, wf), z.feat)[1]


@official("lte")
class OfficialLTE:
    @staticmethod
    def from_official_config(config: dict) -> LTE:
        args = config["args"]
        imnet = args["imnet_spec"]["args"]
        return LTE(official_encoder(args["encoder_spec"]), hidden=imnet["hidden_list"],
                   hidden_dim=args.get("hidden_dim", 256), out_dim=imnet["out_dim"])

    @staticmethod
    def official_forward(model, ref, case, variant=""):
        return model(*official_query_inputs(ref, case, variant))


@register("lte")
def lte(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 3, hidden_dim: int = 256,
        **backbone_options) -> LTE:
    return LTE(make_backbone(backbone, **backbone_options), hidden, hidden_dim)


__all__ = ["LTE"]

"""ITSRN: Implicit Transformer Network (Yang, Shen, Yue & Li, NeurIPS 2021) — the CiaoSR tables' baseline.

Written from the paper's description (no official code or reference vectors used;
the details marked [derived] are our reading of it):

1. **Implicit transformer.** The LR pixel features are the *values*; the key
   coordinates are the LR pixel centres; a query coordinate x_q attends to the
   keys around it. Instead of a dot-product attention, the "transform weights"
   are generated from the query–key coordinate offset and a scale token:

       W_k = φ_T([r_k, s]) ∈ R^{D×3},   p_k = W_kᵀ V_k                         (ITSRN Eq. 2–3)

   r_k = (x_q − x_k)·(h, w) (LR pixel = 2 units), s = cell·(h, w), V_k the 3×3-unfolded
   feature (D = 9C) of key k. The keys are the 4 LR pixels around x_q, found with
   LIIF's shifted nearest lookup (spec §1.1) [derived].
2. **Implicit position encoding (IPE)** aggregates the 4 predictions with learned
   weights that depend only on the relative position and the scale:

       I(x_q) = Σ_k a_k p_k,   a_k = softmax_k φ_P([r_k, s])                    (ITSRN Eq. 4)

   (LIIF fixes a_k to normalised rectangle areas; ITSRN learns them [derived: the
   softmax normalisation].)

Sizes: φ_T is 4 → 256×4 → 3D (≈0.64 M parameters for D = 576, matching the
"0.7 M" decoder of CiaoSR Table 7), φ_P is 4 → 256 → 1. Input normalisation:
DIV2K-mean subtraction ("mean"), as in CiaoSR's reimplementation of ITSRN.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import pixel_rows, unfold3x3_rows
from sr_lib.models.layers.local_ensemble import gather_rows, local_neighbours, lr_grid
from sr_lib.models.liif import LatentGrid
from sr_lib.models.layers.mlp import MLP
from sr_lib.models.registry import make_backbone, register


class ITSRN(ImplicitSR):
    """Implicit transformer + implicit position encoding over any encoder with ``out_dim`` channels."""

    input_norm = "mean"

    def __init__(self, encoder: nn.Module, hidden: Sequence[int] = (256,) * 4,
                 ipe_hidden: Sequence[int] = (256,), feat_unfold: bool = True):
        super().__init__()
        self.encoder = encoder
        self.feat_unfold = feat_unfold
        self.latent_dim = encoder.out_dim * (9 if feat_unfold else 1)
        self.transform = MLP(4, self.latent_dim * 3, hidden)          # φ_T: [r, s] → D×3 weights
        self.position = MLP(4, 1, ipe_hidden)                         # φ_P: [r, s] → ensemble logit

    def encode(self, x: torch.Tensor, scale_hw=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,h,w]
        latent = unfold3x3_rows(feat) if self.feat_unfold else pixel_rows(feat)   # [B,hw,D]
        centres, index_map = lr_grid(feat.shape[-2:], feat)
        return LatentGrid(feat, latent, centres, index_map)

    def ensemble_weights(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """IPE weights a_k ``[B,Q,4]`` (corner order of ``local_ensemble.CORNERS``)."""
        pos = local_neighbours(coord, cell, z.centres, z.index_map, z.size).pos   # [B,4,Q,4] [r_k, s]
        return self.position(pos).squeeze(-1).softmax(dim=1).permute(0, 2, 1)

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,3]``."""
        b, q = coord.shape[:2]
        nb = local_neighbours(coord, cell, z.centres, z.index_map, z.size)  # the 4 keys of every query
        idx, pos = nb.idx, nb.pos                                     # [B,4Q], [B,4,Q,4] [r_k, s]
        value = gather_rows(z.latent, idx).view(b, 4, q, -1)         # [B,4,Q,D]
        weights = self.transform(pos).view(b, 4, q, -1, 3)           # [B,4,Q,D,3] transform weights
        preds = torch.einsum("bkqd,bkqdo->bkqo", value, weights)      # [B,4,Q,3]  p_k = W_kᵀ V_k (batched products)
        a = self.position(pos).softmax(dim=1)                         # [B,4,Q,1]  IPE weights
        return (a * preds).sum(1)


@register("itsrn")
def itsrn(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 4, ipe_hidden: Sequence[int] = (256,),
          feat_unfold: bool = True, **backbone_options) -> ITSRN:
    """``make("itsrn", backbone=<any registered backbone>, <backbone size options>)``."""
    return ITSRN(make_backbone(backbone, **backbone_options), hidden, ipe_hidden, feat_unfold)


__all__ = ["ITSRN", "itsrn"]

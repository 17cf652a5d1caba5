"""LIIF: Local Implicit Image Function (Chen, Liu & Wang, CVPR 2021; spec §1.1).

    I(x_q) = Σ_t (S_t / S) · f_θ(z*_t, x_q − v*_t, cell)                    (paper Eq. 4)

z*_t: the (3×3-unfolded) latent nearest to x_q shifted towards corner t,
v*_t its LR pixel centre, S_t the area of the rectangle between x_q and the
*opposite* corner's centre. The decoder runs all 4 shifts as one batch; the lookup
and the blend are ``sr_lib.models.layers.local_ensemble``.

Subclass contract (IPE-LIIF): override ``coord_features(rel, rel_cell)`` and
``coord_features_dim``, and optionally ``make_imnet(in_dim)``. Set any attribute
they read *before* calling ``super().__init__``, which sizes ``self.imnet``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.local_ensemble import gather_rows, local_neighbours, lr_grid
from sr_lib.models.layers.sampling import pixel_rows, unfold3x3_linear, unfold3x3_rows
from sr_lib.models.layers.mlp import MLP, finish_mlp, split_first_layer
from sr_lib.models.registry import make_backbone, register


@dataclass
class LatentGrid:
    """Per-image work shared by all queries (computed once in ``encode``).

    ``latent`` (the rows the decoder gathers) may be passed as None: it is then built from ``feat``
    on first use (3×3-unfolded when ``unfold``), so a decoder that only reads ``latent_proj`` never
    pays for the 9C-wide table."""
    feat: torch.Tensor       # encoder output [B,C,h,w]
    _latent: torch.Tensor | None  # vectors the decoder gathers [B,h*w,D]; None: built on demand
    centres: torch.Tensor    # LR pixel centres [h*w,2] (y,x)
    index_map: torch.Tensor  # flat pixel index as a float map [1,1,h,w] (nearest lookup)
    inp: torch.Tensor | None = None  # the normalised LR input (decoders with an image skip)
    latent_proj: torch.Tensor | None = None  # [B,h*w,hidden0] latent part of the MLP's first Linear (LIIF)
    unfold: bool = True      # how ``latent`` is built from ``feat`` when not given

    @property
    def latent(self) -> torch.Tensor:
        if self._latent is None:
            self._latent = unfold3x3_rows(self.feat) if self.unfold else pixel_rows(self.feat)
        return self._latent

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.index_map.shape[-2:])


def latent_linear(feat: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, unfold: bool = True):
    """``F.linear(latent, weight, bias)`` per LR pixel → ``[B,h·w,O]``, where the latent is the (3×3-unfolded
    when ``unfold``) feature ``feat [B,C,h,w]``: one convolution over ``feat`` (3×3 or 1×1), so the
    9C-wide latent rows are never built (equal up to float summation order)."""
    if unfold:
        return unfold3x3_linear(feat, weight, bias)
    return F.linear(pixel_rows(feat), weight, bias)


def first_layer_rows(proj: torch.Tensor, idx: torch.Tensor, coords: torch.Tensor,
                     w_coord: torch.Tensor) -> torch.Tensor:
    """First Linear of an MLP whose input is [feature, coords], with the feature part tabulated
    once per LR pixel: ``proj [B,M,H]`` (W_f f + b) at ``idx [B,N]`` plus W_c·coords
    (``coords`` B·N rows of P values, ``w_coord [H,P]``) → ``[B,N,H]``, added in place on the
    fresh gathered copy."""
    b, n = idx.shape
    rows = gather_rows(proj, idx).view(b * n, -1)                    # a fresh copy: safe to add into in place
    coords = coords.reshape(b * n, -1)
    if torch.is_grad_enabled() and (rows.requires_grad or coords.requires_grad or w_coord.requires_grad):
        rows = torch.addmm(rows, coords, w_coord.t())               # autograd: in place on a view costs a copy
    else:
        rows.addmm_(coords, w_coord.t())
    return rows.view(b, n, -1)


class LIIF(ImplicitSR):
    """LIIF decoder over any feature encoder (``encoder.out_dim`` channels).

    ``feat_unfold``: 3×3 unfolding (D = 9C); ``local_ensemble``: 4-corner blend;
    ``cell_decode``: the cell enters the MLP (LIIF ablations -u, -e, -c).
    """

    input_norm = "half"

    def __init__(self, encoder: nn.Module, hidden: Sequence[int] = (256,) * 4, feat_unfold: bool = True,
                 local_ensemble: bool = True, cell_decode: bool = True, out_dim: int = 3):
        super().__init__()
        self.encoder = encoder
        self.feat_unfold, self.local_ensemble, self.cell_decode = feat_unfold, local_ensemble, cell_decode
        self.hidden, self.out_dim = list(hidden), out_dim
        self.latent_dim = encoder.out_dim * (9 if feat_unfold else 1)
        self.imnet = self.make_imnet(self.latent_dim + self.coord_features_dim)

    # -- overridable pieces (IPE-LIIF) --
    @property
    def coord_features_dim(self) -> int:
        return 4 if self.cell_decode else 2

    def coord_features(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        """Coordinate part of the MLP input: ``rel, rel_cell [B,N,2]`` → ``[B,N,D]``.

        Rows are (corner, query) pairs, N = S·Q. Units: one LR pixel = 2, so |``rel``| ≤ 2
        per axis (at most one LR pixel) and ``rel_cell`` = (2h/H, 2w/W) ≈ 2/s.
        """
        return torch.cat([rel, rel_cell], -1) if self.cell_decode else rel

    def make_imnet(self, in_dim: int) -> nn.Module:
        return MLP(in_dim, self.out_dim, self.hidden)

    # -- the interface --
    def encode(self, x: torch.Tensor, scale_hw=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,h,w]
        centres, index_map = lr_grid(feat.shape[-2:], feat)
        z = LatentGrid(feat, None, centres, index_map, unfold=self.feat_unfold)   # latent [B,hw,D] on demand
        split = self._split_input()
        if split is not None:
            w_lat, _, bias = split
            z.latent_proj = latent_linear(feat, w_lat, bias, self.feat_unfold)   # [B,hw,hidden0] W_z z + b
        return z

    def _split_input(self):
        """(W_latent, W_coord, bias) of the MLP's input columns when the MLP can take its latent part
        tabulated per LR pixel: a plain ``MLP`` (its first Linear) or a net with ``split_input`` /
        ``finish`` (``ipe_liif.SkipMLP``: every layer that reads the input); None otherwise."""
        if type(self.imnet) is MLP:
            return split_first_layer(self.imnet, self.latent_dim)
        split = getattr(self.imnet, "split_input", None)
        return split(self.latent_dim) if split is not None else None

    def _finish(self, pre: torch.Tensor) -> torch.Tensor:
        return finish_mlp(self.imnet, pre) if type(self.imnet) is MLP else self.imnet.finish(pre)

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``.

        With a plain ``MLP`` the latent part of its first Linear (and its bias) was applied once per
        LR pixel in ``encode`` (``latent_proj``); each (corner, query) row then adds only the
        coordinate columns: W·[z, c] + b = (W_z z + b) + W_c c — the same numbers up to float
        round-off, with the widest matrix product done h·w times instead of 4·Q times.
        """
        b, q = coord.shape[:2]
        nb = local_neighbours(coord, cell, z.centres, z.index_map, z.size, local_ensemble=self.local_ensemble)
        idx, rel = nb.idx, nb.rel                                     # [B,SQ], [B,S,Q,2]
        s = rel.shape[1]
        rel_cell = nb.rel_cell.unsqueeze(1).expand(b, s, q, 2)
        pos = self.coord_features(rel.reshape(b, s * q, 2), rel_cell.reshape(b, s * q, 2))  # [B,SQ,P]
        if z.latent_proj is not None:
            w_pos = self._split_input()[1]
            pre = first_layer_rows(z.latent_proj, idx, pos, w_pos)                        # [B,SQ,hidden0]
            preds = self._finish(pre).view(b, s, q, -1)                                  # [B,S,Q,O]
        else:
            inp = torch.cat([gather_rows(z.latent, idx), pos], -1)                       # [B,SQ,D+P]
            preds = self.imnet(inp).view(b, s, q, -1)                                    # [B,S,Q,O]
        if not self.local_ensemble:
            return preds[:, 0]
        return nb.blend(preds)


@register("liif")
def liif(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 4, feat_unfold: bool = True,
         local_ensemble: bool = True, cell_decode: bool = True, **backbone_options) -> LIIF:
    return LIIF(make_backbone(backbone, **backbone_options), hidden, feat_unfold, local_ensemble, cell_decode)


__all__ = ["LIIF", "LatentGrid", "latent_linear", "first_layer_rows"]

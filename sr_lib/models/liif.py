"""LIIF: Local Implicit Image Function (Chen, Liu & Wang, CVPR 2021; spec §1.1).

    I(x_q) = Σ_t (S_t / S) · f_θ(z*_t, x_q − v*_t, cell)                    (paper Eq. 4)

z*_t: the (3×3-unfolded) latent nearest to x_q shifted towards corner t,
v*_t its LR pixel centre, S_t the area of the rectangle between x_q and the
*opposite* corner's centre. The decoder runs all 4 shifts as one batch.

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

from sr_lib.official.refvec import official
from sr_lib.models.base import ImplicitSR
from sr_lib.geometry import make_coord
from sr_lib.models.layers.sampling import unfold3x3
from sr_lib.models.layers.mlp import MLP, finish_mlp, split_first_layer
from sr_lib.models.registry import make_backbone, register

# The 4 local-ensemble corners (vy, vx) in the official order, and the tie-breaking shift.
CORNERS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
EPS_SHIFT = 1e-6


@dataclass
class LatentGrid:
    """Per-image work shared by all queries (computed once in ``encode``)."""
    feat: torch.Tensor       # encoder output [B,C,h,w]
    latent: torch.Tensor     # vectors the decoder gathers [B,h*w,D]
    centres: torch.Tensor    # LR pixel centres [h*w,2] (y,x)
    index_map: torch.Tensor  # flat pixel index as a float map [1,1,h,w] (nearest lookup)
    inp: torch.Tensor | None = None  # the normalised LR input (decoders with an image skip)
    latent_proj: torch.Tensor | None = None  # [B,h*w,hidden0] latent part of the MLP's first Linear (LIIF)

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.index_map.shape[-2:])


def lr_grid(shape, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(centres [h*w,2], index map [1,1,h,w]) of an LR grid on ``like``'s device, in its dtype
    but at least float32 (half-precision features under autocast would round the indices)."""
    h, w = shape
    dtype = torch.promote_types(like.dtype, torch.float32)
    centres = make_coord((h, w), dtype=dtype, device=like.device)
    index_map = torch.arange(h * w, dtype=dtype, device=like.device).view(1, 1, h, w)
    return centres, index_map


def nearest_index(index_map: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """Flat index of the LR pixel nearest to each ``coord [B,N,2]`` → ``[B,N]`` int64.

    Uses ``grid_sample(mode='nearest', align_corners=False)`` so rounding ties are
    broken exactly as in the official code; coordinates must lie inside [-1, 1].
    """
    b = coord.shape[0]
    dtype = torch.promote_types(index_map.dtype, coord.dtype)
    idx = F.grid_sample(index_map.to(dtype).expand(b, -1, -1, -1), coord.to(dtype).flip(-1).unsqueeze(1),
                        mode="nearest", align_corners=False)
    return idx[:, 0, 0, :].long()                                     # [B,N]


def gather_rows(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``table [B,M,D]`` rows at ``idx [B,N]`` → ``[B,N,D]`` (whole-row copies: ``index_select``)."""
    b, m, d = table.shape
    if b > 1:
        idx = idx + torch.arange(b, device=idx.device).view(b, 1) * m
    return table.reshape(b * m, d).index_select(0, idx.reshape(-1)).view(b, idx.shape[1], d)


def first_layer_rows(proj: torch.Tensor, idx: torch.Tensor, coords: torch.Tensor,
                     w_coord: torch.Tensor) -> torch.Tensor:
    """First Linear of an MLP whose input is [feature, coords], with the feature part tabulated
    once per LR pixel: ``proj [B,M,H]`` (W_f f + b) at ``idx [B,N]`` plus W_c·coords
    (``coords`` B·N rows of P values, ``w_coord [H,P]``) → ``[B,N,H]``, added in place on the
    fresh gathered copy."""
    pre = gather_rows(proj, idx)
    pre.view(-1, pre.shape[-1]).addmm_(coords.reshape(-1, coords.shape[-1]), w_coord.t())
    return pre


def ensemble_coords(coord: torch.Tensor, size, local_ensemble: bool) -> torch.Tensor:
    """Query coordinates moved half an LR pixel towards each corner: ``[B,S,Q,2]``.

    q' = clamp(q + (vy/h + 1e-6, vx/w + 1e-6), −1+1e-6, 1−1e-6) (spec §1.1), S = 4;
    without the ensemble S = 1 and q' = clamp(q).
    """
    if not local_ensemble:
        return coord.clamp(-1 + 1e-6, 1 - 1e-6).unsqueeze(1)
    h, w = size
    ry, rx = 2 / h / 2, 2 / w / 2
    offsets = torch.tensor([[vy * ry + EPS_SHIFT, vx * rx + EPS_SHIFT] for vy, vx in CORNERS],
                           dtype=coord.dtype, device=coord.device)      # [4,2]
    return (coord.unsqueeze(1) + offsets.view(1, 4, 1, 2)).clamp(-1 + 1e-6, 1 - 1e-6)


def area_blend(preds: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
    """Eq. 4 weights: ``preds [B,4,Q,O]``, ``rel [B,4,Q,2]`` → ``[B,Q,O]``.

    Corner t is weighted by the area of the rectangle spanned by the opposite corner
    (areas swapped 0↔3, 1↔2), normalised by the total; summed in the official order.
    """
    area = (rel[..., 0] * rel[..., 1]).abs() + 1e-9                  # [B,4,Q]
    total = area.sum(1)                                               # [B,Q]
    out = 0
    for t in range(4):
        out = out + preds[:, t] * (area[:, 3 - t] / total).unsqueeze(-1)
    return out


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
    def encode(self, x: torch.Tensor, scale=None) -> LatentGrid:
        feat = self.encoder(x)                                        # [B,C,h,w]
        latent = unfold3x3(feat) if self.feat_unfold else feat        # [B,D,h,w]
        centres, index_map = lr_grid(feat.shape[-2:], feat)
        z = LatentGrid(feat, latent.flatten(2).transpose(1, 2).contiguous(), centres, index_map)
        if type(self.imnet) is MLP:
            w_lat, _, bias = split_first_layer(self.imnet, self.latent_dim)
            z.latent_proj = F.linear(z.latent, w_lat, bias)          # [B,hw,hidden0] W_z z + b
        return z

    def query(self, z: LatentGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``.

        With a plain ``MLP`` the latent part of its first Linear (and its bias) was applied once per
        LR pixel in ``encode`` (``latent_proj``); each (corner, query) row then adds only the
        coordinate columns: W·[z, c] + b = (W_z z + b) + W_c c — the same numbers up to float
        round-off, with the widest matrix product done h·w times instead of 4·Q times.
        """
        b, q = coord.shape[:2]
        h, w = z.size
        coord_s = ensemble_coords(coord, (h, w), self.local_ensemble)  # [B,S,Q,2]
        s = coord_s.shape[1]
        idx = nearest_index(z.index_map, coord_s.reshape(b, s * q, 2))  # [B,SQ]
        scale_hw = coord.new_tensor([h, w])
        rel = (coord.unsqueeze(1) - z.centres[idx].view(b, s, q, 2)) * scale_hw   # [B,S,Q,2]
        rel_cell = (cell * scale_hw).unsqueeze(1).expand(b, s, q, 2)
        pos = self.coord_features(rel.reshape(b, s * q, 2), rel_cell.reshape(b, s * q, 2))  # [B,SQ,P]
        if z.latent_proj is not None:
            w_pos = split_first_layer(self.imnet, self.latent_dim)[1]
            pre = first_layer_rows(z.latent_proj, idx, pos, w_pos)                        # [B,SQ,hidden0]
            preds = finish_mlp(self.imnet, pre).view(b, s, q, -1)                        # [B,S,Q,O]
        else:
            inp = torch.cat([gather_rows(z.latent, idx), pos], -1)                       # [B,SQ,D+P]
            preds = self.imnet(inp).view(b, s, q, -1)                                    # [B,S,Q,O]
        if not self.local_ensemble:
            return preds[:, 0]
        return area_blend(preds, rel)


# ----------------------------------------------------------------------------- official configs
def official_encoder(spec: dict) -> nn.Module:
    """Our backbone for a liif/lte-repo ``encoder_spec`` (names as in their registries)."""
    name, args = spec["name"], dict(spec.get("args", {}))
    if not args.pop("no_upsampling", name.startswith("swinir")):
        raise ValueError(f"encoder {name!r} must be built with no_upsampling=True")
    args.pop("scale", None)
    args.pop("rgb_range", None)
    if name in ("edsr-baseline", "edsr"):
        return make_backbone(name, **args)
    if name == "rdn":
        if args.pop("RDNkSize", 3) != 3:
            raise ValueError("only RDNkSize=3 is supported")
        return make_backbone("rdn", preset=args.pop("RDNconfig", "B"), **args)
    if name == "swinir":            # lte's make_swinir ignores its arguments
        return make_backbone("swinir")
    if name == "swinir-class-direct":
        return make_backbone("swinir", **args)
    raise KeyError(f"no sr_lib encoder for official encoder {name!r}")


def official_query_inputs(ref: dict, case: str, variant: str = ""):
    """(inp_fed, coord, cell) of a reference case, ``cell`` made contiguous."""
    cell = ref["cell_cellclip" if variant == "cellclip" else "cell"][case]
    return ref["inp_fed"][case], ref["coord"][case], cell.contiguous()


@official("liif")
class OfficialLIIF:
    @staticmethod
    def from_official_config(config: dict) -> LIIF:
        args = config["args"]
        imnet = args["imnet_spec"]["args"]
        return LIIF(official_encoder(args["encoder_spec"]), hidden=imnet["hidden_list"],
                    feat_unfold=args.get("feat_unfold", True), local_ensemble=args.get("local_ensemble", True),
                    cell_decode=args.get("cell_decode", True), out_dim=imnet["out_dim"])

    @staticmethod
    def official_forward(model, ref, case, variant=""):
        return model(*official_query_inputs(ref, case, variant))


@register("liif")
def liif(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 4, feat_unfold: bool = True,
         local_ensemble: bool = True, cell_decode: bool = True, **backbone_options) -> LIIF:
    return LIIF(make_backbone(backbone, **backbone_options), hidden, feat_unfold, local_ensemble, cell_decode)


__all__ = ["LIIF", "LatentGrid", "lr_grid", "nearest_index", "gather_rows", "ensemble_coords",
           "area_blend", "official_encoder", "official_query_inputs"]

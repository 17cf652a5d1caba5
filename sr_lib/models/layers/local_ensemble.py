"""The 4-neighbour lookup of local implicit decoders (LIIF Eq. 4; spec §1.1), written once.

A query x_q reads the latents of the S = 4 LR pixels around it: x_q is moved half an LR pixel
towards each corner t = (v_y, v_x) ∈ {−1, +1}²,

    x'_t = clamp(x_q + (v_y r_y + ε, v_x r_x + ε), −1 + 10⁻⁶, 1 − 10⁻⁶),   ε = 10⁻⁶,

and the LR pixel nearest to x'_t (``grid_sample`` nearest, the official tie rule) gives the
latent z*_t and its centre v*_t. The decoders then use

    rel_t = (x_q − v*_t)·(h, w)     (one LR pixel = 2 units; |rel| ≤ 2 per axis)
    s     = cell·(h, w)

and LIIF's blend weights each corner by the area of the rectangle spanned by the *opposite*
corner, S_{3−t} / Σ S (Eq. 4). Used by LIIF (and IPE-LIIF), LTE, ITSRN and CiaoSR; they differ
only in the radius (r_y, r_x): half an LR pixel (1/h, 1/w) by default, CiaoSR's
1/((h−1)/(1−cell_y)) per image, and in what they gather at the returned flat indices (each
decoder gathers its own table, e.g. LIIF's tabulated first layer ``liif.first_layer_rows``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from sr_lib.geometry import make_coord

# The 4 local-ensemble corners (vy, vx) in the official order, and the tie-breaking shift.
CORNERS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
EPS_SHIFT = 1e-6


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


def gather_rows(table: torch.Tensor, idx: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``table [B,M,D]`` rows at ``idx [B,N]`` → ``[B,N,D]`` (whole-row copies: ``index_select``;
    ``out``: a contiguous ``[B,N,D]`` tensor to write them into, no autograd)."""
    b, m, d = table.shape
    if b > 1:
        idx = idx + torch.arange(b, device=idx.device).view(b, 1) * m
    flat = table.reshape(b * m, d)
    if out is not None:
        torch.index_select(flat, 0, idx.reshape(-1), out=out.view(-1, d))
        return out
    return flat.index_select(0, idx.reshape(-1)).view(b, idx.shape[1], d)


def ensemble_coords(coord: torch.Tensor, size, local_ensemble: bool = True, radius=None) -> torch.Tensor:
    """Query coordinates ``[B,Q,2]`` moved towards each corner: ``[B,S,Q,2]`` (module doc, x'_t).

    ``radius`` = (r_y, r_x): two numbers, or two ``[B]`` tensors (one radius per image);
    by default half an LR pixel of ``size`` = (h, w). Without the ensemble S = 1 and x' = clamp(x_q).
    """
    if not local_ensemble:
        return coord.clamp(-1 + 1e-6, 1 - 1e-6).unsqueeze(1)
    if radius is None:
        h, w = size
        radius = (2 / h / 2, 2 / w / 2)
    r_y, r_x = radius
    if torch.is_tensor(r_y):
        sign_y = coord.new_tensor([vy for vy, _ in CORNERS])
        sign_x = coord.new_tensor([vx for _, vx in CORNERS])
        shift = torch.stack([sign_y * r_y[:, None] + EPS_SHIFT,
                             sign_x * r_x[:, None] + EPS_SHIFT], dim=-1)   # [B,4,2]
    else:
        shift = coord.new_tensor([[vy * r_y + EPS_SHIFT, vx * r_x + EPS_SHIFT]
                                  for vy, vx in CORNERS]).unsqueeze(0)      # [1,4,2]
    return (coord.unsqueeze(1) + shift.unsqueeze(2)).clamp(-1 + 1e-6, 1 - 1e-6)


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


@dataclass
class Neighbours:
    """The S LR pixels read by Q queries (S = 4 with the ensemble, else 1), corner-major."""
    idx: torch.Tensor       # [B,S·Q] int64 flat LR index; row t·Q + q is corner t of query q
    rel: torch.Tensor       # [B,S,Q,2] (x_q − v*_t)·(h, w)
    rel_cell: torch.Tensor  # [B,Q,2]   cell·(h, w), the same for every corner
    coords: torch.Tensor    # [B,S·Q,2] the shifted, clamped coordinates x'_t that were looked up

    @property
    def pos(self) -> torch.Tensor:
        """[rel_t, s] per corner ``[B,S,Q,4]`` (the coordinate input of ITSRN's and CiaoSR's MLPs)."""
        return torch.cat([self.rel, self.rel_cell.unsqueeze(1).expand_as(self.rel)], -1)

    def blend(self, preds: torch.Tensor) -> torch.Tensor:
        """LIIF's area-weighted sum of ``preds [B,4,Q,O]`` → ``[B,Q,O]`` (``area_blend``)."""
        return area_blend(preds, self.rel)


def local_neighbours(coord: torch.Tensor, cell: torch.Tensor, centres: torch.Tensor, index_map: torch.Tensor,
                     size, radius=None, local_ensemble: bool = True) -> Neighbours:
    """The lookup of the module doc for ``coord, cell [B,Q,2]`` on the LR grid ``(centres [M,2],
    index_map [1,1,·,·])`` of ``lr_grid``; ``size`` = (h, w) scales ``rel`` and ``rel_cell`` and sets
    the default radius. Returns flat indices only: each decoder gathers its own per-pixel table."""
    b, q = coord.shape[:2]
    h, w = size
    shifted = ensemble_coords(coord, size, local_ensemble, radius)   # [B,S,Q,2]
    s = shifted.shape[1]
    shifted = shifted.reshape(b, s * q, 2)                            # [B,SQ,2]
    idx = nearest_index(index_map, shifted)                           # [B,SQ]
    hw = coord.new_tensor([h, w])
    rel = (coord.unsqueeze(1) - centres[idx].view(b, s, q, 2)) * hw   # [B,S,Q,2]
    return Neighbours(idx, rel, cell * hw, shifted)


__all__ = ["CORNERS", "EPS_SHIFT", "lr_grid", "nearest_index", "gather_rows", "ensemble_coords", "area_blend",
           "Neighbours", "local_neighbours"]

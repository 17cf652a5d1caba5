"""Literal forms of the official LIIF and CiaoSR query forwards: the *speed baseline* of
``bench_inference.py``, never used by the library.

Written from the descriptions in ``../shared/specs/reference-implementations.md`` (§1.1 LIIF,
§5.1 CiaoSR), step by step in the order the official ``query_rgb`` runs them, on an sr_lib
model's own weights (so outputs can be compared):

- every query chunk unfolds the feature map again (LIIF's ``query_rgb`` does so per call);
- the 4 corners are a Python loop; each one samples the unfolded features *and* the coordinate
  grid with ``grid_sample(mode='nearest')`` and runs the full MLP on the concatenated input;
- LIIF blends by the swapped areas; CiaoSR builds K_k = key ⊙ φ_k([key, rel, s]),
  V_k = val ⊙ φ_v([val, rel, s]), softmaxes Q·K_k over the 4 corners, decodes Σ a_k V_k with φ_q
  and adds the bilinear (border) sample of the input.

For CiaoSR the per-image values (unfold + cross-scale attention) are computed once per image
and handed in, as the official model computes them once per forward; only the query part is
literal. ``bench_inference.py`` asserts that these functions and the library's decoders agree.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from sr_lib.geometry import make_coord


def _nearest(feat: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
    """``feat [B,C,h,w]`` at ``coord [B,Q,2]`` (y, x), nearest → ``[B,Q,C]`` (official call pattern)."""
    return F.grid_sample(feat, coord.flip(-1).unsqueeze(1), mode="nearest",
                         align_corners=False)[:, :, 0, :].permute(0, 2, 1)


def _feat_coord(feat: torch.Tensor) -> torch.Tensor:
    """LR pixel centres as a map ``[B,2,h,w]`` (official ``feat_coord``)."""
    h, w = feat.shape[-2:]
    grid = make_coord((h, w), flatten=False, dtype=feat.dtype, device=feat.device)
    return grid.permute(2, 0, 1).unsqueeze(0).expand(feat.shape[0], 2, h, w)


def liif_query(model, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    """LIIF ``query_rgb`` (spec §1.1) with ``model.imnet``: ``feat [B,C,h,w]`` → ``[B,Q,3]``."""
    b, c, h, w = feat.shape
    feat = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
    feat_coord = _feat_coord(feat)
    rx, ry = 2 / h / 2, 2 / w / 2
    preds, areas = [], []
    for vx in (-1, 1):
        for vy in (-1, 1):
            coord_ = coord.clone()
            coord_[:, :, 0] += vx * rx + 1e-6
            coord_[:, :, 1] += vy * ry + 1e-6
            coord_.clamp_(-1 + 1e-6, 1 - 1e-6)
            q_feat = _nearest(feat, coord_)
            q_coord = _nearest(feat_coord, coord_)
            rel = coord - q_coord
            rel[:, :, 0] *= h
            rel[:, :, 1] *= w
            rel_cell = cell.clone()
            rel_cell[:, :, 0] *= h
            rel_cell[:, :, 1] *= w
            inp = torch.cat([q_feat, rel, rel_cell], dim=-1)
            pred = model.imnet(inp.view(b * coord.shape[1], -1)).view(b, coord.shape[1], -1)
            preds.append(pred)
            areas.append(torch.abs(rel[:, :, 0] * rel[:, :, 1]) + 1e-9)
    total = torch.stack(areas).sum(dim=0)
    areas[0], areas[3] = areas[3], areas[0]
    areas[1], areas[2] = areas[2], areas[1]
    ret = 0
    for pred, area in zip(preds, areas):
        ret = ret + pred * (area / total).unsqueeze(-1)
    return ret


def ciaosr_values(model, feat: torch.Tensor):
    """Per-image maps of the official CiaoSR forward: (unfolded features, values [unfold, NL])."""
    b, c, h, w = feat.shape
    unfold = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
    return unfold, torch.cat([unfold, model.cs_attn(feat)], dim=1)


def ciaosr_query(model, feat, unfold, value, inp, coord, cell) -> torch.Tensor:
    """CiaoSR's implicit attention query (spec §5.1) with the model's φ_q, φ_k, φ_v → ``[B,Q,3]``."""
    b, _, h, w = feat.shape
    feat_coord = _feat_coord(feat)
    query = _nearest(unfold, coord)                                   # no shift, no coordinates
    rx = (1 - cell[:, 0, 0]) / (h - 1)
    ry = (1 - cell[:, 0, 1]) / (w - 1)
    rel_cell = cell.clone()
    rel_cell[:, :, 0] *= h
    rel_cell[:, :, 1] *= w
    keys, values = [], []
    for vx in (-1, 1):
        for vy in (-1, 1):
            coord_ = coord.clone()
            coord_[:, :, 0] += (vx * rx + 1e-6)[:, None]
            coord_[:, :, 1] += (vy * ry + 1e-6)[:, None]
            coord_.clamp_(-1 + 1e-6, 1 - 1e-6)
            k = _nearest(unfold, coord_)
            v = _nearest(value, coord_)
            q_coord = _nearest(feat_coord, coord_)
            rel = coord - q_coord
            rel[:, :, 0] *= h
            rel[:, :, 1] *= w
            keys.append(k * model.imnet_k(torch.cat([k, rel, rel_cell], dim=-1)))
            values.append(v * model.imnet_v(torch.cat([v, rel, rel_cell], dim=-1)))
    logits = torch.stack([(query * k).sum(-1) for k in keys], dim=-1)   # [B,Q,4]
    attn = F.softmax(logits / model.config.softmax_scale, dim=-1)
    mixed = sum(attn[..., i:i + 1] * values[i] for i in range(4))
    skip = F.grid_sample(inp, coord.flip(-1).unsqueeze(1), mode="bilinear", padding_mode="border",
                         align_corners=False)[:, :, 0, :].permute(0, 2, 1)
    return model.imnet_q(mixed) + skip

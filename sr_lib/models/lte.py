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
import threading
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn as nn

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import sample_bilinear
from sr_lib.models.layers.local_ensemble import gather_rows, local_neighbours, lr_grid, nearest_index
from sr_lib.models.liif import LatentGrid
from sr_lib.models.layers.mlp import MLP
from sr_lib.models.registry import make_backbone, register


@dataclass
class LTEGrid(LatentGrid):
    """LIIF's per-image grid plus ``scratch``: buffers that the no-grad ``query`` calls of one decode
    reuse from chunk to chunk (fresh multi-MB tensors per chunk cost a page fault per 4 KB), one set
    per calling thread (``super_resolve`` decodes chunks in worker threads)."""
    scratch: dict = field(default_factory=dict, repr=False, compare=False)

    def buffer(self, name: str, shape, like: torch.Tensor) -> torch.Tensor:
        """An uninitialised ``[*shape]`` tensor of ``like``'s dtype and device, the first elements of
        this thread's buffer ``name`` in ``scratch`` (grown when a larger one is asked for)."""
        n, key = math.prod(shape), (name, threading.get_ident())
        buf = self.scratch.get(key)
        if buf is None or buf.numel() < n or buf.dtype != like.dtype or buf.device != like.device:
            buf = self.scratch[key] = like.new_empty(n)
        return buf[:n].view(shape)


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

    def encode(self, x: torch.Tensor, scale_hw=None) -> LTEGrid:
        feat = self.encoder(x)                                        # [B,C,hf,wf]
        k = self.coef.out_channels
        # freq channels come in (y, x) pairs (2j, 2j+1): stored as [all y | all x] so that each half of a
        # gathered row is contiguous; the per-pixel table is [A (K) | F_y (K/2) | F_x (K/2)]
        freq = self.freq(feat).unflatten(1, (k // 2, 2)).transpose(1, 2).flatten(1, 2)
        table = torch.cat([self.coef(feat), freq], 1)                # [B,2K,hf,wf]
        centres, index_map = lr_grid(x.shape[-2:], x)
        return LTEGrid(feat, table.flatten(2).transpose(1, 2).contiguous(), centres, index_map, inp=x)

    def query(self, z: LTEGrid, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,out_dim]``.

        Rows are (corner, query) pairs, corner-major (4Q rows): θ = F_y δ_y + F_x δ_x + P(r) (summed in
        the official order), the MLP input A ⊙ [cos πθ, sin πθ]. Without autograd every step after the
        lookup writes into ``z``'s reusable buffers (``LTEGrid.buffer``), in place where it can: the
        gather, θ, cos / sin into the two halves of the MLP input, the scaling by A, each Linear
        (``addmm`` into its own buffer) and its ReLU. Same operations, same order: same numbers.
        """
        b, q = coord.shape[:2]
        hf, wf = z.feat.shape[-2:]
        k = self.coef.out_channels
        nb = local_neighbours(coord, cell, z.centres, z.index_map, (hf, wf))   # centres on the input grid
        # latents live on the feature grid: a second lookup where it is not the input grid (padded SwinIR)
        idx_f = nb.idx if z.size == (hf, wf) else nearest_index(lr_grid((hf, wf), z.feat)[1], nb.coords)  # [B,4Q]
        rel = nb.rel.reshape(b, 4 * q, 2)                             # [B,4Q,2]
        phase = self.phase(nb.rel_cell).unsqueeze(1)                  # [B,1,Q,K/2]
        if torch.is_grad_enabled() or not isinstance(z, LTEGrid):
            q_coef, f_y, f_x = gather_rows(z.latent, idx_f).split([k, k // 2, k // 2], -1)
            theta = (f_y * rel[..., 0:1] + f_x * rel[..., 1:2]).view(b, 4, q, -1) + phase
            theta = (math.pi * theta).view(b, 4 * q, -1)
            basis = torch.cat([torch.cos(theta), torch.sin(theta)], -1)          # [B,4Q,K]
            preds = self.imnet(q_coef * basis)                                   # [B,4Q,O]
        else:
            n = b * 4 * q
            buf = lambda name, *shape: z.buffer(name, shape, z.latent)          # noqa: E731
            rows = gather_rows(z.latent, idx_f, out=buf("rows", b, 4 * q, 2 * k))
            q_coef, f_y, f_x = rows.split([k, k // 2, k // 2], -1)            # [B,4Q,K], [B,4Q,K/2] ×2
            theta = torch.mul(f_y, rel[..., 0:1], out=buf("theta", b, 4 * q, k // 2))
            theta.add_(torch.mul(f_x, rel[..., 1:2], out=buf("theta_x", b, 4 * q, k // 2)))
            theta.view(b, 4, q, -1).add_(phase).mul_(math.pi)
            x = buf("basis", b, 4 * q, k)
            torch.cos(theta, out=x[..., :k // 2])
            torch.sin(theta, out=x[..., k // 2:])
            x = x.mul_(q_coef).view(n, k)
            linears = [m for m in self.imnet.layers if isinstance(m, nn.Linear)]
            for i, lin in enumerate(linears):
                x = torch.addmm(lin.bias, x, lin.weight.t(), out=buf(f"h{i % 2}", n, lin.out_features))
                if i < len(linears) - 1:
                    x.relu_()
            preds = x.view(b, 4 * q, -1)
        return nb.blend(preds.view(b, 4, q, -1)) + sample_bilinear(z.inp, coord)


@register("lte")
def lte(backbone: str = "edsr-baseline", hidden: Sequence[int] = (256,) * 3, hidden_dim: int = 256,
        **backbone_options) -> LTE:
    return LTE(make_backbone(backbone, **backbone_options), hidden, hidden_dim)


__all__ = ["LTE", "LTEGrid"]

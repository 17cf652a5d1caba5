"""IPE-LIIF and its Table 4 relatives (IPE-LIIF paper, Sec. 4.2 and 5.3; spec §7,
methods-notes §1). All three reuse LIIF's decoder (``sr_lib.models.liif``: unfolding,
local ensemble, area blend) and change only the coordinate input and the MLP.

- ``liif-pe``   "LIIF w/ PE": PE(rel, L) replaces the raw ``rel``; the cell is
  appended as in LIIF (``cell_decode``); LIIF's plain MLP.
- ``ipe-liif``  IPE(rel, r = rel_cell/2, L) replaces ``rel`` *and* the cell
  (its size enters through the sinc factors); MLP of 4×256 with skip connections
  (``SkipMLP``). Ablations: ``L`` (4 / 16), ``use_cell=True`` ("+cell": the cell
  is appended back), ``skip=False`` ("-skip": LIIF's plain MLP).
- ``ipe-metasr`` (Eq. 9–10): MetaSR (``sr_lib.models.metasr``) whose weight
  net takes IPE of the HR pixel instead of (Δy, Δx, 1/s); see ``IPEMetaSR``.

Conventions (no official code exists; these are ours, see ``sr_lib.models.layers.ipe``):
rel is LIIF's relative coordinate (one LR pixel = 2 units), so the HR pixel of a
query spans [rel − r, rel + r] with r = rel_cell/2 = (h/H, w/W) ≈ 1/s per axis. The
raw rel is not kept beside its encoding, in ``liif-pe`` either (so PE and IPE
models differ only by the sinc factors and the MLP).

A consequence of these units, measured rather than chosen: every band ω_l = 2^l·π has a period
that divides 2 units = one LR pixel, so PE(rel) = PE(rel − 2) and IPE likewise. In LIIF's local
ensemble the two neighbours along an axis sit at rel and rel − 2, so **all four neighbours of a
query receive the same encoding**; only their latents tell them apart (plain LIIF's raw rel does
not have this blind spot). ``coord_scale`` (default 1, the paper's units) multiplies rel and r
before the encoding; 0.5 makes the lowest band's period two LR pixels, so the neighbours' encodings
differ. It exists for that diagnostic (``docs/RUN_PLAN.md``), not as a method of the paper. The encoding is 4L channels
ordered (sin|cos, band, axis); the MLP input is [latent (9C), encoding (4L)
(, rel_cell (2))], e.g. 576 + 40 = 616 for IPE-LIIF on a 64-channel encoder.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from sr_lib.models.layers.ipe import encoding_dim, integrated_positional_encoding, positional_encoding
from sr_lib.models.liif import LIIF
from sr_lib.models.metasr import MetaSR
from sr_lib.models.registry import make_backbone, register


class SkipMLP(nn.Module):
    """MLP whose every hidden layer after the first also sees the MLP input
    (IPE-LIIF Sec. 4.2, "skip connections from the input to all hidden layers"):

        h_1 = relu(W_1 z),   h_k = relu(W_k [h_{k-1}, z]) for k ≥ 2,   out = W_o h_K.

    Layer sizes for input n, hidden widths d_1..d_K and output o:
    n·d_1 + Σ_{k≥2} (d_{k-1} + n)·d_k + d_K·o weights plus d_1 + … + d_K + o biases.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_list: Sequence[int]):
        super().__init__()
        if len(hidden_list) == 0:
            raise ValueError("SkipMLP needs at least one hidden layer")
        widths = list(hidden_list)
        fan_in = [in_dim] + [w + in_dim for w in widths[:-1]]
        self.hidden = nn.ModuleList(nn.Linear(f, w) for f, w in zip(fan_in, widths))
        self.out = nn.Linear(widths[-1], out_dim)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``[..., in_dim]`` → ``[..., out_dim]``."""
        h = torch.relu(self.hidden[0](z))
        for layer in self.hidden[1:]:
            h = torch.relu(layer(torch.cat([h, z], dim=-1)))         # [..., d_{k-1}+in_dim]
        return self.out(h)

    # -- the input part of every hidden layer tabulated outside (``LIIF._split_input``) --
    def split_input(self, n_feat: int):
        """(W_feat ``[Σd, n_feat]``, W_rest ``[Σd, in_dim − n_feat]``, bias ``[Σd]``): the columns of every
        hidden layer that read the input z = [feature (n_feat), rest], layers stacked (Σd = d_1 + … + d_K)."""
        feats, rests = [], []
        for k, layer in enumerate(self.hidden):
            off = 0 if k == 0 else self.hidden[k - 1].out_features      # layer k ≥ 2 reads [h_{k-1}, z]
            feats.append(layer.weight[:, off:off + n_feat])
            rests.append(layer.weight[:, off + n_feat:])
        return torch.cat(feats), torch.cat(rests), torch.cat([layer.bias for layer in self.hidden])

    def finish(self, pre: torch.Tensor) -> torch.Tensor:
        """``forward`` given ``pre [..., Σd]`` = W_k^z z + b_k for every hidden layer k (``split_input``):
        h_1 = relu(pre_1), h_k = relu(pre_k + W_k^h h_{k-1}), out = W_o h_K — the same sums as
        ``forward`` in another order, without re-reading z at every layer."""
        shape = pre.shape[:-1]
        parts = pre.reshape(-1, pre.shape[-1]).split([layer.out_features for layer in self.hidden], -1)
        h = torch.relu(parts[0])
        for layer, part in zip(self.hidden[1:], parts[1:]):
            h = torch.relu(torch.addmm(part, h, layer.weight[:, :h.shape[-1]].t()))
        return self.out(h).view(*shape, -1)


class LIIFPE(LIIF):
    """LIIF with PE of the relative coordinate ("LIIF w/ PE", IPE-LIIF Table 4).

    ``L`` bands; ``cell_decode`` appends rel_cell as LIIF does; ``skip`` swaps
    LIIF's MLP for ``SkipMLP`` (same hidden widths).
    """

    def __init__(self, encoder: nn.Module, L: int = 10, skip: bool = False, coord_scale: float = 1.0,
                 **liif_options):
        self.L, self.skip = L, skip              # read by coord_features_dim / make_imnet in LIIF.__init__
        self.coord_scale = float(coord_scale)    # encoding units: rel·coord_scale (module docstring)
        super().__init__(encoder, **liif_options)

    @property
    def coord_features_dim(self) -> int:
        return encoding_dim(self.L, 2) + (2 if self.cell_decode else 0)

    def position_encoding(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        """``rel, rel_cell [B,Q,2]`` → ``[B,Q,4L]``: PE (Eq. 3) of the query centre."""
        return positional_encoding(rel * self.coord_scale, self.L)

    def coord_features(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        enc = self.position_encoding(rel, rel_cell)                   # [B,Q,4L]
        return torch.cat([enc, rel_cell], dim=-1) if self.cell_decode else enc

    def make_imnet(self, in_dim: int) -> nn.Module:
        return SkipMLP(in_dim, self.out_dim, self.hidden) if self.skip else super().make_imnet(in_dim)


class IPELIIF(LIIFPE):
    """IPE-LIIF: IPE of the query's HR pixel, centre rel and half-width rel_cell/2 (Eq. 6)."""

    def __init__(self, encoder: nn.Module, L: int = 10, use_cell: bool = False, skip: bool = True,
                 hidden: Sequence[int] = (256,) * 4, feat_unfold: bool = True, local_ensemble: bool = True,
                 coord_scale: float = 1.0):
        super().__init__(encoder, L=L, skip=skip, hidden=hidden, feat_unfold=feat_unfold,
                         local_ensemble=local_ensemble, cell_decode=use_cell, coord_scale=coord_scale)

    def position_encoding(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        """``[B,Q,4L]``: E of PE over [rel − rel_cell/2, rel + rel_cell/2] per axis."""
        c = self.coord_scale
        return integrated_positional_encoding(rel * c, rel_cell / 2 * c, self.L)


class IPEMetaSR(MetaSR):
    """IPE-MetaSR (IPE-LIIF Eq. 9–10): the weight-prediction net sees IPE of the HR pixel.

    MetaSR's geometry is in LR pixels (one LR pixel = 1 unit): ``rel`` is the HR
    pixel's top-left corner inside its LR pixel, in [0, 1), and ``rel_cell`` ≈ 1/s
    is the HR pixel's width. The HR pixel is therefore the box of centre
    rel + rel_cell/2 and half-width r = rel_cell/2 ≈ 1/(2s) per axis, and its IPE
    (4L channels) *replaces* Meta-SR's (Δy, Δx, 1/s): the scale enters only
    through the sinc factors, as in IPE-LIIF. Our choice: the paper's Eq. 10 is
    garbled in the extraction, and encoding the box centre (not MetaSR's corner)
    is what makes the encoding the expectation over the pixel (Eq. 4–6).
    """

    def __init__(self, encoder: nn.Module, L: int = 10, hidden: Sequence[int] = (256,), out_dim: int = 3):
        self.L = L                               # read by weight_features_dim in MetaSR.__init__
        super().__init__(encoder, hidden=tuple(hidden), out_dim=out_dim)

    @property
    def weight_features_dim(self) -> int:
        return encoding_dim(self.L, 2)

    def weight_features(self, rel: torch.Tensor, rel_cell: torch.Tensor) -> torch.Tensor:
        """``rel, rel_cell [B,Q,2]`` (LR-pixel units) → IPE of the HR pixel box ``[B,Q,4L]``."""
        r = rel_cell / 2
        return integrated_positional_encoding(rel + r, r, self.L)


@register("liif-pe")
def liif_pe(backbone: str = "edsr-baseline", L: int = 10, hidden: Sequence[int] = (256,) * 4,
            feat_unfold: bool = True, local_ensemble: bool = True, cell_decode: bool = True, skip: bool = False,
            coord_scale: float = 1.0, **backbone_options) -> LIIFPE:
    return LIIFPE(make_backbone(backbone, **backbone_options), L=L, skip=skip, hidden=hidden,
                  feat_unfold=feat_unfold, local_ensemble=local_ensemble, cell_decode=cell_decode,
                  coord_scale=coord_scale)


@register("ipe-liif")
def ipe_liif(backbone: str = "edsr-baseline", L: int = 10, use_cell: bool = False, skip: bool = True,
             hidden: Sequence[int] = (256,) * 4, feat_unfold: bool = True, local_ensemble: bool = True,
             coord_scale: float = 1.0, **backbone_options) -> IPELIIF:
    return IPELIIF(make_backbone(backbone, **backbone_options), L=L, use_cell=use_cell, skip=skip, hidden=hidden,
                   feat_unfold=feat_unfold, local_ensemble=local_ensemble, coord_scale=coord_scale)


@register("ipe-metasr")
def ipe_metasr(backbone: str = "edsr-baseline", L: int = 10, hidden: Sequence[int] = (256,),
               **backbone_options) -> IPEMetaSR:
    return IPEMetaSR(make_backbone(backbone, **backbone_options), L=L, hidden=hidden)


__all__ = ["SkipMLP", "LIIFPE", "IPELIIF", "IPEMetaSR"]

"""CiaoSR: continuous implicit attention-in-attention (Cao et al., CVPR 2023).

Decoder as the released code computes it (spec ``reference-implementations.md``
§5.1, refvec README §4.5), paper Eq. (4)–(6):

    I_q = φ_q( Σ_{k∈4 neighbours} softmax_k(Q·K_k) V_k ) + bilinear(x_LR, q)

- F = encoder features [B,C,h,w]; unfold = 3×3 zero-padded unfold (9C);
- Q = unfold(F) nearest-sampled at the **unshifted** query coordinate;
- the 4 neighbours: q + (±r_y + 1e-6, ±r_x + 1e-6), clamped to ±(1−1e-6), with
  r_y = 1 / ((h−1)/(1−cell_y)) and r_x = 1 / ((w−1)/(1−cell_x)) from the cell of
  the first query of each image;
- rel = (q − centre_k)·(h, w), s = cell·(h, w);
- K_k = key_k ⊙ φ_k([key_k, rel, s]) with key = unfold(F) (9C+4 → 9C);
- V_k = val_k ⊙ φ_v([val_k, rel, s]) with val = [unfold(F), NL(F)]
  (9C+C+4 → 9C+C), NL = the cross-scale non-local attention
  (``cross_scale_attention.py``);
- softmax of plain dot products (``softmax_scale`` 1, no √d); φ_q: 10C → 3;
- plus the bilinear (border) sample of the normalised LR input.

Non-local branch, released code vs paper (spec §5.2): the default
``multi_scale=(2,)``, ``window=None`` is what the released configs run (one
downscale factor, global search) and what official checkpoints expect; the
paper's text (s' ∈ {2, 3, 4}, search in a 256×256 window) is
``multi_scale=(2, 3, 4), window=256`` (see ``cross_scale_attention.py``).

Cost: everything that does not depend on the query is done once in ``encode``
(unfolding, the non-local attention, the feature part of the first Linear of φ_k
and φ_v per LR pixel — one convolution over F —, and in eval mode φ_k's last Linear
folded into per pixel-pair tables of Q·K; in training the same fold per gathered
row: (Q ⊙ K) W·h); ``query`` handles the 4 neighbours in one batch. This changes
only the float summation order (outputs equal the official ones to ~1e-16 in float64).

Ablations (paper Table 4): ``ensemble="mlp"`` replaces the attention by an MLP
φ_w([key_k, rel, s]) → one logit per neighbour (softmax over the 4; "the
coordinate information is still fed into the MLP"); ``non_local=False`` drops
the non-local branch (values = unfold(F) only).

State_dict keys follow the official ``LocalImplicitSR*`` classes: ``imnet_q``,
``imnet_k``, ``imnet_v``, ``cs_attn.*`` and then the encoder's modules at top
level (``conv_first``, ``body``, ``conv_after_body`` for EDSR; ``sfe1`` … ``gff``
for RDN; ``conv_first``, ``patch_embed``, ``layers``, ``norm``, ``conv_after_body``
for SwinIR), so official checkpoints load with ``load_state_dict(strict=True)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.cross_scale_attention import CrossScaleAttention
from sr_lib.models.layers.sampling import pixel_rows, sample_bilinear, unfold3x3, unfold3x3_linear, unfold3x3_rows
from sr_lib.models.layers.local_ensemble import gather_rows, local_neighbours, lr_grid, nearest_index
from sr_lib.models.liif import first_layer_rows
from sr_lib.models.layers.mlp import MLP
from sr_lib.models.layers.mlp import finish_mlp as _finish_mlp
from sr_lib.models.layers.mlp import split_first_layer as _split_first_layer
from sr_lib.models.encoders.mmedit import MMEditEDSR, MMEditRDN
from sr_lib.models.encoders.swinir import SwinIR
from sr_lib.models.registry import make_backbone, register


# (dy, dx) of a key pixel relative to the query pixel; row-major so that index = (dy+1)·3 + (dx+1)
_PAIR_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


@dataclass
class CiaoSRConfig:
    hidden: tuple = (256, 256, 256, 256)   # width of φ_q, φ_k, φ_v (and φ_w)
    non_local: bool = True                 # cross-scale attention branch in the values
    multi_scale: tuple = (2,)              # s' of the cross-scale attention (released: (2,); paper: (2,3,4))
    window: int | None = None              # None = global search (released); e.g. 256 = paper's windowed search
    ensemble: str = "attention"            # "attention" (CiaoSR) | "mlp" (Table 4 ablation)
    softmax_scale: float = 1.0             # attention logits are divided by this (released: 1)
    radius: str = "released"               # neighbour shift: "released" (1−cell)/(h−1) | "half_pixel" 1/h (LIIF's)


@dataclass
class CiaoSRFeatures:
    """Per-image work shared by all queries (computed once in ``encode``)."""
    feat: torch.Tensor       # [B,C,h,w] encoder output
    query: torch.Tensor      # [B,h*w,9C] query vectors = unfold(F) (keys are the first 9C value channels)
    value: torch.Tensor      # [B,h*w,D] value vectors [unfold(F), NL(F)], D = 9C (+ C·|s'|)
    proj: torch.Tensor       # [B,h*w,2·hidden0] feature part (+ bias) of the first layer of φ_v, then of φ_k (φ_w for "mlp")
    centres: torch.Tensor    # [h*w,2] LR pixel centres (y,x)
    index_map: torch.Tensor  # [1,1,h,w] flat pixel index (nearest lookup with grid_sample's tie rule)
    inp: torch.Tensor        # [B,3,h,w] normalised LR (bilinear skip)
    pair_proj: torch.Tensor | None = None  # [B,h*w*9,hidden] (Q_p ⊙ K_{p+o}) W_last of φ_k (eval mode)
    pair_bias: torch.Tensor | None = None  # [B,h*w*9]       (Q_p ⊙ K_{p+o}) · b_last


class CiaoSR(ImplicitSR):
    """CiaoSR on any feature encoder ``[B,3,h,w] → [B,C,h,w]`` (module docstring).

    The encoder's child modules are registered at the top level (official key layout);
    the encoder object itself is kept unregistered (``_encoder``) and reached as ``encoder``.

    The first Linear of φ_k and φ_v acts on [feature, rel, s]; its feature part is the
    same for every query that picks the same LR pixel, so ``encode`` applies it once per
    pixel and ``query`` adds the 4 coordinate columns (equal to the official
    concatenate-then-Linear up to float round-off).
    """

    min_input_side = 2              # reflect padding of the non-local attention and of the unfold
    input_norm = "mean"

    def __init__(self, encoder: nn.Module, channels: int, config: CiaoSRConfig | None = None):
        super().__init__()
        cfg = self.config = config or CiaoSRConfig()
        if cfg.ensemble not in ("attention", "mlp"):
            raise ValueError(f"ensemble must be 'attention' or 'mlp', got {cfg.ensemble!r}")
        if cfg.radius not in ("released", "half_pixel"):
            raise ValueError(f"radius must be 'released' or 'half_pixel', got {cfg.radius!r}")
        if len(dict(encoder.named_parameters(recurse=False))) or len(dict(encoder.named_buffers(recurse=False))):
            raise ValueError("CiaoSR needs an encoder whose parameters all live in child modules")
        d_unf = 9 * channels
        d_val = d_unf + (channels * len(cfg.multi_scale) if cfg.non_local else 0)
        hidden = tuple(cfg.hidden)
        self.imnet_q = MLP(d_val, 3, hidden)
        if cfg.ensemble == "attention":
            self.imnet_k = MLP(d_unf + 4, d_unf, hidden)
        else:
            self.imnet_w = MLP(d_unf + 4, 1, hidden)
        self.imnet_v = MLP(d_val + 4, d_val, hidden)
        if cfg.non_local:
            self.cs_attn = CrossScaleAttention(channels, scales=cfg.multi_scale, window=cfg.window)
        for name, module in encoder.named_children():
            self.add_module(name, module)
        object.__setattr__(self, "_encoder", encoder)     # shares the modules above; not a second copy
        self.channels = channels

    @property
    def encoder(self) -> nn.Module:
        """The feature encoder; its modules are this model's top-level ones (not a second copy)."""
        return self._encoder

    @property
    def _key_net(self) -> MLP:
        return self.imnet_k if self.config.ensemble == "attention" else self.imnet_w

    # ------------------------------------------------------------------ encoder side
    def encode(self, x: torch.Tensor, scale_hw=None) -> CiaoSRFeatures:
        feat = self.encoder(x)                                            # [B,C,h,w]
        d_unf = 9 * feat.shape[1]
        value = unfold3x3_rows(feat)                                      # [B,hw,9C] rows of unfold(F)
        w_key, _, b_key = _split_first_layer(self._key_net, d_unf)
        w_val, _, b_val = _split_first_layer(self.imnet_v, self.imnet_v.in_dim - 4)
        # feature parts of the first Linear of φ_v and φ_k side by side: one convolution over F (+ NL(F))
        proj = unfold3x3_linear(feat, torch.cat([w_val[:, :d_unf], w_key]), torch.cat([b_val, b_key]))  # [B,hw,2·hidden0]
        if self.config.non_local:
            nl = pixel_rows(self.cs_attn(feat))                           # [B,hw,C·|s'|]
            value = torch.cat([value, nl], -1)                            # [B,hw,D]
            w_nl = w_val[:, d_unf:]
            proj = proj + F.linear(nl, torch.cat([w_nl, w_nl.new_zeros(w_key.shape[0], w_nl.shape[1])]))
        query = value[..., :d_unf]                                        # [B,hw,9C]
        centres, index_map = lr_grid(feat.shape[-2:], feat)
        f = CiaoSRFeatures(feat, query, value, proj, centres, index_map, x)
        if not self.training and self.config.ensemble == "attention":
            f.pair_proj, f.pair_bias = self._pair_tables(unfold3x3(feat))
        return f

    def _pair_tables(self, unfold: torch.Tensor):
        """Last layer of φ_k folded into the dot product Q·K, per (query pixel p, key pixel p+o).

        Q·(key ⊙ (W h + b)) = [(Q ⊙ key) W]·h + (Q ⊙ key)·b, and the query pixel p and key pixel
        p' = p + o (o ∈ {−1,0,1}², the 4 shifts move less than one LR pixel) take 9 values per
        pixel, so the two brackets are tabulated once per image (eval mode: dense queries).
        """
        b, d, h, w = unfold.shape
        last = self.imnet_k.layers[-1]
        padded = F.pad(unfold, (1, 1, 1, 1))                              # zero keys outside (never used)
        proj, bias = [], []
        for dy, dx in _PAIR_OFFSETS:
            prod = unfold * padded[:, :, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]   # Q_p ⊙ K_{p+o} [B,9C,h,w]
            prod = prod.flatten(2).transpose(1, 2)                        # [B,hw,9C]
            proj.append(prod @ last.weight)                               # [B,hw,hidden]
            bias.append(prod @ last.bias)                                 # [B,hw]
        return torch.stack(proj, 2).view(b, h * w * 9, -1), torch.stack(bias, 2).view(b, h * w * 9)

    # ------------------------------------------------------------------ decoder side
    def query(self, f: CiaoSRFeatures, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """``coord, cell [B,Q,2]`` → ``[B,Q,3]`` (normalised RGB)."""
        weights, pred_v = self._ensemble(f, coord, cell)                               # [B,4,Q], [B,4,Q,D]
        mixed = (weights.unsqueeze(-1) * pred_v).sum(1)                               # [B,Q,D]
        return self.imnet_q(mixed) + sample_bilinear(f.inp, coord)                   # [B,Q,3]

    def ensemble_weights(self, f: CiaoSRFeatures, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Softmax weights of the 4 neighbours per query, ``[B,Q,4]`` (order (−,−), (−,+), (+,−), (+,+))."""
        return self._ensemble(f, coord, cell)[0].permute(0, 2, 1)

    def neighbour_radius(self, cell: torch.Tensor, size) -> tuple[torch.Tensor, torch.Tensor]:
        """The shift radius (r_y, r_x), ``[B]`` each, in normalised units.

        ``"released"``: r_y = (1 − cell_y)/(h − 1) from the first query's cell, as the released code
        computes it. With cell = 2/(s·h) this is r_y = 1/h + (1 − 2/s)/(h(h − 1)): exactly half an LR
        pixel at ×2, a little more above ×2. So at an odd integer scale the HR pixels whose centre is an
        LR centre (1/s of the rows and of the columns) shift past their own pixel on both sides, and
        their 4 neighbours leave out the pixel they lie in (5/9 of the pixels at ×3, less the border rows). Training at
        continuous scales rarely meets such queries; see docs/STATUS.md (CiaoSR at ×3).
        ``"half_pixel"``: r = 1/h, 1/w (LIIF's), a diagnostic for the same weights.
        """
        h, w = size
        if self.config.radius == "half_pixel":
            one = cell.new_ones(cell.shape[0])
            return one / h, one / w
        return 1 / ((h - 1) / (1 - cell[:, 0, 0])), 1 / ((w - 1) / (1 - cell[:, 0, 1]))

    @staticmethod
    def _pair_index(q_idx: torch.Tensor, k_idx: torch.Tensor, w: int) -> torch.Tensor:
        """Row of (query pixel, key pixel) in the pair tables: ``q_idx [B,Q]``, ``k_idx [B,4,Q]`` → ``[B,4Q]``."""
        dy = torch.div(k_idx, w, rounding_mode="floor") - torch.div(q_idx, w, rounding_mode="floor")[:, None]
        dx = k_idx % w - (q_idx % w)[:, None]
        if dy.abs().max() > 1 or dx.abs().max() > 1:
            raise RuntimeError("CiaoSR neighbour more than one LR pixel from the query pixel")
        return (q_idx[:, None] * 9 + (dy + 1) * 3 + (dx + 1)).flatten(1)

    def _ensemble(self, f: CiaoSRFeatures, coord: torch.Tensor, cell: torch.Tensor):
        b, q = coord.shape[:2]
        h, w = f.index_map.shape[-2:]
        d_unf = f.query.shape[-1]
        q_idx = nearest_index(f.index_map, coord)                         # [B,Q] pixel at the unshifted coord

        nb = local_neighbours(coord, cell, f.centres, f.index_map, (h, w), radius=self.neighbour_radius(cell, (h, w)))
        idx, pos = nb.idx, nb.pos                                         # [B,4Q], [B,4,Q,4] [rel, s]
        rows_qk = self.config.ensemble == "attention" and f.pair_proj is None
        if rows_qk:     # the query pixels' rows come with the neighbours' (one gather, one scatter back)
            value, q_rows = gather_rows(f.value, torch.cat([idx, q_idx], 1)).split([4 * q, q], 1)   # [B,4Q|Q,D]
            value = value.view(b, 4, q, -1)                               # [B,4,Q,D]; keys K_k = [..., :9C]
        else:
            value = gather_rows(f.value, idx).view(b, 4, q, -1)          # [B,4,Q,D]

        w_v = _split_first_layer(self.imnet_v, value.shape[-1])[1]
        w_k = _split_first_layer(self._key_net, d_unf)[1]
        pre = first_layer_rows(f.proj, idx, pos, torch.cat([w_v, w_k])).view(b, 4, q, -1)   # [B,4,Q,2·hidden0]
        pre_v, pre_k = pre.split([w_v.shape[0], w_k.shape[0]], -1)        # first layers of φ_v and φ_k
        pred_v = value * _finish_mlp(self.imnet_v, pre_v)                 # [B,4,Q,D]
        if self.config.ensemble == "attention" and f.pair_proj is not None:
            hid = _finish_mlp(self.imnet_k, pre_k, last=False)                      # [B,4,Q,hidden] last hidden of φ_k
            pair = self._pair_index(q_idx, idx.view(b, 4, q), w)          # [B,4Q]
            logits = (gather_rows(f.pair_proj, pair).view(b, 4, q, -1) * hid).sum(-1) \
                + torch.gather(f.pair_bias, 1, pair).view(b, 4, q)        # [B,4,Q]  Q·K_k
        elif self.config.ensemble == "attention":
            # Q·(K_k ⊙ (W h + b)) = [(Q ⊙ K_k) W]·h + (Q ⊙ K_k)·b: the per-row form of the pair tables
            # (whole value rows multiplied; the channels past 9C meet zero weights: exact zeros, no slicing)
            hid = _finish_mlp(self.imnet_k, pre_k, last=False)            # [B,4,Q,hidden] last hidden of φ_k
            qk = value * q_rows.unsqueeze(1)                              # [B,4,Q,D]  Q ⊙ K_k in the first 9C
            last = self.imnet_k.layers[-1]
            a = torch.cat([last.weight.t(), last.bias[None]], 0)          # [hidden+1, 9C]
            proj = F.linear(qk, F.pad(a, (0, value.shape[-1] - d_unf)))   # [B,4,Q,hidden+1]
            logits = (proj[..., :-1] * hid).sum(-1) + proj[..., -1]       # [B,4,Q]  Q·K_k
        else:
            logits = _finish_mlp(self.imnet_w, pre_k).squeeze(-1)         # [B,4,Q]
        weights = (logits / self.config.softmax_scale).softmax(dim=1)     # [B,4,Q]
        return weights, pred_v


# LIIF-style size names accepted for CiaoSR's mmedit encoders
_ALIASES = {"n_resblocks": "num_blocks", "n_feats": "mid_channels", "D": "num_blocks", "C": "num_layers",
            "G": "channel_growth", "G0": "mid_channels"}


def _encoder_for(backbone: str, options: dict):
    """(encoder, channels) for a CiaoSR backbone name: the official mmedit layouts for
    ``edsr-baseline`` and ``rdn``, CiaoSR's SwinIR flavour for ``swinir``, else the registry's backbone."""
    if backbone in ("edsr-baseline", "rdn"):
        args = {_ALIASES.get(k, k): v for k, v in options.items()}
        enc = MMEditEDSR(**args) if backbone == "edsr-baseline" else MMEditRDN(**args)
        return enc, enc.mid_channels
    if backbone == "swinir":
        enc = SwinIR(**{"out_conv": False, **options})
        return enc, enc.out_dim
    enc = make_backbone(backbone, **options)
    channels = getattr(enc, "out_dim", None)
    if channels is None:
        raise ValueError(f"backbone {backbone!r} does not expose out_dim; CiaoSR cannot size its MLPs")
    return enc, channels


@register("ciaosr")
def make_ciaosr(backbone: str = "edsr-baseline", hidden=(256, 256, 256, 256), non_local: bool = True,
                multi_scale=(2,), window: int | None = None, ensemble: str = "attention",
                softmax_scale: float = 1.0, radius: str = "released", **backbone_options) -> CiaoSR:
    """``make("ciaosr", backbone="edsr-baseline"|"rdn"|"swinir"|<registered>, <decoder options>,
    <backbone size options>)``. EDSR/RDN sizes: ``num_blocks``/``mid_channels``/``num_layers``/
    ``channel_growth`` (LIIF names ``n_resblocks``/``n_feats``/``D``/``C``/``G``/``G0`` also accepted);
    SwinIR: ``embed_dim``, ``depths``, ``num_heads``, ``window_size``, ...
    Paper variant of the non-local branch: ``multi_scale=(2, 3, 4), window=256``. ``radius="half_pixel"``
    shifts the 4 neighbours by LIIF's half pixel instead of the released (1 − cell)/(h − 1)."""
    encoder, channels = _encoder_for(backbone, backbone_options)
    config = CiaoSRConfig(tuple(hidden), non_local, tuple(multi_scale), window, ensemble, softmax_scale, radius)
    return CiaoSR(encoder, channels, config)


__all__ = ["CiaoSR", "CiaoSRConfig", "CiaoSRFeatures", "make_ciaosr"]

"""ArbSR: a plug-in module that makes a fixed-scale SR backbone scale-arbitrary
(Wang et al., "Learning a Single Network for Scale-Arbitrary Super-Resolution", ICCV 2021).

Written from the paper's description (Sec. 3, Figs. 3–5; sizes such as the 64 hidden units, the
mask hourglass and the C/8 bottleneck as in the official release). Two parts are plugged
into a backbone with the EDSR layout (``head``, ``body`` = n ResBlocks + a conv,
global residual; ``sr_lib.models.encoders.edsr``):

- **Scale-aware feature adaption** after every ``adapt_every`` ResBlocks
  (Fig. 4): ``x + M(x) · SAConv(x; s_h, s_w)``. ``SAConv`` is a conditional
  convolution: K expert kernels mixed by softmax weights that two FC layers
  predict from the scale pair (1/s_h, 1/s_w); M is a sigmoid mask from a small
  hourglass (conv–BN–ReLU, 2× average pool, two conv–BN–ReLU, bilinear
  upsampling, conv–BN–sigmoid).
- **Scale-aware upsampling** (Fig. 5), a generalised pixel shuffle: for each HR
  pixel, two FC layers embed (1/s_h, 1/s_w, relative coordinate); one head
  predicts a 2-D sampling offset (in LR pixels), another the sigmoid weights of
  K experts of a per-pixel 1×1 "compress (C→C/8) then expand (C/8→C)" filter.
  The LR feature is sampled bilinearly at the back-projected position plus the
  offset, filtered, and added to the sample (residual); a 3×3 conv maps to RGB.

sr_lib conventions and choices (documented departures from the official code):
- one RGB mean (DIV2K) is subtracted inside the network and added back
  (``input_norm = "none"``), images are in [0, 1] (rgb_range 1);
- the decoder follows the grid layout of ``sr_lib.models.base``: the query's
  scale is read from its cell, s = 2 / (cell · (h, w)), the back-projected LR
  position from LIIF's pixel-centre coordinates, and sampling uses
  ``grid.sample_bilinear`` (``align_corners=False``, border padding; the official
  code pads with zeros);
- the mask's pooled branch is upsampled to the exact input size, so odd sizes
  work (the official ×2 upsampling needs even sizes);
- per-sample scales in a batch are supported (grouped convolution).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from sr_lib.models.base import ImplicitSR, _mean
from sr_lib.models.layers.sampling import sample_bilinear
from sr_lib.models.registry import make_backbone, register

# ``floor`` tolerance of the relative coordinate: an HR pixel whose back-projection
# lands within 1e-3 below an LR pixel edge counts as inside the next pixel (official).
_EDGE_EPS = 1e-3


def scale_pairs(scale, batch: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The scale as a ``[B, 2]`` tensor of (s_h, s_w).

    ``scale``: a number or a pair ``(s_h, s_w)`` for the whole batch (each entry a number or a
    ``[B]`` tensor, one scale per sample), or a tensor ``[B]`` / ``[B, 2]`` with one scale per sample.
    """
    if scale is None:
        raise ValueError("ArbSR needs the SR scale: encode(x, scale_hw) with (s_h, s_w) or a float")
    if isinstance(scale, (tuple, list)):
        if len(scale) != 2:
            raise ValueError(f"scale must be a pair (s_h, s_w), got {len(scale)} values")
        sy, sx = (torch.as_tensor(v, dtype=dtype, device=device).reshape(-1) for v in scale)
        n = max(sy.shape[0], sx.shape[0])
        s = torch.stack([sy.expand(n), sx.expand(n)], -1)                   # [n,2]
    elif torch.is_tensor(scale) and scale.dim() > 0:
        s = scale.to(device=device, dtype=dtype)
        s = s.view(-1, 1).expand(-1, 2) if s.dim() == 1 else s              # [B] → symmetric pairs
    else:
        s = torch.as_tensor(scale, dtype=dtype, device=device).expand(2).reshape(1, 2)
    if s.dim() != 2 or s.shape[1] != 2 or s.shape[0] not in (1, batch):
        raise ValueError(f"scale of shape {tuple(s.shape)} does not fit a batch of {batch}")
    return s.expand(batch, 2)


def _kaiming_experts(shape) -> nn.Parameter:
    """K expert weights, each initialised like a default conv/linear weight."""
    w = torch.empty(shape)
    for k in range(shape[0]):
        nn.init.kaiming_uniform_(w[k], a=math.sqrt(5))
    return nn.Parameter(w)


class ScaleAwareConv(nn.Module):
    """Conditional convolution of ArbSR Fig. 4: kernel = Σ_k a_k(1/s_h, 1/s_w) · W_k,
    a = softmax(FC(ReLU(FC(1/s_h, 1/s_w)))). Equal experts reduce it to a plain conv."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3, n_experts: int = 4,
                 hidden: int = 64, bias: bool = False):
        super().__init__()
        self.kernel_size = kernel_size
        self.routing = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(True), nn.Linear(hidden, n_experts),
                                     nn.Softmax(dim=-1))
        self.experts = _kaiming_experts((n_experts, c_out, c_in, kernel_size, kernel_size))
        if bias:
            bound = 1.0 / math.sqrt(c_in * kernel_size * kernel_size)
            self.expert_bias = nn.Parameter(torch.empty(n_experts, c_out).uniform_(-bound, bound))
        else:
            self.register_parameter("expert_bias", None)

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        """``x [B,C_in,h,w]``, ``scales [B,2]`` (s_h, s_w) → ``[B,C_out,h,w]``."""
        b, c, h, w = x.shape
        a = self.routing(1.0 / scales.to(x.dtype))                        # [B,K]
        kernel = torch.einsum("bk,koiyx->boiyx", a, self.experts)          # [B,O,I,k,k]
        bias = None if self.expert_bias is None else (a @ self.expert_bias).reshape(-1)   # [B·O]
        out = F.conv2d(x.reshape(1, b * c, h, w), kernel.reshape(-1, c, self.kernel_size, self.kernel_size),
                       bias, padding=self.kernel_size // 2, groups=b)      # [1,B·O,h,w]
        return out.view(b, -1, h, w)


class ScaleAwareAdaption(nn.Module):
    """Scale-aware feature adaption block (Fig. 4): ``x + mask(x) · SAConv(x; s)``."""

    def __init__(self, channels: int, n_experts: int = 4, mask_channels: int = 16):
        super().__init__()
        m = mask_channels

        def cbr(c_in, c_out, act=True):
            layers = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out)]
            return layers + [nn.ReLU(True)] if act else layers

        self.mask_down = nn.Sequential(*cbr(channels, m), nn.AvgPool2d(2), *cbr(m, m), *cbr(m, m))
        self.mask_out = nn.Sequential(*cbr(m, 1, act=False), nn.Sigmoid())
        self.adapt = ScaleAwareConv(channels, channels, 3, n_experts)

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        m = self.mask_down(x)                                                   # [B,16,h/2,w/2]
        m = F.interpolate(m, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x + self.adapt(x, scales) * self.mask_out(m)                     # mask [B,1,h,w]


class ScaleAwareUpsampler(nn.Module):
    """Scale-aware upsampling layer (Fig. 5) on the grid layout.

    ``forward(feat [B,C,h,w], coord [B,H,W,2], cell [B,2,H,W]) → [B,C,H,W]``.
    """

    def __init__(self, channels: int, n_experts: int = 4, hidden: int = 64, reduction: int = 8):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(True), nn.Linear(hidden, hidden), nn.ReLU(True))
        self.offset = nn.Linear(hidden, 2)
        self.routing = nn.Sequential(nn.Linear(hidden, n_experts), nn.Sigmoid())
        self.compress = _kaiming_experts((n_experts, channels // reduction, channels))
        self.expand = _kaiming_experts((n_experts, channels, channels // reduction))

    @staticmethod
    def lr_position(coord: torch.Tensor, lr_size) -> torch.Tensor:
        """Back-projection of HR pixel centres into LR pixel indices (continuous):
        ``(i + 0.5)/s − 0.5`` for HR pixel i, from LIIF coordinates ``[..., 2]``."""
        size = coord.new_tensor(lr_size)
        return (coord + 1) / 2 * size - 0.5

    @classmethod
    def relative_coordinate(cls, coord: torch.Tensor, lr_size) -> torch.Tensor:
        """Position of each query relative to the centre of the LR pixel containing it,
        in LR pixels, in [-0.5, 0.5) up to the edge tolerance (ArbSR's R(x) − ⌊R(x)⌋ − 0.5)."""
        u = cls.lr_position(coord, lr_size) + 0.5                               # LR edge units
        return u - torch.floor(u + _EDGE_EPS) - 0.5

    def forward(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        b, c, h, w = feat.shape
        H, W = coord.shape[1:3]
        size = coord.new_tensor((h, w))
        inv_scale = cell.permute(0, 2, 3, 1) * size / 2                         # [B,H,W,2] = (1/s_h, 1/s_w)
        rel = self.relative_coordinate(coord, (h, w))                           # [B,H,W,2]
        emb = self.embed(torch.cat([inv_scale, rel], dim=-1))                   # [B,H,W,hidden]
        offset = self.offset(emb)                                               # [B,H,W,2] LR pixels (y, x)
        route = self.routing(emb).reshape(b, H * W, -1)                         # [B,Q,K]

        where = (coord + offset * 2 / size).reshape(b, H * W, 2)
        sampled = sample_bilinear(feat, where)                                  # [B,Q,C]
        # per-pixel filter (Σ_k r_k E_k)(Σ_k r_k C_k) applied without building it
        squeezed = torch.einsum("bqk,kdc,bqc->bqd", route, self.compress, sampled)   # [B,Q,C/8]
        filtered = sum(route[..., k:k + 1] * (squeezed @ self.expand[k].t())
                       for k in range(self.expand.shape[0]))                    # [B,Q,C]
        out = filtered + sampled
        return out.permute(0, 2, 1).reshape(b, c, H, W)


class ArbSR(ImplicitSR):
    """ArbSR around an EDSR-layout backbone (``head``, ``body`` = blocks + conv, ``out_dim``)."""

    input_norm = "none"
    query_layout = "grid"
    needs_scale = True
    min_input_side = 2              # its scale-aware convolutions need two pixels per side

    def __init__(self, backbone: nn.Module, adapt_every: int = 4, n_experts: int = 4, hidden: int = 64):
        super().__init__()
        for attr in ("head", "body", "out_dim"):
            if not hasattr(backbone, attr):
                raise ValueError(f"ArbSR needs an EDSR-layout backbone (head, body, out_dim); missing {attr!r}")
        n_blocks = len(backbone.body) - 1
        if adapt_every < 1 or n_blocks % adapt_every:
            raise ValueError(f"adapt_every={adapt_every} must divide the {n_blocks} backbone blocks")
        c = backbone.out_dim
        self.backbone = backbone
        self.adapt_every = adapt_every
        self.adapt = nn.ModuleList(ScaleAwareAdaption(c, n_experts) for _ in range(n_blocks // adapt_every))
        self.upsample = ScaleAwareUpsampler(c, n_experts, hidden)
        self.tail = nn.Conv2d(c, 3, 3, padding=1)

    @property
    def encoder(self) -> nn.Module:
        """The EDSR-layout backbone (registered as ``backbone``: its state_dict keys stay
        ``backbone.*``); ``feature_blocks()`` are its ResBlocks ``backbone.body.{i}``."""
        return self.backbone

    def encode(self, x: torch.Tensor, scale_hw=None) -> torch.Tensor:
        """LR ``[B,3,h,w]`` in [0,1] and the scale per axis ``scale_hw = (s_h, s_w)`` (asymmetric SR;
        a number, or one scale per sample: ``scale_pairs``) → ``[B,C,h,w]``."""
        scales = scale_pairs(scale_hw, x.shape[0], x.device, x.dtype)        # [B,2]
        head = self.encoder.head(x - _mean(x))
        res = head
        for i, block in enumerate(self.encoder.body[:-1]):
            res = block(res)
            if (i + 1) % self.adapt_every == 0:
                res = self.adapt[i // self.adapt_every](res, scales)
        return self.encoder.body[-1](res) + head

    def query(self, feat: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """Grid layout: ``coord [B,H,W,2]``, ``cell [B,2,H,W]`` → RGB ``[B,3,H,W]`` (mean added back)."""
        out = self.tail(self.upsample(feat, coord, cell))
        return out + _mean(out)


@register("arbsr")
def arbsr(backbone: str = "edsr-baseline", adapt_every: int = 4, n_experts: int = 4, hidden: int = 64,
          **backbone_options) -> ArbSR:
    """``make("arbsr", backbone="edsr-baseline", n_resblocks=16, n_feats=64, adapt_every=4)``;
    options other than ArbSR's own go to the backbone builder.

    ``adapt_every=4`` (4 adaption blocks on EDSR-baseline's 16 ResBlocks) is our choice;
    the official ArbRCAN adapts after each of its 10 residual groups. K = 4 experts and
    64 hidden units in the FC layers are the official values."""
    return ArbSR(make_backbone(backbone, **backbone_options), adapt_every, n_experts, hidden)


__all__ = ["ArbSR", "ScaleAwareConv", "ScaleAwareAdaption", "ScaleAwareUpsampler", "scale_pairs"]

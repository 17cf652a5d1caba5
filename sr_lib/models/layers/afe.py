"""Adaptive Feature Extractor (AFE) of EQSR: a scale-modulated convolution block.

EQSR supplement §2.1, Algorithm 1, as released (``ModMBConv`` in neuralchen/EQSR,
spec ``reference-implementations.md`` §6.1):

1. the scale code c is expanded by the sine-cosine encoding (``sincos_encoding``,
   dim = 40 frequencies) to r' = [c, sin(2^i·π·c/10), cos(2^i·π·c/10)]_{i<40}
   (81 values);
2. a linear map gives the per-input-channel scale vector v = F(r') (``to_style``);
3. the kernel basis W is modulated, W' = W·(v + 1), and demodulated
   StyleGAN2-style, W' ← W'·rsqrt(Σ_{in,k,k} W'² + 1e-8);
4. W' is convolved with the features (one grouped conv, one group per sample).

Algorithm 1 adds a bias in step 5; the released ``Conv2DMod`` has none, and we
follow the release (its state_dict has no ``net2.bias``).

The AFE block wraps the modulated conv as the release does (hidden = C, no
expansion):

    x ← Conv1×1(x)
    x ← x + ModConv3×3(GELU(LN(x)); r')
    x ← x + Conv1×1(SE(GELU(LN(x))))

LN is a LayerNorm over channels; SE = spatial mean → Linear C→C/4 (no bias) →
SiLU → Linear C/4→C (no bias) → sigmoid → channel gating.

**The scale code.** The released network reads c = ``cell[:,0,0,0]`` = 2/H_hr, the
HR *height of the queried image*: 2/round(48·s) on 48×48 training patches, but
2/H_hr of the whole image at test time, so the same s gives different codes
(``reference-implementations.md`` §6.1, pitfall 8). ``EQSR`` offers both this
code and a size-independent one; see ``sr_lib.models.eqsr.scale_code``.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SCALE_FREQUENCIES = 40                       # "dim" of Algorithm 1
SCALE_CODE_DIM = 1 + 2 * SCALE_FREQUENCIES   # 81


def sincos_encoding(x: torch.Tensor, n_freq: int = SCALE_FREQUENCIES, dim: int = 1) -> torch.Tensor:
    """EQSR's sine-cosine encoding along ``dim``: [x, sin_0, cos_0, sin_1, cos_1, ...].

    ``sin_i = sin(((2**i)·π·x)/10)`` (same for cos), each block holding all ``x.shape[dim]``
    channels, so ``D`` channels become ``D·(1 + 2·n_freq)``. The operation order
    (``(2**i)·π`` first, then ``·x``, then ``/10``) is the released one; it matters
    because the highest frequency 2^39·π/10 amplifies every rounding difference
    (refvec README §6).
    """
    parts = [x]
    for i in range(n_freq):
        phase = (2 ** i) * math.pi * x / 10
        parts += [torch.sin(phase), torch.cos(phase)]
    return torch.cat(parts, dim=dim)


class ModulatedConv2d(nn.Module):
    """StyleGAN2-style modulated/demodulated conv without bias (release's ``Conv2DMod``).

    ``weight [C_out, C_in, k, k]`` is the kernel basis W; ``to_style`` maps the
    81-value scale encoding to v ∈ R^{C_in}; per sample W' = W·(v+1), then demodulated.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, style_dim: int = SCALE_CODE_DIM,
                 demod: bool = True, eps: float = 1e-8):
        super().__init__()
        self.out_ch, self.demod, self.eps, self.padding = out_ch, demod, eps, kernel // 2
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, kernel, kernel))
        self.to_style = nn.Linear(style_dim, in_ch)
        nn.init.kaiming_normal_(self.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")

    def modulated_weight(self, style: torch.Tensor) -> torch.Tensor:
        """Per-sample kernels ``[B, C_out, C_in, k, k]`` for ``style [B, 81]``."""
        v = self.to_style(style)[:, None, :, None, None]          # [B,1,Cin,1,1]
        w = self.weight[None] * (v + 1)                            # [B,Cout,Cin,k,k]
        if self.demod:
            w = w * torch.rsqrt((w ** 2).sum(dim=(2, 3, 4), keepdim=True) + self.eps)
        return w

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        weight = self.modulated_weight(style)                      # [B,Cout,Cin,k,k]
        out = F.conv2d(x.reshape(1, -1, h, w), weight.reshape(b * self.out_ch, *weight.shape[2:]),
                       padding=self.padding, groups=b)             # [1,B*Cout,h,w]
        return out.reshape(b, self.out_ch, h, w)


class SpatialMean(nn.Module):
    """``[B,C,H,W] → [B,C]`` mean over space."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class SqueezeExcitation(nn.Module):
    """Channel gating x·σ(W2·SiLU(W1·mean(x))) (no biases; hidden = C·shrinkage)."""

    def __init__(self, dim: int, shrinkage: float = 0.25):
        super().__init__()
        hidden = int(dim * shrinkage)
        self.gate = nn.Sequential(SpatialMean(), nn.Linear(dim, hidden, bias=False), nn.SiLU(),
                                  nn.Linear(hidden, dim, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)[:, :, None, None]


class ChannelsLastLayerNorm(nn.LayerNorm):
    """``nn.LayerNorm`` over the channels of a ``[B,C,H,W]`` map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class AFE(nn.Module):
    """Adaptive Feature Extractor block (release ``ModMBConv``): ``[B,C,H,W]`` → ``[B,C,H,W]``.

    Submodule names follow the release so state_dicts load strictly.
    """

    def __init__(self, dim: int, shrinkage: float = 0.25):
        super().__init__()
        self.net1 = nn.Conv2d(dim, dim, 1)
        self.norm1 = nn.Sequential(ChannelsLastLayerNorm(dim), nn.GELU())
        self.net2 = ModulatedConv2d(dim, dim, 3)
        self.norm2 = nn.Sequential(ChannelsLastLayerNorm(dim), nn.GELU())
        self.net3 = nn.Sequential(SqueezeExcitation(dim, shrinkage), nn.Conv2d(dim, dim, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``x [B,C,H,W]``, ``style [B,81]`` (the encoded scale code)."""
        x = self.net1(x)
        x = x + self.net2(self.norm1(x), style)
        return x + self.net3(self.norm2(x))


__all__ = ["SCALE_FREQUENCIES", "SCALE_CODE_DIM", "sincos_encoding", "ModulatedConv2d",
           "SqueezeExcitation", "ChannelsLastLayerNorm", "AFE"]

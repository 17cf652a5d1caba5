"""Neural kriging upsampler of EQSR (the released ``DSF`` module).

Kriging predicts ẑ₀ = Σᵢ λᵢ zᵢ over a neighbourhood; EQSR neuralises the weights
as a product of a data-dependent kernel K_data (scale independent) and a
distance kernel K_scale (poster §3, ``methods-notes.md`` §4). Released design
(``reference-implementations.md`` §6.2, refvec README §4.6), all on the **HR
query grid** ``coord [B,H,W,2]`` (y, x):

1. q_feat = LR feature of the nearest LR pixel; its centre q_c (nearest
   ``grid_sample`` at the unshifted coordinate).
2. rel = (q − q_c)·(w, h) in (x, y) order (one LR pixel = 2 units), encoded by
   ``sincos_encoding`` (40 frequencies → 2 + 160 = 162 channels).
3. head: Conv1×1(C + 162 → 256) + ReLU → ``skip``.
4. two involution transformer blocks (each followed by ReLU), whose 3×3 kernels
   over neighbouring HR queries are
       K = K_data ⊙ K_scale,
   K_data from the features (``Involution.seblock``, per pixel and per group of
   8 channels), K_scale = exp(−½·d²/ℓ²) with d the distance between the query
   and the LR centre assigned to each 3×3 HR neighbour (zero-padded unfold of
   the centre map, so off-grid neighbours sit at (0, 0)), ℓ learnable (init 3),
   shared by both blocks; no normalisation to sum 1.
   FFN: Conv1×1 → GELU → Conv1×1 → ECA, where ECA multiplies by the raw 1-D conv
   of the global channel means (the release comments out the sigmoid).
5. rgb = Conv1×1(ReLU(res + skip)) (the caller adds the RGB mean back).

The involution (a CuPy kernel in the release) is computed here with plain tensor
ops: out[n,c,y,x] = Σ_{ky,kx} K[n, c // (C/G), ky, kx, y, x] · x₀[n, c, y+ky−1, x+kx−1]
with x₀ zero-padded, summed in the release's (ky, kx) order. It runs on CPU and CUDA.

Because of the 3×3 mixing and the global pooling of ECA, the outputs of
different queries are **not** independent: the decoder must see a whole grid
(``query_layout = "grid"``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from sr_lib.models.layers.afe import sincos_encoding
from sr_lib.geometry import make_coord

PE_FREQUENCIES = 40
PE_DIM = 2 * (1 + 2 * PE_FREQUENCIES)      # 162


def involution(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-pixel grouped k×k filtering with zero padding (stride 1).

    ``x [B,C,H,W]``, ``kernel [B,G,k,k,H,W]`` (channel c uses group c // (C/G)) → ``[B,C,H,W]``.
    Equivalent to unfolding ``x`` and taking the kernel-weighted sum of the k² taps;
    the taps are accumulated one by one in (ky, kx) order, as the release's CUDA kernel does.
    """
    b, c, h, w = x.shape
    g, k = kernel.shape[1], kernel.shape[2]
    xp = F.pad(x, (k // 2,) * 4).view(b, g, c // g, h + k - 1, w + k - 1)
    out = x.new_zeros(b, g, c // g, h, w)
    for ky in range(k):
        for kx in range(k):
            out.addcmul_(kernel[:, :, None, ky, kx], xp[..., ky:ky + h, kx:kx + w])
    return out.view(b, c, h, w)


class RBF(nn.Module):
    """K_scale(d²) = exp(−½·d²/ℓ²) with a learnable length-scale ℓ (0-d, init 3.0)."""

    def __init__(self, lengthscale: float = 3.0):
        super().__init__()
        self.lengthscale = nn.Parameter(torch.tensor(lengthscale))

    def forward(self, d2: torch.Tensor) -> torch.Tensor:
        return torch.exp(d2 / self.lengthscale ** 2 * -0.5)


class WithBiasLayerNorm(nn.Module):
    """LayerNorm over the last axis, (x − μ)/√(σ² + 1e-5)·w + b (release's ``WithBias_LayerNorm``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias


class MapLayerNorm(nn.Module):
    """``WithBiasLayerNorm`` over the channels of ``[B,C,H,W]`` (kept as ``.body`` for the keys)."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = WithBiasLayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Involution(nn.Module):
    """Data kernel K_data (conv3×3 C→C/4, ReLU, conv1×1 → k²·G) times K_scale, then ``involution``."""

    def __init__(self, dim: int, kernel: int = 3, group_channels: int = 8, reduction: int = 4):
        super().__init__()
        self.k, self.groups = kernel, dim // group_channels
        self.seblock = nn.Sequential(nn.Conv2d(dim, dim // reduction, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(dim // reduction, kernel ** 2 * self.groups, 1))

    def data_kernel(self, x: torch.Tensor) -> torch.Tensor:
        """K_data ``[B,G,k,k,H,W]``."""
        b, _, h, w = x.shape
        return self.seblock(x).view(b, self.groups, self.k, self.k, h, w)

    def forward(self, x: torch.Tensor, k_scale: torch.Tensor) -> torch.Tensor:
        """``x [B,C,H,W]``, ``k_scale [B,1,k,k,H,W]``."""
        return involution(x, self.data_kernel(x) * k_scale)


class ECA(nn.Module):
    """Efficient channel attention as released: x · Conv1d_k(mean_hw(x)), **no sigmoid**."""

    def __init__(self, channels: int, gamma: int = 2, b: int = 1):
        super().__init__()
        k = int(abs(math.log(channels, 2) + b) / gamma)
        k = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.mean(dim=(2, 3))                                     # [B,C]
        y = self.conv(y.unsqueeze(1)).squeeze(1)                   # [B,C]
        return x * y[:, :, None, None]


class FeedForward(nn.Module):
    """Conv1×1 (C → 2·hidden) → GELU → Conv1×1 → ECA."""

    def __init__(self, dim: int, expansion: float = 1.0):
        super().__init__()
        hidden = int(dim * expansion)
        self.conv1 = nn.Conv2d(dim, hidden * 2, 1)
        self.conv2 = nn.Conv2d(hidden * 2, dim, 1)
        self.CA = ECA(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.CA(self.conv2(F.gelu(self.conv1(x))))


class InvolutionBlock(nn.Module):
    """x ← x + conv2(Invo(conv1(LN(x)), K_scale)); x ← x + FFN(LN(x))."""

    def __init__(self, dim: int, kernel: int = 3):
        super().__init__()
        self.norm1 = MapLayerNorm(dim)
        self.attn = Involution(dim, kernel)
        self.norm2 = MapLayerNorm(dim)
        self.ffn = FeedForward(dim)
        self.conv1 = nn.Conv2d(dim, dim, 1)
        self.conv2 = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor, k_scale: torch.Tensor) -> torch.Tensor:
        x = x + self.conv2(self.attn(self.conv1(self.norm1(x)), k_scale))
        return x + self.ffn(self.norm2(x))


@dataclass
class KrigingWeights:
    """Kriging weights of one HR pixel: 3×3 maps over its HR neighbours, per involution block.

    ``data[i]`` is K_data of block i ``[G,3,3]`` (one kernel per channel group),
    ``distance`` is K_scale ``[3,3]`` (shared by the blocks), ``product[i] = data[i]·distance``.
    """
    data: list
    distance: torch.Tensor
    product: list


class KrigingUpsampler(nn.Module):
    """The released ``DSF`` decoder: LR features + HR query grid → RGB residual ``[B,3,H,W]``."""

    def __init__(self, in_dim: int, latent_dim: int = 256, n_freq: int = PE_FREQUENCIES):
        super().__init__()
        if latent_dim < 8 or latent_dim % 8:
            raise ValueError(f"latent_dim must be a positive multiple of 8 (involution groups of 8), got {latent_dim}")
        self.n_freq = n_freq
        self.head = nn.Sequential(nn.Conv2d(in_dim + 2 * (1 + 2 * n_freq), latent_dim, 1), nn.ReLU())
        self.inv1 = InvolutionBlock(latent_dim)
        self.inv2 = InvolutionBlock(latent_dim)
        self.to_rgb = nn.Sequential(nn.ReLU(), nn.Conv2d(latent_dim, 3, 1))
        self.rbf1 = RBF()

    def prepare(self, feat: torch.Tensor, coord: torch.Tensor):
        """Nearest latents, encoded relative coordinates and K_scale of a query grid.

        ``feat [B,C,h,w]``, ``coord [B,H,W,2]`` (y, x). Returns ``q_feat [B,C,H,W]``,
        ``pe [B,162,H,W]``, ``d2 [B,1,3,3,H,W]`` (squared distance, LR units ×(w,h)).
        """
        b, _, h, w = feat.shape
        grid = coord.flip(-1)                                                   # [B,H,W,2] (x,y)
        centres = make_coord((h, w), flatten=False, dtype=feat.dtype, device=feat.device)
        centres = centres.flip(-1).permute(2, 0, 1).unsqueeze(0).expand(b, 2, h, w)  # [B,2,h,w] (x,y)
        q_feat = F.grid_sample(feat, grid, mode="nearest", align_corners=False)        # [B,C,H,W]
        q_centre = F.grid_sample(centres, grid, mode="nearest", align_corners=False)   # [B,2,H,W]
        hq, wq = q_centre.shape[-2:]
        units = torch.tensor([w, h], dtype=feat.dtype, device=feat.device).view(1, 2, 1, 1)
        q = grid.permute(0, 3, 1, 2)                                            # [B,2,H,W]
        rel = (q - q_centre) * units
        neighbours = F.unfold(q_centre, 3, padding=1).view(b, 2, 9, hq, wq)     # zero padded
        d = (neighbours - q.unsqueeze(2)) * units.unsqueeze(2)                  # [B,2,9,H,W]
        d2 = (d ** 2).sum(dim=1, keepdim=True).view(b, 1, 3, 3, hq, wq)
        return q_feat, sincos_encoding(rel, self.n_freq, dim=1), d2

    def forward(self, feat: torch.Tensor, coord: torch.Tensor) -> torch.Tensor:
        q_feat, pe, d2 = self.prepare(feat, coord)
        k_scale = self.rbf1(d2)                                                 # [B,1,3,3,H,W]
        skip = self.head(torch.cat([q_feat, pe], dim=1))                        # [B,256,H,W]
        res = F.relu(self.inv1(skip, k_scale))
        res = F.relu(self.inv2(res, k_scale))
        return self.to_rgb(res + skip)                                          # [B,3,H,W]

    @torch.no_grad()
    def kriging_weights(self, feat: torch.Tensor, coord: torch.Tensor, yx) -> KrigingWeights:
        """The kriging weights used at HR pixel ``yx = (row, col)`` of sample 0.

        Runs the decoder on the whole grid (the kernels depend on the features of
        the neighbourhood, which depend on the grid) and returns K_data, K_scale and
        their product at that pixel for both involution blocks.
        """
        y, x = yx
        q_feat, pe, d2 = self.prepare(feat, coord)
        k_scale = self.rbf1(d2)
        skip = self.head(torch.cat([q_feat, pe], dim=1))
        data, inp = [], skip
        for block in (self.inv1, self.inv2):
            data.append(block.attn.data_kernel(block.conv1(block.norm1(inp)))[0, :, :, :, y, x])
            inp = F.relu(block(inp, k_scale))
        dist = k_scale[0, 0, :, :, y, x]
        return KrigingWeights(data=data, distance=dist, product=[k * dist for k in data])


__all__ = ["involution", "RBF", "WithBiasLayerNorm", "Involution", "ECA", "InvolutionBlock",
           "KrigingUpsampler", "KrigingWeights", "PE_DIM"]

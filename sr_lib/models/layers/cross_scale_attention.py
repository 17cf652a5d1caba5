"""Cross-scale non-local attention (CSNLN, Mei et al. CVPR 2020) as CiaoSR uses it.

CiaoSR's "scale-aware non-local attention" (paper Eq. 7–8) feeds the values of
its implicit attention. Spec ``reference-implementations.md`` §5.2 describes the
released module; for one downscale factor s' it computes

1. reflect-pad F to a multiple of s' (bottom/right);
2. Q̃ = PReLU(conv1×1(F)) (C→C/2, ``conv_match_1``), Ṽ = PReLU(conv1×1(F))
   (C→C, ``conv_assembly``), K̃ = PReLU(conv1×1(F↓s')) (C→C/2, ``conv_match_2``)
   with F↓s' = bilinear ``interpolate(scale_factor=1/s')``;
3. every 3×3 patch of K̃ (zero 'same' padding) is L2-normalised (norm floored at
   ``escape_NaN`` = float32(1e-4)) and correlated with every 3×3 window of Q̃:
   a softmax over **all** reference positions (×``softmax_scale`` = 10);
4. the weights reconstruct an s'-times larger map from the raw (3s')×(3s')
   patches of Ṽ (transposed conv, stride s', padding s');
5. a strided 3×3 conv φ (``down`` / ``downx3`` / ``downx4``) brings it back to
   the LR size; divide by 6; crop to H×W.

Steps 4–5 are computed in the other order (φ on each patch, then one product;
``_down_of_transposed_conv``): the same sums, 16·C instead of 9s'²·C values per
reference patch.

Outputs of the factors in ``scales`` are concatenated: ``[B, C·len(scales), H, W]``.

Released code vs paper (spec §5.2):
- **released** (default, what official checkpoints expect): ``scales=(2,)`` and a
  *global* search over the whole feature map;
- **paper** (§3 text: "s' can be {2,3,4}" and "search ... in a small window
  (e.g. 256×256)"): ``scales=(2, 3, 4)``, ``window=256``. The window is our
  reading of that sentence [derived]: the feature map is cut into non-overlapping
  ``window×window`` tiles and each tile is searched globally on its own (cost
  O(window⁴) per tile instead of O((HW)²); a remainder shorter than half a window joins
  the previous tile).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

_DOWN_NAMES = {2: "down", 3: "downx3", 4: "downx4"}


class ConvPReLU(nn.Sequential):
    """1×1 conv followed by a single-slope PReLU (keys ``0.weight/0.bias/1.weight``)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 1), nn.PReLU())


def same_pad(x: torch.Tensor, ksize: int, stride: int) -> torch.Tensor:
    """Zero-pad like TensorFlow 'SAME' for a ``ksize`` window moving by ``stride`` (extra pixel bottom/right)."""
    pads = []
    for n in x.shape[-2:]:
        out = (n + stride - 1) // stride
        total = max(0, (out - 1) * stride + ksize - n)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom))


def patches(x: torch.Tensor, ksize: int, stride: int) -> torch.Tensor:
    """'SAME'-padded sliding patches: ``[B,C,H,W] → [B,L,C,k,k]`` (L row-major over patch positions)."""
    b, c = x.shape[:2]
    cols = F.unfold(same_pad(x, ksize, stride), ksize, stride=stride)      # [B, C·k·k, L]
    return cols.view(b, c, ksize, ksize, -1).permute(0, 4, 1, 2, 3)


def _tile_edges(n: int, window: int) -> list[int]:
    """Edges of non-overlapping tiles of ``window`` px along an axis of ``n`` px; a last tile shorter
    than half a window is merged into the previous one (so every tile can be reflect-padded)."""
    edges = list(range(0, n, window)) + [n]
    if len(edges) > 2 and edges[-1] - edges[-2] < window // 2:
        del edges[-2]
    return edges


def _softmax_in_place(x: torch.Tensor, scale: float, blocks: int = 8) -> torch.Tensor:
    """``softmax(x · scale, dim=1)`` written into ``x`` in ``blocks`` slabs of rows: peak memory is one
    [1, L, H, W] map plus one slab (instead of three maps: the input, the product and the softmax).
    A fixed number of slabs keeps the operator sequence independent of the size (``sr_lib.engine.memory``)."""
    x.mul_(scale)
    rows = -(-x.shape[2] // blocks)
    for r0 in range(0, x.shape[2], rows):
        block = x[:, :, r0:r0 + rows]
        block.copy_(F.softmax(block, dim=1))
    return x


def _transposed_conv(attn: torch.Tensor, kernels: torch.Tensor, s: int) -> torch.Tensor:
    """``conv_transpose2d(attn, kernels, stride=s, padding=s)`` as one matrix product + ``fold``.

    ``attn [1,L,H,W]``, ``kernels [L,C,k,k]`` (k = 3s): each output patch is Σ_l attn_l · kernel_l,
    i.e. [C·k·k, L] @ [L, H·W], overlap-added with stride s and cropped by s per side. Same sums as the
    library's transposed convolution, in another order; runs at matrix-product speed for large L.
    """
    _, n_ref, h, w = attn.shape
    c, k = kernels.shape[1], kernels.shape[-1]
    cols = kernels.reshape(n_ref, c * k * k).t() @ attn.reshape(n_ref, h * w)        # [C·k·k, H·W]
    full = F.fold(cols.unsqueeze(0), ((h - 1) * s + k, (w - 1) * s + k), k, stride=s)  # [1,C,(H+2)s,(W+2)s]
    return full[..., s:s + h * s, s:s + w * s]


def _down_of_transposed_conv(attn: torch.Tensor, kernels: torch.Tensor, down: nn.Conv2d, s: int) -> torch.Tensor:
    """``down(conv_transpose2d(attn, kernels, stride=s, padding=s))`` without the s-times larger map.

    ``attn [1,L,H,W]``, ``kernels [L,C,3s,3s]``, ``down`` the 3×3 stride-s conv (padding 1) → ``[1,C,H,W]``.
    Both maps are linear, so the strided conv can be applied to every reference patch first: output
    pixel i' reads the larger map at s·i'+t−1 (t ∈ {0,1,2}), which lies in the patches of the
    4×4 pixels i = i'−δ, δ ∈ {−1,0,1,2}², at offset s(δ+1)+t−1. With
    U_l[:, δ+1] = Σ_t W_t V_l[s(δ+1)+t−1] (a stride-s conv of the patch padded by 1 and 2)
    the result is Σ_δ Σ_l attn(i'−δ, l) U_l[:, δ+1] + b: a product with 16·C columns instead of
    the transposed convolution's 9s²·C (36·C at s' = 2), and no s²-times larger map.
    The one place where the two orders differ is the first output row and column, whose tap t = 0
    reads the strided conv's zero padding, not the cropped-away border of the larger map; they
    are recomputed the direct way from the first two rows / columns of ``attn``.
    """
    u = F.conv2d(F.pad(kernels, (1, 2, 1, 2)), down.weight, stride=s)       # [L,C,4,4]
    out = _transposed_conv(attn, u, 1) + down.bias.view(1, -1, 1, 1)        # [1,C,H,W]
    out[:, :, :1] = down(_transposed_conv(attn[:, :, :2], kernels, s))[:, :, :1]
    out[:, :, :, :1] = down(_transposed_conv(attn[:, :, :, :2], kernels, s))[:, :, :, :1]
    return out


class CrossScaleAttention(nn.Module):
    """Scale-aware cross-scale non-local attention; see the module docstring.

    Args:
        channels: C of the feature map.
        scales: downscale factors s' (each in {2, 3, 4}); released CiaoSR: ``(2,)``.
        window: None = global search (released); an int = tile size of the paper's windowed search.
        reduction, ksize, softmax_scale: CSNLN's 2, 3 and 10.
    """

    def __init__(self, channels: int = 64, scales=(2,), window: int | None = None, reduction: int = 2,
                 ksize: int = 3, softmax_scale: float = 10.0):
        super().__init__()
        scales = tuple(int(s) for s in scales)
        if not scales or any(s not in _DOWN_NAMES for s in scales):
            raise ValueError(f"cross-scale attention scales must be in {{2, 3, 4}}, got {scales}")
        if window is not None and window < max(scales) * 2:
            raise ValueError(f"window {window} is too small for scales {scales}")
        self.scales, self.window = scales, window
        self.ksize, self.softmax_scale = ksize, softmax_scale
        self.register_buffer("escape_NaN", torch.tensor([1e-4], dtype=torch.float32))
        self.conv_match_1 = ConvPReLU(channels, channels // reduction)
        self.conv_match_2 = ConvPReLU(channels, channels // reduction)
        self.conv_assembly = ConvPReLU(channels, channels)
        # official registration order: downx3, downx4 (if used), then down (always present)
        for s in (3, 4):
            if s in scales:
                self.add_module(_DOWN_NAMES[s], nn.Conv2d(channels, channels, ksize, s, 1))
        self.down = nn.Conv2d(channels, channels, ksize, 2, 1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """``[B,C,H,W] → [B, C·len(scales), H, W]``."""
        if self.window is None:
            return self._attend(feat)
        ys, xs = (_tile_edges(n, self.window) for n in feat.shape[-2:])
        rows = []
        for y0, y1 in zip(ys[:-1], ys[1:]):
            row = [self._attend(feat[..., y0:y1, x0:x1]) for x0, x1 in zip(xs[:-1], xs[1:])]
            rows.append(torch.cat(row, dim=-1))
        return torch.cat(rows, dim=-2)

    def _attend(self, feat: torch.Tensor) -> torch.Tensor:
        return torch.cat([self._attend_one_scale(feat, s) for s in self.scales], dim=1)

    def _attend_one_scale(self, feat: torch.Tensor, s: int) -> torch.Tensor:
        h, w = feat.shape[-2:]
        x = F.pad(feat, (0, (-w) % s, 0, (-h) % s), mode="reflect")        # [B,C,Hp,Wp]
        hp, wp = x.shape[-2:]
        embed = self.conv_assembly(x)                                     # Ṽ [B,C,Hp,Wp]
        match = self.conv_match_1(x)                                      # Q̃ [B,C/2,Hp,Wp]
        raw = patches(embed, s * self.ksize, s)                           # [B,L,C,3s,3s]
        ref = self.conv_match_2(F.interpolate(x, scale_factor=1.0 / s, mode="bilinear"))  # K̃ [B,C/2,hs,ws]
        keys = patches(ref, self.ksize, 1)                                # [B,L,C/2,3,3]
        n_ref = ref.shape[-2] * ref.shape[-1]
        down = getattr(self, _DOWN_NAMES[s])
        out = []
        for qi, ki, vi in zip(match, keys, raw):                          # one image at a time
            norm = ki.pow(2).sum(3, keepdim=True).sum(2, keepdim=True).sum(1, keepdim=True).sqrt()
            ki = ki / torch.max(norm, self.escape_NaN)                    # L2-normalised reference patches
            cols = F.unfold(same_pad(qi[None], self.ksize, 1), self.ksize)  # [1,9C/2,Hp·Wp]
            corr = ki.reshape(n_ref, -1) @ cols[0]                        # [L,Hp·Wp] = conv2d(Q̃, K̂) as one product
            attn = _softmax_in_place(corr.view(1, n_ref, hp, wp), self.softmax_scale)
            out.append(_down_of_transposed_conv(attn, vi, down, s) / 6.0)  # [1,C,Hp,Wp]
        return torch.cat(out, dim=0)[:, :, :h, :w]


__all__ = ["CrossScaleAttention", "same_pad", "patches"]

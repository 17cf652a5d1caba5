"""SwinIR encoder (Liang et al., ICCVW 2021) as used by LTE and CiaoSR (spec §2).

Shallow conv → residual Swin Transformer blocks (RSTB: shifted-window attention
blocks + conv + skip) → LayerNorm → conv + global skip, at LR resolution. Two
flavours of the official code:

- ``out_conv=True`` (LTE, ``upsampler='none'``): + ``conv_before_upsample``
  (conv embed→64, LeakyReLU); the reflect padding to a multiple of the window is
  **not** cropped, so features are ``[B,64,⌈h/ws⌉ws,⌈w/ws⌉ws]``.
- ``out_conv=False`` (CiaoSR): ``embed_dim``-d features cropped back to ``h×w``.

``input_window`` is the LR side multiple a caller must pad to (``sr_lib.engine.inference``): the
window for the uncropped flavour (its padded features would otherwise be read as image content,
LTE ``test.py --window 8``), 0 for the cropped one.

State_dict keys, order and shapes are the official ones (``conv_first``,
``patch_embed.norm``, ``layers.{i}.residual_group.blocks.{j}.{attn_mask,norm1,attn.*,
norm2,mlp.*}``, ``layers.{i}.conv``, ``norm``, ``conv_after_body``,
``conv_before_upsample.0``). ``attn_mask`` buffers are the masks of ``img_size``;
the forward recomputes them for the actual size (as the official code does).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from sr_lib.models.layers.window_ops import (init_transformer_weights, reflect_pad_to_multiple, relative_position_index,
                                      shifted_window_mask, window_partition, window_reverse, hard_window_mask)
from sr_lib.models.registry import register_backbone


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside ws×ws windows with a learned relative position bias."""

    def __init__(self, dim: int, ws: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.ws, self.num_heads = ws, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(ws))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        nn.init.normal_(self.relative_position_bias_table, std=0.02)   # = trunc_normal_(std=.02), see init_transformer_weights

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x [B*nW, N, C]``, ``mask [nW, N, N]`` (0 / −100) → ``[B*nW, N, C]``."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                               # [B*nW, heads, N, d]
        attn = (q * self.scale) @ k.transpose(-2, -1)                  # [B*nW, heads, N, N]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    """LN → (shifted) window attention → skip; LN → MLP → skip. Tokens ``[B, H*W, C]``."""

    def __init__(self, dim: int, resolution: int, num_heads: int, ws: int, shift: int,
                 mlp_ratio: float, qkv_bias: bool, drop_path: float):
        super().__init__()
        if resolution <= ws:            # the window covers the whole (training) image: no shift
            ws, shift = resolution, 0
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = shifted_window_mask(resolution, resolution, ws, shift).clone() if shift > 0 else None
        self.register_buffer("attn_mask", mask)

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        h, w = size
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if self.shift > 0:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        mask = (hard_window_mask(shifted_window_mask(h, w, self.ws, self.shift, dtype=x.dtype, device=x.device))
                if self.shift > 0 else None)                             # masked weights exactly 0 (no denormals)
        win = window_partition(y, self.ws).view(-1, self.ws * self.ws, c)   # [B*nW, N, C]
        win = self.attn(win, mask).view(-1, self.ws, self.ws, c)
        y = window_reverse(win, self.ws, h, w)                               # [B,H,W,C]
        if self.shift > 0:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    def __init__(self, blocks: Sequence[nn.Module]):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, size):
        for block in self.blocks:
            x = block(x, size)
        return x


class RSTB(nn.Module):
    """Residual Swin Transformer block: blocks → conv (on the image layout) → + input."""

    def __init__(self, dim: int, blocks: Sequence[nn.Module], resi_connection: str = "1conv"):
        super().__init__()
        self.residual_group = BasicLayer(blocks)
        if resi_connection == "1conv":
            self.conv = nn.Conv2d(dim, dim, 3, padding=1)
        elif resi_connection == "3conv":
            self.conv = nn.Sequential(
                nn.Conv2d(dim, dim // 4, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(dim // 4, dim // 4, 1), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(dim // 4, dim, 3, padding=1))
        else:
            raise ValueError(f"resi_connection must be '1conv' or '3conv', not {resi_connection!r}")

    def forward(self, x, size):
        y = tokens_to_image(self.residual_group(x, size), size)
        return image_to_tokens(self.conv(y)) + x


def image_to_tokens(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)                              # [B,C,H,W] → [B,HW,C]


def tokens_to_image(x: torch.Tensor, size) -> torch.Tensor:
    b, _, c = x.shape
    return x.transpose(1, 2).reshape(b, c, *size)                    # [B,HW,C] → [B,C,H,W]


class PatchEmbedNorm(nn.Module):
    """SwinIR's ``patch_embed`` with patch size 1: tokens + LayerNorm (key ``patch_embed.norm``)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(image_to_tokens(x))


class SwinIR(nn.Module):
    def __init__(self, img_size: int = 48, in_chans: int = 3, embed_dim: int = 180,
                 depths: Sequence[int] = (6,) * 6, num_heads: Sequence[int] = (6,) * 6, window_size: int = 8,
                 mlp_ratio: float = 2.0, qkv_bias: bool = True, drop_path_rate: float = 0.1,
                 resi_connection: str = "1conv", out_conv: bool = True, out_dim: int = 64,
                 crop: bool | None = None):
        super().__init__()
        self.window_size = window_size
        self.crop = (not out_conv) if crop is None else crop
        self.input_window = 0 if self.crop else window_size      # caller-side padding (module docstring)
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, padding=1)
        self.patch_embed = PatchEmbedNorm(embed_dim)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        layers, k = [], 0
        for depth, heads in zip(depths, num_heads):
            blocks = [SwinBlock(embed_dim, img_size, heads, window_size, 0 if j % 2 == 0 else window_size // 2,
                                mlp_ratio, qkv_bias, rates[k + j]) for j in range(depth)]
            layers.append(RSTB(embed_dim, blocks, resi_connection))
            k += depth
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, padding=1)
        if out_conv:
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, out_dim, 3, padding=1),
                                                      nn.LeakyReLU(inplace=True))
        self.out_dim = out_dim if out_conv else embed_dim
        self.apply(init_transformer_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        t = self.patch_embed(x)                                       # [B,HW,C]
        for layer in self.layers:
            t = layer(t, size)
        return tokens_to_image(self.norm(t), size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B,3,h,w]`` → features (see the module docstring for size and width)."""
        h, w = x.shape[-2:]
        ws = self.window_size
        x, _ = reflect_pad_to_multiple(x, ws)              # repeated reflection when the image is tiny
        x = self.conv_first(x)
        x = self.conv_after_body(self.forward_features(x)) + x
        if hasattr(self, "conv_before_upsample"):
            x = self.conv_before_upsample(x)
        return x[..., :h, :w] if self.crop else x

    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """The residual Swin transformer blocks ``layers.{i}`` (token outputs ``[B,H·W,C]`` on the
        padded grid; ``engine.features`` maps them back with their ``size`` input): what CKA compares."""
        return [(f"layers.{i}", layer) for i, layer in enumerate(self.layers)]


@register_backbone("swinir")
def swinir(embed_dim: int = 180, depths: Sequence[int] = (6,) * 6, num_heads: Sequence[int] | None = None,
           window_size: int = 8, mlp_ratio: float = 2.0, out_conv: bool = True, **options) -> SwinIR:
    """SwinIR encoder; LTE flavour by default (``out_conv=False``: CiaoSR flavour)."""
    heads = (6,) * len(depths) if num_heads is None else num_heads
    return SwinIR(embed_dim=embed_dim, depths=depths, num_heads=heads, window_size=window_size,
                  mlp_ratio=mlp_ratio, out_conv=out_conv, **options)


__all__ = ["SwinIR", "SwinBlock", "WindowAttention", "RSTB", "DropPath"]

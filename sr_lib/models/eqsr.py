"""EQSR (Wang et al., CVPR 2023): the EQNet backbone and the EQSR method.

Released design (neuralchen/EQSR ``hat_ModMBFormer_Sim_arch.py``, class ``EQSR``;
spec ``reference-implementations.md`` §6.1, refvec README §4.6):

    x − mean → conv_first (3→C) → tokens, LayerNorm ("patch_embed.norm")
      → G groups, each:  AFE  →  (B−1) window self-attention blocks
                          (window 16, shift 8 on odd blocks)  →  one overlapping
                          cross-attention block (OCAB, key/value windows 16·1.5 = 24)
                          → conv3×3 → + group input
      → LayerNorm → conv_after_body → + conv_first output      (the LR features)
      → neural kriging upsampler at the HR query grid  → + mean   (``kriging.py``)

HAT's conv branch (CAB) is commented out in the release, so the window blocks are
plain Swin blocks. The input is reflect-padded (bottom/right) to a multiple of the
window and the features are cropped back before the upsampler. ``afe=False`` gives
the HAT-style backbone without AFE used for the CKA comparison (supplement §3).

Supplement Table 1 (G groups, B "WSAs per group"; B = the config's ``depths`` entry,
i.e. B−1 window blocks + 1 OCAB): ``EQNET_TABLE1``; Model IV is the released model.

**Scale code** (``scale_code``): the AFE blocks are conditioned on a scalar c.
- ``"released"`` (default): c = cell_y = 2/H_hr of the queried HR image, exactly what
  the release reads (``cell[:,0,0,0]``). On 48×48 training patches this is
  2/round(48·s); on a whole test image it is 2/round(h·s), so it depends on the
  image size and not only on s (spec §6.1, pitfall 8).
- ``"scale"``: c = 2/(48·s), the training-patch value for every image size (a
  function of s alone; equal to the released code on 48-pixel training patches up
  to the rounding of 48·s).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from sr_lib.models.layers.afe import AFE, SCALE_FREQUENCIES, sincos_encoding
from sr_lib.models.base import ImplicitSR, _mean
from sr_lib.models.layers.kriging import KrigingUpsampler
from sr_lib.models.layers.window_ops import (hard_window_mask, init_transformer_weights, reflect_pad_to_multiple,
                                      relative_position_index, shifted_window_mask, window_partition, window_reverse)
from sr_lib.models.registry import register, register_backbone

# Supplement Table 1: model → (groups G, WSAs per group B).
EQNET_TABLE1 = {"I": (4, 4), "II": (4, 5), "III": (5, 5), "IV": (6, 5), "V": (6, 6)}
SCALE_CODES = ("released", "scale")
TRAIN_LR_SIZE = 48          # LR patch side of EQSR training (spec §6.3)


@dataclass
class EQNetConfig:
    embed_dim: int = 180
    depths: tuple = (5, 5, 5, 5, 5, 5)     # per group: 1 AFE + (d−1) window blocks + 1 OCAB
    num_heads: tuple = (6, 6, 6, 6, 6, 6)
    window_size: int = 16
    overlap_ratio: float = 0.5
    mlp_ratio: float = 2.0
    afe: bool = True
    drop_path_rate: float = 0.1            # stochastic depth (training only)
    in_chans: int = 3


def overlap_relative_position_index(ws: int, ows: int) -> torch.Tensor:
    """``[ws², ows²]`` int64 index into OCAB's ``[(ws+ows−1)², heads]`` bias table.

    Query i at (yi, xi) in the ws-window, key j at (yj, xj) in the ows-window (which
    starts (ows−ws)/2 earlier): index = (yj−yi+ws−ows+1)·(ws+ows−1) + (xj−xi+ws−ows+1),
    HAT's formula. Its offset ws−ows+1 makes part of the indices negative (−880..640 for
    16/24); indexing wraps them around, and the ws+ows−1 = 39 offsets per axis still map
    one-to-one onto the (ws+ows−1)² table rows, so we keep the released buffer as is.
    """
    q = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    k = torch.stack(torch.meshgrid(torch.arange(ows), torch.arange(ows), indexing="ij")).flatten(1)
    rel = (k[:, None, :] - q[:, :, None]).permute(1, 2, 0) + (ws - ows + 1)   # [ws²,ows²,2]
    return rel[..., 0] * (ws + ows - 1) + rel[..., 1]


def drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth: drop the residual branch per sample with probability ``p``."""
    if p == 0.0 or not training:
        return x
    keep = (torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device) >= p)
    return x * keep / (1 - p)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside ws×ws windows with a relative position bias."""

    def __init__(self, dim: int, ws: int, heads: int):
        super().__init__()
        self.ws, self.heads, self.scale = ws, heads, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, rpi: torch.Tensor, mask=None) -> torch.Tensor:
        """``x [B·nW, N, C]`` (N = ws²), ``mask [nW, N, N]`` or None."""
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]                 # [B·nW,h,N,d]
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[rpi.view(-1)].view(n, n, -1).permute(2, 0, 1)   # [h,N,N]
        if mask is None:
            attn = attn + bias.contiguous().unsqueeze(0)
        else:   # bias and mask summed first (small), so the big map is added to once
            nw = mask.shape[0]
            bias = bias.unsqueeze(0) + mask.unsqueeze(1)                 # [nW,h,N,N]
            attn = (attn.view(bw // nw, nw, self.heads, n, n) + bias.unsqueeze(0)).view(-1, self.heads, n, n)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(bw, n, c)
        return self.proj(out)


class WindowBlock(nn.Module):
    """Swin block (HAT's HAB without its commented-out conv branch): (S)W-MSA + MLP."""

    def __init__(self, dim: int, heads: int, ws: int, shift: int, mlp_ratio: float, drop_path: float):
        super().__init__()
        self.ws, self.shift, self.drop_path = ws, shift, drop_path
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, hw, rpi: torch.Tensor) -> torch.Tensor:
        """``x [B, h·w, C]`` tokens of an ``hw`` map (multiples of ws)."""
        h, w = hw
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        mask = None
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
            mask = hard_window_mask(shifted_window_mask(h, w, self.ws, self.shift, dtype=x.dtype, device=x.device))
        win = window_partition(y, self.ws).view(-1, self.ws * self.ws, c)      # [B·nW,N,C]
        win = self.attn(win, rpi, mask).view(-1, self.ws, self.ws, c)
        y = window_reverse(win, self.ws, h, w)                                  # [B,h,w,C]
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + drop_path(y.view(b, h * w, c), self.drop_path, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class OverlapCrossAttention(nn.Module):
    """HAT's OCAB: queries in ws×ws windows attend to keys/values in overlapping
    ows×ows windows (ows = ws + ws·overlap, zero-padded at the borders), then MLP."""

    def __init__(self, dim: int, heads: int, ws: int, overlap_ratio: float, mlp_ratio: float):
        super().__init__()
        self.ws, self.heads, self.scale = ws, heads, (dim // heads) ** -0.5
        self.ows = int(ws * overlap_ratio) + ws
        self.relative_position_bias_table = nn.Parameter(torch.zeros((ws + self.ows - 1) ** 2, heads))
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, hw, rpi: torch.Tensor) -> torch.Tensor:
        h, w = hw
        b, _, c = x.shape
        ws, ows, nh, d = self.ws, self.ows, self.heads, c // self.heads
        qkv = self.qkv(self.norm1(x).view(b, h, w, c)).reshape(b, h, w, 3, c).permute(3, 0, 4, 1, 2)
        q = window_partition(qkv[0].permute(0, 2, 3, 1), ws).view(-1, ws * ws, c)  # [B·nW,ws²,C]
        kv = F.unfold(torch.cat((qkv[1], qkv[2]), dim=1), ows, stride=ws, padding=(ows - ws) // 2)
        nw = kv.shape[-1]
        kv = kv.view(b, 2, c, ows * ows, nw).permute(1, 0, 4, 3, 2).reshape(2, b * nw, ows * ows, c)
        q = q.reshape(b * nw, ws * ws, nh, d).permute(0, 2, 1, 3) * self.scale
        k = kv[0].reshape(b * nw, ows * ows, nh, d).permute(0, 2, 1, 3)
        v = kv[1].reshape(b * nw, ows * ows, nh, d).permute(0, 2, 1, 3)
        attn = q @ k.transpose(-2, -1)                                          # [B·nW,h,ws²,ows²]
        bias = self.relative_position_bias_table[rpi.view(-1)].view(ws * ws, ows * ows, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b * nw, ws * ws, c)
        out = window_reverse(out.view(-1, ws, ws, c), ws, h, w).view(b, h * w, c)
        x = self.proj(out) + x
        return x + self.mlp(self.norm2(x))


def _to_map(x: torch.Tensor, hw) -> torch.Tensor:
    """Tokens ``[B, h·w, C]`` → map ``[B,C,h,w]``."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], *hw)


def _to_tokens(x: torch.Tensor) -> torch.Tensor:
    """Map ``[B,C,h,w]`` → tokens ``[B, h·w, C]``."""
    return x.flatten(2).transpose(1, 2)


class GroupBlocks(nn.Module):
    """AFE → window blocks → OCAB (release ``AttenBlocks``)."""

    def __init__(self, cfg: EQNetConfig, depth: int, heads: int, drop_paths):
        super().__init__()
        dim, ws = cfg.embed_dim, cfg.window_size
        if cfg.afe:
            self.mbconv = AFE(dim)
        self.blocks = nn.ModuleList(
            WindowBlock(dim, heads, ws, 0 if i % 2 == 0 else ws // 2, cfg.mlp_ratio, drop_paths[i])
            for i in range(depth - 1))
        self.overlap_attn = OverlapCrossAttention(dim, heads, ws, cfg.overlap_ratio, cfg.mlp_ratio)

    def forward(self, x, hw, style, rpi_sa, rpi_oca):
        if hasattr(self, "mbconv"):
            x = _to_tokens(self.mbconv(_to_map(x, hw), style))
        for blk in self.blocks:
            x = blk(x, hw, rpi_sa)
        return self.overlap_attn(x, hw, rpi_oca)


class Group(nn.Module):
    """One EQNet group (release ``RHAG``): blocks → conv3×3 → + input."""

    def __init__(self, cfg: EQNetConfig, depth: int, heads: int, drop_paths):
        super().__init__()
        self.residual_group = GroupBlocks(cfg, depth, heads, drop_paths)
        self.conv = nn.Conv2d(cfg.embed_dim, cfg.embed_dim, 3, 1, 1)

    def forward(self, x, hw, style, rpi_sa, rpi_oca):
        y = self.residual_group(x, hw, style, rpi_sa, rpi_oca)
        return _to_tokens(self.conv(_to_map(y, hw))) + x


class TokenEmbed(nn.Module):
    """``[B,C,h,w]`` → tokens ``[B,h·w,C]`` + LayerNorm (release ``patch_embed`` with patch size 1)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(_to_tokens(x))


class EQNet(nn.Module):
    """EQSR's feature extractor: normalised LR ``[B,3,h,w]`` (+ encoded scale code) → ``[B,C,h,w]``."""

    def __init__(self, cfg: EQNetConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or EQNetConfig()
        ws, dim = cfg.window_size, cfg.embed_dim
        self.out_dim = dim
        ows = int(ws * cfg.overlap_ratio) + ws
        self.register_buffer("relative_position_index_SA", relative_position_index(ws))
        self.register_buffer("relative_position_index_OCA", overlap_relative_position_index(ws, ows))
        self.conv_first = nn.Conv2d(cfg.in_chans, dim, 3, 1, 1)
        self.patch_embed = TokenEmbed(dim)
        dpr = torch.linspace(0, cfg.drop_path_rate, sum(cfg.depths), device="cpu").tolist()
        starts = [sum(cfg.depths[:i]) for i in range(len(cfg.depths))]
        self.layers = nn.ModuleList(Group(cfg, d, h, dpr[s:s + d])
                                    for d, h, s in zip(cfg.depths, cfg.num_heads, starts))
        self.norm = nn.LayerNorm(dim)
        self.conv_after_body = nn.Conv2d(dim, dim, 3, 1, 1)
        self.apply(init_transformer_weights)

    # the modules of the feature extractor (EQSR adds its upsampler beside them)
    ENCODER_MODULES = ("conv_first", "patch_embed", "layers", "norm", "conv_after_body")

    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of every attention layer in order (window blocks and OCABs),
        whose token outputs ``[B,h·w,C]`` are the per-layer features of the CKA analysis."""
        return [(n, m) for n, m in self.named_modules()
                if isinstance(m, (WindowBlock, OverlapCrossAttention))]

    def forward(self, x: torch.Tensor, style=None, mod_pad=None) -> torch.Tensor:
        """``x [B,3,h,w]`` normalised (mean subtracted); ``style [B,81]`` = encoded scale code
        (required with AFE). ``mod_pad=None`` pads to a multiple of the window and crops back;
        ``mod_pad=(ph, pw)`` means ``x`` is already padded by that much (as the release is called)."""
        if self.cfg.afe and style is None:
            raise ValueError("EQNet with AFE needs the encoded scale code (style)")
        if mod_pad is None:
            x, mod_pad = reflect_pad_to_multiple(x, self.cfg.window_size)
        hw = tuple(x.shape[-2:])
        shallow = self.conv_first(x)                                            # [B,C,H,W]
        t = self.patch_embed(shallow)                                           # [B,HW,C]
        for layer in self.layers:
            t = layer(t, hw, style, self.relative_position_index_SA, self.relative_position_index_OCA)
        deep = _to_map(self.norm(t), hw)
        out = self.conv_after_body(deep) + shallow
        return out[:, :, :hw[0] - mod_pad[0], :hw[1] - mod_pad[1]]


class EQNetEncoder(nn.Module):
    """The EQNet part of an ``EQSR`` as a module of its own (``EQSR.encoder``): the owner's
    modules, shared and not registered a second time (the official state_dict keys are
    top-level). ``forward`` is ``EQNet.forward`` on the owner, which holds the buffers."""

    def __init__(self, owner: EQNet):
        super().__init__()
        object.__setattr__(self, "_owner", owner)         # unregistered: no cycle, no extra keys
        self.training = owner.training
        self.out_dim = owner.out_dim
        for name in EQNet.ENCODER_MODULES:
            self.add_module(name, getattr(owner, name))

    def forward(self, x: torch.Tensor, style=None, mod_pad=None) -> torch.Tensor:
        return EQNet.forward(self._owner, x, style, mod_pad)

    feature_blocks = EQNet.feature_blocks


class EQSR(EQNet, ImplicitSR):
    """EQNet + neural kriging upsampler. Takes plain [0,1] images (``input_norm = "none"``)
    and returns images; queries are whole HR grids (``query_layout = "grid"``).
    EQSR *is* an EQNet (the official top-level keys); ``encoder`` is that part as a module."""

    min_input_side = 2              # reflect padding to its window
    input_norm = "none"
    query_layout = "grid"
    needs_scale = True

    def __init__(self, cfg: EQNetConfig | None = None, scale_code: str = "released", latent_dim: int = 256):
        if scale_code not in SCALE_CODES:
            raise ValueError(f"scale_code must be one of {SCALE_CODES}, got {scale_code!r}")
        super().__init__(cfg)
        self.scale_code_mode = scale_code
        self.upsample = KrigingUpsampler(self.cfg.embed_dim, latent_dim)

    @property
    def encoder(self) -> EQNetEncoder:
        """The feature extractor (EQNet's modules of this model, made into a module per access)."""
        return EQNetEncoder(self)

    # -- the scale code --
    def scale_code(self, lr_h: int, scale, batch: int = 1, dtype=torch.float32, device=None) -> torch.Tensor:
        """c ``[B]`` from the vertical scale s_y: 2/round(h·s_y) ("released", = 2/H_hr as the release
        reads it off the cell) or 2/(48·s_y) ("scale")."""
        s = torch.as_tensor(scale, dtype=dtype, device=device).reshape(-1).expand(batch)
        if self.scale_code_mode == "released":
            return 2.0 / torch.round(lr_h * s)
        return 2.0 / (TRAIN_LR_SIZE * s)

    def encode_with_code(self, x: torch.Tensor, code: torch.Tensor, mod_pad=None) -> torch.Tensor:
        """Image ``[B,3,h,w]`` in [0,1] + scale code ``[B]`` → LR features ``[B,C,h,w]``."""
        style = sincos_encoding(code.unsqueeze(-1), SCALE_FREQUENCIES, dim=1) if self.cfg.afe else None
        return EQNet.forward(self, x - _mean(x), style, mod_pad)

    # -- ImplicitSR interface --
    def encode(self, x: torch.Tensor, scale_hw=None) -> torch.Tensor:
        """Image ``[B,3,h,w]`` in [0,1] and the scale per axis ``scale_hw = (s_y, s_x)`` (or one
        number) → LR features ``[B,C,h,w]``. The code reads s_y only, as the release reads
        the cell's vertical size."""
        if scale_hw is None and self.cfg.afe:
            raise ValueError("EQSR.encode needs the scale (the AFE blocks are scale-conditioned)")
        s_y = scale_hw[0] if isinstance(scale_hw, (tuple, list)) else scale_hw
        code = self.scale_code(x.shape[-2], scale=1.0 if s_y is None else s_y, batch=x.shape[0],
                               dtype=x.dtype, device=x.device)
        return self.encode_with_code(x, code)

    def query(self, feat: torch.Tensor, coord: torch.Tensor, cell=None) -> torch.Tensor:
        """``coord [B,H,W,2]`` (y, x) → image ``[B,3,H,W]``; ``cell`` is not used by the decoder."""
        return self.upsample(feat, coord) + _mean(feat)

    # EQNet.forward comes first in the MRO; the method's call is the contract's query(encode(x, scale), ...)
    forward = ImplicitSR.forward

    def kriging_weights(self, feat, coord, yx):
        """K_data, K_scale and their product at HR pixel ``yx`` (see ``KrigingUpsampler``)."""
        return self.upsample.kriging_weights(feat, coord, yx)


def _config(groups=6, blocks=5, embed_dim=180, num_heads=6, window_size=16, overlap_ratio=0.5,
            mlp_ratio=2.0, afe=True, drop_path_rate=0.1, depths=None) -> EQNetConfig:
    depths = tuple(depths) if depths is not None else (blocks,) * groups
    heads = tuple(num_heads) if isinstance(num_heads, (list, tuple)) else (num_heads,) * len(depths)
    if len(heads) != len(depths):
        raise ValueError(f"num_heads has {len(heads)} entries for {len(depths)} groups")
    if min(depths) < 1:
        raise ValueError(f"every group needs depth >= 1 (the OCAB), got depths={depths}")
    return EQNetConfig(embed_dim=embed_dim, depths=depths, num_heads=heads, window_size=window_size,
                       overlap_ratio=overlap_ratio, mlp_ratio=mlp_ratio, afe=afe,
                       drop_path_rate=drop_path_rate)


@register_backbone("eqnet")
def build_eqnet(**options) -> EQNet:
    """EQNet features (``afe=False``: the HAT-style backbone). Options as ``make("eqsr")``."""
    return EQNet(_config(**options))


@register("eqsr")
def build_eqsr(backbone: str = "eqnet", scale_code: str = "released", latent_dim: int = 256,
               **options) -> EQSR:
    """EQSR. Options: ``groups`` G, ``blocks`` B (or ``depths``), ``embed_dim``, ``num_heads``,
    ``window_size``, ``overlap_ratio``, ``mlp_ratio``, ``afe``, ``drop_path_rate``,
    ``scale_code`` ('released' | 'scale'), ``latent_dim`` (kriging upsampler width, a
    multiple of 8). Defaults = the released model (Table 1, Model IV)."""
    if backbone != "eqnet":
        raise ValueError(f"eqsr is defined on its own backbone 'eqnet', got backbone={backbone!r}")
    return EQSR(_config(**options), scale_code=scale_code, latent_dim=latent_dim)


__all__ = ["EQNet", "EQNetEncoder", "EQSR", "EQNetConfig", "EQNET_TABLE1", "overlap_relative_position_index",
           "build_eqsr", "build_eqnet"]

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

from functools import lru_cache

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


def _overlap_add(kcols: torch.Tensor, attn: torch.Tensor, k: int, s: int) -> torch.Tensor:
    """Σ_l attn_l · kernel_l overlap-added with stride s, uncropped: ``kcols [B|1, C·k·k, L]`` (column l =
    kernel l, rows (c, i, j)), ``attn [B,L,H,W]`` → ``[B,C,(H−1)s+k,(W−1)s+k]`` (one batched product + fold)."""
    b, n_ref, h, w = attn.shape
    cols = kcols @ attn.reshape(b, n_ref, h * w)                            # [B,C·k·k,H·W]
    return F.fold(cols, ((h - 1) * s + k, (w - 1) * s + k), k, stride=s)


def _kernel_columns(kernels: torch.Tensor, n_ref: int) -> torch.Tensor:
    """``[B,L,C,k,k]`` or ``[L,C,k,k]`` → ``[B|1, C·k·k, L]``."""
    c, k = kernels.shape[-3], kernels.shape[-1]
    return kernels.reshape(-1, n_ref, c * k * k).transpose(1, 2)


def _transposed_conv(attn: torch.Tensor, kernels: torch.Tensor, s: int) -> torch.Tensor:
    """``conv_transpose2d(attn, kernels, stride=s, padding=s)`` image by image, as one batched matrix
    product + ``fold``.

    ``attn [B,L,H,W]``, ``kernels [B,L,C,k,k]`` (each image its own; k = 3s) or ``[L,C,k,k]`` (shared):
    each output patch is Σ_l attn_l · kernel_l, i.e. [C·k·k, L] @ [L, H·W], overlap-added with stride s
    and cropped by s per side. Same sums as the library's transposed convolution, in another order;
    runs at matrix-product speed for large L.
    """
    h, w, k = attn.shape[-2], attn.shape[-1], kernels.shape[-1]
    full = _overlap_add(_kernel_columns(kernels, attn.shape[1]), attn, k, s)   # [B,C,(H+2)s,(W+2)s]
    return full[..., s:s + h * s, s:s + w * s]


def _tap_subsets(t: torch.Tensor, dim: int) -> tuple:
    """Sums over the taps {1,2}, {0,1,2} and {0} of the size-3 dimension ``dim``: the taps of the
    strided conv that stay inside a (3s)-patch padded by 1 and 2, at its outputs 0, 1–2 and 3."""
    t0, t1, t2 = t.unbind(dim)
    inner = t1 + t2
    return inner, inner + t0, t0


def _patch_down_tables(embed_pad: torch.Tensor, weight: torch.Tensor, s: int):
    """The tables ``_down_of_transposed`` needs when the kernels are the (3s)² patches at stride s of
    ``embed_pad [B,C,Hq,Wq]`` (those of ``patches``), computed from the map without the patches:
    U ``[B,L,O,4,4]``, the row and column corrections R, Cc ``[B,L,O,4]`` and the corner ``[B,L,O]``
    (``_down_of_transposed_conv`` defines them).

    U_l[a, b] = Σ_t W_t V_l[s·a+t_y−1, s·b+t_x−1] and V_l is the window of ``embed_pad`` at (s·l_y, s·l_x),
    so U_l[a, b] = Σ_{t ∈ T(a)×T(b)} W_t E[s(l_y+a)+t_y−1, s(l_x+b)+t_x−1]: each tap's 1×1 product on the
    s-strided map E (C·O per pixel of a map s² times smaller than ``embed_pad``), summed over the taps
    that fall inside the patch: T(0) = {1,2}, T(1) = T(2) = {0,1,2}, T(3) = {0} (s ≥ 2). R, Cc and the
    corner are the same sums restricted to the taps t_y = 0 / t_x = 0 at patch row / column s−1.
    """
    b, c, hq, wq = embed_pad.shape
    o, k = weight.shape[0], 3 * s
    n_ly, n_lx = (hq - k) // s + 1, (wq - k) // s + 1
    taps = F.unfold(F.pad(embed_pad, (1, s, 1, s)), 3, stride=s)           # [B,C·9,(n_ly+3)(n_lx+3)]
    per_tap = torch.einsum("oct,bctn->bton", weight.reshape(o, c, 9), taps.view(b, c, 9, -1))   # [B,9,O,N]
    per_tap = per_tap.reshape(b, 3, 3, o, n_ly + 3, n_lx + 3)
    g = [_tap_subsets(rows, 1) for rows in _tap_subsets(per_tap, 1)]        # g[T(a)][T(b)]: [B,O,n_ly+3,n_lx+3]
    maps = torch.stack([g[i][j] for i in range(3) for j in range(3)], -1).view(b, o, -1)   # [B,O,(p,q,kind)]
    n_ref = n_ly * n_lx
    u = _pick(maps, _table_index(n_ly, n_lx, "u", embed_pad.device)).view(b, n_ref, o, 4, 4)
    rest = _pick(maps, _table_index(n_ly, n_lx, "rest", embed_pad.device))                 # [B,L,O,9]
    return u, rest[..., :4], rest[..., 4:8], rest[..., 8]


def _pick(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``maps [B,O,M]`` at ``index [L,E]`` → ``[B,L,O,E]`` (one gather; one scatter back in backward)."""
    b, o = maps.shape[:2]
    return maps.index_select(2, index.view(-1)).view(b, o, *index.shape).permute(0, 2, 1, 3).contiguous()


@lru_cache(maxsize=32)
def _table_index(n_ly: int, n_lx: int, which: str, device) -> torch.Tensor:
    """Where the entries of ``_patch_down_tables``'s tables sit in its stacked kind maps (flat (p, q, kind)
    index, maps of (n_ly+3)×(n_lx+3)): ``[L,16]`` for U (entry (a, b): kind (T(a), T(b)) at (l_y+a, l_x+b)),
    ``[L,9]`` for R (t_y = 0 at (l_y+1, l_x+b)), Cc (t_x = 0 at (l_y+a, l_x+1)) and the corner."""
    kind = (0, 1, 1, 2)
    if which == "u":
        entries = [(kind[a] * 3 + kind[c], a, c) for a in range(4) for c in range(4)]
    else:
        entries = ([(2 * 3 + kind[c], 1, c) for c in range(4)] + [(kind[a] * 3 + 2, a, 1) for a in range(4)]
                   + [(2 * 3 + 2, 1, 1)])
    ly = torch.arange(n_ly).view(-1, 1, 1)
    lx = torch.arange(n_lx).view(1, -1, 1)
    k, dy, dx = (torch.tensor(v).view(1, 1, -1) for v in zip(*entries))
    index = ((ly + dy) * (n_lx + 3) + (lx + dx)) * 9 + k                     # [n_ly,n_lx,E]
    return index.view(n_ly * n_lx, -1).to(device)


def _line_overlap_add(tab: torch.Tensor, line: torch.Tensor) -> torch.Tensor:
    """Σ_b Σ_l line(x+1−b, l)·tab_l[:, b]: ``tab [B,L,O,4]``, ``line [B,L,n]`` → ``[B,O,n]`` (the 1-D
    analogue of the main product: one batched product and an overlap-add of 4 taps)."""
    b, n_ref, o, _ = tab.shape
    n = line.shape[-1]
    cols = tab.expand(b, -1, -1, -1).reshape(b, n_ref, o * 4).transpose(1, 2) @ line     # [B,O·4,n]
    return F.fold(cols, (1, n + 3), (1, 4))[:, :, 0, 1:1 + n]


def _down_of_transposed(attn: torch.Tensor, u: torch.Tensor, r: torch.Tensor, cc: torch.Tensor,
                        corner: torch.Tensor, down: nn.Conv2d, s: int) -> torch.Tensor:
    """``_down_of_transposed_conv`` given its tables U ``[B,L,O,4,4]``, R, Cc ``[B,L,O,4]`` and the corner
    ``[B,L,O]`` (``_patch_down_tables``); ``attn [B,L,H,W]`` → ``[B,O,H,W]``."""
    b, n_ref, h, w = attn.shape
    o = down.weight.shape[0]
    # Σ_δ Σ_l attn(i'−δ, l) U_l[:, δ+1]: a transposed 4×4 convolution with L input channels, per image
    if torch.is_grad_enabled() and (attn.requires_grad or u.requires_grad):
        # training sizes: one grouped transposed convolution (fastest forward + backward)
        out = F.conv_transpose2d(attn.reshape(1, b * n_ref, h, w),
                                 u.expand(b, -1, -1, -1, -1).reshape(b * n_ref, o, 4, 4),
                                 groups=b, padding=1).view(b, o, h + 1, w + 1)[..., :h, :w]
    else:
        # inference: one product + fold (the convolution would reorder the L×H×W map: a second copy of it)
        out = _overlap_add(_kernel_columns(u, n_ref), attn, 4, 1)[..., 1:1 + h, 1:1 + w]
    out = out + down.bias.view(1, -1, 1, 1)
    out[:, :, 0] -= _line_overlap_add(r, attn[:, :, 0, :])                  # first row: taps t_y = 0 off
    out[:, :, :, 0] -= _line_overlap_add(cc, attn[:, :, :, 0])              # first column: taps t_x = 0 off
    out[:, :, 0, 0] += (corner.expand(b, -1, -1) * attn[:, :, 0, :1]).sum(1)   # corner: subtracted twice
    return out


def _down_of_transposed_conv(attn: torch.Tensor, kernels: torch.Tensor, down: nn.Conv2d, s: int) -> torch.Tensor:
    """``down(conv_transpose2d(attn, kernels, stride=s, padding=s))`` without the s-times larger map.

    ``attn [B,L,H,W]``, ``kernels [B,L,C,3s,3s]`` (or ``[L,C,3s,3s]`` shared by the batch), ``down`` the
    3×3 stride-s conv (padding 1, weight W) → ``[B,C,H,W]``.
    Both maps are linear, so the strided conv can be applied to every reference patch first: output
    pixel i' reads the larger map at s·i'+t−1 (t ∈ {0,1,2}), which lies in the patches of the
    4×4 pixels i = i'−δ, δ ∈ {−1,0,1,2}², at offset s(δ+1)+t−1. With
    U_l[:, δ+1] = Σ_t W_t V_l[s(δ+1)+t−1] (a stride-s conv of the patch padded by 1 and 2)
    the result is Σ_δ Σ_l attn(i'−δ, l) U_l[:, δ+1] + b: 16·C weights per reference patch instead
    of the transposed convolution's 9s²·C (36·C at s' = 2), and no s²-times larger map.
    The one place where the two orders differ is the first output row and column, whose tap t = 0
    reads the cropped-away row (column) −1 of the larger map instead of the strided conv's zero
    padding. Only attention row 0 and kernel row s−1 reach that row, so the excess is
    Σ_b Σ_l attn(0, x'+1−b, l) R_l[:, b] with R_l[:, b] = Σ_{t_x} W_{0,t_x} V_l[s−1, s·b+t_x−1] (likewise
    the column with Cc); it is subtracted, and the corner W_00 V_l[s−1, s−1], subtracted twice, added
    back once. The cross-scale attention's kernels are patches of one map: ``_patch_down_tables``
    gets these tables from that map directly.
    """
    n_ref, c, k = kernels.shape[-4], kernels.shape[-3], kernels.shape[-1]
    kern = kernels.reshape(-1, n_ref, c, k, k)
    nb, weight = kern.shape[0], down.weight
    flat = kern.reshape(-1, c, k, k)
    u = F.conv2d(F.pad(flat, (1, 2, 1, 2)), weight, stride=s).view(nb, n_ref, -1, 4, 4)       # [B,L,O,4,4]
    r = F.conv2d(F.pad(flat[:, :, s - 1:s], (1, 2)), weight[:, :, :1], stride=(1, s))      # [B·L,O,1,4]
    cc = F.conv2d(F.pad(flat[..., s - 1:s], (0, 0, 1, 2)), weight[..., :1], stride=(s, 1))  # [B·L,O,4,1]
    corner = F.linear(flat[:, :, s - 1, s - 1], weight[:, :, 0, 0])                       # [B·L,O]
    return _down_of_transposed(attn, u, r.view(nb, n_ref, -1, 4), cc.view(nb, n_ref, -1, 4),
                               corner.view(nb, n_ref, -1), down, s)


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
        down = getattr(self, _DOWN_NAMES[s])
        tables = _patch_down_tables(same_pad(embed, s * self.ksize, s), down.weight, s)   # of Ṽ's (3s)² patches
        ref = self.conv_match_2(F.interpolate(x, scale_factor=1.0 / s, mode="bilinear"))  # K̃ [B,C/2,hs,ws]
        keys = patches(ref, self.ksize, 1)                                # [B,L,C/2,3,3]
        n_ref = ref.shape[-2] * ref.shape[-1]
        norm = keys.pow(2).sum(4, keepdim=True).sum(3, keepdim=True).sum(2, keepdim=True).sqrt()
        keys = keys / torch.max(norm, self.escape_NaN)                    # L2-normalised reference patches
        padded = same_pad(match, self.ksize, 1)
        if torch.is_grad_enabled() and any(t.requires_grad for t in (padded, keys, tables[0])):
            # autograd: the whole batch at once, the correlation as a convolution per image (groups)
            b = x.shape[0]
            corr = F.conv2d(padded.reshape(1, -1, *padded.shape[-2:]), keys.reshape(b * n_ref, *keys.shape[2:]),
                            groups=b).view(b, n_ref, hp, wp)             # [B,L,Hp,Wp] = conv2d(Q̃, K̂)
            attn = F.softmax(corr * self.softmax_scale, dim=1)
            return (_down_of_transposed(attn, *tables, down, s) / 6.0)[:, :, :h, :w]
        # inference: one image at a time, the correlation as one product, softmax in place
        cols = F.unfold(padded, self.ksize)                               # [B,9C/2,Hp·Wp]
        keys = keys.flatten(2)                                            # [B,L,9C/2]
        out = []
        for i in range(x.shape[0]):
            corr = (keys[i] @ cols[i]).view(1, n_ref, hp, wp)             # [1,L,Hp,Wp]
            attn = _softmax_in_place(corr, self.softmax_scale)
            out.append(_down_of_transposed(attn, *(t[i:i + 1] for t in tables), down, s) / 6.0)
        return (torch.cat(out, dim=0) if len(out) > 1 else out[0])[:, :, :h, :w]


__all__ = ["CrossScaleAttention", "same_pad", "patches"]

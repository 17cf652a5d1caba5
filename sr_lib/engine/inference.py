"""Whole-image inference: an LR image in [0, 1] → the SR image at a scale or an output size.

    sr = super_resolve(model, lr, scale=2.5)              # (H, W) = (round(2.5·h), round(2.5·w))
    sr = super_resolve(model, lr, scale=(2.0, 3.0))       # per axis (sy, sx)
    sr = super_resolve(model, lr, out_size=(H, W))        # any size

The caller's scale is converted here, once, for every model (``sr_lib.geometry`` holds the rules):

1. **size**: ``(H, W) = out_size``, else ``round(n·s)`` per axis (``geometry.hr_size_for``);
2. **encoder scale**: ``scale_hw = (H/h, W/w)`` (``geometry.scale_hw``), the ratio the image is
   actually decoded at, per axis; EQSR's AFE code and ArbSR's scale-aware layers read it, and it is
   the ratio they are trained on (``data.pairs``: ``scale = hr_side / lr_side``);
3. **queries**: the coordinate of every HR pixel centre and its cell ``(2/H, 2/W)·cell_scale``
   (LIIF Eq. 5, cell decoding; ``geometry.query_grid``), decoded ``chunk`` queries at a time for
   ``query_layout = "flat"`` (outputs do not depend on ``chunk``) or as one grid for ``"grid"``
   (EQSR, ArbSR); ``chunk`` is lowered to fit the memory budget, and a request that cannot fit is
   refused up front (``sr_lib.engine.memory``);
4. the model's ``normalize`` before ``encode`` and ``denormalize`` after ``query``, then a clamp to
   [0, 1].

Around this decode, two options of the official test scripts:

- **window** (LTE ``test.py --window 8``): an encoder that keeps the padding it needs
  (``model.input_window > 0``: the LTE-flavour SwinIR of LIIF, MetaSR, LTE, ITSRN and IPE-*)
  gets an LR whose sides were extended by flip-and-concatenate by
  ``(n // window + 1)·window − n`` rows / columns (1..window, never 0); the padded image is decoded
  at ``round(s·padded size)`` and the output cropped top-left to (H, W). ``window=None`` reads it
  from the model, so it applies under every protocol; encoders that pad inside (CiaoSR's SwinIR,
  EQSR) have ``input_window = 0``.
- **tiles** (CiaoSR, mmedit ``tile=192, tile_overlap=32``): LR tiles of ``t = min(tile, h, w)`` px
  at stride ``t − overlap`` plus a last tile flush with the border, each decoded on its own full
  grid at the integer scale (cell ``2/(t·s)``), overlaps averaged with equal weights; an image whose
  smaller side is ≤ the overlap is decoded whole (the official loop cannot tile it).
"""
from __future__ import annotations

import math

import torch

from sr_lib.engine.memory import plan_chunk
from sr_lib.geometry import hr_size_for, query_grid, scale_hw

# Queries decoded per call of ``query`` in whole-image inference. Outputs do not depend on it (queries
# are independent); speed does: 4096 queries × 4 corners × 256 hidden floats ≈ 16 MB per activation
# stays in this CPU's 105 MB L3, and decoding was 1.5× faster than with the official eval_bsize of
# 30000 for LIIF (paper and cpu sizes), LTE and CiaoSR (benchmarks/README.md, "chunk size").
DEFAULT_CHUNK = 4096


def _scale_pair(scale) -> tuple[float, float]:
    """``(sy, sx)`` floats of a scale given as one number or per axis; ``ValueError`` otherwise."""
    pair = tuple(scale) if isinstance(scale, (tuple, list)) else (scale, scale)
    if len(pair) != 2:
        raise ValueError(f"scale must be a number or a pair (sy, sx), got {scale!r}")
    try:
        pair = tuple(float(s) for s in pair)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number or a pair (sy, sx), got {scale!r}") from None
    if not all(math.isfinite(s) and s > 0 for s in pair):
        raise ValueError(f"scale must be positive and finite, got {scale!r}")
    return pair


def output_geometry(lr_hw, scale=None, out_size=None) -> tuple[tuple[int, int], tuple[float, float]]:
    """``((H, W), (sy, sx))``: the output size and the caller's per-axis scale.

    ``out_size`` fixes (H, W); otherwise ``(H, W) = round(n·s)`` per axis. ``scale`` (a number or
    ``(sy, sx)``) defaults to ``(H/h, W/w)``; it sizes the padded and tiled decodes (window, tiles).
    """
    if scale is None and out_size is None:
        raise ValueError("super_resolve needs scale= or out_size=")
    s_hw = _scale_pair(scale) if scale is not None else None
    if out_size is None:
        out_hw = hr_size_for(lr_hw, s_hw)
    else:
        out_hw = tuple(int(n) for n in out_size)
        if len(out_hw) != 2:
            raise ValueError(f"out_size must be (H, W), got {out_size!r}")
    if min(out_hw) < 1:
        raise ValueError(f"output size {out_hw} is empty (LR {tuple(lr_hw)}, scale {scale!r})")
    return out_hw, (s_hw if s_hw is not None else scale_hw(lr_hw, out_hw))


def window_pad(lr: torch.Tensor, window: int) -> torch.Tensor:
    """``lr [B,3,h,w]`` extended bottom/right by flip-and-concatenate to ``(n // window + 1)·window``
    per side (LTE ``test.py``: 1..window rows, never 0; repeated flips when the image is tiny)."""
    h, w = lr.shape[-2:]
    H, W = (h // window + 1) * window, (w // window + 1) * window
    while lr.shape[-2] < H:
        lr = torch.cat([lr, lr.flip(-2)], -2)
    while lr.shape[-1] < W:
        lr = torch.cat([lr, lr.flip(-1)], -1)
    return lr[..., :H, :W]


def decode_inputs(model, lr: torch.Tensor, out_hw, cell_scale: float = 1.0):
    """``(scale_hw, coord, cell)`` of decoding ``lr [B,3,h,w]`` at ``out_hw``: the encoder's per-axis
    scale ``(H/h, W/w)`` and every HR pixel's query in the model's layout (steps 2–3; also used by
    analyses that call ``encode`` / ``query`` themselves, e.g. EQSR's kriging maps)."""
    layout = getattr(model, "query_layout", "flat")
    coord, cell = query_grid(out_hw, lr.shape[0], layout, cell_scale, dtype=lr.dtype, device=lr.device)
    return scale_hw(lr.shape[-2:], out_hw), coord, cell


def _decode(model, lr: torch.Tensor, out_hw, chunk: int, cell_scale: float) -> torch.Tensor:
    """The whole-image decode: ``lr [B,3,h,w]`` in [0, 1] → ``[B,3,H,W]`` in [0, 1] (steps 2–4)."""
    b = lr.shape[0]
    H, W = out_hw
    chunk = plan_chunk(model, lr.shape[-2:], out_hw, chunk, batch=b)
    s_hw, coord, cell = decode_inputs(model, lr, out_hw, cell_scale)           # flat: [B,H·W,2] ×2
    feat = model.encode(model.normalize(lr), s_hw)
    if getattr(model, "query_layout", "flat") == "grid":
        out = model.query(feat, coord, cell)                                   # [B,3,H,W]
    else:                                                                      # coord, cell [B,H·W,2]
        parts = [model.query(feat, coord[:, i:i + chunk], cell[:, i:i + chunk])    # [B,≤chunk,3]
                 for i in range(0, H * W, chunk)]
        out = torch.cat(parts, dim=1).permute(0, 2, 1).reshape(b, 3, H, W)
    return model.denormalize(out).clamp(0, 1)


def _padded(model, lr, out_hw, s_hw, window: int, chunk: int, cell_scale: float) -> torch.Tensor:
    """Decode with the window padding (module docstring), cropped top-left to ``out_hw``."""
    if not window:
        return _decode(model, lr, out_hw, chunk, cell_scale)
    padded = window_pad(lr, window)                                            # [B,3,h+ph,w+pw]
    out = _decode(model, padded, hr_size_for(padded.shape[-2:], s_hw), chunk, cell_scale)
    return out[..., :out_hw[0], :out_hw[1]]


def _tiled(model, lr, out_hw, s_hw, tile: int, overlap: int, window: int, chunk: int,
           cell_scale: float) -> torch.Tensor:
    """CiaoSR's tiled decode (module docstring) at an integer scale per axis."""
    if any(abs(s - round(s)) > 1e-9 for s in s_hw):
        raise ValueError(f"tiled inference needs an integer scale, got {s_hw[0]:g}×{s_hw[1]:g}")
    sy, sx = (int(round(s)) for s in s_hw)
    h, w = lr.shape[-2:]
    t = min(tile, h, w)
    stride = t - overlap
    if stride <= 0:             # LR side <= overlap: one tile would be the whole image anyway
        return _padded(model, lr, out_hw, s_hw, window, chunk, cell_scale)
    ys = list(range(0, h - t, stride)) + [h - t]
    xs = list(range(0, w - t, stride)) + [w - t]
    acc = lr.new_zeros(lr.shape[0], 3, h * sy, w * sx)                         # [B,3,h·sy,w·sx]
    cnt = lr.new_zeros(1, 1, h * sy, w * sx)
    for y in ys:
        for x in xs:
            patch = _padded(model, lr[..., y:y + t, x:x + t], (t * sy, t * sx), (sy, sx), window, chunk,
                            cell_scale)                                        # [B,3,t·sy,t·sx]
            acc[..., y * sy:(y + t) * sy, x * sx:(x + t) * sx] += patch
            cnt[..., y * sy:(y + t) * sy, x * sx:(x + t) * sx] += 1
    return (acc / cnt)[..., :out_hw[0], :out_hw[1]]


@torch.no_grad()
def super_resolve(model, lr: torch.Tensor, *, scale=None, out_size=None, chunk: int = DEFAULT_CHUNK,
                  cell_scale: float = 1.0, window: int | None = None, tile: int = 0,
                  tile_overlap: int = 0) -> torch.Tensor:
    """LR ``[B,3,h,w]`` in [0, 1] → SR ``[B,3,H,W]`` in [0, 1] (float, clamped), on ``lr``'s device.

    ``scale``: a number or ``(sy, sx)``; ``out_size``: ``(H, W)`` (wins over the scale for the size;
    give both when the size was rounded elsewhere, e.g. a protocol's HR crop). ``chunk``: queries per
    decoder call. ``cell_scale`` multiplies the cell (LTE's test-time clip ``max(s/4, 1)``).
    ``window``: LR side multiple to pad to (``None``: ``model.input_window``; 0: none).
    ``tile`` / ``tile_overlap``: CiaoSR's tiled decode (0: the whole image). See the module docstring.
    """
    if lr.dim() != 4 or lr.shape[1] != 3:
        raise ValueError(f"lr must be [B,3,h,w], got shape {tuple(lr.shape)}")
    out_hw, s_hw = output_geometry(lr.shape[-2:], scale, out_size)
    window = int(getattr(model, "input_window", 0) if window is None else window)
    if tile:
        return _tiled(model, lr, out_hw, s_hw, int(tile), int(tile_overlap), window, chunk, cell_scale)
    return _padded(model, lr, out_hw, s_hw, window, chunk, cell_scale)


__all__ = ["super_resolve", "output_geometry", "decode_inputs", "window_pad", "DEFAULT_CHUNK"]

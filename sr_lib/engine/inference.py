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

Inputs are checked before any work (and before the memory probe), each failure a one-line
``ValueError``: ``lr`` must be one tensor ``[B,3,h,w]`` (a list of images, a numpy array, a
``[3,h,w]`` image, 1 or 4 channels are refused: the models are RGB-in, RGB-out, and a gray image
would come back as three channels) with sides ≥ ``model.min_input_side``, on the model's device,
finite and in [0, 1]. **uint8 input is converted** by the rule of ``sr_lib.data.io.to_tensor01``,
``v / 255`` to the model's float dtype (exact, never saturated); other integer and bool dtypes, and
a float dtype other than the model's, are refused (convert with ``lr.to(dtype)``). ``out_size``
must be two integers ≥ 1, ``scale`` positive finite numbers (a request too large for the memory
budget is refused by the plan, step 3). An output with NaN (broken weights) is an error, not a result.

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
import numbers
from concurrent.futures import ThreadPoolExecutor

import torch

from sr_lib.engine.memory import decode_workers, plan_chunk
from sr_lib.geometry import hr_size_for, make_cell, make_coord, query_grid, scale_hw

# Queries decoded per call of ``query`` in whole-image inference. Outputs do not depend on it (queries
# are independent); speed does: 1024 queries × 4 corners × 256 hidden floats = 4 MB per activation, so
# each Linear's input and output stay in this CPU's 2 MB-per-core L2 (2 threads) and, below glibc's
# 32 MB mmap threshold, freed buffers are reused instead of page-faulted in again. Decoding at 1024
# was 1.2× (LIIF) to 1.5× (CiaoSR) faster than at 4096 and ~2× faster than at the official
# eval_bsize of 30000 (benchmarks/README.md, "chunk size").
DEFAULT_CHUNK = 1024


def _is_number(v) -> bool:
    if isinstance(v, torch.Tensor):
        return v.numel() == 1 and not v.dtype.is_complex and v.dtype != torch.bool
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _scale_pair(scale) -> tuple[float, float]:
    """``(sy, sx)`` floats of a scale given as one number or per axis; ``ValueError`` otherwise."""
    pair = tuple(scale) if isinstance(scale, (tuple, list)) else (scale, scale)
    if len(pair) != 2 or not all(_is_number(s) for s in pair):
        raise ValueError(f"scale must be a number or a pair (sy, sx) of numbers, got {scale!r}")
    pair = tuple(float(s) for s in pair)
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
        out_hw = _out_size(out_size)
    if min(out_hw) < 1:
        raise ValueError(f"output size {out_hw} is empty (LR {tuple(lr_hw)}, scale {scale!r})")
    return out_hw, (s_hw if s_hw is not None else scale_hw(lr_hw, out_hw))


def _out_size(out_size) -> tuple[int, int]:
    """``(H, W)`` from ``out_size``: two integers (or integral numbers) ≥ 1; ``ValueError`` otherwise."""
    try:
        pair = tuple(out_size)
    except TypeError:
        raise ValueError(f"out_size must be (H, W), two integers >= 1, got {out_size!r}") from None
    if len(pair) != 2 or not all(_is_number(n) for n in pair):
        raise ValueError(f"out_size must be (H, W), two integers >= 1, got {out_size!r}")
    vals = [float(n) for n in pair]
    if not all(math.isfinite(v) and v == int(v) for v in vals):
        raise ValueError(f"out_size must be whole numbers of pixels, got {out_size!r}")
    out_hw = (int(vals[0]), int(vals[1]))
    if min(out_hw) < 1:
        raise ValueError(f"out_size must be at least 1×1 pixels, got {out_size!r}")
    return out_hw


def _model_param(model):
    return next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None


def check_lr(model, lr) -> torch.Tensor:
    """``lr`` checked for ``super_resolve`` (module docstring); uint8 → the model's float dtype / 255."""
    if not (hasattr(model, "encode") and hasattr(model, "query")):
        raise ValueError(f"super_resolve needs an ImplicitSR model (encode + query), got {type(model).__name__}")
    if isinstance(lr, (list, tuple)):
        sizes = sorted({tuple(getattr(x, "shape", ())) for x in lr})
        raise ValueError(f"lr must be one tensor [B,3,h,w], got a {type(lr).__name__} of {len(lr)} images "
                         f"(shapes {sizes[:4]}); super-resolve them one at a time, or torch.stack equal sizes")
    if not isinstance(lr, torch.Tensor):
        raise ValueError(f"lr must be a torch tensor [B,3,h,w] in [0, 1], got {type(lr).__name__} "
                         "(sr_lib.data.io.to_tensor01 converts a uint8 [H,W,3] array)")
    shape = tuple(lr.shape)
    if lr.dim() == 3 and shape[0] == 3:
        raise ValueError(f"lr must be [B,3,h,w], got one image {shape}: add the batch dimension (lr[None])")
    if lr.dim() != 4:
        raise ValueError(f"lr must be [B,3,h,w], got shape {shape}")
    if shape[1] != 3:
        hint = (" (a gray image: replicate it, lr.expand(-1, 3, -1, -1), and take one channel of the result)"
                if shape[1] == 1 else " (drop the alpha channel: lr[:, :3])" if shape[1] == 4 else "")
        raise ValueError(f"lr must have 3 (RGB) channels, got {shape[1]}{hint}")
    if shape[0] < 1:
        raise ValueError(f"lr is an empty batch, shape {shape}")
    side = int(getattr(model, "min_input_side", 1))
    if min(shape[-2:]) < side:
        raise ValueError(f"lr is {shape[-2]}×{shape[-1]} px; {type(model).__name__} needs at least {side} px "
                         "per side")
    p = _model_param(model)
    if p is not None and lr.device != p.device:
        raise ValueError(f"lr is on {lr.device} but the model is on {p.device}: move one of them (lr.to(device))")
    want = p.dtype if p is not None and p.is_floating_point() else torch.float32
    if lr.dtype == torch.uint8:             # the documented rule: v / 255, exact
        return lr.to(want).div_(255.0)
    if not lr.is_floating_point():
        raise ValueError(f"lr has dtype {lr.dtype}; give floats in [0, 1] (or uint8 0..255, converted as v / 255)")
    if lr.dtype != want:
        raise ValueError(f"lr is {lr.dtype} but the model is {want}: convert one of them (lr.to({want}))")
    if not bool(torch.isfinite(lr).all()):
        raise ValueError(f"lr holds {int((~torch.isfinite(lr)).sum())} NaN or inf values")
    lo, hi = float(lr.min()), float(lr.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        looks = "; it looks like 0..255: divide by 255" if hi > 1.5 and lo >= 0 else "; clamp it (lr.clamp(0, 1))"
        raise ValueError(f"lr values must lie in [0, 1], got [{lo:g}, {hi:g}]{looks}")
    return lr


def _check_options(chunk, cell_scale, window, tile, tile_overlap) -> None:
    for name, v, lo in (("chunk", chunk, 1), ("tile", tile, 0), ("tile_overlap", tile_overlap, 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 0):
        raise ValueError(f"window must be None or an integer >= 0, got {window!r}")
    if not _is_number(cell_scale) or not (math.isfinite(float(cell_scale)) and float(cell_scale) > 0):
        raise ValueError(f"cell_scale must be a positive finite number, got {cell_scale!r}")
    if tile and tile_overlap >= tile:
        raise ValueError(f"tile_overlap ({tile_overlap}) must be smaller than tile ({tile})")


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


def _flat_queries(axes, start: int, stop: int, cell: torch.Tensor, batch: int):
    """Queries ``start:stop`` of the row-major flat grid (``query_grid(..., "flat")`` rows, the same
    numbers): ``axes`` = the (y, x) pixel-centre coordinates of each output axis, ``cell [2]``."""
    ys, xs = axes
    i = torch.arange(start, stop, device=ys.device)
    coord = torch.stack([ys[i // xs.numel()], xs[i % xs.numel()]], -1)      # [c,2]
    return coord.unsqueeze(0).expand(batch, -1, -1), cell.expand(batch, stop - start, 2)


def _decode(model, lr: torch.Tensor, out_hw, chunk: int, cell_scale: float) -> torch.Tensor:
    """The whole-image decode: ``lr [B,3,h,w]`` in [0, 1] → ``[B,3,H,W]`` in [0, 1] (steps 2–4).

    Flat decoders: each chunk's coordinates are built on the fly and its outputs de-normalised,
    clamped and written into the one preallocated output image, so that the memory beyond the model's
    own is that image (3 floats per HR pixel) plus the chunks in flight (``sr_lib.engine.memory``).
    On the CPU with n > 1 intra-op threads, n chunks are decoded at a time, one per worker thread with
    its operators on one thread (``memory.decode_workers``): the chunk's operators are small (4 MB),
    and a barrier per operator across threads cost more than the operator whenever another process
    held a core. Chunks are independent and each is computed whole by one thread: the same numbers.
    (The process-wide intra-op thread count is 1 while they run, restored afterwards.)"""
    b = lr.shape[0]
    H, W = out_hw
    chunk = plan_chunk(model, lr.shape[-2:], out_hw, chunk, batch=b)
    s_hw = scale_hw(lr.shape[-2:], out_hw)
    feat = model.encode(model.normalize(lr), s_hw)
    if getattr(model, "query_layout", "flat") == "grid":
        _, coord, cell = decode_inputs(model, lr, out_hw, cell_scale)         # [B,H,W,2], [B,2,H,W]
        out = model.query(feat, coord, cell)                                   # [B,3,H,W]
        return model.denormalize(out).clamp_(0, 1)
    return _decode_flat(model, feat, out_hw, b, chunk, cell_scale, lr)


def _decode_flat(model, feat, out_hw, b: int, chunk: int, cell_scale: float, like: torch.Tensor) -> torch.Tensor:
    """The chunked queries of a flat decoder on ``feat = model.encode(...)`` → ``[B,O,H,W]`` in [0, 1]
    (``_decode``; coordinates in ``like``'s dtype and device)."""
    H, W = out_hw
    n = H * W
    axes = [make_coord((k,), dtype=like.dtype, device=like.device)[:, 0] for k in (H, W)]
    cell = make_cell((H, W), 1, dtype=like.dtype, device=like.device, cell_scale=cell_scale)[0]   # [2]

    def one(i: int) -> torch.Tensor:                                           # [B,O,≤chunk] in [0, 1]
        pred = model.query(feat, *_flat_queries(axes, i, min(i + chunk, n), cell, b))    # [B,≤chunk,O]
        return model.denormalize(pred.transpose(1, 2).unsqueeze(-1)).squeeze(-1).clamp_(0, 1)

    workers = decode_workers(like.device, n, chunk)
    threads = torch.get_num_threads()
    if workers > 1:
        torch.set_num_threads(1)             # read by the worker threads when they start
    try:
        first = one(0)
        out = first.new_empty(b, first.shape[1], n)                            # [B,O,H·W]
        out[:, :, :first.shape[-1]] = first
        del first

        def put(i: int) -> None:
            out[:, :, i:i + chunk] = one(i)

        rest = range(chunk, n, chunk)
        if workers > 1:
            inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

            def task(i: int) -> None:                                          # grad modes are per thread
                with torch.inference_mode() if inference else torch.set_grad_enabled(grad):
                    put(i)

            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(task, rest):
                    pass
        else:
            for i in rest:
                put(i)
    finally:
        if workers > 1:
            torch.set_num_threads(threads)
    return out.view(b, -1, H, W)


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
    lr = check_lr(model, lr)
    _check_options(chunk, cell_scale, window, tile, tile_overlap)
    if tile and tile < int(getattr(model, "min_input_side", 1)):
        raise ValueError(f"tile {tile} is smaller than the {model.min_input_side} px per side {type(model).__name__} needs")
    out_hw, s_hw = output_geometry(lr.shape[-2:], scale, out_size)
    window = int(getattr(model, "input_window", 0) if window is None else window)
    if tile:
        sr = _tiled(model, lr, out_hw, s_hw, int(tile), int(tile_overlap), window, chunk, cell_scale)
    else:
        sr = _padded(model, lr, out_hw, s_hw, window, chunk, cell_scale)
    if not bool(torch.isfinite(sr.sum())):      # sr is clamped: only NaN can remain; no image-sized temporaries
        raise ValueError(f"the model's output holds {int((~torch.isfinite(sr)).sum())} NaN or inf values: "
                         "its weights are broken (NaN/inf) or overflow on this input")
    return sr


__all__ = ["super_resolve", "check_lr", "output_geometry", "decode_inputs", "window_pad", "DEFAULT_CHUNK"]

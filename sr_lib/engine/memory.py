"""Peak memory of ``super_resolve``: estimate it, pick a query chunk that fits, refuse what cannot.

    est = estimate(model, (h, w), (H, W), chunk=1024)      # bytes, phase by phase
    est = estimate(model, (h, w), (H, W), 1024, tile=192, tile_overlap=32)   # CiaoSR's tiled protocol
    chunk = plan_chunk(model, (h, w), (H, W), chunk=1024)    # largest chunk <= 1024 within the budget,
                                                             # or MemoryBudgetError with the estimate

``super_resolve`` (``sr_lib.engine.inference``, which owns the default chunk and calls
``plan_chunk`` before every decode) runs in two phases:

1. **encode** — backbone and per-image tables (LIIF's unfolded latents, CiaoSR's non-local attention
   and pair tables, …). Its peak grows with the LR pixel count n = h·w, quadratically for CiaoSR's
   global cross-scale attention (an n × n/4 correlation): ``a + b·n + c·n²``.
2. **decode** — the tables that ``encode`` returned stay alive (``r·n``) while queries are decoded
   ``chunk`` at a time, each chunk holding a fixed number of bytes per query (the decoder's per-query
   width: LIIF's 4 shifts × (9C + 4) inputs and hidden activations, …, plus the chunk's coordinates
   and outputs, ``CHUNK_FLOATS_PER_QUERY``); each chunk is written into the one output image
   (``OUTPUT_FLOATS_PER_PIXEL`` = 3 floats per HR pixel). Decoders whose queries interact
   (``query_layout = "grid"``: EQSR, ArbSR) decode the whole HR grid at once, so their decode memory
   grows with H·W and no chunk size can shrink it (``GRID_FLOATS_PER_PIXEL`` besides the decoder's
   own: the coordinate grid and the de-normalised output).
3. **tiles** (``tile=``): one tile at a time is encoded and decoded while the sum and the count of
   the whole output stay alive (3 + 1 floats per HR pixel), then divided (3 more).

The coefficients are the model's own sizes, *measured* rather than transcribed: a probe runs the
model's ``encode`` at three small LR sizes and its ``query`` at two chunk sizes (or two HR grids)
while a ``TorchDispatchMode`` counts the bytes of every live tensor the operators create, and the
three / two points give a, b, c, the retained bytes per LR pixel and the bytes per query exactly
(up to temporary buffers inside single kernels, covered by ``SAFETY``). The probe is cached per
model, mode (train/eval), dtype and device. The budget is ``DEFAULT_BUDGET`` = 3 GB unless
``budget=`` or the environment variable ``SR_MEMORY_BUDGET`` (e.g. ``"8G"``, ``"inf"``) says
otherwise. It and the estimate count the memory a call *adds* to the process: tensors it creates,
not the model's weights, the LR image or the ~0.35 GB of RSS of a Python process with torch loaded
(``benchmarks/bench_official.py --sections memory`` compares the estimate with peak RSS minus the
RSS before the call; ``benchmarks/README.md``).
"""
from __future__ import annotations

import math
import os
import weakref
from dataclasses import dataclass

import torch
from torch.utils import _python_dispatch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from sr_lib.paths import DEFAULT_BUDGET, default_budget, parse_budget  # noqa: F401  (core: data.io's pixel limit reads it too)
from sr_lib.geometry import query_grid

MIN_CHUNK = 1024                        # smaller chunks only add Python overhead
SAFETY = 1.25                           # margin for buffers inside kernels and allocator slack
OUTPUT_FLOATS_PER_PIXEL = 3             # flat decoders: the output image, written chunk by chunk
CHUNK_FLOATS_PER_QUERY = 16             # a chunk's coordinates (+ int64 indices), outputs, de-normalised copy
GRID_FLOATS_PER_PIXEL = 5               # grid decoders: coordinate grid (2) + de-normalised output (3)
TILE_FLOATS_PER_PIXEL = 7               # tiles: sum (3) + count (1) of the whole output, then the quotient (3)

_ENCODE_PROBE = (32, 48, 64)            # LR sides of the encode probe (multiples of SwinIR's / EQSR's padding;
                                        # at 16² EQSR runs another operator sequence)
_QUERY_PROBE = (256, 1024)              # chunk sizes of the query probe (flat decoders)
_GRID_PROBE = (32, 64)                  # HR sides of the query probe (grid decoders), LR 16 × 16


class MemoryBudgetError(ValueError):
    """A ``super_resolve`` request whose estimated peak memory exceeds the budget (one-line message)."""


# ---------------------------------------------------------------------------------------------
# counting live tensor bytes
# ---------------------------------------------------------------------------------------------

def conv_workspace(func, args, out) -> int:
    """Bytes a CPU convolution holds *inside* the kernel, unseen by a dispatch mode: oneDNN reorders an
    NCHW (not channels-last) float input to its blocked layout, or its output back from it — measured
    as the RSS of single calls, about the larger of input and output (a 4096-channel transposed
    convolution on CiaoSR's attention map: +256 MB beside a 2 MB output; channels-last input: none)."""
    if func is not torch.ops.aten.convolution.default:
        return 0
    x = args[0]
    if (not isinstance(x, torch.Tensor) or x.device.type != "cpu" or x.dim() != 4 or x.dtype == torch.float64
            or not x.is_contiguous() or (x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last))):
        return 0
    return max(x.nbytes, out.nbytes if isinstance(out, torch.Tensor) else 0)


class LiveBytes(TorchDispatchMode):
    """Counts the bytes of tensors created by operators while active and still alive (``trace``: the
    total after each operator; ``peak``: its maximum). Views share their base's storage: counted once.
    ``workspace=True`` adds, at the operator that needs it, what a kernel holds inside (``conv_workspace``)."""

    def __init__(self, workspace: bool = False):
        super().__init__()
        self.workspace = workspace
        self.live = 0
        self.trace: list[int] = []             # live bytes after each operator
        self._refs: dict[int, list] = {}       # storage pointer → [bytes, number of live tensors]

    def _release(self, key: int) -> None:
        entry = self._refs.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self._refs[key]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if not isinstance(t, torch.Tensor):
                continue
            storage = t.untyped_storage()
            key = storage.data_ptr()
            if key == 0:
                continue
            entry = self._refs.get(key)
            if entry is None:
                entry = self._refs[key] = [storage.nbytes(), 0]
                self.live += entry[0]
            entry[1] += 1
            weakref.finalize(t, self._release, key)
        self.trace.append(self.live + (conv_workspace(func, args, out) if self.workspace else 0))
        return out

    @property
    def peak(self) -> int:
        return max(self.trace, default=0)


def _tensor_bytes(obj) -> int:
    """Bytes of the distinct tensor storages reachable in ``obj`` (tensor, dataclass, tuple, dict)."""
    seen, total, stack = set(), 0, [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, torch.Tensor):
            s = o.untyped_storage()
            if s.data_ptr() not in seen:
                seen.add(s.data_ptr())
                total += s.nbytes()
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif hasattr(o, "__dataclass_fields__"):
            stack.extend(getattr(o, f) for f in o.__dataclass_fields__)
    return total


# ---------------------------------------------------------------------------------------------
# the probe
# ---------------------------------------------------------------------------------------------

class PeakCurve:
    """Live tensor bytes after every operator of a probed call, fitted per operator as a polynomial in
    the size x (LR pixels, queries or HR pixels): the call's peak at any x is the largest operator's
    value. Exact for a fixed operator sequence whose tensors grow polynomially (CiaoSR's n × n/4
    correlation is one operator among linear ones). Degree 2 is also bounded below by the line
    through the two largest probes (guards against a negative fitted curvature). When the operator
    sequence changes with the size, only the peaks are fitted, by that line: a curvature fitted through
    peaks of different operators is an artefact that extrapolation multiplies (EQSR at 16² probes:
    0.7 B/px², i.e. 420 GB instead of ~30 GB at a 675×1020 LR)."""

    def __init__(self, xs, traces, degree: int):
        traces = [list(t) or [0] for t in traces]        # a call that allocates nothing
        lengths = {len(t) for t in traces}
        if len(lengths) != 1:           # the operator sequence changed with the size: fit the peaks only
            traces = [[max(t)] for t in traces]
            degree = 0                  # the line below carries the fit
        x = torch.tensor(xs, dtype=torch.float64)
        y = torch.tensor(traces, dtype=torch.float64)                       # [probes, ops]
        vander = torch.stack([x ** k for k in range(degree + 1)], -1)      # [probes, degree+1]
        self.coef = torch.linalg.lstsq(vander, y).solution if degree < len(xs) - 1 else torch.linalg.solve(vander, y)
        slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        self.line = torch.stack([y[-1] - slope * x[-1], slope.clamp(min=0)])   # [2, ops]

    def __call__(self, x: float) -> float:
        powers = torch.tensor([float(x) ** k for k in range(self.coef.shape[0])], dtype=torch.float64)
        fit = powers @ self.coef
        line = self.line[0] + self.line[1] * float(x)
        return float(torch.maximum(fit, line).max().clamp(min=0))


@dataclass(frozen=True)
class MemoryProfile:
    """Measured memory curves of one model."""
    encode: PeakCurve        # encode phase vs LR pixels n (degree 2)
    retained_per_lr: float   # bytes of the per-image tables kept through the decode phase, per LR pixel
    decode: PeakCurve        # one decoder call vs queries (flat) or HR pixels (grid), degree 1
    grid: bool               # whole-image decoder (chunk does not apply)


_PROFILES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def profile(model) -> MemoryProfile:
    """Measure (once per model, mode, dtype, device) the memory curves of ``model``.
    The global RNG state is left as it was (models with stochastic layers in train mode)."""
    p = next(model.parameters(), None)
    p = torch.empty(0) if p is None else p                 # parameter-free models: float32 on the CPU
    key = (model.training, p.dtype, str(p.device))
    cache = _PROFILES.setdefault(model, {})
    if key not in cache:
        devices = [p.device] if p.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            cache[key] = _measure(model, p)
    return cache[key]


def _measure(model, p: torch.Tensor) -> MemoryProfile:
    grid = getattr(model, "query_layout", "flat") == "grid"
    gen = torch.Generator().manual_seed(0)
    enc_traces, retained, feats = [], [], {}
    for side in _ENCODE_PROBE:
        lr = torch.rand(1, 3, side, side, generator=gen).to(p)
        with LiveBytes(workspace=True) as mode:
            feat = model.encode(model.normalize(lr), (2.0, 2.0))
        enc_traces.append([lr.nbytes + v for v in mode.trace])
        retained.append(_tensor_bytes(feat))
        feats[side] = feat
    ns = [s * s for s in _ENCODE_PROBE]
    per_lr = max((retained[-1] - retained[0]) / (ns[-1] - ns[0]), 0.0)

    traces = []
    if grid:
        sizes = [s * s for s in _GRID_PROBE]
        lr = torch.rand(1, 3, 16, 16, generator=gen).to(p)
        for side in _GRID_PROBE:
            feat = model.encode(model.normalize(lr), (side / 16, side / 16))
            coord, cell = query_grid((side, side), 1, "grid", dtype=p.dtype, device=p.device)   # [1,H,W,2], [1,2,H,W]
            with LiveBytes(workspace=True) as mode:
                model.query(feat, coord, cell)
            traces.append(mode.trace)
    else:
        sizes = list(_QUERY_PROBE)
        side = _ENCODE_PROBE[1]
        lr = torch.rand(1, 3, side, side, generator=gen).to(p)
        coord, cell = query_grid((64, 64), 1, "flat", dtype=p.dtype, device=p.device)   # [1,4096,2] ≥ the probe
        for q in sizes:
            # a fresh encode per size: buffers a decoder keeps on its grid for the next chunk (LTE) count
            feat = model.encode(model.normalize(lr), (2.0, 2.0))
            with LiveBytes(workspace=True) as mode:
                model.query(feat, coord[:, :q], cell[:, :q])
            traces.append(mode.trace)
    return MemoryProfile(PeakCurve(ns, enc_traces, 2), per_lr, PeakCurve(sizes, traces, 1), grid)


# ---------------------------------------------------------------------------------------------
# estimate, plan, refuse
# ---------------------------------------------------------------------------------------------

def decode_workers(device, n_queries: int, chunk: int) -> int:
    """Chunks that ``super_resolve`` decodes at the same time: on the CPU, one per intra-op thread
    (``torch.get_num_threads()``; each runs its operators on one thread), at most one per chunk; 1 on
    other devices, under autocast or a ``TorchDispatchMode`` / ``TorchFunctionMode`` (they are
    thread-local: worker threads would not see them), or with one thread."""
    n_chunks = -(-int(n_queries) // max(1, int(chunk)))
    if torch.device(device).type != "cpu" or n_chunks < 2:
        return 1
    if torch.is_autocast_enabled("cpu") or _python_dispatch._get_current_dispatch_mode() is not None \
            or torch._C._is_torch_function_mode_enabled():
        return 1
    return max(1, min(torch.get_num_threads(), n_chunks))


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak bytes of ``super_resolve`` (``SAFETY`` included)."""
    encode: float            # peak of the encode phase
    decode: float            # retained tables + output assembly + one chunk
    chunk: int               # queries per decoder call (H·W for grid decoders)

    @property
    def peak(self) -> float:
        return max(self.encode, self.decode)


def estimate(model, lr_hw, out_hw, chunk: int, batch: int = 1, tile: int = 0,
             tile_overlap: int = 0) -> MemoryEstimate:
    """Estimated peak memory that ``super_resolve(model, ...)`` adds for an LR of ``lr_hw`` →
    ``out_hw``, decoding ``chunk`` queries per call (``tile`` / ``tile_overlap``: the tiled decode,
    at the integer scale ``out_hw / lr_hw``)."""
    h, w = int(lr_hw[0]), int(lr_hw[1])
    elem = next(model.parameters(), torch.empty(0)).element_size()
    t = min(int(tile), h, w)
    if tile and t - int(tile_overlap) > 0:           # else super_resolve decodes the whole image
        sy, sx = round(out_hw[0] / h), round(out_hw[1] / w)
        one = estimate(model, (t, t), (t * sy, t * sx), chunk, batch)
        acc = SAFETY * (3 * batch + 1) * elem * h * sy * w * sx
        quotient = SAFETY * 3 * batch * elem * h * sy * w * sx
        return MemoryEstimate(acc + one.encode, acc + max(one.decode, quotient), one.chunk)
    prof = profile(model)
    n, n_out = h * w, int(out_hw[0]) * int(out_hw[1])
    if prof.grid:
        q, dec = n_out, GRID_FLOATS_PER_PIXEL * elem * n_out + prof.decode(n_out)
    else:                            # ``decode_workers`` chunks in flight, each with its own buffers
        q = max(1, min(int(chunk), n_out))
        workers = decode_workers(next(model.parameters(), torch.empty(0)).device, n_out, q)
        dec = OUTPUT_FLOATS_PER_PIXEL * elem * n_out + workers * (CHUNK_FLOATS_PER_QUERY * elem * q + prof.decode(q))
    dec += prof.retained_per_lr * n
    return MemoryEstimate(SAFETY * batch * prof.encode(n), SAFETY * batch * dec, q)


def _gb(x: float) -> str:
    return f"{x / 1024 ** 3:.2f} GB"


def plan_chunk(model, lr_hw, out_hw, chunk: int, budget=None, batch: int = 1) -> int:
    """The largest chunk ≤ ``chunk`` (≥ ``MIN_CHUNK`` unless the image is smaller) whose estimated
    peak fits ``budget`` (default ``default_budget()``); ``MemoryBudgetError`` with the estimate
    when none does."""
    budget = default_budget() if budget is None else parse_budget(budget)
    if math.isinf(budget):
        return int(chunk)
    full = estimate(model, lr_hw, out_hw, chunk, batch)
    if full.peak <= budget:
        return int(chunk)
    name = (getattr(model, "spec", None) or {}).get("name") or type(model).__name__
    where = f"{name}: {int(lr_hw[0])}×{int(lr_hw[1])} → {int(out_hw[0])}×{int(out_hw[1])}"
    hint = "use tiles (super_resolve(..., tile=...)), a smaller output, or raise SR_MEMORY_BUDGET"
    if full.encode > budget:
        raise MemoryBudgetError(f"{where} needs ~{_gb(full.encode)} to encode the LR image, over the "
                                f"{_gb(budget)} budget; {hint}")
    if profile(model).grid:
        raise MemoryBudgetError(f"{where} needs ~{_gb(full.peak)} (whole-image decoder: chunking does not "
                                f"apply), over the {_gb(budget)} budget; {hint}")
    lo = min(MIN_CHUNK, int(out_hw[0]) * int(out_hw[1]))
    smallest = estimate(model, lr_hw, out_hw, lo, batch)
    if smallest.decode > budget:
        raise MemoryBudgetError(f"{where} needs ~{_gb(smallest.peak)} even with chunks of "
                                f"{smallest.chunk} queries, over the {_gb(budget)} budget; {hint}")
    hi = int(chunk)                      # estimate(lo) fits, estimate(hi) does not: bisect
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if estimate(model, lr_hw, out_hw, mid, batch).decode <= budget else (lo, mid)
    return lo


__all__ = ["MemoryBudgetError", "MemoryEstimate", "decode_workers", "MemoryProfile", "PeakCurve", "LiveBytes", "estimate", "plan_chunk",
           "profile", "parse_budget", "default_budget", "DEFAULT_BUDGET"]

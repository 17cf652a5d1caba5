"""Evaluate an upscaler on an image set under a paper's protocol; the ``evaluate`` command.

An **upscaler** is any callable ``(lr, (H, W), scale) -> sr`` with ``lr`` a float tensor
``[1, 3, h, w]`` in [0, 1] and ``sr`` ``[1, 3, H, W]`` in [0, 1]. Provided:

- ``bicubic_matlab`` — MATLAB ``imresize(lr, [H W], 'bicubic')`` on the float LR (×255): the
  factor per axis is H/h, W/w, the geometry the protocol's LR was made with (at a scale s where
  h·s is not whole, the HR is cropped to round(h·s) and the PIL LR resizes it by exactly H/h) and the
  one the decoders' coordinate grids use; the protocol decides whether it is rounded;
- ``bicubic_matlab_uint8`` — the same on the uint8 LR with MATLAB's per-pass uint8 rounding;
- ``bicubic_pil`` — PIL bicubic of the uint8 LR (rounded once by PIL);
- ``bicubic_torch`` — ``F.interpolate(mode='bicubic', align_corners=False)``, clamped;
- ``ModelUpscaler(model, ...)`` — any ``ImplicitSR`` through ``sr_lib.engine.inference.super_resolve``
  with the protocol's inference options: LTE's cell clip, CiaoSR's 192/32 tiles with uniform
  averaging of overlaps; chunked queries (bounded memory) and the window padding of encoders that
  need it (``model.input_window``: the LTE-flavour SwinIR, under every protocol). Padding that a
  model does itself (CiaoSR's SwinIR to a multiple of 8, EQSR to 16) stays inside the model.

    res = evaluate(bicubic_matlab, load_dataset("Set5"), 2, "eqsr")
    res["psnr"], res["ssim"], res["per_image"]

Command line (the last stdout line is one JSON object)::

    python -m sr_lib evaluate --method bicubic --dataset Set5 --scale 2 --protocol eqsr
    python -m sr_lib evaluate --method liif --backbone edsr-baseline --checkpoint P \
        --dataset Set5 --scale 4 --protocol liif --out results/cpu/eval.csv
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sr_lib.data.datasets import ImageSet, canonical_name, load_dataset
from sr_lib.data.io import to_tensor01
from sr_lib.data.resize import imresize_matlab, pil_bicubic
from sr_lib.data.resolver import BUNDLED_NOTE, resolve_data_root
from sr_lib.engine.inference import DEFAULT_CHUNK, super_resolve
from sr_lib.engine.memory import MIN_CHUNK, MemoryBudgetError, default_budget, estimate, plan_chunk
from sr_lib.geometry import hr_size_for
from sr_lib.metrics.protocols import check_scale, get_protocol
from sr_lib.paths import atomic_write_text, check_writable_folder

RESULT_COLUMNS = ["method", "backbone", "profile", "seed", "dataset", "scale", "protocol",
                  "psnr", "ssim", "n_images"]
RESULT_KEY = ["method", "backbone", "profile", "seed", "dataset", "scale", "protocol"]

# Bytes per HR pixel that evaluating one image holds besides a model's decode: the HR and its crop,
# the LR, the SR tensor and its float64 copy, the metric's Y channels and SSIM maps. Measured:
# 200 B/px peak RSS on a 3000×3000 HR for every bicubic upscaler and protocol; + 20% margin.
EVAL_BYTES_PER_HR_PIXEL = 240


# ---------------------------------------------------------------------------------------------
# upscalers
# ---------------------------------------------------------------------------------------------

def bicubic_matlab(lr: torch.Tensor, out_size, scale=None) -> torch.Tensor:
    """MATLAB-style bicubic upscaling to ``out_size`` (float, not rounded). The factor comes from the
    sizes, not from ``scale``: an upscaling kernel does not depend on the factor, and mapping the
    output by ``scale`` where ``out_size`` is round(h·s) ≠ h·s would drift by up to half an LR pixel
    across the image (−1.1 dB on Set5 ×1.55 under the ``eqsr`` protocol)."""
    out = imresize_matlab(lr.double() * 255.0, size=tuple(out_size), rounding="none")
    return (out / 255.0).clamp(0, 1).to(lr.dtype)


def bicubic_matlab_uint8(lr: torch.Tensor, out_size, scale=None) -> torch.Tensor:
    """MATLAB ``imresize(lr, [H W])`` on the uint8 LR exactly as MATLAB runs it: uint8 after each
    pass; the factor from the sizes, as in ``bicubic_matlab``."""
    u8 = (lr.clamp(0, 1) * 255.0).round().to(torch.uint8)
    return imresize_matlab(u8, size=tuple(out_size), rounding="per_pass").to(lr.dtype) / 255.0


def bicubic_pil(lr: torch.Tensor, out_size, scale=None) -> torch.Tensor:
    """PIL bicubic upscaling of the uint8 LR (the LR is uint8 already in every protocol)."""
    u8 = (lr[0].permute(1, 2, 0).clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
    return to_tensor01(pil_bicubic(u8, out_size)).to(lr.device)


def bicubic_torch(lr: torch.Tensor, out_size, scale=None) -> torch.Tensor:
    """``torch.nn.functional.interpolate`` bicubic (a = -0.75, no antialiasing), clamped."""
    return F.interpolate(lr, size=tuple(out_size), mode="bicubic", align_corners=False).clamp(0, 1)


UPSCALERS = {"bicubic": bicubic_matlab, "bicubic-uint8": bicubic_matlab_uint8, "bicubic-pil": bicubic_pil, "bicubic-torch": bicubic_torch}


class ModelUpscaler:
    """An ``ImplicitSR`` model as an upscaler ``(lr, (H, W), scale=None) -> sr``, with a protocol's
    inference options: a thin wrapper of ``sr_lib.engine.inference.super_resolve`` (which documents
    them: ``cell_scale`` = LTE's clip, ``window`` = caller-side padding, ``None`` = the model's
    ``input_window``, ``tile`` / ``tile_overlap`` = CiaoSR's tiles, ``chunk`` = queries per decoder
    call). The caller's size and scale both reach ``super_resolve``. The LR goes to the model's
    device and dtype; the result comes back on the LR's."""

    def __init__(self, model, cell_scale: float = 1.0, window: int | None = None, tile: int = 0,
                 tile_overlap: int = 0, chunk: int = DEFAULT_CHUNK):
        self.model = model
        self.options = {"cell_scale": cell_scale, "window": window, "tile": tile,
                        "tile_overlap": tile_overlap, "chunk": chunk}

    def _decode_sizes(self, lr_hw, out_hw, scale):
        """(LR, HR) sizes of the whole-image decode: window padding included (``super_resolve``)."""
        s_hw = (float(scale),) * 2 if scale is not None else (out_hw[0] / lr_hw[0], out_hw[1] / lr_hw[1])
        window = self.options["window"]
        window = int(getattr(self.model, "input_window", 0) if window is None else window)
        if not window:
            return tuple(lr_hw), tuple(out_hw)
        hw = tuple((n // window + 1) * window for n in lr_hw)
        return hw, hr_size_for(hw, s_hw)

    def memory_needed(self, lr_hw, out_hw, scale=None) -> float:
        """Bytes the decode of one image needs at the smallest chunk (``sr_lib.engine.memory.estimate``;
        a tiled decode: its tiles and whole-image accumulators)."""
        tile, overlap = self.options["tile"], self.options["tile_overlap"]
        dec_lr, dec_out = (tuple(lr_hw), tuple(out_hw)) if tile else self._decode_sizes(lr_hw, out_hw, scale)
        return estimate(self.model, dec_lr, dec_out, min(MIN_CHUNK, dec_out[0] * dec_out[1]),
                        tile=tile, tile_overlap=overlap).peak

    def __call__(self, lr: torch.Tensor, out_size, scale=None, budget=None) -> torch.Tensor:
        p = next(self.model.parameters(), None)
        x = lr if p is None else lr.to(device=p.device, dtype=p.dtype)
        options = dict(self.options)
        if budget is not None and math.isfinite(budget) and not options["tile"]:
            dec_lr, dec_out = self._decode_sizes(lr.shape[-2:], tuple(out_size), scale)
            options["chunk"] = plan_chunk(self.model, dec_lr, dec_out, options["chunk"], budget=budget)
        sr = super_resolve(self.model, x, scale=scale, out_size=out_size, **options)   # [B,3,H,W]
        return sr.to(device=lr.device, dtype=lr.dtype)


def _is_model(obj) -> bool:
    return isinstance(obj, torch.nn.Module) and hasattr(obj, "encode") and hasattr(obj, "query")


def as_upscaler(upscaler, protocol=None, scale=None):
    """A callable upscaler: names in ``UPSCALERS``, callables as they are, models (``encode`` +
    ``query``) wrapped with ``protocol.inference_options(scale)``."""
    if isinstance(upscaler, str):
        if upscaler not in UPSCALERS:
            raise ValueError(f"unknown upscaler {upscaler!r}; known: {', '.join(UPSCALERS)}")
        return UPSCALERS[upscaler]
    if _is_model(upscaler):
        opts = get_protocol(protocol).inference_options(scale) if protocol else {}
        return ModelUpscaler(upscaler, **opts)
    if callable(upscaler):
        return upscaler
    raise TypeError(f"not an upscaler: {type(upscaler).__name__}")


# ---------------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------------

def evaluate(upscaler, dataset, scale, protocol, data_root=None,
             limit: int | None = None, progress: bool = False) -> dict:
    """PSNR/SSIM of ``upscaler`` on ``dataset`` (an ``ImageSet`` or a name) at ``scale``.

    For each HR image: ``protocol.make_pair`` → LR → upscaler → ``protocol.score``.
    Returns ``{dataset, scale, protocol, psnr, ssim, n_images, bundled, per_image}`` where
    the means are over images (every framework averages per-image values) and
    ``per_image`` lists ``{image, psnr, ssim, lr_hw, hr_hw}``.
    """
    proto = get_protocol(protocol)
    s = check_scale(scale)
    if not isinstance(dataset, ImageSet):
        dataset = load_dataset(dataset, data_root, limit=limit)
    up = as_upscaler(upscaler, proto, s)
    metric_name = dataset.name.split(" (")[0]
    rows = []
    for i, (name, hr) in enumerate(dataset):
        if limit is not None and i >= limit:
            break
        try:                # the protocol's refusals (an image too small for the scale or the shave), named
            lr, hr_c = proto.make_pair(hr, s)
        except ValueError as e:
            raise ValueError(f"{dataset.name} image {name}: {e}") from None
        budget = image_budget(up, name, lr.shape[:2], hr_c.shape[:2], s)
        if isinstance(up, ModelUpscaler):
            sr = up(to_tensor01(lr), hr_c.shape[:2], s, budget=budget)   # [1,3,H,W]
        else:
            sr = up(to_tensor01(lr), hr_c.shape[:2], s)
        try:
            p, q = proto.score(sr, hr_c, s, metric_name)
        except ValueError as e:
            raise ValueError(f"{dataset.name} image {name}: {e}") from None
        if math.isnan(p) or math.isnan(q):
            raise ValueError(f"{dataset.name} {name} x{s:g}: PSNR/SSIM is NaN (PSNR {p}, SSIM {q}): the "
                             "upscaler's output is not a valid image (NaN weights?); no result is recorded")
        if not (math.isfinite(p) and math.isfinite(q)):
            raise ValueError(f"{dataset.name} {name} x{s:g}: PSNR is infinite: the output equals the HR exactly "
                             "(a flat image, or the HR itself), which no mean over images can include; "
                             "no result is recorded")
        rows.append({"image": name, "psnr": p, "ssim": q, "lr_hw": list(lr.shape[:2]),
                     "hr_hw": list(hr_c.shape[:2])})
        if progress:
            print(f"{dataset.name} x{s:g} {name}: {p:.4f} dB {q:.4f}", file=sys.stderr, flush=True)
    if not rows:
        raise ValueError(f"dataset {dataset.name} has no images")
    return {"dataset": metric_name, "scale": s, "protocol": proto.name,
            "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ssim": float(np.mean([r["ssim"] for r in rows])),
            "n_images": len(rows), "bundled": dataset.bundled, "per_image": rows}


def image_budget(up, name, lr_hw, hr_hw, scale) -> float:
    """The memory plan of one image: the evaluation's own ``EVAL_BYTES_PER_HR_PIXEL`` per HR pixel
    plus, for a model, its decode at the smallest chunk must fit ``default_budget()``; returns the
    bytes left for the model's decode. ``MemoryBudgetError`` (one line, naming the image) otherwise."""
    budget = default_budget()
    if math.isinf(budget):
        return budget
    own = EVAL_BYTES_PER_HR_PIXEL * hr_hw[0] * hr_hw[1]
    model = up.memory_needed(lr_hw, hr_hw, scale) if isinstance(up, ModelUpscaler) else 0.0
    if own + model > budget:
        def size(b):
            return f"{b / 2**30:.2f} GB" if b >= 2 ** 30 else f"{b / 2**20:.0f} MB"
        parts = f"~{size(own)} for the images and metrics" + (f" + ~{size(model)} for the model's decode"
                                                              if model else "")
        raise MemoryBudgetError(f"image {name}: evaluating {lr_hw[0]}×{lr_hw[1]} → {hr_hw[0]}×{hr_hw[1]} needs "
                                f"{parts}, over the {size(budget)} budget (SR_MEMORY_BUDGET); "
                                "use --limit, a smaller scale, or a larger budget")
    return budget - own


# ---------------------------------------------------------------------------------------------
# results files
# ---------------------------------------------------------------------------------------------

def check_writable(path) -> Path:
    """Fail early (before any work) if ``path`` cannot be written: a regular file or nothing yet
    (never a folder, a device such as ``/dev/null`` or a FIFO), under a folder in which a file of
    the current size plus 64 KB can be written (full or read-only disks fail here), and, when it
    exists, a results CSV that can be read back."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"results path is a folder, not a file: {path}")
    if path.exists() and not path.is_file():
        raise ValueError(f"results path is not a regular file (a device or FIFO?): {path}")
    if path.name == "" or path.name.startswith("."):
        raise ValueError(f"results path needs a file name, got {str(path)!r}")
    size = path.stat().st_size if path.is_file() else 0
    check_writable_folder(path.parent, "results folder", probe_bytes=size + (1 << 16))
    if path.is_file():
        if not os.access(path, os.R_OK | os.W_OK):
            raise PermissionError(f"results file not readable and writable: {path}")
        read_results(path)
    return path


def read_results(path) -> list:
    """The rows of a results CSV (a one-line ``ValueError`` when it is not one)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"results file {path} is not a readable CSV ({type(e).__name__}); "
                         "give another --out or move it away") from None
    if rows and not set(RESULT_KEY) <= set(rows[0]):
        raise ValueError(f"results file {path} is a CSV without the result columns "
                         f"({', '.join(RESULT_KEY)}); give another --out")
    return rows


def append_results(csv_path, rows) -> Path:
    """Add ``rows`` (dicts) to the CSV at ``csv_path`` atomically (read + write tmp + rename).

    Columns: ``RESULT_COLUMNS`` first, then any extra keys in order of appearance. A row whose
    (method, backbone, profile, seed, dataset, scale, protocol) matches an existing one
    replaces it, so re-running an evaluation never duplicates a line.
    """
    path = check_writable(csv_path)
    for r in rows:
        bad = [k for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise ValueError(f"result row has non-finite {', '.join(bad)}: {r}; not recorded")
    old = read_results(path) if path.exists() else []
    new = [{k: ("" if v is None else v) for k, v in r.items()} for r in rows]
    columns = list(RESULT_COLUMNS)
    for r in old + new:
        columns += [k for k in r if k not in columns]

    def key(r):
        return tuple(_norm(r.get(k, "")) for k in RESULT_KEY)
    replaced = {key(r) for r in new}
    merged = [r for r in old if key(r) not in replaced] + new
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in merged:
        writer.writerow({c: r.get(c, "") for c in columns})
    atomic_write_text(path, buf.getvalue())
    return path


def _norm(v) -> str:
    try:
        return repr(float(v))
    except (TypeError, ValueError):
        return str(v)


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------

def add_cli(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="PSNR/SSIM of a method on a dataset under a paper's protocol")
    p.add_argument("--method", default=None,
                   help=f"{', '.join(UPSCALERS)} or a learned method (needs --checkpoint); default: the "
                        "checkpoint's method, else bicubic")
    p.add_argument("--backbone", default="", help="backbone name (recorded in the results row)")
    p.add_argument("--checkpoint", default=None, help="checkpoint of a learned method")
    p.add_argument("--dataset", required=True, help="Set5, Set14, B100, Urban100, Manga109, DIV2K-val")
    p.add_argument("--scale", required=True, help="upscaling factor >= 1 (non-integer allowed)")
    p.add_argument("--protocol", required=True, help="liif, ipe_liif, lte, ciaosr, eqsr")
    p.add_argument("--data-root", default=None, help="data root (default: SR_DATA, <repo>/data, bundled)")
    p.add_argument("--out", default=None, help="CSV to add the result row to (atomically)")
    p.add_argument("--profile", default="", help="profile recorded in the CSV row")
    p.add_argument("--seed", default="", help="seed recorded in the CSV row")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--device", default=None, help="auto | cpu | cuda[:i] (learned methods)")
    p.add_argument("--per-image", action="store_true", help="include per-image numbers in the JSON")
    p.set_defaults(func=run_cli)


def run_cli(args) -> int:
    from sr_lib.errors import UserError
    # every check that can fail runs before any work and before anything is written
    proto = get_protocol(args.protocol)
    dataset_name = canonical_name(args.dataset)
    scale = check_scale(args.scale)
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    from sr_lib.engine.device import get_device
    device = get_device(args.device)
    try:
        root = resolve_data_root(args.data_root, warn=False)
        out = check_writable(args.out) if args.out else None
    except OSError as e:
        raise UserError(str(e)) from None
    if root.bundled:
        print("warning: " + BUNDLED_NOTE, file=sys.stderr)
    if args.method is None:
        args.method = "" if args.checkpoint else "bicubic"
    method = args.method.lower()
    if method in UPSCALERS:
        if args.checkpoint:
            raise UserError(f"--checkpoint is for learned methods; {args.method!r} takes none")
        upscaler, backbone = UPSCALERS[method], args.backbone
    else:
        if not args.checkpoint:
            raise UserError(f"method {args.method!r} is learned: give --checkpoint PATH "
                            f"(or use one of {', '.join(UPSCALERS)})")
        if not Path(args.checkpoint).is_file():
            raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
        from sr_lib.engine.checkpoint import load_checkpoint
        upscaler = load_checkpoint(args.checkpoint).to(device).eval()
        spec = getattr(upscaler, "spec", None) or getattr(upscaler, "official_config", None) or {}
        if method and spec.get("name") and spec["name"] != method:
            raise UserError(f"{args.checkpoint} holds a {spec['name']!r} model, not --method {args.method!r}")
        args.method = args.method or spec.get("name") or Path(args.checkpoint).stem
        args_ = spec.get("args") or {}
        own = str(args_.get("backbone") or (args_.get("encoder_spec") or {}).get("name") or "")
        if args.backbone and own and args.backbone != own:
            raise UserError(f"{args.checkpoint} holds a model on backbone {own!r}, not --backbone {args.backbone!r}")
        backbone = args.backbone or own
    dataset = load_dataset(dataset_name, root, limit=args.limit)
    res = evaluate(upscaler, dataset, scale, proto, limit=args.limit)
    summary = {"method": args.method, "backbone": backbone, "profile": args.profile, "seed": args.seed,
               "dataset": res["dataset"], "scale": res["scale"], "protocol": res["protocol"],
               "psnr": round(res["psnr"], 6), "ssim": round(res["ssim"], 6),
               "n_images": res["n_images"], "bundled": res["bundled"]}
    if out is not None:
        append_results(out, [{k: v for k, v in summary.items() if k != "bundled"}])
        summary["out"] = str(out)
    if args.per_image:
        summary["per_image"] = res["per_image"]
    print(json.dumps(summary, allow_nan=False))
    return 0


__all__ = ["evaluate", "append_results", "check_writable", "read_results", "image_budget", "EVAL_BYTES_PER_HR_PIXEL",
           "ModelUpscaler", "as_upscaler",
           "bicubic_matlab", "bicubic_matlab_uint8", "bicubic_pil", "bicubic_torch", "UPSCALERS", "RESULT_COLUMNS"]

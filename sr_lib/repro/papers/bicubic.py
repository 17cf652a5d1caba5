"""Protocol search for the printed Bicubic rows (issue 2, "How it is checked").

A Bicubic cell of a paper table depends on nothing learned, only on *how* the numbers were
made: how the LR was produced from the HR, how it was blown back up, which pixels were
compared and on which channel. The papers do not say for most cells, so we enumerate the
plausible answers and look for the one that reproduces the printed number
(``reference-implementations.md`` §1.4, §6.3, §8, §9).

A **candidate** is a :class:`Pipeline` (how the Bicubic SR image is made) plus a
measurement (border ``shave``, ``quantize`` to uint8 or not, and ``gray`` — how a
single-channel file such as Set14 ``bridge.png`` is scored):

=============  ===============================================================================
``down``       ``matlab`` (MATLAB ``imresize``, uint8 per pass: the stored LR folders),
               ``matlab_float`` (float passes, one rounding), ``pil`` (PIL bicubic on uint8,
               antialiased), ``torch`` / ``torch_aa`` (``F.interpolate`` bicubic without / with
               antialias, rounded to uint8)
``up``         ``matlab``, ``pil``, ``torch`` (bicubic, float), ``torch_sf`` (the same called
               with ``scale_factor=s``: output floor(h_lr·s), sampling positions at exactly
               1/s, HR cropped to the output), ``torch_ac`` (``align_corners=True``),
               ``torch_bilinear``,
               ``pil_bilinear``, ``nearest``
``size_rule``  ``floor_crop`` (official: h_lr = floor(H/s + 1e-9), HR cropped to
               round(h_lr·s)), ``ceil_full`` (MATLAB ``imresize(HR, 1/s)`` → ceil(H/s), SR
               resized back to the full H×W), ``floor_full`` (floor LR, SR back to H×W)
``domain``     ``rgb`` (resize the RGB image, Y of the result) or ``y`` (SRCNN/VDSR-era
               MATLAB scripts: resize the rounded Y channel alone, in float)
``gray``       ``y`` (a grey file is replicated to RGB and its Y taken, 16–235 range) or
               ``raw`` (the grey values themselves, as ``if size(im,3) > 1`` scripts do)
=============  ===============================================================================

MATLAB resizes are linear per pass, so they are applied as cached sparse operators obtained by
resizing an identity matrix with :func:`sr_lib.data.resize.imresize_matlab` itself — the same
weights, fast enough for Urban100 at full resolution (checked in
``tests/test_bicubic_search.py``).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from PIL import Image

from sr_lib.data.datasets import load_dataset
from sr_lib.data.resize import imresize_matlab, lr_size_for, hr_size_for, mod_crop
from sr_lib.metrics.protocols import PAPER_PROTOCOL, get_protocol
from sr_lib.metrics.psnr_ssim import Y_COEFFS, ssim

DOWNS = ("matlab", "matlab_float", "pil", "torch", "torch_aa")
UPS = ("matlab", "pil", "torch", "torch_sf", "torch_ac", "torch_bilinear", "pil_bilinear", "nearest")
SIZE_RULES = ("floor_crop", "ceil_full", "floor_full")
FLOAT_UPS = ("torch", "torch_sf", "torch_ac", "torch_bilinear", "nearest")          # outputs that are not yet uint8
BASE_SHAVES = (0, 1, 2, 3, 4, 6, 8, 10)


@dataclass(frozen=True)
class Pipeline:
    """How a Bicubic SR image is made from an HR image (see the module table)."""

    down: str = "matlab"
    up: str = "matlab"
    size_rule: str = "floor_crop"
    domain: str = "rgb"
    hr_mod: int = 1

    def __post_init__(self):
        for value, allowed in ((self.down, DOWNS), (self.up, UPS), (self.size_rule, SIZE_RULES),
                               (self.domain, ("rgb", "y"))):
            if value not in allowed:
                raise ValueError(f"unknown pipeline option {value!r}; allowed: {', '.join(allowed)}")

    @property
    def key(self) -> str:
        mod = f"|mod{self.hr_mod}" if self.hr_mod > 1 else ""
        return f"{self.domain}|{self.size_rule}|{self.down}>{self.up}{mod}"


def default_pipelines(full: bool = False) -> list:
    """The search grid.

    Default (36 pipelines, what the notebook runs): every down in (matlab, pil, torch) × every
    up except ``pil_bilinear`` under the official ``floor_crop`` size rule; the two other
    size rules for matlab/pil downs × matlab/pil/torch ups; the SRCNN-style Y pipeline under
    each size rule. ``full=True``: the complete product of all options (≈ 3× slower).
    """
    if full:
        grid = [Pipeline(d, u, r) for r in SIZE_RULES for d in DOWNS for u in UPS]
    else:
        grid = [Pipeline(d, u, "floor_crop") for d in ("matlab", "pil", "torch")
                for u in UPS if u != "pil_bilinear"]
        grid += [Pipeline(d, u, r) for r in SIZE_RULES[1:] for d in ("matlab", "pil")
                 for u in ("matlab", "pil", "torch")]
    return grid + [Pipeline("matlab_float", "matlab", r, "y") for r in SIZE_RULES]


def shaves_for(scale: float) -> list:
    """Border widths tried at ``scale``: fixed 0–10 and floor/ceil/round(s)."""
    s = float(scale)
    return sorted(set(BASE_SHAVES) | {math.floor(s + 1e-9), math.ceil(s - 1e-9), int(round(s))})


def shave_labels(shave: int, scale: float) -> str:
    """How a numeric shave can be named at ``scale`` (e.g. ``'4 = ceil(s)'``)."""
    s = float(scale)
    names = [n for n, v in (("floor(s)", math.floor(s + 1e-9)), ("ceil(s)", math.ceil(s - 1e-9)),
                            ("round(s)", int(round(s)))) if v == shave]
    return f"{shave}" + (f" = {'/'.join(names)}" if names else "")


# ----------------------------------------------------------------------------- resizers
@lru_cache(maxsize=512)
def _matlab_operator(n_in: int, n_out: int, scale: float, antialias: bool = True) -> sp.csr_matrix:
    """Sparse [n_out, n_in] matrix of one MATLAB bicubic pass (probe ``imresize_matlab`` with I)."""
    eye = np.eye(n_in)                                                        # [n_in, n_in]
    m = imresize_matlab(eye, scale=(scale, 1.0), size=(n_out, n_in), rounding="none",
                        antialias=antialias)                                  # [n_out, n_in]
    m[np.abs(m) < 1e-15] = 0.0
    return sp.csr_matrix(m)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """MATLAB rounding (halves away from zero); callers clip to [0, 255] afterwards, where
    floor(x + 0.5) gives the same result for every x."""
    return np.floor(x + 0.5)


def matlab_resize_fast(img: np.ndarray, size, scale=None, rounding: str = "per_pass") -> np.ndarray:
    """``imresize_matlab`` for ``[H, W]``/``[H, W, C]`` arrays via cached sparse operators.

    Same pass order (smaller factor first, rows on ties) and rounding modes; returns float64
    (integer-valued unless ``rounding == "none"``).
    """
    a = np.asarray(img, dtype=np.float64)
    squeeze = a.ndim == 2
    a = a.reshape(a.shape[0], a.shape[1], -1)                                 # [H,W,C]
    h, w = a.shape[:2]
    scales = (scale, scale) if scale is not None else (size[0] / h, size[1] / w)
    for d in sorted((0, 1), key=lambda d: scales[d]):
        n_in, n_out = a.shape[d], size[d]
        if n_in == n_out and scales[d] == 1:
            continue
        op = _matlab_operator(n_in, n_out, float(scales[d]))
        if d == 0:
            a = (op @ a.reshape(n_in, -1)).reshape(n_out, a.shape[1], a.shape[2])
        else:
            a = (op @ a.transpose(1, 0, 2).reshape(n_in, -1)).reshape(n_out, a.shape[0], a.shape[2])
            a = a.transpose(1, 0, 2)
        if rounding == "per_pass":
            a = np.clip(_round_half_away(a), 0, 255)
    if rounding == "final":
        a = np.clip(_round_half_away(a), 0, 255)
    return a[..., 0] if squeeze else a


def _pil_resize(img: np.ndarray, size, resample) -> np.ndarray:
    a = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
    chans = [a] if a.ndim == 2 else [a[..., c] for c in range(a.shape[2])]
    out = [np.asarray(Image.fromarray(c).resize((size[1], size[0]), resample=resample)) for c in chans]
    return (out[0] if a.ndim == 2 else np.stack(out, -1)).astype(np.float64)


def _torch_resize(img: np.ndarray, size, mode: str, antialias: bool = False,
                  align_corners: bool = False) -> np.ndarray:
    a = np.asarray(img, dtype=np.float64)
    t = torch.from_numpy(a.reshape(a.shape[0], a.shape[1], -1)).permute(2, 0, 1)[None]  # [1,C,H,W]
    kw = {} if mode == "nearest" else {"align_corners": align_corners}
    if antialias:
        kw["antialias"] = True
    t = F.interpolate(t, size=tuple(size), mode=mode, **kw)
    out = t[0].permute(1, 2, 0).numpy()
    return out[..., 0] if a.ndim == 2 else out


def downscale(img: np.ndarray, size, how: str, scale: float | None) -> np.ndarray:
    """LR of ``img`` (values 0..255) at ``size``; ``scale`` = 1/s sets MATLAB's kernel when given."""
    if how == "matlab":
        return matlab_resize_fast(img, size, scale, "per_pass")
    if how == "matlab_float":
        return matlab_resize_fast(img, size, scale, "final")
    if how == "pil":
        return _pil_resize(img, size, Image.BICUBIC)
    lr = _torch_resize(img, size, "bicubic", antialias=(how == "torch_aa"))
    return np.clip(np.round(lr), 0, 255)


def upscale(img: np.ndarray, size, how: str, scale: float | None = None) -> np.ndarray:
    """Bicubic (or bilinear/nearest) blow-up of ``img`` to ``size``; float for torch modes.
    ``how="torch_sf"`` calls ``F.interpolate(scale_factor=scale)`` (``size`` must be its
    output size, floor(n·scale))."""
    if how == "torch_sf":
        a = np.asarray(img, dtype=np.float64)
        t = torch.from_numpy(a).permute(2, 0, 1)[None]                                  # [1,C,h,w]
        t = F.interpolate(t, scale_factor=float(scale), mode="bicubic", align_corners=False)
        out = t[0].permute(1, 2, 0).numpy()
        assert out.shape[:2] == tuple(size), (out.shape, size)
        return np.clip(out, 0, 255)
    if how == "matlab":
        return matlab_resize_fast(img, size, None, "per_pass")
    if how == "pil":
        return _pil_resize(img, size, Image.BICUBIC)
    if how == "pil_bilinear":
        return _pil_resize(img, size, Image.BILINEAR)
    mode = {"torch": "bicubic", "torch_ac": "bicubic", "torch_bilinear": "bilinear",
            "nearest": "nearest"}[how]
    return np.clip(_torch_resize(img, size, mode, align_corners=(how == "torch_ac")), 0, 255)


# ----------------------------------------------------------------------------- one image
def y_of(rgb: np.ndarray) -> np.ndarray:
    """MATLAB BT.601 luma of an RGB array on [0, 255] (same coefficients as psnr_ssim)."""
    return 16.0 + np.asarray(rgb, np.float64) @ (np.array(Y_COEFFS) / 255.0)


def _sizes(hw, scale: float, size_rule: str):
    """(LR size, SR/reference size, kernel scale or None) under ``size_rule``."""
    H, W = hw
    if size_rule == "floor_crop":
        lr_hw = lr_size_for((H, W), scale)
        return lr_hw, hr_size_for(lr_hw, scale), 1.0 / scale
    if size_rule == "ceil_full":
        return (math.ceil(H / scale - 1e-9), math.ceil(W / scale - 1e-9)), (H, W), 1.0 / scale
    return lr_size_for((H, W), scale), (H, W), None


def bicubic_signals(hr: np.ndarray, scale: float, pipe: Pipeline, single_channel: bool = False) -> dict:
    """Bicubic SR of a uint8 HR ``[H, W, 3]`` under ``pipe``, as the signals a metric compares.

    Returns ``{(gray, quantize): (sr, ref)}`` with ``[H', W']`` float arrays on [0, 255]:
    ``gray="y"`` is the Y of the RGB result (``domain="rgb"``) or the resized Y channel itself
    (``domain="y"``); ``gray="raw"`` (only for ``single_channel`` files) uses the grey values
    instead. ``quantize=True`` rounds the SR output to integers first; pipelines whose output
    is already uint8 (MATLAB/PIL ups) only give ``quantize=True``.
    """
    s = float(scale)
    if pipe.hr_mod > 1:
        hr = mod_crop(hr, pipe.hr_mod)
    lr_hw, out_hw, kernel_scale = _sizes(hr.shape[:2], s, pipe.size_rule)
    hr = hr[:out_hw[0], :out_hw[1]].astype(np.float64)        # the HR the LR is made from
    if pipe.up == "torch_sf":                                   # torch's output size for scale_factor
        out_hw = tuple(min(o, math.floor(float(n) * s)) for o, n in zip(out_hw, lr_hw))
    is_float = pipe.up in FLOAT_UPS or pipe.domain == "y"
    grays = ("y", "raw") if single_channel else ("y",)
    out = {}
    if pipe.domain == "rgb":
        sr = upscale(downscale(hr, lr_hw, pipe.down, kernel_scale), out_hw, pipe.up, s)  # [H',W',3]
        ref = hr[:out_hw[0], :out_hw[1]]
        for quantize in ((True, False) if is_float else (True,)):
            img = np.clip(_round_half_away(sr), 0, 255) if quantize else sr
            for g in grays:
                out[(g, quantize)] = (img[..., 0], ref[..., 0]) if g == "raw" else (y_of(img), y_of(ref))
        return out
    for g in grays:  # SRCNN/VDSR scripts: rounded Y (or the raw grey) resized in float
        src = hr[..., 0] if g == "raw" else np.clip(_round_half_away(y_of(hr)), 0, 255)
        sr = matlab_resize_fast(matlab_resize_fast(src, lr_hw, kernel_scale, "none"), out_hw, None, "none")
        out[(g, True)] = (np.clip(_round_half_away(sr), 0, 255), src)
        out[(g, False)] = (sr, src)
    return out


def psnr_by_shave(sr: np.ndarray, ref: np.ndarray, shaves) -> dict:
    """{shave: PSNR dB (peak 255)} of two single-channel signals, one error map for all."""
    err = (np.asarray(sr, np.float64) - ref) ** 2
    out = {}
    for b in shaves:
        e = err[b:err.shape[0] - b, b:err.shape[1] - b]
        mse = float(e.mean()) if e.size else float("nan")
        out[b] = float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
    return out


def image_rows(name: str, hr: np.ndarray, scale: float, pipelines, single_channel: bool = False) -> list:
    """Per-image PSNR of every pipeline × quantize × shave (``psnr_raw``: grey files only)."""
    rows, shaves = [], shaves_for(scale)
    for pipe in pipelines:
        sig = bicubic_signals(hr, scale, pipe, single_channel)
        for quantize in sorted({q for _, q in sig}, reverse=True):
            by = {g: psnr_by_shave(*sig[(g, quantize)], shaves) for g, q in sig if q == quantize}
            for b in shaves:
                rows.append({"image": name, "scale": float(scale), "pipeline": pipe.key,
                             "quantize": quantize, "shave": b, "psnr_y": by["y"][b],
                             "psnr_raw": by["raw"][b] if "raw" in by else np.nan})
    return rows


# ----------------------------------------------------------------------------- data sets
def scan(dataset, scales, pipelines, cache_dir=None, progress=None) -> pd.DataFrame:
    """Per-image PSNR table of ``pipelines`` on an ``ImageSet`` at ``scales``.

    Columns: dataset, image, scale, pipeline, quantize, shave, psnr_y, psnr_raw. Grey files
    (single-channel on disk, e.g. Set14 ``bridge.png``) also get ``psnr_raw``. With
    ``cache_dir`` each (dataset, scale) result is stored as CSV; later calls compute only the
    pipelines it lacks (delete the folder to recompute).
    """
    frames = []
    grey = single_channel_images(dataset)
    for s in scales:
        path, cached, todo = None, None, list(pipelines)
        if cache_dir is not None:
            path = Path(cache_dir) / f"{dataset.name}_x{float(s):g}.csv.gz"
            if path.is_file():
                cached = pd.read_csv(path)
                todo = [p for p in pipelines if p.key not in set(cached["pipeline"])]
        rows = []
        for i, (name, hr) in enumerate(dataset if todo else []):
            rows += image_rows(name, hr, float(s), todo, name in grey)
            if progress:
                progress(f"{dataset.name} x{float(s):g}: {i + 1}/{len(dataset)}")
        df = pd.DataFrame(rows)
        if len(df):
            df.insert(0, "dataset", dataset.name)
        if cached is not None:
            df = pd.concat([cached, df], ignore_index=True)
        if path is not None and todo:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
            df.to_csv(tmp, index=False, compression="gzip")
            os.replace(tmp, path)
        frames.append(df[df["pipeline"].isin({p.key for p in pipelines})])
    return pd.concat(frames, ignore_index=True)


def single_channel_images(dataset) -> set:
    """Names of the images stored as one channel on disk (``dataset.folder``), e.g. bridge."""
    folder = getattr(dataset, "folder", None)
    if folder is None:
        return set()
    out = set()
    for f in Path(folder).iterdir():
        if f.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"):
            with Image.open(f) as im:
                if im.mode in ("1", "L", "I", "I;16", "F"):
                    out.add(f.stem)
    return out


def candidate_key(pipeline: str, quantize: bool, shave: int, gray: str) -> str:
    return f"{pipeline}|{'uint8' if quantize else 'float'}|shave{int(shave)}|grey-{gray}"


def summarize(per_image: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR per (dataset, scale, candidate); ``gray="raw"`` rows only where it differs."""
    df = per_image.copy()
    df["psnr_rawmix"] = df["psnr_raw"].fillna(df["psnr_y"])
    keys = ["dataset", "scale", "pipeline", "quantize", "shave"]
    agg = df.groupby(keys, as_index=False).agg(psnr_y=("psnr_y", "mean"), psnr_raw=("psnr_rawmix", "mean"),
                                               has_grey=("psnr_raw", lambda v: v.notna().any()),
                                               n_images=("image", "nunique"))
    out = [agg.assign(gray="y", psnr=agg["psnr_y"])]
    grey = agg[agg["has_grey"]]
    if len(grey):
        out.append(grey.assign(gray="raw", psnr=grey["psnr_raw"]))
    res = pd.concat(out, ignore_index=True).drop(columns=["psnr_y", "psnr_raw", "has_grey"])
    res["candidate"] = [candidate_key(p, q, b, g) for p, q, b, g in
                        zip(res["pipeline"], res["quantize"], res["shave"], res["gray"])]
    return res


# ----------------------------------------------------------------------------- protocols
def stated_candidate(paper: str, scale: float, dataset: str = "") -> str:
    """Candidate key of the Bicubic baseline under the paper's own evaluation protocol.

    LR as the protocol's ``make_pair`` makes it (MATLAB per pass at ×2/3/4, PIL otherwise,
    official size rule, ``hr_mod``), blown up with MATLAB bicubic to the HR crop, scored with
    the protocol's rounding, channel and border (``sr_lib.metrics.protocols``).
    """
    proto = get_protocol(PAPER_PROTOCOL.get(paper, paper))
    pipe = Pipeline("matlab" if proto.lr_method(scale) == "matlab" else "pil", "matlab", "floor_crop",
                    hr_mod=proto.hr_mod)
    return candidate_key(pipe.key, True, proto.shave(scale, dataset), "y")


def pipeline_from_key(key: str) -> Pipeline:
    """Inverse of ``Pipeline.key``."""
    parts = key.split("|")
    down, up = parts[2].split(">")
    mod = int(parts[3][3:]) if len(parts) > 3 else 1
    return Pipeline(down, up, parts[1], parts[0], mod)


def parse_candidate(key: str) -> dict:
    """``candidate_key`` → {pipeline, quantize, shave, gray}."""
    parts = key.split("|")
    return {"pipeline": "|".join(parts[:-3]), "quantize": parts[-3] == "uint8",
            "shave": int(parts[-2][5:]), "gray": parts[-1][5:]}


def match_cells(cells: pd.DataFrame, summary: pd.DataFrame, tol: float = 0.01) -> pd.DataFrame:
    """Best candidate per printed PSNR cell.

    ``cells``: columns paper, table, dataset, scale, printed (PSNR). Adds ``stated`` (the
    paper's protocol), ``ours_stated``, ``best``, ``ours_best``, ``n_match`` (candidates
    within ``tol``) and ``matches`` (up to 5 of them, closest first).
    """
    rows = []
    for c in cells.itertuples(index=False):
        sub = summary[(summary["dataset"] == c.dataset) & np.isclose(summary["scale"], float(c.scale))]
        d = (sub["psnr"] - float(c.printed)).abs()
        stated = stated_candidate(c.paper, float(c.scale), c.dataset)
        st = sub[sub["candidate"] == stated]
        best = sub.loc[d.idxmin()] if len(sub) else None
        ok = sub[d <= tol + 1e-9].assign(_d=d[d <= tol + 1e-9]).sort_values("_d")
        rows.append({**c._asdict(), "stated": stated,
                     "ours_stated": float(st["psnr"].iloc[0]) if len(st) else np.nan,
                     "best": best["candidate"] if best is not None else "",
                     "ours_best": float(best["psnr"]) if best is not None else np.nan,
                     "n_match": len(ok), "matches": ";".join(ok["candidate"].head(5))})
    out = pd.DataFrame(rows)
    out["delta_stated"] = out["ours_stated"] - out["printed"]
    out["delta_best"] = out["ours_best"] - out["printed"]
    return out


def best_common_candidate(cells: pd.DataFrame, summary: pd.DataFrame, tol: float = 0.01) -> pd.DataFrame:
    """Candidates ranked by how many of ``cells`` they reproduce within ``tol`` (one protocol
    for a whole table), ties broken by mean |delta|."""
    merged = cells.merge(summary, on=["dataset", "scale"], how="inner")
    merged["absd"] = (merged["psnr"] - merged["printed"].astype(float)).abs()
    merged["hit"] = merged["absd"] <= tol + 1e-9
    rank = merged.groupby("candidate", as_index=False).agg(n_hit=("hit", "sum"), n_cells=("hit", "size"),
                                                           mean_absd=("absd", "mean"))
    return rank.sort_values(["n_hit", "mean_absd"], ascending=[False, True], ignore_index=True)


# ----------------------------------------------------------------------------- orchestration
def stated_pipeline(paper: str, scale: float) -> Pipeline:
    return pipeline_from_key(parse_candidate(stated_candidate(paper, scale))["pipeline"])


def shortlist(matches: pd.DataFrame, k: int = 3) -> list:
    """The ``k`` pipelines that reproduce most small-set cells (from ``match_cells`` output),
    for the expensive data sets; the stated pipelines are added by the caller."""
    counts: dict = {}
    for ms in matches["matches"]:
        for pipe in {parse_candidate(c)["pipeline"] for c in str(ms).split(";") if c}:
            counts[pipe] = counts.get(pipe, 0) + 1
    ranked = sorted(counts, key=lambda p: (-counts[p], p))
    return [pipeline_from_key(p) for p in ranked[:k]]


def score_candidate(dataset, scale: float, candidate: str, with_ssim: bool = True) -> pd.DataFrame:
    """Per-image PSNR (and SSIM: valid 11×11 Gaussian, ``sr_lib.metrics.psnr_ssim.ssim``) of
    one candidate on an ``ImageSet``; columns image, psnr, ssim."""
    c = parse_candidate(candidate)
    pipe = pipeline_from_key(c["pipeline"])
    grey = single_channel_images(dataset)
    rows = []
    for name, hr in dataset:
        sig = bicubic_signals(hr, scale, pipe, name in grey)
        g = c["gray"] if name in grey else "y"
        sr, ref = sig[(g, c["quantize"])]
        b = c["shave"]
        p = psnr_by_shave(sr, ref, [b])[b]
        s = ssim(sr, ref, b, y_channel=False) if with_ssim else np.nan
        rows.append({"image": name, "psnr": p, "ssim": s})
    return pd.DataFrame(rows)


def describe_candidate(candidate: str, scale: float | None = None) -> str:
    """A readable sentence for a candidate key."""
    c = parse_candidate(candidate)
    p = pipeline_from_key(c["pipeline"])
    dom = "RGB, metric on Y" if p.domain == "rgb" else "Y channel only (SRCNN-style, float)"
    shave = shave_labels(c["shave"], scale) if scale is not None else str(c["shave"])
    grey = "grey files on raw values" if c["gray"] == "raw" else "grey files as RGB→Y"
    return (f"LR {p.down} ({p.size_rule}), up {p.up}, {dom}, "
            f"{'uint8' if c['quantize'] else 'float'} output, shave {shave}, {grey}")


@dataclass
class SearchPlan:
    """What :func:`reproduce_bicubic` computes.

    ``datasets``: data sets to score (others are reported as skipped); ``scales``: optional
    allow-list of scales; ``full_grid_sets``: sets that get the whole ``pipelines`` grid
    (cheap ones), the others only the stated pipelines, the ``shortlist_k`` pipelines that
    reproduced most cells of the full-grid sets and ``extra_pipelines``; ``ssim``: score
    printed SSIM cells too: the stated protocol everywhere, the cell's best PSNR candidate
    on ``ssim_best_sets`` (SSIM of full-resolution Urban100 is the slowest step).
    """

    datasets: tuple = ("Set5", "Set14", "B100", "Urban100")
    scales: tuple | None = None
    full_grid_sets: tuple = ("Set5", "Set14")
    pipelines: tuple | None = None
    shortlist_k: int = 1
    extra_pipelines: tuple = (Pipeline("pil", "nearest"), Pipeline("pil", "torch"), Pipeline("pil", "torch_sf"))
    ssim: bool = True
    ssim_best_sets: tuple = ("Set5", "Set14")
    tol: float = 0.01


def reproduce_bicubic(cells: pd.DataFrame, data_root, plan: SearchPlan, cache_dir=None, progress=None) -> dict:
    """Recompute printed Bicubic cells (``paper_tables.bicubic_cells``) and search protocols.

    Returns ``{"psnr": match_cells output, "ssim": SSIM cells with ours, "per_image":
    scan output, "summary": summarize output, "skipped": cells not computed + reason,
    "shortlist": pipelines used on the other sets}``.
    """
    cells = cells.copy()
    cells["scale"] = cells["scale"].astype(float)
    keep = cells["dataset"].isin(plan.datasets)
    if plan.scales is not None:
        keep &= cells["scale"].isin([float(s) for s in plan.scales])
    skipped = cells[~keep].copy()
    skipped["reason"] = np.where(skipped["dataset"].isin(plan.datasets), "scale not in this run's plan",
                                 "data set not in this run's plan")
    todo = cells[keep]
    psnr_cells = todo[todo["metric"] == "psnr"].drop_duplicates(["paper", "table", "dataset", "scale"])
    grid = list(plan.pipelines or default_pipelines())
    sets = {n: load_dataset(n, data_root) for n in plan.datasets if n in set(todo["dataset"])}

    def stated_pipes(sub):
        return {stated_pipeline(p, s).key: stated_pipeline(p, s) for p, s in zip(sub["paper"], sub["scale"])}

    per, matches, short = [], [], []
    for stage in ("full", "short"):
        names = [n for n in sets if (n in plan.full_grid_sets) == (stage == "full")]
        if stage == "short" and names:
            short = shortlist(pd.concat(matches), plan.shortlist_k) if matches else []
        for n in names:
            sub = psnr_cells[psnr_cells["dataset"] == n]
            pipes = dict(stated_pipes(sub))
            pipes.update({p.key: p for p in (grid if stage == "full" else short + list(plan.extra_pipelines))})
            df = scan(sets[n], sorted(sub["scale"].unique()), list(pipes.values()), cache_dir, progress)
            per.append(df)
            summ = summarize(df)
            matches.append(match_cells(sub[["paper", "table", "dataset", "scale", "printed"]], summ, plan.tol))
    per_image = pd.concat(per, ignore_index=True) if per else pd.DataFrame()
    psnr_m = pd.concat(matches, ignore_index=True) if matches else pd.DataFrame()
    ssim_rows = []
    if plan.ssim:
        for c in todo[todo["metric"] == "ssim"].itertuples(index=False):
            row = psnr_m[(psnr_m["table"] == c.table) & (psnr_m["dataset"] == c.dataset)
                         & np.isclose(psnr_m["scale"], c.scale)]
            cands = {"stated": stated_candidate(c.paper, c.scale, c.dataset)}
            if len(row) and row["best"].iloc[0] and c.dataset in plan.ssim_best_sets:
                cands["best"] = row["best"].iloc[0]
            res = {"paper": c.paper, "table": c.table, "dataset": c.dataset, "scale": c.scale,
                   "printed": c.printed}
            for tag, cand in cands.items():
                sc = _cached(cache_dir, f"ssim_{c.dataset}_x{c.scale:g}_{_slug(cand)}.csv",
                             lambda: score_candidate(sets[c.dataset], c.scale, cand))
                res[f"ours_{tag}"], res[tag] = float(sc["ssim"].mean()), cand
            ssim_rows.append(res)
    ssim_m = pd.DataFrame(ssim_rows)
    return {"psnr": psnr_m, "ssim": ssim_m, "per_image": per_image,
            "summary": summarize(per_image) if len(per_image) else per_image,
            "skipped": skipped, "shortlist": [p.key for p in short]}


def _slug(candidate: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in candidate)


def _cached(cache_dir, name: str, compute) -> pd.DataFrame:
    """``compute()`` once per ``cache_dir/name`` (CSV, written atomically)."""
    if cache_dir is None:
        return compute()
    path = Path(cache_dir) / name
    if path.is_file():
        return pd.read_csv(path)
    df = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return df


def bicubic_table(result: dict, tol: float = 0.01) -> pd.DataFrame:
    """The ``results/<profile>/bicubic.csv`` table: one row per printed Bicubic cell computed.

    Columns: paper, table, dataset, scale, metric, printed, ours (stated protocol), delta,
    protocol (stated candidate), match (|delta| ≤ tol), best_candidate, best_ours,
    best_delta, n_candidates_within_tol (PSNR only).
    """
    out = []
    p = result["psnr"]
    if len(p):
        out.append(pd.DataFrame({
            "paper": p["paper"], "table": p["table"], "dataset": p["dataset"], "scale": p["scale"],
            "metric": "psnr", "printed": p["printed"], "ours": p["ours_stated"], "delta": p["delta_stated"],
            "protocol": p["stated"], "best_candidate": p["best"], "best_ours": p["ours_best"],
            "best_delta": p["delta_best"], "n_candidates_within_tol": p["n_match"]}))
    s = result["ssim"]
    if len(s):
        best = s["best"] if "best" in s else ""
        best_ours = s["ours_best"] if "ours_best" in s else np.nan
        out.append(pd.DataFrame({
            "paper": s["paper"], "table": s["table"], "dataset": s["dataset"], "scale": s["scale"],
            "metric": "ssim", "printed": s["printed"], "ours": s["ours_stated"],
            "delta": s["ours_stated"] - s["printed"], "protocol": s["stated"], "best_candidate": best,
            "best_ours": best_ours, "best_delta": best_ours - s["printed"], "n_candidates_within_tol": np.nan}))
    if not out:
        return pd.DataFrame()
    t = pd.concat(out, ignore_index=True)
    lim = np.where(t["metric"] == "ssim", 0.0005, tol) + 1e-9
    t["match"] = t["delta"].abs() <= lim
    t["best_match"] = t["best_delta"].abs() <= lim
    return t.sort_values(["paper", "table", "metric", "dataset", "scale"], ignore_index=True)

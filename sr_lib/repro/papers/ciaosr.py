"""CiaoSR tables that the shared table machinery (``sr_lib.repro.experiments``) does not cover.

``experiments.run_table`` trains/evaluates rows of PSNR/SSIM tables. CiaoSR also prints:

- Table 6: ×12 reached in 1, 2 or 3 synthesis steps → ``run_synthesis`` evaluates one trained
  model through ``engine.synthesis.synthesize`` and returns lines in ``experiments.RAW_COLUMNS``
  (so ``side_by_side_table`` / ``check_claims`` work on them unchanged);
- Table 7: model size and inference time → ``model_sizes`` (exact counts of the full-size
  models, built on the meta device: no memory, no weights) and ``time_inference`` (wall time of
  whole-image decoding, measured for all methods in one call, reported relative to LIIF);
- Table 8's LPIPS → ``lpips_score`` / ``add_lpips`` when the ``lpips`` package and its trunk
  weights are present; otherwise (and for Table 9's no-reference metrics) ``lpips_status`` says
  why, and ``unavailable_lines`` writes the printed cells with an empty ``ours`` and that
  reason in ``note``.
"""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import sr_lib
from sr_lib.engine.evaluate import evaluate
from sr_lib.engine.synthesis import synthesize
from sr_lib.repro.experiments import BACKBONE_LABELS, METHOD_LABELS, RAW_COLUMNS, SIDE_COLUMNS, TableSpec, printed_cells
from sr_lib.models.base import count_parameters
from sr_lib.repro.tables import load_tables

TABLE_COLUMNS = SIDE_COLUMNS + ["note"]

# LPIPS (Zhang et al. 2018) as the `lpips` package computes it: a torchvision AlexNet/VGG trunk
# (ImageNet weights, fetched by torchvision into TORCH_HOME) plus the package's linear heads.
LPIPS_TRUNK_FILES = ("alexnet-owt-7be5be79.pth", "vgg16-397923af.pth")


def torch_home() -> Path:
    """Where torch keeps downloaded weights: $TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch."""
    if os.environ.get("TORCH_HOME"):
        return Path(os.environ["TORCH_HOME"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch"


def lpips_status() -> str:
    """"" when LPIPS can be computed offline here, else the reason it cannot."""
    missing = [name for name in ("lpips", "torchvision") if importlib.util.find_spec(name) is None]
    if missing:
        return (f"LPIPS not computed: package(s) {', '.join(missing)} not installed, and its AlexNet/VGG trunk "
                f"weights cannot be downloaded here (torchvision must not be installed in this project)")
    ckpt = torch_home() / "hub" / "checkpoints"
    if not any((ckpt / f).is_file() for f in LPIPS_TRUNK_FILES):
        return f"LPIPS not computed: trunk weights ({' or '.join(LPIPS_TRUNK_FILES)}) absent under {ckpt}"
    return ""


@torch.no_grad()
def lpips_score(upscaler, image_set, scale: float, protocol: str = "ciaosr", backbone: str = "", net=None) -> float:
    """Mean LPIPS over ``image_set`` of ``upscaler``'s output at ``scale`` under ``protocol``.

    Each HR image → ``protocol.make_pair`` → upscaler → output rounded to uint8 (as the
    protocol scores it) → LPIPS against the matching HR crop, both RGB mapped to [−1, 1], on the
    whole image (choice: the paper does not say whether a border is shaved for LPIPS). ``net``:
    an ``lpips.LPIPS`` (default AlexNet, built once; needs ``lpips_status() == ""``)."""
    from sr_lib.data.io import to_tensor01
    from sr_lib.engine.evaluate import as_upscaler
    from sr_lib.metrics.protocols import get_protocol
    if net is None:
        reason = lpips_status()
        if reason:
            raise RuntimeError(reason)
        import lpips
        net = lpips.LPIPS(net="alex", verbose=False)
    proto = get_protocol(protocol)
    up = as_upscaler(upscaler, proto, scale, backbone)
    values = []
    for _, hr in image_set:
        lr, hr_c = proto.make_pair(hr, scale)
        sr = up(to_tensor01(lr), hr_c.shape[:2], scale).cpu()                  # [1,3,H,W] in [0,1]
        sr = torch.round(sr.clamp(0, 1) * 255) / 255
        hr_t = to_tensor01(hr_c)
        values.append(float(net(sr * 2 - 1, hr_t * 2 - 1).mean()))
    if not values:
        raise ValueError("empty image set")
    return float(np.mean(values))


def add_lpips(raw: pd.DataFrame, spec: TableSpec, profile: str, image_sets: dict, *, data_root=None,
              device: str = "auto", net=None) -> pd.DataFrame:
    """``raw`` (``run_table``'s lines for ``spec``) with an ``lpips`` column: each line's model
    (the cached training run of its row and seed) scored by ``lpips_score`` on
    ``image_sets[dataset]`` at its scale."""
    from sr_lib.engine.train import train
    rows = {r.label: r for r in spec.rows}
    out, models = [], {}
    for rec in raw.to_dict("records"):
        row = rows[rec["label"]]
        key = (row.label, int(rec["seed"]))
        if key not in models:
            models[key] = train(row.method, row.backbone, profile=profile, seed=int(rec["seed"]), data_root=data_root,
                                options=dict(row.options), device=device, progress=False, **dict(row.overrides))
        out.append(lpips_score(models[key], image_sets[rec["dataset"]], float(rec["scale"]), rec["protocol"],
                               row.backbone or "", net=net))
    return raw.assign(lpips=out)


def unavailable_lines(spec: TableSpec, metrics, profile: str, reason: str, tables=None) -> pd.DataFrame:
    """The printed cells of ``spec``'s table in ``metrics`` with no number of ours: ``status`` and
    ``note`` carry ``reason``."""
    cells = printed_cells(TableSpec(spec.paper, spec.table, spec.rows, metrics=tuple(metrics)), tables)
    out = pd.DataFrame({
        "paper": spec.paper, "table": spec.table, "dataset": cells["dataset"], "method": cells["method"],
        "backbone": cells["backbone"].fillna(""), "scale": cells["scale"], "scale_kind": cells["scale_kind"],
        "metric": cells["metric"], "printed": cells["value"], "ours": np.nan, "ours_std": np.nan, "n_seeds": 0,
        "seeds": "", "delta": np.nan, "ours_text": "not computed", "weights": "", "eval_set": "", "n_images": np.nan,
        "stand_in": "", "profile": profile, "status": reason, "flag": cells.get("flag", ""), "note": reason})
    return out[TABLE_COLUMNS]


# ----------------------------------------------------------------------------------------------
# Table 6: multi-step synthesis
# ----------------------------------------------------------------------------------------------

def synthesis_upscaler(model, steps, backbone: str = "", protocol: str = "ciaosr"):
    """An upscaler ``(lr, (H, W), s)`` that reaches (H, W) through the step factors ``steps``
    (e.g. ``(2, 6)`` for ×2 → ×12), each step with ``protocol``'s inference options."""
    steps = tuple(float(s) for s in steps)

    def up(lr, out_size, scale=None):
        return synthesize(model, lr, steps, out_size=out_size, protocol=protocol, backbone=backbone)
    return up


def run_synthesis(model, run_key: str, variants: dict, image_sets: dict, profile: str, seed: int,
                  backbone: str, protocol: str = "ciaosr", log=print) -> pd.DataFrame:
    """Evaluate ``model`` on each ``ImageSet`` of ``image_sets`` (printed dataset → (EvalSet, ImageSet))
    at the product of each variant's steps; ``variants`` maps a printed label ("CiaoSR [2 steps
    x2>x12]") to its step factors. Returns ``experiments.RAW_COLUMNS`` lines (``variant`` = the
    steps)."""
    recs = []
    for label, steps in variants.items():
        total = float(np.prod(steps))
        for ts, images in image_sets.values():
            t0 = time.perf_counter()
            res = evaluate(synthesis_upscaler(model, steps, backbone, protocol), images, total, protocol)
            rec = {"method": "ciaosr", "backbone": backbone, "variant": "steps=" + "x".join(f"{s:g}" for s in steps),
                   "profile": profile, "seed": seed, "dataset": ts.dataset, "scale": total, "protocol": protocol,
                   "psnr": res["psnr"], "ssim": res["ssim"], "n_images": ts.n_images, "crop": ts.crop,
                   "scored_as": ts.scored_as, "images": ts.images, "label": label,
                   "printed_backbone": BACKBONE_LABELS.get(backbone, backbone), "weights": "trained here",
                   "run_key": run_key, "seconds": round(time.perf_counter() - t0, 3)}
            log(f"{label} {ts.dataset} x{total:g}: {res['psnr']:.3f} dB / {res['ssim']:.4f} ({rec['seconds']:.1f}s)")
            recs.append(rec)
    return pd.DataFrame(recs, columns=RAW_COLUMNS)


# ----------------------------------------------------------------------------------------------
# Table 7: model size and inference time
# ----------------------------------------------------------------------------------------------

def _encoder(model) -> torch.nn.Module:
    """The feature encoder of an sr_lib model (CiaoSR keeps it unregistered as ``_encoder``)."""
    enc = getattr(model, "_encoder", None)
    return enc if enc is not None else model.encoder


def model_sizes(methods, backbone: str = "edsr-baseline", options: dict | None = None) -> pd.DataFrame:
    """Parameter counts of ``sr_lib.make(method, backbone=backbone, **options)`` — the full-size
    (paper) models unless ``options`` says otherwise — built on the meta device (shapes only).
    Columns: method, backbone, params, params_m, encoder_params, decoder_params (= params − encoder)."""
    rows = []
    for m in methods:
        with torch.device("meta"):
            model = sr_lib.make(m, backbone=backbone, **(options or {}).get(m, {}))
        total, enc = count_parameters(model), count_parameters(_encoder(model))
        rows.append({"method": m, "backbone": backbone, "params": total, "params_m": total / 1e6,
                     "encoder_params": enc, "decoder_params": total - enc})
    return pd.DataFrame(rows)


@torch.no_grad()
def time_inference(methods, backbone: str = "edsr-baseline", lr_size: int = 192, scale: float = 4.0,
                   repeats: int = 1, device: str = "cpu", options: dict | None = None, seed: int = 0,
                   reference: str = "liif", cpu_threads: int = 1) -> pd.DataFrame:
    """Wall time of one whole-image ``super_resolve`` of an ``lr_size``² random image at ``scale``
    per method (randomly initialised models: weights do not change the cost), median of
    ``repeats`` runs after one warm-up on an 8×8 input; all methods measured in this one call,
    interleaved (round-robin) so that load changes on a shared machine hit every method alike.
    On CPU ``cpu_threads`` torch threads are used while timing (one: on this shared 2-core
    machine two threads spin against other users' processes, see ``config.py``; 0 = as set).
    Columns: method, backbone, lr_size, scale, seconds, ms, ratio (= seconds / ``reference``'s)."""
    dev = torch.device(device)
    threads = torch.get_num_threads()
    if dev.type == "cpu" and cpu_threads:
        torch.set_num_threads(cpu_threads)
    try:
        return _time_all(methods, backbone, lr_size, scale, repeats, dev, options, seed, reference)
    finally:
        torch.set_num_threads(threads)


def _time_all(methods, backbone, lr_size, scale, repeats, dev, options, seed, reference) -> pd.DataFrame:
    torch.manual_seed(seed)
    lr = torch.rand(1, 3, lr_size, lr_size, device=dev)
    out = (int(round(lr_size * scale)),) * 2
    models = {}
    for m in methods:
        models[m] = sr_lib.make(m, backbone=backbone, **(options or {}).get(m, {})).to(dev).eval()
        models[m].super_resolve(torch.rand(1, 3, 8, 8, device=dev), (int(8 * scale),) * 2)       # warm-up
    times = {m: [] for m in methods}
    for _ in range(repeats):
        for m, model in models.items():
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            model.super_resolve(lr, out)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            times[m].append(time.perf_counter() - t0)
    df = pd.DataFrame([{"method": m, "backbone": backbone, "lr_size": lr_size, "scale": scale,
                        "seconds": float(np.median(t)), "repeats": repeats} for m, t in times.items()])
    df["ms"] = 1000 * df["seconds"]
    ref = df.loc[df["method"] == reference, "seconds"]
    df["ratio"] = df["seconds"] / float(ref.iloc[0]) if len(ref) else np.nan
    return df


def size_time_lines(sizes: pd.DataFrame, times: pd.DataFrame, profile: str, device_name: str,
                    tables=None, reference: str = "LIIF") -> pd.DataFrame:
    """Table 7 lines: ``params_m`` (ours = exact full-size count), ``params_ratio`` and ``time_ratio``
    (relative to ``reference``; printed = ratio of the printed numbers, ours = measured here),
    and ``time_ms`` (ours = this machine, not comparable with the paper's GPU: ``note``)."""
    t = load_tables() if tables is None else tables
    p = t[(t["paper"] == "ciaosr") & (t["table"] == "table7")]
    printed = {(r.method, r.metric): float(r.value) for r in p.itertuples() if r.metric in ("params_m", "time_ms")}
    lines = []
    s = sizes.assign(label=sizes["method"].map(METHOD_LABELS)).set_index("label")
    tm = times.assign(label=times["method"].map(METHOD_LABELS)).set_index("label")
    bb = sizes["backbone"].iloc[0]
    lr_size, scale = int(times["lr_size"].iloc[0]), float(times["scale"].iloc[0])
    for label in s.index:
        pp, pref = printed.get((label, "params_m")), printed.get((reference, "params_m"))
        pt, tref = printed.get((label, "time_ms")), printed.get((reference, "time_ms"))
        size_note = (f"ours: sr_lib.make('{s.loc[label, 'method']}', backbone='{bb}') at full (paper) size, counted "
                     f"on the meta device; decoder alone {s.loc[label, 'decoder_params'] / 1e6:.3f} M")
        time_note = (f"ours: whole-image decoding of a {lr_size}x{lr_size} input at x{scale:g} on {device_name}, "
                     f"{bb} backbone, median of {int(tm.loc[label, 'repeats'])} run(s), all methods in one run; "
                     f"printed: 192x192 on an NVIDIA Quadro RTX 6000")
        lines += [
            _line("params_m", label, bb, pp, s.loc[label, "params_m"], profile, size_note),
            _line("params_ratio", label, bb, pp / pref if pp and pref else np.nan,
                  s.loc[label, "params"] / s.loc[reference, "params"] if reference in s.index else np.nan,
                  profile, f"relative to {reference}; printed = ratio of printed sizes; " + size_note),
            _line("time_ms", label, bb, pt, tm.loc[label, "ms"] if label in tm.index else np.nan, profile,
                  "absolute times are not comparable (different hardware); " + time_note),
            _line("time_ratio", label, bb, pt / tref if pt and tref else np.nan,
                  tm.loc[label, "ratio"] if label in tm.index else np.nan, profile,
                  f"relative to {reference}; printed = ratio of printed times; " + time_note),
        ]
    return pd.DataFrame(lines, columns=TABLE_COLUMNS)


def _line(metric, label, backbone, printed, ours, profile, note) -> dict:
    ours = float(ours) if ours is not None else np.nan
    printed = float(printed) if printed is not None else np.nan
    return {"paper": "ciaosr", "table": "table7", "dataset": "", "method": label,
            "backbone": BACKBONE_LABELS.get(backbone, backbone), "scale": np.nan, "scale_kind": "",
            "metric": metric, "printed": printed, "ours": ours, "ours_std": np.nan,
            "n_seeds": 1 if np.isfinite(ours) else 0, "seeds": "", "delta": ours - printed,
            "ours_text": f"{ours:.3g}" if np.isfinite(ours) else "not run", "weights": "random init (size/time only)",
            "eval_set": "", "n_images": np.nan, "stand_in": "", "profile": profile,
            "status": "ours" if np.isfinite(ours) else "not measured", "flag": "", "note": note}


__all__ = ["TABLE_COLUMNS", "LPIPS_TRUNK_FILES", "torch_home", "lpips_status", "lpips_score", "add_lpips",
           "unavailable_lines",
           "synthesis_upscaler", "run_synthesis", "model_sizes", "time_inference", "size_time_lines",
           "plot_ratios", "plot_degradation"]


# ----------------------------------------------------------------------------------------------
# figures (matplotlib Figure without pyplot; save with sr_lib.viz.save_figure)
# ----------------------------------------------------------------------------------------------

def plot_ratios(lines: pd.DataFrame, title: str = ""):
    """Table 7: size and time relative to LIIF, printed (open bars) vs ours (filled)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric, name in ((axes[0], "params_ratio", "model size / LIIF"), (axes[1], "time_ratio", "time / LIIF")):
        d = lines[lines["metric"] == metric]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["printed"], 0.4, fill=False, edgecolor="k", label="printed")
        ax.bar(x + 0.2, d["ours"], 0.4, color="tab:blue", label="ours")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(x, d["method"], fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_degradation(hr: np.ndarray, stages, out_size, title: str = ""):
    """The HR image and the image after each ``realworld`` stage (same scale of display)."""
    from matplotlib.figure import Figure
    from sr_lib.data.realworld import as_float01, apply_stage
    imgs, names = [as_float01(hr)], ["HR"]
    for st in stages:
        imgs.append(apply_stage(imgs[-1], st, out_size))
        names.append(st.kind.replace("_noise", " noise"))
    cols = min(len(imgs), 6)
    rows = int(np.ceil(len(imgs) / cols))
    fig = Figure(figsize=(2.2 * cols, 2.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, img, name in zip(axes, imgs, names):
        ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
        ax.set_title(f"{name} {img.shape[0]}x{img.shape[1]}", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig

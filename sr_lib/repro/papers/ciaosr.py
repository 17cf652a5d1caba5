"""CiaoSR tables that the shared table machinery (``sr_lib.repro.run_table``) does not cover.

``run_table`` trains/evaluates rows of PSNR/SSIM tables. CiaoSR also prints:

- Table 6: ×12 reached in 1, 2 or 3 synthesis steps → ``run_synthesis`` evaluates one trained
  model through ``engine.synthesis.synthesize`` and returns lines in ``RAW_COLUMNS``
  (so ``repro.compare_table`` sets them beside the printed table unchanged);
- Table 7: model size and inference time → ``model_sizes`` (exact counts of the full-size
  models, built on the meta device: no memory, no weights) and ``time_inference`` (wall time of
  whole-image decoding, measured for all methods in one call, reported relative to LIIF);
- Table 8's LPIPS → ``lpips_score`` / ``add_lpips`` when the ``lpips`` package and its trunk
  weights are present; otherwise (and for Table 9's no-reference metrics) ``lpips_status`` says
  why, and ``unavailable_lines`` writes the printed cells with an empty ``ours`` and that
  reason in ``note``.

Its figures (Table 7 ratios, the Table 9 degradation stages) are in ``sr_lib.viz.ciaosr``.
"""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sr_lib.engine.evaluate import evaluate
from sr_lib.engine.inference import super_resolve
from sr_lib.engine.synthesis import synthesize
from sr_lib.models.base import count_parameters
from sr_lib.models.registry import make
from sr_lib.repro.claims import SIDE_COLUMNS
from sr_lib.repro.results import RAW_COLUMNS, add_evaluations, cached_evaluation, per_image_json
from sr_lib.repro.specs import BACKBONE_LABELS, METHOD_LABELS, Claim, Row, TableSpec, checkpoint_rows, printed_cells
from sr_lib.repro.tables import load_tables

TABLE_COLUMNS = SIDE_COLUMNS + ["note"]

# ----------------------------------------------------------------------------------------------
# the rows of the printed tables
# ----------------------------------------------------------------------------------------------

EDSR, RDN, SWIN = "edsr-baseline", "rdn", "swinir"
FIVE = (("MetaSR", "metasr"), ("LIIF", "liif"), ("ITSRN", "itsrn"), ("LTE", "lte"), ("CiaoSR", "ciaosr"))
FIXED = "fixed-scale CNN (one model per scale): not an arbitrary-scale method, not trained"
BEATS = tuple(Claim("CiaoSR", other) for other in ("LTE", "ITSRN", "LIIF", "MetaSR"))

# Table 6: x12 in one, two or three synthesis steps (step factors per printed line)
STEPS = {"CiaoSR [1 step x12]": (12,), "CiaoSR [2 steps x2>x12]": (2, 6), "CiaoSR [3 steps x2>x4>x12]": (2, 2, 3)}
TABLE6 = TableSpec("ciaosr", "table6", rows=tuple(Row(label, "ciaosr", RDN) for label in STEPS),
                   claims=(Claim("CiaoSR [1 step x12]", "CiaoSR [2 steps x2>x12]"),
                           Claim("CiaoSR [2 steps x2>x12]", "CiaoSR [3 steps x2>x4>x12]"),
                           Claim("CiaoSR [1 step x12]", "CiaoSR [2 steps x2>x12]", metric="ssim"),
                           Claim("CiaoSR [2 steps x2>x12]", "CiaoSR [3 steps x2>x4>x12]", metric="ssim")))


def default_backbones(profile: str) -> list:
    """RDN alone at smoke (every code path, in seconds), the three printed backbones otherwise."""
    return [RDN] if profile == "smoke" else [EDSR, RDN, SWIN]


def five(backbones) -> tuple:
    """The five compared methods (MetaSR, LIIF, ITSRN, LTE, CiaoSR) on each backbone."""
    return tuple(Row(label, method, bb) for bb in backbones for label, method in FIVE)


def table_specs(backbones, profile: str) -> dict:
    """``{table number: TableSpec}`` of Tables 1–5, 7, 8 (run by ``repro.run_table``; Table 6 is
    ``TABLE6``, run by ``run_synthesis``) on ``backbones``. Tables 2, 3 use the benchmark
    backbones (RDN, SwinIR) among them; Tables 4–8 are on RDN. Table 4's checkmark rows were lost
    in the text extraction: *ablation A* is read as neither component (its numbers ≈ RDN-LIIF),
    *ablation B* as attention-in-attention without the non-local branch (``non_local=False``);
    ``ensemble="mlp"`` replaces the attention by an MLP predicting one ensemble logit per
    neighbour from [key, r, s]. At smoke Tables 4 and 5 keep one row per switch."""
    backbones = list(backbones)
    bench = [b for b in backbones if b in (RDN, SWIN)]
    not_run = {"EDSR-baseline": FIXED, "RDN": FIXED, "SwinIR": FIXED}
    specs = {
        1: TableSpec("ciaosr", "table1", rows=(Row("Bicubic", "bicubic"),) + five(backbones), claims=BEATS,
                     metrics=("psnr",), not_run=not_run),
        2: TableSpec("ciaosr", "table2", rows=five(bench), claims=BEATS, metrics=("psnr",), not_run=not_run),
        3: TableSpec("ciaosr", "table3", rows=five(bench), claims=BEATS, metrics=("psnr",), not_run=not_run),
        4: TableSpec("ciaosr", "table4", metrics=("psnr",), rows=(
            Row("CiaoSR [ablation A]", "ciaosr", RDN, options={"ensemble": "mlp", "non_local": False}),
            Row("CiaoSR [ablation B]", "ciaosr", RDN, options={"non_local": False}),
            Row("CiaoSR [full]", "ciaosr", RDN)),
            claims=(Claim("CiaoSR [full]", "CiaoSR [ablation B]", note="the non-local branch helps"),
                    Claim("CiaoSR [ablation B]", "CiaoSR [ablation A]",
                          note="attention beats an MLP-weighted ensemble"))),
        5: TableSpec("ciaosr", "table5", metrics=("psnr",), rows=(
            *(Row(f"CiaoSR [train discrete {{{','.join(map(str, sc))}}}]", "ciaosr", RDN, overrides={"scales": sc})
              for sc in ((2,), (3,), (4,), (2, 3, 4))),
            Row("CiaoSR [train continuous 1-4]", "ciaosr", RDN)),
            claims=tuple(Claim("CiaoSR [train continuous 1-4]", f"CiaoSR [train discrete {d}]")
                         for d in ("{2}", "{3}", "{4}", "{2,3,4}"))),
        7: TableSpec("ciaosr", "table7", rows=five([RDN]), claims=BEATS, metrics=("psnr",)),
        8: TableSpec("ciaosr", "table8", rows=five([RDN]), claims=BEATS, metrics=("ssim",)),
    }
    if profile == "smoke":   # one row per switch is enough to run every code path
        for k, keep in ((4, ("CiaoSR [ablation A]", "CiaoSR [full]")),
                        (5, ("CiaoSR [train discrete {2}]", "CiaoSR [train continuous 1-4]"))):
            sp = specs[k]
            specs[k] = TableSpec(sp.paper, sp.table, rows=tuple(r for r in sp.rows if r.label in keep),
                                 claims=tuple(c for c in sp.claims if c.better in keep and c.worse in keep),
                                 metrics=sp.metrics, not_run={lab: "not run at smoke" for lab in
                                                             {r.label for r in sp.rows} - set(keep)})
    return specs


# the compared methods that have an official checkpoint layout sr_lib loads (sr_lib.official.checkpoint);
# ITSRN's and CiaoSR's released files come in their own repositories' formats, which sr_lib does not read
OFFICIAL = ("MetaSR", "LIIF", "LTE")


def official_rows(data_root=None) -> list:
    """The official LIIF / MetaSR / LTE checkpoints (EDSR-baseline, RDN or SwinIR encoders) under
    ``<data_root>/checkpoints/``, as rows to evaluate beside the trained models of every table that
    prints their line (``spec.with_printed_rows(official_rows(), tables)``: Table 1 all three
    backbones; Tables 2, 3, 7, 8 RDN and SwinIR / RDN)."""
    return checkpoint_rows(data_root, labels=OFFICIAL, backbones=tuple(BACKBONE_LABELS[b] for b in (EDSR, RDN, SWIN)))


def skipped_tables(backbones) -> dict:
    """``{table number: why}`` for the tables that ``backbones`` cannot produce."""
    skipped = {k: "needs the rdn backbone" for k in (4, 5, 6, 7, 8) if RDN not in backbones}
    skipped.update({k: "needs rdn or swinir" for k in (2, 3) if not any(b in (RDN, SWIN) for b in backbones)})
    return skipped


def table_lines(side: pd.DataFrame, backbones) -> pd.DataFrame:
    """A side-by-side table as ``ciaosr_tables.csv`` lines (``TABLE_COLUMNS``): ``note`` = what stood
    in, and the printed lines of the five methods on a backbone not in ``backbones`` say so."""
    run_labels = {BACKBONE_LABELS[b] for b in backbones}
    why = f"backbone not run at this profile (backbones = {list(backbones)})"
    labels = dict(FIVE)
    side = side.assign(status=[why if (st != "ours" and m in labels and b and b not in run_labels) else st
                               for st, m, b in zip(side["status"], side["method"], side["backbone"])])
    return side.assign(note=side["stand_in"])[TABLE_COLUMNS]

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
def lpips_score(upscaler, image_set, scale: float, protocol: str = "ciaosr", net=None) -> float:
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
    up = as_upscaler(upscaler, proto, scale)
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
    (its row and seed's shipped weights or cached training run, or its row's checkpoint) scored by ``lpips_score``
    on ``image_sets[dataset]`` at its scale."""
    from sr_lib.engine.checkpoint import load_checkpoint
    from sr_lib.engine.device import get_device
    from sr_lib.repro.run_cards import load_or_train
    rows = {(r.label, r.weights): r for r in spec.rows}          # an official checkpoint shares its label
    out, models = [], {}
    for rec in raw.to_dict("records"):
        row = rows[(rec["label"], rec["weights"])]
        key = (row.label, row.weights, int(rec["seed"]))
        if key not in models and row.checkpoint:
            models[key] = load_checkpoint(row.checkpoint).to(get_device(device)).eval()
        elif key not in models:
            models[key] = load_or_train(row.method, row.backbone, profile=profile, seed=int(rec["seed"]),
                                        data_root=data_root, options=dict(row.options), device=device,
                                        progress=False, **dict(row.overrides))
        out.append(lpips_score(models[key], image_sets[rec["dataset"]], float(rec["scale"]), rec["protocol"],
                               net=net))
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

def synthesis_upscaler(model, steps, protocol: str = "ciaosr"):
    """An upscaler ``(lr, (H, W), s)`` that reaches (H, W) through the step factors ``steps``
    (e.g. ``(2, 6)`` for ×2 → ×12), each step with ``protocol``'s inference options."""
    steps = tuple(float(s) for s in steps)

    def up(lr, out_size, scale=None):
        return synthesize(model, lr, steps, out_size=out_size, protocol=protocol)
    return up


def run_synthesis(model, run_key: str, variants: dict, image_sets: dict, profile: str, seed: int,
                  backbone: str, protocol: str = "ciaosr", log=print, raw_csv=None) -> pd.DataFrame:
    """Evaluate ``model`` on each ``ImageSet`` of ``image_sets`` (printed dataset → (EvalSet, ImageSet))
    at the product of each variant's steps; ``variants`` maps a printed label ("CiaoSR [2 steps
    x2>x12]") to its step factors. Returns ``RAW_COLUMNS`` lines (``variant`` = the steps) with their
    per-image scores (Table 6's paired verdicts). With ``raw_csv`` finished cells are read from it and
    new ones added to it, as ``results.run_rows`` does."""
    recs = []
    for label, steps in variants.items():
        total = float(np.prod(steps))
        for ts, images in image_sets.values():
            base = {"method": "ciaosr", "backbone": backbone, "variant": "steps=" + "x".join(f"{s:g}" for s in steps),
                    "profile": profile, "seed": seed, "dataset": ts.dataset, "scale": total, "protocol": protocol,
                    "n_images": ts.n_images, "crop": ts.crop, "scored_as": ts.scored_as, "images": ts.images,
                    "label": label, "printed_backbone": BACKBONE_LABELS.get(backbone, backbone),
                    "weights": "trained here", "run_key": run_key}
            hit = cached_evaluation(raw_csv, base)
            if hit is not None:
                rec = {**hit, **base}
                log(f"{label} {ts.dataset} x{total:g}: {float(rec['psnr']):.3f} dB (cached)")
            else:
                t0 = time.perf_counter()
                res = evaluate(synthesis_upscaler(model, steps, protocol), images, total, protocol)
                rec = {**base, "psnr": res["psnr"], "ssim": res["ssim"], "seconds": round(time.perf_counter() - t0, 3),
                       "per_image": per_image_json(res)}
                log(f"{label} {ts.dataset} x{total:g}: {res['psnr']:.3f} dB / {res['ssim']:.4f} ({rec['seconds']:.1f}s)")
                if raw_csv:
                    add_evaluations(raw_csv, [rec])
            recs.append(rec)
    return pd.DataFrame(recs, columns=RAW_COLUMNS)


def synthesis_sets(profile: str, data_root=None) -> dict:
    """Table 6's test sets at ``profile``: printed dataset → (EvalSet, ImageSet) of those present
    (Urban100; Manga109 where it is on this machine)."""
    from sr_lib.repro.specs import EVAL_BUDGETS, load_eval_set, plan_test_sets
    return {ts.printed: (ts, load_eval_set(ts, data_root))
            for ts in plan_test_sets(["Urban100", "Manga109"], profile, data_root or None, EVAL_BUDGETS[profile])}


def score_table6(profile: str, seed: int = 0, *, sets: dict | None = None, data_root=None, device: str = "auto",
                 retrain: bool = False, progress: bool = False, raw_csv=None, log=print) -> pd.DataFrame:
    """Table 6 on the RDN-CiaoSR of ``seed`` (its shipped weights, ``run_cards.load_or_train``): ×12 in
    each of ``STEPS`` on ``sets`` (default ``synthesis_sets``), through ``run_synthesis`` with ``raw_csv``.
    Notebook 20 and ``train-plan --evaluate`` both score it here, so their cells are the same cells."""
    from sr_lib.repro.run_cards import load_or_train
    model = load_or_train("ciaosr", RDN, profile=profile, seed=seed, retrain=retrain, data_root=data_root or None,
                          device=device, progress=progress)
    return run_synthesis(model, model.train_info["key"], STEPS, sets if sets is not None else synthesis_sets(profile, data_root),
                         profile, seed, RDN, log=log, raw_csv=raw_csv)


# ----------------------------------------------------------------------------------------------
# Table 7: model size and inference time
# ----------------------------------------------------------------------------------------------

def model_sizes(methods, backbone: str = "edsr-baseline", options: dict | None = None) -> pd.DataFrame:
    """Parameter counts of ``sr_lib.make(method, backbone=backbone, **options)`` — the full-size
    (paper) models unless ``options`` says otherwise — built on the meta device (shapes only).
    Columns: method, backbone, params, params_m, encoder_params, decoder_params (= params − encoder)."""
    rows = []
    for m in methods:
        with torch.device("meta"):
            model = make(m, backbone=backbone, **(options or {}).get(m, {}))
        total, enc = count_parameters(model), count_parameters(model.encoder)
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
        models[m] = make(m, backbone=backbone, **(options or {}).get(m, {})).to(dev).eval()
        super_resolve(models[m], torch.rand(1, 3, 8, 8, device=dev), out_size=(int(8 * scale),) * 2)   # warm-up
    times = {m: [] for m in methods}
    for _ in range(repeats):
        for m, model in models.items():
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
            super_resolve(model, lr, out_size=out)
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


__all__ = ["TABLE_COLUMNS", "EDSR", "RDN", "SWIN", "FIVE", "FIXED", "BEATS", "STEPS", "TABLE6", "default_backbones",
           "five", "table_specs", "OFFICIAL", "official_rows", "skipped_tables", "table_lines", "LPIPS_TRUNK_FILES",
           "torch_home", "lpips_status", "lpips_score", "add_lpips", "unavailable_lines",
           "synthesis_upscaler", "run_synthesis", "synthesis_sets", "score_table6", "model_sizes", "time_inference", "size_time_lines"]

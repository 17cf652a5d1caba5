"""Running a table's rows: train (or reuse) each learned row, evaluate it on its printed cells.

``run_rows(spec, profile)`` → tidy raw results, one line per (run, seed, set, scale) in
``RAW_COLUMNS``. Every learned row is trained for each seed of the profile (``config.seeds``);
finished runs come from the run cache (``sr_lib.engine.train``) and finished evaluations from
the raw results CSV (``raw_csv``, keyed on run, images, scale and rule), so re-running a
notebook repeats no work. Each returned line carries the label of the row it was run for.
"""
from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from sr_lib.config import config_for
from sr_lib.engine.device import get_device
from sr_lib.engine.evaluate import evaluate
from sr_lib.metrics.protocols import get_protocol
from sr_lib.paths import atomic_write_text, file_lock
from sr_lib.repro.specs import EVAL_BUDGETS, EvalBudget, Row, TableSpec, load_eval_set, printed_cells, table_test_sets

RAW_COLUMNS = ["method", "backbone", "variant", "profile", "seed", "dataset", "scale", "protocol", "psnr",
               "ssim", "n_images", "crop", "scored_as", "images", "label", "printed_backbone", "weights",
               "run_key", "seconds", "per_image"]
# per_image: the evaluation's per-image scores as JSON [[image, psnr, ssim], ...] (the paired verdicts)


def _pick_scales(scales, budget: EvalBudget) -> list:
    """The printed scales to evaluate: all, or the smallest and largest (``budget.max_scales``)."""
    s = sorted(set(float(x) for x in scales))
    if budget.max_scales and len(s) > budget.max_scales:
        s = [s[0], s[-1]][: budget.max_scales]
    return s


def read_raw(path) -> pd.DataFrame:
    """The raw results CSV at ``path`` (empty frame with ``RAW_COLUMNS`` if absent)."""
    path = Path(path) if path else None
    if path is None or not path.is_file():
        return pd.DataFrame(columns=RAW_COLUMNS)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def write_csv(df: pd.DataFrame, path) -> Path:
    """``df`` to ``path`` atomically (temporary file + rename)."""
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def _key(d) -> tuple:
    """One evaluation: a run (or upscaler / checkpoint) on an image subset at a scale under a rule. The
    variant is part of it for the cells one run makes in several ways (Table 6's synthesis steps); a
    table row's variant is already in its run key."""
    variant = d.get("variant")
    variant = "" if variant is None or variant != variant else str(variant)          # NaN: read back empty
    return (str(d["run_key"]), str(d["dataset"]), int(d["n_images"]), int(d["crop"]), str(d["scored_as"]),
            round(float(d["scale"]), 6), str(d["protocol"]), variant)


def per_image_json(res: dict) -> str:
    """``evaluate``'s per-image scores as the raw CSVs keep them: JSON ``[[image, psnr, ssim], ...]``."""
    return json.dumps([[r["image"], round(r["psnr"], 6), round(r["ssim"], 6)] for r in res["per_image"]])


def cached_evaluation(raw_csv, base: dict):
    """The finished evaluation of ``base``'s cell in ``raw_csv`` (one with per-image scores), or None."""
    if not raw_csv:
        return None
    return _scored({_key(r): r for r in read_raw(raw_csv).to_dict("records")}.get(_key(base)))


def add_evaluations(raw_csv, recs: list) -> None:
    """Merge ``recs`` into ``raw_csv`` atomically, under its lock (workers and notebooks share the file)."""
    with file_lock(Path(raw_csv).with_suffix(".lock")):
        write_csv(_merge_raw(read_raw(raw_csv), recs), raw_csv)


# profiles whose trained weights are results: committed under results/<profile>/weights with a run card


def _load_model(row: Row, profile: str, seed: int, data_root, device: str, runs_root, progress: bool,
                protocol: str = "", retrain: bool = False, log=None):
    """→ (upscaler or model, run key). At a shipped profile a learned row loads its committed weights;
    a run trained here (none shipped, or ``retrain``) passes the health gate and is shipped."""
    if not row.learned:
        return row.method, row.method
    if row.checkpoint:
        from sr_lib.engine.checkpoint import load_checkpoint
        model = load_checkpoint(row.checkpoint).to(get_device(device)).eval()
        return model, f"checkpoint:{Path(row.checkpoint).name}"
    from sr_lib.repro.run_cards import SHIPPED_PROFILES, load_or_train, ship_run, variant_label
    model = load_or_train(row.method, row.backbone, profile=profile, seed=seed, retrain=retrain,
                          data_root=data_root or None, options=dict(row.options), out=runs_root, device=device,
                          progress=progress, **dict(row.overrides))
    if profile in SHIPPED_PROFILES and model.train_info.get("source") == "trained":
        card = ship_run(model, profile, protocol, data_root=data_root or None,
                        variant=variant_label(row.options, row.overrides))
        if log:
            log(f"run {card['run']}: gain over Bicubic x2 {card['gain_x2']:+.2f} dB, x4 {card['gain_x4']:+.2f} dB "
                f"-> {'healthy' if card['healthy'] else 'BELOW THE HEALTH BAR: ' + card['reasons']}; shipped {card['weights']}")
    return model, model.train_info["key"]


def run_rows(spec: TableSpec, profile: str, *, seeds=None, data_root=None, device: str = "auto",
              budget: EvalBudget | None = None, raw_csv=None, runs_root=None, progress: bool = True,
              tables: pd.DataFrame | None = None, log=None, retrain: bool = False) -> pd.DataFrame:
    """Train (or reuse) and evaluate every row of ``spec`` → tidy results (``RAW_COLUMNS``).

    At the ``cpu`` profile trained rows come from the committed weights (``results/cpu/weights``)
    unless ``retrain``; a run trained here is health-checked and shipped (``run_cards.ship_run``).

    Each learned row is trained once per seed (default: the profile's ``config.seeds``);
    upscalers and checkpoints are evaluated once (seed = the first seed). Each row is
    evaluated on the (dataset, scale) cells printed for it, cut down by ``budget`` (default
    ``EVAL_BUDGETS[profile]``). With ``raw_csv`` finished evaluations are read from it and
    every new one is added to it atomically as soon as it exists. One progress line per
    evaluation goes to ``log`` (default: stderr).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    budget = budget or EVAL_BUDGETS[profile]
    cfg = config_for(profile)
    explicit = seeds is not None
    seeds = tuple(cfg.seeds if seeds is None else seeds)
    protocol = get_protocol(spec.protocol).name
    cells = printed_cells(spec, tables)
    cells = cells[cells["value"].notna()]                       # cells printed '-' are not evaluated
    test_sets = table_test_sets(spec, profile, data_root, budget, tables)
    old = read_raw(raw_csv)
    done = {_key(r): r for r in old.to_dict("records")}
    new, out = [], []
    jobs = []
    for row in spec.rows:
        mine = cells[(cells["method"] == row.label) & (cells["backbone"] == row.printed_backbone)]
        if mine.empty:
            raise ValueError(f"{spec.paper} {spec.table} prints no line {row.label!r} / {row.printed_backbone!r}")
        for ts in test_sets:
            scales = _pick_scales(mine.loc[mine["dataset"] == ts.printed, "scale"].dropna(), budget)
            if scales:
                jobs.append((row, ts, scales))
    n_total = sum(len(sc) * len(row_seeds(r, seeds, explicit)) for r, _, sc in jobs)
    threads = torch.get_num_threads()
    if cfg.cpu_threads and get_device(device).type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)     # the profile's thread count (see config.py: load)
    try:
        i, spent = 0, 0.0
        for row in spec.rows:
            row_jobs = [(ts, sc) for r, ts, sc in jobs if r is row]
            for seed in row_seeds(row, seeds, explicit):
                model, key = _load_model(row, profile, seed, data_root, device, runs_root, progress,
                                         protocol, retrain, log)
                for ts, scales in row_jobs:
                    image_set = None
                    for s in scales:
                        i += 1
                        base = {"method": row.method, "backbone": row.backbone or "", "variant": row.variant,
                                "profile": profile, "seed": seed, "dataset": ts.dataset, "scale": s,
                                "protocol": protocol, "scored_as": ts.scored_as, "n_images": ts.n_images,
                                "crop": ts.crop, "images": ts.images, "label": row.label,
                                "printed_backbone": row.printed_backbone, "weights": row.weights, "run_key": key}
                        hit = _scored(done.get(_key(base)))
                        if hit is None and raw_csv:              # another process may have scored it since
                            done.update((_key(r), r) for r in read_raw(raw_csv).to_dict("records"))
                            hit = _scored(done.get(_key(base)))
                        tag = (f"[{i}/{n_total}] {row.label} ({row.printed_backbone or '-'}) seed {seed} "
                               f"{ts.dataset}{'' if ts.scored_as == ts.dataset else ' as ' + ts.scored_as} x{s:g}")
                        if hit is not None:
                            rec = {**hit, **base}
                            log(f"{tag}: {float(rec['psnr']):.3f} dB (cached)")
                        else:
                            t0 = time.perf_counter()
                            image_set = image_set or load_eval_set(ts, data_root)
                            res = evaluate(model, image_set, s, protocol)
                            rec = {**base, "psnr": res["psnr"], "ssim": res["ssim"],
                                   "seconds": round(time.perf_counter() - t0, 3), "per_image": per_image_json(res)}
                            new.append(rec)
                            done[_key(rec)] = rec
                            spent += rec["seconds"]
                            eta = spent / len(new) * (n_total - i)        # remaining cells, at this run's pace
                            log(f"{tag}: {rec['psnr']:.3f} dB / {rec['ssim']:.4f} "
                                f"({rec['n_images']} img, {rec['seconds']:.1f}s; ETA {eta / 60:.0f} min for the cells left)")
                            if raw_csv:
                                add_evaluations(raw_csv, new)
                        out.append(rec)
    finally:
        torch.set_num_threads(threads)
    return pd.DataFrame(out, columns=RAW_COLUMNS)


def row_seeds(row: Row, seeds: tuple, explicit: bool) -> tuple:
    """The seeds a row is trained with: the caller's, or the first ``row.n_seeds`` of the profile's;
    one (the first) for upscalers and checkpoints."""
    if not row.learned or row.checkpoint:
        return seeds[:1]
    return seeds if explicit else seeds[:max(1, row.n_seeds)]


def _scored(rec):
    """``rec`` if it carries per-image scores, else None (cached before they were kept: evaluate again)."""
    return rec if rec is not None and isinstance(rec.get("per_image"), str) and rec["per_image"] else None


def _merge_raw(old: pd.DataFrame, new: list) -> pd.DataFrame:
    fresh = pd.DataFrame(new, columns=RAW_COLUMNS)
    if old.empty:
        return fresh
    keys = {_key(r) for r in new}
    keep = old[[_key(r) not in keys for r in old.to_dict("records")]]
    return pd.concat([keep, fresh], ignore_index=True)[RAW_COLUMNS + [c for c in old.columns if c not in RAW_COLUMNS]]


__all__ = ["RAW_COLUMNS", "read_raw", "write_csv", "run_rows", "row_seeds", "per_image_json", "cached_evaluation",
           "add_evaluations"]

"""Regenerate a printed paper table: train (or reuse) every row, evaluate, compare, check claims.

The machinery every table notebook uses (10 IPE-LIIF, 20 CiaoSR, 30 EQSR). A table is a
``TableSpec``: which printed table (``paper``, ``table`` of ``../shared/paper_tables``), and
one ``Row`` per printed method line saying how sr_lib trains it::

    spec = TableSpec("ipe_liif", "table4", rows=(
        Row("IPE-LIIF", "ipe-liif", "edsr-baseline"),
        Row("IPE-LIIF [L=16]", "ipe-liif", "edsr-baseline", options={"L": 16}),
        Row("LIIF [train block B]", "liif", "edsr-baseline", overrides={"scale_max": 12}),
    ), claims=(Claim("IPE-LIIF", "IPE-LIIF [-skip]"),))
    raw = run_table(spec, "cpu")                  # tidy results, one line per (run, seed, set, scale)
    table = side_by_side_table(spec, raw, "cpu")  # printed | ours ± seed std | delta | stand_in
    claims = check_claims(spec, raw, "cpu")       # the paper's ordering: holds / does not hold

What gets evaluated follows the printed table: every (dataset, scale) printed for a row's
method, under the paper's protocol (``protocols.PAPER_PROTOCOL``), cut down by the profile's
``EvalBudget`` (first N images of each set, at smoke one set and two scales). Every learned
row is trained for each seed of the profile (``config.seeds``); finished runs come from the
run cache (``sr_lib.engine.train``) and finished evaluations from the raw results CSV, so
re-running a notebook repeats no work.

Stand-ins. DIV2K-val is not on this machine. A DIV2K-val column is then evaluated on a stated
stand-in benchmark (``EvalBudget.stand_in``) scored with the DIV2K rule of the protocol (RGB,
border shave s + 6). The raw results name the images actually used (``dataset``) and the rule
(``scored_as``); the side-by-side keeps the printed dataset and says what stood in for it in
its ``stand_in`` column. Stand-in numbers are not DIV2K numbers: compare orderings and gaps,
not absolute values.
"""
from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from sr_lib.config import config_for
from sr_lib.data.datasets import ImageSet, available_datasets, load_dataset
from sr_lib.data.resolver import BUNDLED_NOTE, resolve_data_root
from sr_lib.engine.device import get_device
from sr_lib.engine.evaluate import UPSCALERS, evaluate
from sr_lib.metrics.protocols import PAPER_PROTOCOL, get_protocol
from sr_lib.repro.tables import claim_holds, load_tables, side_by_side
from sr_lib.paths import atomic_write_text

# sr_lib names → names as the paper tables print them
METHOD_LABELS = {"liif": "LIIF", "metasr": "MetaSR", "lte": "LTE", "ipe-liif": "IPE-LIIF",
                 "ipe-metasr": "IPE-MetaSR", "liif-pe": "LIIF w/ PE", "ciaosr": "CiaoSR", "itsrn": "ITSRN",
                 "arbsr": "ArbSR", "eqsr": "EQSR", "bicubic": "Bicubic"}
BACKBONE_LABELS = {"edsr-baseline": "EDSR-baseline", "rdn": "RDN", "swinir": "SwinIR", "eqnet": "EQNet"}

RAW_COLUMNS = ["method", "backbone", "variant", "profile", "seed", "dataset", "scale", "protocol", "psnr",
               "ssim", "n_images", "crop", "scored_as", "images", "label", "printed_backbone", "weights",
               "run_key", "seconds"]


# ----------------------------------------------------------------------------------------------
# what a table is made of
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One printed method line and how sr_lib produces it.

    ``label`` is the method exactly as the paper table names it (``"IPE-LIIF [L=16]"``);
    ``method`` an sr_lib method (``sr_lib.list_models()``) or a non-learned upscaler
    (``"bicubic"``, see ``engine.evaluate.UPSCALERS``); ``options`` extra make-options;
    ``overrides`` TrainConfig fields (``scale_max=12``); ``checkpoint`` a weights file to
    evaluate instead of training (official checkpoints, see ``checkpoint_rows``).
    """

    label: str
    method: str
    backbone: str | None = None
    options: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    checkpoint: str = ""

    @property
    def printed_backbone(self) -> str:
        return BACKBONE_LABELS.get(self.backbone or "", self.backbone or "")

    @property
    def variant(self) -> str:
        """Options and overrides as one readable tag (``"L=16"``, ``"scale_max=12"``; ``""`` = default)."""
        parts = [f"{k}={v}" for k, v in {**self.options, **self.overrides}.items()]
        if self.checkpoint:
            parts.append(f"checkpoint={Path(self.checkpoint).name}")
        return ",".join(parts)

    @property
    def learned(self) -> bool:
        return self.method not in UPSCALERS

    @property
    def weights(self) -> str:
        if self.checkpoint:
            return f"official checkpoint {Path(self.checkpoint).name}"
        return "trained here" if self.learned else "none (fixed upscaler)"


@dataclass(frozen=True)
class Claim:
    """The paper's claim that ``better`` beats ``worse`` (same dataset, backbone and scale).

    ``kind`` limits it to in- or out-of-distribution scales ("in" / "out", the tables'
    ``scale_kind``); ``strict=False`` accepts a tie (claims such as "no worse").
    """

    better: str
    worse: str
    kind: str = ""
    metric: str = "psnr"
    strict: bool = True
    note: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A printed table to regenerate: its rows, the claims around it, and printed lines not run."""

    paper: str
    table: str
    rows: tuple
    claims: tuple = ()
    metrics: tuple = ("psnr", "ssim")
    not_run: dict = field(default_factory=dict)    # printed label → why it is not run here

    @property
    def protocol(self) -> str:
        return PAPER_PROTOCOL[self.paper]


@dataclass(frozen=True)
class EvalBudget:
    """How much of a printed table's test grid a profile evaluates."""

    limit: int | None = None         # first N images (sorted by name) of each set; None = all
    max_datasets: int | None = None  # only the first N datasets of a table (smallest first)
    max_scales: int | None = None    # 2: the smallest and the largest printed scale; None = all
    crop: int = 0                    # >0: score the centre crop of at most crop x crop HR pixels
    stand_in: str = "B100"           # evaluated in place of an absent DIV2K-val


EVAL_BUDGETS = {
    # seconds: one image of the smallest set, the table's smallest and largest scale
    "smoke": EvalBudget(limit=1, max_datasets=1, max_scales=2, crop=96, stand_in="Set5"),
    # Decoding costs per HR pixel whatever the scale. benchmarks/bench_eval.py, cpu-profile sizes,
    # one thread, HR megapixels per CPU-second (2026-11-22): MetaSR-EDSR 0.131, IPE-MetaSR 0.093,
    # LIIF-EDSR 0.060, LIIF w/ PE 0.053, LIIF-RDN 0.054, IPE-LIIF-EDSR 0.024, IPE-LIIF-RDN 0.023.
    # Notebook 10 makes 557 evaluations (every printed cell x 3 seeds). So: the first 3 images of
    # each set, centre crops of at most 160x160 HR pixels (77k px; 43 MP in all, ~16 CPU-minutes
    # at ~0.045 MP/cpu-s), every printed scale and seed. The same images for every method and
    # seed, so comparisons are paired. B100 stands in for DIV2K-val: natural photographs.
    "cpu": EvalBudget(limit=3, crop=160, stand_in="B100"),
    "paper": EvalBudget(stand_in="Urban100"),
}

_SMALL_FIRST = ("Set5", "Set14", "B100", "Urban100", "DIV2K-val", "Manga109")


# ----------------------------------------------------------------------------------------------
# the test grid
# ----------------------------------------------------------------------------------------------

def printed_cells(spec: TableSpec, tables: pd.DataFrame | None = None) -> pd.DataFrame:
    """The printed cells of ``spec``'s table in ``spec.metrics`` (all methods, ``-`` cells included)."""
    t = load_tables() if tables is None else tables
    cells = t[(t["paper"] == spec.paper) & (t["table"] == spec.table) & t["metric"].isin(spec.metrics)]
    if cells.empty:
        raise ValueError(f"no printed cells for {spec.paper} {spec.table} ({', '.join(spec.metrics)})")
    return cells.reset_index(drop=True)


@dataclass(frozen=True)
class EvalSet:
    """Where the numbers of a printed dataset come from here."""

    printed: str          # dataset as printed ("DIV2K-val")
    dataset: str          # images evaluated ("B100")
    n_images: int         # its first n_images images (sorted by name)
    crop: int             # centre crops of at most crop x crop HR pixels (0 = whole images)
    scored_as: str        # dataset name the protocol scores as ("DIV2K-val" for a stand-in)
    stand_in: str         # "" or the sentence saying what stands in for ``printed``

    @property
    def images(self) -> str:
        """What was evaluated, in words: ``"B100: first 5 images, centre crops <= 256 px"``."""
        crop = f", centre crops <= {self.crop} px" if self.crop else ""
        return f"{self.dataset}: first {self.n_images} images{crop}"


def plan_test_sets(datasets, profile: str, data_root=None, budget: EvalBudget | None = None) -> list:
    """``EvalSet`` per printed dataset present (or stood in for); absent sets are left out."""
    budget = budget or EVAL_BUDGETS[profile]
    root = resolve_data_root(data_root or None, warn=False)
    avail = set(available_datasets(root))
    ordered = sorted(set(datasets), key=lambda d: _SMALL_FIRST.index(d) if d in _SMALL_FIRST else 99)
    out = []

    def count(name):
        n = len(load_dataset(name, root))
        return n, (min(budget.limit, n) if budget.limit else n)
    for d in ordered:
        if d in avail:
            out.append(EvalSet(d, d, count(d)[1], budget.crop, d, BUNDLED_NOTE if root.bundled else ""))
        elif d == "DIV2K-val" and budget.stand_in in avail:
            n, k = count(budget.stand_in)
            part = (f"first {k} of {n} images" if k < n else f"all {n} images") + \
                (f", centre crops <= {budget.crop} px" if budget.crop else "")
            out.append(EvalSet(d, budget.stand_in, k, budget.crop, d,
                               f"{budget.stand_in} ({part}) stands in for DIV2K-val, which is absent here; "
                               f"scored with the DIV2K rule (RGB, shave s+6)"))
    return out[: budget.max_datasets] if budget.max_datasets else out


def _table_test_sets(spec, profile, data_root, budget, tables) -> list:
    cells = printed_cells(spec, tables)
    return plan_test_sets(cells.loc[cells["value"].notna(), "dataset"].dropna().unique(), profile, data_root,
                          budget)


def _pick_scales(scales, budget: EvalBudget) -> list:
    s = sorted(set(float(x) for x in scales))
    if budget.max_scales and len(s) > budget.max_scales:
        s = [s[0], s[-1]][: budget.max_scales]
    return s


class _CroppedSet(ImageSet):
    """An ``ImageSet`` whose images are centre-cropped to at most ``crop`` x ``crop`` pixels."""

    def __init__(self, name, items, crop: int, **kw):
        super().__init__(name, items, **kw)
        self.crop = crop

    def __getitem__(self, i):
        name, hr = super().__getitem__(i)                      # uint8 [H,W,3]
        h, w = hr.shape[:2]
        ch, cw = min(h, self.crop), min(w, self.crop)
        top, left = (h - ch) // 2, (w - cw) // 2
        return name, hr[top:top + ch, left:left + cw]


def _image_set(ts: EvalSet, data_root) -> ImageSet:
    ds = load_dataset(ts.dataset, resolve_data_root(data_root or None, warn=False), limit=ts.n_images)
    # evaluate() scores under the name before " (": a stand-in gets the protocol's DIV2K rule
    name = ds.name if ts.scored_as == ts.dataset else f"{ts.scored_as} (stand-in: {ds.name})"
    if ts.crop:
        return _CroppedSet(name, ds.items, ts.crop, bundled=ds.bundled, folder=ds.folder)
    return ImageSet(name, ds.items, bundled=ds.bundled, folder=ds.folder)


# ----------------------------------------------------------------------------------------------
# running: train or reuse, evaluate or reuse
# ----------------------------------------------------------------------------------------------

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
    """One evaluation: a run (or upscaler / checkpoint) on an image subset at a scale under a rule."""
    return (str(d["run_key"]), str(d["dataset"]), int(d["n_images"]), int(d["crop"]), str(d["scored_as"]),
            round(float(d["scale"]), 6), str(d["protocol"]))


def _load_model(row: Row, profile: str, seed: int, data_root, device: str, runs_root, progress: bool):
    """→ (upscaler or model, run key)."""
    if not row.learned:
        return row.method, row.method
    if row.checkpoint:
        import sr_lib
        model = sr_lib.load_checkpoint(row.checkpoint).to(get_device(device)).eval()
        return model, f"checkpoint:{Path(row.checkpoint).name}"
    from sr_lib.engine.train import train
    model = train(row.method, row.backbone, profile=profile, seed=seed, data_root=data_root or None,
                  options=dict(row.options), out=runs_root, device=device, progress=progress,
                  **dict(row.overrides))
    return model, model.train_info["key"]


def run_table(spec: TableSpec, profile: str, *, seeds=None, data_root=None, device: str = "auto",
              budget: EvalBudget | None = None, raw_csv=None, runs_root=None, progress: bool = True,
              tables: pd.DataFrame | None = None, log=None) -> pd.DataFrame:
    """Train (or reuse) and evaluate every row of ``spec`` → tidy results (``RAW_COLUMNS``).

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
    seeds = tuple(cfg.seeds if seeds is None else seeds)
    protocol = get_protocol(spec.protocol).name
    cells = printed_cells(spec, tables)
    cells = cells[cells["value"].notna()]                       # cells printed '-' are not evaluated
    test_sets = _table_test_sets(spec, profile, data_root, budget, tables)
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
    n_total = sum(len(sc) * (len(seeds) if r.learned and not r.checkpoint else 1) for r, _, sc in jobs)
    threads = torch.get_num_threads()
    if cfg.cpu_threads and get_device(device).type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)     # the profile's thread count (see config.py: load)
    try:
        i = 0
        for row in spec.rows:
            row_jobs = [(ts, sc) for r, ts, sc in jobs if r is row]
            for seed in (seeds if row.learned and not row.checkpoint else seeds[:1]):
                model, key = _load_model(row, profile, seed, data_root, device, runs_root, progress)
                for ts, scales in row_jobs:
                    image_set = None
                    for s in scales:
                        i += 1
                        base = {"method": row.method, "backbone": row.backbone or "", "variant": row.variant,
                                "profile": profile, "seed": seed, "dataset": ts.dataset, "scale": s,
                                "protocol": protocol, "scored_as": ts.scored_as, "n_images": ts.n_images,
                                "crop": ts.crop, "images": ts.images, "label": row.label,
                                "printed_backbone": row.printed_backbone, "weights": row.weights, "run_key": key}
                        hit = done.get(_key(base))
                        tag = (f"[{i}/{n_total}] {row.label} ({row.printed_backbone or '-'}) seed {seed} "
                               f"{ts.dataset}{'' if ts.scored_as == ts.dataset else ' as ' + ts.scored_as} x{s:g}")
                        if hit is not None:
                            rec = {**hit, **base}
                            log(f"{tag}: {float(rec['psnr']):.3f} dB (cached)")
                        else:
                            t0 = time.perf_counter()
                            image_set = image_set or _image_set(ts, data_root)
                            res = evaluate(model, image_set, s, protocol, backbone=row.backbone or "")
                            rec = {**base, "psnr": res["psnr"], "ssim": res["ssim"],
                                   "seconds": round(time.perf_counter() - t0, 3)}
                            log(f"{tag}: {rec['psnr']:.3f} dB / {rec['ssim']:.4f} "
                                f"({rec['n_images']} img, {rec['seconds']:.1f}s)")
                            new.append(rec)
                            done[_key(rec)] = rec
                            if raw_csv:
                                write_csv(_merge_raw(old, new), raw_csv)
                        out.append(rec)
    finally:
        torch.set_num_threads(threads)
    return pd.DataFrame(out, columns=RAW_COLUMNS)


def _merge_raw(old: pd.DataFrame, new: list) -> pd.DataFrame:
    fresh = pd.DataFrame(new, columns=RAW_COLUMNS)
    if old.empty:
        return fresh
    keys = {_key(r) for r in new}
    keep = old[[_key(r) not in keys for r in old.to_dict("records")]]
    return pd.concat([keep, fresh], ignore_index=True)[RAW_COLUMNS + [c for c in old.columns if c not in RAW_COLUMNS]]


# ----------------------------------------------------------------------------------------------
# comparing with the printed table
# ----------------------------------------------------------------------------------------------

def ours_cells(spec: TableSpec, raw: pd.DataFrame, profile: str, data_root=None,
               budget: EvalBudget | None = None, tables: pd.DataFrame | None = None) -> pd.DataFrame:
    """Our results in the printed table's coordinates: one line per (label, backbone, printed
    dataset, scale, metric, seed, weights) with ``value`` and ``stand_in``."""
    sets = {(ts.dataset, ts.scored_as, ts.n_images, ts.crop): ts for ts in
            _table_test_sets(spec, profile, data_root, budget, tables)}
    rows = {(r.label, r.printed_backbone) for r in spec.rows}
    lines = []
    for rec in raw.to_dict("records"):
        backbone = "" if pd.isna(rec["printed_backbone"]) else rec["printed_backbone"]
        ts = sets.get((rec["dataset"], rec["scored_as"], int(rec["n_images"]), int(rec["crop"])))
        if rec["profile"] != profile or ts is None or (rec["label"], backbone) not in rows:
            continue                     # another profile, budget or table
        for metric in spec.metrics:
            lines.append({"dataset": ts.printed, "method": rec["label"], "backbone": backbone,
                          "scale": float(rec["scale"]), "metric": metric, "value": float(rec[metric]),
                          "seed": rec["seed"], "weights": rec["weights"], "stand_in": ts.stand_in,
                          "n_images": int(rec["n_images"]), "eval_set": ts.images})
    return pd.DataFrame(lines, columns=["dataset", "method", "backbone", "scale", "metric", "value", "seed",
                                        "weights", "stand_in", "n_images", "eval_set"])


SIDE_COLUMNS = ["paper", "table", "dataset", "method", "backbone", "scale", "scale_kind", "metric", "printed",
                "ours", "ours_std", "n_seeds", "seeds", "delta", "ours_text", "weights", "eval_set", "n_images",
                "stand_in", "profile", "status", "flag"]


def side_by_side_table(spec: TableSpec, raw: pd.DataFrame, profile: str, *, data_root=None,
                       budget: EvalBudget | None = None, tables: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every printed cell of the table beside ours: ``printed``, ``ours`` (mean over seeds),
    ``ours_std`` (sample std over seeds; NaN for one seed), ``n_seeds``, ``delta`` = ours −
    printed, ``stand_in`` (what replaced an absent printed dataset), ``status`` ("ours",
    "not evaluated at this profile", or the ``not_run`` reason). Lines from other weights
    (official checkpoints) are extra lines with their ``weights``."""
    printed = printed_cells(spec, tables).copy()
    printed["backbone"] = printed["backbone"].fillna("")
    ours = ours_cells(spec, raw, profile, data_root, budget, tables)
    keys = ["dataset", "method", "backbone", "scale", "metric"]
    official = ours["weights"].str.startswith("official")
    parts = []
    for i, (extra, o) in enumerate([(False, ours[~official])] + list(ours[official].groupby("weights"))):
        sbs = side_by_side(printed, o, keys, profile)
        info = o.groupby(keys, dropna=False).agg(stand_in=("stand_in", "first"), eval_set=("eval_set", "first"),
                                                 n_images=("n_images", "first"),
                                                 weights=("weights", "first")).reset_index()
        sbs = sbs.merge(info, on=keys, how="left")
        if i:                                  # official checkpoints: extra lines where evaluated
            sbs = sbs[sbs["ours_mean"].notna()]
        parts.append(sbs)
    out = pd.concat(parts, ignore_index=True)
    meta = printed[keys + ["scale_kind", "flag"]].drop_duplicates(keys)
    out = out.merge(meta, on=keys, how="left")
    out["paper"], out["table"] = spec.paper, spec.table
    out = out.rename(columns={"ours": "ours_text"}).rename(columns={"ours_mean": "ours"})
    ran = {r.label for r in spec.rows}
    out["status"] = [("ours" if np.isfinite(v) else
                      spec.not_run.get(m, "not evaluated at this profile" if m in ran else "not run here"))
                     for m, v in zip(out["method"], out["ours"].astype(float))]
    out["stand_in"] = out["stand_in"].fillna("")
    return out[SIDE_COLUMNS]


CLAIM_COLUMNS = ["paper", "table", "claim", "dataset", "backbone", "scale", "scale_kind", "metric", "printed",
                 "ours", "ours_std", "n_seeds", "holds_printed", "holds_ours", "verdict", "stand_in", "profile",
                 "note"]


def check_claims(spec: TableSpec, raw: pd.DataFrame, profile: str, *, data_root=None,
                 budget: EvalBudget | None = None, tables: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each claim of ``spec`` per (dataset, backbone, scale): ``printed`` = the paper's margin
    (better − worse, dB for PSNR), ``ours`` = our margin averaged over seeds (each seed's
    models compared with each other), ``ours_std`` its std over seeds, and a verdict:
    "holds" / "does not hold", with "(within seed noise)" when |margin| ≤ std and
    "(1 seed)" when no noise estimate exists. Official checkpoints are left out."""
    printed = printed_cells(spec, tables).copy()
    printed["backbone"] = printed["backbone"].fillna("")
    ours = ours_cells(spec, raw, profile, data_root, budget, tables)
    ours = ours[~ours["weights"].str.startswith("official")]
    by = ["dataset", "backbone", "scale"]
    kinds = printed.drop_duplicates(by)[by + ["scale_kind"]]
    parts = []
    for c in spec.claims:
        p = claim_holds(printed, c.better, c.worse, by=by, metric=c.metric, strict=c.strict)
        p = p.rename(columns={"margin": "printed", "holds": "holds_printed"})[by + ["claim", "printed", "holds_printed"]]
        if len(ours):
            per_seed = claim_holds(ours, c.better, c.worse, by=by + ["seed"], metric=c.metric, strict=c.strict)
        else:
            per_seed = pd.DataFrame(columns=by + ["seed", "margin"])
        agg = per_seed.groupby(by, dropna=False).agg(ours=("margin", "mean"), ours_std=("margin", "std"),
                                                     n_seeds=("seed", "nunique")).reset_index()
        m = p.merge(agg, on=by, how="outer").merge(kinds, on=by, how="left")
        m["claim"] = f"{c.better} {'>' if c.strict else '>='} {c.worse} ({c.metric})"
        if c.kind:
            m = m[m["scale_kind"] == c.kind]
        m["note"], m["metric"] = c.note, c.metric
        m["holds_ours"] = [_holds(v, c.strict) for v in m["ours"]]
        parts.append(m)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CLAIM_COLUMNS)
    out["verdict"] = [_verdict(m, s, n, h) for m, s, n, h in
                      zip(out["ours"], out["ours_std"], out["n_seeds"], out["holds_ours"])]
    stand = ours.groupby("dataset")["stand_in"].first().to_dict() if len(ours) else {}
    out["stand_in"] = [stand.get(d, "") for d in out["dataset"]]
    out["paper"], out["table"], out["profile"] = spec.paper, spec.table, profile
    return out[CLAIM_COLUMNS].sort_values(["claim", "dataset", "backbone", "scale"], kind="stable").reset_index(drop=True)


def _holds(margin, strict: bool):
    if margin is None or not np.isfinite(margin):
        return np.nan
    return bool(margin > 0) if strict else bool(margin >= 0)


def _verdict(margin, std, n, holds) -> str:
    if margin is None or not np.isfinite(margin):
        return "not evaluated"
    word = "holds" if holds else "does not hold"
    if not n or n < 2 or not np.isfinite(std):
        return f"{word} (1 seed, noise unknown)"
    if abs(margin) <= std:
        return f"{word} (within seed noise)"
    return word


# ----------------------------------------------------------------------------------------------
# official checkpoints
# ----------------------------------------------------------------------------------------------

def claim_summary(claims: pd.DataFrame) -> list:
    """One line per (table, claim) of ``check_claims`` output: in how many cells the ordering holds
    in our run and as printed, and how many of ours are within seed noise (or have one seed)."""
    lines = []
    for (table, claim), g in (claims.groupby(["table", "claim"]) if len(claims) else []):
        n, holds = len(g), int(g["holds_ours"].astype(bool).sum())
        noise = int(g["verdict"].str.contains("noise").sum())
        lines.append(f"{table}: {claim}: holds in {holds}/{n} cells here "
                     f"(printed: {int(g['holds_printed'].sum())}/{n}); "
                     f"{noise} of them within seed noise or with one seed")
    return lines


def checkpoint_rows(data_root=None, folder: str = "checkpoints") -> list:
    """A ``Row`` per ``<data_root>/<folder>/*.pth`` that sr_lib can load (official LIIF / MetaSR /
    LTE files or sr_lib checkpoints), labelled as the tables print the method and backbone.
    Unreadable files are reported on stderr and skipped."""
    from sr_lib.engine.checkpoint import CheckpointError, read_checkpoint
    root = resolve_data_root(data_root or None, warn=False)
    if root.bundled:
        return []
    rows = []
    for path in sorted((root.path / folder).glob("*.pth")):
        try:
            spec = read_checkpoint(path)["model"]
        except (CheckpointError, FileNotFoundError) as e:
            print(f"skipping {path.name}: {e}", file=sys.stderr)
            continue
        args = spec.get("args") or {}
        backbone = args.get("backbone") or (args.get("encoder_spec") or {}).get("name")
        rows.append(Row(METHOD_LABELS.get(spec["name"], spec["name"]), spec["name"], backbone,
                        checkpoint=str(path)))
    return rows


__all__ = ["Row", "Claim", "TableSpec", "EvalBudget", "EVAL_BUDGETS", "EvalSet", "printed_cells",
           "plan_test_sets", "run_table", "read_raw", "write_csv", "ours_cells", "side_by_side_table",
           "check_claims", "claim_summary", "checkpoint_rows", "METHOD_LABELS", "BACKBONE_LABELS", "RAW_COLUMNS"]

"""What a regenerated paper table is made of: its rows, claims and test grid.

A table is a ``TableSpec``: which printed table (``paper``, ``table`` of ``../shared/paper_tables``)
and one ``Row`` per printed method line saying how sr_lib produces it; ``Claim``s are the paper's
orderings around it. What gets evaluated follows the printed table: every (dataset, scale)
printed for a row's method, under the paper's protocol (``protocols.PAPER_PROTOCOL``), cut down
by the profile's ``EvalBudget`` (first N images of each set, at smoke one set and two scales):
``plan_test_sets`` says which images stand for each printed dataset (``EvalSet``) and
``load_eval_set`` loads them.

Stand-ins. DIV2K-val is not on this machine. A DIV2K-val column is then evaluated on a stated
stand-in benchmark (``EvalBudget.stand_in``) scored with the DIV2K rule of the protocol (RGB,
border shave s + 6). The raw results name the images actually used (``dataset``) and the rule
(``scored_as``); the side-by-side keeps the printed dataset and says what stood in for it in
its ``stand_in`` column. Stand-in numbers are not DIV2K numbers: compare orderings and gaps,
not absolute values.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from sr_lib.data.datasets import ImageSet, available_datasets, load_dataset
from sr_lib.data.resolver import BUNDLED_NOTE, resolve_data_root
from sr_lib.engine.evaluate import UPSCALERS
from sr_lib.metrics.protocols import PAPER_PROTOCOL
from sr_lib.repro.tables import load_tables

# sr_lib names → names as the paper tables print them
METHOD_LABELS = {"liif": "LIIF", "metasr": "MetaSR", "lte": "LTE", "ipe-liif": "IPE-LIIF",
                 "ipe-metasr": "IPE-MetaSR", "liif-pe": "LIIF w/ PE", "ciaosr": "CiaoSR", "itsrn": "ITSRN",
                 "arbsr": "ArbSR", "eqsr": "EQSR", "bicubic": "Bicubic"}
BACKBONE_LABELS = {"edsr-baseline": "EDSR-baseline", "rdn": "RDN", "swinir": "SwinIR", "eqnet": "EQNet"}


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
    evaluate instead of training (official checkpoints, see ``checkpoint_rows``); ``n_seeds``
    how many of the profile's seeds (``TrainConfig.seeds``) it is trained with: 3 where the printed
    effect is small (IPE-LIIF vs LIIF), 1 elsewhere (the run plan, ``docs/RUN_PLAN.md``).
    """

    label: str
    method: str
    backbone: str | None = None
    options: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    checkpoint: str = ""
    n_seeds: int = 1

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

    def with_rows(self, rows) -> "TableSpec":
        """This spec with ``rows`` added (official checkpoints beside the trained rows, say)."""
        return replace(self, rows=self.rows + tuple(rows))

    def with_printed_rows(self, rows, tables: pd.DataFrame | None = None) -> "TableSpec":
        """This spec with those of ``rows`` added whose line (label, printed backbone) the table prints
        with a number in ``metrics``: a notebook offers its official ``checkpoint_rows`` to every table,
        and each table takes those of the methods and backbones it prints."""
        cells = printed_cells(self, tables)
        cells = cells[cells["value"].notna()]
        printed = set(zip(cells["method"], cells["backbone"].fillna("")))
        return self.with_rows(r for r in rows if (r.label, r.printed_backbone) in printed)

    def rows_frame(self) -> pd.DataFrame:
        """One line per row: the printed label and backbone, and the sr_lib recipe behind it."""
        return pd.DataFrame([{"table": self.table, "label": r.label, "printed_backbone": r.printed_backbone,
                              "method": r.method, "backbone": r.backbone or "", "options": r.options or "",
                              "overrides": r.overrides or "", "weights": r.weights} for r in self.rows])


def training_recipes(specs) -> set:
    """The distinct trained recipes (method, backbone, options, overrides) of the learned rows of ``specs``
    (checkpoint rows are evaluated, not trained)."""
    return {(r.method, r.backbone, tuple(r.options.items()), tuple(r.overrides.items()))
            for s in specs for r in s.rows if r.learned and not r.checkpoint}


@dataclass(frozen=True)
class EvalBudget:
    """How much of a printed table's test grid a profile evaluates."""

    limit: int | None = None         # first N images (sorted by name) of each set; None = all
    max_datasets: int | None = None  # only the first N datasets of a table (smallest first)
    max_scales: int | None = None    # 2: the smallest and the largest printed scale; None = all
    crop: int = 0                    # >0: score the centre crop of at most crop x crop HR pixels
    stand_in: str = "B100"           # evaluated in place of an absent DIV2K-val
    limits: tuple = ()               # (dataset, N) pairs: first N images of that set (over ``limit``)

    def limit_for(self, dataset: str) -> int | None:
        """How many images of ``dataset`` are scored (None: all)."""
        return dict(self.limits).get(dataset, self.limit)


EVAL_BUDGETS = {
    # seconds: one image of the smallest set, the table's smallest and largest scale
    "smoke": EvalBudget(limit=1, max_datasets=1, max_scales=2, crop=96, stand_in="Set5"),
    # Decoding costs per HR pixel whatever the scale. benchmarks/bench_eval.py, cpu-profile sizes,
    # one thread, HR megapixels per CPU-second (2026-11-22): MetaSR-EDSR 0.131, IPE-MetaSR 0.093,
    # LIIF-EDSR 0.060, LIIF w/ PE 0.053, LIIF-RDN 0.054, IPE-LIIF-EDSR 0.024, IPE-LIIF-RDN 0.023.
    # Whole images (issue 12): all of Set5 and Set14, the first 20 full images of B100 and Urban100
    # (sorted by name); B100 stands in for DIV2K-val. Paired per-image verdicts need whole images and
    # enough of them; docs/RUN_PLAN.md has the cost.
    "cpu": EvalBudget(stand_in="B100", limits=(("B100", 20), ("Urban100", 20))),
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
        n, lim = len(load_dataset(name, root)), budget.limit_for(name)
        return n, (min(lim, n) if lim else n)
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


def table_test_sets(spec: TableSpec, profile: str, data_root=None, budget: EvalBudget | None = None,
                    tables: pd.DataFrame | None = None) -> list:
    """``plan_test_sets`` for the datasets with a printed number in ``spec``'s table."""
    cells = printed_cells(spec, tables)
    return plan_test_sets(cells.loc[cells["value"].notna(), "dataset"].dropna().unique(), profile, data_root,
                          budget)


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


def load_eval_set(ts: EvalSet, data_root=None) -> ImageSet:
    """The images of ``ts`` (its first ``n_images``, centre-cropped to ``crop``), named so that
    ``engine.evaluate.evaluate`` scores them with the rule of ``ts.scored_as``."""
    ds = load_dataset(ts.dataset, resolve_data_root(data_root or None, warn=False), limit=ts.n_images)
    # evaluate() scores under the name before " (": a stand-in gets the protocol's DIV2K rule
    name = ds.name if ts.scored_as == ts.dataset else f"{ts.scored_as} (stand-in: {ds.name})"
    if ts.crop:
        return _CroppedSet(name, ds.items, ts.crop, bundled=ds.bundled, folder=ds.folder)
    return ImageSet(name, ds.items, bundled=ds.bundled, folder=ds.folder)


# ----------------------------------------------------------------------------------------------
# official checkpoints
# ----------------------------------------------------------------------------------------------

def checkpoint_rows(data_root=None, folder: str = "checkpoints", *, labels=None, backbones=None) -> list:
    """A ``Row`` per ``<data_root>/<folder>/*.pth`` that sr_lib can load (official LIIF / MetaSR /
    LTE files or sr_lib checkpoints), labelled as the tables print the method and backbone (an
    official encoder name is read as the sr_lib backbone it builds, ``official.liif.official_backbone``).
    ``labels`` / ``backbones``: only the rows whose printed label / printed backbone is among them
    (the methods and backbones a paper's tables compare; None: all). Unreadable files are reported
    on stderr and skipped."""
    from sr_lib.engine.checkpoint import CheckpointError, read_checkpoint
    from sr_lib.official.liif import official_backbone
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
        encoder = (args.get("encoder_spec") or {}).get("name")
        backbone = args.get("backbone") or (official_backbone(encoder) if encoder else None)
        rows.append(Row(METHOD_LABELS.get(spec["name"], spec["name"]), spec["name"], backbone,
                        checkpoint=str(path)))
    return [r for r in rows if (labels is None or r.label in labels)
            and (backbones is None or r.printed_backbone in backbones)]


__all__ = ["METHOD_LABELS", "BACKBONE_LABELS", "Row", "Claim", "TableSpec", "training_recipes", "EvalBudget",
           "EVAL_BUDGETS", "printed_cells", "EvalSet", "plan_test_sets", "table_test_sets", "load_eval_set",
           "checkpoint_rows"]

"""REPORT.md / REPORT.html of a profile: what was reproduced, in a page read in five minutes.

Reads what the notebooks wrote to ``results/<profile>/``:

- ``*_claims.csv``: one line per claim cell (``paper, table, claim, metric, printed, ours,
  ours_std, verdict, ...``, as ``sr_lib.repro.claims.check_claims`` writes it);
- ``*_tables.csv``: every printed cell beside ours (``paper, table, printed, ours, ...``);
- ``runs.csv``: one run card per training run (issue 12: ``run, method, backbone, seed, steps,
  train_seconds, protocol, set5_x2, set5_x2_bicubic, gain_x2, gain_x4, healthy, weights``);
- ``figures/*.png``, other small CSVs, ``notes/*.md``.

The page opens with a **scoreboard** (per paper: claim cells that hold / are reversed / are
within noise / are not tested, and the run-health gate), then one section per notebook; a
table's section is one compact table (printed | ours ± spread | Δ | verdict) and one figure,
with the full CSVs linked. Verdicts are shown as computed from paired per-image statistics
(``holds``, ``reversed``, ``within noise``, ``not tested (...)``); a claims file without those
statistics (no confidence-interval column) shows every cell as ``not tested (no paired
statistics)``: a margin over 3 crops and at most 3 seeds is not evidence either way.

Sections are stored per notebook in ``REPORT.sections.json``: a partial run (``--only 00``)
rebuilds its own notebooks' sections and keeps the others. ``REPORT.html`` is the same page,
self-contained (no script, no CDN; figures are relative links to ``figures/``).
"""
from __future__ import annotations

import html
import json
import math
import re
import time
from pathlib import Path

import pandas as pd

from sr_lib.paths import atomic_write_text, results_dir
from sr_lib.repro.tables import flagged_mask

MAX_LINES = 400
SECTIONS_FILE = "REPORT.sections.json"
SECTIONS_VERSION = 2
NEW_VERDICTS = ("holds", "reversed", "within noise")
NO_STATS = "not tested (no paired statistics)"
DASH = "—"

# notebook number → (section title, stems of the files it writes: a file belongs to the longest match)
SECTIONS = {
    "00": ("00 · Quickstart", ("quickstart",)),
    "01": ("01 · Bicubic baselines and protocols", ("bicubic",)),
    "02": ("02 · The integrated positional encoding", ("ipe_envelope", "ipe_sinc", "ipe_vs_pe")),
    "10": ("10 · IPE-LIIF, Tables 1–4", ("ipe_liif",)),
    "20": ("20 · CiaoSR tables", ("ciaosr",)),
    "30": ("30 · EQSR tables", ("eqsr_tables", "eqsr_claims", "eqsr_raw", "eqsr_poster", "eqsr_supp")),
    "31": ("31 · EQSR analyses (EQ_S, CKA, kriging)", ("eqsr_analyses", "eqsr_cka", "eqsr_eq_s", "eqsr_kriging")),
    "90": ("90 · Explorer", ("explorer",)),
}
GENERAL_NOTES = ("cpu_run", "smoke_run", "paper_run")     # notes/<name>.md shown under the scoreboard

# What this machine cannot provide, checked at report time rather than asserted.
KNOWN_GAPS = {
    "DIV2K": "DIV2K (train 800 / valid 100 2K images) is not on this machine and cannot be downloaded "
             "here; DIV2K-val tables are evaluated on a stated stand-in benchmark or left empty.",
    "Manga109": "Manga109's licence forbids redistribution; its columns stay empty unless a user "
                "provides the images.",
    "ImageNet": "EQSR† (ImageNet pre-training, supplement Table 2) is out of reach on a 2-core CPU.",
    "LPIPS": "LPIPS needs torchvision backbone weights that cannot be downloaded here; it is reported "
             "only when the weights are present locally.",
}


# ------------------------------------------------------------------------------------------------
# markdown helpers
# ------------------------------------------------------------------------------------------------

def cell(value, digits: int = 2) -> str:
    """One markdown table cell: numbers rounded, missing values as an em dash, ``|`` escaped."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.{digits}f}" if abs(value) >= 10 ** -digits or value == 0 else f"{value:.2g}"
    else:
        text = str(value)
        if text.strip().lower() in ("nan", "none", "<na>", ""):
            return DASH
    return " ".join(text.replace("|", "\\|").split())


def md_table(header: list[str], rows: list[list]) -> list[str]:
    """A pipe table: header, rule, rows; every row has the header's number of cells."""
    n = len(header)
    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * n]
    for row in rows:
        row = list(row)[:n] + [None] * (n - len(row))
        out.append("| " + " | ".join(cell(c) for c in row) + " |")
    return out


def table_cells(line: str) -> int:
    """How many cells a pipe-table line has (escaped ``\\|`` do not split)."""
    return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))


def _link(path: str, text: str | None = None) -> str:
    return f"[{text or path}]({path})"


def _signed(v, digits=2) -> str:
    return DASH if v is None or not math.isfinite(v) else f"{v:+.{digits}f}"


# ------------------------------------------------------------------------------------------------
# verdicts and the scoreboard
# ------------------------------------------------------------------------------------------------

def has_paired_statistics(claims: pd.DataFrame) -> bool:
    """Whether a claims file carries the paired per-image statistics (a confidence-interval
    column such as ``ci_low``/``ci_high``) that the four verdicts rest on."""
    return any(re.search(r"(^|_)ci(\d*)(_|$)", str(c)) for c in claims.columns)


def display_verdict(verdict, paired: bool) -> str:
    """The verdict the report shows: one of ``holds``, ``reversed``, ``within noise`` (only when
    the file has paired statistics) or ``not tested (...)``."""
    v = "" if verdict is None or (isinstance(verdict, float) and not math.isfinite(verdict)) else str(verdict).strip()
    if v.startswith("not tested"):
        return v
    if v == "not evaluated" or not v:
        return "not tested (not evaluated at this profile)"
    if paired and v in NEW_VERDICTS:
        return v
    return NO_STATS


def verdict_kind(v: str) -> str:
    return v if v in NEW_VERDICTS else "not tested"


def _claims(res: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for csv in sorted(res.glob("*_claims.csv")):
        try:
            df = pd.read_csv(csv)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        if {"paper", "table", "claim", "verdict"} <= set(df.columns):
            paired = has_paired_statistics(df)
            df = df.copy()
            df["shown"] = [display_verdict(v, paired) for v in df["verdict"]]
            out[csv.name] = df
    return out


def scoreboard(claims: dict[str, pd.DataFrame]) -> list[str]:
    if not claims:
        return ["No claims file in this profile's results yet."]
    allc = pd.concat(claims.values(), ignore_index=True)
    rows, totals = [], {k: 0 for k in ("cells", "holds", "reversed", "within noise", "not tested")}
    for paper, g in allc.groupby("paper", sort=True):
        kinds = g["shown"].map(verdict_kind).value_counts().to_dict()
        row = {"cells": len(g), **{k: int(kinds.get(k, 0)) for k in ("holds", "reversed", "within noise",
                                                                       "not tested")}}
        for k in totals:
            totals[k] += row[k]
        rows.append([paper, g["claim"].nunique(), row["cells"], row["holds"], row["reversed"], row["within noise"],
                     row["not tested"]])
    rows.append(["**all**", allc["claim"].nunique(), *[totals[k] for k in totals]])
    reasons = (allc.loc[allc["shown"].str.startswith("not tested"), "shown"]
               .str.replace(r"\brun \S+", "a run", regex=True).value_counts())      # one count per kind of reason
    lines = md_table(["paper", "claims", "claim cells", "holds", "reversed", "within noise", "not tested"], rows)
    if len(reasons):
        lines += ["", "Not tested, why: " + "; ".join(f"{r.removeprefix('not tested ').strip('()')} ({n})"
                                                       for r, n in reasons.items()) + "."]
    return lines


def _truthy(v) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes", "healthy")


def run_health(res: Path) -> list[str]:
    path = res / "runs.csv"
    if not path.is_file():
        n = _training_count(res)
        return [f"**Run health:** no runs.csv yet: the training runs are not yet scored against Bicubic on "
                f"whole images (the health gate){'' if n is None else f'; {n} finished runs in training_runs.csv'}."]
    runs = pd.read_csv(path)
    healthy = runs["healthy"].map(_truthy) if "healthy" in runs else pd.Series(False, index=runs.index)
    line = (f"**Run health:** {int(healthy.sum())} / {len(runs)} runs healthy (beat Bicubic by ≥ 1.0 dB at ×2 "
            f"and ≥ 0.5 dB at ×4 on whole Set5 + Set14; {_link('runs.csv')}).")
    bad = runs[~healthy]
    if len(bad):
        show = [f"`{r['run']}` ({_signed(pd.to_numeric(r.get('gain_x2'), errors='coerce'))} / "
                f"{_signed(pd.to_numeric(r.get('gain_x4'), errors='coerce'))} dB)" for _, r in bad.head(6).iterrows()]
        line += " Below the bar (gain ×2 / ×4): " + ", ".join(show) + (f", and {len(bad) - 6} more" if len(bad) > 6
                                                                        else "") + "."
    return [line]


def _training_count(res: Path):
    try:
        return len(pd.read_csv(res / "training_runs.csv"))
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return None


# ------------------------------------------------------------------------------------------------
# per-table compact tables
# ------------------------------------------------------------------------------------------------

def _metric_digits(metric: str) -> int:
    return 4 if str(metric).lower() == "ssim" else 2


def _unit(metric: str) -> str:
    m = str(metric).lower()
    return "PSNR (dB)" if m == "psnr" else ("SSIM" if m == "ssim" else m)


def _spread(g: pd.DataFrame) -> float | None:
    lo = next((c for c in g.columns if re.search(r"(^|_)ci(\d*)_lo", str(c))), None)
    hi = next((c for c in g.columns if re.search(r"(^|_)ci(\d*)_hi", str(c))), None)
    if lo and hi:
        half = (pd.to_numeric(g[hi], errors="coerce") - pd.to_numeric(g[lo], errors="coerce")) / 2
        if half.notna().any():
            return float(half.mean())
    if "ours_std" in g:
        s = pd.to_numeric(g["ours_std"], errors="coerce")
        if s.notna().any():
            return float(s.mean())
    return None


def _ours_pm(mean, spread, digits, seeds=None) -> str:
    if mean is None or not math.isfinite(mean):
        return DASH
    if spread is not None:
        return f"{mean:+.{digits}f} ± {spread:.{digits}f}"
    return f"{mean:+.{digits}f}" + (" (1 seed)" if seeds == 1 else " (no spread)")


def _seeds(g: pd.DataFrame):
    n = pd.to_numeric(g["n_seeds"], errors="coerce").max() if "n_seeds" in g and len(g) else None
    return None if n is None or not math.isfinite(n) else int(n)


def _tally(verdicts: pd.Series) -> str:
    """``holds ×3; within noise ×2`` (run keys in reasons shortened to "a run": the CSV names them)."""
    counts = verdicts.str.replace(r"\brun \S+", "a run", regex=True).value_counts()
    if len(counts) == 1:
        return f"{counts.index[0]} ×{int(counts.iloc[0])}"
    return "; ".join(f"{v} ×{int(n)}" for v, n in counts.items())


def _flagged(c: pd.DataFrame, col: str) -> str:
    """`` (n flagged)`` when ``n`` of the printed cells averaged in ``c`` carry a paper-table flag
    (``SUSPICIOUS`` or ``LOW-CONFIDENCE``; the CSV names them), else ``""``."""
    n = int(flagged_mask(c, col).sum())
    return f" ({n} flagged)" if n else ""


def claims_table(g: pd.DataFrame, max_rows: int) -> list[str]:
    """One row per claim of a table: margins (better − worse) averaged over the cells where ours exists;
    the printed mean says how many of its cells rest on a flagged printed number."""
    rows = []
    for claim, c in g.groupby("claim", sort=False):
        metric = c["metric"].iloc[0] if "metric" in c else "psnr"
        d = _metric_digits(metric)
        both = c[pd.to_numeric(c["ours"], errors="coerce").notna() & pd.to_numeric(c["printed"], errors="coerce").notna()]
        printed = pd.to_numeric((both if len(both) else c)["printed"], errors="coerce").mean()
        ours = pd.to_numeric(both["ours"], errors="coerce").mean() if len(both) else None
        delta = ours - printed if ours is not None else None
        rows.append([claim, _unit(metric), f"{len(both)}/{len(c)}",
                     _signed(printed, d) + _flagged(both if len(both) else c, "printed_flag"),
                     _ours_pm(ours, _spread(both) if len(both) else None, d, _seeds(both)), _signed(delta, d),
                     _tally(both["shown"] if len(both) else c["shown"])])      # cells without ours: see "cells"
    return _compact("claim (margin better − worse)", rows, max_rows, "claims", name_rest=True)


def _compact(first: str, rows: list, max_rows: int, what: str, name_rest: bool = False) -> list[str]:
    """The compact table of a printed table: at most ``max_rows`` rows, the rest counted; ``name_rest``:
    each of the rest named on the same line with its verdict column (a hidden reversal must not read as
    no news)."""
    out = md_table([first, "metric", "cells ours/printed", "printed", "ours ± spread", "Δ", "verdict"],
                   rows[:max_rows])
    if len(rows) <= max_rows:
        return out
    rest = rows[max_rows:]
    named = ": " + "; ".join(f"{r[0]} {r[-1].replace('; ', ', ')}" for r in rest) if name_rest else ""
    return out + ["", f"({len(rest)} more {what if len(rest) > 1 else what[:-1]} in the CSV{named}.)"]


def lines_table(g: pd.DataFrame, max_rows: int) -> list[str]:
    """A table without claims: one row per printed line (method, backbone, metric), means over its cells."""
    g = g[pd.to_numeric(g["printed"], errors="coerce").notna()]
    if "weights" in g:
        g = g[~g["weights"].astype(str).str.startswith("official")]
    rows = []
    keys = [k for k in ("method", "backbone", "metric") if k in g]
    for key, c in g.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        info = dict(zip(keys, key))
        d = _metric_digits(info.get("metric", "psnr"))
        ours_v = pd.to_numeric(c["ours"], errors="coerce")
        both = c[ours_v.notna()]
        printed = pd.to_numeric((both if len(both) else c)["printed"], errors="coerce").mean()
        ours = ours_v.dropna().mean() if len(both) else None
        label = " on ".join(cell(v) for v in (info.get("method"), info.get("backbone")) if cell(v) != DASH)
        rows.append([label, _unit(info.get("metric", "")), f"{len(both)}/{len(c)}",
                     cell(printed, d) + _flagged(both if len(both) else c, "flag"),
                     DASH if ours is None else (f"{ours:.{d}f}" + (f" ± {s:.{d}f}" if (s := _spread(both)) is not None
                                                                    else "")),
                     _signed(ours - printed, d) if ours is not None else DASH, DASH])
    return _compact("line (mean over its cells)", rows, max_rows, "lines")


# ------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------

def _owner(stem: str) -> str | None:
    """The notebook whose section a results file (by its stem) belongs to: the longest prefix."""
    best, size = None, 0
    for nb, (_, prefixes) in SECTIONS.items():
        for p in prefixes:
            if stem.startswith(p) and len(p) > size:
                best, size = nb, len(p)
    return best


def _files(res: Path, nb: str) -> dict[str, list[Path]]:
    out = {"csv": [], "json": [], "fig": [], "note": []}
    for kind, pattern, folder in (("csv", "*.csv", res), ("json", "*.json", res), ("fig", "*.png", res / "figures"),
                                  ("note", "*.md", res / "notes")):
        if folder.is_dir():
            out[kind] = [p for p in sorted(folder.glob(pattern)) if _owner(p.stem) == nb]
    out["json"] = [p for p in out["json"] if p.name not in ("run_summary.json", SECTIONS_FILE)]
    return out


def _small_csv(path: Path, max_rows: int = 10, max_cols: int = 10) -> list[str] | None:
    """A small CSV as a table (columns that are constant over its rows said once below it), or None."""
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return None
    if not len(df) or len(df) > max_rows:
        return None
    const = [c for c in df.columns if len(df) > 1 and df[c].nunique(dropna=False) == 1]
    show = [c for c in df.columns if c not in const]
    if len(show) > max_cols or not show:
        return None
    lines = md_table(show, [[f"{v:.4g}" if isinstance(v, float) and math.isfinite(v) else v for v in r]
                            for r in df[show].itertuples(index=False)])
    if const:
        lines += ["", "All rows: " + ", ".join(f"{c} = {cell(df[c].iloc[0])}" for c in const) + "."]
    return lines


def _figure_for(figs: list[Path], paper: str, table: str) -> Path | None:
    mine = [f for f in figs if f.stem.startswith(f"{paper}_{table}_")]
    claims = [f for f in mine if f.stem.endswith("_claims")]
    return (claims or mine or [None])[0]


def _demote(note: str, levels: int = 2) -> list[str]:
    """A note's lines, its headings ``levels`` down (they sit inside a section)."""
    return [("#" * levels + line) if line.startswith("#") else line for line in note.strip().splitlines()]


# detail levels of the sections, tried in turn until the page fits in MAX_LINES:
# (rows per compact table, figures embedded, a compact table at all)
DETAIL = ((8, True, True), (5, True, True), (4, True, True), (3, True, True), (2, True, True), (1, True, True),
          (1, False, True), (0, False, False))


def build_section(res: Path, nb: str, detail: int = 0, counts: dict | None = None) -> list[str]:
    """The markdown lines of one notebook's section (empty if the notebook left nothing) at a
    ``DETAIL`` level. ``counts``: ``coverage_counts`` (printed and ours cells per table), when known."""
    max_rows, embed, with_tables = DETAIL[min(detail, len(DETAIL) - 1)]
    title = SECTIONS.get(nb, (f"{nb} · other results", ()))[0]
    files = _files(res, nb)
    if not any(files.values()):
        return []
    md = [f"## {title}", ""]
    claims = {p.name: pd.read_csv(p) for p in files["csv"] if p.name.endswith("_claims.csv")}
    claims = {k: v for k, v in claims.items() if {"paper", "table", "claim", "verdict"} <= set(v.columns)}
    for k, v in claims.items():
        v["shown"] = [display_verdict(x, has_paired_statistics(v)) for x in v["verdict"]]
    tables = {}
    for p in files["csv"]:
        if p.name.endswith("_tables.csv"):
            df = pd.read_csv(p)
            if {"paper", "table", "printed", "ours"} <= set(df.columns):
                tables[p.name] = df
    used_figs: set[Path] = set()
    if tables:
        allclaims = pd.concat(claims.values(), ignore_index=True) if claims else pd.DataFrame()
        claim_file = next(iter(claims), None)
        for name, df in tables.items():
            groups = sorted(df.groupby(["paper", "table"], sort=False), key=lambda kv: _natural(kv[0][1]))
            for (paper, table), g in groups:
                c = allclaims[(allclaims["paper"] == paper) & (allclaims["table"] == table)] if len(allclaims) else []
                if counts and (paper, table) in counts:
                    n_printed, n_ours = counts[(paper, table)]
                else:
                    n_printed = int(pd.to_numeric(g["printed"], errors="coerce").notna().sum())
                    n_ours = int((pd.to_numeric(g["printed"], errors="coerce").notna()
                                  & pd.to_numeric(g["ours"], errors="coerce").notna()).sum())
                links = _link(name) + (f" · {_link(claim_file)}" if len(c) else "")
                fig = _figure_for(files["fig"], paper, table)
                if not with_tables:
                    md.append(f"- **{paper} {table}**: ours in {n_ours} of {n_printed} printed cells"
                              + (f"; {_tally(c['shown'])}" if len(c) else "") + f". {links}"
                              + (f" · {_link(f'figures/{fig.name}', 'figure')}" if fig is not None else "") + ".")
                    if fig is not None:
                        used_figs.add(fig)
                    continue
                md += [f"### {paper} {table}", "", f"Ours in {n_ours} of {n_printed} printed cells. Full: {links}.",
                       ""]
                md += claims_table(c, max_rows) if len(c) else lines_table(g, max_rows)
                if fig is not None and embed:
                    used_figs.add(fig)
                    md += ["", f"![{paper} {table}](figures/{fig.name})"]
                md.append("")
        if not with_tables:
            md.append("")
    else:
        for p in files["csv"]:
            small = _small_csv(p)
            if small:
                md += [f"**{p.name}**", ""] + small + [""]
    for n in files["note"]:
        md += _demote(n.read_text()) + [""]
    rest = [f for f in files["fig"] if f not in used_figs]
    if (tables or not embed) and rest:
        md += [("Other figures: " if tables else "Figures: ")
               + ", ".join(_link(f"figures/{f.name}", f.stem) for f in rest) + ".", ""]
    elif rest:
        md += [f"![{f.stem}](figures/{f.name})" for f in rest] + [""]
    linked = [p for p in files["csv"] + files["json"] if p.name not in tables and p.name not in claims]
    if linked:
        md += ["Files: " + ", ".join(_link(p.name) for p in linked) + ".", ""]
    return md


def coverage_counts(res: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(paper, table) → (printed numeric cells, how many of them have ours) for every printed table.
    Ours comes from ``*_tables.csv`` and ``bicubic.csv``, official checkpoints left out; a printed
    cell counts once, matched on dataset, method, scale and metric (and backbone where both state one)."""
    from sr_lib.repro.tables import load_tables
    printed = load_tables()
    printed = printed[printed["value"].notna() & ~printed["is_config"]].copy()
    key = ["paper", "table", "dataset", "method", "scale", "metric"]
    ours = []
    for csv in sorted(res.glob("*_tables.csv")):
        df = pd.read_csv(csv)
        if {"paper", "table", "printed", "ours", "method"} <= set(df.columns):
            df = df[pd.to_numeric(df["ours"], errors="coerce").notna()]
            if "weights" in df:
                df = df[~df["weights"].astype(str).str.startswith("official")]
            ours.append(df.reindex(columns=key + ["backbone"]))
    bic = res / "bicubic.csv"
    if bic.is_file():
        df = pd.read_csv(bic)
        if {"paper", "table", "printed", "ours"} <= set(df.columns):
            df = df[pd.to_numeric(df["ours"], errors="coerce").notna()].assign(method="Bicubic", backbone="")
            ours.append(df.reindex(columns=key + ["backbone"]))
    o = pd.concat(ours, ignore_index=True) if ours else pd.DataFrame(columns=key + ["backbone"])

    def norm(df):
        df = df.copy()
        for c in ("paper", "table", "dataset", "method", "metric", "backbone"):
            df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
        df["scale"] = pd.to_numeric(df["scale"], errors="coerce").round(6).fillna(-1.0)
        return df

    p = norm(printed.reset_index(drop=True)).reset_index().rename(columns={"index": "cell"})
    m = p[key + ["backbone", "cell"]].merge(norm(o)[key + ["backbone"]], on=key, suffixes=("", "_ours"))
    m = m[(m["backbone"] == "") | (m["backbone_ours"] == "") | (m["backbone"] == m["backbone_ours"])]
    with_ours = set(m["cell"])
    return {(paper, table): (len(g), sum(c in with_ours for c in g["cell"]))
            for (paper, table), g in p.groupby(["paper", "table"])}


def _coverage_table(counts) -> list[str]:
    rows = []
    for (paper, table), (n, k) in sorted(counts.items(), key=lambda kv: (kv[0][0], _natural(kv[0][1]))):
        regen = "no" if k == 0 else ("yes" if k >= n else f"partly ({100 * k / n:.0f}%)")
        rows.append([paper, table, n, k, regen])
    return md_table(["paper", "table", "printed cells", "cells with ours", "regenerated"], rows)


def _natural(text: str):
    """``table10`` after ``table9``; ``poster_table`` before ``supp_table1``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


# ------------------------------------------------------------------------------------------------
# training runs (the run cache)
# ------------------------------------------------------------------------------------------------

def training_runs(profile: str) -> pd.DataFrame:
    """One row per finished training run in the profile's run cache (``sr_lib.paths.runs_dir``):
    method, backbone, options, seed, steps and the wall seconds its training took (summed over the
    sessions it was resumed in; runs from before that was recorded give their last session's)."""
    from sr_lib.engine.checkpoint import read_checkpoint
    from sr_lib.paths import runs_dir
    rows = []
    for final in sorted(runs_dir(profile).glob("*/final.pt")):
        spec_file = final.parent / "spec.json"
        spec = json.loads(spec_file.read_text()) if spec_file.is_file() else {}
        ck = read_checkpoint(final)
        seconds = ck.get("train_seconds", ck.get("train_seconds_last_session"))
        rows.append({"run": final.parent.name, "method": spec.get("method"), "backbone": spec.get("backbone"),
                     "options": json.dumps(spec.get("options", {}), sort_keys=True), "seed": ck.get("seed"),
                     "steps": ck.get("step"), "train_seconds": None if seconds is None else round(float(seconds), 1),
                     "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(final.stat().st_mtime))})
    return pd.DataFrame(rows, columns=["run", "method", "backbone", "options", "seed", "steps",
                                       "train_seconds", "finished"])


def _training_line(profile: str, res: Path) -> list[str]:
    """What was trained: the shipped run cards of ``runs.csv`` (committed, the same on every clone), then
    the finished runs of this machine's run cache that are not shipped (listed in ``training_runs.csv``)."""
    lines = []
    shipped: set[str] = set()
    path = res / "runs.csv"
    if path.is_file():
        cards = pd.read_csv(path)
        shipped = set(cards["run"].astype(str))
        col = lambda name: pd.to_numeric(cards[name], errors="coerce") if name in cards else pd.Series(dtype=float)
        hours = col("train_seconds").sum() / 3600
        steps = sorted({int(s) for s in col("steps").dropna()})
        lines.append(f"**Training:** {len(cards)} shipped runs ({_link('runs.csv')}; weights in `weights/`), "
                     f"{hours:.2f} h of training in total by their run cards (each run's own clock, one thread; "
                     f"steps: {', '.join(f'{s:,}' for s in steps) or DASH}).")
    local = training_runs(profile)
    listed = res / "training_runs.csv"          # earlier machines' runs stay listed: nothing is lost
    if listed.is_file():
        before = pd.read_csv(listed)
        local = pd.concat([before[~before["run"].astype(str).isin(set(local["run"].astype(str)))], local],
                          ignore_index=True)
    local = local[~local["run"].astype(str).isin(shipped)]
    if len(local):
        atomic_write_text(listed, local.to_csv(index=False))
        hours = pd.to_numeric(local["train_seconds"], errors="coerce").sum() / 3600
        lines.append(f"{'' if lines else '**Training:** '}{len(local)} more finished runs, not shipped (this "
                     f"machine's run cache and earlier ones, superseded recipes included; {hours:.2f} h; "
                     f"{_link('training_runs.csv')}).")
    return [" ".join(lines)] if lines else []


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------

def _merge_summary(res: Path, run_summary) -> list[dict]:
    try:
        old = json.loads((res / "run_summary.json").read_text())
    except (OSError, ValueError):
        old = []
    merged = {r["notebook"]: r for r in old if isinstance(r, dict) and "notebook" in r}
    for r in run_summary or []:
        merged[r["notebook"]] = r
    return [merged[k] for k in sorted(merged)]


def _load_sections(res: Path) -> dict:
    try:
        data = json.loads((res / SECTIONS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data.get("sections", {}) if data.get("version") == SECTIONS_VERSION else {}


def write_report(profile: str, run_summary: list[dict] | None = None, ran=None) -> Path:
    """Write ``REPORT.md``, ``REPORT.html``, ``run_summary.json`` and ``REPORT.sections.json``.

    ``run_summary``: this run's notebook records (merged by notebook into the stored ones).
    ``ran``: the notebooks (``"10_x.py"`` names or ``"10"`` numbers) whose sections are rebuilt;
    the others keep their stored section. ``None`` or ``"all"``: every section is rebuilt."""
    res = results_dir(profile)
    res.mkdir(parents=True, exist_ok=True)
    summary = _merge_summary(res, run_summary)
    stored = _load_sections(res)
    present = sorted({nb for p in list(res.glob("*.csv")) + list(res.glob("*.json"))
                      + list((res / "figures").glob("*.png")) + list((res / "notes").glob("*.md"))
                      if (nb := _owner(p.stem))} | set(stored))
    rebuild = set(present) if ran in (None, "all") else {str(n)[:2] for n in ran}
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        counts, coverage_error = coverage_counts(res), None
    except Exception as e:  # noqa: BLE001 (report what we have even if the printed tables are absent)
        counts, coverage_error = {}, str(e)
    fresh = [nb for nb in present if nb in rebuild or nb not in stored]
    level = dict.fromkeys(fresh, 0)
    sections = {}
    for nb in present:
        lines = build_section(res, nb, 0, counts) if nb in level else None
        if nb in level and lines:
            sections[nb] = {"lines": lines, "updated": now}
        elif nb not in level:
            sections[nb] = stored[nb]
    while True:                       # too long: the longest rebuilt section gives up detail first
        md = _page(profile, res, summary, sections, counts, coverage_error)
        if len(md) <= MAX_LINES:
            break
        shrink = [nb for nb in sections if nb in level and level[nb] < len(DETAIL) - 1]
        if not shrink:                # still too long: cut at a block boundary, and say so
            cut = max(i for i, line in enumerate(md[:MAX_LINES - 2]) if not line.strip())
            md = md[:cut] + ["", f"(The report is cut at {MAX_LINES} lines here; the CSVs hold everything.)"]
            break
        nb = max(shrink, key=lambda k: len(sections[k]["lines"]))
        level[nb] += 1
        sections[nb] = {"lines": build_section(res, nb, level[nb], counts), "updated": now}
    out = res / "REPORT.md"
    atomic_write_text(out, "\n".join(md) + "\n")
    atomic_write_text(res / "REPORT.html", page_html(profile, md))
    atomic_write_text(res / "run_summary.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(res / SECTIONS_FILE, json.dumps({"version": SECTIONS_VERSION, "profile": profile,
                                                       "sections": sections}, indent=1, ensure_ascii=False) + "\n")
    return out


def _page(profile: str, res: Path, summary: list[dict], sections: dict, counts: dict,
          coverage_error: str | None) -> list[str]:
    wall = sum(float(r.get("seconds") or 0) for r in summary)
    md = [f"# sr_lib report — profile `{profile}`", "",
          f"Made by the `{profile}` profile (`python -m sr_lib run-notebooks --profile {profile}`); written "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. `printed` is the papers' number, `ours` was "
          f"computed here"
          + ("." if profile == "paper" else
             f" at the `{profile}` profile's reduced budget: not the papers' protocol, and not to be read as such."),
          ""]
    md += ["## Scoreboard", ""]
    md += scoreboard(_claims(res)) + [""]
    md += run_health(res) + [""]
    md += [f"**Verdicts.** `holds` / `reversed`: the paired per-image difference (mean, bootstrap 95% CI over "
           f"images, seed spread) is clear of zero; `within noise`: it is not; `not tested (...)`: no such "
           f"statistics, or a run below the health bar. Margins are better − worse (dB for PSNR)."]
    md += [""] + _training_line(profile, res) + [""]
    if summary:
        md += ["## Notebooks", "", f"Wall time of the notebooks: {wall / 60:.1f} min (a notebook skipped as "
               "finished counts with the time it took when it ran). Executed notebooks: `notebooks/*.html`.", ""]
        md += md_table(["notebook", "seconds", "finished", "section updated"],
                       [[r["notebook"], r.get("seconds"), r.get("finished"),
                         sections.get(r["notebook"][:2], {}).get("updated", DASH)] for r in summary])
        md.append("")
    for name in GENERAL_NOTES:
        note = res / "notes" / f"{name}.md"
        if note.is_file():
            md += _demote(note.read_text(), 1)[:14] + [""]
    md += ["## Coverage of the printed tables", ""]
    md += (_coverage_table(counts) if counts else [f"(not available: {cell(coverage_error or 'no printed tables')})"])
    md.append("")
    for nb in sorted(sections):
        md += sections[nb]["lines"]
    md += ["## What could not run here, and why", ""] + [f"- **{k}.** {v}" for k, v in KNOWN_GAPS.items()]
    return [line for block in md for line in str(block).split("\n")]      # one element per line


def page_html(profile: str, md_lines: list[str]) -> str:
    """The report as one HTML page: no script, no CDN; images are the relative links of the markdown."""
    from sr_lib.repro.export import STYLE_INLINE, markdown_html
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>sr_lib report {html.escape(profile)}</title><style>{STYLE_INLINE}</style></head><body>\n"
            + markdown_html("\n".join(md_lines)) + "</body></html>\n")


__all__ = ["write_report", "training_runs", "scoreboard", "run_health", "display_verdict", "has_paired_statistics",
           "build_section", "md_table", "table_cells", "page_html", "KNOWN_GAPS", "SECTIONS", "MAX_LINES"]

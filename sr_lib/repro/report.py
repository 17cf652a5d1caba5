"""REPORT.md / REPORT.html of a profile: every regenerated table beside the printed one.

Reads what the notebooks wrote to ``results/<profile>/``: comparison tables are
CSV files with (at least) the columns ``paper, table, printed, ours`` (plus
``delta``, ``profile``, ``seeds``, ``claim``... when present); figures are the
PNGs in ``figures/``; ``notes/*.md`` are short notes notebooks leave for the
report (what could not run and why). The report also lists, for every table of
``paper_tables``, whether this run regenerated it.
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path

import pandas as pd

from sr_lib.paths import atomic_write_text, results_dir

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


def _comparison_tables(res: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for csv in sorted(res.glob("*.csv")):
        try:
            df = pd.read_csv(csv)
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        if {"paper", "table", "printed", "ours"} <= set(df.columns):
            out[csv.name] = df
    return out


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    return df.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)


def _coverage(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every printed table, and whether a results file of this run covers it."""
    from sr_lib.repro.tables import load_tables
    printed = load_tables()
    covered = set()
    for df in tables.values():
        covered |= set(zip(df["paper"], df["table"]))
    rows = []
    for (paper, table), g in printed.groupby(["paper", "table"]):
        ours = [df for df in tables.values() if ((df["paper"] == paper) & (df["table"] == table)).any()]
        n_ours = sum(int(((d["paper"] == paper) & (d["table"] == table) & d["ours"].notna()).sum()) for d in ours)
        rows.append({"paper": paper, "table": table, "printed cells": len(g),
                     "cells with ours": n_ours, "regenerated": (paper, table) in covered})
    return pd.DataFrame(rows)


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


def write_report(profile: str, run_summary: list[dict] | None = None) -> Path:
    res = results_dir(profile)
    tables = _comparison_tables(res)
    figures = sorted((res / "figures").glob("*.png")) if (res / "figures").is_dir() else []
    notes = sorted((res / "notes").glob("*.md")) if (res / "notes").is_dir() else []
    wall = sum(r.get("seconds", 0) for r in run_summary or [])

    md = [f"# sr_lib report — profile `{profile}`", "",
          f"Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
          f"Notebook wall time of this run: {wall / 60:.1f} min (notebooks skipped as already finished "
          f"count with the time they took when they ran).", "",
          "Columns `printed` are the papers' numbers (reference data, as printed); `ours` were computed "
          f"by this run at the `{profile}` profile"
          + ("" if profile == "paper" else ", a reduced budget: they are not the papers' protocol "
             "budget and must not be read as such") + ".", ""]
    if run_summary:
        md += ["## Notebooks", "", "| notebook | seconds | finished |", "|---|---|---|"]
        md += [f"| {r['notebook']} | {r.get('seconds', '')} | {r.get('finished', '')} |" for r in run_summary]
        md.append("")
    runs = training_runs(profile)
    if len(runs):
        atomic_write_text(res / "training_runs.csv", runs.to_csv(index=False))
        per = runs.groupby(["method", "backbone"], dropna=False)["train_seconds"].agg(["count", "sum"]).reset_index()
        per.columns = ["method", "backbone", "runs", "train seconds"]
        md += ["## Training", "",
               f"{len(runs)} finished training runs in the run cache, {runs['train_seconds'].sum() / 3600:.2f} h "
               "of training wall time in total (each run's own clock, summed over the sessions it was resumed "
               "in; runs that trained side by side overlap in time). Per run: `training_runs.csv`.", "",
               per.to_markdown(index=False), ""]
    try:   # claim files (printed vs our margins) are rendered below but are not table cells
        cov = _coverage({k: v for k, v in tables.items() if not k.endswith("_claims.csv")})
        md += ["## Coverage of the printed tables", "", cov.to_markdown(index=False), ""]
    except Exception as e:  # report what we have even if paper tables are absent
        md += ["## Coverage of the printed tables", "", f"(not available: {e})", ""]
    for name, df in tables.items():
        md += [f"## {name}", ""]
        for (paper, table), g in df.groupby(["paper", "table"], sort=False):
            md += [f"### {paper} {table}", "", _fmt(g.drop(columns=["paper", "table"])).to_markdown(index=False), ""]
    md += ["## What could not run here, and why", ""] + [f"- **{k}.** {v}" for k, v in KNOWN_GAPS.items()] + [""]
    for n in notes:
        md += [n.read_text().strip(), ""]
    if figures:
        md += ["## Figures", ""] + [f"![{f.stem}](figures/{f.name})" for f in figures] + [""]
    out = res / "REPORT.md"
    atomic_write_text(out, "\n".join(md))
    atomic_write_text(res / "REPORT.html", _html(profile, md))
    atomic_write_text(res / "run_summary.json", json.dumps(run_summary or [], indent=1) + "\n")
    return out


def _html(profile, md_lines) -> str:
    parts = [f"<html><head><meta charset='utf-8'><title>sr_lib report {profile}</title>",
             "<style>body{font-family:sans-serif;max-width:1200px;margin:auto} table{border-collapse:collapse;"
             "font-size:12px} td,th{border:1px solid #ccc;padding:2px 6px} img{max-width:100%}</style></head><body>"]
    rows: list[str] = []                    # the markdown table being collected
    for line in "\n".join(md_lines).split("\n") + [""]:
        if line.startswith("|"):
            rows.append(line)
            continue
        if rows:
            parts.append(_html_table(rows))
            rows = []
        if line.startswith("!["):
            src = line[line.index("(") + 1:-1]
            parts.append(f"<p><img src='{html.escape(src)}'></p>")
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            parts.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line:
            parts.append(f"<p>{html.escape(line)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(lines: list[str]) -> str:
    """A pipe table (header, ``|---|`` rule, rows; as ``DataFrame.to_markdown`` writes it) → ``<table>``."""
    def cells(line):
        return [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]
    head, body = cells(lines[0]), [cells(x) for x in lines[2:]]
    out = ["<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join(out + ["</tbody></table>"])

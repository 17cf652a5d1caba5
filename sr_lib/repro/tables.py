"""The printed paper tables as typed data, and side-by-side comparisons with our numbers.

Source: ``../shared/paper_tables/*.csv`` (17 tables, 1767 printed cells; schema and flags in
that folder's README). Paper values are **reference data, labelled "printed"** everywhere;
our values always carry the profile and seeds that produced them.

    t = load_tables()                                   # one row per printed cell
    bic = t[(t.base_method == "Bicubic") & (t.metric == "psnr")]
    table = side_by_side(printed, ours, keys=["dataset", "scale"], profile="cpu")
    claim_holds(t, better="IPE-LIIF", worse="LIIF")             # per dataset, backbone, scale

Directory: ``$SR_PAPER_TABLES``, else ``../shared/paper_tables`` beside the repository.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["paper", "table", "dataset", "method", "backbone", "scale", "scale_kind", "metric", "value", "note"]
KEY = ["paper", "table", "dataset", "method", "backbone", "scale", "metric"]
FLAGS = ("SUSPICIOUS", "LOW-CONFIDENCE")
LOWER_IS_BETTER = {"lpips", "niqe", "brisque", "piqe", "time_ms", "params_m"}
_FLAG_RE = re.compile(r"\b(SUSPICIOUS|LOW-CONFIDENCE):")
_LIKELY_RE = re.compile(r"\blikely (?:typo for )?(\d+(?:\.\d+)?)")
REPO = Path(__file__).resolve().parents[2]


def paper_tables_dir(path=None) -> Path:
    """The folder holding ``<paper>_<table>.csv``: ``path``, ``$SR_PAPER_TABLES`` or the default."""
    p = Path(path or os.environ.get("SR_PAPER_TABLES") or REPO.parent / "shared" / "paper_tables")
    if not p.is_dir() or not any(p.glob("*_*.csv")):
        raise FileNotFoundError(f"paper tables not found at {p} (set SR_PAPER_TABLES)")
    return p


def load_tables(path=None) -> pd.DataFrame:
    """All printed cells as one typed DataFrame.

    Columns: the CSV schema with ``scale`` as float (NaN when scale-free), ``value`` as float
    (NaN for cells printed ``-``), ``printed`` (the string as printed), ``base_method``
    (``method.split(' [')[0]``), ``flag`` ("SUSPICIOUS", "LOW-CONFIDENCE" or ""),
    ``likely`` (the value a SUSPICIOUS note proposes, else NaN), ``uncertain`` (header
    information inferred) and ``is_config`` (``cfg_*`` settings, not results).
    """
    folder = paper_tables_dir(path)
    frames = []
    for f in sorted(folder.glob("*_*.csv")):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        if list(df.columns) != COLUMNS:
            raise ValueError(f"{f.name}: unexpected header {list(df.columns)}")
        frames.append(df)
    t = pd.concat(frames, ignore_index=True)
    t["printed"] = t["value"]
    t["value"] = pd.to_numeric(t["value"].replace("", np.nan), errors="raise")
    t["scale"] = pd.to_numeric(t["scale"].replace("", np.nan), errors="raise")
    t["base_method"] = t["method"].str.split(" [", n=1, regex=False).str[0]
    t["flag"] = t["note"].map(lambda n: (m.group(1) if (m := _FLAG_RE.search(n)) else ""))
    t["likely"] = [float(m.group(1)) if f == "SUSPICIOUS" and (m := _LIKELY_RE.search(n)) else np.nan
                   for f, n in zip(t["flag"], t["note"])]
    t["uncertain"] = t["note"].str.contains("UNCERTAIN", regex=False)
    t["is_config"] = t["metric"].str.startswith("cfg_")
    return t


def bicubic_cells(tables: pd.DataFrame, metrics=("psnr", "ssim")) -> pd.DataFrame:
    """The printed Bicubic cells (one per paper, table, dataset, scale, metric); ``printed``
    holds the printed number as float."""
    b = tables[(tables["base_method"] == "Bicubic") & tables["metric"].isin(metrics) & tables["value"].notna()]
    return b[["paper", "table", "dataset", "scale", "scale_kind", "metric", "value", "flag", "note"]] \
        .rename(columns={"value": "printed"}).reset_index(drop=True)


def side_by_side(printed: pd.DataFrame, ours: pd.DataFrame, keys, profile: str,
                 value: str = "value") -> pd.DataFrame:
    """Printed value next to ours (mean ± std over seeds), the delta, the profile and seeds.

    ``printed``: rows with ``keys`` and ``value`` (the paper's number). ``ours``: rows with
    ``keys``, ``value`` and optionally ``seed`` (several seeds → mean and sample std).
    Printed cells without a result of ours stay, with NaN ours. Columns: keys, ``printed``,
    ``ours_mean``, ``ours_std``, ``n_seeds``, ``seeds``, ``delta`` (ours − printed),
    ``ours`` ("29.56 ± 0.01 (3 seeds)"), ``profile``.
    """
    keys = list(keys)
    if not profile:
        raise ValueError("side_by_side needs the profile that produced our numbers")
    o = ours.copy()
    if "seed" not in o:
        o["seed"] = 0
    agg = o.groupby(keys, dropna=False).agg(ours_mean=(value, "mean"), ours_std=(value, "std"),
                                            n_seeds=("seed", "nunique"),
                                            seeds=("seed", lambda s: ",".join(map(str, sorted(set(s))))))
    agg = agg.reset_index()
    p = printed[keys + [value]].rename(columns={value: "printed"})
    out = p.merge(agg, on=keys, how="left")
    out["delta"] = out["ours_mean"] - out["printed"]
    out["ours"] = [_fmt(m, s, n) for m, s, n in zip(out["ours_mean"], out["ours_std"], out["n_seeds"])]
    out["profile"] = profile
    return out


def _fmt(mean, std, n) -> str:
    if not np.isfinite(mean):
        return "not run"
    if n and n > 1 and np.isfinite(std):
        return f"{mean:.2f} ± {std:.2f} ({int(n)} seeds)"
    return f"{mean:.2f} (1 seed)"


def claim_holds(df: pd.DataFrame, better: str, worse: str, by=("dataset", "backbone", "scale"),
                metric: str = "psnr", value: str = "value", method_col: str = "method",
                strict: bool = True) -> pd.DataFrame:
    """Does ``better`` beat ``worse`` in every group of ``by``? One row per group.

    Works on printed tables (``value``) and on our results (e.g. ``value="ours_mean"``).
    Direction follows the metric (lower is better for LPIPS, NIQE, time, ...). Columns:
    ``by``, ``better``, ``worse`` values, ``margin`` (positive = claim holds) and ``holds``.
    Groups missing either method are left out.
    """
    by = list(by)
    sub = df[df["metric"] == metric] if "metric" in df else df
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    a = sub[sub[method_col] == better].groupby(by, dropna=False)[value].mean().rename("better")
    b = sub[sub[method_col] == worse].groupby(by, dropna=False)[value].mean().rename("worse")
    out = pd.concat([a, b], axis=1, join="inner").dropna().reset_index()
    out["margin"] = sign * (out["better"] - out["worse"])
    out["holds"] = out["margin"] > 0 if strict else out["margin"] >= 0
    out.insert(0, "claim", f"{better} {'<' if sign < 0 else '>'} {worse} ({metric})")
    return out


def flagged_mask(frame: pd.DataFrame, col: str = "printed_flag") -> np.ndarray:
    """Rows of ``frame`` whose ``col`` names a paper-table flag (``FLAGS``: the tables' ``flag``, or a
    claim's ``printed_flag`` from ``claims.printed_flags``); all False when ``frame`` has no such column."""
    if col not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[col].fillna("").astype(str).ne("").to_numpy()


__all__ = ["flagged_mask", "load_tables", "paper_tables_dir", "bicubic_cells", "side_by_side", "claim_holds",
           "KEY", "FLAGS", "COLUMNS"]

"""Comparing a table's results with the printed table: side by side, and the paper's claims.

``side_by_side_table(spec, raw, profile)``: every printed cell beside ours (mean ± sample std
over seeds, delta, what stood in for an absent dataset, a status). ``check_claims(spec, raw,
profile, health=...)``: each ``Claim`` of the spec per (dataset, backbone, scale), the printed margin
beside ours, with a verdict from the paired per-image differences (``sr_lib.repro.verdicts``: holds /
reversed / within noise / not tested). ``raw`` is what ``results.run_rows`` returns (``RAW_COLUMNS``,
whose ``per_image`` column holds each evaluation's per-image scores).
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from sr_lib.repro.specs import EvalBudget, TableSpec, printed_cells, table_test_sets
from sr_lib.repro.tables import LOWER_IS_BETTER, claim_holds, side_by_side
from sr_lib.repro.verdicts import not_tested, paired_verdict, verdict_kind, VERDICTS

def ours_cells(spec: TableSpec, raw: pd.DataFrame, profile: str, data_root=None,
               budget: EvalBudget | None = None, tables: pd.DataFrame | None = None, *,
               any_backbone: bool = False) -> pd.DataFrame:
    """Our results in the printed table's coordinates: one line per (label, backbone, printed
    dataset, scale, metric, seed, weights) with ``value`` and ``stand_in``. ``any_backbone``:
    lines are matched to the rows by label alone and their backbone is left empty."""
    sets = {(ts.dataset, ts.scored_as, ts.n_images, ts.crop): ts for ts in
            table_test_sets(spec, profile, data_root, budget, tables)}
    rows = {(r.label, "" if any_backbone else r.printed_backbone) for r in spec.rows}
    lines = []
    for rec in raw.to_dict("records"):
        backbone = "" if any_backbone or pd.isna(rec["printed_backbone"]) else rec["printed_backbone"]
        ts = sets.get((rec["dataset"], rec["scored_as"], int(rec["n_images"]), int(rec["crop"])))
        if rec["profile"] != profile or ts is None or (rec["label"], backbone) not in rows:
            continue                     # another profile, budget or table
        for metric in spec.metrics:
            lines.append({"dataset": ts.printed, "method": rec["label"], "backbone": backbone,
                          "scale": float(rec["scale"]), "metric": metric, "value": float(rec[metric]),
                          "seed": rec["seed"], "weights": rec["weights"], "stand_in": ts.stand_in,
                          "n_images": int(rec["n_images"]), "eval_set": ts.images,
                          "run_key": str(rec.get("run_key", "")), "per_image": rec.get("per_image", "")})
    return pd.DataFrame(lines, columns=OURS_COLUMNS)


OURS_COLUMNS = ["dataset", "method", "backbone", "scale", "metric", "value", "seed", "weights", "stand_in",
                "n_images", "eval_set", "run_key", "per_image"]
METRIC_INDEX = {"psnr": 1, "ssim": 2}          # position in a per_image entry [image, psnr, ssim]
_LEARNED_KEY = re.compile(r"-s\d+-[0-9a-f]{10}$")     # engine.runs.run_key: <method>-<backbone>-s<seed>-<hash>


def per_image_scores(cell: str, metric: str) -> dict:
    """``{image: value}`` of one evaluation's ``per_image`` cell (JSON ``[[image, psnr, ssim], ...]``)."""
    if not isinstance(cell, str) or not cell.strip() or metric not in METRIC_INDEX:
        return {}
    return {e[0]: float(e[METRIC_INDEX[metric]]) for e in json.loads(cell)}


def health_reason(run_key: str, health) -> str:
    """Why a run's numbers are no evidence ('' when they are): below the health bar, or unchecked."""
    if not _LEARNED_KEY.search(run_key):
        return ""                              # an upscaler (Bicubic) or an official checkpoint
    if health is None or run_key not in health:
        return f"run {run_key} has no health check"
    ok = health[run_key]
    return "" if ok else f"run {run_key} below the health bar"


def seed_pairs(sa: list, sb: list) -> list[tuple]:
    """The (seed of a, seed of b) pairs a claim compares: seed j with seed j, or, where one side has a
    single seed, that seed with every seed of the other."""
    if len(sa) == 1 or len(sb) == 1:
        return [(x, y) for x in sa for y in sb]
    return [(x, x) for x in sorted(set(sa) & set(sb))]


def claim_verdict(a: pd.DataFrame, b: pd.DataFrame, metric: str, health=None):
    """The verdict of "a beats b" from their ``ours_cells`` lines in one (dataset, backbone, scale)
    cell: seed j of a paired with seed j of b (a one-seed side is paired with every seed of the
    other), per-image differences over the images both were scored on."""
    if a.empty or b.empty:
        return not_tested("not evaluated")
    for key in list(a["run_key"]) + list(b["run_key"]):
        why = health_reason(str(key), health)
        if why:
            return not_tested(why)
    sa = {s: per_image_scores(c, metric) for s, c in zip(a["seed"], a["per_image"])}
    sb = {s: per_image_scores(c, metric) for s, c in zip(b["seed"], b["per_image"])}
    if not all(sa.values()) or not all(sb.values()):
        return not_tested("no per-image scores")
    pairs = seed_pairs(list(sa), list(sb))
    if not pairs:
        return not_tested("no common seeds")
    images = sorted(set.intersection(*[set(sa[x]) & set(sb[y]) for x, y in pairs]))
    if not images:
        return not_tested("no common images")
    diff = np.array([[sa[x][i] - sb[y][i] for i in images] for x, y in pairs])     # [k, n]
    return paired_verdict(diff, direction=-1 if metric in LOWER_IS_BETTER else 1)


def paired_seeds(lines: pd.DataFrame, better: str, worse: str, by: list) -> pd.DataFrame:
    """The lines of ``better`` and ``worse`` relabelled so that ``seed`` numbers the ``seed_pairs`` of each
    ``by`` group, the pairs ``claim_verdict`` compares: the per-seed margins (and their mean, ``ours``)
    are then over the same pairs as the verdict's per-image differences."""
    parts = []
    for _, g in lines[lines["method"].isin([better, worse])].groupby(by, dropna=False):
        a, b = g[g["method"] == better], g[g["method"] == worse]
        for k, (x, y) in enumerate(seed_pairs(list(a["seed"].unique()), list(b["seed"].unique()))):
            parts += [a[a["seed"] == x].assign(seed=k), b[b["seed"] == y].assign(seed=k)]
    return pd.concat(parts, ignore_index=True) if parts else lines.iloc[:0]


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


def official_summary(side: pd.DataFrame) -> str:
    """The official checkpoints with numbers in ``side`` (``side_by_side_table`` lines of any tables), each
    with the tables and the number of cells it was scored in: one line; "" when there are none."""
    if not len(side):
        return ""
    off = side[side["weights"].fillna("").astype(str).str.startswith("official") & side["ours"].notna()]
    return "; ".join(f"{str(w).removeprefix('official checkpoint ')} ({', '.join(sorted(g['table'].unique()))}: "
                     f"{len(g)} cells)" for w, g in off.groupby("weights"))


CLAIM_COLUMNS = ["paper", "table", "claim", "dataset", "backbone", "scale", "scale_kind", "metric", "printed",
                 "printed_flag", "ours", "ours_std", "n_seeds", "holds_printed", "holds_ours", "verdict", "mean_diff",
                 "ci_low", "ci_high", "seed_sd", "n_images", "stand_in", "profile", "note"]


def check_claims(spec: TableSpec, raw: pd.DataFrame, profile: str, *, data_root=None,
                 budget: EvalBudget | None = None, tables: pd.DataFrame | None = None,
                 any_backbone: bool = False, health=None) -> pd.DataFrame:
    """Each claim of ``spec`` per (dataset, backbone, scale): ``printed`` = the paper's margin
    (better − worse, dB for PSNR; ``printed_flag`` names a flagged printed cell it rests on,
    ``printed_flags``), ``ours`` = our margin averaged over seeds (each seed's
    models compared with each other), ``ours_std`` its std over seeds, and the ``verdict`` from the
    paired per-image differences (``claim_verdict``; ``mean_diff``, the 95% bootstrap CI over images
    ``ci_low``..``ci_high``, the seed spread ``seed_sd``, ``n_images``): holds / reversed / within
    noise / not tested (reason). ``health`` maps a learned run's key to whether it passed the health
    gate (``sr_lib.engine.health``; ``repro.run_cards.health_map``): a claim on a run below the bar,
    or on a run never checked, is "not tested". Official checkpoints are left out, and so are cells
    outside the table's printed (dataset, scale) grid (``raw`` may hold other tables' lines).

    ``any_backbone=True`` compares methods per (dataset, scale) whatever their backbone, for a
    paper whose lines do not share one: EQSR prints its own line on "EQNet" and its baselines'
    with an empty (unstated) backbone, so "EQSR beats LTE" has no common backbone group. The
    printed and our backbones are then left empty (the ``backbone`` column of the claims too).
    """
    printed = printed_cells(spec, tables).copy()
    printed["backbone"] = "" if any_backbone else printed["backbone"].fillna("")
    ours = ours_cells(spec, raw, profile, data_root, budget, tables, any_backbone=any_backbone)
    ours = ours[~ours["weights"].str.startswith("official")]
    by = ["dataset", "backbone", "scale"]
    kinds = printed.drop_duplicates(by)[by + ["scale_kind"]]
    parts = []
    for c in spec.claims:
        p = claim_holds(printed, c.better, c.worse, by=by, metric=c.metric, strict=c.strict)
        p = p.rename(columns={"margin": "printed", "holds": "holds_printed"})[by + ["claim", "printed", "holds_printed"]]
        if len(ours):
            per_seed = claim_holds(paired_seeds(ours, c.better, c.worse, by), c.better, c.worse, by=by + ["seed"],
                                   metric=c.metric, strict=c.strict)
        else:
            per_seed = pd.DataFrame(columns=by + ["seed", "margin"])
        agg = per_seed.groupby(by, dropna=False).agg(ours=("margin", "mean"), ours_std=("margin", "std"),
                                                     n_seeds=("seed", "nunique")).reset_index()
        m = p.merge(agg, on=by, how="outer").merge(kinds, on=by, how="left")
        m = m.merge(printed_flags(printed, c.better, c.worse, by, c.metric), on=by, how="left")
        m["printed_flag"] = [f if isinstance(f, str) else "" for f in m["printed_flag"]]
        m["claim"] = f"{c.better} {'>' if c.strict else '>='} {c.worse} ({c.metric})"
        if c.kind:
            m = m[m["scale_kind"] == c.kind]
        m["note"], m["metric"] = c.note, c.metric
        m["holds_ours"] = [_holds(v, c.strict) for v in m["ours"]]
        sub = ours[ours["metric"] == c.metric]
        verdicts = [claim_verdict(sub[(sub["method"] == c.better) & (sub["dataset"] == d) & (sub["backbone"] == bb)
                                      & np.isclose(sub["scale"].astype(float), float(sc))],
                                  sub[(sub["method"] == c.worse) & (sub["dataset"] == d) & (sub["backbone"] == bb)
                                      & np.isclose(sub["scale"].astype(float), float(sc))], c.metric, health)
                    for d, bb, sc in zip(m["dataset"], m["backbone"], m["scale"])]
        for col, attr in (("verdict", "verdict"), ("mean_diff", "mean"), ("ci_low", "ci_low"),
                          ("ci_high", "ci_high"), ("seed_sd", "seed_sd"), ("n_images", "n_images")):
            m[col] = [getattr(v, attr) for v in verdicts]
        parts.append(m)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CLAIM_COLUMNS)
    stand = ours.groupby("dataset")["stand_in"].first().to_dict() if len(ours) else {}
    out["stand_in"] = [stand.get(d, "") for d in out["dataset"]]
    out["paper"], out["table"], out["profile"] = spec.paper, spec.table, profile
    out = out[CLAIM_COLUMNS].sort_values(["claim", "dataset", "backbone", "scale"], kind="stable").reset_index(drop=True)
    if len(out):
        grid = printed[["dataset", "scale"]].drop_duplicates()
        out = out.merge(grid, on=["dataset", "scale"], how="inner")
    return out


def printed_flags(printed: pd.DataFrame, better: str, worse: str, by: list, metric: str) -> pd.DataFrame:
    """``by`` + ``printed_flag``: per group, the flagged printed cells (``SUSPICIOUS`` or
    ``LOW-CONFIDENCE`` in the paper tables' notes) of ``better`` or ``worse`` that its printed margin
    rests on, e.g. ``"SUSPICIOUS: EQSR printed 27.18 (likely 37.18)"``; groups with none are left out.
    The printed value is never corrected: the flag says the margin may rest on a typo."""
    if "flag" not in printed:
        return pd.DataFrame(columns=by + ["printed_flag"])
    sub = printed[(printed["metric"] == metric) & printed["method"].isin([better, worse])
                  & (printed["flag"].fillna("") != "")]
    likely = sub["likely"] if "likely" in sub else pd.Series(np.nan, index=sub.index)
    text = [f"{f}: {m} printed {v}" + (f" (likely {lk:g})" if np.isfinite(lk) else "")
            for f, m, v, lk in zip(sub["flag"], sub["method"], sub.get("printed", sub["value"]), likely)]
    out = sub[by].assign(printed_flag=text)
    return out.groupby(by, dropna=False)["printed_flag"].agg("; ".join).reset_index()


def _holds(margin, strict: bool):
    if margin is None or not np.isfinite(margin):
        return np.nan
    return bool(margin > 0) if strict else bool(margin >= 0)


def claim_summary(claims: pd.DataFrame) -> list:
    """One line per (table, claim) of ``check_claims`` output: how many of its cells hold, are
    reversed, are within noise and are not tested here, beside how many hold as printed."""
    lines = []
    for (table, claim), g in (claims.groupby(["table", "claim"]) if len(claims) else []):
        kinds = [verdict_kind(v) for v in g["verdict"]]
        counts = ", ".join(f"{kinds.count(k)} {k}" for k in VERDICTS)
        lines.append(f"{table}: {claim}: {counts} of {len(g)} cells "
                     f"(printed: holds in {int(g['holds_printed'].fillna(False).astype(bool).sum())})")
    return lines


def verdict_counts(claims: pd.DataFrame, by=("paper",)) -> pd.DataFrame:
    """Claim cells per verdict kind (``holds``, ``reversed``, ``within noise``, ``not tested``) per ``by``."""
    by = list(by)
    if not len(claims):
        return pd.DataFrame(columns=by + list(VERDICTS))
    kinds = claims.assign(kind=[verdict_kind(v) for v in claims["verdict"]])
    out = kinds.groupby(by + ["kind"]).size().unstack("kind", fill_value=0)
    return out.reindex(columns=list(VERDICTS), fill_value=0).reset_index()


__all__ = ["ours_cells", "health_reason", "printed_flags", "seed_pairs", "paired_seeds", "SIDE_COLUMNS", "side_by_side_table", "official_summary", "CLAIM_COLUMNS", "check_claims",
           "claim_summary", "claim_verdict", "per_image_scores", "verdict_counts", "OURS_COLUMNS"]

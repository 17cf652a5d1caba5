"""Comparing a table's results with the printed table: side by side, and the paper's claims.

``side_by_side_table(spec, raw, profile)``: every printed cell beside ours (mean ± sample std
over seeds, delta, what stood in for an absent dataset, a status). ``check_claims(spec, raw,
profile)``: each ``Claim`` of the spec per (dataset, backbone, scale), the printed margin beside
ours, with a verdict judged against the seed noise. ``raw`` is what ``results.run_rows``
returns (``RAW_COLUMNS``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sr_lib.repro.specs import EvalBudget, TableSpec, printed_cells, table_test_sets
from sr_lib.repro.tables import claim_holds, side_by_side

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
                 budget: EvalBudget | None = None, tables: pd.DataFrame | None = None,
                 any_backbone: bool = False) -> pd.DataFrame:
    """Each claim of ``spec`` per (dataset, backbone, scale): ``printed`` = the paper's margin
    (better − worse, dB for PSNR), ``ours`` = our margin averaged over seeds (each seed's
    models compared with each other), ``ours_std`` its std over seeds, and a verdict:
    "holds" / "does not hold", with "(within seed noise)" when |margin| ≤ std and
    "(1 seed)" when no noise estimate exists. Official checkpoints are left out, and so are
    cells outside the table's printed (dataset, scale) grid (``raw`` may hold other tables' lines).

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
    out = out[CLAIM_COLUMNS].sort_values(["claim", "dataset", "backbone", "scale"], kind="stable").reset_index(drop=True)
    if len(out):
        grid = printed[["dataset", "scale"]].drop_duplicates()
        out = out.merge(grid, on=["dataset", "scale"], how="inner")
    return out


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


__all__ = ["ours_cells", "SIDE_COLUMNS", "side_by_side_table", "CLAIM_COLUMNS", "check_claims", "claim_summary"]

"""Regenerate a printed paper table: train (or reuse) every row, evaluate, compare, check claims.

The one call every table notebook makes (10 IPE-LIIF, 20 CiaoSR, 30 EQSR)::

    from sr_lib.repro import Claim, Row, TableSpec, run_table
    spec = TableSpec("ipe_liif", "table4", rows=(
        Row("IPE-LIIF", "ipe-liif", "edsr-baseline"),
        Row("IPE-LIIF [L=16]", "ipe-liif", "edsr-baseline", options={"L": 16}),
    ), claims=(Claim("IPE-LIIF", "IPE-LIIF [L=16]"),))
    result = run_table(spec, "cpu", raw_csv="results/cpu/ipe_liif_raw.csv")
    result.raw      # tidy results, one line per (run, seed, set, scale)     (results.run_rows)
    result.side     # printed | ours ± seed std | delta | stand_in | status  (claims.side_by_side_table)
    result.claims   # the paper's claims: holds / reversed / within noise / not tested (claims.check_claims)
    display(result)     # in a notebook: result.summary(), then result.pivot()

The pieces: ``specs`` (what a table is made of, its test grid and stand-ins), ``results`` (train
or reuse, evaluate or reuse, the raw CSV) and ``claims`` (side by side, claims, verdicts).
``compare_table`` makes the same ``TableResult`` from lines produced elsewhere (CiaoSR's Table 6
synthesis, ``repro.papers.ciaosr.run_synthesis``).

The comparison uses this table's own lines (``run_rows``' return value), each labelled with this
table's row: an evaluation another table already made (same run, images, scale and rule) is
reused from the raw CSV but counted under this table's label.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sr_lib.repro.claims import CLAIM_COLUMNS, SIDE_COLUMNS, check_claims, side_by_side_table
from sr_lib.repro.results import run_rows
from sr_lib.repro.run_cards import health_map
from sr_lib.repro.specs import EvalBudget, TableSpec
from sr_lib.repro.tables import load_tables


@dataclass(repr=False)
class TableResult:
    """One regenerated table: its ``spec``, our ``raw`` lines (``RAW_COLUMNS``), the ``side`` by
    side with the printed cells (``SIDE_COLUMNS``) and the ``claims`` (``CLAIM_COLUMNS``).
    A notebook shows it as its ``summary`` and ``pivot``."""

    spec: TableSpec
    raw: pd.DataFrame
    side: pd.DataFrame
    claims: pd.DataFrame

    @property
    def shown(self) -> pd.DataFrame:
        """The printed cells that have a number of ours."""
        return self.side[self.side["status"] == "ours"]

    def summary(self) -> str:
        """``"table1: 40 of 128 printed cells have ours; stand-in: B100 (...) stands in for DIV2K-val ..."``."""
        shown = self.shown
        stand_in = shown["stand_in"].iloc[0] if len(shown) else ""
        return (f"{self.spec.table}: {len(shown)} of {len(self.side)} printed cells have ours"
                + (f"; stand-in: {stand_in}" if stand_in else ""))

    def pivot(self, index=("dataset", "backbone", "method", "metric"), digits: int = 3) -> pd.DataFrame:
        """Printed and ours side by side, one column per scale (cells with ours only; empty if none)."""
        if self.shown.empty:
            return pd.DataFrame()
        return self.shown.pivot_table(index=list(index), columns="scale", values=["printed", "ours"],
                                      aggfunc="first").round(digits)

    def __repr__(self) -> str:
        return f"TableResult({self.summary()})"

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary, then printed vs ours per scale."""
        from html import escape
        table = self.pivot()
        return f"<p>{escape(self.summary())}</p>" + (table.to_html() if len(table) else "")


def compare_table(spec: TableSpec, raw: pd.DataFrame, profile: str, *, data_root=None,
                  budget: EvalBudget | None = None, tables: pd.DataFrame | None = None,
                  any_backbone: bool = False, health=None) -> TableResult:
    """``raw`` (this table's lines, ``RAW_COLUMNS``) beside the printed table, and the claims checked
    (``any_backbone``, ``health``: see ``claims.check_claims``; ``health`` defaults to the profile's
    run cards, ``run_cards.health_map``)."""
    tables = load_tables() if tables is None else tables
    health = health_map(profile) if health is None else health
    kw = dict(data_root=data_root or None, budget=budget, tables=tables)
    return TableResult(spec, raw, side_by_side_table(spec, raw, profile, **kw),
                       check_claims(spec, raw, profile, any_backbone=any_backbone, health=health, **kw))


def run_table(spec: TableSpec, profile: str, *, seeds=None, data_root=None, device: str = "auto",
              budget: EvalBudget | None = None, raw_csv=None, runs_root=None, progress: bool | None = None,
              tables: pd.DataFrame | None = None, any_backbone: bool = False, log=None,
              health=None, retrain: bool = False) -> TableResult:
    """Train (or reuse) and evaluate every row of ``spec``, set the results beside the printed table
    and check its claims → ``TableResult``.

    ``seeds``: training seeds (default: the profile's ``config.seeds``); ``budget``: how much of the
    printed grid is evaluated (default ``EVAL_BUDGETS[profile]``); ``raw_csv``: finished evaluations
    are read from it and every new one is added to it at once; ``runs_root``: the run cache
    (default ``paths.runs_dir``); ``progress``: training progress bars (default: not at smoke);
    ``tables``: the printed tables (default ``load_tables()``); ``any_backbone``: claims compare
    methods per (dataset, scale) whatever their backbone (EQSR); ``log``: one line per evaluation
    (default: stderr). See ``results.run_rows`` and ``claims``.
    """
    tables = load_tables() if tables is None else tables
    raw = run_rows(spec, profile, seeds=seeds, data_root=data_root or None, device=device, budget=budget,
                   raw_csv=raw_csv, runs_root=runs_root,
                   progress=profile != "smoke" if progress is None else progress, tables=tables, log=log,
                   retrain=retrain)
    return compare_table(spec, raw, profile, data_root=data_root, budget=budget, tables=tables,
                         any_backbone=any_backbone, health=health)


def combine(results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(side, claims)`` of several ``TableResult``s, one frame each (empty frames for none)."""
    results = list(results)
    side = pd.concat([r.side for r in results], ignore_index=True) if results else pd.DataFrame(columns=SIDE_COLUMNS)
    claims = pd.concat([r.claims for r in results], ignore_index=True) if results else \
        pd.DataFrame(columns=CLAIM_COLUMNS)
    return side, claims


__all__ = ["TableResult", "compare_table", "run_table", "combine"]

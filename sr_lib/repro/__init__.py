"""Regenerating the papers' tables: specs, runs, comparisons with the printed numbers, the report.

    from sr_lib.repro import Claim, Row, TableSpec, run_table
    result = run_table(TableSpec("ipe_liif", "table2", rows=(...), claims=(...)), "cpu")

Modules: ``specs`` (what a table is made of), ``results`` (train / evaluate / raw CSV), ``claims``
(side by side, claims), ``verdicts`` (paired per-image statistics), ``run_cards`` (runs.csv, health),
``experiments`` (``run_table``), ``tables`` (the printed tables),
``report``, ``runner`` (notebooks), ``papers/`` (what is specific to one paper). The names below
are resolved on first use, so ``import sr_lib.repro`` stays light.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "sr_lib.repro.specs": ("METHOD_LABELS", "BACKBONE_LABELS", "Row", "Claim", "TableSpec", "training_recipes",
                           "EvalBudget", "EVAL_BUDGETS", "printed_cells", "EvalSet", "plan_test_sets",
                           "table_test_sets", "load_eval_set", "checkpoint_rows"),
    "sr_lib.repro.results": ("RAW_COLUMNS", "read_raw", "write_csv", "run_rows"),
    "sr_lib.repro.claims": ("ours_cells", "SIDE_COLUMNS", "side_by_side_table", "CLAIM_COLUMNS", "check_claims",
                            "claim_summary", "claim_verdict", "verdict_counts"),
    "sr_lib.repro.verdicts": ("VERDICTS", "Verdict", "paired_verdict", "not_tested", "verdict_kind"),
    "sr_lib.repro.run_cards": ("RUNS_COLUMNS", "read_runs", "health_map", "pretrained", "load_or_train",
                                "weights_dir"),
    "sr_lib.repro.demo": ("demo",),
    "sr_lib.repro.held_out": ("held_out_images", "held_out_ordering", "held_out_sentence"),
    "sr_lib.repro.experiments": ("TableResult", "compare_table", "run_table", "combine"),
    "sr_lib.repro.tables": ("load_tables",),
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sr_lib.repro' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = sorted(_WHERE)

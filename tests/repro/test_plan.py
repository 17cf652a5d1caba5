"""sr_lib.repro.plan: the run plan's evaluation jobs are exactly the table rows of shipped runs."""
from __future__ import annotations

from sr_lib.repro import plan
from sr_lib.repro.papers import eqsr
from sr_lib.repro.run_cards import variant_label


def _card(row, seed=0):
    return (row.method, row.backbone, seed, variant_label(row.options, row.overrides),
            plan.planned_steps("smoke", row.method, row.backbone, row.overrides))


def test_evaluation_jobs_are_the_table_rows_of_shipped_runs_only(monkeypatch):
    liif = next(r for s in plan.table_specs("smoke") for r in s.rows if r.method == "liif" and not r.options
                and not r.overrides and r.backbone == "edsr-baseline")
    hat = eqsr.analysis_rows("smoke")["HAT-style (no AFE)"]            # a run of notebook 31 only
    monkeypatch.setattr(plan, "shipped_labels", lambda profile: {_card(liif), _card(hat)})
    jobs = plan.evaluation_jobs("smoke")
    assert {_card(row, seed) for _, row, seed in jobs} == {_card(liif)}   # no table scores the HAT-style run
    tables = {(spec.paper, spec.table) for spec, _, _ in jobs}
    assert ("ipe_liif", "table1") in tables and len(tables) == len(jobs)   # one job per table that prints it
    assert {spec.paper for spec, _, _ in plan.evaluation_jobs("smoke", papers=("ipe_liif",))} == {"ipe_liif"}
    monkeypatch.setattr(plan, "shipped_labels", lambda profile: set())
    assert plan.evaluation_jobs("smoke") == []


def test_table6_synthesis_is_scored_by_the_last_worker_once_its_run_is_shipped(monkeypatch, shared_data):
    """``evaluate_plan`` leaves Table 6 (notebook 20's synthesis of the shipped RDN-CiaoSR) to its last
    worker, and to none while that run is not shipped."""
    from sr_lib.repro.papers import ciaosr
    calls = []
    monkeypatch.setattr(plan, "evaluation_jobs", lambda profile, papers=(): [])
    monkeypatch.setattr(ciaosr, "run_synthesis", lambda model, key, variants, sets, *a, **k: calls.append((key, sets)))
    monkeypatch.setattr("sr_lib.repro.run_cards.load_or_train",
                        lambda *a, **k: type("M", (), {"train_info": {"key": "ciaosr-rdn-s0-0123456789"}})())
    monkeypatch.setattr(plan, "shipped_labels", lambda profile: set())
    assert plan.evaluate_plan("smoke", worker=1, workers=2, data_root=shared_data, log=lambda m: None) == 0
    run = next(r for r in plan.plan_runs("smoke") if (r.method, r.backbone, r.variant, r.seed) == ("ciaosr", "rdn", "", 0))
    monkeypatch.setattr(plan, "shipped_labels", lambda profile: {run.card})
    assert plan.evaluate_plan("smoke", worker=0, workers=2, data_root=shared_data, log=lambda m: None) == 0
    assert plan.evaluate_plan("smoke", papers=("eqsr",), worker=1, workers=2, data_root=shared_data,
                              log=lambda m: None) == 0
    assert calls == []
    assert plan.evaluate_plan("smoke", worker=1, workers=2, data_root=shared_data, log=lambda m: None) == 1
    assert [key for key, _ in calls] == ["ciaosr-rdn-s0-0123456789"] and list(calls[0][1]) == ["Urban100"]


def test_max_datasets_scores_only_each_tables_smallest_sets(monkeypatch, shared_data):
    """``evaluate_plan(max_datasets=1)`` hands ``run_rows`` the profile's budget cut to one test set, so
    a quick pass scores the table's first set only and a later full pass finds those cells cached
    (same budget otherwise)."""
    from sr_lib.repro import results, specs
    spec = next(s for s in plan.table_specs("cpu") if (s.paper, s.table) == ("ipe_liif", "table2"))
    monkeypatch.setattr(plan, "evaluation_jobs", lambda profile, papers=(): [(spec, spec.rows[0], 0)])
    seen = []
    monkeypatch.setattr(results, "run_rows", lambda *a, budget=None, **k: seen.append(budget))
    assert plan.evaluate_plan("cpu", papers=("ipe_liif",), data_root=shared_data, max_datasets=1,
                              log=lambda m: None) == 1
    assert plan.evaluate_plan("cpu", papers=("ipe_liif",), data_root=shared_data, log=lambda m: None) == 1
    quick, full = seen
    assert full is None                                           # run_rows falls back to EVAL_BUDGETS["cpu"]
    assert quick.limits == specs.EVAL_BUDGETS["cpu"].limits and quick.crop == specs.EVAL_BUDGETS["cpu"].crop
    sets = [ts.dataset for ts in specs.table_test_sets(spec, "cpu", shared_data, budget=quick)]
    every = [ts.dataset for ts in specs.table_test_sets(spec, "cpu", shared_data)]
    assert sets == every[:1] and len(every) > 1 and "Urban100" in every

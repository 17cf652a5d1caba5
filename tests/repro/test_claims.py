"""sr_lib.repro.claims: the printed-vs-ours join, seed statistics, claims and their verdicts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sr_lib.repro import Claim, Row, TableSpec, check_claims, claim_summary, side_by_side_table, verdict_counts


class TestSideBySide:
    def test_mean_and_sample_std_over_seeds_beside_printed(self, toy):
        vals = {(0, 2): 30.0, (1, 2): 30.3, (2, 2): 30.6, (0, 6): 24.0, (1, 6): 24.0, (2, 6): 24.0}
        t = side_by_side_table(toy.spec, toy.raw(vals), "smoke", data_root=toy.root, budget=toy.budget,
                               tables=toy.printed)
        x2 = t[(t["method"] == "LIIF") & (t["scale"] == 2)].iloc[0]
        assert x2["ours"] == pytest.approx(30.3)
        assert x2["ours_std"] == pytest.approx(0.3)                  # sample std of 30.0, 30.3, 30.6
        assert x2["n_seeds"] == 3 and x2["printed"] == 34.67
        assert x2["delta"] == pytest.approx(30.3 - 34.67)
        x6 = t[(t["method"] == "LIIF") & (t["scale"] == 6)].iloc[0]
        assert x6["ours_std"] == pytest.approx(0.0) and x6["status"] == "ours"

    def test_every_printed_cell_stays_with_a_status(self, toy):
        t = side_by_side_table(toy.spec, toy.raw({(0, 2): 30.0}), "smoke", data_root=toy.root, budget=toy.budget,
                               tables=toy.printed)
        assert len(t) == len(toy.printed)
        status = dict(zip(zip(t["method"], t["scale"]), t["status"]))
        assert status[("LIIF", 2.0)] == "ours"
        assert status[("MetaSR", 2.0)] == "not in this test"
        assert status[("IPE-LIIF", 2.0)] == "not evaluated at this profile"
        assert np.isnan(t.loc[t["method"] == "MetaSR", "ours"]).all()

    def test_results_of_another_budget_or_profile_are_not_mixed_in(self, toy):
        rows = toy.raw_rows({(0, 2): 30.0})
        rows += [{**rows[0], "n_images": 5, "psnr": 99.0}, {**rows[0], "profile": "cpu", "psnr": 77.0}]
        t = side_by_side_table(toy.spec, pd.DataFrame(rows), "smoke", data_root=toy.root, budget=toy.budget,
                               tables=toy.printed)
        assert t.loc[(t["method"] == "LIIF") & (t["scale"] == 2), "ours"].item() == pytest.approx(30.0)


class TestClaims:
    def _claims(self, toy, better_minus_worse, **kw):
        base = {(s, 2): 30.0 + 0.1 * s for s in range(len(better_minus_worse))}
        raw = pd.concat([toy.raw(base), toy.raw({k: v + d for (k, v), d in zip(base.items(), better_minus_worse)},
                                                label="IPE-LIIF", method="ipe-liif")], ignore_index=True)
        kw.setdefault("health", toy.healthy(raw))
        c = check_claims(toy.spec, raw, "smoke", data_root=toy.root, budget=toy.budget, tables=toy.printed, **kw)
        return c.set_index("scale")

    def test_margin_and_verdict_per_scale(self, toy):
        c = self._claims(toy, [0.5, 0.6, 0.7])
        assert c.loc[2.0, "printed"] == pytest.approx(34.72 - 34.67)
        assert c.loc[2.0, "ours"] == pytest.approx(0.6) and c.loc[2.0, "ours_std"] == pytest.approx(0.1)
        assert c.loc[2.0, "verdict"] == "holds" and bool(c.loc[2.0, "holds_printed"])
        # seed interval: 0.6 ± t(0.975, 2)·0.1/√3
        assert c.loc[2.0, "seed_sd"] == pytest.approx(0.1) and c.loc[2.0, "mean_diff"] == pytest.approx(0.6)
        assert c.loc[6.0, "verdict"] == "not tested (not evaluated)"      # printed, not run

    def test_a_one_seed_side_is_compared_with_every_seed_of_the_other_in_ours_and_the_verdict(self, toy):
        raw = pd.concat([toy.raw({(0, 2): 30.0, (1, 2): 30.3, (2, 2): 30.6}),
                         toy.raw({(0, 2): 30.5}, label="IPE-LIIF", method="ipe-liif")], ignore_index=True)
        c = check_claims(toy.spec, raw, "smoke", data_root=toy.root, budget=toy.budget, tables=toy.printed,
                         health=toy.healthy(raw)).set_index("scale")
        # pairs (IPE-LIIF s0, LIIF s0/s1/s2): margins 0.5, 0.2, -0.1; seed 0 alone would say 0.5
        assert c.loc[2.0, "ours"] == pytest.approx(0.2) and c.loc[2.0, "mean_diff"] == pytest.approx(0.2)
        assert c.loc[2.0, "ours_std"] == pytest.approx(0.3) and c.loc[2.0, "n_seeds"] == 3

    def test_seed_pairs_are_one_rule_for_the_margin_and_the_verdict(self):
        from sr_lib.repro.claims import seed_pairs
        assert seed_pairs([0, 1, 2], [2, 0, 5]) == [(0, 0), (2, 2)]
        assert seed_pairs([0], [0, 1, 2]) == [(0, 0), (0, 1), (0, 2)]
        assert seed_pairs([3], [0]) == [(3, 0)]                 # one seed each: compared whatever their numbers
        assert seed_pairs([0, 1], [2, 3]) == []

    def test_a_margin_on_a_flagged_printed_cell_names_the_flag(self, toy):
        """The printed value stays as printed; the claim cell says which flagged number it rests on."""
        printed = toy.printed.copy()
        at = (printed["method"] == "IPE-LIIF") & (printed["scale"] == 6)
        printed.loc[at, "flag"] = "SUSPICIOUS"
        printed["likely"] = np.where(at, 26.99, np.nan)
        c = check_claims(toy.spec, toy.raw({}), "smoke", data_root=toy.root, budget=toy.budget,
                         tables=printed).set_index("scale")
        assert c.loc[6.0, "printed_flag"] == "SUSPICIOUS: IPE-LIIF printed 26.79 (likely 26.99)"
        assert c.loc[6.0, "printed"] == pytest.approx(26.79 - 26.75) and c.loc[2.0, "printed_flag"] == ""

    def test_within_noise_and_reversed(self, toy):
        assert self._claims(toy, [-0.2, 0.0, 0.3]).loc[2.0, "verdict"] == "within noise"
        assert self._claims(toy, [-0.5, -0.6, -0.7]).loc[2.0, "verdict"] == "reversed"
        assert self._claims(toy, [0.2]).loc[2.0, "verdict"] == "holds"     # one seed: the image interval alone

    def test_unhealthy_or_unchecked_runs_are_not_tested(self, toy):
        base = toy.raw({(s, 2): 30.0 for s in range(3)})
        better = toy.raw({(s, 2): 31.0 for s in range(3)}, label="IPE-LIIF", method="ipe-liif")
        raw = pd.concat([base, better], ignore_index=True)
        health = {**toy.healthy(raw), better["run_key"][1]: False}
        kw = dict(data_root=toy.root, budget=toy.budget, tables=toy.printed)
        c = check_claims(toy.spec, raw, "smoke", health=health, **kw).set_index("scale")
        assert c.loc[2.0, "verdict"] == f"not tested (run {better['run_key'][1]} below the health bar)"
        c = check_claims(toy.spec, raw, "smoke", **kw).set_index("scale")
        assert c.loc[2.0, "verdict"].startswith("not tested (run ") and "has no health check" in c.loc[2.0, "verdict"]
        c = check_claims(toy.spec, raw.assign(per_image=""), "smoke", health=toy.healthy(raw), **kw).set_index("scale")
        assert c.loc[2.0, "verdict"] == "not tested (no per-image scores)"

    def test_kind_restricts_to_out_of_distribution(self, toy):
        spec = TableSpec("ipe_liif", "tableX", rows=toy.spec.rows, metrics=("psnr",),
                         claims=(Claim("IPE-LIIF", "LIIF", kind="out", strict=False),))
        c = check_claims(spec, toy.raw({}), "smoke", data_root=toy.root, budget=toy.budget, tables=toy.printed)
        assert list(c["scale"]) == [6.0] and c["claim"].item() == "IPE-LIIF >= LIIF (psnr)"

    def test_cells_outside_the_printed_grid_are_left_out(self, toy):
        """Lines of another table (same rows, a scale this table does not print) make no claim cell."""
        raw = pd.concat([toy.raw({(0, 3): 30.0}), toy.raw({(0, 3): 30.5}, label="IPE-LIIF", method="ipe-liif")])
        c = check_claims(toy.spec, raw, "smoke", data_root=toy.root, budget=toy.budget, tables=toy.printed)
        assert sorted(c["scale"]) == [2.0, 6.0] and c["ours"].isna().all()

    def test_any_backbone_compares_lines_of_different_backbones(self, toy):
        """A method printed on its own backbone against a baseline printed without one (EQSR's tables)."""
        printed = toy.make_printed([("IPE-LIIF", 2, 34.72), ("LIIF", 2, 34.67)])
        printed.loc[printed["method"] == "LIIF", "backbone"] = ""
        spec = TableSpec("ipe_liif", "tableX", metrics=("psnr",), claims=(Claim("IPE-LIIF", "LIIF"),),
                         rows=(Row("IPE-LIIF", "ipe-liif", "edsr-baseline"), Row("LIIF", "liif")))
        raw = pd.concat([toy.raw({(0, 2): 30.5}, label="IPE-LIIF", method="ipe-liif"),
                         toy.raw({(0, 2): 30.0}).assign(printed_backbone="")], ignore_index=True)
        kw = dict(data_root=toy.root, budget=toy.budget, tables=printed)
        by_backbone = check_claims(spec, raw, "smoke", **kw)
        assert by_backbone["ours"].isna().all()                    # no backbone group holds both lines
        (cell,) = check_claims(spec, raw, "smoke", any_backbone=True, **kw).to_dict("records")
        assert cell["backbone"] == "" and cell["printed"] == pytest.approx(34.72 - 34.67)
        assert cell["ours"] == pytest.approx(0.5) and cell["holds_ours"]


class TestClaimSummary:
    def test_counts_holds_printed_and_noise_per_claim(self):
        claims = pd.DataFrame({"table": ["t1"] * 4, "claim": ["A > B"] * 4, "paper": ["p"] * 4,
                               "holds_ours": [True, False, True, False], "holds_printed": [True, True, True, False],
                               "verdict": ["holds", "within noise", "holds", "not tested (run x below the health bar)"]})
        assert claim_summary(claims) == ["t1: A > B: 2 holds, 0 reversed, 1 within noise, 1 not tested of 4 cells "
                                         "(printed: holds in 3)"]
        assert claim_summary(claims.iloc[:0]) == []
        counts = verdict_counts(claims).set_index("paper")
        assert counts.loc["p"].to_dict() == {"holds": 2, "reversed": 0, "within noise": 1, "not tested": 1}

"""IPE-LIIF table specs (sr_lib.repro.papers.ipe_liif): every row matches a printed line."""
from __future__ import annotations

from pathlib import Path

from sr_lib.repro import load_tables, printed_cells
from sr_lib.repro.papers import ipe_liif


class TestSpecs:
    def test_every_row_is_a_printed_line_and_every_claim_a_row(self, paper_tables_dir):
        tables = load_tables(paper_tables_dir)
        for spec in ipe_liif.table_specs().values():
            cells = printed_cells(spec, tables)
            printed = set(zip(cells["method"], cells["backbone"].fillna("")))
            assert {(r.label, r.printed_backbone) for r in spec.rows} <= printed, spec.table
            labels = {r.label for r in spec.rows}
            assert all(c.better in labels and c.worse in labels for c in spec.claims), spec.table
            assert set(cells["method"]) - labels - set(spec.not_run) == set(), spec.table   # the rest is marked

    def test_table3_ranges_are_parameters(self):
        rows = ipe_liif.table_specs(block_a_scale_max=5.0, block_b_scale_max=9.0)[3].rows
        assert {r.overrides["scale_max"] for r in rows if "block A" in r.label} == {5.0}
        assert {r.overrides["scale_max"] for r in rows if "block B" in r.label} == {9.0}

    def test_the_wide_block_trains_longer_at_cpu_only_and_every_method_of_a_block_alike(self):
        from sr_lib.config import config_for
        base = config_for("cpu", "liif", "edsr-baseline").iterations
        for profile, want_b in (("cpu", int(base * ipe_liif.WIDE_STEPS)), ("smoke", None), ("paper", None)):
            rows = ipe_liif.table_specs(profile=profile)[3].rows
            for block, want in (("block A", None), ("block B", want_b)):
                steps = {r.overrides.get("iterations") for r in rows if block in r.label}
                assert steps == {want}, (profile, block, steps)             # one budget per comparison
        over = ipe_liif.block_budget("cpu", 12.0)
        assert over["milestones"] == (int(over["iterations"] * 0.6), int(over["iterations"] * 0.8))

    def test_no_checkpoints_no_official_rows(self, tmp_path):
        assert ipe_liif.official_rows(tmp_path) == []

    def test_official_rows_are_liif_and_metasr_on_edsr_baseline_and_rdn(self, official_root, quiet):
        rows = ipe_liif.official_rows(official_root.root)
        assert [(r.label, r.printed_backbone, Path(r.checkpoint).name) for r in rows] == [
            ("LIIF", "EDSR-baseline", "liif_edsr-baseline.pth"), ("LIIF", "RDN", "liif_rdn_small.pth"),
            ("MetaSR", "EDSR-baseline", "metasr_edsr-baseline.pth")]           # no LTE, no SwinIR, no full EDSR

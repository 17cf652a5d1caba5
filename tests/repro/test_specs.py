"""sr_lib.repro.specs: rows, the test grid, stand-ins for an absent dataset, crops, checkpoint rows."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sr_lib.data.datasets import load_dataset
from sr_lib.data.io import to_tensor01
from sr_lib.engine.evaluate import bicubic_matlab, evaluate
from sr_lib.metrics.protocols import get_protocol
from sr_lib.repro import (EvalBudget, Row, TableSpec, checkpoint_rows, load_eval_set, plan_test_sets,
                         side_by_side_table, training_recipes)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TestStandIn:
    def test_absent_div2k_is_stood_in_for_and_labelled(self, toy):
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", toy.root, toy.budget)
        assert (ts.printed, ts.dataset, ts.scored_as, ts.n_images) == ("DIV2K-val", "Set5", "DIV2K-val", 1)
        assert "Set5" in ts.stand_in and "stands in for DIV2K-val" in ts.stand_in and "absent" in ts.stand_in
        t = side_by_side_table(toy.spec, toy.raw({(0, 2): 30.0}), "smoke", data_root=toy.root, budget=toy.budget,
                               tables=toy.printed)
        assert (t.loc[t["status"] == "ours", "stand_in"] == ts.stand_in).all()
        assert (t.loc[t["status"] != "ours", "stand_in"] == "").all()

    def test_present_dataset_needs_no_stand_in(self, toy, tmp_path):
        r = tmp_path / "d"
        shutil.copytree(toy.root, r)
        (r / "DIV2K" / "DIV2K_valid_HR").mkdir(parents=True)
        shutil.copy(r / "benchmark" / "Set5" / "HR" / "a.png", r / "DIV2K" / "DIV2K_valid_HR" / "0801.png")
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", r, toy.budget)
        assert (ts.dataset, ts.stand_in) == ("DIV2K-val", "")

    def test_stand_in_is_scored_with_the_div2k_rule(self, toy):
        """RGB and border s+6, as the protocol scores DIV2K — not Set5's Y channel and border s."""
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", toy.root, toy.budget)
        got = evaluate(bicubic_matlab, load_eval_set(ts, toy.root), 2, "ipe_liif")["psnr"]
        proto = get_protocol("ipe_liif")
        _, hr = load_dataset("Set5", toy.root)[0]
        lr, hr_c = proto.make_pair(hr, 2)
        sr = bicubic_matlab(to_tensor01(lr), hr_c.shape[:2], 2)
        assert got == pytest.approx(proto.score(sr, hr_c, 2, "DIV2K-val")[0], abs=1e-9)
        assert got != pytest.approx(proto.score(sr, hr_c, 2, "Set5")[0], abs=1e-3)

    def test_crop_keeps_the_centre(self, toy):
        ts = plan_test_sets(["Set5"], "smoke", toy.root, EvalBudget(limit=1, crop=20))[0]
        name, img = load_eval_set(ts, toy.root)[0]
        _, full = load_dataset("Set5", toy.root)[0]
        assert img.shape == (20, 20, 3) and np.array_equal(img, full[14:34, 14:34])


class TestTableSpec:
    def test_rows_recipes_and_added_rows(self):
        spec = TableSpec("ipe_liif", "tableX", rows=(Row("Bicubic", "bicubic"), Row("LIIF", "liif", "edsr-baseline"),
                                                     Row("LIIF [L]", "liif", "edsr-baseline", options={"x": 1})))
        frame = spec.rows_frame()
        assert list(frame["label"]) == ["Bicubic", "LIIF", "LIIF [L]"]
        assert list(frame["printed_backbone"]) == ["", "EDSR-baseline", "EDSR-baseline"]
        assert len(training_recipes([spec, spec])) == 2                  # bicubic is not trained; same recipe once
        more = spec.with_rows([Row("LIIF", "liif", "edsr-baseline", checkpoint="/x/liif.pth")])
        assert len(more.rows) == 4 and more.rows[-1].weights == "official checkpoint liif.pth"
        assert len(training_recipes([more])) == 2 and (more.paper, more.table) == (spec.paper, spec.table)

    def test_with_printed_rows_adds_only_the_lines_the_table_prints_with_a_number(self, toy):
        printed = toy.make_printed([("LIIF", 2, 34.67), ("MetaSR", 2, float("nan"))])      # MetaSR printed '-'
        spec = TableSpec("ipe_liif", "tableX", rows=(Row("LIIF", "liif", "edsr-baseline"),), metrics=("psnr",))
        offered = [Row("LIIF", "liif", "edsr-baseline", checkpoint="/x/a.pth"),
                   Row("LIIF", "liif", "rdn", checkpoint="/x/b.pth"),                  # RDN: not printed
                   Row("MetaSR", "metasr", "edsr-baseline", checkpoint="/x/c.pth")]
        more = spec.with_printed_rows(offered, printed)
        assert more.rows == spec.rows + (offered[0],)


@pytest.mark.usefixtures("quiet")
class TestCheckpointRows:
    def test_every_readable_file_is_a_row_and_labels_backbones_filter_them(self, official_root, capsys):
        rows = checkpoint_rows(official_root.root)
        assert "skipping broken.pth" in capsys.readouterr().err
        got = {Path(r.checkpoint).stem: (r.label, r.method, r.printed_backbone) for r in rows}
        assert got == {"liif_edsr-baseline": ("LIIF", "liif", "EDSR-baseline"),
                       "metasr_edsr-baseline": ("MetaSR", "metasr", "EDSR-baseline"),
                       "lte_edsr-baseline": ("LTE", "lte", "EDSR-baseline"),
                       "liif_rdn_small": ("LIIF", "liif", "RDN"),
                       "lte_swinir_small": ("LTE", "lte", "SwinIR"),          # official 'swinir-class-direct'
                       "liif_edsr-full": ("LIIF", "liif", "edsr"),            # a backbone no table prints
                       "ipe-liif_ours": ("IPE-LIIF", "ipe-liif", "EDSR-baseline")}
        some = checkpoint_rows(official_root.root, labels=("LIIF", "LTE"), backbones=("RDN", "SwinIR"))
        assert [Path(r.checkpoint).stem for r in some] == ["liif_rdn_small", "lte_swinir_small"]
        assert checkpoint_rows(official_root.root, labels=()) == []

    @pytest.mark.usefixtures("one_torch_thread")
    def test_a_row_loads_the_official_model_of_its_file(self, official_root):
        """Independent of sr_lib's loaders: the model a row's file loads to reproduces the official
        code's output on the reference's weights (float32 storage: to 1e-6 of the output's range)."""
        from sr_lib.engine.checkpoint import load_checkpoint
        from sr_lib.official.refvec import official_forward, valid_mask
        rows = {Path(r.checkpoint).stem: r for r in checkpoint_rows(official_root.root)}
        for name, ref in official_root.refs.items():
            model = load_checkpoint(rows[name].checkpoint).double()
            out, want, ok = official_forward(model, ref, "x2.5"), ref["out"]["x2.5"], valid_mask(ref, "x2.5")
            assert ok.any() and (out - want)[ok].abs().max() <= 1e-6 * want.abs().max(), name

"""CiaoSR table helpers (sr_lib.repro.papers.ciaosr): Table 7 sizes/times, synthesis, unavailable metrics,
official checkpoints beside the tables."""
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import sr_lib
from sr_lib.repro.papers.ciaosr import (TABLE_COLUMNS, lpips_status, model_sizes, size_time_lines, synthesis_upscaler,
                                  time_inference, unavailable_lines)
from sr_lib.engine.evaluate import bicubic_torch
from sr_lib.engine.synthesis import quantize_uint8
from sr_lib.repro import Claim, Row, TableSpec, load_tables
from sr_lib.models.base import count_parameters

SMALL = {"liif": {"n_resblocks": 1, "n_feats": 8, "hidden": [16, 16]},
         "ciaosr": {"n_resblocks": 1, "n_feats": 8, "hidden": [16, 16]},
         "metasr": {"n_resblocks": 1, "n_feats": 8, "hidden": [16]}}


class TestSpecs:
    def test_backbones_decide_rows_and_skipped_tables(self):
        from sr_lib.repro.papers import ciaosr
        specs = ciaosr.table_specs(["rdn"], "smoke")
        assert sorted(specs) == [1, 2, 3, 4, 5, 7, 8]
        assert {r.backbone for r in specs[1].rows} == {None, "rdn"} and len(specs[2].rows) == 5
        assert [r.label for r in specs[4].rows] == ["CiaoSR [ablation A]", "CiaoSR [full]"]    # smoke: one per switch
        assert len(ciaosr.table_specs(["rdn"], "cpu")[4].rows) == 3
        assert ciaosr.skipped_tables(["rdn"]) == {}
        assert ciaosr.skipped_tables(["edsr-baseline"]) == {**{k: "needs the rdn backbone" for k in (4, 5, 6, 7, 8)},
                                                            2: "needs rdn or swinir", 3: "needs rdn or swinir"}
        assert [r.label for r in ciaosr.TABLE6.rows] == list(ciaosr.STEPS)

    def test_table_lines_say_which_backbone_was_not_run(self):
        from sr_lib.repro.papers import ciaosr
        side = pd.DataFrame({c: [""] * 3 for c in ciaosr.TABLE_COLUMNS if c != "note"})
        side["method"] = ["LIIF", "LIIF", "Bicubic"]
        side["backbone"] = ["RDN", "SwinIR", ""]
        side["status"] = ["ours", "not evaluated at this profile", "not run here"]
        side["stand_in"] = ["Set5 stands in", "", ""]
        lines = ciaosr.table_lines(side, ["rdn"])
        assert list(lines.columns) == TABLE_COLUMNS and list(lines["note"]) == ["Set5 stands in", "", ""]
        assert list(lines["status"]) == ["ours", "backbone not run at this profile (backbones = ['rdn'])", "not run here"]


class TestModelSizes:
    def test_meta_device_counts_equal_count_parameters_of_real_models(self):
        sizes = model_sizes(["liif", "ciaosr", "metasr"], "edsr-baseline", options=SMALL).set_index("method")
        for m, opts in SMALL.items():
            model = sr_lib.make(m, backbone="edsr-baseline", **opts)
            assert sizes.loc[m, "params"] == count_parameters(model)

    def test_full_size_ciaosr_edsr_has_the_official_parameter_count(self):
        # 2,649,030: the released CiaoSR EDSR-baseline configuration (issue 5 / reference vectors)
        sizes = model_sizes(["ciaosr"], "edsr-baseline")
        assert int(sizes["params"].iloc[0]) == 2_649_030

    def test_decoder_params_are_total_minus_the_encoder(self):
        sizes = model_sizes(["liif"], "edsr-baseline", options=SMALL).iloc[0]
        model = sr_lib.make("liif", backbone="edsr-baseline", **SMALL["liif"])
        assert sizes["decoder_params"] == count_parameters(model) - count_parameters(model.encoder)
        assert sizes["decoder_params"] == sum(p.numel() for n, p in model.named_parameters()
                                              if not n.startswith("encoder."))


class TestTiming:
    def test_reference_ratio_is_one_and_threads_are_restored(self):
        before = torch.get_num_threads()
        t = time_inference(["liif", "metasr"], "edsr-baseline", lr_size=8, scale=2.0, options=SMALL).set_index("method")
        assert torch.get_num_threads() == before
        assert t.loc["liif", "ratio"] == pytest.approx(1.0)
        assert (t["seconds"] > 0).all()
        assert t.loc["metasr", "ratio"] == pytest.approx(t.loc["metasr", "seconds"] / t.loc["liif", "seconds"])

    def test_size_time_lines_use_printed_ratios_and_our_measurements(self):
        sizes = pd.DataFrame({"method": ["liif", "ciaosr"], "backbone": "edsr-baseline", "params": [100, 250],
                              "params_m": [1e-4, 2.5e-4], "encoder_params": [50, 50], "decoder_params": [50, 200]})
        times = pd.DataFrame({"method": ["liif", "ciaosr"], "backbone": "edsr-baseline", "lr_size": 16, "scale": 4.0,
                              "seconds": [0.1, 0.3], "repeats": 1, "ms": [100.0, 300.0], "ratio": [1.0, 3.0]})
        lines = size_time_lines(sizes, times, "smoke", "cpu")
        assert list(lines.columns) == TABLE_COLUMNS
        lines = lines.set_index(["method", "metric"])
        assert lines.loc[("CiaoSR", "time_ratio"), "printed"] == pytest.approx(528 / 171)
        assert lines.loc[("CiaoSR", "time_ratio"), "ours"] == pytest.approx(3.0)
        assert lines.loc[("CiaoSR", "params_ratio"), "printed"] == pytest.approx(1.4 / 1.6)
        assert lines.loc[("CiaoSR", "params_ratio"), "ours"] == pytest.approx(2.5)
        assert lines.loc[("LIIF", "params_m"), "printed"] == pytest.approx(1.6)


class TestSynthesis:
    def test_one_step_equals_a_direct_upscale(self):
        lr = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
        up = synthesis_upscaler(bicubic_torch, (12,))
        torch.testing.assert_close(up(lr, (72, 60), 12), bicubic_torch(lr, (72, 60)))

    def test_two_steps_round_the_intermediate_to_8_bits(self):
        lr = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1))
        up = synthesis_upscaler(bicubic_torch, (2, 6))
        manual = bicubic_torch(quantize_uint8(bicubic_torch(lr, (12, 10))), (72, 60))
        torch.testing.assert_close(up(lr, (72, 60), 12), manual)

    def test_run_synthesis_keeps_per_image_scores_and_caches_each_variant(self, tmp_path, shared_data, monkeypatch):
        """Table 6's cells carry per-image scores (its paired verdicts need them), the one-step and two-step
        cells of one run are two cells of the raw CSV, and a second call reads both back unscored."""
        from sr_lib.repro.claims import per_image_scores
        from sr_lib.repro.papers import ciaosr
        from sr_lib.repro.specs import EVAL_BUDGETS, load_eval_set, plan_test_sets
        sets = {ts.printed: (ts, load_eval_set(ts, shared_data))
                for ts in plan_test_sets(["Set5"], "smoke", shared_data, EVAL_BUDGETS["smoke"])}
        variants, raw = {"one step": (4,), "two steps": (2, 2)}, tmp_path / "ciaosr_raw.csv"
        args = (bicubic_torch, "ciaosr-rdn-s0-0123456789", variants, sets, "smoke", 0, "rdn")
        first = ciaosr.run_synthesis(*args, log=lambda m: None, raw_csv=raw)
        assert first["variant"].tolist() == ["steps=4", "steps=2x2"] and first["scale"].tolist() == [4.0, 4.0]
        scores = [per_image_scores(c, "psnr") for c in first["per_image"]]
        assert all(scores) and scores[0].keys() == scores[1].keys()
        assert [np.mean(list(s.values())) for s in scores] == pytest.approx(first["psnr"].tolist(), abs=1e-5)
        assert first["psnr"][0] != first["psnr"][1]           # the 8-bit intermediate: two different cells
        monkeypatch.setattr(ciaosr, "evaluate", lambda *a, **k: pytest.fail("a cached cell was scored again"))
        again = ciaosr.run_synthesis(*args, log=lambda m: None, raw_csv=raw)
        assert again["psnr"].tolist() == pytest.approx(first["psnr"].tolist())
        assert again["per_image"].tolist() == first["per_image"].tolist()


class TestUnavailable:
    def test_lpips_status_names_what_is_missing(self):
        import importlib.util
        reason = lpips_status()
        if importlib.util.find_spec("lpips") is None:
            assert "lpips" in reason and reason.startswith("LPIPS not computed")

    def test_unavailable_lines_keep_every_printed_cell_and_leave_ours_empty(self, paper_tables_dir):
        spec = TableSpec("ciaosr", "table8", rows=(Row("LIIF", "liif", "rdn"),))
        lines = unavailable_lines(spec, ["lpips"], "smoke", "no weights")
        printed = pd.read_csv(paper_tables_dir / "ciaosr_table8.csv")
        printed = printed[printed["metric"] == "lpips"]
        assert len(lines) == len(printed) == 25
        assert lines["ours"].isna().all() and (lines["note"] == "no weights").all()
        np.testing.assert_allclose(np.sort(lines["printed"].to_numpy(float)), np.sort(printed["value"].to_numpy(float)))


class TestLpipsScore:
    def test_scores_the_uint8_output_against_the_hr_crop_in_minus_one_one(self):
        from sr_lib.data.io import to_tensor01
        from sr_lib.repro.papers.ciaosr import lpips_score
        from sr_lib.metrics.protocols import get_protocol
        rng = np.random.default_rng(0)
        images = [(f"im{i}", rng.integers(0, 256, (26, 30, 3), dtype=np.uint8)) for i in range(2)]
        seen = []

        def fake_net(a, b):                 # stands in for lpips.LPIPS: mean |a - b|
            seen.append((float(a.min()), float(a.max())))
            return (a - b).abs().mean()
        got = lpips_score(bicubic_torch, images, 2.0, "ciaosr", net=fake_net)
        proto, expected = get_protocol("ciaosr"), []
        for _, hr in images:
            lr, hr_c = proto.make_pair(hr, 2.0)
            sr = torch.round(bicubic_torch(to_tensor01(lr), hr_c.shape[:2]) * 255) / 255
            expected.append(float((sr * 2 - 1 - (to_tensor01(hr_c) * 2 - 1)).abs().mean()))
        assert got == pytest.approx(np.mean(expected))
        assert all(lo >= -1 and hi <= 1 for lo, hi in seen)


@pytest.mark.usefixtures("one_torch_thread", "quiet")
class TestOfficialCheckpoints:
    """Official LIIF / MetaSR / LTE files (made here, refvec rule weights) beside the CiaoSR tables."""

    def test_official_rows_are_the_compared_methods_on_the_printed_backbones(self, official_root, tmp_path):
        from sr_lib.repro.papers import ciaosr
        rows = ciaosr.official_rows(official_root.root)
        assert {(r.label, r.method, r.printed_backbone, Path(r.checkpoint).name) for r in rows} == {
            ("LIIF", "liif", "EDSR-baseline", "liif_edsr-baseline.pth"),
            ("MetaSR", "metasr", "EDSR-baseline", "metasr_edsr-baseline.pth"),
            ("LTE", "lte", "EDSR-baseline", "lte_edsr-baseline.pth"),
            ("LIIF", "liif", "RDN", "liif_rdn_small.pth"),
            ("LTE", "lte", "SwinIR", "lte_swinir_small.pth")}      # not the full-EDSR LIIF nor the IPE-LIIF file
        assert all(r.weights == f"official checkpoint {Path(r.checkpoint).name}" for r in rows)
        assert ciaosr.official_rows(tmp_path) == []

    def test_each_table_gets_the_official_lines_it_prints(self, official_root, paper_tables_dir):
        from sr_lib.repro.papers import ciaosr
        tables = load_tables(paper_tables_dir)
        rows = ciaosr.official_rows(official_root.root)
        specs = ciaosr.table_specs([ciaosr.EDSR, ciaosr.RDN, ciaosr.SWIN], "cpu")
        added = {k: {(r.label, r.printed_backbone) for r in s.with_printed_rows(rows, tables).rows if r.checkpoint}
                 for k, s in specs.items()}
        assert added[1] == {(r.label, r.printed_backbone) for r in rows}
        assert added[2] == added[3] == {("LIIF", "RDN"), ("LTE", "SwinIR")}         # the benchmark backbones
        assert added[7] == added[8] == {("LIIF", "RDN")}
        assert added[4] == added[5] == set()                                       # CiaoSR ablations only

    def test_official_rows_evaluate_through_run_table_at_smoke(self, official_table2):
        from sr_lib.official.checkpoint import load_official
        from sr_lib.repro.claims import official_summary
        result, root = official_table2
        raw = result.raw
        assert len(raw) == 4 and set(raw["scale"]) == {2.0, 4.0} and set(raw["dataset"]) == {"Set5"}
        assert raw["weights"].str.startswith("official").all() and raw["run_key"].str.startswith("checkpoint:").all()
        assert np.isfinite(raw["psnr"]).all()
        # independent of run_rows: the official loader and sr_lib.evaluate on the same image give the same PSNR
        for rec in raw.to_dict("records"):
            model = load_official(root / "checkpoints" / rec["run_key"].split(":", 1)[1])
            direct = sr_lib.evaluate(model, "Set5", rec["scale"], "ciaosr", data_root=root, limit=1)
            assert rec["psnr"] == pytest.approx(direct["psnr"], abs=1e-9)
        side = result.side[result.side["weights"].fillna("").str.startswith("official")]
        assert len(side) == 4 and (side["status"] == "ours").all()
        assert set(zip(side["method"], side["backbone"])) == {("LIIF", "RDN"), ("LTE", "SwinIR")}
        assert result.side.loc[~result.side.index.isin(side.index), "ours"].isna().all()   # the printed lines
        assert official_summary(result.side) == ("liif_rdn_small.pth (table2: 2 cells); "
                                                 "lte_swinir_small.pth (table2: 2 cells)")
        assert official_summary(result.side.drop(side.index)) == official_summary(result.side.iloc[:0]) == ""

    def test_official_rows_never_enter_the_claims(self, official_table2, paper_tables_dir):
        from sr_lib.repro import check_claims
        from sr_lib.repro.papers import ciaosr
        result, root = official_table2
        assert result.claims["ours"].isna().all()
        assert (result.claims["verdict"] == "not tested (not evaluated)").all()
        # a trained CiaoSR beside them: "CiaoSR > LIIF" still has no LIIF evidence, the official one is left out
        raw, spec, tables = result.raw, result.spec, load_tables(paper_tables_dir)
        liif = raw[raw["label"] == "LIIF"]
        per_image = [json.dumps([[i, p + 1, s] for i, p, s in json.loads(c)]) for c in liif["per_image"]]
        ours = liif.assign(label="CiaoSR", method="ciaosr", weights="trained here", psnr=liif["psnr"] + 1,
                           per_image=per_image, run_key="ciaosr-rdn-s0-0123456789")
        both = TableSpec(spec.paper, spec.table, spec.rows + (Row("CiaoSR", "ciaosr", ciaosr.RDN),),
                         claims=(Claim("CiaoSR", "LIIF"),), metrics=spec.metrics)
        health = {"ciaosr-rdn-s0-0123456789": True}

        def cells(trained_liif: bool):          # the claim cells evaluated here
            liif_weights = raw.assign(weights="trained here") if trained_liif else raw
            c = check_claims(both, pd.concat([liif_weights, ours]), "smoke", data_root=root, tables=tables,
                             health=health)
            return c[(c["dataset"] == "Set5") & (c["backbone"] == "RDN") & c["scale"].isin([2.0, 4.0])]
        official = cells(trained_liif=False)
        assert len(official) == 2 and (official["verdict"] == "not tested (not evaluated)").all()
        control = cells(trained_liif=True)      # the same numbers as trained weights are tested
        assert len(control) == 2 and (control["verdict"] == "holds").all() and np.allclose(control["ours"], 1.0)

    def test_lpips_scores_an_official_line_with_its_checkpoint(self, official_table2, paper_tables_dir):
        from sr_lib.official.checkpoint import load_official
        from sr_lib.repro import load_eval_set, table_test_sets
        from sr_lib.repro.papers.ciaosr import add_lpips, lpips_score
        result, root = official_table2
        (ts,) = table_test_sets(result.spec, "smoke", root, tables=load_tables(paper_tables_dir))
        sets = {"Set5": load_eval_set(ts, root)}

        def net(a, b):                          # stands in for lpips.LPIPS
            return (a - b).abs().mean()
        lp = add_lpips(result.raw, result.spec, "smoke", sets, data_root=root, net=net)   # trains nothing
        for rec in lp.to_dict("records"):
            model = load_official(root / "checkpoints" / rec["run_key"].split(":", 1)[1])
            assert rec["lpips"] == pytest.approx(lpips_score(model, sets["Set5"], rec["scale"], net=net))


@pytest.fixture(scope="module")
def official_table2(official_root, paper_tables_dir):
    """CiaoSR Table 2 with its official lines alone (RDN-LIIF, SwinIR-LTE; nothing trained), run at smoke."""
    import warnings
    from sr_lib.repro import run_table
    from sr_lib.repro.papers import ciaosr
    tables, root = load_tables(paper_tables_dir), official_root.root
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # unpinned official files warn by design
            spec = replace(ciaosr.table_specs([ciaosr.RDN], "smoke")[2], rows=()).with_printed_rows(
                ciaosr.official_rows(root), tables)
            result = run_table(spec, "smoke", data_root=root, tables=tables, progress=False, log=lambda m: None)
    finally:
        torch.set_num_threads(threads)
    return result, root

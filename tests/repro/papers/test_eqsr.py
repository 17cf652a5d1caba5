"""EQSR analysis helpers (sr_lib.repro.papers.eqsr) on tiny models: shapes, CKA of a scale with
itself, EQ_S of Bicubic, the flat-output flag, Table 1 parameter counts, kriging geometry; official
checkpoints beside the comparison."""
from __future__ import annotations

import inspect
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.repro import load_tables
from sr_lib.repro.papers.eqsr import (cka_matrices, cka_summary, comparison_rows, eq_s_curves, eqsr_options,
                                  hr_pixel_at, kriging_frame, kriging_maps, table1_parameter_counts,
                                  table1_rows, table_specs)
from sr_lib.models.eqsr import EQNET_TABLE1, build_eqsr

TINY = dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=8, latent_dim=16)


@pytest.fixture(scope="module")
def tiny_eqsr():
    torch.manual_seed(0)
    return sr_lib.make("eqsr", **TINY).eval()


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    base = torch.rand(4, 3, 6, 6, generator=g)
    return torch.nn.functional.interpolate(base, size=(24, 24), mode="bilinear", align_corners=False)


class TestTable1Counts:
    def test_counts_round_to_the_printed_millions_and_model_iv_is_exact(self):
        df = table1_parameter_counts()
        assert list(df["model"]) == list(EQNET_TABLE1)
        printed = {"I": 8.5, "II": 9.6, "III": 11.6, "IV": 13.6, "V": 15.2}     # supplement Table 1
        for _, r in df.iterrows():
            assert round(r["params_m"], 1) == printed[r["model"]]
        assert int(df.loc[df["model"] == "IV", "params"].iloc[0]) == 13_619_510   # the released model


class TestRows:
    def test_equal_models_share_options_and_smoke_narrows_the_upsampler(self):
        assert table1_rows("cpu")["EQSR [Model IV]"].options == comparison_rows("cpu")["EQSR"].options == {}
        assert eqsr_options("smoke") == {}                      # sizes come from the profile alone
        smoke = model_options(config_for("smoke", "eqsr", "eqnet"), "eqsr", "eqnet")
        released = inspect.signature(build_eqsr).parameters["latent_dim"].default
        assert released == 256 and smoke["latent_dim"] < released   # the smoke profile narrows the upsampler
        assert comparison_rows("smoke")["MetaSR"].printed_backbone == ""
        assert comparison_rows("smoke")["EQSR"].printed_backbone == "EQNet"

    def test_table_specs_keep_the_chosen_table1_models_and_mark_the_others(self):
        specs = table_specs("smoke")
        assert [s.table for s in specs.values()] == ["poster_table", "supp_table3", "supp_table1"]
        assert [r.label for r in specs["supp1"].rows] == ["EQSR [Model I]", "EQSR [Model IV]"]   # smoke: I and IV
        assert set(specs["supp1"].not_run) == {"EQSR [Model II]", "EQSR [Model III]", "EQSR [Model V]"}
        assert len(table_specs("smoke", ["I", "II", "III", "IV", "V"])["supp1"].rows) == 5
        assert specs["poster"].rows == specs["supp3"].rows and "EQSR†" in specs["poster"].not_run


class TestKrigingMaps:
    def test_same_relative_pixel_at_every_scale(self, tiny_eqsr):
        lr = torch.rand(1, 3, 10, 10)
        maps = kriging_maps(tiny_eqsr, lr, [2.0, 3.0], pos=(0.5, 0.25))
        assert maps[2.0].hr_hw == (20, 20) and maps[2.0].yx == (10, 5)
        assert maps[3.0].hr_hw == (30, 30) and maps[3.0].yx == (15, 7)
        # the HR pixel centre in LR pixels: (i + 0.5)·h/H
        assert maps[2.0].lr_yx == pytest.approx((5.25, 2.75))
        fr = kriging_frame(maps)
        g = tiny_eqsr.upsample.inv1.attn.groups
        assert len(fr) == 2 * 2 * (g + 1) * 9                    # scales × blocks × (groups + mean) × 3×3
        np.testing.assert_allclose(fr["product"], fr["data"] * fr["distance"], rtol=1e-12)

    def test_pixel_position_outside_the_image_is_an_error(self):
        with pytest.raises(ValueError, match="pos"):
            hr_pixel_at((1.0, 0.5), (10, 10))


class TestCKA:
    def test_identical_scales_give_unit_diagonal(self, tiny_eqsr, images):
        mats, df = cka_matrices({"EQSR": tiny_eqsr}, images, (2.0, 2.0), batch_size=4)
        m = mats["EQSR"]
        n = len(tiny_eqsr.feature_blocks())
        assert m.shape == (n, n)
        np.testing.assert_allclose(torch.diagonal(m).numpy(), 1.0, atol=1e-9)
        assert len(df) == n * n and set(df.columns) >= {"model", "i", "j", "cka"}
        s = cka_summary(mats)
        assert s.loc[0, "diag_mean"] == pytest.approx(1.0, abs=1e-9)


class TestEqS:
    def test_bicubic_is_finite_and_its_own_contrast_reference(self, images):
        df = eq_s_curves({}, images[:2], [2.0, 3.0], thetas=(2.0,))
        assert list(df["method"].unique()) == ["Bicubic"]
        assert np.isfinite(df["eq_s_db"]).all() and (df["eq_s_db"] < 0).all()
        np.testing.assert_allclose(df["contrast_ratio"], 1.0)
        assert not df["flat"].any()

    def test_flat_output_is_flagged_and_exact_agreement_stays_finite(self, images):
        grey = lambda lr, size: torch.full((1, 3, *size), 0.5)          # noqa: E731  constant output
        df = eq_s_curves({"grey": grey}, images[:2], [2.0], thetas=(2.0,))
        row = df[df["method"] == "grey"].iloc[0]
        assert row["exact"] and math.isnan(row["eq_s_db"])          # −∞ dB is stored as NaN + exact
        assert row["flat"] and row["contrast_ratio"] == 0.0


class TestClaimsAcrossBackbones:
    def test_eqsr_is_compared_with_baselines_of_unstated_backbone(self, shared_data, paper_tables_dir):
        from sr_lib.repro import EVAL_BUDGETS, Claim, TableSpec, check_claims, load_tables
        tables = load_tables(paper_tables_dir)
        spec = TableSpec("eqsr", "poster_table", rows=tuple(comparison_rows("smoke").values()), metrics=("psnr",),
                         claims=(Claim("EQSR", "LTE"),))
        common = {"profile": "smoke", "seed": 0, "dataset": "Set5", "scored_as": "Set5", "n_images": 1,
                  "crop": 96, "scale": 1.55, "ssim": 0.9, "weights": "trained here"}
        raw = pd.DataFrame([{**common, "label": "EQSR", "printed_backbone": "EQNet", "psnr": 30.5},
                            {**common, "label": "LTE", "printed_backbone": "", "psnr": 30.0}])
        out = check_claims(spec, raw, "smoke", tables=tables, data_root=shared_data, budget=EVAL_BUDGETS["smoke"],
                           any_backbone=True)
        cell = out[(out["dataset"] == "Set5") & (out["scale"] == 1.55)].iloc[0]
        assert cell["printed"] == pytest.approx(41.16 - 41.20)          # poster: EQSR 41.16, LTE 41.20
        assert cell["ours"] == pytest.approx(0.5) and bool(cell["holds_ours"])


@pytest.mark.usefixtures("one_torch_thread", "quiet")
class TestOfficialCheckpoints:
    """Official LIIF / MetaSR / LTE files (made here, refvec rule weights) beside the EQSR comparison."""

    def test_official_rows_match_the_printed_lines_of_unstated_backbone(self, official_root, paper_tables_dir,
                                                                         tmp_path):
        from sr_lib.repro.papers import eqsr
        rows = eqsr.official_rows(official_root.root)
        assert all(isinstance(r, eqsr.BaselineRow) and r.printed_backbone == "" for r in rows)
        assert {(r.label, r.method, r.backbone, Path(r.checkpoint).name) for r in rows} == {
            ("LIIF", "liif", "edsr-baseline", "liif_edsr-baseline.pth"),
            ("MetaSR", "metasr", "edsr-baseline", "metasr_edsr-baseline.pth"),
            ("LTE", "lte", "edsr-baseline", "lte_edsr-baseline.pth"),
            ("LIIF", "liif", "rdn", "liif_rdn_small.pth"),
            ("LTE", "lte", "swinir", "lte_swinir_small.pth")}      # not the full-EDSR LIIF nor the IPE-LIIF file
        assert all(r.weights.startswith("official checkpoint ") for r in rows)
        assert eqsr.official_rows(tmp_path) == []
        tables = load_tables(paper_tables_dir)
        specs = table_specs("smoke")
        added = {k: [r for r in s.with_printed_rows(rows, tables).rows if r.checkpoint] for k, s in specs.items()}
        assert added["poster"] == added["supp3"] == rows and added["supp1"] == []

    def test_official_rows_evaluate_at_smoke_and_never_enter_the_claims(self, official_root, paper_tables_dir):
        from sr_lib.official.checkpoint import load_official
        from sr_lib.repro import run_table
        from sr_lib.repro.papers import eqsr
        tables, root = load_tables(paper_tables_dir), official_root.root
        chosen = [r for r in eqsr.official_rows(root) if r.backbone in ("rdn", "swinir")]   # RDN-LIIF, SwinIR-LTE
        spec = replace(table_specs("smoke")["poster"], rows=()).with_printed_rows(chosen, tables)
        assert len(spec.rows) == 2
        result = run_table(spec, "smoke", data_root=root, tables=tables, any_backbone=True, progress=False,
                           log=lambda m: None)
        raw = result.raw
        assert len(raw) == 4 and set(raw["scale"]) == {1.55, 6.25} and set(raw["dataset"]) == {"Set5"}
        assert raw["weights"].str.startswith("official").all() and set(raw["backbone"]) == {"rdn", "swinir"}
        for rec in raw.to_dict("records"):           # the official loader and sr_lib.evaluate agree with run_rows
            model = load_official(root / "checkpoints" / rec["run_key"].split(":", 1)[1])
            direct = sr_lib.evaluate(model, "Set5", rec["scale"], "eqsr", data_root=root, limit=1)
            assert rec["psnr"] == pytest.approx(direct["psnr"], abs=1e-9)
        side = result.side[result.side["weights"].fillna("").str.startswith("official")]
        assert len(side) == 4 and (side["status"] == "ours").all() and (side["backbone"] == "").all()
        assert set(side["method"]) == {"LIIF", "LTE"} and side["printed"].notna().all()
        assert result.side.loc[~result.side.index.isin(side.index), "ours"].isna().all()
        assert len(result.claims) and result.claims["ours"].isna().all()
        assert (result.claims["verdict"] == "not tested (not evaluated)").all()

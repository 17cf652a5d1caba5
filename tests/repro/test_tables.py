"""Loading invariants of the printed paper tables (counts from ../shared/paper_tables/README.md)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sr_lib.repro.tables import (KEY, bicubic_cells, claim_holds, flagged_mask, load_tables, paper_tables_dir,
                                 side_by_side)

# README "Validation": rows and flagged (SUSPICIOUS or LOW-CONFIDENCE) cells per table
README_COUNTS = {
    ("eqsr", "poster_table"): (210, 7), ("eqsr", "supp_table1"): (30, 0), ("eqsr", "supp_table2"): (25, 0),
    ("eqsr", "supp_table3"): (490, 9), ("ipe_liif", "table1"): (128, 3), ("ipe_liif", "table2"): (160, 0),
    ("ipe_liif", "table3"): (60, 0), ("ipe_liif", "table4"): (36, 0), ("ciaosr", "table1"): (152, 3),
    ("ciaosr", "table2"): (180, 0), ("ciaosr", "table3"): (150, 2), ("ciaosr", "table4"): (15, 0),
    ("ciaosr", "table5"): (25, 0), ("ciaosr", "table6"): (12, 0), ("ciaosr", "table7"): (20, 5),
    ("ciaosr", "table8"): (50, 0), ("ciaosr", "table9"): (24, 0),
}


@pytest.fixture(scope="module")
def tables(paper_tables_dir):
    return load_tables(paper_tables_dir)


class TestLoadTables:
    def test_has_all_1767_printed_cells_in_17_tables(self, tables):
        assert len(tables) == 1767
        assert tables.groupby(["paper", "table"]).ngroups == 17

    def test_uniqueness_key_has_no_duplicates(self, tables):
        assert not tables.duplicated(KEY).any()

    def test_rows_and_flags_per_table_match_readme(self, tables):
        got = {k: (len(g), int((g["flag"] != "").sum())) for k, g in tables.groupby(["paper", "table"])}
        assert got == README_COUNTS

    def test_nine_suspicious_cells_carry_the_likely_value_of_their_note(self, tables):
        sus = tables[tables["flag"] == "SUSPICIOUS"].set_index(["table", "dataset", "method", "scale"])
        assert len(sus) == 9
        assert sus.loc[("poster_table", "Set14", "EQSR", 1.5), "likely"] == 37.83
        assert sus.loc[("table3", "Set5", "MetaSR", 8.0), "likely"] == 26.96
        assert sus.loc[("supp_table3", "Set5", "EQSR", 2.25), "value"] == 27.18

    def test_values_are_typed_and_dashes_are_nan(self, tables):
        assert tables["value"].dtype == float and tables["scale"].dtype == float
        dashes = tables["printed"] == ""
        assert dashes.sum() == 10 + 16 + 6 + 15 + 3 + 17          # README "empty" column
        assert tables.loc[dashes, "value"].isna().all()
        # printed strings are kept as printed ('0.2' stays '0.2')
        assert "0.2" in set(tables.loc[tables["metric"] == "psnr_gain_db", "printed"])

    def test_base_method_strips_bracketed_variant_tags(self, tables):
        assert tables.loc[tables["method"] == "EQSR [Model IV]", "base_method"].unique().tolist() == ["EQSR"]
        assert not tables["base_method"].str.contains("[", regex=False).any()

    def test_bicubic_cells_cover_six_datasets(self, tables):
        b = bicubic_cells(tables)
        assert len(b) == 124
        assert set(b["dataset"]) == {"Set5", "Set14", "B100", "Urban100", "Manga109", "DIV2K-val"}

    def test_missing_folder_is_a_one_line_error(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="paper tables not found"):
            paper_tables_dir(tmp_path / "nope")


class TestSideBySide:
    def test_mean_std_over_seeds_and_delta(self):
        printed = pd.DataFrame({"dataset": ["Set5", "Set14"], "scale": [2.0, 2.0], "value": [33.66, 30.24]})
        ours = pd.DataFrame({"dataset": ["Set5"] * 3, "scale": [2.0] * 3, "value": [33.0, 34.0, 35.0],
                             "seed": [0, 1, 2]})
        out = side_by_side(printed, ours, ["dataset", "scale"], profile="cpu").set_index("dataset")
        assert out.loc["Set5", "ours_mean"] == pytest.approx(34.0)
        assert out.loc["Set5", "ours_std"] == pytest.approx(1.0)            # sample std of 33, 34, 35
        assert out.loc["Set5", "delta"] == pytest.approx(34.0 - 33.66)
        assert out.loc["Set5", "seeds"] == "0,1,2" and out.loc["Set5", "ours"].endswith("(3 seeds)")
        assert np.isnan(out.loc["Set14", "ours_mean"]) and out.loc["Set14", "ours"] == "not run"
        assert (out["profile"] == "cpu").all()

    def test_profile_is_required(self):
        df = pd.DataFrame({"k": [1], "value": [1.0]})
        with pytest.raises(ValueError, match="profile"):
            side_by_side(df, df, ["k"], profile="")


class TestClaimHolds:
    def test_ipe_liif_beats_rdn_liif_in_printed_table2_except_where_it_does_not(self, tables):
        t2 = tables[(tables["paper"] == "ipe_liif") & (tables["table"] == "table2")]
        res = claim_holds(t2, better="IPE-LIIF", worse="LIIF")
        assert len(res) == 4 * 5                                            # 4 datasets x 5 scales
        row = res[(res["dataset"] == "Set5") & (res["scale"] == 2.0)].iloc[0]
        assert row["margin"] == pytest.approx(row["better"] - row["worse"])
        assert res["holds"].dtype == bool

    def test_lower_is_better_metrics_flip_the_direction(self):
        df = pd.DataFrame({"method": ["A", "B"], "metric": ["lpips"] * 2, "dataset": ["x"] * 2,
                           "backbone": [""] * 2, "scale": [2.0] * 2, "value": [0.1, 0.2]})
        assert claim_holds(df, "A", "B", metric="lpips")["holds"].all()
        assert not claim_holds(df, "B", "A", metric="lpips")["holds"].any()


def test_flagged_mask_marks_rows_that_name_a_flag_and_nothing_without_the_column():
    f = pd.DataFrame({"printed_flag": [np.nan, "", "SUSPICIOUS: EQSR printed 27.18 (likely 37.18)"],
                      "flag": ["LOW-CONFIDENCE", None, ""]})
    assert flagged_mask(f).tolist() == [False, False, True]
    assert flagged_mask(f, "flag").tolist() == [True, False, False]
    assert flagged_mask(f.drop(columns="printed_flag")).tolist() == [False] * 3
    assert flagged_mask(load_tables(), "flag").sum() == load_tables()["flag"].fillna("").ne("").sum() > 0

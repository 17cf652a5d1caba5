"""sr_lib.repro.experiments: run_table, one call from the rows to the side-by-side table and the claims."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

import sr_lib
from sr_lib.repro import Claim, TableResult, TableSpec, checkpoint_rows, combine, compare_table, run_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TestRunTable:
    def test_smoke_table_end_to_end(self, toy, table_runs, tmp_path):
        spec, tables = toy.small_spec, toy.small_printed
        result = sr_lib.repro.run_table(spec, "smoke", seeds=(0,), data_root=toy.root, budget=toy.budget,
                                        raw_csv=tmp_path / "raw.csv", runs_root=table_runs, tables=tables,
                                        any_backbone=True, log=lambda m: None)      # Bicubic has no backbone
        assert isinstance(result, TableResult) and len(result.raw) == 4
        assert (result.side["status"] == "ours").all() and result.side["stand_in"].str.contains("stands in").all()
        assert set(result.side["weights"]) == {"trained here", "none (fixed upscaler)"}
        assert len(result.claims) == 2 and result.claims["ours"].notna().all()
        assert result.summary().startswith("tableX: 4 of 4 printed cells have ours; stand-in: Set5")
        assert repr(result) == f"TableResult({result.summary()})" and "<table" in result._repr_html_()
        pivot = result.pivot()
        assert pivot.shape == (2, 4) and list(pivot.columns.levels[1]) == [2.0, 6.0]
        again = compare_table(spec, result.raw, "smoke", data_root=toy.root, budget=toy.budget, tables=tables,
                              any_backbone=True)
        pd.testing.assert_frame_equal(again.side, result.side)
        pd.testing.assert_frame_equal(again.claims, result.claims)
        side, claims = combine([result, again])
        assert len(side) == 8 and len(claims) == 4
        empty_side, empty_claims = combine([])
        assert empty_side.empty and empty_claims.empty and "ours" in empty_side.columns

    def test_official_checkpoints_in_the_data_root_become_rows(self, toy, table_runs, tmp_path):
        r = tmp_path / "d"
        shutil.copytree(toy.root, r)
        model = sr_lib.train("liif", "edsr-baseline", profile="smoke", seed=0, data_root=r, out=table_runs,
                             progress=False)
        (r / "checkpoints").mkdir()
        shutil.copy(os.path.join(model.train_info["run_dir"], "final.pt"), r / "checkpoints" / "liif_edsr.pth")
        (r / "checkpoints" / "broken.pth").write_bytes(b"not a checkpoint")
        (row,) = checkpoint_rows(r)
        assert (row.label, row.method, row.printed_backbone) == ("LIIF", "liif", "EDSR-baseline")
        assert row.weights == "official checkpoint liif_edsr.pth"
        spec = TableSpec("ipe_liif", "tableX", rows=(row,), metrics=("psnr",), claims=(Claim("IPE-LIIF", "LIIF"),))
        result = run_table(spec, "smoke", seeds=(0, 1), data_root=r, budget=toy.budget, progress=False,
                           tables=toy.printed, log=lambda m: None)
        assert len(result.raw) == 2 and (result.raw["seed"] == 0).all()   # evaluated once, not per seed
        extra = result.side[result.side["weights"] == row.weights]
        assert len(extra) == 2 and extra["ours"].notna().all()   # its own lines beside the printed LIIF
        assert result.side[result.side["weights"] != row.weights]["ours"].isna().all()
        assert result.claims["ours"].isna().all()                # claims use weights trained here only
        assert np.isfinite(result.raw["psnr"]).all()

"""sr_lib.repro.results: train or reuse, evaluate or reuse, the raw CSV written atomically."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from sr_lib.repro import Row, TableSpec, read_raw, run_rows, write_csv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TestAtomicWrites:
    def test_failed_write_leaves_the_old_file_and_no_temporary(self, tmp_path, monkeypatch):
        path = tmp_path / "t.csv"
        write_csv(pd.DataFrame({"a": [1]}), path)

        def boom(*a, **k):
            raise OSError("disk full")
        monkeypatch.setattr(os, "replace", boom)
        with pytest.raises(OSError):
            write_csv(pd.DataFrame({"a": [2]}), path)
        monkeypatch.undo()
        assert pd.read_csv(path)["a"].tolist() == [1]
        assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


class TestRunRows:
    def test_smoke_rows_are_trained_evaluated_and_reused(self, toy, table_runs, tmp_path):
        """Tiny models, one 48-px image, two scales: train and evaluate; a second run is all cache, and an
        evaluation reused for another table's row carries that row's label."""
        spec, tables = toy.small_spec, toy.small_printed
        raw_csv = tmp_path / "raw.csv"
        log = []
        kw = dict(seeds=(0,), data_root=toy.root, budget=toy.budget, raw_csv=raw_csv, runs_root=table_runs,
                  progress=False, tables=tables, log=log.append)
        raw = run_rows(spec, "smoke", **kw)
        assert len(raw) == 4 and np.isfinite(raw["psnr"]).all()
        assert (raw["scored_as"] == "DIV2K-val").all() and (raw["dataset"] == "Set5").all()
        assert len(log) == 4 and not any("cached" in m for m in log)
        log.clear()
        again = run_rows(spec, "smoke", **kw)
        assert all("cached" in m for m in log) and len(log) == 4
        assert np.allclose(again["psnr"], raw["psnr"])
        assert len(read_raw(raw_csv)) == 4                        # replaced, not duplicated
        other = TableSpec("ipe_liif", "tableX", metrics=("psnr",), rows=(Row("LIIF [same run]", "liif", "edsr-baseline"),))
        reused = run_rows(other, "smoke", **{**kw, "tables": tables.replace({"LIIF": "LIIF [same run]"})})
        assert set(reused["label"]) == {"LIIF [same run]"}
        assert np.allclose(reused["psnr"], raw.loc[raw["label"] == "LIIF", "psnr"])
        assert len(read_raw(raw_csv)) == 4

    def test_a_cell_another_worker_scored_meanwhile_is_reused_and_kept(self, toy, table_runs, tmp_path):
        """Two processes share one raw CSV (``train-plan --evaluate`` workers, a notebook): a cell the
        other wrote after this run started is read back instead of scored again, and its rows survive
        this run's writes (merged under a lock)."""
        spec, tables = toy.small_spec, toy.small_printed
        kw = dict(seeds=(0,), data_root=toy.root, budget=toy.budget, runs_root=table_runs, progress=False,
                  tables=tables)
        full = tmp_path / "other_worker.csv"
        run_rows(spec, "smoke", raw_csv=full, log=lambda m: None, **kw)
        shared, log = tmp_path / "shared.csv", []

        def other_worker_writes(msg):                # after our first cell: the other worker's file lands
            log.append(msg)
            if len(log) == 1:
                write_csv(read_raw(full), shared)
        raw = run_rows(spec, "smoke", raw_csv=shared, log=other_worker_writes, **kw)
        assert "cached" not in log[0] and all("cached" in m for m in log[1:]) and len(log) == 4
        assert np.allclose(raw["psnr"], read_raw(full)["psnr"])
        assert len(read_raw(shared)) == 4

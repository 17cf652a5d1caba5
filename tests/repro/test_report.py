"""REPORT.md covers every printed table and renders the comparison CSVs a run wrote."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from sr_lib.repro.report import write_report


class TestWriteReport:
    def test_report_lists_every_printed_table_and_our_cells(self, tmp_path, monkeypatch, paper_tables_dir):
        monkeypatch.setenv("SR_RESULTS", str(tmp_path))
        monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
        res = tmp_path / "smoke"
        res.mkdir()
        pd.DataFrame({"paper": ["eqsr"], "table": ["poster_table"], "dataset": ["Set5"], "scale": [2.0],
                      "printed": [33.66], "ours": [33.661], "delta": [0.001]}).to_csv(res / "bicubic.csv", index=False)
        pd.DataFrame({"paper": ["eqsr"], "table": ["poster_table"], "printed": [1.0], "ours": [0.5]}).to_csv(
            res / "x_claims.csv", index=False)
        out = write_report("smoke", [{"notebook": "01_x.py", "seconds": 60.0, "finished": "now"}])
        text = out.read_text()
        printed = pd.concat(pd.read_csv(p) for p in sorted(paper_tables_dir.glob("*.csv")))
        for paper, table in set(zip(printed["paper"], printed["table"])):
            assert f"| {paper} " in text and f"| {table} " in text, (paper, table)
        assert "33.66" in text and "1.0 min" in text
        cov = text.split("## Coverage of the printed tables")[1].split("##")[0]
        row = next(line for line in cov.splitlines() if "poster_table" in line)
        assert row.split("|")[4].strip() == "1"          # the claims file is not counted as a table cell
        page = (res / "REPORT.html").read_text()
        assert "<td>33.66</td>" in page and "<th>printed</th>" in page and "<pre>" not in page

    def test_report_sums_the_training_time_each_run_recorded(self, tmp_path, monkeypatch):
        from sr_lib.engine.train import train
        monkeypatch.setenv("SR_RESULTS", str(tmp_path))
        monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
        model = train("liif", "edsr-baseline", profile="smoke", seed=0, progress=False)
        ck = torch.load(Path(model.train_info["run_dir"]) / "final.pt", weights_only=True)
        assert ck["train_seconds"] > 0
        text = write_report("smoke", []).read_text()
        runs = pd.read_csv(tmp_path / "smoke" / "training_runs.csv")
        assert len(runs) == 1 and runs.loc[0, "method"] == "liif" and runs.loc[0, "steps"] == 4
        assert runs.loc[0, "train_seconds"] == round(ck["train_seconds"], 1)
        assert "1 finished training runs" in text

"""REPORT.md: a scoreboard first, one compact table per printed table, consistent pipe tables,
at most 400 lines, no literal nan; partial runs keep the other notebooks' sections; the HTML
needs no network."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sr_lib.repro import report
from sr_lib.repro.report import MAX_LINES, display_verdict, table_cells, write_report


def _tables(md: str) -> list[list[str]]:
    """The pipe tables of a markdown text (runs of lines starting with '|')."""
    blocks, cur = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            blocks.append(cur)
            cur = []
    return blocks


def _check_markdown(md: str):
    for block in _tables(md):
        widths = {table_cells(line) for line in block}
        assert len(widths) == 1, block[:3]
        assert re.fullmatch(r"\|(---\|)+", block[1]), block[1]
        assert table_cells(block[0]) <= 10
    assert not re.search(r"\bnan\b", md, re.I), [line for line in md.splitlines() if re.search(r"\bnan\b", line, re.I)]


@pytest.fixture
def results(tmp_path, monkeypatch, paper_tables_dir):
    monkeypatch.setenv("SR_RESULTS", str(tmp_path))
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    res = tmp_path / "smoke"
    (res / "figures").mkdir(parents=True)
    return res


def _claims(paper, table, claims, cells, verdicts, paired, rng):
    rows = []
    for ci, claim in enumerate(claims):
        for k in range(cells):
            v = verdicts[(ci * cells + k) % len(verdicts)]
            row = {"paper": paper, "table": table, "claim": claim, "dataset": "Set5", "backbone": "EDSR-baseline",
                   "scale": 2.0 + k, "scale_kind": "in", "metric": "psnr", "printed": 0.1,
                   "ours": float(rng.normal()), "ours_std": np.nan, "n_seeds": 1, "verdict": v,
                   "stand_in": "", "profile": "smoke", "note": ""}
            if paired:
                row.update(mean_diff=row["ours"], ci_low=row["ours"] - 0.1, ci_high=row["ours"] + 0.1)
            rows.append(row)
    return pd.DataFrame(rows)


class TestWriteReport:
    def test_report_lists_every_printed_table_and_our_cells(self, results, paper_tables_dir):
        res = results
        pd.DataFrame({"paper": ["eqsr"], "table": ["poster_table"], "dataset": ["Set5"], "scale": [2.0],
                      "metric": ["psnr"], "printed": [33.66], "ours": [33.661], "delta": [0.001],
                      "protocol": ["rgb|floor_crop|shave4"]}).to_csv(res / "bicubic.csv", index=False)
        pd.DataFrame({"paper": ["eqsr"], "table": ["poster_table"], "printed": [1.0], "ours": [0.5]}).to_csv(
            res / "x_claims.csv", index=False)
        out = write_report("smoke", [{"notebook": "01_x.py", "seconds": 60.0, "finished": "now"}])
        text = out.read_text()
        printed = pd.concat(pd.read_csv(p) for p in sorted(paper_tables_dir.glob("*.csv")))
        for paper, table in set(zip(printed["paper"], printed["table"])):
            assert f"| {paper} " in text and f"| {table} " in text, (paper, table)
        assert "33.66" in text and "1.0 min" in text
        assert "rgb\\|floor_crop\\|shave4" in text                     # a | inside a cell is escaped
        cov = text.split("## Coverage of the printed tables")[1].split("##")[0]
        row = next(line for line in cov.splitlines() if "poster_table" in line)
        assert row.split("|")[4].strip() == "1"          # the claims file is not counted as a table cell
        assert row.split("|")[5].strip().startswith("partly")
        for line in cov.splitlines():                    # no cell of ours: not regenerated
            if line.startswith("|") and line.split("|")[4].strip() == "0":
                assert line.split("|")[5].strip() == "no", line
        _check_markdown(text)
        page = (res / "REPORT.html").read_text()
        assert "<td>33.66</td>" in page and "<th>printed</th>" in page and "<pre>" not in page
        assert "<td>rgb|floor_crop|shave4</td>" in page

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
        assert "**Training:** 1 more finished runs, not shipped (this machine's run cache" in text
        # a run listed by an earlier machine stays listed when this machine's cache lacks it
        listed = tmp_path / "smoke" / "training_runs.csv"
        pd.concat([pd.read_csv(listed), pd.DataFrame([{"run": "earlier-machine-run", "steps": 500}])]).to_csv(
            listed, index=False)
        write_report("smoke", [])
        assert set(pd.read_csv(listed)["run"]) == {runs.loc[0, "run"], "earlier-machine-run"}
        # once the run is shipped (a run card in runs.csv) it counts there, by its card, and not twice
        name = runs.loc[0, "run"]
        pd.DataFrame([{"run": name, "steps": 4, "train_seconds": 1800.0},
                      {"run": "other-run", "steps": 8000, "train_seconds": 5400.0}]).to_csv(
            tmp_path / "smoke" / "runs.csv", index=False)
        text = write_report("smoke", []).read_text()
        line = next(x for x in text.splitlines() if x.startswith("**Training:**"))
        assert "2 shipped runs" in line and "2.00 h of training" in line and "steps: 4, 8,000" in line
        assert "1 more finished runs" in line          # the earlier machine's run only: the shipped one not twice


class TestScoreboard:
    def test_verdicts_without_paired_statistics_are_not_tested(self):
        for old in ("holds", "does not hold", "holds (within seed noise)", "does not hold (1 seed, noise unknown)"):
            assert display_verdict(old, paired=False) == "not tested (no paired statistics)"
        assert display_verdict("holds", paired=True) == "holds"
        assert display_verdict("within noise", paired=True) == "within noise"
        assert display_verdict("does not hold", paired=True) == "not tested (no paired statistics)"
        assert display_verdict("not tested (run x below the health bar)", paired=False) == \
            "not tested (run x below the health bar)"
        assert display_verdict("not evaluated", paired=True).startswith("not tested (")
        assert display_verdict(float("nan"), paired=True).startswith("not tested (")

    def test_counts_per_paper_and_run_health(self, results):
        rng = np.random.default_rng(0)
        res = results
        # paired: 6 cells of 2 claims cycling holds, reversed, within noise, not tested → 2 of each... known counts
        a = _claims("ipe_liif", "table1", ["A > B (psnr)", "A > C (psnr)"], 3,
                    ["holds", "reversed", "within noise", "not tested (run r below the health bar)"], True, rng)
        b = _claims("ciaosr", "table4", ["D > E (psnr)"], 4, ["holds", "does not hold"], False, rng)
        a.to_csv(res / "ipe_liif_claims.csv", index=False)
        b.to_csv(res / "ciaosr_claims.csv", index=False)
        pd.DataFrame({"run": ["r1", "r2", "r3"], "healthy": [True, False, True], "gain_x2": [1.5, 0.2, 1.2],
                      "gain_x4": [0.8, 0.1, 0.6]}).to_csv(res / "runs.csv", index=False)
        text = write_report("smoke", []).read_text()
        lines = text.splitlines()
        head = next(i for i, line in enumerate(lines) if line.strip() == "## Scoreboard")
        assert head < 40
        board = _tables("\n".join(lines[head:]))[0]
        assert board[0].split("|")[1:-1] == [" paper ", " claims ", " claim cells ", " holds ", " reversed ",
                                             " within noise ", " not tested "]
        rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in board[2:]}
        verdicts = list(a["verdict"])
        assert rows["ipe_liif"] == ["2", "6", str(verdicts.count("holds")), str(verdicts.count("reversed")),
                                    str(verdicts.count("within noise")), str(sum(v.startswith("not") for v in verdicts))]
        assert rows["ciaosr"] == ["1", "4", "0", "0", "0", "4"]          # no paired statistics: nothing tested
        assert rows["**all**"][1] == "10"
        assert "2 / 3 runs healthy" in text and "`r2`" in text
        _check_markdown(text)

    def test_no_runs_csv_is_said(self, results):
        assert "no runs.csv yet" in write_report("smoke", []).read_text()


class TestSize:
    def test_many_tables_stay_under_the_line_budget(self, results):
        """40 tables of 30 claims and 60 lines each: the sections shrink to one line per table, the
        scoreboard stays."""
        rng = np.random.default_rng(1)
        res = results
        claims, tables = [], []
        for t in range(40):
            claims.append(_claims("ciaosr", f"table{t}", [f"M{i} > N{i} (psnr)" for i in range(30)], 2,
                                  ["holds", "within noise"], True, rng))
            tables.append(pd.DataFrame({"paper": "ciaosr", "table": f"table{t}", "dataset": "Set5",
                                        "method": [f"M{i}" for i in range(60)], "backbone": "RDN", "scale": 2.0,
                                        "metric": "psnr", "printed": 30.0, "ours": rng.normal(30, 1, 60),
                                        "ours_std": np.nan, "status": "ours"}))
            (res / "figures" / f"ciaosr_table{t}_claims.png").write_bytes(b"png")
        pd.concat(claims).to_csv(res / "ciaosr_claims.csv", index=False)
        pd.concat(tables).to_csv(res / "ciaosr_tables.csv", index=False)
        text = write_report("smoke", []).read_text()
        assert len(text.splitlines()) <= MAX_LINES
        assert "## Scoreboard" in "\n".join(text.splitlines()[:40])
        for t in range(40):                               # every table is still there, if only as a line
            assert f"ciaosr table{t}**" in text or f"### ciaosr table{t}\n" in text, t
        _check_markdown(text)


class TestPartialRun:
    def test_only_the_notebooks_that_ran_are_rebuilt(self, results):
        res = results
        pd.DataFrame({"method": ["bicubic", "liif"], "psnr": [30.0, 31.25]}).to_csv(res / "quickstart.csv", index=False)
        pd.DataFrame({"method": ["bicubic", "lte"], "psnr": [20.0, 21.25]}).to_csv(res / "explorer.csv", index=False)
        first = write_report("smoke", [{"notebook": "00_quickstart.py", "seconds": 1.0, "finished": "a"},
                                       {"notebook": "90_explorer.py", "seconds": 2.0, "finished": "a"}])
        assert "31.25" in first.read_text() and "21.25" in first.read_text()
        pd.DataFrame({"method": ["bicubic", "liif"], "psnr": [30.0, 32.75]}).to_csv(res / "quickstart.csv", index=False)
        pd.DataFrame({"method": ["bicubic", "lte"], "psnr": [20.0, 27.75]}).to_csv(res / "explorer.csv", index=False)
        text = write_report("smoke", [{"notebook": "00_quickstart.py", "seconds": 3.0, "finished": "b"}],
                            ran=["00_quickstart.py"]).read_text()
        assert "32.75" in text                        # 00 ran: its section is new
        assert "21.25" in text and "27.75" not in text    # 90 did not: its stored section stays
        assert "## 90 · Explorer" in text
        nb_table = text.split("## Notebooks")[1].split("##")[0]
        assert "00_quickstart.py | 3.00" in nb_table and "90_explorer.py | 2.00" in nb_table
        stored = json.loads((res / "REPORT.sections.json").read_text())["sections"]
        assert set(stored) == {"00", "90"}
        rebuilt = write_report("smoke", None, ran="all").read_text()     # `python -m sr_lib report`
        assert "27.75" in rebuilt


class TestHtml:
    def test_page_is_self_contained(self, results):
        res = results
        from PIL import Image
        Image.new("RGB", (4, 4)).save(res / "figures" / "quickstart_crops.png")
        pd.DataFrame({"method": ["bicubic", "liif"], "psnr": [30.0, np.nan]}).to_csv(res / "quickstart.csv",
                                                                                      index=False)
        (res / "notes").mkdir()
        (res / "notes" / "smoke_run.md").write_text("## How\n\nEq. $x^2 + y$ and $$\\frac{a}{b}$$.\n")
        write_report("smoke", [])
        page = (res / "REPORT.html").read_text()
        assert "<script" not in page.lower()
        assert not re.search(r"""(src|href)=['"]https?:""", page)
        for src in re.findall(r"""<img[^>]*src=['"]([^'"]+)['"]""", page):
            assert src.startswith("data:") or (res / src).is_file(), src
        assert "data:image/svg+xml;base64," in page                  # the equations are drawn, not left to MathJax
        assert "$x^2" not in page
        md = (res / "REPORT.md").read_text()
        assert "| liif | — |" in md


def test_report_of_the_committed_cpu_results(tmp_path, monkeypatch):
    """The committed results/cpu rebuilt (in a copy): the checks of issue 14 on real tables."""
    import shutil
    from sr_lib.paths import repo_root
    src = repo_root() / "results" / "cpu"
    if not (src / "ipe_liif_claims.csv").is_file():
        pytest.skip("no committed cpu results")
    shutil.copytree(src, tmp_path / "cpu", ignore=shutil.ignore_patterns("notebooks", "weights"))
    monkeypatch.setenv("SR_RESULTS", str(tmp_path))
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    text = write_report("cpu", None).read_text()
    lines = text.splitlines()
    assert len(lines) <= MAX_LINES
    assert any(line.strip() == "## Scoreboard" for line in lines[:40])
    assert "profile `cpu`" in lines[0]
    _check_markdown(text)
    for section in ("## 00 ·", "## 10 ·", "## 20 ·", "## 30 ·", "## 31 ·", "## 90 ·"):
        assert section in text
    for img in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert (tmp_path / "cpu" / img).is_file(), img


def test_a_printed_mean_over_flagged_cells_says_how_many():
    """The compact claim table averages printed margins; a flagged printed number among them is counted."""
    c = _claims("eqsr", "t", ["A > B (psnr)"], 3, ["holds"], True, np.random.default_rng(0))
    c["shown"] = c["verdict"]
    c["printed_flag"] = ["", "SUSPICIOUS: A printed 27.18 (likely 37.18)", ""]
    (row,) = _tables("\n".join(report.claims_table(c, 10)))[0][2:]
    assert row.split(" | ")[3] == "+0.10 (1 flagged)"
    assert report.claims_table(c.assign(printed_flag=""), 10)[2].split(" | ")[3] == "+0.10"


def test_claims_beyond_the_row_limit_are_named_with_their_verdicts():
    """A compact table cut to one row still says what the other claims found (a reversal is news)."""
    rng = np.random.default_rng(0)
    c = pd.concat([_claims("ciaosr", "t", ["A > B (psnr)"], 2, ["holds"], True, rng),
                   _claims("ciaosr", "t", ["A > C (psnr)"], 2, ["reversed"], True, rng),
                   _claims("ciaosr", "t", ["A > D (psnr)"], 1, ["within noise"], True, rng)], ignore_index=True)
    c["shown"] = c["verdict"]
    lines = report.claims_table(c, 1)
    assert len(_tables("\n".join(lines))[0]) == 3                          # header, rule, one row
    assert lines[-1] == "(2 more claims in the CSV: A > C (psnr) reversed ×2; A > D (psnr) within noise ×1.)"
    assert report.claims_table(c, 2)[-1] == "(1 more claim in the CSV: A > D (psnr) within noise ×1.)"
    assert not report.claims_table(c, 3)[-1].startswith("(")

"""The headless notebook series (sr_lib.repro.runner): order by number, resume by stamp (source
hash + parameters), ``--only`` and ``--force``; the paired ``.ipynb`` has stable cell ids.
Notebooks are not executed here (``run_notebook`` is replaced); tests/notebooks runs them."""
from __future__ import annotations

import json

import pytest

from sr_lib.repro import runner


@pytest.fixture
def series(tmp_path, monkeypatch):
    """Three numbered sources (and one that is not part of the series) in a fake checkout."""
    nb = tmp_path / "repo" / "notebooks"
    nb.mkdir(parents=True)
    for name in ("10_b.py", "01_a.py", "20_c.py", "helpers.py"):
        (nb / name).write_text(f"# %%\nprint({name!r})\n")
    monkeypatch.setattr(runner, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "results"))
    ran = []

    def fake_run(src, out_dir, params, log_output=False):
        ran.append((src.name, dict(params)))
        return out_dir / f"{src.stem}.ipynb"

    monkeypatch.setattr(runner, "run_notebook", fake_run)
    return nb, ran


def names(ran):
    return [n for n, _ in ran]


def test_sources_are_the_numbered_files_in_order(series):
    nb, _ = series
    assert [p.name for p in runner.notebook_sources()] == ["01_a.py", "10_b.py", "20_c.py"]


def test_resume_skips_what_finished_with_the_same_source_and_parameters(series, capsys):
    nb, ran = series
    runner.run_series("smoke", report=False)
    assert names(ran) == ["01_a.py", "10_b.py", "20_c.py"]
    assert ran[0][1] == {"profile": "smoke", "data_root": "", "device": "auto"}
    summary = runner.run_series("smoke", report=False)                # nothing changed: all skipped
    assert len(ran) == 3 and [s["notebook"] for s in summary] == ["01_a.py", "10_b.py", "20_c.py"]
    (nb / "10_b.py").write_text("# %%\nprint('changed')\n")            # a changed source re-runs
    runner.run_series("smoke", report=False)
    assert names(ran)[3:] == ["10_b.py"]
    runner.run_series("smoke", device="cpu", report=False)             # other parameters: all re-run
    assert names(ran)[4:] == ["01_a.py", "10_b.py", "20_c.py"]
    runner.run_series("smoke", device="cpu", force=True, report=False)
    assert len(ran) == 10
    assert "[skip] 01_a.py" in capsys.readouterr().out


def test_stamp_file_records_the_run(series, tmp_path):
    runner.run_series("smoke", only=["10"], report=False)
    stamp = json.loads((tmp_path / "results" / "smoke" / "notebooks" / "10_b.done.json").read_text())
    assert stamp["notebook"] == "10_b.py" and len(stamp["stamp"]) == 64 and stamp["seconds"] >= 0


def test_only_and_errors(series):
    _, ran = series
    runner.run_series("smoke", only=["01", "20"], report=False)
    assert names(ran) == ["01_a.py", "20_c.py"]
    with pytest.raises(ValueError, match="no notebooks match"):
        runner.run_series("smoke", only=["99"], report=False)
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        runner.run_series("fast", report=False)


def test_paired_notebook_cell_ids_are_stable(series):
    nb, _ = series
    src = nb / "01_a.py"
    src.write_text("# %%\nx = 1\n\n# %%\nprint(x)\n")
    a, b = runner.to_notebook(src), runner.to_notebook(src)
    ids = [c["id"] for c in a.cells]
    assert ids == [c["id"] for c in b.cells] and len(set(ids)) == 2
    assert a.metadata["kernelspec"]["name"] == "python3"
    out = runner.write_paired_ipynb(src)
    first = out.read_text()
    runner.write_paired_ipynb(src)
    assert out.read_text() == first                                    # re-syncing changes nothing

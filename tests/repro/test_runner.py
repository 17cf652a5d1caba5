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


# ------------------------------------------------------------------------------------------------
# plan, ETA and progress
# ------------------------------------------------------------------------------------------------

def test_estimates_prefer_the_last_stamp_then_the_run_summary_then_the_table(series, tmp_path, monkeypatch):
    nb, _ = series
    sources = runner.notebook_sources()
    res = tmp_path / "results" / "smoke"
    (res / "notebooks").mkdir(parents=True)
    (res / "notebooks" / "01_a.done.json").write_text(json.dumps({"seconds": 12.5}))
    (res / "run_summary.json").write_text(json.dumps([{"notebook": "10_b.py", "seconds": 99.0},
                                                      {"notebook": "01_a.py", "seconds": 1.0}]))
    monkeypatch.setitem(runner.MEASURED_SECONDS, "smoke", {"20": 7})
    est = runner.estimates("smoke", sources)
    assert est["01_a.py"] == (12.5, "last run")
    assert est["10_b.py"][0] == 99.0 and "run_summary" in est["10_b.py"][1]
    assert est["20_c.py"] == (7.0, "measured table")
    monkeypatch.setitem(runner.MEASURED_SECONDS, "smoke", {})
    assert runner.estimates("smoke", sources)["20_c.py"] == (None, "no earlier run")


def test_eta_is_what_the_plan_has_left(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(runner.time, "time", lambda: now[0])
    clock = runner._Clock({"a": 100.0, "b": 50.0})
    assert clock.eta() == 150.0
    clock.start("a")
    now[0] += 30
    assert clock.eta() == 120.0 and clock.notebook_elapsed() == 30.0
    assert not clock.overdue() and "≥" not in clock.line()
    now[0] += 200                                         # over its estimate: counts as done, never negative
    assert clock.eta() == 50.0
    assert clock.overdue() and "ETA ≥ 0:00:50 (the running notebook is past its" in clock.line()
    clock.finish("a")
    clock.start("b")
    assert clock.eta() == 50.0 and clock.elapsed() == 230.0
    assert runner._Clock({"a": None}).eta() is None


def test_the_plan_is_printed_first(series, capsys, monkeypatch):
    monkeypatch.setitem(runner.MEASURED_SECONDS, "smoke", {"01": 60, "10": 120, "20": 3600})
    runner.run_series("smoke", report=False)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("plan: profile smoke, 3 of 3 notebooks to run, estimated 1 h 03 min")
    assert "01_a.py" in out[1] and "1.0 min" in out[1]
    run_line = next(line for line in out if "[run ] 10_b.py" in line)
    assert "est. 2.0 min" in run_line and "ETA 1:03:00" in next(line for line in out if "[run ] 01_a.py" in line)
    assert "ETA" in run_line and "elapsed" in run_line
    assert any(line.startswith("[3/3] [done] 20_c.py") for line in out)


# ------------------------------------------------------------------------------------------------
# a real (tiny) notebook: kernel over local sockets, interactive off, progress to the terminal, HTML
# ------------------------------------------------------------------------------------------------

TINY = '''# %% [markdown]
# # Tiny
#
# An equation: $a^2 + b^2$.

# %% tags=["parameters"]
profile: str = "smoke"
interactive: bool = True      # on in a live kernel

# %%
from sr_lib.engine import progress
bar = progress.bar(total=3, desc="tinybar", ascii=True, mininterval=0)
for _ in range(3):
    bar.update(1)
bar.close()
progress.event("train tiny-run: done, 3 steps in 0 s")
print("interactive is", interactive)
'''


def test_a_notebook_runs_headless_with_progress_and_html(tmp_path, monkeypatch, capfd):
    nb = tmp_path / "repo" / "notebooks"
    nb.mkdir(parents=True)
    (nb / "01_tiny.py").write_text(TINY)
    monkeypatch.setattr(runner, "repo_root", lambda: tmp_path / "repo")
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runner.run_series("smoke", report=False)
    cap = capfd.readouterr()
    assert "without encryption" not in cap.err                  # the kernel listens on no TCP port
    event = next(line for line in cap.err.splitlines() if "train tiny-run: done" in line)
    assert "notebook 0:0" in event and "ETA" in event           # relayed with the series' clock
    assert "tinybar" in cap.err                                  # the bar reached this terminal too
    out = tmp_path / "results" / "smoke" / "notebooks"
    import nbformat
    executed = nbformat.read(out / "01_tiny.ipynb", as_version=4)
    assert "jupytext" not in executed.metadata                   # the executed copy is paired with nothing
    texts = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "interactive is False" in texts and "tinybar" in texts
    page = (out / "01_tiny.html").read_text()
    assert "interactive is False" in page and "data:image/svg+xml;base64," in page
    assert "<script" not in page and "http" not in page.split("<body>")[1].split("data:")[0]


def test_above_smoke_the_bundled_images_are_refused_before_anything_runs(series, tmp_path, monkeypatch):
    from sr_lib.data import resolver
    from sr_lib.errors import UserError
    _, ran = series
    monkeypatch.delenv("SR_DATA", raising=False)
    monkeypatch.setattr(resolver, "repo_root", lambda: tmp_path / "repo")       # its data/ is absent
    with pytest.raises(UserError, match=r"profile cpu needs the benchmark and training images.*--profile smoke"):
        runner.run_series("cpu", report=False)
    assert ran == []
    runner.run_series("smoke", only=["01"], report=False)                      # smoke runs on them
    assert names(ran) == ["01_a.py"]

"""Where results and run caches live (sr_lib.paths): environment overrides, profile checks, and
the atomic write (never a half-written file)."""
from __future__ import annotations

import os

import pytest

from sr_lib import paths


def test_results_and_figures_follow_sr_results(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "res"))
    assert paths.results_dir("cpu") == tmp_path / "res" / "cpu" and (tmp_path / "res" / "cpu").is_dir()
    assert paths.figures_dir("smoke") == tmp_path / "res" / "smoke" / "figures"


def test_results_default_to_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("SR_RESULTS", raising=False)
    root = paths.repo_root()
    assert (root / "pyproject.toml").exists() and (root / "sr_lib").is_dir()
    assert paths.results_dir("paper") == root / "results" / "paper"


def test_runs_follow_sr_runs_then_xdg_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    assert paths.runs_dir("cpu") == tmp_path / "runs" / "cpu"
    monkeypatch.delenv("SR_RUNS")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.runs_dir("smoke") == tmp_path / "cache" / "sr_lib" / "runs" / "smoke"


@pytest.mark.parametrize("fn", [paths.results_dir, paths.figures_dir, paths.runs_dir])
def test_unknown_profile_is_refused_before_anything_is_created(fn, tmp_path, monkeypatch):
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "res"))
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        fn("fast")
    assert not (tmp_path / "res" / "fast").exists() and not (tmp_path / "runs" / "fast").exists()


def test_atomic_write_text(tmp_path):
    target = tmp_path / "a" / "b.txt"
    paths.atomic_write_text(target, "x\ny\n")
    assert target.read_bytes() == b"x\ny\n"                           # \n line ends on every platform
    paths.atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["b.txt"]                     # no temporary file left


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(TypeError):
        paths.atomic_write_text(target, b"bytes are not text")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["t.txt"]

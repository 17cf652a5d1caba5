"""Where things live: results, figures, run caches. One place, overridable by env.

- ``SR_RESULTS``: root of results (default ``<repo>/results``); tables and figures of a
  profile go to ``<root>/<profile>/`` and ``<root>/<profile>/figures/``.
- ``SR_RUNS``: root of training-run caches and other per-machine caches (default
  ``$XDG_CACHE_HOME/sr_lib/runs``, i.e. ``~/.cache/sr_lib/runs``): outside the checkout, so a
  long ``cpu`` run interrupted in one checkout resumes from a fresh clone on the same machine.
"""
from __future__ import annotations

import os
from pathlib import Path

PROFILES = ("smoke", "cpu", "paper")


def repo_root() -> Path:
    """The checkout holding this package (falls back to the working directory for installed copies)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile


def results_dir(profile: str) -> Path:
    root = Path(os.environ.get("SR_RESULTS") or repo_root() / "results")
    p = root / _check_profile(profile)
    p.mkdir(parents=True, exist_ok=True)
    return p


def figures_dir(profile: str) -> Path:
    p = results_dir(profile) / "figures"
    p.mkdir(parents=True, exist_ok=True)
    return p


def runs_dir(profile: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = Path(os.environ.get("SR_RUNS") or cache / "sr_lib" / "runs")
    p = root / _check_profile(profile)
    p.mkdir(parents=True, exist_ok=True)
    return p


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file + rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()

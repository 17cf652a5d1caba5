"""Opening and saving a notebook through jupytext (what JupyterLab's jupytext contents manager does,
and `jupytext --sync`) changes no tracked file: the committed .py/.ipynb pairs are exactly what
jupytext writes under notebooks/jupytext.toml. Checked in a temporary git repository holding a copy."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from sr_lib.paths import repo_root

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
NOTEBOOKS = repo_root() / "notebooks"


def _git(repo: Path, *args) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clone(tmp_path):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    files = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")) + sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for f in files + [NOTEBOOKS / "jupytext.toml"]:
        shutil.copy2(f, repo / "notebooks" / f.name)
    shutil.copy2(repo_root() / ".gitignore", repo / ".gitignore")      # ignores .ipynb_checkpoints/
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "copy")
    return repo


def _newer(path: Path):
    t = time.time() + 5
    os.utime(path, (t, t))


def test_config_matches_the_committed_pairing():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    cfg_file = find_jupytext_configuration_file(str(NOTEBOOKS))
    assert Path(cfg_file) == NOTEBOOKS / "jupytext.toml"
    cfg = load_jupytext_configuration_file(cfg_file)
    formats = cfg.formats if isinstance(cfg.formats, str) else ",".join(cfg.formats)
    assert formats == "ipynb,py:percent"
    for src in NOTEBOOKS.glob("[0-9][0-9]_*.py"):
        assert "#     formats: ipynb,py:percent\n" in src.read_text(), src.name
        assert src.with_suffix(".ipynb").is_file()


@pytest.mark.parametrize("newest", ["py", "ipynb"])
def test_jupytext_sync_changes_nothing(clone, newest):
    from jupytext.cli import jupytext
    for src in sorted((clone / "notebooks").glob("[0-9][0-9]_*.py")):
        _newer(src.with_suffix(f".{newest}"))
        jupytext(["--sync", "--quiet", str(src.with_suffix(f".{newest}"))])
    assert _git(clone, "status", "--porcelain") == ""


def test_jupyterlab_open_and_save_changes_nothing(clone):
    """The contents manager JupyterLab uses with jupytext: get() the notebook, save() it back, from
    the .ipynb and from the .py. Needs jupyter_server (the `lab` extra)."""
    pytest.importorskip("jupyter_server")
    from jupytext import TextFileContentsManager
    cm = TextFileContentsManager(root_dir=str(clone))
    for src in sorted((clone / "notebooks").glob("[0-9][0-9]_*.py")):
        for name in (src.with_suffix(".ipynb").name, src.name):
            path = f"notebooks/{name}"
            model = cm.get(path, content=True, type="notebook")
            cm.save(model, path)
    assert _git(clone, "status", "--porcelain") == ""


def test_sync_notebooks_command_writes_what_jupytext_writes(clone):
    """`python -m sr_lib sync-notebooks` (runner.write_paired_ipynb) agrees with jupytext byte for byte."""
    from sr_lib.repro.runner import write_paired_ipynb
    for src in sorted((clone / "notebooks").glob("[0-9][0-9]_*.py")):
        write_paired_ipynb(src)
    assert _git(clone, "status", "--porcelain") == ""
    src = clone / "notebooks" / "00_quickstart.py"
    src.write_text(src.read_text().replace("# # 00 ·", "# # 00 (edited) ·", 1))
    write_paired_ipynb(src)
    from jupytext.cli import jupytext
    _git(clone, "add", "-A")
    _newer(src)
    jupytext(["--sync", "--quiet", str(src)])                     # jupytext finds nothing to change either
    assert _git(clone, "diff") == ""                              # nothing beyond what was staged

"""Run the numbered notebook series headless (``python -m sr_lib run-notebooks``).

The committed source of each notebook is its jupytext ``py:percent`` file
``notebooks/NN_name.py`` (the paired ``.ipynb`` is committed without outputs).
Notebooks run in the order of their number, which is their dependency order
(01 data/protocols → 1x IPE-LIIF → 2x CiaoSR → 3x EQSR → 90 explorer). Each
executed notebook goes to ``results/<profile>/notebooks/``; a small stamp file
next to it records the source hash and parameters, so re-running the series
after an interruption skips the notebooks that already finished and continues
where it stopped (training inside notebooks is itself cached and resumable).
The run ends by writing ``results/<profile>/REPORT.md`` (and ``REPORT.html``).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from sr_lib.paths import PROFILES, atomic_write_text, repo_root, results_dir


def notebook_sources(root: Path | None = None) -> list[Path]:
    """``notebooks/NN_*.py`` sorted by number."""
    nb_dir = (root or repo_root()) / "notebooks"
    return sorted(p for p in nb_dir.glob("[0-9][0-9]_*.py"))


def to_notebook(src: Path):
    """The jupytext source as an ``nbformat`` notebook (with the python3 kernelspec)."""
    import jupytext
    nb = jupytext.read(src)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb.metadata.get("jupytext", {}).pop("notebook_metadata_filter", None)
    for i, cell in enumerate(nb.cells):     # stable ids: re-syncing an unchanged notebook changes nothing
        cell["id"] = f"c{i:03d}-{hashlib.sha1(cell.source.encode()).hexdigest()[:8]}"
    return nb


def write_paired_ipynb(src: Path) -> Path:
    """Write ``src``'s paired ``.ipynb`` (no outputs) beside it; the ``.py`` is the source of truth."""
    import nbformat
    out = src.with_suffix(".ipynb")
    atomic_write_text(out, nbformat.writes(to_notebook(src)) + "\n")
    return out


def _stamp(src: Path, params: dict) -> str:
    h = hashlib.sha256(src.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def run_notebook(src: Path, out_dir: Path, params: dict, log_output: bool = False) -> Path:
    """Execute one notebook with papermill; returns the executed copy's path."""
    import nbformat
    import papermill as pm
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_in = out_dir / f".{src.stem}.input.ipynb"
    nbformat.write(to_notebook(src), tmp_in)
    out = out_dir / f"{src.stem}.ipynb"
    try:
        pm.execute_notebook(str(tmp_in), str(out), parameters=params, kernel_name="python3",
                            cwd=str(src.parent), log_output=log_output, progress_bar=False)
    finally:
        tmp_in.unlink(missing_ok=True)
    return out


def run_series(profile: str = "cpu", only: list[str] | None = None, force: bool = False,
               data_root: str = "", device: str = "auto", report: bool = True) -> list[dict]:
    """Run every notebook (or those whose name starts with one of ``only``) in order."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    out_dir = results_dir(profile) / "notebooks"
    params = {"profile": profile, "data_root": data_root, "device": device}
    summary = []
    sources = [s for s in notebook_sources() if not only or any(s.name.startswith(o) for o in only)]
    if not sources:
        raise ValueError(f"no notebooks match {only}")
    for src in sources:
        stamp_file = out_dir / f"{src.stem}.done.json"
        stamp = _stamp(src, params)
        if not force and stamp_file.exists() and json.loads(stamp_file.read_text()).get("stamp") == stamp:
            print(f"[skip] {src.name}: finished earlier with the same source and parameters", flush=True)
            summary.append(json.loads(stamp_file.read_text()))
            continue
        print(f"[run ] {src.name} (profile={profile})", flush=True)
        t0 = time.time()
        run_notebook(src, out_dir, params)
        rec = {"notebook": src.name, "stamp": stamp, "seconds": round(time.time() - t0, 1),
               "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_text(stamp_file, json.dumps(rec, indent=1) + "\n")
        print(f"[done] {src.name} in {rec['seconds']} s", flush=True)
        summary.append(rec)
    if report:
        from sr_lib.repro.report import write_report
        path = write_report(profile, summary)
        print(f"report: {path}", flush=True)
    return summary


def add_cli(sub) -> None:
    p = sub.add_parser("run-notebooks", help="run the notebook series headless (papermill) and write the report")
    p.add_argument("--profile", default="cpu", choices=PROFILES)
    p.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 01 10")
    p.add_argument("--force", action="store_true", help="re-run notebooks that finished earlier")
    p.add_argument("--data-root", default="", help="data root (default: the resolver's choice)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=lambda a: run_series(a.profile, a.only, a.force, a.data_root, a.device) and 0)
    s = sub.add_parser("sync-notebooks", help="rewrite notebooks/*.ipynb (no outputs) from their py:percent sources")
    s.set_defaults(func=lambda a: [print(write_paired_ipynb(p)) for p in notebook_sources()] and 0)

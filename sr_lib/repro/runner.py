"""Run the numbered notebook series headless (``python -m sr_lib run-notebooks``).

The committed source of each notebook is its jupytext ``py:percent`` file
``notebooks/NN_name.py``; the paired ``.ipynb`` is committed without outputs, written
exactly as jupytext's own pairing writes it (``jupytext.toml`` holds the pairing), so
opening and saving a notebook in JupyterLab changes neither file. Notebooks run in the
order of their number, which is their dependency order (01 data/protocols → 1x IPE-LIIF →
2x CiaoSR → 3x EQSR → 90 explorer). Each executed notebook goes to
``results/<profile>/notebooks/`` as ``.ipynb`` and as self-contained ``.html``
(``sr_lib.repro.export``); a small stamp file next to it records the source hash,
parameters and wall time, so re-running the series after an interruption skips the
notebooks that already finished and continues where it stopped (training inside notebooks
is itself cached and resumable).

Progress: the run starts with a plan (each notebook's estimated time, from its last run),
then prints one line per notebook and per training run with the elapsed time and the
series' ETA; training bars reach this terminal through ``sr_lib.engine.progress``.
The run ends by writing ``results/<profile>/REPORT.md`` (and ``REPORT.html``).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from sr_lib.engine import progress
from sr_lib.errors import UserError
from sr_lib.paths import PROFILES, atomic_write_text, repo_root, results_dir

# Measured wall seconds per notebook, used for the plan when no earlier run of the profile left its
# times (stamps in results/<profile>/notebooks/, or results/<profile>/run_summary.json). cpu: the
# committed cpu run of 2026-11-22 (training included); smoke: a fresh smoke run (empty run cache) of
# 2026-12-01 on the shared 2-core machine, other jobs running (9.1 min in all).
MEASURED_SECONDS = {
    "cpu": {"00": 15, "01": 34, "02": 9, "10": 2128, "20": 2305, "30": 4293, "31": 911, "90": 785},
    "smoke": {"00": 54, "01": 29, "02": 31, "10": 70, "20": 123, "30": 91, "31": 71, "90": 75},
}


def notebook_sources(root: Path | None = None) -> list[Path]:
    """``notebooks/NN_*.py`` sorted by number."""
    nb_dir = (root or repo_root()) / "notebooks"
    return sorted(p for p in nb_dir.glob("[0-9][0-9]_*.py"))


def _cell_id(i: int, source: str) -> str:
    return f"c{i:03d}-{hashlib.sha1(source.encode()).hexdigest()[:8]}"


def to_notebook(src: Path):
    """The jupytext source as an ``nbformat`` notebook (with the python3 kernelspec)."""
    import jupytext
    nb = jupytext.read(src)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb.metadata.get("jupytext", {}).pop("notebook_metadata_filter", None)
    for i, cell in enumerate(nb.cells):     # stable ids: re-syncing an unchanged notebook changes nothing
        cell["id"] = _cell_id(i, cell.source)
    return nb


def write_paired_ipynb(src: Path) -> Path:
    """Write ``src``'s paired ``.ipynb`` (no outputs) beside it; the ``.py`` is the source of truth.

    The file is what jupytext's pairing writes for it (its metadata keeps ``formats`` and the
    header's ``notebook_metadata_filter``, drops ``text_representation``, which belongs to the
    text file), and a cell that is unchanged keeps the id it has in the existing ``.ipynb``: so
    ``jupytext --sync`` and JupyterLab's save leave both files as they are."""
    import jupytext
    import nbformat
    out = src.with_suffix(".ipynb")
    nb = jupytext.read(src)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    old = {}
    if out.is_file():
        try:
            old = {(c.cell_type, c.source): c.get("id") for c in nbformat.read(out, as_version=4).cells}
        except Exception:                         # noqa: BLE001 (an unreadable pair is rewritten)
            old = {}
    for i, cell in enumerate(nb.cells):
        cell["id"] = old.get((cell.cell_type, cell.source)) or _cell_id(i, cell.source)
    atomic_write_text(out, nbformat.writes(nb) + "\n")
    return out


def _stamp(src: Path, params: dict) -> str:
    h = hashlib.sha256(src.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def _declared_parameters(nb) -> set[str]:
    from papermill.translators import PythonTranslator
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    return {p.name for p in PythonTranslator.inspect(cell)} if cell is not None else set()


def _kernel_manager_class(socket_dir: str):
    """A kernel manager whose kernel talks over local (unix) sockets in ``socket_dir``: nothing
    listens on TCP, so ipykernel has no "running over TCP without encryption" warning to print."""
    from jupyter_client.manager import AsyncKernelManager

    class LocalKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(**kwargs)

    return LocalKernelManager


def run_notebook(src: Path, out_dir: Path, params: dict, log_output: bool = False) -> Path:
    """Execute one notebook with papermill; returns the executed copy's path. A notebook that
    declares ``interactive`` runs with ``interactive=False`` (widgets need a live kernel) unless
    ``params`` says otherwise; the executed copy is exported as HTML beside it, also when a cell
    fails (the error is in the page)."""
    import nbformat
    import papermill as pm
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = to_notebook(src)
    nb.metadata.pop("jupytext", None)           # the executed copy is not paired with anything
    params = dict(params)
    declared = _declared_parameters(nb)
    if "interactive" in declared:
        params.setdefault("interactive", False)
    if "retrain" not in declared:
        params.pop("retrain", None)             # only notebooks that train declare it
    tmp_in = out_dir / f".{src.stem}.input.ipynb"
    nbformat.write(nb, tmp_in)
    out = out_dir / f"{src.stem}.ipynb"
    try:
        with tempfile.TemporaryDirectory(prefix="sr_lib-kernel-") as sockets:
            pm.execute_notebook(str(tmp_in), str(out), parameters=params, kernel_name="python3",
                                cwd=str(src.parent), log_output=log_output, progress_bar=False,
                                kernel_manager_class=_kernel_manager_class(sockets))
    finally:
        tmp_in.unlink(missing_ok=True)
        if out.is_file():
            from sr_lib.repro.export import notebook_html
            notebook_html(out, title=f"{src.stem} (profile {params.get('profile', '?')})", figures=out_dir.parent / "figures")
    return out


# ------------------------------------------------------------------------------------------------
# plan and progress
# ------------------------------------------------------------------------------------------------

def estimates(profile: str, sources: list[Path]) -> dict[str, tuple[float | None, str]]:
    """Each notebook's expected wall seconds and where the number comes from: its last stamp,
    else the profile's ``run_summary.json``, else ``MEASURED_SECONDS``, else unknown."""
    res = results_dir(profile)
    summary = {}
    try:
        summary = {r["notebook"]: r.get("seconds") for r in json.loads((res / "run_summary.json").read_text())}
    except (OSError, ValueError, TypeError, KeyError):
        pass
    out = {}
    for src in sources:
        stamp = res / "notebooks" / f"{src.stem}.done.json"
        try:
            out[src.name] = (float(json.loads(stamp.read_text())["seconds"]), "last run")
            continue
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if summary.get(src.name) is not None:
            out[src.name] = (float(summary[src.name]), "last run (run_summary.json)")
        elif src.name[:2] in MEASURED_SECONDS.get(profile, {}):
            out[src.name] = (float(MEASURED_SECONDS[profile][src.name[:2]]), "measured table")
        else:
            out[src.name] = (None, "no earlier run")
    return out


class _Clock:
    """Elapsed time and ETA of the series: the estimates of the notebooks still to run, the
    running one counted as its estimate minus what it has used (never below zero)."""

    def __init__(self, plan: dict[str, float | None]):
        self.plan, self.t0 = dict(plan), time.time()
        self.current, self.current_t0 = None, None

    def start(self, name):
        self.current, self.current_t0 = name, time.time()

    def finish(self, name):
        self.plan[name] = 0.0
        self.current = None

    def elapsed(self) -> float:
        return time.time() - self.t0

    def notebook_elapsed(self) -> float:
        return time.time() - self.current_t0 if self.current_t0 else 0.0

    def eta(self) -> float | None:
        left = 0.0
        for name, est in self.plan.items():
            if est is None:
                return None
            left += max(est - self.notebook_elapsed(), 0.0) if name == self.current else est
        return left

    def overdue(self) -> bool:
        """Whether the running notebook has used more than its estimate (the ETA is then a lower bound)."""
        est = self.plan.get(self.current)
        return self.current is not None and est is not None and self.notebook_elapsed() > est

    def line(self) -> str:
        eta = progress.hms(self.eta())
        if self.overdue():
            eta = f"≥ {eta} (the running notebook is past its {progress.human(self.plan[self.current])} estimate)"
        return f"elapsed {progress.hms(self.elapsed())} · ETA {eta}"


def _print_plan(profile, sources, todo, est) -> None:
    total = [est[s.name][0] for s in sources if s.name in todo]
    known = None if any(t is None for t in total) else sum(total)
    print(f"plan: profile {profile}, {len(todo)} of {len(sources)} notebooks to run, estimated "
          f"{progress.human(known)} (each notebook's last run; cached training makes a re-run faster)", flush=True)
    width = max(len(s.name) for s in sources)
    for s in sources:
        seconds, where = est[s.name]
        what = f"{'~' + progress.human(seconds):>12}  ({where})" if s.name in todo else "skip: finished earlier"
        print(f"  {s.name:<{width}}  {what}", flush=True)


def run_series(profile: str = "cpu", only: list[str] | None = None, force: bool = False,
               data_root: str = "", device: str = "auto", report: bool = True,
               retrain: bool = False) -> list[dict]:
    """Run every notebook (or those whose name starts with one of ``only``) in order. ``retrain``: the
    table notebooks train every run from scratch instead of loading the shipped cpu weights."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    _check_inputs(data_root, device, profile)   # before any notebook starts (one line, not 48 of papermill)
    prefixes = None if only is None else [str(o).strip() for o in ([only] if isinstance(only, str) else only)]
    if prefixes is not None and not (prefixes and all(prefixes)):
        raise ValueError("--only needs notebook name prefixes, e.g. --only 00 10 (leave it out to run them all)")
    sources = [s for s in notebook_sources() if prefixes is None or any(s.name.startswith(o) for o in prefixes)]
    if not sources:
        have = ", ".join(s.stem for s in notebook_sources())
        raise ValueError(f"no notebooks match --only {' '.join(prefixes)} (no name starts with it); notebooks: {have}"
                         if have else f"no notebooks (NN_*.py) in {repo_root() / 'notebooks'}")
    out_dir = results_dir(profile) / "notebooks"
    params = {"profile": profile, "data_root": data_root, "device": device, **({"retrain": True} if retrain else {})}
    summary = []
    stamps = {s.name: _stamp(s, params) for s in sources}

    def finished(src):
        stamp_file = out_dir / f"{src.stem}.done.json"
        try:
            return not force and json.loads(stamp_file.read_text()).get("stamp") == stamps[src.name]
        except (OSError, ValueError):
            return False

    todo = [s.name for s in sources if not finished(s)]
    est = estimates(profile, sources)
    _print_plan(profile, sources, todo, est)
    clock = _Clock({name: est[name][0] for name in todo})
    for k, src in enumerate(sources, 1):
        tag = f"[{k}/{len(sources)}]"
        stamp_file = out_dir / f"{src.stem}.done.json"
        if src.name not in todo:
            print(f"{tag} [skip] {src.name}: finished earlier with the same source and parameters", flush=True)
            summary.append(json.loads(stamp_file.read_text()))
            continue
        seconds = est[src.name][0]
        clock.start(src.name)
        print(f"{tag} [run ] {src.name} (profile={profile}, est. {progress.human(seconds)}) · {clock.line()}",
              flush=True)
        t0 = time.time()
        try:
            _run_with_progress(src, out_dir, params, clock)
        except Exception as e:
            if type(e).__name__ != "PapermillExecutionError":
                raise
            raise UserError(f"notebook {src.name} failed in cell {getattr(e, 'exec_count', '?')}: "
                            f"{getattr(e, 'ename', 'error')}: {str(getattr(e, 'evalue', '')).strip()[:300]} "
                            f"(the executed copy, with the traceback: {out_dir / src.stem}.html)") from None
        rec = {"notebook": src.name, "stamp": stamps[src.name], "seconds": round(time.time() - t0, 1),
               "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_text(stamp_file, json.dumps(rec, indent=1) + "\n")
        clock.finish(src.name)
        print(f"{tag} [done] {src.name} in {progress.hms(rec['seconds'])} · {clock.line()}", flush=True)
        summary.append(rec)
    if report:
        from sr_lib.repro.report import write_report
        path = write_report(profile, summary, ran=todo)
        print(f"report: {path}", flush=True)
    return summary


def _check_inputs(data_root, device, profile: str) -> None:
    """The series' data root and device, checked before anything runs. Above ``smoke`` the bundled
    stand-in images are refused: the shipped weights were trained on the real training sets (a run's
    key holds its data), so every run would be trained again, for hours, on 9 small photographs."""
    from sr_lib.data.resolver import resolve_data_root
    from sr_lib.engine.device import get_device
    try:
        root = resolve_data_root(data_root or None, warn=False)
    except OSError as e:
        raise UserError(str(e)) from None
    if root.bundled and profile != "smoke":
        raise UserError(f"profile {profile} needs the benchmark and training images, and none were found "
                        "(SR_DATA unset, data/ empty): set SR_DATA, or fill data/ with "
                        "'python -m sr_lib data download NAME', or run --profile smoke on the bundled images")
    get_device(device)


def _run_with_progress(src: Path, out_dir: Path, params: dict, clock: _Clock) -> None:
    """``run_notebook`` with the kernel's progress log followed to this terminal (stderr)."""
    fd, log = tempfile.mkstemp(prefix=f"sr_lib-{src.stem}-", suffix=".progress")
    os.close(fd)

    def on_event(message: str) -> str:
        return f"      {message} · notebook {progress.hms(clock.notebook_elapsed())} · {clock.line()}"

    def on_quiet() -> str:
        return f"      … {src.name} still running · notebook {progress.hms(clock.notebook_elapsed())} · {clock.line()}"

    previous = os.environ.get(progress.ENV)
    os.environ[progress.ENV] = log
    try:
        with progress.Follower(log, on_event, out=sys.stderr, on_quiet=on_quiet):
            run_notebook(src, out_dir, params)
    finally:
        if previous is None:
            os.environ.pop(progress.ENV, None)
        else:
            os.environ[progress.ENV] = previous
        Path(log).unlink(missing_ok=True)


def add_cli(sub) -> None:
    p = sub.add_parser("run-notebooks", help="run the notebook series headless (papermill) and write the report")
    p.add_argument("--profile", default="cpu", choices=PROFILES)
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="notebook name prefixes, e.g. 01 10")
    p.add_argument("--force", action="store_true", help="re-run notebooks that finished earlier")
    p.add_argument("--data-root", default="", help="data root (default: the resolver's choice)")
    p.add_argument("--device", default="auto")
    p.add_argument("--retrain", action="store_true",
                   help="train every run from scratch instead of loading the shipped cpu weights")
    p.set_defaults(func=lambda a: run_series(a.profile, a.only, a.force, a.data_root, a.device,
                                             retrain=a.retrain) and 0)
    s = sub.add_parser("sync-notebooks", help="rewrite notebooks/*.ipynb (no outputs) from their py:percent sources")
    s.set_defaults(func=lambda a: [print(write_paired_ipynb(p)) for p in notebook_sources()] and 0)
    r = sub.add_parser("report", help="rebuild results/<profile>/REPORT.md and REPORT.html from the results")
    r.add_argument("--profile", default="cpu", choices=PROFILES)
    r.set_defaults(func=_report_cli)


def _report_cli(args) -> int:
    from sr_lib.repro.report import write_report
    print(write_report(args.profile, None, ran="all"))
    return 0

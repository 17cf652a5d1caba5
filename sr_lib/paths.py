"""Where things live: results, figures, run caches. One place, overridable by env.

- ``SR_RESULTS``: root of results (default ``<repo>/results``); tables and figures of a
  profile go to ``<root>/<profile>/`` and ``<root>/<profile>/figures/``.
- ``SR_RUNS``: root of training-run caches and other per-machine caches (default
  ``$XDG_CACHE_HOME/sr_lib/runs``, i.e. ``~/.cache/sr_lib/runs``): outside the checkout, so a
  long ``cpu`` run interrupted in one checkout resumes from a fresh clone on the same machine.
- ``SR_MEMORY_BUDGET``: bytes (``"8G"``, ``"inf"``) that inference may plan to use (default 3 GB;
  ``sr_lib.engine.memory`` plans under it, ``sr_lib.data.io`` derives its image pixel limit from it).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

PROFILES = ("smoke", "cpu", "paper")


def repo_root() -> Path:
    """The checkout holding this package (falls back to the working directory for installed copies)."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


DEFAULT_BUDGET = 3 * 1024 ** 3          # bytes


def parse_budget(value) -> float:
    """Bytes from a number or a string like ``"3G"``, ``"512M"``, ``"inf"``."""
    if isinstance(value, (int, float)):
        b = float(value)
    else:
        text = str(value).strip().upper().rstrip("B")
        mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(text[-1:], 1)
        try:
            b = float(text[:-1] if mult > 1 else text) * mult
        except ValueError:
            raise ValueError(f"memory budget must be bytes or like '3G', got {value!r}") from None
    if not b > 0:
        raise ValueError(f"memory budget must be positive, got {value!r}")
    return b


def default_budget() -> float:
    env = os.environ.get("SR_MEMORY_BUDGET")
    return parse_budget(env) if env else float(DEFAULT_BUDGET)


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile


def results_root(profile: str) -> Path:
    """``results/<profile>`` (or ``$SR_RESULTS/<profile>``), not created."""
    return Path(os.environ.get("SR_RESULTS") or repo_root() / "results") / _check_profile(profile)


def results_dir(profile: str) -> Path:
    """``results_root(profile)``, created if missing (for writers)."""
    p = results_root(profile)
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


def check_writable_folder(folder, what: str = "output folder", probe_bytes: int = 1 << 16) -> Path:
    """Fail early, before any work, if files cannot be written under ``folder`` (which need not
    exist yet): its nearest existing ancestor must be a folder in which a file of ``probe_bytes``
    can be written and synced (a read-only, full or over-quota disk fails here, not after the
    work). Raises ``OSError`` subclasses with a one-line message; creates nothing that stays."""
    import tempfile
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{what} is not a folder: {folder}")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{what} {folder} is under {parent}, which is not a folder")
    try:
        with tempfile.TemporaryFile(dir=parent) as f:
            f.write(b"\0" * probe_bytes)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise PermissionError(f"{what} not writable: {parent} ({e.strerror or e})") from None
    return folder


def check_target_file(path, what: str = "file") -> Path:
    """``path`` as the target of an atomic write (temporary file + ``os.replace``), checked before
    anything is written: it must not be a folder, nor exist as anything but a regular file (a
    device such as ``/dev/null``, a FIFO or a socket would be *replaced* by the file), nor lie under
    a path component that is a file. One-line ``OSError`` / ``ValueError`` naming it otherwise."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise ValueError(f"cannot write {what} {str(path)!r}: the path needs a file name")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {what} {path}: it is a folder")
    if path.exists() and not path.is_file():
        raise ValueError(f"cannot write {what} {path}: it exists and is not a regular file (a device or FIFO?)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot write {what} {path}: {parent} is not a folder")
    return path


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file + rename: never a half-written file
    (``check_target_file`` first)."""
    path = check_target_file(path)
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


@contextmanager
def file_lock(path):
    """An exclusive ``flock`` on ``path`` (created if absent) while the block runs: one
    read-modify-write of a shared file (``runs.csv``, a notebook's raw CSV) at a time across processes."""
    import fcntl
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


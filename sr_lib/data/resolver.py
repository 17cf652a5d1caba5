"""Where the images come from: one resolver for every notebook, test and command.

Order (first hit wins):
1. an explicit ``data_root`` argument (CLI ``--data-root``, notebook parameter);
2. the environment variable ``SR_DATA``;
3. ``<repo>/data`` when it holds anything besides its README;
4. the images bundled with scikit-image — a **stand-in** so every notebook still runs on a
   bare machine. The returned ``DataRoot.bundled`` is True and a warning says so; numbers
   computed on it are not comparable with any paper table.

An explicit root (1 or 2) that is missing, not a folder or unreadable is an error, never a
silent fallback: the user asked for that data.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from sr_lib.paths import repo_root

BUNDLED_NOTE = ("no data root found (no --data-root, SR_DATA unset, <repo>/data empty): using "
                "images bundled with scikit-image as a stand-in; numbers are NOT comparable "
                "with the paper tables")


@dataclass(frozen=True)
class DataRoot:
    """A resolved data location. ``path`` is None when ``bundled`` (scikit-image images)."""

    path: Path | None
    bundled: bool
    source: str              # "argument" | "SR_DATA" | "repo" | "bundled"

    def __str__(self) -> str:
        return "scikit-image bundled images" if self.bundled else str(self.path)


def _checked(path, source: str) -> DataRoot:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"data root ({source}) does not exist: {p}")
    if not p.is_dir():
        raise NotADirectoryError(f"data root ({source}) is not a folder: {p}")
    if not os.access(p, os.R_OK | os.X_OK):
        raise PermissionError(f"data root ({source}) is not readable: {p}")
    try:
        next(iter(p.iterdir()), None)
    except OSError as e:
        raise PermissionError(f"data root ({source}) cannot be listed: {p} ({e})") from None
    return DataRoot(p.resolve(), False, source)


def _has_content(p: Path) -> bool:
    return p.is_dir() and any(c.name not in ("README.md", ".gitkeep") for c in p.iterdir())


def resolve_data_root(explicit=None, warn: bool = True) -> DataRoot:
    """Resolve the data root (order in the module doc). ``explicit`` '' or None = not given."""
    if explicit not in (None, ""):
        return _checked(explicit, "argument")
    env = os.environ.get("SR_DATA")
    if env:
        return _checked(env, "SR_DATA")
    repo_data = repo_root() / "data"
    if _has_content(repo_data):
        return _checked(repo_data, "repo")
    if warn:
        warnings.warn(BUNDLED_NOTE, stacklevel=2)
    return DataRoot(None, True, "bundled")


__all__ = ["DataRoot", "resolve_data_root", "BUNDLED_NOTE"]

"""Figures. Every function returns a ``matplotlib.figure.Figure`` built without pyplot (so
nothing pops up and headless runs stay clean); ``save_figure`` writes one as PNG atomically."""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure


def save_figure(fig: Figure, path, dpi: int = 120) -> Path:
    """Save ``fig`` as PNG atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        fig.savefig(tmp, format="png", dpi=dpi)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path

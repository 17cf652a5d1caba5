"""The one place where the compute device is chosen."""
from __future__ import annotations

import os

import torch


def get_device(preference: str | None = None) -> torch.device:
    """``preference`` 'auto' (default, or env ``SR_DEVICE``): CUDA when present, else CPU.

    'cpu', 'cuda', 'cuda:1' are honoured; asking for CUDA without it is an error.
    """
    pref = (preference or os.environ.get("SR_DEVICE") or "auto").lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(pref)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {preference!r} requested but CUDA is not available")
    return dev

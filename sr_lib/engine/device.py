"""The one place where the compute device is chosen."""
from __future__ import annotations

import os

import torch


def get_device(preference: str | None = None) -> torch.device:
    """``preference`` 'auto' (default, or env ``SR_DEVICE``): CUDA when present, else CPU.

    'cpu', 'cuda', 'cuda:1' (and 'mps' where present) are honoured; anything else, or a device this
    machine does not have, is a one-line ``ValueError``.
    """
    if preference is not None and not isinstance(preference, (str, torch.device)):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {preference!r}")
    raw = preference if preference else os.environ.get("SR_DEVICE") or "auto"
    pref = str(raw).strip().lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(pref)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"unknown device {raw!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {raw!r} requested but CUDA is not available on this machine "
                             "(use --device cpu or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {raw!r} requested but this machine has {torch.cuda.device_count()} "
                             "CUDA device(s)")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ValueError(f"device {raw!r} requested but MPS is not available on this machine")
    elif dev.type != "cpu":
        raise ValueError(f"device {raw!r} is not supported: use auto, cpu, cuda or cuda:N")
    elif dev.index not in (None, 0):
        raise ValueError(f"device {raw!r}: there is one CPU device, use cpu")
    return dev

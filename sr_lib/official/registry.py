"""The table of official adapters and what every adapter shares.

An adapter (``liif.py``, ``ciaosr.py``, ``eqsr.py`` beside this module) registers, under the keys of
official configs, a builder ``build(config) -> model`` (our model, with the official state_dict keys)
and ``forward(model, ref, case, variant='') -> Tensor`` (the official calling convention on a
reference case)::

    @official("liif", "metasr", forward=liif_family_forward)
    def liif_family_from_config(config): ...

``sr_lib.official.refvec`` imports the adapters and looks them up here.
"""
from __future__ import annotations

from typing import Callable

import torch

from sr_lib.geometry import scale_hw

_OFFICIAL: dict[str, tuple[Callable, Callable]] = {}


def official(*keys: str, forward: Callable):
    """Decorator: register ``build(config) -> model`` with ``forward(model, ref, case, variant='')``
    under one or more official config keys (``official_key``)."""
    def deco(build: Callable) -> Callable:
        for key in keys:
            if key in _OFFICIAL:
                raise KeyError(f"official key {key!r} registered twice")
            _OFFICIAL[key] = (build, forward)
        return build
    return deco


def official_key(config: dict) -> str:
    """'liif' / 'metasr' / 'lte' (liif-style yaml), or the class name of an mmedit /
    basicsr ``type`` ('LocalImplicitSREDSR', 'LocalImplicitSRSWINIR', 'EQSR')."""
    if "name" in config:
        return config["name"]
    if "type" in config:
        return config["type"].split(".")[-1]
    raise ValueError(f"unrecognised official config: keys {sorted(config)}")


def adapter(config: dict) -> tuple[Callable, Callable]:
    """``(from_official_config, official_forward)`` registered for an official ``config``."""
    key = official_key(config)
    if key not in _OFFICIAL:
        raise KeyError(f"no sr_lib model for official config {key!r}; known: {sorted(_OFFICIAL)}")
    return _OFFICIAL[key]


def scale_hw_from_cell(cell: torch.Tensor, lr_hw) -> tuple[float, float]:
    """Per-axis scale ``(s_y, s_x) = (H/h, W/w)`` with ``(H, W) = 2/cell`` of the first query, for an
    official ``cell [B,Q,2]`` (flat layout) or ``[B,2,H,W]`` (grid layout) on an ``lr_hw = (h, w)`` input."""
    first = cell[0, 0] if cell.dim() == 3 else cell[0, :, 0, 0]       # [2] (cell_y, cell_x)
    cy, cx = (float(v) for v in first)
    return scale_hw(lr_hw, (2.0 / cy, 2.0 / cx))


__all__ = ["official", "official_key", "adapter", "scale_hw_from_cell"]

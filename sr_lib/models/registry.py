"""One registry for the whole zoo: backbones and methods.

    sr_lib.make("ipe-liif", backbone="rdn")      # a method on a backbone
    sr_lib.make_backbone("edsr-baseline", n_resblocks=4)

A builder is a function registered under a name. It receives keyword options
and returns an ``nn.Module``. ``make`` records the call as ``model.spec =
{"name": ..., "args": {...}}`` so a checkpoint carries what is needed to
rebuild the model without any config file (LIIF's "self-describing
checkpoint").
"""
from __future__ import annotations

import copy
from typing import Callable

import torch.nn as nn

_METHODS: dict[str, Callable[..., nn.Module]] = {}
_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def _register(table: dict, kind: str, name: str):
    def deco(fn):
        if name in table:
            raise KeyError(f"{kind} {name!r} is registered twice")
        table[name] = fn
        return fn
    return deco


def register(name: str):
    """Decorator: register a method builder ``fn(backbone=..., **options) -> nn.Module``."""
    return _register(_METHODS, "method", name)


def register_backbone(name: str):
    """Decorator: register a backbone builder ``fn(**options) -> nn.Module`` (features out, no upsampling)."""
    return _register(_BACKBONES, "backbone", name)


def _lookup(table: dict, kind: str, name: str):
    _ensure_loaded()
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}") from None


def make(name: str, **options) -> nn.Module:
    """Build the method ``name`` (e.g. ``make("liif", backbone="rdn")``)."""
    model = _lookup(_METHODS, "method", name)(**copy.deepcopy(options))
    model.spec = {"name": name, "args": copy.deepcopy(options)}
    return model


def make_backbone(name: str, **options) -> nn.Module:
    """Build the backbone ``name``: an LR image in, a feature map at LR resolution out."""
    return _lookup(_BACKBONES, "backbone", name)(**copy.deepcopy(options))


def list_models() -> list[str]:
    """Names of all registered methods."""
    _ensure_loaded()
    return sorted(_METHODS)


def list_backbones() -> list[str]:
    _ensure_loaded()
    return sorted(_BACKBONES)


def _ensure_loaded():
    # Importing the package runs every model module's @register decorators.
    import sr_lib.models  # noqa: F401

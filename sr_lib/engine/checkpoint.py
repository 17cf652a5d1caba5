"""Model checkpoints: one save, one load, for our own files and the official LIIF / MetaSR / LTE ``.pth``.

    save_checkpoint(path, model, epoch=7)      # the one writer (atomic)
    model = load_checkpoint(path)              # the one loader → model, weights loaded, eval mode
    ckpt = read_checkpoint(path)               # the raw dict (training resume: optimizer, step, ...)

Both kinds use LIIF's self-describing layout (``style-anchors.md`` §1.A)::

    {'model': {'name': ..., 'args': ..., 'sd': state_dict}, ...extra}

- ours: top-level ``'format': 'sr_lib/1'``, ``name`` an ``sr_lib.make`` method and ``args`` its
  options (``model.spec``);
- official (liif / lte repos): no ``format``, ``name`` ∈ {'liif', 'metasr', 'lte'} and ``args``
  holding ``encoder_spec`` / ``imnet_spec``; recognised and built by ``sr_lib.official.checkpoint``
  (our state_dict keys are the official ones, so loading is strict).

The dict is built in one place (:func:`checkpoint_dict`, which hands official models to
``sr_lib.official.checkpoint.official_checkpoint_dict``). Extras hold only primitives and tensors,
so files are read with ``torch.load(weights_only=True)``. Every file is written atomically
(temporary file, fsync, ``os.replace``): a kill at any moment leaves the previous file intact.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.models.registry import list_models, make
from sr_lib.official.checkpoint import (OFFICIAL_CHECKPOINT_NAMES, is_official_checkpoint, official_checkpoint_dict,
                                        official_checkpoint_model)

FORMAT = "sr_lib/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model it describes (one-line message)."""


# ----------------------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------------------

def checkpoint_dict(model: nn.Module, **extra) -> dict:
    """The self-describing dict of ``model``: ours (``model.spec`` from ``sr_lib.make``) or, for a
    model loaded from an official file, the official layout again. ``extra`` goes at the top level."""
    if getattr(model, "spec", None) is not None:
        return {"format": FORMAT, "model": {**model.spec, "sd": model.state_dict()}, **extra}
    if getattr(model, "official_config", None) is not None:
        return official_checkpoint_dict(model, **extra)
    raise ValueError("model has no spec: build it with sr_lib.make(...) or load it with load_checkpoint")


def _atomic_save(obj: dict, path: Path) -> None:
    """``torch.save`` to ``path`` via a temporary file + fsync + ``os.replace`` (+ fsync of the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(path, model: nn.Module, **extra) -> None:
    """Write ``model`` (spec + weights) and ``extra`` (primitives / tensors: optimizer state, step,
    RNG states, ...) to ``path`` atomically; :func:`read_checkpoint` gives them back."""
    _atomic_save(checkpoint_dict(model, **extra), Path(path))


# ----------------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------------

def read_checkpoint(path, map_location="cpu") -> dict:
    """The checkpoint dict at ``path``, checked to hold ``{'model': {'name', 'args', 'sd'}}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # truncated zip, not a torch file, disallowed pickle content, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): "
                              f"{first[:200]}") from None
    spec = ckpt.get("model") if isinstance(ckpt, dict) else None
    if not (isinstance(spec, dict) and {"name", "sd"} <= set(spec)):
        raise CheckpointError(f"{path}: not an sr_lib or LIIF/MetaSR/LTE checkpoint "
                              "(expected {'model': {'name', 'args', 'sd'}})")
    return ckpt


def load_strict(model: nn.Module, sd: dict, source: str = "checkpoint") -> None:
    """``load_state_dict(strict=True)`` with a one-line message naming what does not fit."""
    ours = model.state_dict()
    missing = [k for k in ours if k not in sd]
    unexpected = [k for k in sd if k not in ours]
    shape = [f"{k} {tuple(sd[k].shape)}≠{tuple(v.shape)}" for k, v in ours.items()
             if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or shape:
        parts = [f"{label} ({len(keys)}): {', '.join(keys[:6])}{', ...' if len(keys) > 6 else ''}"
                 for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                     ("shape mismatch", shape)) if keys]
        raise CheckpointError(f"{source} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(sd, strict=True)


def model_from_checkpoint(ckpt: dict, source: str = "checkpoint") -> nn.Module:
    """Build the model a checkpoint dict describes and load its weights strictly (eval mode)."""
    spec = ckpt["model"]
    name, args = spec["name"], dict(spec.get("args") or {})
    if ckpt.get("format") == FORMAT:
        if name not in list_models():
            raise CheckpointError(f"{source}: sr_lib model {name!r} is not registered; known: "
                                  f"{', '.join(list_models())}")
        model = make(name, **args)
    elif is_official_checkpoint(ckpt):
        model = official_checkpoint_model(ckpt)      # carries official_config: checkpoint_dict writes it back
    else:
        raise CheckpointError(f"{source}: a checkpoint of model {name!r}, which sr_lib cannot build "
                              f"(official ones: {', '.join(OFFICIAL_CHECKPOINT_NAMES)}; or an {FORMAT} checkpoint)")
    load_strict(model, spec["sd"], source)
    return model.eval()


def load_checkpoint(path, map_location="cpu") -> nn.Module:
    """An official LIIF/MetaSR/LTE ``.pth`` or an sr_lib checkpoint → the model, weights loaded, eval mode."""
    return model_from_checkpoint(read_checkpoint(path, map_location), source=str(path))


__all__ = ["FORMAT", "CheckpointError", "checkpoint_dict", "save_checkpoint", "read_checkpoint", "load_strict",
           "model_from_checkpoint", "load_checkpoint"]

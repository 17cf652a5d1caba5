"""Model checkpoints: official LIIF / MetaSR / LTE ``.pth`` files and our own.

Both use LIIF's self-describing layout (``style-anchors.md`` §1.A)::

    {'model': {'name': ..., 'args': ..., 'sd': state_dict}, ...}

- official (liif / lte repos): ``name`` ∈ {'liif', 'metasr', 'lte'} and ``args`` holds
  ``encoder_spec`` / ``imnet_spec``; built through ``sr_lib.official.refvec``'s official-config path
  (our state_dict keys are the official ones, so loading is strict);
- ours: top-level ``'format': 'sr_lib/1'``, ``name`` an ``sr_lib.make`` method and
  ``args`` its options.

Files are read with ``torch.load(weights_only=True)`` (tensors and primitives only).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.official.refvec import build_official
from sr_lib.engine.runs import FORMAT, save_checkpoint
from sr_lib.models.registry import list_models, make


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model it describes (one-line message)."""


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


def model_from_checkpoint(ckpt: dict, source: str = "checkpoint") -> nn.Module:
    """Build the model a checkpoint dict describes and load its weights strictly (float32, eval mode)."""
    spec = ckpt["model"]
    name, args = spec["name"], dict(spec.get("args") or {})
    if ckpt.get("format") == FORMAT:
        if name not in list_models():
            raise CheckpointError(f"{source}: sr_lib model {name!r} is not registered; known: "
                                  f"{', '.join(list_models())}")
        model = make(name, **args)
    elif name in ("liif", "metasr", "lte"):
        model = build_official({"name": name, "args": args})
        model.official_config = {"name": name, "args": args}
    else:
        raise CheckpointError(f"{source}: a checkpoint of model {name!r}, which sr_lib cannot build "
                              "(official ones: liif, metasr, lte; or an sr_lib/1 checkpoint)")
    load_strict(model, spec["sd"], source)
    return model.eval()


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


def load_checkpoint(path, map_location="cpu") -> nn.Module:
    """An official LIIF/MetaSR/LTE ``.pth`` or an sr_lib checkpoint → the model, weights loaded, eval mode."""
    return model_from_checkpoint(read_checkpoint(path, map_location), source=str(path))


def checkpoint_dict(model: nn.Module, **extra) -> dict:
    """The self-describing dict of ``model``: ours (``model.spec`` from ``sr_lib.make``) or, for a
    model loaded from an official file, the official layout again."""
    sd = model.state_dict()
    if getattr(model, "spec", None) is not None:
        return {"format": FORMAT, "model": {**model.spec, "sd": sd}, **extra}
    if getattr(model, "official_config", None) is not None:
        return {"model": {**model.official_config, "sd": sd}, **extra}
    raise ValueError("model has no spec: build it with sr_lib.make(...) or load it with load_checkpoint")


def save_model(model: nn.Module, path, **extra) -> None:
    """Write ``model`` (spec + weights + ``extra`` primitives) to ``path`` atomically."""
    save_checkpoint(checkpoint_dict(model, **extra), path)


__all__ = ["CheckpointError", "read_checkpoint", "model_from_checkpoint", "load_strict", "load_checkpoint",
           "checkpoint_dict", "save_model"]

"""Official checkpoint files: the ``.pth`` files released by the liif and lte repositories.

They use LIIF's self-describing layout (``style-anchors.md`` §1.A)::

    {'model': {'name': 'liif' | 'metasr' | 'lte', 'args': {'encoder_spec', 'imnet_spec', ...},
               'sd': state_dict}, ...}

and carry no ``'format'`` entry (sr_lib's own checkpoints say ``'format': 'sr_lib/1'``). The model
is built through the official-config adapters (``sr_lib.official.liif``); its state_dict keys are
the official ones, so the weights load strictly. Files are read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.official.refvec import build_official

# ``model.name`` of the official files we can build
OFFICIAL_CHECKPOINT_NAMES = ("liif", "metasr", "lte")


def is_official_checkpoint(ckpt) -> bool:
    """True for a checkpoint dict in the official liif/lte layout (no ``'format'``, a known ``name``)."""
    spec = ckpt.get("model") if isinstance(ckpt, dict) else None
    return (isinstance(spec, dict) and "format" not in ckpt
            and spec.get("name") in OFFICIAL_CHECKPOINT_NAMES and "sd" in spec)


def official_checkpoint_model(ckpt: dict) -> nn.Module:
    """The model an official checkpoint dict describes, freshly initialised (no weights loaded),
    with ``model.official_config = {'name', 'args'}`` so that it can be saved in the same layout."""
    spec = ckpt["model"]
    config = {"name": spec["name"], "args": dict(spec.get("args") or {})}
    model = build_official(config)
    model.official_config = config
    return model


def official_checkpoint_dict(model: nn.Module, **extra) -> dict:
    """The official layout again for a model built by ``official_checkpoint_model`` / ``load_official``."""
    config = getattr(model, "official_config", None)
    if config is None:
        raise ValueError("model was not built from an official checkpoint (no official_config)")
    return {"model": {**config, "sd": model.state_dict()}, **extra}


def load_official(path_or_dict, map_location="cpu") -> nn.Module:
    """An official LIIF / MetaSR / LTE ``.pth`` (path, or the dict ``torch.load`` gave) → the model with
    its weights loaded strictly, float32, eval mode."""
    ckpt = path_or_dict
    if not isinstance(ckpt, dict):
        path = Path(path_or_dict)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not is_official_checkpoint(ckpt):
        raise ValueError("not an official LIIF/MetaSR/LTE checkpoint "
                         f"(expected {{'model': {{'name' in {OFFICIAL_CHECKPOINT_NAMES}, 'args', 'sd'}}}})")
    model = official_checkpoint_model(ckpt)
    model.load_state_dict(ckpt["model"]["sd"], strict=True)
    return model.eval()


__all__ = ["OFFICIAL_CHECKPOINT_NAMES", "is_official_checkpoint", "official_checkpoint_model",
           "official_checkpoint_dict", "load_official"]

"""Official checkpoint files: the ``.pth`` files released by the liif and lte repositories.

They use LIIF's self-describing layout (``style-anchors.md`` §1.A)::

    {'model': {'name': 'liif' | 'metasr' | 'lte', 'args': {'encoder_spec', 'imnet_spec', ...},
               'sd': state_dict}, ...}

and carry no ``'format'`` entry (sr_lib's own checkpoints say ``'format': 'sr_lib/1'``). The model
is built through the official-config adapters (``sr_lib.official.liif``); its state_dict keys are
the official ones, so the weights load strictly. Files are read with ``torch.load(weights_only=True)``.

An official file is untrusted input like any other: its ``args`` are checked (structure, option
values, then the model's size counted on the ``meta`` device, ``sr_lib.models.registry``) before
anything is built, and the file's sha256 is looked up in ``PINNED_SHA256``. No official page
publishes checksums and none of the released files has been confirmed here, so the table is empty
and every official file loads with a warning that names it and prints its sha256, for the user to
pin once they trust the file.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.models.registry import ModelArgsError, check_option_values, count_elements
from sr_lib.official.refvec import build_official

# ``model.name`` of the official files we can build
OFFICIAL_CHECKPOINT_NAMES = ("liif", "metasr", "lte")

# sha256 of official files confirmed to be the released ones → what they are (none confirmed yet)
PINNED_SHA256: dict[str, str] = {}


def file_sha256(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def verify_official_file(path) -> str:
    """The sha256 of an official checkpoint file; a warning naming the file when it is not pinned."""
    digest = file_sha256(path)
    if digest not in PINNED_SHA256:
        warnings.warn(f"{path}: official checkpoint not verified (sha256 {digest} is not pinned in "
                      "sr_lib.official.checkpoint.PINNED_SHA256; pin it once you trust the file)", stacklevel=3)
    return digest


def _check_official_args(name: str, args, source: str) -> None:
    """The structure the liif / lte adapters read, with option values checked before any build."""
    where = f"{source}: official {name} checkpoint"
    if not isinstance(args, dict):
        raise ModelArgsError(f"{where}: model.args must be a dict, got {type(args).__name__}")
    check_option_values(args, "model.args")
    enc = args.get("encoder_spec")
    if not (isinstance(enc, dict) and isinstance(enc.get("name"), str) and isinstance(enc.get("args", {}), dict)):
        raise ModelArgsError(f"{where}: model.args.encoder_spec must be {{'name': <encoder>, 'args': {{...}}}}, "
                             f"got {enc!r}"[:300])
    if name in ("liif", "lte"):
        imnet = args.get("imnet_spec")
        inner = imnet.get("args") if isinstance(imnet, dict) else None
        if not (isinstance(inner, dict) and isinstance(inner.get("hidden_list"), (list, tuple))
                and isinstance(inner.get("out_dim"), int) and not isinstance(inner.get("out_dim"), bool)):
            raise ModelArgsError(f"{where}: model.args.imnet_spec must describe the decoder MLP as "
                                 f"{{'name': 'mlp', 'args': {{'out_dim': 3, 'hidden_list': [...]}}}}; "
                                 f"got {imnet!r}"[:300])


def is_official_checkpoint(ckpt) -> bool:
    """True for a checkpoint dict in the official liif/lte layout (no ``'format'``, a known ``name``)."""
    spec = ckpt.get("model") if isinstance(ckpt, dict) else None
    return (isinstance(spec, dict) and "format" not in ckpt
            and spec.get("name") in OFFICIAL_CHECKPOINT_NAMES and "sd" in spec)


def official_checkpoint_model(ckpt: dict, source: str = "checkpoint") -> nn.Module:
    """The model an official checkpoint dict describes, freshly initialised (no weights loaded),
    with ``model.official_config = {'name', 'args'}`` so that it can be saved in the same layout.
    The args are checked and the model's size bounded first (``ModelArgsError``, one line)."""
    spec = ckpt["model"]
    _check_official_args(spec["name"], spec.get("args") or {}, source)
    config = {"name": spec["name"], "args": dict(spec.get("args") or {})}
    count_elements(lambda: build_official(config), f"{source}: official {spec['name']} model")
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
    ckpt, source = path_or_dict, "checkpoint"
    if not isinstance(ckpt, dict):
        path = source = Path(path_or_dict)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise ValueError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): {first}") from None
    if not is_official_checkpoint(ckpt):
        raise ValueError(f"{source}: not an official LIIF/MetaSR/LTE checkpoint "
                         f"(expected {{'model': {{'name' in {OFFICIAL_CHECKPOINT_NAMES}, 'args', 'sd'}}}})")
    if isinstance(source, Path):
        verify_official_file(source)
    model = official_checkpoint_model(ckpt, source=str(source))
    sd = ckpt["model"]["sd"]
    if not (isinstance(sd, dict) and all(isinstance(v, torch.Tensor) for v in sd.values())):
        raise ValueError(f"{source}: model.sd must be a dict of tensors, got {type(sd).__name__}")
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{source}: the state_dict does not fit {type(model).__name__}: {first}") from None
    return model.eval()


__all__ = ["OFFICIAL_CHECKPOINT_NAMES", "PINNED_SHA256", "file_sha256", "verify_official_file",
           "is_official_checkpoint", "official_checkpoint_model", "official_checkpoint_dict", "load_official"]

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

Integrity and trust (a checkpoint is untrusted input):

- **content hash**: every file written here carries ``'sha256'``, the :func:`content_hash` of
  everything else in it (tensor bytes, dtypes, shapes, keys and values); :func:`read_checkpoint`
  recomputes it and refuses a file whose content changed (one flipped byte) with a one-line
  ``CheckpointError`` naming the file. A file without one (older sr_lib, or an official ``.pth``)
  loads with a warning naming it; official files are first looked up in
  ``sr_lib.official.checkpoint.PINNED_SHA256``.
- **arguments before allocation**: the model is built only after its ``name`` / ``args`` passed
  ``sr_lib.models.registry.check_model_args`` (option names and kinds against the builder's
  signature, non-negative bounded sizes, then a parameter count on the ``meta`` device, refused
  over ``MAX_ELEMENTS`` = 500 M), so a 20 KB file cannot make a 50 GB model.
- **state_dict**: a dict of names to dense, finite tensors whose shapes and dtype kinds fit the model.

``save_weights(path, model, **card)`` writes the weights alone as ``.safetensors`` (no pickle at
all) with the model spec, the card and the content hash in its metadata; ``load_checkpoint``
reads such a file through the same checks.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.models.registry import ModelArgsError, check_model_args, list_models, make, nesting_depth
from sr_lib.official.checkpoint import (OFFICIAL_CHECKPOINT_NAMES, is_official_checkpoint, official_checkpoint_dict,
                                        official_checkpoint_model, verify_official_file)

FORMAT = "sr_lib/1"
HASH_KEY = "sha256"                 # top-level entry: content_hash of everything else in the file
MAX_SAFETENSORS_HEADER = 64 << 20   # bytes of JSON header a .safetensors file may declare
MAX_NESTING = 64                    # levels of dicts / lists in a checkpoint (real ones nest < 10; 1e5 overflow the stack)


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model it describes (one-line message)."""


# ----------------------------------------------------------------------------------------------
# content hash
# ----------------------------------------------------------------------------------------------

def _feed(h, obj) -> None:
    """Canonical bytes of ``obj`` into ``h``: dicts by sorted key, lists and tuples alike (JSON
    round trips turn one into the other), tensors as dtype, shape and raw bytes."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.layout != torch.strided or t.is_meta:
            raise CheckpointError(f"cannot hash a {t.layout} / {t.device} tensor")
        t = t.cpu().contiguous()
        h.update(b"T" + str(t.dtype).encode() + repr(tuple(t.shape)).encode() + b":")
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(b"D%d:" % len(obj))
        for k in sorted(obj, key=lambda k: (type(k).__name__, str(k))):
            _feed(h, k)
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(b"L%d:" % len(obj))
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, str):
        b = obj.encode("utf-8", "surrogatepass")
        h.update(b"S%d:" % len(b) + b)
    elif obj is None or isinstance(obj, (bool, int, float)):
        h.update(b"P" + repr(obj).encode() + b";")
    else:                           # torch.dtype, torch.Size, ... (what weights_only allows)
        h.update(b"O" + type(obj).__name__.encode() + b":" + repr(obj).encode() + b";")


def content_hash(ckpt: dict) -> str:
    """sha256 of a checkpoint dict's content (tensors' bytes, shapes, dtypes, keys, values),
    without its own ``'sha256'`` entry; the same for a ``.pt`` and a ``.safetensors`` file."""
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in ckpt.items() if k != HASH_KEY})
    return h.hexdigest()


def verify_content_hash(ckpt: dict, source: str) -> bool:
    """Refuse a checkpoint whose stored hash does not match its content; ``False`` when it has none."""
    stored = ckpt.get(HASH_KEY)
    if stored is None:
        return False
    got = content_hash(ckpt)
    if not isinstance(stored, str) or stored.lower() != got:
        raise CheckpointError(f"{source}: content hash mismatch (stored sha256 {str(stored)[:16]}..., content "
                              f"{got[:16]}...): the file was modified or corrupted after it was written")
    return True


# ----------------------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------------------

def checkpoint_dict(model: nn.Module, **extra) -> dict:
    """The self-describing dict of ``model``: ours (``model.spec`` from ``sr_lib.make``) or, for a
    model loaded from an official file, the official layout again. ``extra`` goes at the top level."""
    if HASH_KEY in extra:
        raise ValueError(f"{HASH_KEY!r} is reserved for the content hash")
    if getattr(model, "spec", None) is not None:
        return {"format": FORMAT, "model": {**model.spec, "sd": model.state_dict()}, **extra}
    if getattr(model, "official_config", None) is not None:
        return official_checkpoint_dict(model, **extra)
    raise ValueError("model has no spec: build it with sr_lib.make(...) or load it with load_checkpoint")


def _atomic_save(obj, path: Path) -> None:
    """``torch.save`` (or raw ``bytes``) to ``path`` via a temporary file + fsync + ``os.replace``
    (+ fsync of the folder); a target that is a folder, a device or a FIFO is refused first."""
    from sr_lib.paths import check_target_file
    check_target_file(path, "checkpoint")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            if isinstance(obj, bytes):
                f.write(obj)
            else:
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
    RNG states, ...) to ``path`` atomically, with its content hash; :func:`read_checkpoint` gives
    them back."""
    ckpt = checkpoint_dict(model, **extra)
    ckpt[HASH_KEY] = content_hash(ckpt)
    _atomic_save(ckpt, Path(path))


def save_weights(path, model: nn.Module, dtype: torch.dtype | None = None, **card) -> Path:
    """Write ``model``'s weights as ``.safetensors`` (no pickle), atomically; the metadata holds
    ``format``, the model spec (``name``, ``args``) as JSON, ``card`` (JSON-able values: what the
    weights are, how they were trained, their scores) as JSON and the content hash. ``dtype``: store
    the floating-point tensors in it (``torch.float16`` halves a file; loading casts back to the
    model's dtype). ``load_checkpoint(path)`` rebuilds the model; ``read_checkpoint(path)['card']``
    gives the card."""
    from safetensors.torch import save as st_save
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"save_weights writes .safetensors files, got {path.name!r}")
    if getattr(model, "spec", None) is None:
        raise ValueError("model has no spec: build it with sr_lib.make(...) to save its weights")
    try:
        spec = json.loads(json.dumps({"name": model.spec["name"], "args": model.spec.get("args") or {}},
                                     allow_nan=False))
        card = json.loads(json.dumps(card, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(f"save_weights: the model spec and card must be JSON values (finite numbers): {e}") from None
    sd = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    if dtype is not None:
        sd = {k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}
        bad = [k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        if bad:
            raise ValueError(f"save_weights: {bad[0]} does not fit {dtype} (non-finite after the cast)")
    ckpt = {"format": FORMAT, "model": {**spec, "sd": sd}, "card": card}
    meta = {"format": FORMAT, "model": json.dumps(spec, sort_keys=True), "card": json.dumps(card, sort_keys=True),
            HASH_KEY: content_hash(ckpt)}
    _atomic_save(st_save(sd, metadata=meta), path)
    return path


# ----------------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------------

def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:200]


def _no_constant(name: str):
    raise ValueError(f"{name} is not a finite JSON number")


def _read_safetensors(path: Path, map_location) -> dict:
    """A ``.safetensors`` file written by :func:`save_weights` → the checkpoint dict it stands for."""
    from safetensors.torch import load_file
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        if not 2 <= n <= min(MAX_SAFETENSORS_HEADER, size - 8):
            raise CheckpointError(f"{path}: not a readable .safetensors file (truncated or corrupt header)")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise CheckpointError(f"{path}: not a readable .safetensors file (bad JSON header: {_first_line(e)})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not (isinstance(meta, dict) and meta.get("format") == FORMAT and "model" in meta):
        raise CheckpointError(f"{path}: a .safetensors file without sr_lib metadata (expected format "
                              f"{FORMAT!r}, the model spec and its hash; write it with save_weights)")
    parsed = {}
    for key, text in (("model", meta["model"]), ("card", meta.get("card") or "{}")):
        try:        # strict JSON: NaN / Infinity are no value save_weights writes
            parsed[key] = json.loads(text, parse_constant=_no_constant)
        except (TypeError, ValueError, RecursionError) as e:
            raise CheckpointError(f"{path}: unreadable metadata {key!r} in .safetensors header: {_first_line(e)}") from None
    spec, card = parsed["model"], parsed["card"]
    if not (isinstance(spec, dict) and {"name", "args"} <= set(spec)):
        raise CheckpointError(f"{path}: .safetensors metadata 'model' must hold name and args")
    if not isinstance(card, dict):
        raise CheckpointError(f"{path}: .safetensors metadata 'card' must be a JSON object, got {type(card).__name__}")
    try:
        device = str(map_location) if map_location is not None else "cpu"
        sd = load_file(str(path), device=device)
    except Exception as e:          # SafetensorError: offsets outside the file, bad dtype, ...
        raise CheckpointError(f"{path}: not a readable .safetensors file (truncated or corrupt?): "
                              f"{_first_line(e)}") from None
    ckpt = {"format": FORMAT, "model": {"name": spec["name"], "args": spec["args"], "sd": sd}, "card": card}
    if HASH_KEY in meta:
        ckpt[HASH_KEY] = meta[HASH_KEY]
    return ckpt


def _check_layout(ckpt, path) -> None:
    if nesting_depth(ckpt, MAX_NESTING) > MAX_NESTING:
        raise CheckpointError(f"{path}: the checkpoint nests dicts / lists more than {MAX_NESTING} levels deep: "
                              "not a checkpoint sr_lib or the official code writes")
    spec = ckpt.get("model") if isinstance(ckpt, dict) else None
    if not (isinstance(spec, dict) and {"name", "sd"} <= set(spec)):
        raise CheckpointError(f"{path}: not an sr_lib or LIIF/MetaSR/LTE checkpoint "
                              "(expected {'model': {'name', 'args', 'sd'}})")
    if not isinstance(spec["name"], str):
        raise CheckpointError(f"{path}: model.name must be a string, got {type(spec['name']).__name__}")
    if spec.get("args") is not None and not isinstance(spec["args"], dict):
        raise CheckpointError(f"{path}: model.args must be a dict of options, got {type(spec['args']).__name__}")
    sd = spec["sd"]
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: model.sd must be a state_dict (a dict of name -> tensor), "
                              f"got a {type(sd).__name__}")
    for k, v in sd.items():
        if not isinstance(k, str):
            raise CheckpointError(f"{path}: state_dict key {k!r} is not a string")
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict entry {k!r} is a {type(v).__name__}, not a tensor")
        if v.layout != torch.strided or v.is_meta or v.is_quantized:
            raise CheckpointError(f"{path}: state_dict entry {k!r} is not a plain dense tensor "
                                  f"({v.layout}, {v.device}, {v.dtype})")
        if (v.is_floating_point() or v.is_complex()) and not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"{path}: state_dict entry {k!r} holds NaN or inf values: "
                                  "the weights are broken (a diverged training?)")
    fmt = ckpt.get("format")
    if fmt is not None and fmt != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {fmt!r} is not {FORMAT!r} (written by another "
                              "sr_lib version?)")


def read_checkpoint(path, map_location="cpu") -> dict:
    """The checkpoint dict at ``path`` (``.pt`` / ``.pth``, or ``.safetensors`` from :func:`save_weights`),
    checked to hold ``{'model': {'name', 'args', 'sd'}}`` with a state_dict of finite tensors and,
    where the file has one, a matching content hash (module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}" + (" (a folder)" if path.is_dir() else ""))
    if isinstance(map_location, (str, torch.device)):
        from sr_lib.engine.device import get_device
        map_location = get_device(str(map_location))      # an unknown or absent device: one line, before reading
    if path.suffix == ".safetensors":
        ckpt = _read_safetensors(path, map_location)
    else:
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:  # truncated zip, not a torch file, disallowed pickle content, ...
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (truncated or corrupt?): "
                                  f"{_first_line(e)}") from None
    _check_layout(ckpt, path)
    if not verify_content_hash(ckpt, str(path)):
        if is_official_checkpoint(ckpt):
            verify_official_file(path)          # pinned sha256 of the file, or a warning naming it
        else:
            warnings.warn(f"{path}: checkpoint has no content hash (written by an older sr_lib?); "
                          "its weights cannot be verified", stacklevel=2)
    return ckpt


def load_strict(model: nn.Module, sd: dict, source: str = "checkpoint") -> None:
    """``load_state_dict(strict=True)`` with a one-line message naming what does not fit."""
    if not isinstance(sd, dict):
        raise CheckpointError(f"{source}: the state_dict is a {type(sd).__name__}, not a dict of tensors")
    ours = model.state_dict()
    missing = [k for k in ours if k not in sd]
    unexpected = [k for k in sd if k not in ours]
    shape = [f"{k} {tuple(sd[k].shape)}≠{tuple(v.shape)}" for k, v in ours.items()
             if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    kind = [f"{k} {sd[k].dtype}≠{v.dtype}" for k, v in ours.items()
            if k in sd and tuple(sd[k].shape) == tuple(v.shape) and isinstance(sd[k], torch.Tensor)
            and (sd[k].is_floating_point() != v.is_floating_point() or sd[k].is_complex() != v.is_complex())]
    if missing or unexpected or shape or kind:
        parts = [f"{label} ({len(keys)}): {', '.join(keys[:6])}{', ...' if len(keys) > 6 else ''}"
                 for label, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                     ("shape mismatch", shape), ("dtype kind mismatch", kind)) if keys]
        raise CheckpointError(f"{source} does not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(sd, strict=True)


def model_from_checkpoint(ckpt: dict, source: str = "checkpoint") -> nn.Module:
    """Build the model a checkpoint dict describes and load its weights strictly (eval mode)."""
    _check_layout(ckpt, source)
    spec = ckpt["model"]
    name, args = spec["name"], dict(spec.get("args") or {})
    if ckpt.get("format") == FORMAT:
        if name not in list_models():
            raise CheckpointError(f"{source}: sr_lib model {name!r} is not registered; known: "
                                  f"{', '.join(list_models())}")
        try:        # option names, kinds and sizes, and the parameter count, before anything is allocated
            check_model_args(name, args, what=f"{source}: model {name!r}")
        except ModelArgsError as e:
            raise CheckpointError(str(e) if str(e).startswith(source) else f"{source}: {e}") from None
        model = make(name, **args)
    elif is_official_checkpoint(ckpt):
        try:        # carries official_config: checkpoint_dict writes it back
            model = official_checkpoint_model(ckpt, source=source)
        except ModelArgsError as e:
            raise CheckpointError(str(e) if str(e).startswith(source) else f"{source}: {e}") from None
    else:
        raise CheckpointError(f"{source}: a checkpoint of model {name!r}, which sr_lib cannot build "
                              f"(official ones: {', '.join(OFFICIAL_CHECKPOINT_NAMES)}; or an {FORMAT} checkpoint)")
    load_strict(model, spec["sd"], source)
    return model.eval()


def load_checkpoint(path, map_location="cpu") -> nn.Module:
    """An official LIIF/MetaSR/LTE ``.pth`` or an sr_lib checkpoint → the model, weights loaded, eval mode."""
    return model_from_checkpoint(read_checkpoint(path, map_location), source=str(path))


__all__ = ["FORMAT", "HASH_KEY", "CheckpointError", "content_hash", "verify_content_hash", "checkpoint_dict",
           "save_checkpoint", "save_weights", "read_checkpoint", "load_strict", "model_from_checkpoint",
           "load_checkpoint"]

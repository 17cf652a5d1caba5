"""The run cache: one folder per finished or interrupted training run.

    runs/<profile>/<method>-<backbone>-s<seed>-<hash>/
        spec.json    what the hash covers (method, backbone, make-options, config, seed, data), readable
        ckpt.pt      latest resumable checkpoint (model, optimizer, scheduler, EMA, step, RNG states)
        final.pt     the finished model; its presence means "done, reuse me"

Checkpoints are self-describing (LIIF's convention, ``style-anchors.md`` §1.A):
``{'format': 'sr_lib/1', 'model': {'name', 'args', 'sd'}, ...}`` holding only primitives and
tensors, so ``torch.load(weights_only=True)`` reads them. Every file is written atomically
(temporary file, fsync, ``os.replace``): a kill at any moment leaves the previous file intact.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch

import sr_lib
from sr_lib.paths import atomic_write_text, runs_dir

FORMAT = "sr_lib/1"
# config fields that change how a run is *watched*, not what it computes: not part of the key
RUNTIME_FIELDS = ("checkpoint_every", "log_every_s", "cpu_threads", "seeds")


def key_payload(method: str, backbone, options: dict, config: dict, seed: int, data_id: str) -> dict:
    cfg = {k: v for k, v in config.items() if k not in RUNTIME_FIELDS}
    return {"method": method, "backbone": backbone, "options": options, "config": cfg,
            "seed": seed, "data": data_id}


def run_key(payload: dict) -> str:
    """``<method>-<backbone>-s<seed>-<10 hex>``: readable prefix, hash of the whole payload."""
    blob = json.dumps(payload, sort_keys=True, default=list).encode()
    digest = hashlib.sha256(blob).hexdigest()[:10]
    stem = f"{payload['method']}-{payload['backbone'] or 'none'}-s{payload['seed']}"
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", stem) + f"-{digest}"


def run_dir(profile: str, key: str, root=None) -> Path:
    base = Path(root) / profile if root else runs_dir(profile)
    return base / key


def save_checkpoint(obj: dict, path) -> None:
    """``torch.save`` to ``path`` atomically (tmp + fsync + ``os.replace``)."""
    path = Path(path)
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


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read an sr_lib checkpoint (``weights_only=True``: tensors and primitives only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} checkpoint")
    return ckpt


def model_from_checkpoint(ckpt: dict, device=None) -> torch.nn.Module:
    """Rebuild ``sr_lib.make(name, **args)`` and load the stored weights strictly."""
    spec = ckpt["model"]
    model = sr_lib.make(spec["name"], **spec["args"])
    model.load_state_dict(spec["sd"])
    return model.to(device) if device is not None else model


def write_spec(path, payload: dict) -> None:
    atomic_write_text(path, json.dumps(payload, sort_keys=True, indent=1, default=list) + "\n")


def list_runs(profile: str, root=None) -> list:
    """``spec.json`` contents of every run under ``runs/<profile>`` with ``key``, ``done`` added."""
    base = Path(root) / profile if root else runs_dir(profile)
    out = []
    for d in sorted(p for p in base.glob("*") if (p / "spec.json").is_file()):
        spec = json.loads((d / "spec.json").read_text())
        out.append({**spec, "key": d.name, "done": (d / "final.pt").is_file()})
    return out


__all__ = ["FORMAT", "key_payload", "run_key", "run_dir", "save_checkpoint", "load_checkpoint",
           "model_from_checkpoint", "write_spec", "list_runs"]

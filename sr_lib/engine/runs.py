"""The run cache: one folder per finished or interrupted training run.

    runs/<profile>/<method>-<backbone>-s<seed>-<hash>/
        spec.json    what the hash covers (method, backbone, make-options, config, seed, data), readable
        ckpt.pt      latest resumable checkpoint (model, optimizer, scheduler, EMA, step, RNG states)
        final.pt     the finished model; its presence means "done, reuse me"

The key is a hash of ``spec.json``'s payload: method, backbone, make-options, the config without
its runtime fields, seed and the training data's identity. It names no module path or class, so
moving code does not change it (``tests/engine/test_runs.py`` pins the keys of finished runs).
The checkpoints themselves are written and read by ``sr_lib.engine.checkpoint``; ``spec.json``
is written atomically (``sr_lib.paths.atomic_write_text``).
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from sr_lib.paths import atomic_write_text, runs_dir

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


__all__ = ["RUNTIME_FIELDS", "key_payload", "run_key", "run_dir", "write_spec", "list_runs"]

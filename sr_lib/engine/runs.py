"""The run cache: one folder per finished or interrupted training run.

    runs/<profile>/<method>-<backbone>-s<seed>-<hash>/
        spec.json    what the hash covers (method, backbone, make-options, config, seed, data), readable
        ckpt.pt      latest resumable checkpoint (model, optimizer, scheduler, EMA, step, RNG states)
        final.pt     the finished model; reused when it passes ``check_finished``
        train.lock   held (``fcntl.flock``) by the process training the run; holds its pid

The key is a hash of ``spec.json``'s payload: method, backbone, make-options, the config without
its runtime fields, seed and the training data's identity. It names no module path or class, so
moving code does not change it (``tests/engine/test_runs.py`` pins the keys of finished runs).
The checkpoints themselves are written and read by ``sr_lib.engine.checkpoint``; ``spec.json``
is written atomically (``sr_lib.paths.atomic_write_text``).

Guards (the cache is reused without question, so what enters it is checked):

- **one trainer per run**: ``RunLock`` takes an exclusive ``flock`` on ``train.lock`` (the pid and
  host written inside); a second process gets ``RunLockedError`` naming the holder. The lock dies
  with its process, so a ``kill -9`` leaves no stale lock (a lock file whose lock is free is reused).
- **stale temporary files** (``.ckpt.pt.tmp<pid>`` of a process killed during a write) are deleted
  by the process that holds the lock (``clean_stale_tmp``).
- **finished means complete**: ``check_finished`` accepts a ``final.pt`` only when it trained
  ≥ 1 step, exactly the configured number, with a finite loss at every step, under the run's key.
- **corrupt files** are reported in one line with the command that clears the run (``clear_command``).
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import re
import shlex
import socket
from pathlib import Path

from sr_lib.errors import UserError
from sr_lib.paths import atomic_write_text, runs_dir

# config fields that change how a run is *watched*, not what it computes: not part of the key
RUNTIME_FIELDS = ("checkpoint_every", "log_every_s", "cpu_threads", "seeds")


# fields added after runs were cached, left out of the key at their neutral value so older keys stay valid
NEUTRAL_FIELDS = {"warmup": 0, "init_encoder": ""}


def key_payload(method: str, backbone, options: dict, config: dict, seed: int, data_id: str) -> dict:
    cfg = {k: v for k, v in config.items()
           if k not in RUNTIME_FIELDS and not (k in NEUTRAL_FIELDS and v == NEUTRAL_FIELDS[k])}
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
        try:
            spec = json.loads((d / "spec.json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise RunCacheError(f"{d / 'spec.json'} is corrupt ({type(e).__name__}); clear the run with: "
                                f"{clear_command(d)}") from None
        out.append({**spec, "key": d.name, "done": (d / "final.pt").is_file()})
    return out


# ----------------------------------------------------------------------------------------------
# guards
# ----------------------------------------------------------------------------------------------

class RunCacheError(ValueError):
    """A run-cache file that cannot be used (one line, with the command that clears the run)."""


class RunLockedError(UserError):
    """Another live process is training the same run."""


def clear_command(rdir) -> str:
    """The shell command that deletes one run of the cache (it is retrained from scratch next time)."""
    return f"rm -r {shlex.quote(str(rdir))}"


def clean_stale_tmp(rdir) -> list:
    """Delete the temporary files an interrupted write left in ``rdir`` (call with the lock held)."""
    removed = []
    for p in Path(rdir).glob(".*.tmp*"):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


class RunLock:
    """``with RunLock(rdir):`` an exclusive lock on ``rdir/train.lock`` for the life of the block.

    ``fcntl.flock(LOCK_EX | LOCK_NB)``: released by the kernel when the process dies, so a killed
    trainer never blocks the next one; the pid and host in the file only name the holder.
    """

    def __init__(self, rdir):
        self.path = Path(rdir) / "train.lock"
        self.fd = None

    def _holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise RunLockedError(f"run {self.path.parent.name} is being trained by another process "
                                         f"({self._holder()}, lock {self.path}); wait for it to finish "
                                         "(its result is then reused)") from None
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:        # not a lock file that its holder unlinked while we waited
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self.fd)       # closing drops the flock
                self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def check_finished(ckpt: dict, source, rdir, iterations: int, key: str) -> None:
    """A ``final.pt`` is a finished run only if it trained ``iterations`` >= 1 steps with a finite
    loss at each, under ``key``; otherwise a ``RunCacheError`` naming it and how to clear the run."""
    step, hist = ckpt.get("step"), ckpt.get("history")
    n = len(hist) if hist is not None and hasattr(hist, "__len__") else -1
    problem = None
    if not isinstance(step, int) or step < 1:
        problem = f"it trained {step!r} steps"
    elif step != iterations:
        problem = f"it trained {step} steps, the config says {iterations}"
    elif n != step:
        problem = f"its loss history has {n} entries for {step} steps"
    elif not all(math.isfinite(float(v)) for v in hist):
        problem = "its loss history holds NaN or inf"
    elif ckpt.get("key") != key:
        problem = f"it belongs to run {ckpt.get('key')!r}"
    if problem:
        raise RunCacheError(f"{source} is not a finished run ({problem}); clear the run with: {clear_command(rdir)}")


__all__ = ["RUNTIME_FIELDS", "key_payload", "run_key", "run_dir", "write_spec", "list_runs", "RunCacheError",
           "RunLockedError", "RunLock", "clear_command", "clean_stale_tmp", "check_finished"]

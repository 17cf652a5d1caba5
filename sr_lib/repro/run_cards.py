"""Run cards: one row per trained run in ``results/<profile>/runs.csv`` (the evidence issue, item 5).

Columns (``RUNS_COLUMNS``): ``run`` (the run key, ``sr_lib.engine.runs.run_key``), ``method``,
``backbone``, ``seed``, ``steps``, ``train_seconds``, ``protocol`` (the run's paper protocol),
``set5_x2`` / ``set5_x2_bicubic`` (PSNR-Y on whole Set5 ×2 under ``protocol``), ``gain_x2`` /
``gain_x4`` (mean paired gain over Bicubic on whole Set5 + Set14, ``sr_lib.engine.health``),
``healthy`` and ``weights`` (the shipped weights, relative to the repository). Claims read the
``healthy`` column through ``health_map``.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sr_lib.paths import atomic_write_text, results_dir

RUNS_COLUMNS = ["run", "method", "backbone", "seed", "steps", "train_seconds", "protocol", "set5_x2",
                "set5_x2_bicubic", "gain_x2", "gain_x4", "healthy", "weights", "reasons"]


def runs_csv(profile: str) -> Path:
    return results_dir(profile) / "runs.csv"


def read_runs(profile: str) -> pd.DataFrame:
    """The run cards of ``profile`` (an empty frame when none were written)."""
    p = runs_csv(profile)
    if not p.is_file():
        return pd.DataFrame(columns=RUNS_COLUMNS)
    return pd.read_csv(p, keep_default_na=False, na_values=[""])


def health_map(profile: str) -> dict:
    """``{run key: healthy}`` of the profile's run cards."""
    runs = read_runs(profile)
    return {str(r): str(h).strip().lower() in ("true", "1") for r, h in zip(runs["run"], runs["healthy"])}





# ----------------------------------------------------------------------------------------------
# shipping a finished run: weights + card + health (cpu profile: results are committed)
# ----------------------------------------------------------------------------------------------

def weights_dir(profile: str) -> Path:
    return results_dir(profile) / "weights"


def shipped_weights(profile: str, key: str) -> Path | None:
    """The committed weights of run ``key`` (``results/<profile>/weights/<key>.safetensors``), if any."""
    p = weights_dir(profile) / f"{key}.safetensors"
    return p if p.is_file() else None


def _curve(loss, points: int = 400) -> list:
    """The loss curve averaged over ``len(loss)/points`` consecutive steps (≤ ``points`` values)."""
    v = [float(x) for x in loss]
    if len(v) <= points:
        return [round(x, 6) for x in v]
    step = -(-len(v) // points)
    return [round(sum(v[i:i + step]) / len(v[i:i + step]), 6) for i in range(0, len(v), step)]


def ship_run(model, profile: str, protocol: str, *, data_root=None, progress: bool = False) -> dict:
    """Score a freshly trained ``model`` (``model.train_info`` from ``engine.train.train``) with the
    health gate, write its weights and card to ``results/<profile>/weights/<key>.safetensors`` and its
    row to ``runs.csv`` (replacing an older row of the same run). Returns the row."""
    from sr_lib.engine.checkpoint import save_weights
    from sr_lib.engine.health import check_health
    from sr_lib.paths import repo_root

    info = model.train_info
    key, loss = info["key"], info["loss"]
    health = check_health(model, protocol, loss=loss, data_root=data_root, progress=progress)
    spec = getattr(model, "spec", {}) or {}
    args = spec.get("args", {})
    row = {"run": key, "method": spec.get("name", ""), "backbone": args.get("backbone") or "",
           "seed": info["seed"], "steps": len(loss), "train_seconds": round(float(info.get("train_seconds", 0.0)), 1),
           "protocol": protocol, "set5_x2": round(health.set5_x2, 4), "set5_x2_bicubic": round(health.set5_x2_bicubic, 4),
           "gain_x2": round(health.gain_x2, 4), "gain_x4": round(health.gain_x4, 4), "healthy": bool(health.healthy),
           "weights": "", "reasons": "; ".join(health.reasons)}
    path = weights_dir(profile) / f"{key}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    card = {**{k: v for k, v in row.items() if k != "weights"}, "config": info.get("config", {}),
            "loss_curve": _curve(loss), "health_per_image": health.per_image}
    save_weights(path, model, **card)
    try:
        row["weights"] = str(path.resolve().relative_to(repo_root().resolve()))
    except ValueError:
        row["weights"] = str(path)
    with _locked(runs_csv(profile).with_suffix(".lock")):     # several workers ship into one runs.csv
        runs = read_runs(profile)
        runs = runs[runs["run"].astype(str) != key]
        runs = pd.concat([runs, pd.DataFrame([row], columns=RUNS_COLUMNS)], ignore_index=True)
        atomic_write_text(runs_csv(profile), runs[RUNS_COLUMNS].sort_values("run", kind="stable")
                          .to_csv(index=False, lineterminator="\n"))
    return row


@contextmanager
def _locked(path: Path):
    """An exclusive ``flock`` on ``path`` while the block runs (the read-modify-write of runs.csv)."""
    import fcntl
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

__all__ = ["RUNS_COLUMNS", "runs_csv", "read_runs", "health_map", "weights_dir", "shipped_weights", "ship_run"]

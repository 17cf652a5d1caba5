"""The health gate: has a trained model learned? (the evidence rule of the ``cpu`` profile)

A number from a model that has not learned is not a result. After training, every run is scored
against Bicubic on the same images: whole Set5 and Set14 at ×2 and ×4, PSNR-Y under the run's paper
protocol (the protocol's LR recipe, shave and quantisation; Bicubic = MATLAB ``imresize`` of the same
LR). The gain at a scale is the mean over the 19 images of PSNR(model) − PSNR(bicubic), paired per
image.

A run is **healthy** when
- its gain is ≥ 1.0 dB at ×2 and ≥ 0.5 dB at ×4 (``MIN_GAIN``), and
- its training loss is finite and not diverging: the mean of the last tenth of the loss curve is
  below the mean of the first tenth (``loss_ok``).

Claims that involve an unhealthy run are "not tested" (``sr_lib.repro.verdicts``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from sr_lib.engine.evaluate import bicubic_matlab, evaluate

HEALTH_SETS = ("Set5", "Set14")
MIN_GAIN = {2.0: 1.0, 4.0: 0.5}            # dB over Bicubic, per scale


@dataclass
class Health:
    healthy: bool
    gains: dict                            # scale -> mean paired gain over Bicubic (dB)
    set5_x2: float                         # the model's Set5 ×2 PSNR-Y under the protocol (whole images)
    set5_x2_bicubic: float
    loss_ok: bool
    reasons: list = field(default_factory=list)    # why not healthy (empty when healthy)
    per_image: list = field(default_factory=list)  # {dataset, scale, image, psnr, bicubic}

    @property
    def gain_x2(self) -> float:
        return self.gains.get(2.0, float("nan"))

    @property
    def gain_x4(self) -> float:
        return self.gains.get(4.0, float("nan"))

    def summary(self) -> str:
        g = ", ".join(f"x{s:g} {v:+.2f} dB" for s, v in sorted(self.gains.items()))
        state = "healthy" if self.healthy else "UNHEALTHY: " + "; ".join(self.reasons)
        return f"{state} (gain over Bicubic on Set5+Set14: {g})"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gains"] = {f"x{s:g}": v for s, v in self.gains.items()}
        return d


def loss_ok(loss) -> tuple[bool, str]:
    """(ok, reason): finite, and the last tenth of the curve below its first tenth."""
    v = np.asarray(list(loss), dtype=np.float64)
    if v.size == 0:
        return False, "no loss curve (0 steps trained)"
    if not np.isfinite(v).all():
        return False, f"non-finite loss at step {int(np.argmax(~np.isfinite(v))) + 1}"
    m = max(1, v.size // 10)
    head, tail = v[:m].mean(), v[-m:].mean()
    if not tail < head:
        return False, f"loss not decreasing (first tenth {head:.4f}, last tenth {tail:.4f})"
    return True, ""


def check_health(model, protocol, *, loss=None, data_root=None, datasets=HEALTH_SETS,
                 min_gain=None, progress: bool = False) -> Health:
    """Score ``model`` and Bicubic on whole ``datasets`` at the gate's scales under ``protocol``."""
    min_gain = MIN_GAIN if min_gain is None else {float(k): float(v) for k, v in min_gain.items()}
    rows, gains, reasons = [], {}, []
    set5 = {}
    for s in sorted(min_gain):
        diffs = []
        for ds in datasets:
            ours = evaluate(model, ds, s, protocol, data_root=data_root, progress=progress)
            base = evaluate(bicubic_matlab, ds, s, protocol, data_root=data_root)
            for a, b in zip(ours["per_image"], base["per_image"]):
                if a["image"] != b["image"]:
                    raise RuntimeError(f"health gate: image order differs ({a['image']} vs {b['image']})")
                rows.append({"dataset": ds, "scale": s, "image": a["image"], "psnr": a["psnr"],
                             "bicubic": b["psnr"]})
                diffs.append(a["psnr"] - b["psnr"])
            if ds == "Set5" and s == 2.0:
                set5 = {"ours": ours["psnr"], "bicubic": base["psnr"]}
        gains[s] = float(np.mean(diffs))
        if not math.isfinite(gains[s]):
            reasons.append(f"x{s:g}: non-finite PSNR")
        elif gains[s] < min_gain[s]:
            reasons.append(f"x{s:g} gain {gains[s]:+.3f} dB < {min_gain[s]:.2f} dB")   # 3 decimals: +0.497 is not "+0.50 < 0.50"
    ok, why = loss_ok(loss) if loss is not None else (True, "")
    if not ok:
        reasons.append(why)
    return Health(healthy=not reasons, gains=gains, set5_x2=set5.get("ours", float("nan")),
                  set5_x2_bicubic=set5.get("bicubic", float("nan")), loss_ok=ok, reasons=reasons,
                  per_image=rows)


__all__ = ["Health", "HEALTH_SETS", "MIN_GAIN", "check_health", "loss_ok"]

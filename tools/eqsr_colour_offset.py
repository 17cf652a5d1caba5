"""Why does the full EQSR (Model IV) trail its smaller siblings at ×2? A diagnostic, outside the run plan.

At 8,000 cpu steps Model IV (the default EQNet) gains +1.34 dB over Bicubic at ×2 on the gate's images,
where Models III / I / V gain +1.90 / +1.86 / +1.67, while all of them sit within 0.07 dB at ×4 and their
training L1 curves end within 0.0002 of each other. Hypothesis: IV's outputs carry a colour offset (a
per-channel DC error of a few grey levels). L1 is minimised by a zero *median* error, so a small DC offset
barely moves the training loss, while PSNR on smooth images (Set5's baby) pays for the *mean* error.

For each shipped EQNet run of the plan this prints, on whole Set5 at ``--scale`` under the ``eqsr``
protocol: PSNR-Y, the mean RGB error in grey levels (×255), and PSNR-Y once each image's own mean RGB
error is subtracted (an oracle, not a method: it says how much of the gap is the offset). With
``--training`` it also prints the mean signed error on training patches (the training pipeline's pairs,
in the loss's space), which tells a train/eval mismatch (offset only at test) from a learned offset (also
on training patches). Writes ``results/cpu/notes/eqsr_colour_offset.json``.

    python tools/eqsr_colour_offset.py --training     # ~3 CPU-min
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sr_lib.config import config_for                                 # noqa: E402
from sr_lib.data import load_dataset                                 # noqa: E402
from sr_lib.data.io import to_tensor01                               # noqa: E402
from sr_lib.data.pairs import sample_batch                           # noqa: E402
from sr_lib.engine.checkpoint import load_checkpoint                 # noqa: E402
from sr_lib.engine.evaluate import ModelUpscaler                     # noqa: E402
from sr_lib.engine.train import training_images                      # noqa: E402
from sr_lib.metrics.protocols import get_protocol                    # noqa: E402
from sr_lib.paths import atomic_write_text                           # noqa: E402
from sr_lib.repro.run_cards import read_runs                         # noqa: E402


def set5_offset(model, scale: float) -> dict:
    """Whole Set5 at ``scale``: PSNR-Y, mean RGB error (grey levels), PSNR-Y with each image's mean removed."""
    proto, up = get_protocol("eqsr"), ModelUpscaler(model)
    psnr, debiased, offsets = [], [], []
    for _, hr in load_dataset("Set5"):
        lr, hr_c = proto.make_pair(hr, scale)
        with torch.no_grad():
            sr = up(to_tensor01(lr), hr_c.shape[:2], scale)                          # [1,3,H,W] in [0,1]
        ref = torch.from_numpy(hr_c / 255.0).permute(2, 0, 1)[None].to(sr.dtype)     # [1,3,H,W]
        dc = (sr - ref).mean(dim=(2, 3), keepdim=True)                               # [1,3,1,1]
        offsets.append(dc.flatten().numpy() * 255)
        psnr.append(proto.score(sr, hr_c, scale, "Set5")[0])
        debiased.append(proto.score((sr - dc).clamp(0, 1), hr_c, scale, "Set5")[0])
    return {"psnr": round(float(np.mean(psnr)), 3), "psnr_offset_removed": round(float(np.mean(debiased)), 3),
            "offset_rgb_levels": [round(float(v), 2) for v in np.mean(offsets, 0)]}


def training_offset(model, batches: int = 6, seed: int = 123) -> float:
    """Mean signed error (prediction − target) on ``batches`` training batches, in grey levels."""
    cfg = config_for("cpu", "eqsr", None)
    images, spec = training_images(None, cfg), cfg.pair_spec(layout=model.query_layout)
    errs = []
    with torch.no_grad():
        for step in range(batches):
            b = sample_batch(images, spec, cfg.batch_size, seed, step, 0, 1)
            s = b["scale"]                                                           # [B]
            pred = model(model.normalize(b["lr"]), b["coord"], b["cell"], (s, s))     # [B,3,h,w]
            errs.append(float((pred - model.normalize(b["gt"])).mean()))
    return round(float(np.mean(errs)) * 255, 2)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=2.0)
    p.add_argument("--training", action="store_true", help="also the offset on training patches")
    p.add_argument("--out", default=str(ROOT / "results/cpu/notes/eqsr_colour_offset.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    runs = read_runs("cpu")
    runs = runs[runs["method"] == "eqsr"]
    out = {}
    for _, r in runs.iterrows():
        model = load_checkpoint(ROOT / r["weights"]).eval()
        rec = {"variant": r["variant"] or "Model IV (default)", "gain_x2": r["gain_x2"], **set5_offset(model, args.scale)}
        if args.training:
            rec["training_offset_levels"] = training_offset(model)
        out[r["run"]] = rec
        print(json.dumps({r["run"]: rec}), flush=True)
    atomic_write_text(Path(args.out), json.dumps({"scale": args.scale, "runs": out}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

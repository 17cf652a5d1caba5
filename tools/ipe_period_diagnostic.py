"""Why does cpu IPE-LIIF score under LIIF? A diagnostic run, outside the run plan.

In the paper's units (one LR pixel = 2 units of LIIF's relative coordinate, ω_l = 2^l·π) every band
of PE / IPE repeats after one LR pixel, so the four local-ensemble neighbours of a query get the same
encoding (``sr_lib.models.ipe_liif``, module docstring). Hypothesis: that blind spot, not a bug,
is why IPE-LIIF trails LIIF at the cpu budget. Test: train IPE-LIIF once more with ``coord_scale=0.5``
(lowest period two LR pixels: the neighbours' encodings differ), same seed, recipe and steps, and
compare it, image by image, with the shipped IPE-LIIF and LIIF of seed 0: on the health gate's images
(whole Set5 + Set14) and on the 80 held-back B100 images no table scores (``repro.held_out``), ×2 and
×4. Writes ``results/cpu/notes/ipe_period_diagnostic.json``.

    python tools/ipe_period_diagnostic.py            # ~10 CPU-min of training, then ~10 min of scoring
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

from sr_lib.engine.evaluate import evaluate                         # noqa: E402
from sr_lib.engine.health import check_health                      # noqa: E402
from sr_lib.repro.held_out import held_out_images                  # noqa: E402
from sr_lib.paths import atomic_write_text                           # noqa: E402
from sr_lib.repro.run_cards import load_or_train                    # noqa: E402
from sr_lib.repro.verdicts import paired_verdict                    # noqa: E402

PROTOCOL = "ipe_liif"
MODELS = {                                                           # name -> (method, options)
    "ipe-liif": ("ipe-liif", {}),
    "ipe-liif, coord_scale 0.5": ("ipe-liif", {"coord_scale": 0.5}),
    "liif": ("liif", {}),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "results/cpu/notes/ipe_period_diagnostic.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    per_image, gains = {}, {}
    held = held_out_images()
    for name, (method, options) in MODELS.items():
        model = load_or_train(method, "edsr-baseline", profile="cpu", seed=args.seed, options=options,
                              progress=False)
        h = check_health(model, PROTOCOL)
        gains[name] = {f"x{s:g}": round(v, 3) for s, v in h.gains.items()}
        per_image[name] = {("gate", r["scale"], r["dataset"] + "/" + r["image"]): r["psnr"] for r in h.per_image}
        for s in (2.0, 4.0):
            res = evaluate(model, held, s, PROTOCOL)
            per_image[name].update({("held-out", s, r["image"]): r["psnr"] for r in res["per_image"]})
        print(f"{name:28s} {h.summary()}", flush=True)
    keys = sorted(per_image["liif"])
    pairs = {}
    for a, b in [("ipe-liif, coord_scale 0.5", "ipe-liif"), ("ipe-liif, coord_scale 0.5", "liif"),
                 ("liif", "ipe-liif")]:
        for where in ("gate", "held-out"):
            for s in (2.0, 4.0):
                d = np.array([per_image[a][k] - per_image[b][k] for k in keys if k[:2] == (where, s)])
                v = paired_verdict(d)
                pairs[f"{a} − {b}, {where}, x{s:g}"] = {
                    "mean_db": round(float(d.mean()), 3), "verdict": v.verdict,
                    "ci95": [round(float(v.ci_low), 3), round(float(v.ci_high), 3)], "images": int(d.size)}
                print(f"{a} − {b} on {where} x{s:g}: {d.mean():+.3f} dB [{v.ci_low:+.3f}, {v.ci_high:+.3f}] "
                      f"→ {v.verdict} ({d.size} images)")
    record = {"what": __doc__.split("\n\n")[0], "seed": args.seed, "protocol": PROTOCOL,
              "images": {"gate": "whole Set5 + Set14 (the health gate's images)",
                         "held-out": f"{held.name}: B100 sorted by name, images 21-100 (no table scores them)"},
              "gain_over_bicubic_db": gains, "paired": pairs, "command": "python tools/ipe_period_diagnostic.py"}
    atomic_write_text(args.out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

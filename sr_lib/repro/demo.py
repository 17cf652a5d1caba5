"""A first success: super-resolve your own image with the shipped ``cpu`` weights.

    python -m sr_lib demo photo.jpg --scale 3.3                 # LIIF (EDSR-baseline), the shipped cpu run
    python -m sr_lib demo photo.jpg --scale 2 --method metasr --out results_dir

Writes ``<out>/<stem>_x<scale>_<method>.png`` (the super-resolved image) and
``<out>/<stem>_x<scale>_<method>_vs_bicubic.png`` (Bicubic on the left, the method on the right, each
labelled), and prints where it put them. The weights are the committed ``results/cpu/weights/`` run
of the method that passed the health gate (``run_cards.pretrained``: the default recipe first, else
another shipped variant, e.g. the EQSR comparison's); nothing is trained.
Bicubic is PIL's (the resize of the official training pipelines) to the same output size.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import numpy as np

GAP = 8                     # pixels between the halves of the side-by-side
DEMO_BYTES_PER_HR_PIXEL = 30   # beyond super_resolve: uint8 SR and Bicubic, the canvas and its copy, PNG rows


def label_height(h: int) -> int:
    """Pixels of the white strip above each half of a side-by-side of height ``h`` (its text ~70%)."""
    return max(22, round(0.04 * h))


def _scale_arg(text: str) -> float:
    import argparse
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale must be a number, got {text!r}") from None
    if not math.isfinite(s) or s < 1.0:
        raise argparse.ArgumentTypeError(f"--scale must be a finite number >= 1, got {text}")
    return s


def side_by_side(left: np.ndarray, right: np.ndarray, labels=("Bicubic", "")) -> np.ndarray:
    """Two uint8 ``[H, W, 3]`` images of one size next to each other on white, each under its label."""
    from PIL import Image, ImageDraw, ImageFont
    if left.shape != right.shape:
        raise ValueError(f"side_by_side needs images of one size, got {left.shape} and {right.shape}")
    h, w = left.shape[:2]
    top = label_height(h)
    canvas = Image.new("RGB", (2 * w + GAP, h + top), "white")
    canvas.paste(Image.fromarray(left), (0, top))
    canvas.paste(Image.fromarray(right), (w + GAP, top))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=int(0.7 * top))
    for x, text in ((0, labels[0]), (w + GAP, labels[1])):
        draw.text((x + 4, int(0.1 * top)), text, fill="black", font=font)
    return np.asarray(canvas)


def _save_both(images: dict) -> None:
    """Write every ``{path: uint8 image}`` or none: each to a temporary name first, then all renamed."""
    from sr_lib.data.io import save_image
    tmps = {p: p.with_name(f".{p.name}.partial{os.getpid()}.png") for p in images}
    made = [d for d in {p.parent for p in images} if not d.exists()]
    done = False
    try:
        for p, img in images.items():
            save_image(tmps[p], img)
        for p, tmp in tmps.items():
            os.replace(tmp, p)
        done = True
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()
        for d in made if not done else ():
            if d.is_dir() and not any(d.iterdir()):
                d.rmdir()


def demo(image, scale: float, method: str = "liif", *, backbone: str = "edsr-baseline", out_dir="sr_demo",
         profile: str = "cpu", device: str = "auto", log=None) -> dict:
    """Super-resolve ``image`` (a path) by ``scale`` with the shipped ``method`` model and write the SR
    image and a side-by-side with Bicubic into ``out_dir``. Returns ``{"sr": path, "side_by_side": path,
    "seconds": ..., "size": (H, W), "run": key}``."""
    from sr_lib.data.io import as_uint8_image, load_image, to_tensor01
    from sr_lib.data.resize import pil_bicubic
    from sr_lib.engine.device import get_device
    from sr_lib.engine.inference import DEFAULT_CHUNK, super_resolve
    from sr_lib.engine.memory import default_budget, plan_chunk
    from sr_lib.geometry import hr_size_for
    from sr_lib.paths import check_target_file, check_writable_folder
    from sr_lib.repro.run_cards import pretrained
    import torch

    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    scale = _scale_arg(str(scale))
    path = Path(image)
    lr = load_image(path, exif_orientation=True)                           # uint8 [h,w,3], as a viewer shows it
    out_hw = hr_size_for(lr.shape[:2], scale)
    out = Path(out_dir)
    stem = f"{path.stem}_x{scale:g}_{method}"
    sr_path, pair_path = out / f"{stem}.png", out / f"{stem}_vs_bicubic.png"
    check_writable_folder(out, "--out folder")                             # before any work
    for target in (sr_path, pair_path):
        check_target_file(target, "output image")
    dev = get_device(device)
    model = pretrained(method, backbone, profile=profile, variant=None, device="cpu").to(dev).eval()
    card = model.run_card
    budget = default_budget()
    own = DEMO_BYTES_PER_HR_PIXEL * out_hw[0] * out_hw[1]
    chunk = plan_chunk(model, lr.shape[:2], out_hw, DEFAULT_CHUNK,
                       budget=budget - own if math.isfinite(budget) else None)   # MemoryBudgetError: one line
    log(f"{method} on {card['backbone']} ({profile} weights {card['run']}: +{float(card['gain_x2']):.2f} dB (x2), "
        f"+{float(card['gain_x4']):.2f} dB (x4) over Bicubic on Set5+Set14); "
        f"{lr.shape[0]}x{lr.shape[1]} -> {out_hw[0]}x{out_hw[1]} on {dev} ...")
    t0 = time.perf_counter()
    with torch.inference_mode():
        sr = super_resolve(model, to_tensor01(lr).to(dev), out_size=out_hw, chunk=chunk)  # [1,3,H,W] in [0,1]
    seconds = time.perf_counter() - t0
    sr = as_uint8_image(sr[0].permute(1, 2, 0).cpu().numpy())               # uint8 [H,W,3]
    bic = pil_bicubic(lr, out_hw)
    _save_both({sr_path: sr, pair_path: side_by_side(bic, sr, ("Bicubic", f"{method} ({profile} weights)"))})
    log(f"done in {seconds:.1f} s")
    return {"sr": sr_path, "side_by_side": pair_path, "seconds": seconds, "size": out_hw, "run": card["run"]}


def _run_cli(args) -> int:
    res = demo(args.image, args.scale, args.method, backbone=args.backbone, out_dir=args.out,
               profile=args.profile, device=args.device)
    print(f"wrote {res['sr']}")
    print(f"wrote {res['side_by_side']}")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("demo", help="super-resolve an image with the shipped cpu weights",
                              description="Super-resolve IMAGE by --scale with a shipped, health-checked model "
                                          "(results/cpu/weights/); writes the SR PNG and a side-by-side with "
                                          "Bicubic and prints their paths. Nothing is trained.")
    p.add_argument("image", help="an image file (PNG, JPEG, ...)")
    p.add_argument("--scale", type=_scale_arg, required=True, help="upscaling factor >= 1, e.g. 3.3")
    p.add_argument("--method", default="liif", help="a method with shipped weights (default liif)")
    p.add_argument("--backbone", default="edsr-baseline")
    p.add_argument("--out", default="sr_demo", help="output folder (default ./sr_demo)")
    p.add_argument("--profile", default="cpu", choices=["cpu", "smoke", "paper"])
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_run_cli)


__all__ = ["demo", "side_by_side", "label_height", "add_cli"]

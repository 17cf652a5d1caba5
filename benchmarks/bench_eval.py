"""Evaluation speed per method (HR megapixels/s) and peak memory of x30 decoding on a 2K image.

    .venv/bin/python benchmarks/bench_eval.py                        # cpu-profile sizes, default methods
    .venv/bin/python benchmarks/bench_eval.py --methods liif:edsr-baseline ipe-liif:rdn --hr 256
    .venv/bin/python benchmarks/bench_eval.py --memory-methods liif:edsr-baseline --memory-hr 2040x1356

Speed: each (method, backbone) is built at the profile's sizes (``sr_lib.config.model_options``;
untrained weights decode exactly as fast as trained ones) and super-resolves a real image crop
(``--hr`` px square HR, x4) through the evaluator's own path (``engine.evaluate.as_upscaler``
with the method's paper protocol: chunked queries, padding, tiles). Wall time and process CPU
time are both printed; on a shared machine CPU time is the load-independent number.

Memory: x30 decoding of a 2040x1356 HR image (a DIV2K-sized output; LR 68x45) runs in a fresh
process per method, so ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is that decoding's peak;
the resident size just before decoding is printed beside it. Queries are decoded in chunks
(``sr_lib.engine.inference.DEFAULT_CHUNK``), so the peak grows with the output image, not with the number of queries
decoded at once. Prints ratios measured in this one run; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time

import torch

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.data.io import to_tensor01
from sr_lib.engine.evaluate import as_upscaler
from sr_lib.engine.inference import DEFAULT_CHUNK
from sr_lib.metrics.protocols import get_protocol

# (method, backbone) pairs the table notebooks evaluate
DEFAULT = ["liif:edsr-baseline", "metasr:edsr-baseline", "liif-pe:edsr-baseline", "ipe-liif:edsr-baseline",
           "ipe-metasr:edsr-baseline", "liif:rdn", "ipe-liif:rdn", "lte:edsr-baseline", "ciaosr:edsr-baseline"]
MEMORY_DEFAULT = ["liif:edsr-baseline"]
PROTOCOL_OF = {"ciaosr": "ciaosr", "lte": "lte", "eqsr": "eqsr"}      # everything else: LIIF's test code


def _build(item: str, profile: str):
    method, _, backbone = item.partition(":")
    cfg = config_for(profile, method, backbone or None)
    torch.manual_seed(0)
    model = sr_lib.make(method, **model_options(cfg, method, backbone or None)).eval()
    return model, method, backbone


def _test_image(side: int) -> torch.Tensor:
    """A real photograph (scikit-image's astronaut), centre crop ``side`` px, as [1,3,h,w] in [0,1]."""
    import numpy as np
    import skimage.data
    img = skimage.data.astronaut()
    if side > min(img.shape[:2]):
        img = np.tile(img, (side // img.shape[0] + 1, side // img.shape[1] + 1, 1))
    top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
    return to_tensor01(np.ascontiguousarray(img[top:top + side, left:left + side]))


def time_method(item: str, profile: str, hr: int, scale: int, repeats: int) -> dict:
    model, method, backbone = _build(item, profile)
    proto = get_protocol(PROTOCOL_OF.get(method, "liif"))
    up = as_upscaler(model, proto, scale)
    lr = torch.nn.functional.interpolate(_test_image(hr), scale_factor=1 / scale, mode="bicubic",
                                         antialias=True, align_corners=False).clamp(0, 1)
    out = (lr.shape[-2] * scale, lr.shape[-1] * scale)
    up(lr, out, scale)                                            # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        up(lr, out, scale)
    wall, cpu = (time.perf_counter() - t0) / repeats, (time.process_time() - c0) / repeats
    mp_ = out[0] * out[1] / 1e6
    return {"method": method, "backbone": backbone, "protocol": proto.name, "hr": list(out), "scale": scale,
            "params": sum(p.numel() for p in model.parameters()), "s_per_image": wall,
            "mp_per_s": mp_ / wall, "cpu_s_per_image": cpu, "mp_per_cpu_s": mp_ / cpu}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2 ** 20


def _memory_child(item: str, profile: str, hr_hw, scale: int, threads: int, queue) -> None:
    if threads:
        torch.set_num_threads(threads)
    model, method, backbone = _build(item, profile)
    proto = get_protocol(PROTOCOL_OF.get(method, "liif"))
    up = as_upscaler(model, proto, scale)
    h, w = hr_hw[0] // scale, hr_hw[1] // scale
    lr = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    before = _rss_mb()
    t0 = time.perf_counter()
    with torch.no_grad():
        sr = up(lr, (h * scale, w * scale), scale)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024            # KiB on Linux → MiB
    queue.put({"method": method, "backbone": backbone, "lr": [h, w], "hr": list(sr.shape[-2:]), "scale": scale,
               "chunk": DEFAULT_CHUNK, "rss_before_mb": before, "peak_rss_mb": peak, "seconds": time.perf_counter() - t0,
               "output_mb": sr.numel() * sr.element_size() / 2 ** 20})


def memory_method(item: str, profile: str, hr_hw, scale: int, threads: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_memory_child, args=(item, profile, hr_hw, scale, threads, q))
    p.start()
    row = q.get()
    p.join()
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", help="model sizes of this profile (smoke | cpu | paper)")
    ap.add_argument("--methods", nargs="*", default=DEFAULT, help="method:backbone pairs for the speed test")
    ap.add_argument("--hr", type=int, default=128, help="HR side of the speed-test image (px)")
    ap.add_argument("--scale", type=int, default=4, help="scale of the speed test")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--memory-methods", nargs="*", default=MEMORY_DEFAULT, help="method:backbone pairs, x30 peak")
    ap.add_argument("--memory-hr", default="2040x1356", help="HR size WxH of the memory test")
    ap.add_argument("--memory-scale", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (0 = torch's default; 1 as the profiles use on this loaded machine)")
    ap.add_argument("--json", default=None, help="also write all rows to this file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"profile={args.profile} threads={torch.get_num_threads()}  speed: x{args.scale} to {args.hr}px HR")
    speed = []
    for item in args.methods:
        try:
            row = time_method(item, args.profile, args.hr, args.scale, args.repeats)
        except Exception as e:       # a method another helper has not finished: report, go on
            print(f"{item:26s} failed: {type(e).__name__}: {e}")
            continue
        speed.append(row)
        print(f"{item:26s} params {row['params']:>9,d}  {row['mp_per_s']:6.3f} MP/s wall  "
              f"{row['mp_per_cpu_s']:6.3f} MP/cpu-s  x{row['mp_per_cpu_s'] / speed[0]['mp_per_cpu_s']:5.2f} "
              f"vs {speed[0]['method']}:{speed[0]['backbone']} (cpu time)", flush=True)
    w, h = (int(v) for v in args.memory_hr.lower().split("x"))
    memory = []
    for item in args.memory_methods:
        row = memory_method(item, args.profile, (h, w), args.memory_scale, args.threads)
        memory.append(row)
        print(f"x{row['scale']} {item:24s} LR {row['lr'][1]}x{row['lr'][0]} → HR {row['hr'][1]}x{row['hr'][0]} "
              f"(chunk {row['chunk']}): peak RSS {row['peak_rss_mb']:7.0f} MiB (before decoding "
              f"{row['rss_before_mb']:.0f} MiB; output tensor {row['output_mb']:.0f} MiB; "
              f"peak/output x{row['peak_rss_mb'] / row['output_mb']:.1f}) in {row['seconds']:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"speed": speed, "memory": memory}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

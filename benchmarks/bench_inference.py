"""Inference speed and memory of every method, measured in one run (ratios printed, nothing asserted
about time).

    .venv/bin/python benchmarks/bench_inference.py --quick      # ~2-3 min on 2 cores
    .venv/bin/python benchmarks/bench_inference.py              # ~8-10 min: CiaoSR Table 7's 192×192

Sections (``--only`` picks some):
  matmul   this CPU's practical limit: a 2048² float32 ``torch.mm`` in GFLOP/s;
  table7   every registered method at ×4 on a 192×192 LR (CiaoSR Table 7's setting; ``--quick``: 64×64)
           at the ``cpu`` profile's sizes, each in its own process: encode / decode seconds, the
           decoder's share, the backbone's GFLOP/s (FLOPs counted by ``FlopCounterMode``) against
           the matmul rate, the FLOPs of the whole ``super_resolve``, peak RSS; plus LIIF and CiaoSR at the
           paper's full size (EDSR-baseline 16×64, MLPs 4×256) and their time and FLOP ratios;
  urban    LIIF, LTE, CiaoSR (its tiled protocol) and EQSR at ×2 and ×12 on the first full-resolution
           Urban100 image (``SR_DATA`` / data root), each in its own process;
  x30      ×30 on a 2040×1350 output (68×45 LR): LIIF at the cpu sizes must fit 3 GB; EQSR's
           whole-image decoder is refused up front (``sr_lib.engine.memory``);
  tricks   ``torch.inference_mode`` vs ``no_grad``, channels_last backbone, ``torch.compile`` MLP.

Against the real official code (LIIF, LTE, CiaoSR checkouts: equal outputs and speed ratios, the
training step, memory against the estimate, decoder FLOP/s) is ``benchmarks/bench_official.py``.
The former ``literal`` section timed a transcription written here (``official_literal.py``); it was
not a faithful baseline (issue 16: the released CiaoSR recomputes its attention per 30000-query
batch) and is removed with it. Training speed is ``benchmarks/bench_train.py``. Peak memory =
``ru_maxrss`` of a fresh process per measurement (includes ~0.3-0.5 GB for Python + torch).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.engine.inference import DEFAULT_CHUNK, super_resolve

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_official import show  # noqa: E402  (the same table printer)


CPU = config_for("cpu")


def build(method: str, size: str = "cpu"):
    backbone = "eqnet" if method == "eqsr" else "edsr-baseline"
    torch.manual_seed(0)
    opts = model_options(CPU, method, backbone) if size == "cpu" else {"backbone": backbone}
    return sr_lib.make(method, **opts).eval()


def best_time(fn, repeat: int = 1) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2     # kB → GB (Linux)


# ------------------------------------------------------------------------------------------- one
def measure_one(method: str, size: str, lr_hw, scale: float, tile: bool = False, count_all: bool = False) -> dict:
    """Runs in a fresh process: encode and decode times, backbone FLOPs (and with ``count_all`` the
    FLOPs of the whole ``super_resolve``: matrix products and convolutions), peak RSS."""
    from sr_lib.engine.evaluate import ModelUpscaler
    from sr_lib.engine.memory import MemoryBudgetError, estimate
    model = build(method, size)
    lr = torch.rand(1, 3, *lr_hw, generator=torch.Generator().manual_seed(0))
    out = (round(lr_hw[0] * scale), round(lr_hw[1] * scale))
    row = {"method": method, "size": size, "lr": f"{lr_hw[0]}x{lr_hw[1]}", "scale": scale,
           "out": f"{out[0]}x{out[1]}", "tiled": tile}
    try:
        est = estimate(model, lr_hw, out, DEFAULT_CHUNK, tile=192 if tile else 0, tile_overlap=32 if tile else 0)
        row["est_peak_gb"] = est.peak / 1024 ** 3      # what the call adds (peak_rss_gb includes the process)
        row["rss_before_gb"] = rss_gb()
        with torch.no_grad():
            if tile:
                up = ModelUpscaler(model, tile=192, tile_overlap=32)
                row["total_s"] = best_time(lambda: up(lr, out, scale))
            else:
                with FlopCounterMode(display=False) as fc:
                    model.encode(model.normalize(lr), (scale, scale))
                row["encode_gflop"] = fc.get_total_flops() / 1e9
                row["encode_s"] = best_time(lambda: model.encode(model.normalize(lr), (scale, scale)))
                row["total_s"] = best_time(lambda: super_resolve(model, lr, out_size=out))
                if count_all:
                    with FlopCounterMode(display=False) as fc:
                        super_resolve(model, lr, out_size=out)
                    row["total_gflop"] = fc.get_total_flops() / 1e9
                row["decode_s"] = row["total_s"] - row["encode_s"]
                row["decoder_share"] = row["decode_s"] / row["total_s"]
                row["backbone_gflops"] = row["encode_gflop"] / row["encode_s"]
    except MemoryBudgetError as e:
        row["refused"] = str(e)
    row["peak_rss_gb"] = rss_gb()
    return row


def in_subprocess(args: list, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--one", json.dumps(args), "--threads", str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return {"method": args[0], "error": (res.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- sections
def matmul_gflops(n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    return 2 * n ** 3 / best_time(lambda: torch.mm(a, b), repeat=5) / 1e9


def tricks(side: int) -> list:
    """inference_mode vs no_grad, channels_last encoder, torch.compile MLP (LIIF, cpu sizes, ×4)."""
    rows = []
    model = build("liif")
    lr = torch.rand(1, 3, side, side)
    out = (side * 4, side * 4)
    with torch.no_grad():
        t_ng = best_time(lambda: super_resolve(model, lr, out_size=out), 2)
    with torch.inference_mode():
        t_im = best_time(lambda: super_resolve(model, lr, out_size=out), 2)
        rows.append({"trick": "inference_mode vs no_grad (super_resolve)", "base_s": t_ng, "trick_s": t_im,
                     "speedup": t_ng / t_im, "exact": True})
        y_big = super_resolve(model, lr, out_size=out, chunk=30000)
        y_small = super_resolve(model, lr, out_size=out, chunk=DEFAULT_CHUNK)
        t_big = best_time(lambda: super_resolve(model, lr, out_size=out, chunk=30000), 2)
        t_small = best_time(lambda: super_resolve(model, lr, out_size=out, chunk=DEFAULT_CHUNK), 2)
        rows.append({"trick": f"query chunk {DEFAULT_CHUNK} vs 30000 (super_resolve)", "base_s": t_big,
                     "trick_s": t_small, "speedup": t_big / t_small, "exact": bool(torch.equal(y_big, y_small)),
                     "max_abs_diff": (y_big - y_small).abs().max().item()})
        enc = model.encoder
        x = model.normalize(lr)
        f0 = enc(x)
        t0 = best_time(lambda: enc(x), 3)
        enc_cl = build("liif").encoder.to(memory_format=torch.channels_last)
        enc_cl.load_state_dict(enc.state_dict())
        x_cl = x.contiguous(memory_format=torch.channels_last)
        f1 = enc_cl(x_cl)
        t1 = best_time(lambda: enc_cl(x_cl), 3)
        rows.append({"trick": "channels_last encoder", "base_s": t0, "trick_s": t1, "speedup": t0 / t1,
                     "exact": bool(torch.equal(f0, f1)), "max_abs_diff": (f0 - f1).abs().max().item()})
    try:
        compiled = torch.compile(model.imnet)
        inp = torch.randn(4 * 30000, model.imnet.in_dim)
        with torch.no_grad():
            y0 = model.imnet(inp)
            t_c0 = time.perf_counter()
            y1 = compiled(inp)
            compile_s = time.perf_counter() - t_c0
            t_eager = best_time(lambda: model.imnet(inp), 3)
            t_comp = best_time(lambda: compiled(inp), 3)
        rows.append({"trick": "torch.compile LIIF MLP (120k rows)", "base_s": t_eager, "trick_s": t_comp,
                     "speedup": t_eager / t_comp, "compile_s": compile_s, "exact": bool(torch.equal(y0, y1)),
                     "max_abs_diff": (y0 - y1).abs().max().item()})
    except Exception as e:  # no C++ toolchain for inductor, ...
        rows.append({"trick": "torch.compile LIIF MLP", "error": f"{type(e).__name__}: {str(e)[:120]}"})
    return rows


def urban_image(data_root) -> torch.Tensor | None:
    from sr_lib.data.io import load_image, to_tensor01
    from sr_lib.data.resolver import resolve_data_root
    root = resolve_data_root(data_root or None).path
    if root is None:
        return None
    files = sorted((Path(root) / "benchmark" / "Urban100" / "HR").glob("*.png"))
    return to_tensor01(load_image(files[0])) if files else None


    for r in rows:
        for k in ("refused", "error"):
            if k in r:
                print(f"  {r.get('method', r.get('trick'))}: {k}: {r[k]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small inputs (64² LR, ×4), a few minutes")
    ap.add_argument("--only", nargs="*", default=["matmul", "table7", "urban", "x30", "tricks"])
    ap.add_argument("--slow", action="store_true", help="also CiaoSR x2 on Urban100 (9 tiles of 192², minutes)")
    ap.add_argument("--methods", nargs="*", default=None, help="table7: only these methods (default: all)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--json", default=None, help="also write all rows to this JSON file")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.one:
        print(json.dumps(measure_one(*json.loads(args.one))))
        return 0
    report = {"threads": args.threads, "quick": args.quick}
    side = 64 if args.quick else 192
    t_start = time.perf_counter()
    if "matmul" in args.only:
        report["matmul_gflops"] = matmul_gflops()
        print(f"== matmul: 2048² float32 torch.mm at {report['matmul_gflops']:.1f} GFLOP/s "
              f"({args.threads} threads)")
    if "table7" in args.only:
        methods = args.methods or sr_lib.list_models()
        rows = [in_subprocess([m, "cpu", [side, side], 4, False, True], args.threads) for m in methods]
        rows += [in_subprocess([m, "full", [side, side], 4, False, True], args.threads)
                 for m in ("liif", "ciaosr") if m in methods]
        peak = report.get("matmul_gflops")
        for r in rows:
            if peak and "backbone_gflops" in r:
                r["backbone_vs_matmul"] = r["backbone_gflops"] / peak
            if peak and "total_gflop" in r:
                r["total_vs_matmul"] = r["total_gflop"] / r["total_s"] / peak
        report["table7"] = rows
        show(f"x4 on a {side}x{side} LR (cpu-profile sizes; 'full' = paper sizes)", rows,
             ["method", "size", "out", "encode_s", "decode_s", "total_s", "decoder_share", "encode_gflop",
              "total_gflop", "backbone_gflops", "backbone_vs_matmul", "total_vs_matmul", "est_peak_gb",
              "peak_rss_gb"])
        by = {(r["method"], r.get("size")): r for r in rows}
        for size in ("cpu", "full"):
            liif, ciao = by.get(("liif", size), {}), by.get(("ciaosr", size), {})
            if "total_s" in liif and "total_s" in ciao:
                ratio = {"time": ciao["total_s"] / liif["total_s"], "decoder_time": ciao["decode_s"] / liif["decode_s"],
                         "gflop": ciao["total_gflop"] / liif["total_gflop"]}
                report[f"ciaosr_over_liif_{size}"] = ratio
                print(f"CiaoSR / LIIF at equal backbone (EDSR-baseline, {size} sizes): time {ratio['time']:.2f}x "
                      f"(decoder {ratio['decoder_time']:.2f}x); FLOPs {ratio['gflop']:.2f}x")
    if "urban" in args.only:
        img = urban_image(args.data_root)
        if img is None:
            print("\n== urban: no Urban100 HR images found (set SR_DATA); skipped")
        else:
            H, W = img.shape[-2:]
            rows = []
            methods = ["liif"] if args.quick else ["liif", "lte", "ciaosr", "eqsr"]
            for s in (2, 12):
                lr_hw = [H // s, W // s]
                for m in methods:
                    if m == "ciaosr" and s <= 4 and not args.slow:
                        continue                             # 9 tiles of 192²: see table7's CiaoSR row
                    tile = m == "ciaosr" and s <= 4          # CiaoSR's protocol tiles x2-x4
                    rows.append(in_subprocess([m, "cpu", lr_hw, s, tile], args.threads))
            report["urban"] = rows
            show(f"full-resolution Urban100 image ({H}x{W} HR), cpu-profile sizes", rows,
                 ["method", "lr", "scale", "out", "tiled", "encode_s", "decode_s", "total_s",
                  "decoder_share", "est_peak_gb", "peak_rss_gb"])
    if "x30" in args.only:
        rows = [in_subprocess(["liif", "cpu", [45, 68], 30], args.threads),
                in_subprocess(["eqsr", "cpu", [45, 68], 30], args.threads)]
        report["x30"] = rows
        show("x30: 68x45 LR -> 2040x1350 (budget 3 GB of tensors)", rows,
             ["method", "out", "total_s", "est_peak_gb", "peak_rss_gb"])
    if "tricks" in args.only:
        rows = tricks(48 if args.quick else 96)
        report["tricks"] = rows
        show("inference options (LIIF, cpu sizes)", rows,
             ["trick", "base_s", "trick_s", "speedup", "exact", "max_abs_diff", "compile_s"])
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s")
    if args.json:
        from sr_lib.paths import atomic_write_text
        atomic_write_text(args.json, json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Training speed per method at a profile (default ``cpu``): steps/s measured in one run.

    .venv/bin/python benchmarks/bench_train.py                    # every method of the cpu profile
    .venv/bin/python benchmarks/bench_train.py --methods liif:edsr-baseline lte:rdn --steps 10
    .venv/bin/python benchmarks/bench_train.py --set batch_size=4 --set cpu_threads=2

Each (method, backbone) is built at the profile's sizes (``sr_lib.config.model_options``) and
trained for ``--warmup`` + ``--steps`` iterations by the real loop (``sr_lib.engine.train.fit``:
data sampling, forward, L1, backward, Adam) on the real training set; the timed part excludes the
warm-up. Wall time and process CPU time per step are both printed: on a shared machine the CPU
time (one thread: the profile's ``cpu_threads``) is the load-independent number. Ratios are
relative to the first method. The numbers behind ``sr_lib/config.py``'s ``cpu`` profile come
from this script; they depend on the machine and on its load.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.engine.train import _literal, fit, seed_everything, training_images
from sr_lib.models.base import count_parameters

# (method, backbone) pairs the notebooks train, cheapest first
DEFAULT = ["liif:edsr-baseline", "metasr:edsr-baseline", "liif-pe:edsr-baseline", "ipe-liif:edsr-baseline",
           "lte:edsr-baseline", "ciaosr:edsr-baseline", "itsrn:edsr-baseline", "liif:rdn", "metasr:rdn", "ipe-liif:rdn",
           "lte:rdn", "ciaosr:rdn", "arbsr:edsr-baseline", "eqsr:eqnet", "liif:swinir", "lte:swinir",
           "ciaosr:swinir"]


def time_method(method: str, backbone: str, cfg, images, warmup: int, steps: int) -> dict:
    seed_everything(0)
    model = sr_lib.make(method, **model_options(cfg, method, backbone))
    run = replace(cfg, iterations=warmup)             # no ckpt_path: nothing is written
    fit(model, run, images, seed=0, progress=False)
    t0, c0 = time.perf_counter(), time.process_time()
    fit(model, replace(run, iterations=steps), images, seed=1, progress=False)
    dt, cpu = (time.perf_counter() - t0) / steps, (time.process_time() - c0) / steps
    return {"method": method, "backbone": backbone, "params": count_parameters(model),
            "s_per_step": dt, "steps_per_s": 1.0 / dt, "cpu_s_per_step": cpu}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--methods", nargs="*", default=DEFAULT, help="method:backbone pairs")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="TrainConfig override")
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args(argv)
    overrides = {k: _literal(v) for k, v in (s.split("=", 1) for s in args.set)}
    rows = []
    print(f"profile={args.profile} overrides={overrides}")
    for item in args.methods:
        method, _, backbone = item.partition(":")
        cfg = config_for(args.profile, method, backbone or None, **overrides)
        images = training_images(args.data_root, cfg)
        try:
            row = time_method(method, backbone or None, cfg, images, args.warmup, args.steps)
        except Exception as e:      # a method another helper has not finished: report, go on
            print(f"{item:28s} failed: {type(e).__name__}: {e}")
            continue
        rows.append(row)
        ratio = row["s_per_step"] / rows[0]["s_per_step"]
        print(f"{item:28s} params {row['params']:>10,d}  {row['s_per_step']*1000:8.1f} ms/step  "
              f"{row['steps_per_s']:6.2f} steps/s  cpu {row['cpu_s_per_step']*1000:8.1f} ms/step  "
              f"x{ratio:5.2f} vs {rows[0]['method']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

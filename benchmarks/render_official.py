"""Render ``results/official_pairs.json`` (written by ``bench_official.py``) as the tables of
``benchmarks/README.md``: the block between ``<!-- official_pairs:begin -->`` and
``<!-- official_pairs:end -->`` is replaced (nothing else in the file changes).

    .venv/bin/python benchmarks/render_official.py                      # JSON → README block
    .venv/bin/python benchmarks/render_official.py --print              # print the block only

Every number comes from the JSON of one run; the block states that run's date, commit and load.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- official_pairs:begin -->", "<!-- official_pairs:end -->"


def _f(v, fmt: str = ".3g") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return format(v, fmt)


def _load(row: dict) -> str:
    la = row.get("loadavg") or {}
    return _f(la.get("during_1min_mean", (la.get("before") or [None])[0]), ".2f")


def _table(header: list, rows: list) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return out


def render(data: dict) -> str:
    meta = data.get("meta", {})
    la = meta.get("loadavg_start") or [float("nan")]
    lines = [f"*{meta.get('json', '')}* run of {meta.get('date', '?')[:19].replace('T', ' ')} UTC, sr_lib commit "
             f"`{str(meta.get('commit', '?'))[:10]}`{' + uncommitted changes' if meta.get('sr_lib_dirty') else ''}, "
             f"torch {meta.get('torch', '?')}, {meta.get('threads', '?')} threads, {meta.get('cpus', '?')} CPUs, "
             f"1-min load average at the start {_f(la[0], '.2f')} (column *load*: the mean during each "
             "measurement); medians of the alternated repeats.", ""]
    infer = [r for r in data.get("infer", []) if "ratio" in r]
    if infer:
        lines += ["**Inference** (fp32, EDSR-baseline, paper sizes; official = their test path):", ""]
        lines += _table(["method", "LR → HR", "official s", "ours s", "ratio", "max \\|diff\\|", "load"],
                        [[r["method"], f"{r['lr']} ×{r['scale']} → {r['out']}", _f(r["official_s"]), _f(r["ours_s"]),
                          f"**{r['ratio']:.2f}×**", _f(r["max_abs_diff"], ".2e"), _load(r)] for r in infer])
        lines.append("")
    train = [r for r in data.get("train", []) if "ratio" in r]
    if train:
        lines += ["**Training step** (cpu profile: LR 24², batch 8, 144 queries, Adam; the same batch; official = "
                  "their model + loss + step):", ""]
        lines += _table(["method", "official s/step", "ours s/step", "ratio", "first loss official / ours",
                         "params after step 1, max \\|diff\\|", "load"],
                        [[r["method"], _f(r["official_s"]), _f(r["ours_s"]), f"**{r['ratio']:.2f}×**",
                          f"{r['first_loss_official']:.7f} / {r['first_loss_ours']:.7f}",
                          _f(r["max_param_diff_after_first_step"], ".1e"), _load(r)] for r in train])
        lines.append("")
    flops = [r for r in infer if "decoder_gflops" in r]
    if flops:
        lines += ["**Decoder FLOP/s** (matrix-product FLOPs of the query calls over the engine's decode time, "
                  "against a 2048² fp32 `torch.mm` at the same threads in the same run; *in products*: share of a "
                  "one-thread profiled decode spent in matrix products, and their rate there):", ""]
        lines += _table(["method", "decoder GFLOP", "decoder s", "GFLOP/s", "matmul GFLOP/s", "of matmul",
                         "in products (1 thread)"],
                        [[r["method"], _f(r["decoder_gflop"]), _f(r["decoder_s"]), _f(r["decoder_gflops"]),
                          _f(r.get("matmul_gflops")), f"**{r.get('decoder_vs_matmul', float('nan')):.2f}**",
                          f"{_f(r.get('decoder_gemm_share'), '.2f')} at {_f(r.get('decoder_gemm_gflops'))} GFLOP/s"]
                         for r in flops])
        lines.append("")
    memory = data.get("memory", [])
    if memory:
        lines += ["**Memory** (`engine.memory.estimate` against the peak RSS of `super_resolve` minus the RSS "
                  "before the call, one fresh process per case):", ""]
        rows = []
        for r in memory:
            if "error" in r:
                rows.append([r["method"], r.get("size", ""), f"×{r.get('scale', '')}", "", "", "", "", r["error"][:80]])
                continue
            note = r.get("refused", "")
            if "refused_at" in r:
                note = f"2K refused up front (est. {r['refused_at']['est_peak_gb']:.1f} GB); measured at this size"
            rows.append([r["method"], r.get("size", ""), f"{r.get('lr', '')} ×{r['scale']} → {r.get('out', '')}",
                         _f(r.get("est_peak_gb"), ".2f"), _f(r.get("peak_delta_gb"), ".2f"),
                         _f(r.get("rss_before_gb"), ".2f"), f"**{_f(r.get('delta_over_est'), '.2f')}**", note[:100]])
        lines += _table(["method", "size", "LR → HR", "estimate GB", "measured GB", "RSS before GB",
                         "measured / estimate", "note"], rows)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_block(readme: Path, block: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"error: {readme} has no {BEGIN} … {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{BEGIN}\n{block}{END}{tail}"
    fd, tmp = tempfile.mkstemp(dir=readme.parent, prefix=".README.")
    with os.fdopen(fd, "w") as f:
        f.write(new)
    os.replace(tmp, readme)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, nargs="+", default=[HERE / "results" / "official_pairs.json"],
                    help="one or more JSON files of bench_official.py (each rendered with its own run line)")
    ap.add_argument("--readme", type=Path, default=HERE / "README.md")
    ap.add_argument("--print", action="store_true", help="print the block instead of writing the README")
    args = ap.parse_args()
    block = "\n".join(render({**(d := json.loads(p.read_text())), "meta": {**d.get("meta", {}), "json": p.name}})
                       for p in args.json)
    if args.print:
        print(block)
    else:
        write_block(args.readme, block)
        print(f"wrote the official_pairs block of {args.readme}")


if __name__ == "__main__":
    main()

"""sr_lib against the real official LIIF, LTE and CiaoSR code, in one process, on the same weights.

    .venv/bin/python benchmarks/bench_official.py --official-root DIR              # 192² ×4 + train step
    .venv/bin/python benchmarks/bench_official.py --official-root DIR --quick --repeats 1   # 48² ×4 check
    .venv/bin/python benchmarks/bench_official.py --official-root DIR --sections memory flops

``DIR`` holds the user's checkouts (never copied into this repository, never edited):

    DIR/liif       https://github.com/yinboc/liif
    DIR/lte        https://github.com/jaewon-lee-b/lte
    DIR/CiaoSR     https://github.com/caojiezhang/CiaoSR
    DIR/mmediting  https://github.com/open-mmlab/mmediting at a 0.x tag (CiaoSR's EDSR encoder, mmedit's
                   registry/builder/BaseModel/L1Loss); optional: without it those are stand-ins and the
                   JSON says ``mmedit_source: stub`` (--mmediting to point elsewhere)

Their ``.cuda()``, tensorboardX, mmcv/mmedit, datasets/torchvision/timm imports are neutralised at
run time by ``benchmarks/official_shims.py`` (patched attributes, stub modules in ``sys.modules``).

Sections (``--sections``):

- ``infer`` (issue 16 item 2): per method the official model is built from its own config (LIIF
  ``train_edsr-baseline-liif.yaml``, LTE ``train_edsr-baseline-lte.yaml``, CiaoSR
  ``001_localimplicitsr_edsr_..._nonlocal.py``: EDSR-baseline, full paper sizes), ours with
  ``sr_lib.compat.build_official(config)`` and ``load_state_dict(official.state_dict(), strict=True)``.
  Official forward = the official test path: liif/lte ``test.py::batched_predict(model, inp, coord,
  cell, eval_bsize)`` with the config's ``data_norm``, ``utils.make_coord`` coordinates and the
  ``sr-implicit-paired`` cell (LTE: ``cell·max(scale/scale_max, 1)`` as its ``test.py``), then
  de-normalise, clamp, reshape as ``eval_psnr``; CiaoSR: the mmedit restorer's test forward
  ``restorer(lq, gt=None, test_mode=True, coord, cell)`` with the config's ``test_cfg`` (tile 192 /
  overlap 32; ``metrics`` dropped so that the image is returned), which recomputes the non-local
  attention in every 30000-query batch. Ours = ``sr_lib.engine.inference.super_resolve``. Both are
  warmed up once on a small LR, then alternated ``--repeats`` times; medians, ratio official/ours,
  max |diff| of the outputs (asserted ≤ ``--tol``).
- ``train`` (item 3): LIIF and CiaoSR at the ``cpu`` profile (LR 24², batch 8, 144 queries, Adam at
  the profile's lr; sizes ``CPU_SIZES``, written into the official config dicts in memory). Official
  step = liif ``train_liif.train([batch], model, optimizer)`` (their loop body: normalise, forward,
  ``nn.L1Loss``, zero_grad, backward, step) and the CiaoSR restorer's ``train_step(batch, optimizer)``
  (mmedit ``L1Loss``); ours = ``sr_lib.engine.train._step_loss`` + backward + ``Adam.step`` as ``fit``
  runs it. Same batch tensors, same optimiser settings; first-step losses and the parameters after it
  are compared.
- ``memory`` (item 4): peak RSS of ``super_resolve`` in a fresh process per case against
  ``sr_lib.engine.memory.estimate`` — LIIF, CiaoSR (tiles 192/32 at ≤ ×4, its protocol) and EQSR at
  ×2, ×4, ×30 to a 2040×1350 output, cpu and paper sizes (``--quick``: a 384×256 output, cpu sizes).
- ``flops`` (item 5): our decoder's achieved FLOP/s (``FlopCounterMode`` over the query calls) against
  a 2048² float32 matmul measured in the same run.

Output: a table on stdout and ``benchmarks/results/official_pairs.json`` (``--quick``:
``official_pairs_quick.json``): per method and size ``official_s``, ``ours_s``, ``ratio``,
``max_abs_diff``, ``threads``, ``loadavg`` (before / during / after), ``commit``, ``date``.
Timings are never asserted in tests; compare numbers within one run.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import official_shims as shims  # noqa: E402

# the official make_coord calls torch.meshgrid without ``indexing`` (its default, 'ij', is what they mean)
warnings.filterwarnings("ignore", message="torch.meshgrid: in an upcoming release")

LIIF_CFG = "configs/train-div2k/train_edsr-baseline-liif.yaml"
LTE_CFG = "configs/train-div2k/train_edsr-baseline-lte.yaml"
LIIF_TEST_CFG = "configs/test/test-div2k-4.yaml"
CIAOSR_CFG = "configs/001_localimplicitsr_edsr_div2k_g1_c64b16_1000k_unfold_lec_mulwkv_res_nonlocal.py"
WARMUP_SIDE = 24


# ----------------------------------------------------------------------------------------- utils
def _git(path: Path, *args) -> str:
    try:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def repo_commit() -> dict:
    dirty = _git(REPO, "status", "--porcelain", "--", "sr_lib")
    return {"commit": _git(REPO, "rev-parse", "HEAD") or "unknown", "sr_lib_dirty": bool(dirty)}


def _no_local_path(arg: str, args) -> str:
    """Command-line words with this machine's checkout paths replaced by their option's name."""
    for opt in ("official_root", "mmediting"):
        p = getattr(args, opt)
        if p is not None and arg == str(p):
            return f"<{opt.replace('_', '-')}>"
    return arg


class LoadMonitor:
    """1-minute load average sampled every ``every`` s in a thread while a section runs."""

    def __init__(self, every: float = 2.0):
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self.before = os.getloadavg()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.after = os.getloadavg()

    def summary(self) -> dict:
        s = self.samples or [os.getloadavg()[0]]
        return {"before": [round(x, 2) for x in self.before], "after": [round(x, 2) for x in self.after],
                "during_1min_mean": round(statistics.fmean(s), 2), "during_1min_max": round(max(s), 2),
                "during_samples": len(self.samples), "cpus": os.cpu_count()}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def alternate(official, ours, repeats: int):
    """Run official, ours, official, ours, ... ``repeats`` times each; returns (official times,
    ours times, first official output, first ours output)."""
    t_off, t_ours, first = [], [], None
    for r in range(repeats):
        a, y_off = timed(official)
        b, y_ours = timed(ours)
        t_off.append(a)
        t_ours.append(b)
        if r == 0:
            first = (y_off, y_ours)
        del y_off, y_ours
    return t_off, t_ours, first[0], first[1]


def sr_super_resolve(model, lr, out_hw, **kw):
    """``sr_lib.engine.inference.super_resolve(model, lr, out_size=...)`` where it exists, else the
    model's own ``super_resolve(lr, out_hw)``; keyword options it does not take are dropped."""
    try:
        from sr_lib.engine.inference import super_resolve as fn
        params = inspect.signature(fn).parameters
        return fn(model, lr, out_size=tuple(out_hw), **{k: v for k, v in kw.items() if k in params})
    except ImportError:
        params = inspect.signature(model.super_resolve).parameters
        with torch.no_grad():
            return model.super_resolve(lr, tuple(out_hw), **{k: v for k, v in kw.items() if k in params})


def default_chunk() -> int:
    try:
        from sr_lib.engine.inference import DEFAULT_CHUNK
    except ImportError:
        from sr_lib.models.base import DEFAULT_CHUNK
    return DEFAULT_CHUNK


def build_ours(config: dict):
    from sr_lib.compat import build_official
    return build_official(config)


def load_same_weights(ours, official_sd) -> None:
    ours.load_state_dict(official_sd, strict=True)


def matmul_gflops(n: int = 2048, repeat: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    ts = [timed(lambda: torch.mm(a, b))[0] for _ in range(repeat)]
    return 2 * n ** 3 / statistics.median(ts) / 1e9


def rss_now_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024 ** 2
    return float("nan")


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


# ------------------------------------------------------------------------------ official repos
class Official:
    """The user's official checkouts, imported through the shims (lazily, per repository)."""

    def __init__(self, root: Path, mmediting: Path | None):
        self.root = Path(root)
        self.mmediting = mmediting
        shims.patch_cuda()
        self._liif = self._lte = self._ciaosr = None

    @property
    def liif(self):
        if self._liif is None:
            self._liif = shims.import_liif_style(self.root / "liif", extra=("train_liif",))
            self._liif.train_liif.tqdm = lambda it, **kw: it        # progress bar off (display only)
            shims.APPLIED.append("liif train_liif.tqdm -> identity (progress bar only)")
        return self._liif

    @property
    def lte(self):
        if self._lte is None:
            self._lte = shims.import_liif_style(self.root / "lte")
        return self._lte

    @property
    def ciaosr(self):
        if self._ciaosr is None:
            self._ciaosr = shims.import_ciaosr(self.root / "CiaoSR", self.liif.utils.make_coord, self.mmediting)
            self._ciaosr.config, self._ciaosr.config_note = shims.load_mmedit_config(self.root / "CiaoSR" / CIAOSR_CFG)
        return self._ciaosr

    def commits(self) -> dict:
        out = {}
        for name in ("liif", "lte", "CiaoSR", "mmediting"):
            p = self.mmediting if name == "mmediting" else self.root / name
            if p is not None and Path(p).exists():
                out[name] = _git(Path(p), "rev-parse", "HEAD") or "not a git checkout"
        return out

    def yaml(self, repo: str, rel: str) -> dict:
        import yaml
        with open(self.root / repo / rel) as f:
            return yaml.load(f, Loader=yaml.FullLoader)


def ciaosr_generator_config(gen_cfg: dict) -> dict:
    """The generator dict with ``type`` as the dotted class name (sr_lib's official key)."""
    cfg = copy.deepcopy(gen_cfg)
    t = cfg["type"]
    if isinstance(t, type):
        cfg["type"] = f"{t.__module__}.{t.__name__}"
    return cfg


# -------------------------------------------------------------------------------- inference pairs
def liif_style_pair(off: Official, method: str, side: int, scale: int):
    """(official_fn(lr), ours_fn(lr), ours model, meta) for LIIF or LTE at the paper config."""
    repo = off.liif if method == "liif" else off.lte
    repo_name = "liif" if method == "liif" else "lte"
    train_cfg = off.yaml(repo_name, LIIF_CFG if method == "liif" else LTE_CFG)
    test_cfg = off.yaml(repo_name, LIIF_TEST_CFG)
    spec = train_cfg["model"]
    torch.manual_seed(0)
    model = repo.models.make(copy.deepcopy(spec)).cuda().eval()          # test.py: models.make(...).cuda()
    ours = build_ours(copy.deepcopy(spec)).float().eval()
    load_same_weights(ours, model.state_dict())
    norm = test_cfg.get("data_norm") or train_cfg["data_norm"]
    bsize = test_cfg["eval_bsize"]
    utils, test = repo.utils, repo.test
    # LTE test.py: batched_predict(model, inp, coord, cell * max(scale / scale_max, 1), eval_bsize)
    cell_factor = max(scale / 4, 1) if method == "lte" else 1.0

    def official(lr):
        h, w = lr.shape[-2:]
        H, W = h * scale, w * scale
        t = norm["inp"]
        inp_sub = torch.FloatTensor(t["sub"]).view(1, -1, 1, 1).cuda()
        inp_div = torch.FloatTensor(t["div"]).view(1, -1, 1, 1).cuda()
        t = norm["gt"]
        gt_sub = torch.FloatTensor(t["sub"]).view(1, 1, -1).cuda()
        gt_div = torch.FloatTensor(t["div"]).view(1, 1, -1).cuda()
        coord = utils.make_coord((H, W)).unsqueeze(0)                  # sr-implicit-paired wrapper
        cell = torch.ones_like(coord)
        cell[:, :, 0] *= 2 / H
        cell[:, :, 1] *= 2 / W
        inp = (lr - inp_sub) / inp_div
        pred = test.batched_predict(model, inp, coord, cell * cell_factor, bsize)
        pred = pred * gt_div + gt_sub
        pred.clamp_(0, 1)
        return pred.view(lr.shape[0], H, W, 3).permute(0, 3, 1, 2).contiguous()

    def mine(lr):
        h, w = lr.shape[-2:]
        return sr_super_resolve(ours, lr, (h * scale, w * scale), cell_scale=cell_factor)

    meta = {"config": f"{repo_name}/{LIIF_CFG if method == 'liif' else LTE_CFG}", "eval_bsize": bsize,
            "official_path": f"{repo_name}/test.py::batched_predict", "cell_factor": cell_factor}
    return official, mine, ours, meta


def ciaosr_pair(off: Official, side: int, scale: int):
    c = off.ciaosr
    cfg = c.config
    test_cfg = {k: v for k, v in cfg["test_cfg"].items() if k != "metrics"}   # return the image
    test_cfg["scale"] = scale
    torch.manual_seed(0)
    restorer = c.builder.build_model(copy.deepcopy(cfg["model"]), train_cfg=cfg.get("train_cfg"),
                                     test_cfg=shims.ConfigDict(test_cfg)).eval()
    ours = build_ours(ciaosr_generator_config(cfg["model"]["generator"])).float().eval()
    load_same_weights(ours, restorer.generator.state_dict())
    make_coord = sys.modules["mmedit.datasets.pipelines.utils"].make_coord

    def official(lr):
        h, w = lr.shape[-2:]
        H, W = h * scale, w * scale
        coord = make_coord((H, W)).unsqueeze(0)                          # GenerateCoordinateAndCell
        cell = torch.ones_like(coord)
        cell[:, :, 0] *= 2 / H
        cell[:, :, 1] *= 2 / W
        return restorer(lr, gt=None, test_mode=True, coord=coord, cell=cell)["output"]

    def mine(lr):
        h, w = lr.shape[-2:]
        return sr_super_resolve(ours, lr, (h * scale, w * scale), tile=test_cfg.get("tile") or 0,
                                tile_overlap=test_cfg.get("tile_overlap") or 0)

    meta = {"config": f"CiaoSR/{CIAOSR_CFG}", "config_note": c.config_note, "mmedit_source": c.mmedit_source,
            "eval_bsize": cfg["model"]["generator"].get("eval_bsize"), "test_cfg": test_cfg,
            "official_path": "mmedited CiaoSR restorer forward(test_mode=True) -> forward_test"}
    return official, mine, ours, meta


GEMM_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm", "aten::addmm_", "aten::matmul", "aten::linear")


def decoder_flops(ours, lr, scale: int, repeats: int, cell_factor: float = 1.0) -> dict:
    """Our decoder alone (features computed once): FLOPs of the query calls (``FlopCounterMode``: matrix
    products), the median time of ``super_resolve``'s chunked decode (``engine.inference._decode_flat``:
    chunks in worker threads), and — from one profiled decode in this thread, on one thread like a
    worker — the share of the time spent inside matrix products (the rest is what limits the rate)."""
    from torch.utils.flop_counter import FlopCounterMode
    from sr_lib.geometry import query_grid
    h, w = lr.shape[-2:]
    H, W = h * scale, w * scale
    chunk = default_chunk()
    try:
        from sr_lib.engine.inference import _decode_flat
    except ImportError:
        _decode_flat = None
    with torch.no_grad():
        feat = ours.encode(ours.normalize(lr), (float(scale), float(scale)))
        coord, cell = query_grid((H, W), lr.shape[0], "flat", cell_factor, dtype=lr.dtype)

        def loop():                  # the chunks in this thread (under the flop counter and the profiler)
            return [ours.query(feat, coord[:, i:i + chunk], cell[:, i:i + chunk]) for i in range(0, H * W, chunk)]

        def decode():
            if _decode_flat is None:
                return loop()
            return _decode_flat(ours, feat, (H, W), lr.shape[0], chunk, cell_factor, lr)

        with FlopCounterMode(display=False) as fc:
            loop()
        flop = fc.get_total_flops()
        decode()
        ts = [timed(decode)[0] for _ in range(max(1, repeats))]
        threads = torch.get_num_threads()
        torch.set_num_threads(1)     # as one worker of the engine's decode runs its chunks
        try:
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                loop()
        finally:
            torch.set_num_threads(threads)
    events = prof.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    gemm_us = sum(e.self_cpu_time_total for e in events if e.key in GEMM_OPS)
    top = sorted((e for e in events if e.key not in GEMM_OPS), key=lambda e: -e.self_cpu_time_total)[:4]
    s = statistics.median(ts)
    return {"decoder_gflop": flop / 1e9, "decoder_s": s, "decoder_gflops": flop / s / 1e9, "chunk": chunk,
            "decoder_path": "engine.inference._decode_flat" if _decode_flat else "query loop",
            "decoder_gemm_share": gemm_us / total_us if total_us else float("nan"),
            "decoder_gemm_gflops": flop / (gemm_us / 1e6) / 1e9 if gemm_us else float("nan"),
            "decoder_top_other_ops": {e.key: round(e.self_cpu_time_total / total_us, 3) for e in top}}


def run_infer(off: Official, methods, sides, scale: int, repeats: int, tol: float, flops: bool,
              matmul: float | None, common: dict) -> list:
    rows = []
    for method in methods:
        for side in sides:
            print(f"-- {method} {side}x{side} x{scale}: building", flush=True)
            if method == "ciaosr":
                official, mine, ours, meta = ciaosr_pair(off, side, scale)
            else:
                official, mine, ours, meta = liif_style_pair(off, method, side, scale)
            g = torch.Generator().manual_seed(side)
            lr = torch.rand(1, 3, side, side, generator=g)
            warm = torch.rand(1, 3, WARMUP_SIDE, WARMUP_SIDE, generator=g)
            official(warm)
            mine(warm)
            with LoadMonitor() as mon:
                t_off, t_ours, y_off, y_ours = alternate(lambda: official(lr), lambda: mine(lr), repeats)
            if y_off.shape != y_ours.shape:
                raise AssertionError(f"{method}: output shapes differ: official {tuple(y_off.shape)}, "
                                     f"ours {tuple(y_ours.shape)}")
            diff = (y_off - y_ours).abs().max().item()
            row = {"section": "infer", "method": method, "size": "paper", "lr": f"{side}x{side}", "scale": scale,
                   "out": f"{side * scale}x{side * scale}", "dtype": "float32",
                   "official_s": statistics.median(t_off), "ours_s": statistics.median(t_ours),
                   "official_times": t_off, "ours_times": t_ours, "max_abs_diff": diff, "tol": tol,
                   "equal": diff <= tol, "loadavg": mon.summary(), **meta, **common}
            row["ratio"] = row["official_s"] / row["ours_s"]
            if flops:
                row.update(decoder_flops(ours, lr, scale, repeats, meta.get("cell_factor", 1.0)))
                if matmul:
                    row["matmul_gflops"] = matmul
                    row["decoder_vs_matmul"] = row["decoder_gflops"] / matmul
            rows.append(row)
            print(f"   official {row['official_s']:.3f} s  ours {row['ours_s']:.3f} s  ratio {row['ratio']:.2f}x  "
                  f"max|diff| {diff:.2e}  load {row['loadavg']['during_1min_mean']}", flush=True)
            if flops:
                print(f"   decoder {row['decoder_gflops']:.1f} GFLOP/s = {row.get('decoder_vs_matmul', float('nan')):.2f}"
                      f" of the matmul; {row['decoder_gemm_share']:.2f} of its time in matrix products (those at "
                      f"{row['decoder_gemm_gflops']:.1f} GFLOP/s); other ops: {row['decoder_top_other_ops']}", flush=True)
            if diff > tol:
                raise AssertionError(f"{method} {side}² x{scale}: outputs differ by {diff:.3e} > {tol:g}")
            del official, mine, ours, y_off, y_ours
    return rows


# ------------------------------------------------------------------------------------ train step
def synthetic_batch(cfg, layout: str = "flat") -> dict:
    """One ``cpu``-profile batch (``sr_lib.data.pairs.sample_batch``) from fixed random 128² images."""
    from sr_lib.data.pairs import TrainImages, sample_batch
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(4)]
    images = TrainImages(imgs, [f"rand{i}" for i in range(len(imgs))], "synthetic")
    return sample_batch(images, cfg.pair_spec(layout=layout), cfg.batch_size, seed=0, step=0)


def ours_train_step(model, opt, batch):
    """One step of ``sr_lib.engine.train.fit``: ``_step_loss`` + zero_grad + backward + Adam step."""
    from sr_lib.engine.train import _step_loss
    loss = _step_loss(model, model, batch, torch.device("cpu"), torch.float32)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _max_param_diff(a_sd: dict, b_sd: dict) -> float:
    return max((a_sd[k].float() - b_sd[k].float()).abs().max().item() for k in b_sd)


def run_train(off: Official, methods, repeats: int, common: dict, loss_tol: float = 1e-6) -> list:
    from sr_lib.config import config_for
    rows = []
    for method in methods:
        cfg = config_for("cpu", method, "edsr-baseline")
        sizes = cfg.sizes
        enc = sizes["edsr-baseline"]
        hidden = list(sizes[method]["hidden"])
        batch = synthetic_batch(cfg)
        torch.manual_seed(0)
        if method == "liif":
            repo = off.liif
            ycfg = off.yaml("liif", LIIF_CFG)
            spec = copy.deepcopy(ycfg["model"])
            spec["args"]["encoder_spec"]["args"].update(n_resblocks=enc["n_resblocks"], n_feats=enc["n_feats"])
            spec["args"]["imnet_spec"]["args"]["hidden_list"] = hidden
            official = repo.models.make(copy.deepcopy(spec)).cuda()
            ours = build_ours(copy.deepcopy(spec)).float()
            load_same_weights(ours, official.state_dict())
            opt_off = repo.utils.make_optimizer(official.parameters(), {
                "name": "adam", "args": {"lr": cfg.lr, "betas": tuple(cfg.betas), "weight_decay": cfg.weight_decay}})
            train_mod = repo.train_liif
            train_mod.config = {"data_norm": ycfg["data_norm"]}
            obatch = {"inp": batch["lr"], "coord": batch["coord"], "cell": batch["cell"], "gt": batch["gt"]}

            def official_step():
                return train_mod.train([dict(obatch)], official, opt_off)     # their loop over one batch
            meta = {"config": f"liif/{LIIF_CFG} (cpu sizes in memory)",
                    "official_path": "liif train_liif.py::train (nn.L1Loss)"}
            official_sd = official.state_dict
        else:
            c = off.ciaosr
            model_cfg = copy.deepcopy(c.config["model"])
            gen = model_cfg["generator"]
            gen["encoder"].update(mid_channels=enc["n_feats"], num_blocks=enc["n_resblocks"])
            for k in ("imnet_q", "imnet_k", "imnet_v"):
                gen[k]["hidden_list"] = list(hidden)
            gen_for_ours = ciaosr_generator_config(gen)
            restorer = c.builder.build_model(model_cfg, train_cfg=c.config.get("train_cfg"),
                                             test_cfg=shims.ConfigDict(c.config["test_cfg"]))
            ours = build_ours(gen_for_ours).float()
            load_same_weights(ours, restorer.generator.state_dict())
            oargs = {k: v for k, v in c.config["optimizers"].items() if k != "type"}
            oargs.update(lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
            opt_off = getattr(torch.optim, c.config["optimizers"]["type"])(restorer.parameters(), **oargs)
            restorer.train()
            obatch = {"lq": batch["lr"], "gt": batch["gt"], "coord": batch["coord"], "cell": batch["cell"]}

            def official_step():
                return restorer.train_step(dict(obatch), opt_off)["log_vars"]["loss_pix"]
            meta = {"config": f"CiaoSR/{CIAOSR_CFG} (cpu sizes in memory)", "config_note": c.config_note,
                    "mmedit_source": c.mmedit_source, "official_path": "mmedited CiaoSR.train_step (mmedit L1Loss)"}
            official_sd = restorer.generator.state_dict
        ours.train()
        from sr_lib.engine.train import make_optimizer
        opt_ours = make_optimizer(ours, cfg)              # the optimiser fit() builds (same Adam settings)
        with LoadMonitor() as mon:
            t_off, t_ours, l_off, l_ours = alternate(official_step, lambda: ours_train_step(ours, opt_ours, batch),
                                                     1)
            pdiff = _max_param_diff(official_sd(), ours.state_dict())
            a, b, _, _ = alternate(official_step, lambda: ours_train_step(ours, opt_ours, batch), repeats)
            t_off += a
            t_ours += b
        row = {"section": "train", "method": method, "size": "cpu", "lr": f"{cfg.lr_size}x{cfg.lr_size}",
               "batch": cfg.batch_size, "queries": cfg.n_queries, "optimizer": f"Adam lr={cfg.lr:g}",
               "official_s": statistics.median(t_off), "ours_s": statistics.median(t_ours),
               "official_times": t_off, "ours_times": t_ours,
               "first_loss_official": l_off, "first_loss_ours": l_ours,
               "first_loss_abs_diff": abs(l_off - l_ours),
               "max_param_diff_after_first_step": pdiff, "loadavg": mon.summary(), **meta, **common}
        row["ratio"] = row["official_s"] / row["ours_s"]
        row["max_abs_diff"] = row["first_loss_abs_diff"]
        row["loss_equal"] = row["first_loss_abs_diff"] <= loss_tol * max(1.0, abs(l_off))
        rows.append(row)
        print(f"-- train {method}: official {row['official_s'] * 1e3:.1f} ms/step  ours {row['ours_s'] * 1e3:.1f} "
              f"ms/step  ratio {row['ratio']:.2f}x  loss {l_off:.7f} vs {l_ours:.7f}  "
              f"params after step 1 max|diff| {pdiff:.2e}", flush=True)
        if not row["loss_equal"]:
            raise AssertionError(f"train {method}: first-step losses differ: {l_off!r} vs {l_ours!r}")
    return rows


# ---------------------------------------------------------------------------------------- memory
def memory_cases(quick: bool, only=None) -> list:
    """[method, size, lr_hw, scale, tile] per case; ``only``: ``METHOD[:SIZE[:SCALE]]`` patterns."""
    out_hw = (256, 384) if quick else (1350, 2040)
    sizes = ["cpu"] if quick else ["cpu", "paper"]
    cases = []
    for size in sizes:
        for method in ("liif", "ciaosr", "eqsr"):
            for s in (2, 4, 30):
                lr_hw = (max(1, out_hw[0] // s), max(1, out_hw[1] // s))
                tile = 192 if method == "ciaosr" and s <= 4 else 0
                cases.append([method, size, list(lr_hw), s, tile])
    if only:
        keep = lambda c, pat: all(a == b for a, b in zip(pat.split(":"), (c[0], c[1], str(c[3]))))  # noqa: E731
        cases = [c for c in cases if any(keep(c, pat) for pat in only)]
    return cases


def _status_gb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` (peak RSS since the last reset) of this process, GB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024 ** 2
    return float("nan")


def _reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux ``clear_refs`` 5), so that ``VmHWM`` is the peak of
    what runs next (not of the imports, the model build or the memory probe)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure_memory(method: str, size: str, lr_hw, scale: int, tile: int) -> dict:
    """In a fresh process: the library's estimate, then one ``super_resolve``: its peak RSS (``VmHWM``
    reset just before it) minus the RSS before it (interpreter + torch + weights + LR), which is what the
    estimate predicts (``sr_lib.engine.memory``: tensor memory the call adds)."""
    import gc
    import sr_lib
    from sr_lib.config import config_for, model_options
    from sr_lib.engine import memory
    backbone = "eqnet" if method == "eqsr" else "edsr-baseline"
    torch.manual_seed(0)
    opts = model_options(config_for("cpu"), method, backbone) if size == "cpu" else {"backbone": backbone}
    model = sr_lib.make(method, **opts).eval()
    overlap = 32 if tile else 0
    row = {"section": "memory", "method": method, "size": size, "scale": scale, "tile": tile, "chunk": default_chunk()}
    asked = f"{lr_hw[0] * scale}x{lr_hw[1] * scale}"
    if "tile" in inspect.signature(memory.estimate).parameters:
        # a request the budget refuses (EQSR decodes the whole 2K grid at once: ~9-31 GB) is measured at
        # the largest output, halving the sides, that fits: the estimate is checked where it can run
        budget = memory.default_budget()
        for _ in range(6):
            est = memory.estimate(model, tuple(lr_hw), (lr_hw[0] * scale, lr_hw[1] * scale), default_chunk(),
                                  tile=tile, tile_overlap=overlap)
            if est.peak <= budget or min(lr_hw) < 4:
                break
            row.setdefault("refused_at", {"out": asked, "est_peak_gb": est.peak / 1024 ** 3})
            lr_hw = [n // 2 for n in lr_hw]
    out_hw = (lr_hw[0] * scale, lr_hw[1] * scale)
    row.update(lr=f"{lr_hw[0]}x{lr_hw[1]}", out=f"{out_hw[0]}x{out_hw[1]}")
    try:
        params = inspect.signature(memory.estimate).parameters
        if "tile" in params:
            est = memory.estimate(model, tuple(lr_hw), out_hw, default_chunk(), tile=tile, tile_overlap=overlap)
            row["est_of"] = "tiled call" if tile else "whole image"
        else:                        # older estimate: one tile of the tiled protocol
            est_in = (min(tile, lr_hw[0]), min(tile, lr_hw[1])) if tile else tuple(lr_hw)
            est = memory.estimate(model, est_in, (est_in[0] * scale, est_in[1] * scale), default_chunk())
            row["est_of"] = "one tile" if tile else "whole image"
        row["est_peak_gb"] = est.peak / 1024 ** 3
        row["est_encode_gb"], row["est_decode_gb"] = est.encode / 1024 ** 3, est.decode / 1024 ** 3
    except Exception as e:
        row["est_error"] = f"{type(e).__name__}: {e}"
    lr = torch.rand(1, 3, *lr_hw, generator=torch.Generator().manual_seed(0))
    gc.collect()
    row["peak_reset"] = _reset_peak_rss()
    row["rss_before_gb"] = _status_gb("VmRSS")
    t0 = time.perf_counter()
    try:
        y = sr_super_resolve(model, lr, out_hw, tile=tile, tile_overlap=overlap)
        row["total_s"] = time.perf_counter() - t0
        del y
    except Exception as e:           # MemoryBudgetError: refused up front (its message has the estimate)
        row["refused"] = f"{type(e).__name__}: {e}"
    row["peak_rss_gb"] = _status_gb("VmHWM") if row["peak_reset"] else peak_rss_gb()
    row["peak_delta_gb"] = row["peak_rss_gb"] - row["rss_before_gb"]
    if "est_peak_gb" in row and "total_s" in row:
        row["delta_over_est"] = row["peak_delta_gb"] / row["est_peak_gb"]
        row["rss_over_est"] = row["peak_rss_gb"] / row["est_peak_gb"]
        row["within_1.5x"] = 1 / 1.5 <= row["delta_over_est"] <= 1.5
        row["judged_on"] = "peak RSS - RSS before"
        if row["delta_over_est"] < 1 / 1.5:
            # RSS grows less than the tensors the call creates when it reuses heap pages freed earlier in
            # the process (the estimate's own probe, ~0.1 GB): small calls read low. Count the call's live
            # tensor bytes directly (the same call again, under memory.LiveBytes) and judge on those.
            from sr_lib.engine.memory import LiveBytes
            with torch.no_grad(), LiveBytes(workspace=True) as live:
                y = sr_super_resolve(model, lr, out_hw, tile=tile, tile_overlap=overlap)
            del y
            row["live_peak_gb"] = live.peak / 1024 ** 3
            row["live_over_est"] = row["live_peak_gb"] / row["est_peak_gb"]
            row["within_1.5x"] = 1 / 1.5 <= row["live_over_est"] <= 1.5
            row["judged_on"] = "live tensor bytes (RSS reads low: heap pages reused)"
    return row


def run_memory(quick: bool, threads: int, common: dict, only=None, done=(), save=None) -> list:
    """One fresh process per case; ``done``: rows of an earlier run (``--resume``) whose cases are kept,
    not measured again; ``save(rows)`` after every case (a long run that stops keeps what it measured)."""
    rows = list(done)
    have = {(r["method"], r["size"], int(r["scale"])) for r in rows if "error" not in r}
    rows = [r for r in rows if (r["method"], r["size"], int(r["scale"])) in have]
    for case in memory_cases(quick, only):
        if (case[0], case[1], int(case[3])) in have:
            continue
        cmd = [sys.executable, __file__, "--one-memory", json.dumps(case), "--threads", str(threads)]
        with LoadMonitor() as mon:
            res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            row = {"section": "memory", "method": case[0], "size": case[1], "scale": case[3],
                   "error": (res.stderr.strip().splitlines() or ["?"])[-1]}
        else:
            row = json.loads(res.stdout.strip().splitlines()[-1])
        row.update(loadavg=mon.summary(), **common)
        rows.append(row)
        if save is not None:
            save(rows)
        print(f"-- memory {row['method']} {row['size']} x{row['scale']} {row.get('lr', '')} -> {row.get('out', '')}"
              f"{' (2K refused: ' + format(row['refused_at']['est_peak_gb'], '.1f') + ' GB)' if 'refused_at' in row else ''}: "
              f"est {row.get('est_peak_gb', float('nan')):.2f} GB  "
              f"peak RSS {row.get('peak_rss_gb', float('nan')):.2f} GB (+{row.get('peak_delta_gb', float('nan')):.2f} "
              f"over the {row.get('rss_before_gb', float('nan')):.2f} GB before: x{row.get('delta_over_est', float('nan')):.2f})"
              f"  {row.get('refused', row.get('error', ''))[:100]}", flush=True)
    return rows


# ------------------------------------------------------------------------------------------ main
def show(title: str, rows: list, keys: list) -> None:
    print(f"\n== {title}")
    print(" | ".join(keys))
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k, "")
            if isinstance(v, dict):
                v = v.get("during_1min_mean", "")
            cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
        print(" | ".join(cells))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official-root", type=Path, help="folder with liif/, lte/, CiaoSR/ (and mmediting/)")
    ap.add_argument("--mmediting", type=Path, default=None,
                    help="mmediting 0.x checkout (default: OFFICIAL_ROOT/mmediting when it exists)")
    ap.add_argument("--sections", nargs="*", default=["infer", "train"], choices=["infer", "train", "memory", "flops"])
    ap.add_argument("--methods", nargs="*", default=["liif", "lte", "ciaosr"])
    ap.add_argument("--quick", action="store_true", help="48² LR instead of 192² (a correctness check)")
    ap.add_argument("--sides", nargs="*", type=int, default=None, help="LR sides (default 192, --quick 48)")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each side, alternated (>= 3 for the record)")
    ap.add_argument("--train-repeats", type=int, default=10, help="timed training steps of each side")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-5, help="max |official - ours| allowed at fp32")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--memory-only", nargs="*", default=None, metavar="METHOD[:SIZE[:SCALE]]",
                    help="memory section: only these cases, e.g. liif ciaosr:cpu eqsr:paper:30")
    ap.add_argument("--one-memory", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--resume", action="store_true",
                    help="memory: keep the cases already in --json, measure the others (the JSON is written after every case)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.one_memory:
        print(json.dumps(measure_memory(*json.loads(args.one_memory))))
        return 0
    needs_official = {"infer", "train", "flops"} & set(args.sections)
    if needs_official and args.official_root is None:
        ap.error("--official-root is required for the infer / train / flops sections")
    sides = args.sides or ([48] if args.quick else [192])
    out_json = args.json or HERE / "results" / ("official_pairs_quick.json" if args.quick else "official_pairs.json")
    mmediting = args.mmediting
    if mmediting is None and args.official_root is not None and (args.official_root / "mmediting").exists():
        mmediting = args.official_root / "mmediting"
    date = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    commit = repo_commit()
    common = {"threads": torch.get_num_threads(), "commit": commit["commit"], "sr_lib_dirty": commit["sr_lib_dirty"],
              "date": date}
    report = {"meta": {**common, "torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine(), "cpus": os.cpu_count(), "quick": args.quick,
                       "repeats": args.repeats, "train_repeats": args.train_repeats, "loadavg_start": os.getloadavg(),
                       "argv": [_no_local_path(a, args) for a in sys.argv[1:]]}}
    off = Official(args.official_root, mmediting) if needs_official else None
    if off is not None:
        report["meta"]["official_commits"] = off.commits()
    t_start = time.perf_counter()
    matmul = None
    if "flops" in args.sections:
        matmul = matmul_gflops()
        report["meta"]["matmul_gflops"] = matmul
        print(f"== matmul: 2048² float32 torch.mm {matmul:.1f} GFLOP/s ({args.threads} threads)")
    if "infer" in args.sections or "flops" in args.sections:
        if args.repeats < 3 and not args.quick:
            print("note: --repeats < 3: not a record run", flush=True)
        rows = run_infer(off, args.methods, sides, args.scale, args.repeats, args.tol, "flops" in args.sections,
                         matmul, common)
        report["infer"] = rows
        show(f"inference x{args.scale}, fp32, {args.threads} threads: official test path vs sr_lib super_resolve",
             rows, ["method", "lr", "out", "official_s", "ours_s", "ratio", "max_abs_diff", "loadavg"]
             + (["decoder_gflops", "decoder_vs_matmul", "decoder_gemm_share"] if matmul else []))
    if "train" in args.sections:
        rows = run_train(off, [m for m in args.methods if m in ("liif", "ciaosr")], args.train_repeats, common)
        report["train"] = rows
        show("training step at the cpu profile (LR 24², batch 8, 144 queries, Adam)", rows,
             ["method", "official_s", "ours_s", "ratio", "first_loss_abs_diff", "max_param_diff_after_first_step",
              "loadavg"])
    def write(rep) -> None:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_json.with_suffix(".tmp")
        tmp.write_text(json.dumps(rep, indent=1, default=str))
        tmp.replace(out_json)

    if "memory" in args.sections:
        done = json.loads(out_json.read_text()).get("memory", []) if args.resume and out_json.is_file() else []
        rows = run_memory(args.quick, args.threads, common, args.memory_only, done=done,
                          save=lambda rows: write({**report, "memory": rows}))
        report["memory"] = rows
        show("memory: peak RSS of one super_resolve (fresh process) vs sr_lib.engine.memory.estimate", rows,
             ["method", "size", "lr", "scale", "out", "tile", "est_peak_gb", "rss_before_gb", "peak_rss_gb",
              "peak_delta_gb", "delta_over_est", "total_s"])
    report["meta"]["shims"] = list(shims.APPLIED)
    report["meta"]["wall_s"] = time.perf_counter() - t_start
    report["meta"]["loadavg_end"] = os.getloadavg()
    write(report)
    print(f"\nwrote {out_json} (wall {report['meta']['wall_s']:.0f} s; commit {commit['commit'][:10]}"
          f"{' + uncommitted sr_lib changes' if commit['sr_lib_dirty'] else ''})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

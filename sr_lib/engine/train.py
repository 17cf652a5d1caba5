"""Training: L1 loss, Adam, step lr schedule with optional warm-up, optional EMA; resumable bit-for-bit; cached runs.

    model = sr_lib.engine.train.train("liif", "edsr-baseline", profile="cpu", seed=0)
    python -m sr_lib train --method liif --backbone edsr-baseline --profile smoke --seed 0

The objective is the official one (``reference-implementations.md`` §1.3): L1 between the
decoder's output and the HR pixels, both in the model's normalised space (``model.normalize``).

Reproducibility
- A batch is a pure function of (seed, step) (``sr_lib.data.pairs.sample_batch``); the model is
  initialised from ``torch.manual_seed(seed)``; CPU runs use deterministic algorithms.
- A checkpoint holds model, optimizer, scheduler, EMA, step and the Python / numpy / torch RNG
  states (for stochastic layers such as drop-path). Resuming from it continues exactly where the
  uninterrupted run would be: the final weights are equal bit for bit. On CUDA,
  ``grid_sample``'s backward has no deterministic kernel (pytorch#68959), so GPU runs are
  reproducible only up to that.
- A finished run's ``final.pt`` is found by its key (``sr_lib.engine.runs``) and reused once it
  passes the completeness check; one process at a time trains a run (``runs.RunLock``).
- A NaN or infinite loss stops training at once (``TrainingDiverged``): that step is not saved
  and nothing is cached as finished.
"""
from __future__ import annotations

import bisect
import json
import math
import os
import random
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sr_lib.config import TrainConfig, config_for, model_options
from sr_lib.data.pairs import TrainImages, load_training_images, sample_batch
from sr_lib.engine.device import get_device
from sr_lib.engine import ddp
from sr_lib.engine import progress as _progress   # bars and run events that reach the runner's terminal
from sr_lib.engine.checkpoint import (CheckpointError, checkpoint_dict, load_checkpoint, model_from_checkpoint,
                                     read_checkpoint, save_checkpoint)
from sr_lib.engine.runs import (RunCacheError, RunLock, check_finished, clean_stale_tmp, clear_command, key_payload,
                                run_dir, run_key, write_spec)
from sr_lib.models.registry import check_model_args, make


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: training stopped, that step was not saved (one line)."""


# ----------------------------------------------------------------------------------------------
# seeds and RNG states (stored as primitives/tensors so weights_only loading works)
# ----------------------------------------------------------------------------------------------

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)         # also every CUDA device


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(tuple(state["python"][:1]) + (tuple(state["python"][1]),) + tuple(state["python"][2:]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------------------------
# EMA of the weights (BasicSR's net_g_ema: parameters averaged, buffers copied)
# ----------------------------------------------------------------------------------------------

class EMA:
    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.params = {k: v.detach().clone() for k, v in model.named_parameters()}
        self.buffers = {k: v.detach().clone() for k, v in model.named_buffers()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        for k, v in model.named_parameters():
            self.params[k].mul_(self.decay).add_(v.detach(), alpha=1 - self.decay)
        for k, v in model.named_buffers():
            self.buffers[k].copy_(v)

    def state_dict(self) -> dict:
        return {**self.params, **self.buffers}

    def load_state_dict(self, sd: dict) -> None:
        for table in (self.params, self.buffers):
            for k in table:
                table[k].copy_(sd[k])


# ----------------------------------------------------------------------------------------------
# the loop
# ----------------------------------------------------------------------------------------------

def _target(model, gt: torch.Tensor, layout: str) -> torch.Tensor:
    """HR pixels in the model's normalised space, in the decoder's output layout."""
    if layout == "grid":
        return model.normalize(gt)                                             # [B,3,h,w]
    return model.normalize(gt.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)   # [B,Q,3]


def _step_loss(model, net, batch: dict, device, dtype) -> torch.Tensor:
    b = {k: v.to(device=device, dtype=dtype) for k, v in batch.items()}
    s = b["scale"]                                                             # [B] square crops: sy = sx
    scale_hw = (s, s) if getattr(model, "needs_scale", False) else None
    pred = net(model.normalize(b["lr"]), b["coord"], b["cell"], scale_hw)
    return F.l1_loss(pred, _target(model, b["gt"], model.query_layout))


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Adam:
    """The official optimiser (Adam with ``cfg``'s lr, betas and weight decay), in torch's fused
    implementation on CPU and CUDA: one kernel over all parameters instead of a Python loop over
    them (the same update up to float round-off). A resumed run keeps the implementation its
    checkpoint was written with (``load_state_dict`` restores the flag)."""
    params = list(model.parameters())
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay,
                            fused=fused or None)


def _resume_state(opt, sched, ema, step, history, cfg, seed, key, seconds=0.0) -> dict:
    """What a resumable checkpoint holds besides the model (``save_checkpoint``'s extras)."""
    return {
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "step": step, "rng": rng_state(), "config": cfg.to_dict(), "seed": seed, "key": key,
        "history": torch.tensor(history, dtype=torch.float64),
        "train_seconds": seconds,         # wall seconds of training so far, over every session
    }


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """The lr multiplier after ``step`` scheduler steps: ``gamma`` per milestone passed (MultiStepLR's
    rule), times a linear warm-up ``(step + 1) / warmup`` over the first ``cfg.warmup`` steps."""
    factor = cfg.gamma ** bisect.bisect_right(list(cfg.milestones), step)
    if cfg.warmup and step < cfg.warmup:
        factor *= (step + 1) / cfg.warmup
    return factor


def make_scheduler(opt, cfg: TrainConfig):
    """The lr schedule of ``cfg`` (``lr_factor``) as a scheduler stepped once per iteration."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, cfg))


def _restart_schedule(sched, step: int) -> None:
    """Put a fresh schedule at ``step`` (resuming a checkpoint whose scheduler state has another form)."""
    sched.last_epoch = step
    for group, lr in zip(sched.optimizer.param_groups, sched.get_lr()):
        group["lr"] = lr


def fit(model: torch.nn.Module, cfg: TrainConfig, images: TrainImages, *, seed: int = 0, ckpt_path=None,
        device=None, dist: ddp.DistInfo | None = None, progress: bool = True, key: str = "") -> dict:
    """Train ``model`` in place for ``cfg.iterations`` steps; resume from ``ckpt_path`` when it exists.

    Returns ``{'loss': [per-step global mean L1], 'ema': EMA | None, 'seconds': wall seconds of
    training summed over every session of this run}``. Only rank 0 writes.
    """
    dist = dist or ddp.current()
    device = device or next(model.parameters()).device
    model.to(device).train()
    dtype = next(model.parameters()).dtype
    opt = make_optimizer(model, cfg)
    sched = make_scheduler(opt, cfg)
    ema = EMA(model, cfg.ema_decay) if cfg.ema_decay else None
    start, history, seconds = 0, [], 0.0
    if ckpt_path is not None and os.path.exists(ckpt_path):
        ck = read_checkpoint(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"]["sd"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"]) if "lr_lambdas" in ck["scheduler"] else \
            _restart_schedule(sched, int(ck["step"]))       # a checkpoint from before the warm-up (MultiStepLR)
        if ema is not None:
            ema.load_state_dict(ck["ema"])
        set_rng_state(ck["rng"])
        start, history = int(ck["step"]), ck["history"].tolist()
        seconds = float(ck.get("train_seconds", 0.0))
    net = ddp.wrap(model, dist)
    spec = cfg.pair_spec(layout=model.query_layout)
    threads = torch.get_num_threads()
    if cfg.cpu_threads and device.type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)
    bar = _progress.bar(total=cfg.iterations, initial=start, desc=key or "train", ascii=True, dynamic_ncols=False,
                        mininterval=cfg.log_every_s, maxinterval=max(cfg.log_every_s, 1.0),
                        disable=not (progress and dist.is_main))
    t0 = time.perf_counter()
    try:
        for step in range(start, cfg.iterations):
            batch = sample_batch(images, spec, cfg.batch_size, seed, step, dist.rank, dist.world)
            loss = _step_loss(model, net, batch, device, dtype)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            history.append(float(ddp.mean_over_ranks(loss.detach(), dist)))
            if not math.isfinite(history[-1]):
                raise TrainingDiverged(f"training {key or 'run'} diverged at step {step + 1}: the loss is "
                                       f"{history[-1]} (lr {cfg.lr:g}); this step was not saved and the run is "
                                       "not finished (a lower lr, or clear the run to start over)")
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.4f}", lr=f"{sched.get_last_lr()[0]:.1e}", refresh=False)
            done = step + 1
            if ckpt_path is not None and dist.is_main and (done % cfg.checkpoint_every == 0
                                                           or done == cfg.iterations):
                save_checkpoint(ckpt_path, model, **_resume_state(opt, sched, ema, done, history, cfg, seed, key,
                                                                  seconds + time.perf_counter() - t0))
    finally:
        bar.close()
        torch.set_num_threads(threads)
    return {"loss": history, "ema": ema, "seconds": seconds + time.perf_counter() - t0}


# ----------------------------------------------------------------------------------------------
# cached runs
# ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _all_images(root: str) -> TrainImages:
    return load_training_images(root or None)


def training_images(data_root, cfg: TrainConfig) -> TrainImages:
    """The training set for ``cfg`` (images too small for its largest HR crop are left out)."""
    return _all_images(str(data_root or "")).keep_at_least(cfg.pair_spec().max_hr_size)


def _set_deterministic(device: torch.device) -> None:
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(method: str, backbone: str | None = None, *, profile: str = "cpu", seed: int = 0, data_root=None,
          options: dict | None = None, out=None, device: str = "auto", progress: bool = True,
          config: TrainConfig | None = None, weights_dir=None, retrain: bool = False,
          **overrides) -> torch.nn.Module:
    """Train ``method`` on ``backbone`` at ``profile`` (or reuse the cached run) → model in eval mode.

    ``weights_dir``: a folder of shipped weights (``results/cpu/weights``): a run whose
    ``<key>.safetensors`` is there is loaded from it and not trained, unless ``retrain``, which trains
    it here from scratch through the same code path (into the run cache).

    ``options`` are extra make-options (e.g. ``{'L': 16}``), ``overrides`` change config fields
    (e.g. ``scale_max=12``); both are part of the run key. ``out`` is the runs root (default
    ``~/.cache/sr_lib/runs``, env ``SR_RUNS``; see ``sr_lib.paths``). The model carries ``model.train_info`` (key, run dir, losses).
    When started by ``torchrun`` the run is data-parallel (``sr_lib.engine.ddp``).
    """
    # every check that can fail runs before the data is loaded and before anything is written
    cfg = config or config_for(profile, method, backbone, **overrides)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if options is not None and not isinstance(options, dict):
        raise ValueError(f"options must be a dict of make-options, got {type(options).__name__}")
    if options and "backbone" in options and options["backbone"] != backbone:
        raise ValueError(f"the backbone is an argument of its own (--backbone), not an option: got "
                         f"options backbone={options['backbone']!r} with backbone={backbone!r}")
    opts = model_options(cfg, method, backbone, options)
    check_model_args(method, opts, what=f"model {method!r}")       # names, kinds, sizes: before allocating
    dist = ddp.init_from_env()
    dev = get_device(ddp.device_preference(dist, device))
    if out is not None:
        from sr_lib.paths import check_writable_folder
        check_writable_folder(out, "runs folder (--out)")
    images = training_images(data_root, cfg)
    payload = key_payload(method, backbone, opts, cfg.to_dict(), seed, images.identity)
    if cfg.init_encoder:                # the lending run's identity is part of this one's
        payload["init_encoder_run"] = _source_key(cfg, backbone, data_root)
    key = run_key(payload)
    shipped = Path(weights_dir) / f"{key}.safetensors" if weights_dir else None
    if shipped is not None and shipped.is_file() and not retrain:
        _progress.event(f"train {key}: shipped weights ({shipped.name})")
        return _shipped(shipped, key, seed, dev)
    rdir = run_dir(cfg.profile, key, out)
    final_path = rdir / "final.pt"
    t_call, trained_here = time.perf_counter(), False
    if final_path.is_file():
        ck = _finished(final_path, rdir, dev, cfg, key)
    else:
        lock = RunLock(rdir) if dist.is_main else None
        if lock is not None:
            lock.acquire()              # RunLockedError when another process trains this run
        try:
            if final_path.is_file():    # finished by the process that held the lock before us
                ck = _finished(final_path, rdir, dev, cfg, key)
            else:
                init = (_source_encoder(cfg, backbone, data_root, weights_dir, device, out)
                        if cfg.init_encoder and not (rdir / "ckpt.pt").is_file() else None)
                ck, model = _train_run(method, opts, cfg, images, seed, key, rdir, payload, dist, dev, progress,
                                       init)
                trained_here = True
        finally:
            if lock is not None:
                lock.release()
    model = model_from_checkpoint(ck, source=str(final_path)).to(dev).eval()
    model.train_info = {"key": key, "run_dir": str(rdir), "config": ck["config"], "seed": seed,
                        "loss": ck["history"].tolist(), "steps": len(ck["history"]), "weights": ck["weights"],
                        "source": "trained",
                        "train_seconds": float(ck.get("train_seconds", 0.0))}
    if dist.is_main:                    # one line per run in the notebook runner's terminal
        _progress.event(f"train {key}: done, {ck.get('step', '?')} steps in {time.perf_counter() - t_call:.0f} s"
                        if trained_here else f"train {key}: from the run cache ({ck.get('step', '?')} steps)")
    return model


def _source_key(cfg: TrainConfig, backbone, data_root) -> str:
    """Run key of the run that lends its encoder to a run of ``cfg`` (``cfg.init_encoder``): that
    method's default recipe on the same backbone at the same profile, seed 0."""
    src = config_for(cfg.profile, cfg.init_encoder, backbone)
    opts = model_options(src, cfg.init_encoder, backbone)
    return run_key(key_payload(cfg.init_encoder, backbone, opts, src.to_dict(), 0,
                               training_images(data_root, src).identity))


def _source_encoder(cfg: TrainConfig, backbone, data_root, weights_dir, device, out=None) -> dict:
    """The trained encoder weights ``cfg.init_encoder`` lends (its shipped weights, the run cache, or
    trained here first: ``train`` of that run)."""
    if backbone is None:
        raise ValueError(f"init_encoder={cfg.init_encoder!r} needs a backbone to share; this method has none")
    source = train(cfg.init_encoder, backbone, profile=cfg.profile, seed=0, data_root=data_root, out=out,
                   device=device, progress=False, weights_dir=weights_dir)
    _progress.event(f"train: encoder from {source.train_info['key']} ({source.train_info['source']})")
    return {k: v.detach().cpu().clone() for k, v in source.encoder.state_dict().items()}


def _shipped(path: Path, key: str, seed: int, dev) -> torch.nn.Module:
    """A run's shipped weights (``repro.run_cards.ship_run`` wrote them) → model with ``train_info``."""
    card = read_checkpoint(path).get("card", {})
    model = load_checkpoint(path, map_location=dev).eval()
    curve = card.get("loss_curve", [])                  # averaged to <= 400 points: not one value per step
    steps = int(card.get("steps") or card.get("config", {}).get("iterations") or len(curve))
    model.train_info = {"key": key, "run_dir": "", "config": card.get("config", {}), "seed": seed,
                        "loss": curve, "steps": steps, "weights": str(path), "source": "shipped",
                        "train_seconds": float(card.get("train_seconds", 0.0))}
    return model


def _finished(final_path: Path, rdir: Path, dev, cfg: TrainConfig, key: str) -> dict:
    """The ``final.pt`` of a finished run, read and checked (``runs.check_finished``)."""
    try:
        ck = read_checkpoint(final_path, map_location=dev)
    except CheckpointError as e:
        raise RunCacheError(f"{e}; clear the run with: {clear_command(rdir)}") from None
    check_finished(ck, final_path, rdir, cfg.iterations, key)
    return ck


def _train_run(method, opts, cfg, images, seed, key, rdir, payload, dist, dev, progress, init=None):
    """Train a run that is not finished (lock held): resume from ``ckpt.pt`` if it is usable.
    ``init``: encoder weights to start from (``cfg.init_encoder``; the decoder starts at random)."""
    ckpt_path = rdir / "ckpt.pt"
    if dist.is_main:
        clean_stale_tmp(rdir)
        if ckpt_path.is_file():
            try:
                resume = read_checkpoint(ckpt_path, map_location="cpu")
            except CheckpointError as e:
                raise RunCacheError(f"{e}; clear the run with: {clear_command(rdir)}") from None
            step = resume.get("step")
            if resume.get("key") != key or not isinstance(step, int) or not 0 < step <= cfg.iterations:
                raise RunCacheError(f"{ckpt_path} does not belong to this run (key {resume.get('key')!r}, "
                                    f"step {step!r}); clear the run with: {clear_command(rdir)}")
            del resume
    _set_deterministic(dev)
    seed_everything(seed)
    model = make(method, **opts)
    if init is not None:
        try:
            model.encoder.load_state_dict(init)
        except RuntimeError as e:
            raise ValueError(f"init_encoder={cfg.init_encoder!r}: its encoder does not fit {method}'s "
                             f"({str(e).splitlines()[0]})") from None
    if dist.is_main:
        write_spec(rdir / "spec.json", {**payload, "key": key, "data_source": images.source,
                                        "n_images": len(images)})
        _progress.event(f"train {key}: start, {cfg.iterations} steps")
    try:
        result = fit(model, cfg, images, seed=seed, ckpt_path=ckpt_path, device=dev, dist=dist,
                     progress=progress, key=key)
    except CheckpointError as e:
        raise RunCacheError(f"{e}; clear the run with: {clear_command(rdir)}") from None
    if len(result["loss"]) != cfg.iterations or not all(math.isfinite(v) for v in result["loss"]):
        raise RunCacheError(f"run {key} ended with {len(result['loss'])} of {cfg.iterations} steps or a "
                            f"non-finite loss; not cached as finished (clear it with: {clear_command(rdir)})")
    if result["ema"] is not None:
        model.load_state_dict(result["ema"].state_dict())
    extra = {"step": cfg.iterations, "config": cfg.to_dict(), "seed": seed, "key": key,
             "weights": "ema" if cfg.ema_decay else "raw",
             "history": torch.tensor(result["loss"], dtype=torch.float64),
             "train_seconds": result["seconds"]}
    if dist.is_main:
        save_checkpoint(rdir / "final.pt", model, **extra)
    ddp.barrier(dist)
    return checkpoint_dict(model, **extra), model       # every rank: the dict final.pt holds


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def _literal(text: str, what: str = "value"):
    from sr_lib.models.registry import MAX_OPTION_NESTING, nesting_depth
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    except RecursionError:
        value = None
    else:
        if nesting_depth(value) <= MAX_OPTION_NESTING:
            return value
    raise ValueError(f"{what}={text[:16]}... nests lists / dicts more than {MAX_OPTION_NESTING} levels deep")


def _pairs(items, what: str) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} {item!r} is not KEY=VALUE")
        k, v = item.split("=", 1)
        out[k] = _literal(v, f"{what} {k}")
    return out


def _run_cli(args) -> int:
    from dataclasses import fields
    overrides = _pairs(args.set, "--set")
    known = {f.name for f in fields(TrainConfig)} - {"profile"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        hint = " (use --profile)" if unknown == ["profile"] else ""
        raise ValueError(f"--set {', '.join(unknown)}: not a TrainConfig field that --set may change{hint}; "
                         f"fields: {', '.join(sorted(known))}")
    model = train(args.method, args.backbone, profile=args.profile, seed=args.seed, data_root=args.data_root,
                  options=_pairs(args.option, "--option"), out=args.out, device=args.device,
                  progress=not args.no_progress, **overrides)
    info = model.train_info
    last = f"{info['loss'][-1]:.5f}" if info["loss"] else "n/a"
    print(f"{info['run_dir']}/final.pt  (steps {info['steps']}, last loss {last})")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a method (or reuse its cached run)",
                              description="Train a method at a profile; finished runs are cached and reused.")
    p.add_argument("--method", required=True, help="registered method, e.g. liif (see sr_lib.list_models())")
    p.add_argument("--backbone", default=None, help="registered backbone, e.g. edsr-baseline")
    p.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "paper"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None, help="data root (default: the resolver's)")
    p.add_argument("--out", default=None, help="runs root (default: $SR_RUNS or ~/.cache/sr_lib/runs)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="extra make-option (JSON value)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="TrainConfig override (JSON value)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_cli)


__all__ = ["train", "fit", "make_optimizer", "EMA", "TrainingDiverged", "seed_everything", "rng_state", "set_rng_state", "training_images", "add_cli"]

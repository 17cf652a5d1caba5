"""Training profiles: one ``TrainConfig``, three budgets, the same code path.

    cfg = sr_lib.config.config_for("cpu", "liif", "edsr-baseline")
    opts = sr_lib.config.model_options(cfg, "liif", "edsr-baseline")   # make-options with the profile's sizes

- ``paper``: the published schedules (``reference-implementations.md`` §1.2–1.3, §4, §5.3, §6.3;
  ``methods-notes.md`` §6). GPU only; data-parallel with ``torchrun`` (``sr_lib.engine.ddp``).
- ``cpu``: the same protocol shape on a reduced budget: all training of all notebooks in ≤ 4 h
  on the 2-core CPU machine. The measurements and the arithmetic behind it are below.
- ``smoke``: seconds, for CI: every code path runs, the numbers mean nothing.

Inside one profile every method of a comparison gets the *same* data and optimisation budget
(iterations × batch × patch × queries, schedule); only the paper profile uses each paper's own
schedule. Method-specific *data* rules that are part of a method's definition (ArbSR trains
with one scale per batch) hold in every profile.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import asdict, dataclass, field, fields, replace

from sr_lib.data.pairs import PairSpec


@dataclass(frozen=True)
class TrainConfig:
    profile: str = "paper"
    # --- data (sr_lib.data.pairs.PairSpec) ---
    lr_size: int = 48                     # LR patch side (official inp_size)
    scale_min: float = 1.0                # s ~ U(scale_min, scale_max) per sample
    scale_max: float = 4.0
    scales: tuple = ()                    # discrete training scales (CiaoSR Table 5); () = continuous
    n_queries: int = 2304                 # HR pixels per sample, without replacement (sample_q)
    augment: bool = True                  # three coin flips: rows, columns, transpose
    scale_per: str = "sample"             # "batch": one scale for the whole batch (ArbSR)
    batch_size: int = 16                  # global batch (split over DDP processes)
    # --- optimisation ---
    iterations: int = 1_000_000           # 1000 epochs × 1000 iterations
    lr: float = 1e-4                      # Adam
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    milestones: tuple = (200_000, 400_000, 600_000, 800_000)   # in iterations; lr × gamma at each
    gamma: float = 0.5
    warmup: int = 0                       # iterations of linear lr warm-up from lr/warmup (0: none)
    ema_decay: float = 0.0                # 0 = no EMA; EQSR: 0.999 (its test loads the EMA weights)
    # the shared-encoder option: a method name whose default-recipe run on the same backbone
    # (seed 0, this profile) lends its trained encoder as this run's starting point; "" = random init
    init_encoder: str = ""
    # --- model sizes: make-options per backbone / method name, applied under the caller's options ---
    sizes: dict = field(default_factory=dict)
    # --- bookkeeping (not part of a run's identity) ---
    checkpoint_every: int = 1000          # iterations between resumable checkpoints
    log_every_s: float = 30.0             # at most one progress line per this many seconds
    cpu_threads: int = 0                  # torch intra-op threads while training on CPU; 0 = leave as set
    seeds: tuple = (0,)                   # seeds the notebooks train where seed noise matters

    def __post_init__(self):
        _validate(self)

    def pair_spec(self, layout: str = "flat") -> PairSpec:
        return PairSpec(lr_size=self.lr_size, scale_min=self.scale_min, scale_max=self.scale_max,
                        scales=tuple(self.scales), n_queries=self.n_queries, augment=self.augment,
                        layout=layout, scale_per=self.scale_per)

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# validation: every field checked when a config is made (``--set`` values come from the user)
# ----------------------------------------------------------------------------------------------
MAX_ITERATIONS = 100_000_000
MAX_BATCH = 65_536
MAX_LR_SIZE = 4096


def _bad(name: str, value, want: str):
    return ValueError(f"TrainConfig.{name} must be {want}, got {value!r}")


def _int(cfg, name: str, lo: int, hi: int) -> None:
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _bad(name, v, f"an integer in [{lo:,}, {hi:,}]")


def _num(cfg, name: str, lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> None:
    v = getattr(cfg, name)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise _bad(name, v, f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")


def _numbers(v) -> bool:
    return isinstance(v, (list, tuple)) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)


def _validate(cfg) -> None:
    """Types and ranges of every field, and the constraints between them (one-line ``ValueError``)."""
    if not (isinstance(cfg.profile, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cfg.profile)):
        raise _bad("profile", cfg.profile, "a profile name (letters, digits, - and _: it names a folder)")
    if not (isinstance(cfg.init_encoder, str) and re.fullmatch(r"[a-z0-9-]{0,32}", cfg.init_encoder)):
        raise _bad("init_encoder", cfg.init_encoder, "a method name (e.g. 'liif') or '' for a random start")
    _int(cfg, "lr_size", 1, MAX_LR_SIZE)
    _num(cfg, "scale_min", 1.0, 1000.0)
    _num(cfg, "scale_max", 1.0, 1000.0)
    if cfg.scale_max < cfg.scale_min:
        raise ValueError(f"TrainConfig.scale_max ({cfg.scale_max:g}) must be >= scale_min ({cfg.scale_min:g})")
    if not (_numbers(cfg.scales) and all(1.0 <= x <= 1000.0 for x in cfg.scales)):
        raise _bad("scales", cfg.scales, "a list of scales in [1, 1000] (empty: continuous)")
    _int(cfg, "n_queries", 1, 1 << 24)
    smallest = min(cfg.scales) if cfg.scales else cfg.scale_min
    crop = int(round(cfg.lr_size * smallest)) ** 2
    if cfg.n_queries > crop:
        raise ValueError(f"TrainConfig.n_queries ({cfg.n_queries}) is more than the {crop} pixels of the smallest "
                         f"HR crop (lr_size {cfg.lr_size} × scale {smallest:g}, squared); queries are drawn "
                         "without replacement")
    if cfg.lr_size * max(cfg.scales or (cfg.scale_max,)) > 1 << 15:
        raise ValueError(f"TrainConfig: HR crops of lr_size × scale = {cfg.lr_size * max(cfg.scales or (cfg.scale_max,)):g} "
                         "px are larger than any training image")
    if not isinstance(cfg.augment, bool):
        raise _bad("augment", cfg.augment, "true or false")
    if cfg.scale_per not in ("sample", "batch"):
        raise _bad("scale_per", cfg.scale_per, "'sample' or 'batch'")
    _int(cfg, "batch_size", 1, MAX_BATCH)
    _int(cfg, "iterations", 1, MAX_ITERATIONS)
    _num(cfg, "lr", 0.0, 10.0, lo_open=True)
    if not (_numbers(cfg.betas) and len(cfg.betas) == 2 and all(0 <= b < 1 for b in cfg.betas)):
        raise _bad("betas", cfg.betas, "two numbers in [0, 1)")
    _num(cfg, "weight_decay", 0.0, 1.0)
    if not (_numbers(cfg.milestones) and all(isinstance(m, int) and m >= 1 for m in cfg.milestones)
            and list(cfg.milestones) == sorted(cfg.milestones)):
        raise _bad("milestones", cfg.milestones, "increasing iteration numbers >= 1")
    _num(cfg, "gamma", 0.0, 1.0, lo_open=True)
    _num(cfg, "ema_decay", 0.0, 1.0, hi_open=True)
    if not (isinstance(cfg.sizes, dict) and all(isinstance(k, str) and isinstance(v, dict)
                                                for k, v in cfg.sizes.items())):
        raise _bad("sizes", cfg.sizes, "a dict of name -> make-options")
    _int(cfg, "checkpoint_every", 1, MAX_ITERATIONS)
    if hasattr(cfg, "warmup"):
        _int(cfg, "warmup", 0, MAX_ITERATIONS)
    _num(cfg, "log_every_s", 0.0, 1e6)
    _int(cfg, "cpu_threads", 0, 1024)
    if not (isinstance(cfg.seeds, (list, tuple)) and cfg.seeds
            and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2 ** 32 for x in cfg.seeds)):
        raise _bad("seeds", cfg.seeds, "a non-empty list of integers in [0, 2**32)")


# ----------------------------------------------------------------------------------------------
# paper: the published schedules
# ----------------------------------------------------------------------------------------------
PAPER = TrainConfig(profile="paper", checkpoint_every=5000, log_every_s=60.0, seeds=(0,))

# (method, backbone) → changes to PAPER; None = any backbone. Sources: reference-implementations.md.
PAPER_SCHEDULES = {
    # LTE-SwinIR (§4): batch 32, lr 2e-4, halvings at 500/800/900/950 epochs
    ("lte", "swinir"): dict(batch_size=32, lr=2e-4, milestones=(500_000, 800_000, 900_000, 950_000)),
    # CiaoSR-SwinIR (§5.3): samples_per_gpu 10, otherwise the LIIF schedule
    ("ciaosr", "swinir"): dict(batch_size=10),
    # EQSR (§6.3): Adam 2e-4 betas (0.9, 0.99), EMA 0.999, 800k iterations, batch 32. Without the
    # ImageNet phase (not reproducible here) this phase-1 schedule is run on the training set.
    ("eqsr", None): dict(batch_size=32, lr=2e-4, betas=(0.9, 0.99), ema_decay=0.999, iterations=800_000,
                         milestones=(300_000, 500_000, 650_000, 700_000, 750_000)),
}

# Data rules that define a method, whatever the profile.
METHOD_DATA = {
    "arbsr": dict(scale_per="batch"),     # ArbSR's scale-aware layers take one scale per batch
}

# ----------------------------------------------------------------------------------------------
# smoke: seconds
# ----------------------------------------------------------------------------------------------
SMOKE_SIZES = {
    "edsr-baseline": dict(n_resblocks=1, n_feats=8),
    "rdn": dict(D=2, C=2, G=8, G0=8),
    "swinir": dict(embed_dim=12, depths=[1], num_heads=[2], window_size=8),
    "liif": dict(hidden=[16, 16]),
    "liif-pe": dict(hidden=[16, 16]),
    "ipe-liif": dict(hidden=[16, 16]),
    "metasr": dict(hidden=[16]),
    "ipe-metasr": dict(hidden=[16]),            # as MetaSR: Table 3 compares the two
    "itsrn": dict(hidden=[16, 16], ipe_hidden=[16]),
    "lte": dict(hidden=[16, 16], hidden_dim=16),
    "ciaosr": dict(hidden=[16, 16]),
    "arbsr": dict(hidden=8, adapt_every=1),     # one backbone block: adapt after it
    "eqsr": dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=8, latent_dim=16),
}
SMOKE = TrainConfig(profile="smoke", lr_size=16, n_queries=64, batch_size=2, iterations=4, lr=1e-4,
                    milestones=(2,), checkpoint_every=2, log_every_s=5.0, cpu_threads=1, seeds=(0,),
                    sizes=SMOKE_SIZES)

# ----------------------------------------------------------------------------------------------
# cpu: a reduced budget on the 2-core CPU machine, trained far enough that every model has learned
# ----------------------------------------------------------------------------------------------
# The evidence rule (issue 12, ``sr_lib.engine.health``): a run counts only when it beats Bicubic by
# >= 1.0 dB at x2 and >= 0.5 dB at x4 on whole Set5 + Set14. The recipe of 2026-11-22 (500 steps) left
# the models at Bicubic level (median gain +0.05 dB over 819 committed cells). Measured on LIIF-EDSR
# (cpu sizes, LR 24², batch 8, 144 queries, lr 1e-3 halved at 60% and 80%), gain at x2 / x4:
#   500 steps: -1.6 / -; 2,000: +0.7 / +0.5 (3 crops); 4,000: +1.4 / +0.87 on whole images
#   (a second seed +1.3 / +0.82); 5,000: +1.5 / +1.0.
# So: 4,000 steps, the same schedule shape (8,000 on EDSR-baseline since 2026-12-02, ``CPU_SCHEDULES``). Transformer backbones (SwinIR, EQNet) get half the lr
# and a 200-step linear warm-up (``CPU_SCHEDULES``; LIIF-SwinIR at lr 1e-3 was 2.2 dB under Bicubic
# after 500 steps). EQSR at 300 steps of this recipe: Set5 x2 28.87 dB vs Bicubic 33.67, L1 still
# falling steadily (0.159 -> 0.044 in [0, 1] units); its released scale code 2/H_hr is *not* the cause
# (the code a 24-px training patch would get scores 28.71): it is slow to learn, not broken.
# Per-step costs (CPU-s, 1 thread, quiet machine, after the speed issue's changes; ``repro.plan.STEP_COST``):
# LIIF 0.037, MetaSR 0.041, IPE-LIIF 0.058, LTE 0.044, CiaoSR 0.140 (0.220 on RDN), EQSR 0.558 (before:
# 0.13, 0.11, 0.17, 0.12, 0.45, 1.36). Which runs at how many seeds, and the CPU-hours they take
# (10.0 in all, with the x1-12 block at 12,000 steps and notebook 31's HAT-style EQNet): docs/RUN_PLAN.md. One thread per run (``cpu_threads``); two runs in
# parallel use both cores.
CPU_SIZES = {
    # backbones (size options every method builder passes on to its backbone)
    "edsr-baseline": dict(n_resblocks=4, n_feats=32),
    "rdn": dict(D=4, C=4, G=32, G0=32),
    "swinir": dict(embed_dim=32, depths=[2, 2], num_heads=[2, 2], window_size=8),
    # decoders: the official depth, a quarter of the width
    "liif": dict(hidden=[64, 64, 64, 64]),
    "liif-pe": dict(hidden=[64, 64, 64, 64]),
    "ipe-liif": dict(hidden=[64, 64, 64, 64]),
    "metasr": dict(hidden=[64]),
    "ipe-metasr": dict(hidden=[64]),            # as MetaSR: IPE-LIIF Table 3 compares the two
    "itsrn": dict(hidden=[64, 64, 64, 64], ipe_hidden=[64]),   # was missing: it built 256-wide (issue 12)
    "lte": dict(hidden=[64, 64, 64], hidden_dim=64),
    "ciaosr": dict(hidden=[64, 64, 64, 64]),
    "arbsr": dict(hidden=16),
    # EQSR: the Model IV layout (6 groups × 5 blocks; Table 1 varies them) at embed 32, window 8,
    # kriging upsampler 64 wide instead of 256
    "eqsr": dict(embed_dim=32, num_heads=2, window_size=8, latent_dim=64),
}
CPU = TrainConfig(profile="cpu", lr_size=24, n_queries=144, batch_size=8, iterations=4000, lr=1e-3,
                  milestones=(2400, 3200), checkpoint_every=200, log_every_s=60.0, cpu_threads=1,
                  seeds=(0, 1, 2), sizes=CPU_SIZES)

# (method, backbone) → changes to CPU; None = any. Attention layers at lr 1e-3 with no warm-up trained
# poorly in 500 steps (see above): half the lr, 200 warm-up steps.
# EDSR-baseline: 8,000 steps (2026-12-02). At 4,000 the seed spread was as large as the gate's margin:
# LIIF seeds 0 / 1 / 2 gained +1.32 / +1.17 / +0.85 dB at x2 (x4 +0.81 / +0.71 / +0.56) and LIIF-PE
# +0.71 and +0.87 (two training ranges), so about one run in three failed the gate; seed 2 at 8,000
# steps (milestones at the same 60 / 80 %): +1.58 / +1.02. EMA of the weights (0.999) made seed 2
# worse (x2 -0.57 dB). Every method on one backbone keeps one budget (each table compares methods
# on one backbone); the other backbones stay at 4,000 until their gate says otherwise
# (docs/RUN_PLAN.md, "Progress and findings").
# SwinIR: 12,000 steps (2026-12-02, session 7). At 4,000 every SwinIR run failed the gate: LIIF +0.58 / +0.36,
# MetaSR +0.64 / +0.18, ITSRN +0.97 / +0.52 (x2 / x4). All SwinIR rows of CiaoSR's tables move together,
# as Table 3 block B did (12,000 steps, milestones at 60 / 80 %).
# EQNet: 8,000 steps (2026-12-02, session 10). At 4,000 every EQNet run sat within 0.06 dB of the x4 bar
# (Models I-V +0.53 / +0.52 / +0.44 / +0.55 / +0.50, the HAT-style model +0.47), so which sizes passed
# was noise of the budget. The EQSR comparison's EDSR-baseline baselines now share EQSR's 8,000 steps,
# i.e. the default EDSR-baseline runs (``repro.papers.eqsr.eqsr_budget``).
CPU_SCHEDULES = {
    (None, "swinir"): dict(lr=5e-4, warmup=200, iterations=12000, milestones=(7200, 9600)),
    ("eqsr", None): dict(lr=5e-4, warmup=200, iterations=8000, milestones=(4800, 6400)),
    (None, "edsr-baseline"): dict(iterations=8000, milestones=(4800, 6400)),
}

PROFILES = {"smoke": SMOKE, "cpu": CPU, "paper": PAPER}


def _schedule_key(method: str) -> str:
    return "eqsr" if method.startswith("eqsr") else method


def config_for(profile: str, method: str | None = None, backbone: str | None = None, **overrides) -> TrainConfig:
    """The config a method trains with at ``profile``; ``overrides`` change fields (e.g. ``scale_max=12``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    cfg = PROFILES[profile]
    if method is not None:
        schedules = {"paper": PAPER_SCHEDULES, "cpu": CPU_SCHEDULES}.get(profile, {})
        m = _schedule_key(method)
        for key in ((m, backbone), (m, None), (None, backbone)):
            if key in schedules:
                cfg = replace(cfg, **schedules[key])
                break
        cfg = replace(cfg, **METHOD_DATA.get(method, {}))
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {', '.join(sorted(unknown))}")
    for k in ("scales", "betas", "milestones", "seeds"):
        if k in overrides:
            if not isinstance(overrides[k], (list, tuple)):
                raise ValueError(f"TrainConfig.{k} must be a list, got {overrides[k]!r}")
            overrides[k] = tuple(overrides[k])
    return replace(cfg, **overrides)


def model_options(cfg: TrainConfig, method: str, backbone: str | None, options: dict | None = None) -> dict:
    """make-options for ``sr_lib.make(method, **opts)`` at ``cfg``'s sizes: ``cfg.sizes[backbone]``
    (backbone size options, which every method builder passes on), then ``cfg.sizes[method]``
    (decoder options), then the explicit ``options``, later ones winning."""
    opts = {} if backbone is None else {"backbone": backbone, **cfg.sizes.get(backbone, {})}
    opts.update(cfg.sizes.get(method, {}))
    opts.update(options or {})
    return copy.deepcopy(opts)


__all__ = ["TrainConfig", "PROFILES", "PAPER_SCHEDULES", "CPU_SCHEDULES", "METHOD_DATA", "config_for", "model_options"]

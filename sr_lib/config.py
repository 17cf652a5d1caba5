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
    ema_decay: float = 0.0                # 0 = no EMA; EQSR: 0.999 (its test loads the EMA weights)
    # --- model sizes: make-options per backbone / method name, applied under the caller's options ---
    sizes: dict = field(default_factory=dict)
    # --- bookkeeping (not part of a run's identity) ---
    checkpoint_every: int = 1000          # iterations between resumable checkpoints
    log_every_s: float = 30.0             # at most one progress line per this many seconds
    cpu_threads: int = 0                  # torch intra-op threads while training on CPU; 0 = leave as set
    seeds: tuple = (0,)                   # seeds the notebooks train where seed noise matters

    def pair_spec(self, layout: str = "flat") -> PairSpec:
        return PairSpec(lr_size=self.lr_size, scale_min=self.scale_min, scale_max=self.scale_max,
                        scales=tuple(self.scales), n_queries=self.n_queries, augment=self.augment,
                        layout=layout, scale_per=self.scale_per)

    def to_dict(self) -> dict:
        return asdict(self)


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
    "lte": dict(hidden=[16, 16], hidden_dim=16),
    "ciaosr": dict(hidden=[16, 16]),
    "arbsr": dict(hidden=8, adapt_every=1),     # one backbone block: adapt after it
    "eqsr": dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=8, latent_dim=16),
}
SMOKE = TrainConfig(profile="smoke", lr_size=16, n_queries=64, batch_size=2, iterations=4, lr=1e-4,
                    milestones=(2,), checkpoint_every=2, log_every_s=5.0, cpu_threads=1, seeds=(0,),
                    sizes=SMOKE_SIZES)

# ----------------------------------------------------------------------------------------------
# cpu: the largest budget under which all notebook training fits in 4 h on the 2-core machine
# ----------------------------------------------------------------------------------------------
# Measured with benchmarks/bench_train.py (real loop: sampling, forward, L1, backward, Adam) on the
# shared 2-core machine, 2026-11-22, CPU seconds per step with one torch thread, batch 8, LR 24²:
#
#   method:backbone           Q=576   Q=144       method:backbone           Q=576   Q=144
#   liif:edsr-baseline        0.168   0.089       liif:rdn                  0.322   0.312
#   metasr:edsr-baseline      0.115   0.091       metasr:rdn                0.311
#   liif-pe:edsr-baseline     0.186   0.119       ipe-liif:rdn              0.526   0.357
#   ipe-liif:edsr-baseline    0.369   0.166       lte:rdn                   0.283
#   lte:edsr-baseline         0.176   0.118       ciaosr:rdn                0.701   0.621
#   ciaosr:edsr-baseline      0.562   0.393       lte:swinir                0.283   0.262
#   arbsr:edsr-baseline       0.086   0.109       liif / ciaosr:swinir      0.330 / 0.686
#   eqsr:eqnet (Model IV; its 24² grid does not depend on Q): 1.90, and 1.51 with latent_dim 64
#
# Threads: under the machine's usual load (load average 6-9 from other users) two torch threads
# spin against other processes: liif:edsr-baseline took 3.16 s/step wall with 2 threads and
# 0.24 s with 1 (smoke model: 0.72 s vs 0.02 s). So training uses one thread (``cpu_threads``).
# Queries: LIIF with 144 or 576 queries per sample followed the same loss curve over 600 steps
# (mean L1 of the last 50 steps 0.0666 vs 0.0668, lr 1e-3), at 0.66× the cost: Q = 144 = (24/2)².
# Learning rate: 400 steps of LIIF at batch 4 ended at L1 0.175 / 0.148 / 0.119 for lr 1e-4 /
# 2e-4 / 5e-4 (the [-1,1] space; bicubic interpolation scores 0.049 there), so a budget this
# short needs lr 1e-3 (halved at 60% and 80%).
#
# Runs the notebooks train (one "run" = one method × backbone × options × seed):
#   IPE-LIIF Tab. 1/4 (EDSR): LIIF, MetaSR, IPE-LIIF, L=4, L=16, LIIF w/ PE, +cell, -skip   × 3 seeds = 24
#   IPE-LIIF Tab. 1/2 (RDN): LIIF, MetaSR, IPE-LIIF                                          × 3 seeds =  9
#   IPE-LIIF Tab. 3: 2 training ranges × {LIIF, LIIF w/ PE, IPE-LIIF, MetaSR, MetaSR w/ PE, IPE-MetaSR} = 12
#   CiaoSR Tab. 1-3: LTE, ITSRN, CiaoSR on EDSR and RDN (+ MetaSR/LIIF reused), 5 on SwinIR     = 11
#   CiaoSR Tab. 4 (2 ablations) + Tab. 5 (discrete {2},{3},{4},{2,3,4})                         =  6
#   EQSR supp. Tab. 1 Models I-V, HAT-style EQNet without AFE, ArbSR                            =  7
# Their per-step costs at Q = 144 add up to about 23 CPU-seconds (EQSR's five models ≈ 6.5 with
# the kriging upsampler narrowed to 64), so 4 h = 14,400 s allows ≈ 600 steps per run; 500 leaves
# a margin for the load of a shared machine (the CPU times above vary ±30% with it), model
# building and checkpoints. 3 seeds where the printed differences are small
# (IPE-LIIF vs LIIF: 0.02-0.1 dB). At this budget the implicit decoders are still approaching
# bicubic quality (LIIF's training L1 ≈ 0.07 after 500 steps vs bicubic's 0.049): the tables
# compare methods at an equal, small budget, not the papers' converged models. No EMA here (a
# 0.999 average over 500 steps would mostly remember the initialisation).
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
    "lte": dict(hidden=[64, 64, 64], hidden_dim=64),
    "ciaosr": dict(hidden=[64, 64, 64, 64]),
    "arbsr": dict(hidden=16),
    # EQSR: the Model IV layout (6 groups × 5 blocks; Table 1 varies them) at embed 32, window 8,
    # kriging upsampler 64 wide instead of 256
    "eqsr": dict(embed_dim=32, num_heads=2, window_size=8, latent_dim=64),
}
CPU = TrainConfig(profile="cpu", lr_size=24, n_queries=144, batch_size=8, iterations=500, lr=1e-3,
                  milestones=(300, 400), checkpoint_every=100, log_every_s=60.0, cpu_threads=1,
                  seeds=(0, 1, 2), sizes=CPU_SIZES)

PROFILES = {"smoke": SMOKE, "cpu": CPU, "paper": PAPER}


def _schedule_key(method: str) -> str:
    return "eqsr" if method.startswith("eqsr") else method


def config_for(profile: str, method: str | None = None, backbone: str | None = None, **overrides) -> TrainConfig:
    """The config a method trains with at ``profile``; ``overrides`` change fields (e.g. ``scale_max=12``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    cfg = PROFILES[profile]
    if method is not None:
        if profile == "paper":
            m = _schedule_key(method)
            for key in ((m, backbone), (m, None)):
                if key in PAPER_SCHEDULES:
                    cfg = replace(cfg, **PAPER_SCHEDULES[key])
                    break
        cfg = replace(cfg, **METHOD_DATA.get(method, {}))
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {', '.join(sorted(unknown))}")
    for k in ("scales", "betas", "milestones", "seeds"):
        if k in overrides:
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


__all__ = ["TrainConfig", "PROFILES", "PAPER_SCHEDULES", "METHOD_DATA", "config_for", "model_options"]

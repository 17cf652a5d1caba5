"""Analyses of the EQSR paper (poster + supplement) on models of the zoo: the pieces
notebooks 30 and 31 need that are specific to EQSR.

- **Supplement Table 1 parameter counts** (``table1_parameter_counts``): the five EQNet
  sizes (G groups, B WSA blocks per group) built on the ``meta`` device — no memory,
  no forward — so the counts are exact for the full-size models on any machine.
- **Kriging weights** (poster §3, ``methods-notes.md`` §4): ẑ₀ = Σᵢ λᵢ zᵢ with
  λ = K_data · K_scale. ``kriging_maps`` reads, for one LR image queried at several
  scales, the 3×3 weights at the HR pixel that sits at the same relative image
  position at every scale (``EQSR.kriging_weights``); ``kriging_frame`` makes them tidy.
- **EQ_S curves** (poster Eq. 6, ``methods-notes.md`` §2) for a dict of upscalers with
  Bicubic as the baseline (``eq_s_curves``). Each row also carries the *contrast ratio*
  of the method's output against Bicubic's: a (nearly) untrained network produces a
  flat image, and two flat images agree whatever their order of operations — a low
  EQ_S with a contrast ratio far below 1 is not equivariance but emptiness.
- **Scale-vs-scale CKA** (supplement Sec. 3, Eq. 5) for several models at once
  (``cka_matrices``), with a tidy frame and a per-model summary.
- Image crops (``image_crops``) for the analyses: same-size HR crops of a test set.
- **The rows of the EQSR comparison** (``comparison_rows``, ``table1_rows``): how sr_lib
  trains each printed method line, shared by notebooks 30 (tables) and 31 (analyses) so
  that both use the same cached runs.
- **Official checkpoints** (``official_rows``): LIIF / MetaSR / LTE files under
  ``<data_root>/checkpoints/``, evaluated beside the trained baselines (never in the claims).

Backbones of the baselines: the EQSR tables do not state them (the poster's LIIF numbers
are RDN-LIIF's, its LTE numbers SwinIR-LTE's; ``../shared/paper_tables/README.md``). Inside
our comparison every baseline (MetaSR, ArbSR, LIIF, LTE) runs on EDSR-baseline — one
backbone, one budget — and is matched to the printed line with the empty backbone
(``BaselineRow``). EQSR runs on its own EQNet.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from sr_lib.config import config_for, model_options
from sr_lib.data.datasets import load_dataset
from sr_lib.data.io import to_tensor01
from sr_lib.engine.features import scale_cka_matrix
from sr_lib.engine.inference import decode_inputs, output_geometry
from sr_lib.geometry import hr_size_for
from sr_lib.metrics.equivariance import bicubic_upscaler, crop_for_theta, eq_s_curve
from sr_lib.models.base import count_parameters
from sr_lib.models.eqsr import EQNET_TABLE1
from sr_lib.models.layers.kriging import KrigingWeights
from sr_lib.models.registry import make
from sr_lib.repro.specs import Claim, Row, TableSpec, checkpoint_rows

Upscaler = Callable[[torch.Tensor, tuple], torch.Tensor]
FLAT_CONTRAST = 0.5          # contrast ratio below which an output counts as "flat"
BASELINE_BACKBONE = "edsr-baseline"
EQSR_DEFAULT_SIZE = {"groups": 6, "blocks": 5}    # ``make("eqsr")`` defaults = Table 1 Model IV


# ----------------------------------------------------------------------------------------------
# the rows of the comparison
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BaselineRow(Row):
    """A printed line whose backbone the paper does not state: trained on ``backbone``
    and matched to the printed line with an empty backbone."""

    @property
    def printed_backbone(self) -> str:
        return ""


def _arbsr_options(profile: str) -> dict:
    """ArbSR adapts after every ``adapt_every`` backbone blocks (default 4). When the profile's
    EDSR-baseline depth is not a multiple of the profile's value, adapt after the largest
    divisor of the depth ≤ 4 ({} when the profile's own sizes already fit)."""
    opts = model_options(config_for(profile, "arbsr", BASELINE_BACKBONE), "arbsr", BASELINE_BACKBONE)
    n, every = opts.get("n_resblocks", 16), opts.get("adapt_every", 4)
    if n % every == 0:
        return {}
    return {"adapt_every": max(d for d in range(1, 5) if n % d == 0)}


def eqsr_options(profile: str, groups: int | None = None, blocks: int | None = None, **extra) -> dict:
    """make-options of an EQSR row at ``profile``: ``groups``/``blocks`` only where they differ
    from what the profile builds anyway (so equal models share one cached run)."""
    base = model_options(config_for(profile, "eqsr", "eqnet"), "eqsr", "eqnet")
    opts = {k: v for k, v in (("groups", groups), ("blocks", blocks))
            if v is not None and base.get(k, EQSR_DEFAULT_SIZE[k]) != v}
    return {**opts, **extra}


def comparison_rows(profile: str) -> dict:
    """``{printed label: Row}`` of the poster / supplement Table 3 comparison at ``profile``:
    Bicubic, MetaSR, ArbSR, LIIF, LTE (EDSR-baseline, matched to the unstated printed
    backbone) and EQSR (EQNet)."""
    b, budget = BASELINE_BACKBONE, eqsr_budget(profile)
    return {"Bicubic": Row("Bicubic", "bicubic"),
            "MetaSR": BaselineRow("MetaSR", "metasr", b, overrides=budget),
            "ArbSR": BaselineRow("ArbSR", "arbsr", b, options=_arbsr_options(profile), overrides=budget),
            "LIIF": BaselineRow("LIIF", "liif", b, overrides=budget),
            "LTE": BaselineRow("LTE", "lte", b, overrides=budget),
            "EQSR": Row("EQSR", "eqsr", "eqnet", options=eqsr_options(profile))}


def eqsr_budget(profile: str) -> dict:
    """TrainConfig overrides that give the EDSR-baseline baselines EQSR's step budget at ``profile``:
    where the profile's EDSR-baseline and EQNet schedules differ (``config.CPU_SCHEDULES``), the
    comparison's baselines train EQSR's ``iterations`` and ``milestones`` (one optimisation budget
    for every method compared). Empty at ``paper`` (each paper's own protocol) and where the budgets
    already agree (``cpu`` since session 10: 8,000 steps for both)."""
    if profile == "paper":
        return {}
    base, eq = config_for(profile, "liif", BASELINE_BACKBONE), config_for(profile, "eqsr", "eqnet")
    if (base.iterations, base.milestones) == (eq.iterations, eq.milestones):
        return {}
    return {"iterations": eq.iterations, "milestones": tuple(eq.milestones)}


def table1_rows(profile: str) -> dict:
    """``{printed label: Row}`` of supplement Table 1: Models I–V with their (G, B) and the
    profile's width (``config.sizes['eqsr']``; at cpu/smoke these are shrunk models)."""
    return {f"EQSR [Model {name}]": Row(f"EQSR [Model {name}]", "eqsr", "eqnet",
                                        options=eqsr_options(profile, groups=g, blocks=b))
            for name, (g, b) in EQNET_TABLE1.items()}


def analysis_rows(profile: str) -> dict:
    """``{name: Row}`` of every method of notebook 31's analyses: the comparison's learned
    rows, the HAT-style EQNet (no AFE; same kriging upsampler) and the other methods of the
    zoo on EDSR-baseline (IPE-LIIF, CiaoSR), as the other notebooks train them."""
    rows = {k: r for k, r in comparison_rows(profile).items() if r.learned}
    rows["HAT-style (no AFE)"] = Row("HAT-style (no AFE)", "eqsr", "eqnet", options=eqsr_options(profile, afe=False))
    rows["IPE-LIIF"] = Row("IPE-LIIF", "ipe-liif", BASELINE_BACKBONE)
    rows["CiaoSR"] = Row("CiaoSR", "ciaosr", BASELINE_BACKBONE)
    return rows


# the compared methods that have an official checkpoint layout sr_lib loads (sr_lib.official.checkpoint):
# LIIF, MetaSR and LTE (liif / lte repositories). ArbSR's and EQSR's released files come in their own
# repositories' formats, which sr_lib does not read.
OFFICIAL = ("MetaSR", "LIIF", "LTE")
OFFICIAL_BACKBONES = ("EDSR-baseline", "RDN", "SwinIR")


def official_rows(data_root=None) -> list:
    """The official LIIF / MetaSR / LTE checkpoints under ``<data_root>/checkpoints/`` on the encoders
    the papers compare them on (EDSR-baseline, RDN, SwinIR), as ``BaselineRow``s: the EQSR tables do not
    state their baselines' backbones (the poster's LIIF numbers are RDN-LIIF's, its LTE numbers
    SwinIR-LTE's), so each is matched to the printed line of its method, its encoder in ``backbone``.
    Add them with ``spec.with_printed_rows(official_rows(), tables)`` (the poster table, Table 3)."""
    return [BaselineRow(**{f.name: getattr(r, f.name) for f in fields(r)})
            for r in checkpoint_rows(data_root, labels=OFFICIAL, backbones=OFFICIAL_BACKBONES)]


CLAIMS = tuple(Claim("EQSR", worse) for worse in ("Bicubic", "MetaSR", "ArbSR", "LIIF", "LTE"))
NOT_RUN = {"EQSR†": "needs ImageNet pre-training (800k iterations), out of reach here"}
TABLE1_MODELS = tuple(EQNET_TABLE1)         # "I" … "V"


def table_specs(profile: str, table1_models=()) -> dict:
    """``{"poster", "supp3", "supp1": TableSpec}``: the poster table and supplement Table 3 (the
    comparison, ``comparison_rows``) and supplement Table 1 (Models I–V, ``table1_rows``) with the
    models of ``table1_models`` (default: all five; at smoke I and IV), the others marked not run.
    Claims compare methods whatever their backbone: run them with ``run_table(..., any_backbone=True)``."""
    rows = tuple(comparison_rows(profile).values())
    keep = list(table1_models) or (["I", "IV"] if profile == "smoke" else list(TABLE1_MODELS))
    t1 = table1_rows(profile)
    t1_not_run = {k: f"not trained at this profile (table1_models = {keep})" for k in t1
                  if k.split("Model ")[1].rstrip("]") not in keep}
    return {
        "poster": TableSpec("eqsr", "poster_table", rows=rows, metrics=("psnr",), claims=CLAIMS, not_run=NOT_RUN),
        "supp3": TableSpec("eqsr", "supp_table3", rows=rows, claims=CLAIMS, not_run=NOT_RUN),
        "supp1": TableSpec("eqsr", "supp_table1", rows=tuple(r for k, r in t1.items() if k not in t1_not_run),
                           metrics=("psnr",), not_run=t1_not_run,
                           claims=(Claim("EQSR [Model IV]", "EQSR [Model I]", note="larger model is better"),)),
    }


def train_row(row: Row, profile: str, seed: int = 0, data_root=None, device: str = "auto",
              progress: bool = False):
    """The trained model of a learned ``row``: its shipped weights, or its cached / new training run
    (``sr_lib.repro.run_cards.load_or_train``)."""
    from sr_lib.repro.run_cards import load_or_train
    if not row.learned:
        raise ValueError(f"{row.label} ({row.method}) is not a learned method")
    return load_or_train(row.method, row.backbone, profile=profile, seed=seed, data_root=data_root or None,
                         options=dict(row.options), device=device, progress=progress, **dict(row.overrides))


# ----------------------------------------------------------------------------------------------
# Supplement Table 1: parameter counts of the full-size EQNet variants
# ----------------------------------------------------------------------------------------------

def table1_parameter_counts(**options) -> pd.DataFrame:
    """Exact parameter counts of EQSR Models I–V (supplement Table 1) at full size.

    Each model is built on the ``meta`` device (shapes only: no weights in memory, no
    forward). ``options`` go to ``make("eqsr")`` (e.g. ``afe=False``). Columns: ``model``,
    ``groups``, ``wsa_per_group``, ``params`` (int), ``params_m`` (millions).
    """
    rows = []
    for name, (groups, blocks) in EQNET_TABLE1.items():
        with torch.device("meta"):
            model = make("eqsr", groups=groups, blocks=blocks, **options)
        n = count_parameters(model)
        rows.append({"model": name, "groups": groups, "wsa_per_group": blocks, "params": n,
                     "params_m": n / 1e6})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# image crops
# ----------------------------------------------------------------------------------------------

def image_crops(dataset: str, size: int, n: int, data_root=None, per_image: int = 1,
                seed: int = 0) -> torch.Tensor:
    """``n`` HR crops ``[n,3,size,size]`` in [0, 1] from the test set ``dataset``.

    Images are taken in name order; from each, ``per_image`` crops at positions drawn
    with ``seed`` (the first one is the centre crop). Images smaller than ``size`` are
    skipped. Raises ``ValueError`` when the set cannot supply ``n`` crops.
    """
    if size < 1 or n < 1 or per_image < 1:
        raise ValueError(f"size, n and per_image must be >= 1, got {size}, {n}, {per_image}")
    gen = torch.Generator().manual_seed(seed)
    crops = []
    for _, hr in load_dataset(dataset, data_root):
        h, w = hr.shape[:2]
        if h < size or w < size:
            continue
        img = to_tensor01(hr)[0]                                                 # [3,H,W]
        for k in range(per_image):
            if k == 0:
                y, x = (h - size) // 2, (w - size) // 2
            else:
                y = int(torch.randint(0, h - size + 1, (1,), generator=gen))
                x = int(torch.randint(0, w - size + 1, (1,), generator=gen))
            crops.append(img[:, y:y + size, x:x + size])
            if len(crops) == n:
                return torch.stack(crops)
    raise ValueError(f"{dataset} gave only {len(crops)} crops of {size}×{size}, {n} requested "
                     f"(raise per_image or lower size)")


# ----------------------------------------------------------------------------------------------
# kriging weight maps
# ----------------------------------------------------------------------------------------------

@dataclass
class KrigingMap:
    """The kriging weights of one HR pixel when ``lr`` is super-resolved at ``scale``.

    ``yx``: the HR pixel (row, col) of an ``hr_hw`` output; ``lr_yx``: its centre in LR
    pixel units (continuous, pixel centres at i + 0.5); ``weights``: ``KrigingWeights``
    (per involution block K_data ``[G,3,3]``, K_scale ``[3,3]``, their product).
    """
    scale: float
    lr_hw: tuple
    hr_hw: tuple
    yx: tuple
    lr_yx: tuple
    weights: KrigingWeights


def hr_pixel_at(pos, hr_hw) -> tuple:
    """The HR pixel containing the relative position ``pos = (fy, fx)`` in [0, 1)²."""
    fy, fx = pos
    if not (0 <= fy < 1 and 0 <= fx < 1):
        raise ValueError(f"pos must lie in [0, 1)², got {pos}")
    return int(fy * hr_hw[0]), int(fx * hr_hw[1])


@torch.no_grad()
def kriging_map(model, lr: torch.Tensor, scale: float, pos=(0.5, 0.5)) -> KrigingMap:
    """Kriging weights of an EQSR ``model`` at the HR pixel at relative position ``pos``
    when the LR image ``lr [1,3,h,w]`` in [0, 1] is super-resolved at ``scale``
    (the scale also conditions the AFE blocks; size, encoder scale and queries as in ``super_resolve``)."""
    if not hasattr(model, "kriging_weights"):
        raise ValueError(f"{type(model).__name__} has no kriging upsampler (an EQSR model is needed)")
    p = next(model.parameters())
    lr = lr.to(device=p.device, dtype=p.dtype)
    hr_hw, _ = output_geometry(lr.shape[-2:], scale=scale)
    s_hw, coord, _ = decode_inputs(model, lr, hr_hw)                            # coord [1,H,W,2]
    feat = model.encode(model.normalize(lr), s_hw)                              # [1,C,h,w]
    yx = hr_pixel_at(pos, hr_hw)
    weights = model.kriging_weights(feat, coord, yx)
    lr_yx = tuple((i + 0.5) * n / m for i, n, m in zip(yx, lr.shape[-2:], hr_hw))
    return KrigingMap(float(scale), tuple(lr.shape[-2:]), tuple(hr_hw), yx, lr_yx, weights)


def kriging_maps(model, lr: torch.Tensor, scales: Sequence[float], pos=(0.5, 0.5)) -> dict:
    """``{scale: KrigingMap}`` for every scale (same LR image, same relative position)."""
    return {float(s): kriging_map(model, lr, float(s), pos) for s in scales}


def kriging_frame(maps: Mapping[float, KrigingMap]) -> pd.DataFrame:
    """Tidy weights: one row per (scale, block, group, ky, kx) with columns ``scale, block,
    group, ky, kx, data, distance, product, hr_y, hr_x, lr_y, lr_x`` (``group = -1``: the
    mean over the channel groups; the product of the means is the mean of the products
    because K_scale is shared by all groups)."""
    rows = []
    for s, m in maps.items():
        w = m.weights
        dist = w.distance.double().cpu()
        for b, data in enumerate(w.data):
            data = data.double().cpu()                                          # [G,3,3]
            stacks = [(-1, data.mean(0))] + list(enumerate(data))
            for g, d in stacks:
                prod = d * dist
                for ky in range(3):
                    for kx in range(3):
                        rows.append({"scale": float(s), "block": b, "group": g, "ky": ky, "kx": kx,
                                     "data": d[ky, kx].item(), "distance": dist[ky, kx].item(),
                                     "product": prod[ky, kx].item(), "hr_y": m.yx[0], "hr_x": m.yx[1],
                                     "lr_y": m.lr_yx[0], "lr_x": m.lr_yx[1]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# EQ_S curves with the flat-output check
# ----------------------------------------------------------------------------------------------

def output_contrast(f: Upscaler, images, r: float) -> float:
    """Mean over images of the spatial standard deviation (per channel, averaged) of
    f(x; r) for every image ``x`` — how much structure the output carries."""
    images = [images] if torch.is_tensor(images) and images.dim() == 3 else list(images)
    vals = []
    for img in images:
        x = img if img.dim() == 4 else img.unsqueeze(0)
        out = f(x, hr_size_for(x.shape[-2:], r))
        vals.append(out.double().flatten(2).std(dim=-1).mean().item())
    return float(np.mean(vals))


def eq_s_curves(upscalers: Mapping[str, Upscaler], images, scales: Sequence[float],
                thetas: Sequence[float] = (2.0,), baseline: str = "Bicubic", shave: int | None = None,
                contrast: bool = True) -> pd.DataFrame:
    """EQ_S (dB) over ``scales`` for the Bicubic baseline and every upscaler.

    Columns of ``sr_lib.metrics.equivariance.eq_s_curve`` (``method, theta, r, eq_s_db,
    eq_s_std, n_images``) plus ``exact`` (True where the two branches agree exactly;
    ``eq_s_db`` is then NaN rather than −∞, so the CSV stays finite) and, with
    ``contrast``, ``contrast_ratio`` (output contrast / Bicubic's at the same r, on the
    θ-cropped images) and ``flat`` (ratio < ``FLAT_CONTRAST``).
    """
    methods = {baseline: bicubic_upscaler, **dict(upscalers)}
    frames = [eq_s_curve(f, images, scales, thetas, method=name, shave=shave) for name, f in methods.items()]
    out = pd.concat(frames, ignore_index=True)
    out["exact"] = np.isneginf(out["eq_s_db"])
    out.loc[out["exact"], "eq_s_db"] = np.nan
    out["eq_s_std"] = out["eq_s_std"].where(np.isfinite(out["eq_s_std"]), np.nan)
    if contrast:
        imgs = [images] if torch.is_tensor(images) and images.dim() == 3 else list(images)
        ratio = {}
        for theta in thetas:
            cropped = [crop_for_theta(x if x.dim() == 4 else x.unsqueeze(0), float(theta)) for x in imgs]
            for r in scales:
                ref = output_contrast(bicubic_upscaler, cropped, float(r))
                for name, f in methods.items():
                    ratio[(name, float(theta), float(r))] = output_contrast(f, cropped, float(r)) / ref
        out["contrast_ratio"] = [ratio[(m, t, r)] for m, t, r in zip(out["method"], out["theta"], out["r"])]
        out["flat"] = out["contrast_ratio"] < FLAT_CONTRAST
    return out


# ----------------------------------------------------------------------------------------------
# CKA for several models
# ----------------------------------------------------------------------------------------------

def cka_matrices(models: Mapping[str, torch.nn.Module], images: torch.Tensor, scales=(2.0, 4.0),
                 batch_size: int = 4, **options) -> tuple[dict, pd.DataFrame]:
    """Layer × layer minibatch CKA (Eq. 5) between two scales for every model.

    ``images``: same-size HR crops ``[N,3,H,W]`` (N a multiple of ``batch_size`` ≥ 4 for
    the paper's image-row form); ``options`` go to ``scale_cka_matrix`` (``rows``,
    ``same_lr``, ``max_rows``, ``seed``). Returns ``({model: matrix [A, A]}, tidy frame)``
    with columns ``model, s_a, s_b, i, j, block_i, block_j, cka``.
    """
    s_a, s_b = (float(s) for s in scales)
    matrices, rows = {}, []
    for name, model in models.items():
        m, names = scale_cka_matrix(model, images, (s_a, s_b), batch_size=batch_size, **options)
        matrices[name] = m
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                rows.append({"model": name, "s_a": s_a, "s_b": s_b, "i": i, "j": j, "block_i": names[i],
                             "block_j": names[j], "cka": m[i, j].item()})
    return matrices, pd.DataFrame(rows)


def cka_summary(matrices: Mapping[str, torch.Tensor]) -> pd.DataFrame:
    """Per model: number of blocks, mean diagonal CKA (same block, two scales: how
    scale-invariant each block's features are) and mean off-diagonal CKA."""
    rows = []
    for name, m in matrices.items():
        m = torch.as_tensor(m, dtype=torch.float64)
        diag = torch.diagonal(m)
        off = m[~torch.eye(m.shape[0], m.shape[1], dtype=torch.bool)]
        rows.append({"model": name, "blocks": m.shape[0], "diag_mean": diag.mean().item(),
                     "diag_min": diag.min().item(),
                     "offdiag_mean": off.mean().item() if off.numel() else float("nan")})
    return pd.DataFrame(rows)


__all__ = ["BaselineRow", "comparison_rows", "eqsr_budget", "table1_rows", "analysis_rows", "eqsr_options", "train_row",
           "OFFICIAL", "OFFICIAL_BACKBONES", "official_rows", "CLAIMS", "NOT_RUN", "TABLE1_MODELS", "table_specs",
           "table1_parameter_counts", "image_crops", "KrigingMap", "hr_pixel_at", "kriging_map",
           "kriging_maps", "kriging_frame", "output_contrast", "eq_s_curves", "cka_matrices", "cka_summary",
           "FLAT_CONTRAST"]

"""Real-world degradations: a seeded second-order blur → resize → noise → JPEG pipeline.

CiaoSR's real-world model (paper §5.4, Table 9) is trained on DIV2K pairs synthesised
with "the practical degradation models (including blur, noise, compression, etc.) of
BSRGAN and Real-ESRGAN". This module implements the Real-ESRGAN *shape* of that
pipeline (Wang et al. 2021, "high-order degradation"): the classical model

    x = JPEG_q( (y ⊛ k)↓_r + n )                                    (Real-ESRGAN Eq. 1)

applied twice in a row (second order), followed by a final resize to the target LR size
and a last JPEG compression. Per stage:

- **blur** ``y ⊛ k``: a normalised Gaussian kernel of odd size, isotropic (σ_x = σ_y) or
  anisotropic (σ_x ≠ σ_y, rotated by θ): k(u) ∝ exp(−½ uᵀ Σ⁻¹ u), Σ = R(θ) diag(σ_x², σ_y²) R(θ)ᵀ;
  reflect padding at the border.
- **resize** ``↓_r``: by a random factor r (down, up or keep), with a random interpolation
  among area, bilinear and bicubic (``torch.nn.functional.interpolate``).
- **noise** ``n``: additive Gaussian noise N(0, σ²) (σ on the 0–255 scale; colour or grey,
  i.e. the same draw for the three channels) or Poisson (shot) noise Poisson(λ·x)/λ − x with
  λ = 255 counts at full intensity, multiplied by a random strength.
- **JPEG** at a random quality, encoded and decoded in memory with PIL (4:2:0 chroma).

Simplifications, stated: no sinc (ringing) filter and no generalized/plateau kernels (the
Real-ESRGAN extras); no BSRGAN random shuffle of the stage order; noise is added in RGB.
The ranges below are Real-ESRGAN's published defaults (first / second order).

Determinism: ``sample_degradation(seed, ...)`` draws every random choice from
``numpy.random.default_rng(seed)`` into a list of ``Stage`` records (inspectable, printable);
``apply_degradation`` is then a pure function of the image and those records (the noise
fields are drawn from a generator seeded by the stage's own ``noise_seed``). So
``degrade(hr, scale, seed)`` is the same array for the same inputs on every machine.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class OrderConfig:
    """Random ranges of one blur → resize → noise → JPEG round (Real-ESRGAN defaults, first order)."""

    blur_prob: float = 1.0
    kernel_sizes: tuple = (7, 9, 11, 13, 15, 17, 19, 21)
    iso_prob: float = 0.5                   # isotropic vs anisotropic Gaussian
    sigma_range: tuple = (0.2, 3.0)
    resize_probs: tuple = (0.2, 0.7, 0.1)   # up, down, keep
    resize_range: tuple = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5        # else Poisson
    noise_sigma_range: tuple = (1.0, 30.0)  # 0-255 scale
    poisson_scale_range: tuple = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_range: tuple = (30, 95)


FIRST_ORDER = OrderConfig()
SECOND_ORDER = OrderConfig(blur_prob=0.8, sigma_range=(0.2, 1.5), resize_probs=(0.3, 0.4, 0.3),
                           resize_range=(0.3, 1.2), noise_sigma_range=(1.0, 25.0),
                           poisson_scale_range=(0.05, 2.5))


@dataclass(frozen=True)
class DegradationConfig:
    first: OrderConfig = FIRST_ORDER
    second: OrderConfig = SECOND_ORDER
    second_order_prob: float = 1.0          # probability of running the second round
    final_jpeg_range: tuple = (30, 95)
    final_resize_modes: tuple = RESIZE_MODES


@dataclass(frozen=True)
class Stage:
    """One deterministic operation: ``kind`` ∈ {blur, resize, gaussian_noise, poisson_noise, jpeg}
    with its parameters in ``params``."""

    kind: str
    params: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# the operations (float32 images [H,W,3] in [0,1])
# ----------------------------------------------------------------------------------------------

def gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """Normalised (sum 1) ``size``×``size`` Gaussian, covariance R(θ) diag(σ_x², σ_y²) R(θ)ᵀ."""
    if size % 2 == 0 or size < 1:
        raise ValueError(f"kernel size must be odd and positive, got {size}")
    sigma_y = sigma_x if sigma_y is None else sigma_y
    c, s = math.cos(theta), math.sin(theta)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag([sigma_x ** 2, sigma_y ** 2]) @ rot.T
    inv = np.linalg.inv(cov)
    r = np.arange(size) - size // 2
    xx, yy = np.meshgrid(r, r)                                   # x = column, y = row
    uv = np.stack([xx, yy], -1).astype(np.float64)               # [k,k,2]
    k = np.exp(-0.5 * np.einsum("...i,ij,...j->...", uv, inv, uv))
    return k / k.sum()


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``img`` ⊛ ``kernel`` per channel, reflect padding (a delta kernel returns ``img``)."""
    k = np.asarray(kernel, np.float64)
    out = np.stack([ndimage.correlate(img[..., c].astype(np.float64), k, mode="reflect")
                    for c in range(img.shape[-1])], -1)
    return out.astype(np.float32)


def resize(img: np.ndarray, size, mode: str) -> np.ndarray:
    """``img`` to ``size`` = (H, W) with ``mode`` ∈ ``RESIZE_MODES`` (torch interpolate, clamped)."""
    if mode not in RESIZE_MODES:
        raise ValueError(f"unknown resize mode {mode!r}; choose one of {', '.join(RESIZE_MODES)}")
    x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]   # [1,3,H,W]
    kw = {} if mode == "area" else {"align_corners": False}
    y = F.interpolate(x, size=tuple(int(v) for v in size), mode=mode, **kw)
    return y[0].permute(1, 2, 0).clamp(0, 1).numpy()


def add_gaussian_noise(img: np.ndarray, sigma: float, gray: bool, seed: int) -> np.ndarray:
    """``img`` + N(0, (σ/255)²); ``gray``: one noise field shared by the three channels."""
    rng = np.random.default_rng(seed)
    shape = img.shape[:2] + ((1,) if gray else (img.shape[2],))
    noise = rng.normal(0.0, sigma / 255.0, shape).astype(np.float32)
    return np.clip(img + noise, 0, 1).astype(np.float32)


def add_poisson_noise(img: np.ndarray, scale: float, gray: bool, seed: int) -> np.ndarray:
    """Shot noise: with λ = 255 photons at full intensity (8-bit counts), the noise is
    Poisson(λ·x)/λ − x, multiplied by ``scale``; ``gray`` draws it on the luma and adds it to
    every channel."""
    rng = np.random.default_rng(seed)
    lam = 255.0
    base = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None] if gray else img
    noise = (rng.poisson(np.clip(base, 0, 1) * lam) / lam - base).astype(np.float32)
    return np.clip(img + scale * noise, 0, 1).astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode ``img`` as JPEG at ``quality`` (PIL, in memory) and decode it again."""
    u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"), np.float32) / 255.0


# ----------------------------------------------------------------------------------------------
# sampling and applying a pipeline
# ----------------------------------------------------------------------------------------------

def _sample_order(rng: np.random.Generator, cfg: OrderConfig) -> list:
    stages = []
    if rng.random() < cfg.blur_prob:
        size = int(rng.choice(cfg.kernel_sizes))
        sx = float(rng.uniform(*cfg.sigma_range))
        if rng.random() < cfg.iso_prob:
            sy, theta = sx, 0.0
        else:
            sy, theta = float(rng.uniform(*cfg.sigma_range)), float(rng.uniform(-math.pi, math.pi))
        stages.append(Stage("blur", {"size": size, "sigma_x": sx, "sigma_y": sy, "theta": theta}))
    direction = rng.choice(["up", "down", "keep"], p=list(cfg.resize_probs))
    lo, hi = cfg.resize_range
    factor = {"up": lambda: rng.uniform(1.0, hi), "down": lambda: rng.uniform(lo, 1.0), "keep": lambda: 1.0}[direction]()
    stages.append(Stage("resize", {"factor": float(factor), "mode": str(rng.choice(RESIZE_MODES))}))
    gray = bool(rng.random() < cfg.gray_noise_prob)
    noise_seed = int(rng.integers(2 ** 31))
    if rng.random() < cfg.gaussian_noise_prob:
        stages.append(Stage("gaussian_noise", {"sigma": float(rng.uniform(*cfg.noise_sigma_range)), "gray": gray,
                                               "seed": noise_seed}))
    else:
        stages.append(Stage("poisson_noise", {"scale": float(rng.uniform(*cfg.poisson_scale_range)), "gray": gray,
                                              "seed": noise_seed}))
    stages.append(Stage("jpeg", {"quality": int(rng.integers(cfg.jpeg_range[0], cfg.jpeg_range[1] + 1))}))
    return stages


def sample_degradation(seed: int, config: DegradationConfig | None = None) -> list:
    """Every random choice of one second-order degradation, as ``Stage`` records.

    Order 1 (blur?, resize, noise, JPEG), order 2 with probability ``second_order_prob``, then
    the final resize to the target size (``{"factor": None}``: set by ``apply_degradation``)
    and a final JPEG."""
    cfg = config or DegradationConfig()
    rng = np.random.default_rng(seed)
    stages = _sample_order(rng, cfg.first)
    if rng.random() < cfg.second_order_prob:
        stages += _sample_order(rng, cfg.second)
    stages.append(Stage("resize", {"factor": None, "mode": str(rng.choice(cfg.final_resize_modes))}))
    stages.append(Stage("jpeg", {"quality": int(rng.integers(cfg.final_jpeg_range[0], cfg.final_jpeg_range[1] + 1))}))
    return stages


def apply_stage(img: np.ndarray, stage: Stage, target_size=None) -> np.ndarray:
    """One ``Stage`` on a float32 [H,W,3] image in [0,1]; a resize with ``factor=None`` goes to
    ``target_size``; other resizes keep at least 4 pixels per side."""
    p = stage.params
    if stage.kind == "blur":
        return blur(img, gaussian_kernel(p["size"], p["sigma_x"], p["sigma_y"], p["theta"]))
    if stage.kind == "resize":
        if p["factor"] is None:
            size = tuple(target_size)
        else:
            size = tuple(max(4, int(round(n * p["factor"]))) for n in img.shape[:2])
        return img if size == img.shape[:2] else resize(img, size, p["mode"])
    if stage.kind == "gaussian_noise":
        return add_gaussian_noise(img, p["sigma"], p["gray"], p["seed"])
    if stage.kind == "poisson_noise":
        return add_poisson_noise(img, p["scale"], p["gray"], p["seed"])
    if stage.kind == "jpeg":
        return jpeg(img, p["quality"])
    raise ValueError(f"unknown degradation stage {stage.kind!r}")


def apply_degradation(hr: np.ndarray, stages, out_size) -> np.ndarray:
    """Run ``stages`` on ``hr`` (uint8 or float [H,W,3]) → uint8 LR of ``out_size`` = (h, w)."""
    img = as_float01(hr)
    for st in stages:
        img = apply_stage(img, st, out_size)
    if img.shape[:2] != tuple(out_size):             # no final resize in a custom stage list
        img = resize(img, out_size, "bicubic")
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def degrade(hr: np.ndarray, scale: float, seed: int, config: DegradationConfig | None = None) -> np.ndarray:
    """A real-world-style LR for ``hr`` at ``scale``: uint8 [round(H/s), round(W/s), 3]."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    out = tuple(max(1, int(round(n / scale))) for n in hr.shape[:2])
    return apply_degradation(hr, sample_degradation(seed, config), out)


def describe(stages) -> str:
    """One line per stage, for notebooks."""
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return "\n".join(f"{s.kind}: " + ", ".join(f"{k}={fmt(v)}" for k, v in s.params.items() if k != "seed")
                     for s in stages)


def as_float01(img: np.ndarray) -> np.ndarray:
    """An RGB image [H,W,3] as float32 in [0,1] (uint8 divided by 255, floats clipped)."""
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H,W,3], got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    return np.clip(a.astype(np.float32), 0, 1)


__all__ = ["OrderConfig", "DegradationConfig", "Stage", "FIRST_ORDER", "SECOND_ORDER", "RESIZE_MODES",
           "gaussian_kernel", "blur", "resize", "add_gaussian_noise", "add_poisson_noise", "jpeg",
           "sample_degradation", "apply_stage", "apply_degradation", "degrade", "describe", "as_float01"]

"""Verdicts on a paper's claim from paired per-image differences (the evidence rule).

A claim compares two methods on the same images ("IPE-LIIF > LIIF on Set14 ×4"). Its evidence is
the **paired per-image difference** d_i = metric(A, image i) − metric(B, image i), oriented so that
d > 0 means "as the paper claims" (for a lower-is-better metric the sign is flipped by the caller,
``direction=-1``). With k seeds per method, d is ``[k, n]``: seed j of A against seed j of B.

- **mean** = the mean of d over seeds and images;
- **95% CI over images**: a percentile bootstrap of the image-mean of the seed-averaged d
  (``n_boot`` resamples of the n images with replacement, a fixed generator seed, so the interval is
  repeatable);
- **seed spread** (k ≥ 2): the sample standard deviation of the k per-seed means, and the interval
  mean ± t_{0.975, k−1}·sd/√k.

Verdicts (the only four):

- ``holds``: the image CI lies above 0 and, with seeds, so does the seed interval;
- ``reversed``: both lie below 0;
- ``within noise``: anything else (an interval covers 0);
- ``not tested (reason)``: no evidence to judge, e.g. a run below the health bar or images missing
  (``not_tested``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

VERDICTS = ("holds", "reversed", "within noise", "not tested")
N_BOOT = 10_000

# two-sided 97.5% quantiles of Student's t for k − 1 = 1..10 degrees of freedom (then the normal's)
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


@dataclass(frozen=True)
class Verdict:
    verdict: str                 # one of VERDICTS ("not tested (...)" carries its reason)
    mean: float = float("nan")   # mean paired difference, claim-oriented (> 0: as claimed)
    ci_low: float = float("nan")     # 95% bootstrap CI over images
    ci_high: float = float("nan")
    seed_sd: float = float("nan")    # sd of the per-seed means (k ≥ 2)
    seed_low: float = float("nan")   # mean ± t·sd/√k
    seed_high: float = float("nan")
    n_images: int = 0
    n_seeds: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def not_tested(reason: str) -> Verdict:
    """The verdict of a claim without evidence, with its reason (one line)."""
    return Verdict(verdict=f"not tested ({reason})")


def verdict_kind(verdict: str) -> str:
    """``holds`` / ``reversed`` / ``within noise`` / ``not tested`` of a verdict string."""
    for v in VERDICTS:
        if verdict.startswith(v):
            return v
    raise ValueError(f"not a verdict: {verdict!r}; verdicts are {', '.join(VERDICTS)}")


def bootstrap_ci(values, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values [n]`` (resampling with replacement)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("bootstrap of no values")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)       # [n_boot]
    a = (1.0 - level) / 2.0
    return float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


def paired_verdict(diff, direction: int = 1, n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """The verdict of a claim from paired per-image differences ``diff`` (``[n]`` or ``[k seeds, n]``,
    A − B in the metric's units); ``direction=-1`` when the claim is that A is *lower* (LPIPS, time)."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    d = np.asarray(diff, dtype=np.float64)
    d = d[None, :] if d.ndim == 1 else d
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f"diff must be [n_images] or [n_seeds, n_images], got shape {np.shape(diff)}")
    if not np.isfinite(d).all():
        raise ValueError("paired differences contain NaN or inf: a score is missing or broken")
    d = direction * d
    k, n = d.shape
    per_image = d.mean(axis=0)                                          # [n] seed-averaged
    lo, hi = bootstrap_ci(per_image, n_boot, seed)
    mean = float(per_image.mean())
    sd = s_lo = s_hi = float("nan")
    if k >= 2:
        per_seed = d.mean(axis=1)                                       # [k]
        sd = float(per_seed.std(ddof=1))
        half = _T975.get(k - 1, 1.96) * sd / np.sqrt(k)
        s_lo, s_hi = mean - half, mean + half
    above = lo > 0 and (k < 2 or s_lo > 0)
    below = hi < 0 and (k < 2 or s_hi < 0)
    verdict = "holds" if above else "reversed" if below else "within noise"
    return Verdict(verdict, mean, lo, hi, sd, s_lo, s_hi, n, k)


__all__ = ["VERDICTS", "Verdict", "not_tested", "verdict_kind", "bootstrap_ci", "paired_verdict"]

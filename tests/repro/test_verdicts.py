"""sr_lib.repro.verdicts: paired bootstrap verdicts against closed forms and invariances."""
import numpy as np
import pytest

from sr_lib.repro.verdicts import VERDICTS, bootstrap_ci, not_tested, paired_verdict, verdict_kind


def test_constant_difference_has_a_degenerate_interval():
    v = paired_verdict(np.full(19, 0.12))
    assert v.verdict == "holds"
    assert v.mean == pytest.approx(0.12) and v.ci_low == pytest.approx(0.12) and v.ci_high == pytest.approx(0.12)


def test_sign_decides_holds_or_reversed_and_direction_flips_it():
    d = np.linspace(0.05, 0.3, 14)
    assert paired_verdict(d).verdict == "holds"
    assert paired_verdict(-d).verdict == "reversed"
    assert paired_verdict(-d, direction=-1).verdict == "holds"      # lower-is-better claim


def test_zero_mean_differences_are_within_noise():
    d = np.array([0.3, -0.3] * 10)
    v = paired_verdict(d)
    assert v.verdict == "within noise" and v.ci_low < 0 < v.ci_high


def test_interval_width_matches_the_normal_closed_form():
    rng = np.random.default_rng(1)
    d = rng.normal(0.0, 1.0, 400)
    lo, hi = bootstrap_ci(d, n_boot=20000)
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert (hi - lo) == pytest.approx(2 * 1.959964 * se, rel=0.08)
    assert lo < d.mean() < hi


def test_bootstrap_is_repeatable():
    d = np.random.default_rng(3).normal(0.1, 0.5, 30)
    assert bootstrap_ci(d, seed=7) == bootstrap_ci(d, seed=7)


def test_seeds_that_disagree_are_within_noise_even_when_images_agree():
    # every image favours A on average, but one seed of three says the opposite strongly
    d = np.array([np.full(20, 0.4), np.full(20, 0.5), np.full(20, -0.6)])
    v = paired_verdict(d)
    assert v.n_seeds == 3 and v.n_images == 20
    assert v.ci_low > 0                                  # the image interval alone would say "holds"
    assert v.verdict == "within noise" and v.seed_low < 0 < v.seed_high
    assert v.seed_sd == pytest.approx(np.std([0.4, 0.5, -0.6], ddof=1))


def test_consistent_seeds_hold():
    d = np.array([np.full(20, 0.10), np.full(20, 0.12), np.full(20, 0.11)])
    d = d + np.random.default_rng(0).normal(0, 0.01, d.shape)
    assert paired_verdict(d).verdict == "holds"


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        paired_verdict([0.1, np.nan])
    with pytest.raises(ValueError, match="shape"):
        paired_verdict(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="direction"):
        paired_verdict([0.1], direction=2)


def test_not_tested_carries_its_reason_and_kinds_are_the_four():
    v = not_tested("run liif-s0 below the health bar")
    assert v.verdict == "not tested (run liif-s0 below the health bar)"
    assert verdict_kind(v.verdict) == "not tested"
    assert [verdict_kind(x) for x in VERDICTS] == list(VERDICTS)
    with pytest.raises(ValueError):
        verdict_kind("does not hold")

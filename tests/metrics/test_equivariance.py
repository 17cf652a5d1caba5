"""EQ_S (sr_lib.metrics.equivariance): exactly equivariant cases give −∞ or
round-off level values, a real upscaler a finite one, and the value does not
depend on where an image sits in a batch."""
from __future__ import annotations

import math

import pytest
import torch

import sr_lib
from sr_lib.engine.evaluate import ModelUpscaler
from sr_lib.metrics.equivariance import bicubic_upscaler, branch_pair, crop_for_theta, eq_s, eq_s_curve

F64 = torch.float64


def identity(lr, size):
    assert tuple(lr.shape[-2:]) == tuple(size)
    return lr


def ramp(h=48, w=48):
    """A linear image: every cubic-kernel resampling reproduces it away from the borders."""
    i, j = torch.arange(h, dtype=F64).view(-1, 1), torch.arange(w, dtype=F64).view(1, -1)
    grey = 0.1 + 0.006 * i + 0.01 * j
    return torch.stack([grey, 0.9 * grey, 0.8 * grey]).unsqueeze(0)


class TestExactCases:
    def test_identity_at_scale_one_is_minus_infinity(self):
        assert eq_s(identity, torch.rand(2, 3, 20, 24), r=1.0, theta=2.0).eq(-math.inf).all()

    def test_constant_image_is_minus_infinity_for_bicubic(self):
        v = eq_s(bicubic_upscaler, torch.full((1, 3, 30, 30), 0.4, dtype=F64), r=2.5, theta=2.0)
        assert v.item() < -250

    @pytest.mark.parametrize("r,theta", [(2.0, 2.0), (3.0, 2.0), (2.0, 3.0), (2.5, 2.0)])
    def test_bicubic_is_equivariant_on_a_linear_image_inside_the_border(self, r, theta):
        # cubic kernels reproduce linear functions, so both branches sample the same plane
        assert eq_s(bicubic_upscaler, ramp(), r, theta, shave=12).item() < -250
        assert eq_s(bicubic_upscaler, ramp(), r, theta, shave=0).item() > -100     # the borders are not


class TestRealUpscalers:
    def test_bicubic_on_noise_is_finite_and_negative(self):
        v = eq_s(bicubic_upscaler, torch.rand(2, 3, 32, 28, generator=torch.Generator().manual_seed(0)), 2.0, 2.0)
        assert torch.isfinite(v).all() and (v < 0).all()

    def test_value_does_not_depend_on_batch_order(self):
        x = torch.rand(3, 3, 24, 20, generator=torch.Generator().manual_seed(1))
        v = eq_s(bicubic_upscaler, x, 2.0, 2.0)
        torch.testing.assert_close(eq_s(bicubic_upscaler, x.flip(0), 2.0, 2.0), v.flip(0))
        torch.testing.assert_close(eq_s(bicubic_upscaler, [x[2], x[0]], 2.0, 2.0), v[[2, 0]])

    def test_untrained_arbsr_runs_on_odd_sizes_and_non_integer_scales(self):
        torch.manual_seed(0)
        model = sr_lib.make("arbsr", n_resblocks=2, n_feats=8, adapt_every=2).eval()
        v = eq_s(ModelUpscaler(model), torch.rand(1, 3, 21, 17), r=1.7, theta=1.5)
        assert torch.isfinite(v).all()


class TestSizes:
    @pytest.mark.parametrize("r,theta", [(2.0, 2.0), (1.7, 1.5), (3.3, 2.5), (2.0, 1.7)])
    def test_both_branches_have_the_target_size(self, r, theta):
        x = torch.rand(1, 3, 37, 41)
        a, b = branch_pair(bicubic_upscaler, x, r, theta)
        hc, wc = crop_for_theta(x, theta).shape[-2:]
        target = (round(round(hc / theta) * r), round(round(wc / theta) * r))
        assert a.shape == b.shape == (1, 3, *target)

    def test_crop_makes_the_theta_downscale_exact(self):
        assert crop_for_theta(torch.zeros(3, 37, 41), 2.5).shape[-2:] == (35, 40)
        assert crop_for_theta(torch.zeros(3, 37, 41), 3.0).shape[-2:] == (36, 39)

    def test_too_large_a_shave_is_an_error(self):
        with pytest.raises(ValueError, match="leaves nothing"):
            eq_s(bicubic_upscaler, torch.rand(1, 3, 8, 8), 1.0, 2.0, shave=3)


class TestCurve:
    def test_one_row_per_theta_and_scale(self):
        x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(2))
        df = eq_s_curve(bicubic_upscaler, x, scales=[1.5, 2.0, 3.0], thetas=[2.0, 3.0], method="Bicubic")
        assert len(df) == 6 and set(df["method"]) == {"Bicubic"}
        one = eq_s(bicubic_upscaler, x, 2.0, 3.0).mean().item()
        assert df.query("theta == 3.0 and r == 2.0")["eq_s_db"].item() == pytest.approx(one)

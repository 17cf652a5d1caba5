"""IPE and PE (sr_lib.models.layers.ipe) against closed forms and numerical quadrature,
and the IPE decoders (sr_lib.models.ipe_liif) against layer-size formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate

import sr_lib
from sr_lib.models.base import count_parameters
from sr_lib.geometry import make_cell, make_coord
from sr_lib.models.layers.ipe import (encoding_dim, frequencies, integrated_positional_encoding,
                               positional_encoding, sinc, sinc_envelope)
from sr_lib.models.ipe_liif import IPELIIF, IPEMetaSR, LIIFPE, SkipMLP
from sr_lib.engine.inference import super_resolve

F64 = torch.float64


class TestPositionalEncoding:
    def test_layout_sin_then_cos_frequency_then_axis(self):
        x = torch.tensor([[0.3, -0.7]], dtype=F64)
        pe = positional_encoding(x, L=3)
        assert pe.shape == (1, encoding_dim(3, 2)) == (1, 12)
        for k, fn in enumerate((math.sin, math.cos)):
            for l in range(3):
                for d in range(2):
                    expected = fn(2 ** l * math.pi * x[0, d].item())
                    assert pe[0, k * 6 + l * 2 + d].item() == pytest.approx(expected, abs=1e-12)

    def test_frequencies_are_powers_of_two_times_pi(self):
        w = frequencies(10, dtype=F64)
        assert w[0].item() == pytest.approx(math.pi)
        torch.testing.assert_close(w[1:] / w[:-1], torch.full((9,), 2.0, dtype=F64))

    def test_rejects_zero_frequencies(self):
        with pytest.raises(ValueError, match="L must be >= 1"):
            positional_encoding(torch.zeros(1, 2), L=0)

    def test_sinc_is_safe_and_exact_at_zero(self):
        u = torch.tensor([0.0, 1e-30, 0.5, math.pi, 7.0], dtype=F64)
        expected = torch.tensor([1.0, 1.0, math.sin(0.5) / 0.5, 0.0, math.sin(7.0) / 7.0], dtype=F64)
        torch.testing.assert_close(sinc(u), expected, atol=1e-15, rtol=0)


class TestIntegratedPositionalEncoding:
    def test_matches_scipy_quadrature_of_pe_per_axis(self):
        # E over [x-r, x+r] of sin/cos(ω t), integrated numerically for every channel.
        L = 4
        x = torch.tensor([[0.37, -1.21]], dtype=F64)
        r = torch.tensor([[0.11, 0.26]], dtype=F64)
        ipe = integrated_positional_encoding(x, r, L)[0]
        for k, fn in enumerate((np.sin, np.cos)):
            for l in range(L):
                w = 2 ** l * np.pi
                for d in range(2):
                    c, h = x[0, d].item(), r[0, d].item()
                    val, _ = integrate.quad(lambda t: fn(w * t), c - h, c + h, epsabs=1e-13, limit=200)
                    assert ipe[k * 2 * L + l * 2 + d].item() == pytest.approx(val / (2 * h), abs=1e-10)

    def test_matches_dense_midpoint_average_over_the_2d_box(self):
        # The whole 2-D box: mean of PE over an N×N midpoint grid of the pixel.
        L, n = 3, 400
        x = torch.tensor([0.2, 0.55], dtype=F64)
        r = torch.tensor([0.3, 0.12], dtype=F64)
        u = (torch.arange(n, dtype=F64) + 0.5) / n * 2 - 1                 # midpoints of [-1,1]
        ty, tx = torch.meshgrid(x[0] + r[0] * u, x[1] + r[1] * u, indexing="ij")
        t = torch.stack([ty, tx], dim=-1).reshape(-1, 2)                    # [N*N,2]
        quad = positional_encoding(t, L).mean(dim=0)
        # midpoint error ≤ (ω r)^2 / (6 n^2) ≈ 1e-5 for the top band here
        torch.testing.assert_close(integrated_positional_encoding(x, r, L), quad, atol=2e-5, rtol=0)

    def test_zero_radius_equals_plain_pe(self):
        x = torch.randn(5, 7, 2, dtype=F64)
        torch.testing.assert_close(integrated_positional_encoding(x, 0.0, 10), positional_encoding(x, 10),
                                   atol=0, rtol=0)

    def test_tiny_radius_converges_to_plain_pe(self):
        x = torch.randn(64, 2, dtype=F64)
        err = [(integrated_positional_encoding(x, r, 10) - positional_encoding(x, 10)).abs().max().item()
               for r in (1e-3, 1e-4, 1e-5)]
        # 1 - sinc(u) ≈ u²/6: the error falls by ~100 per decade of r
        assert err[0] > err[1] > err[2]
        assert err[2] < (512 * math.pi * 1e-5) ** 2 / 6 * 1.01

    def test_magnitude_never_exceeds_plain_pe(self):
        g = torch.Generator().manual_seed(0)
        x = torch.rand(500, 2, generator=g, dtype=F64) * 4 - 2
        r = torch.rand(500, 2, generator=g, dtype=F64)
        ipe = integrated_positional_encoding(x, r, 10)
        assert (ipe.abs() <= positional_encoding(x, 10).abs() + 1e-15).all()

    def test_top_band_energy_decreases_over_first_lobe(self):
        # Energy of band l on axis d: sin²·sinc² + cos²·sinc² = sinc²(ω_l r); falls from 1 to 0 on [0, π/ω_l].
        L = 10
        w_top = 2 ** (L - 1) * math.pi
        radii = torch.linspace(0, math.pi / w_top, 50, dtype=F64)
        x = torch.full((50, 2), 0.123, dtype=F64)
        ipe = integrated_positional_encoding(x, radii.unsqueeze(-1), L).view(50, 2, L, 2)
        energy = (ipe[:, :, L - 1, :] ** 2).sum(dim=1)                       # [50, D]
        assert energy[0].tolist() == pytest.approx([1.0, 1.0])
        assert energy[-1].max().item() < 1e-20
        assert (energy[1:] < energy[:-1]).all()

    def test_higher_bands_damped_more_for_the_same_pixel(self):
        # Inside the top band's first lobe, sinc(ω_l r) decreases with l.
        r = torch.tensor([[0.9 / 2 ** 9, 0.3 / 2 ** 9]], dtype=F64)
        env = sinc_envelope(r, 10)[0]                                        # [L,D]
        assert (env[1:] < env[:-1]).all() and (env > 0).all()

    def test_power_of_two_scale_zeros_every_band_above_log2_s(self):
        # r = 1/s in LIIF units: ω_l r = 2^l π / s is a multiple of π once 2^l >= s.
        env = sinc_envelope(torch.tensor([0.25], dtype=F64), 10)[:, 0]      # s = 4
        torch.testing.assert_close(env[:2], torch.tensor([math.sin(math.pi / 4) / (math.pi / 4), 2 / math.pi],
                                                         dtype=F64))
        assert env[2:].abs().max().item() < 1e-15

    def test_per_axis_radius_gives_per_axis_factor(self):
        x = torch.tensor([[0.4, 0.4]], dtype=F64)
        ipe = integrated_positional_encoding(x, torch.tensor([[0.0, 0.2]], dtype=F64), 2).view(2, 2, 2)
        pe = positional_encoding(x, 2).view(2, 2, 2)
        torch.testing.assert_close(ipe[..., 0], pe[..., 0])
        torch.testing.assert_close(ipe[..., 1], pe[..., 1] * sinc(frequencies(2, F64) * 0.2))

    def test_gradcheck_in_x_and_r(self):
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(4, 2, generator=g, dtype=F64) * 2 - 1).requires_grad_()
        r = torch.rand(4, 2, generator=g, dtype=F64).mul(0.3).requires_grad_()
        assert torch.autograd.gradcheck(lambda a, b: integrated_positional_encoding(a, b, 4), (x, r))

    def test_gradient_in_r_is_zero_at_zero_radius(self):
        # d sinc/du = 0 at u = 0: a point pixel has no first-order sensitivity to its size.
        x = torch.tensor([[0.3, -0.2]], dtype=F64)
        r = torch.zeros(1, 2, dtype=F64, requires_grad=True)
        integrated_positional_encoding(x, r, 4).sum().backward()
        assert torch.isfinite(r.grad).all() and r.grad.abs().max().item() == 0.0


# ----------------------------------------------------------------------------- IPE decoders
TINY_EDSR = dict(n_resblocks=1, n_feats=8)
TINY_BACKBONES = {
    "edsr-baseline": TINY_EDSR,
    "rdn": dict(D=1, C=1, G=4, G0=8),
    "swinir": dict(embed_dim=12, depths=(1,), num_heads=(2,), window_size=4, img_size=8, out_dim=8),
}
# Printed parameter counts of the official models (shared/refvec/README.md).
OFFICIAL_LIIF_EDSR_BASELINE = 1_567_323
OFFICIAL_LIIF_RDN = 22_320_835
OFFICIAL_METASR_EDSR_BASELINE = 1_665_560


def mlp_params(n_in, hidden, n_out):
    """Linear layers n_in → hidden… → n_out (LIIF's MLP)."""
    sizes = [n_in, *hidden, n_out]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def skip_mlp_params(n_in, hidden, n_out):
    """Hidden layer k ≥ 2 also takes the n_in-dim input."""
    fan_in = [n_in] + [h + n_in for h in hidden[:-1]]
    return sum(f * h + h for f, h in zip(fan_in, hidden)) + hidden[-1] * n_out + n_out


def decoder_params(model):
    return count_parameters(model) - count_parameters(model.encoder)


def queries(h, w, b=1, dtype=torch.float32):
    coord = make_coord((h, w), dtype=dtype).unsqueeze(0).expand(b, -1, -1)
    return coord, make_cell((h, w), dtype=dtype).unsqueeze(0).expand(b, -1, -1)


class TestSkipMLP:
    def test_forward_concatenates_input_into_every_hidden_layer_after_the_first(self):
        torch.manual_seed(0)
        mlp = SkipMLP(5, 3, [4, 6, 2]).double()
        z = torch.randn(7, 5, dtype=F64)
        lin = mlp.hidden
        h1 = torch.relu(z @ lin[0].weight.T + lin[0].bias)
        h2 = torch.relu(torch.cat([h1, z], -1) @ lin[1].weight.T + lin[1].bias)
        h3 = torch.relu(torch.cat([h2, z], -1) @ lin[2].weight.T + lin[2].bias)
        torch.testing.assert_close(mlp(z), h3 @ mlp.out.weight.T + mlp.out.bias)

    def test_parameter_count_formula(self):
        assert count_parameters(SkipMLP(616, 3, [256] * 4)) == (616 * 256 + 256) + 3 * ((256 + 616) * 256 + 256) \
            + (256 * 3 + 3) == 829_187

    def test_rejects_no_hidden_layer(self):
        with pytest.raises(ValueError, match="at least one hidden layer"):
            SkipMLP(4, 3, [])


class TestIPELIIFParameters:
    def test_ipe_liif_edsr_baseline_count_from_official_liif(self):
        # IPE-LIIF = official EDSR-baseline-LIIF with its 580-input MLP swapped for a 616-input skip MLP.
        model = sr_lib.make("ipe-liif", backbone="edsr-baseline")
        expected = OFFICIAL_LIIF_EDSR_BASELINE - mlp_params(580, [256] * 4, 3) + skip_mlp_params(576 + 40, [256] * 4, 3)
        assert count_parameters(model) == expected == 2_049_627

    def test_ipe_liif_rdn_count_from_official_liif(self):
        model = sr_lib.make("ipe-liif", backbone="rdn")
        expected = OFFICIAL_LIIF_RDN - mlp_params(580, [256] * 4, 3) + skip_mlp_params(616, [256] * 4, 3)
        assert count_parameters(model) == expected

    @pytest.mark.parametrize("options, n_in, skip", [
        ({}, 72 + 40, True),                                   # 9·8 latent + 4L, L = 10
        ({"L": 4}, 72 + 16, True),
        ({"L": 16}, 72 + 64, True),
        ({"use_cell": True}, 72 + 40 + 2, True),               # "+cell"
        ({"skip": False}, 72 + 40, False),                     # "-skip": LIIF's MLP
    ], ids=["default", "L4", "L16", "+cell", "-skip"])
    def test_table4_ablations_decoder_sizes(self, options, n_in, skip):
        model = sr_lib.make("ipe-liif", backbone="edsr-baseline", hidden=(32, 32, 32), **TINY_EDSR, **options)
        formula = skip_mlp_params if skip else mlp_params
        assert model.imnet.in_dim == n_in
        assert decoder_params(model) == formula(n_in, [32] * 3, 3)

    def test_removing_skips_removes_input_fan_in_of_later_layers(self):
        with_skip = sr_lib.make("ipe-liif", **TINY_EDSR)
        without = sr_lib.make("ipe-liif", skip=False, **TINY_EDSR)
        assert count_parameters(with_skip) - count_parameters(without) == 3 * (72 + 40) * 256

    @pytest.mark.parametrize("cell_decode, n_in", [(True, 72 + 42), (False, 72 + 40)])
    def test_liif_pe_decoder_size(self, cell_decode, n_in):
        model = sr_lib.make("liif-pe", cell_decode=cell_decode, **TINY_EDSR)
        assert isinstance(model, LIIFPE) and not isinstance(model, IPELIIF)
        assert decoder_params(model) == mlp_params(n_in, [256] * 4, 3)

    def test_ipe_metasr_count_from_official_metasr(self):
        # Meta-SR's 3-input weight net (3 → 256 → 576·3) gets a 4L = 40-input one.
        model = sr_lib.make("ipe-metasr", backbone="edsr-baseline")
        expected = OFFICIAL_METASR_EDSR_BASELINE - mlp_params(3, [256], 1728) + mlp_params(40, [256], 1728)
        assert count_parameters(model) == expected


class TestIPELIIFEncoding:
    def test_coordinate_input_is_ipe_of_rel_with_half_cell(self):
        model = sr_lib.make("ipe-liif", **TINY_EDSR)
        rel = torch.randn(2, 5, 2)
        rel_cell = torch.rand(2, 5, 2)
        torch.testing.assert_close(model.coord_features(rel, rel_cell),
                                   integrated_positional_encoding(rel, rel_cell / 2, 10))

    def test_zero_cell_reduces_to_liif_pe_encoding(self):
        ipe = sr_lib.make("ipe-liif", L=6, **TINY_EDSR)
        pe = sr_lib.make("liif-pe", L=6, cell_decode=False, **TINY_EDSR)
        rel = torch.rand(1, 9, 2, dtype=F64) * 4 - 2
        torch.testing.assert_close(ipe.coord_features(rel, torch.zeros_like(rel)),
                                   pe.coord_features(rel, torch.rand_like(rel)), atol=0, rtol=0)

    def test_plus_cell_appends_rel_cell(self):
        model = sr_lib.make("ipe-liif", use_cell=True, **TINY_EDSR)
        rel, rel_cell = torch.randn(1, 4, 2), torch.rand(1, 4, 2)
        feats = model.coord_features(rel, rel_cell)
        assert feats.shape == (1, 4, 42)
        torch.testing.assert_close(feats[..., -2:], rel_cell)

    def test_tiny_cell_model_matches_liif_pe_with_same_weights(self):
        # Same architecture (skip MLP, no cell input) and weights: outputs differ only through sinc(ω r),
        # so they agree as the cell (and r) → 0.
        torch.manual_seed(0)
        ipe = sr_lib.make("ipe-liif", L=4, hidden=(16, 16), **TINY_EDSR).double()
        pe = sr_lib.make("liif-pe", L=4, hidden=(16, 16), cell_decode=False, skip=True, **TINY_EDSR).double()
        pe.load_state_dict(ipe.state_dict())
        x = torch.rand(1, 3, 4, 5, dtype=F64) * 2 - 1
        coord, cell = queries(9, 11, dtype=F64)
        torch.testing.assert_close(ipe(x, coord, cell * 1e-7), pe(x, coord, cell), atol=1e-10, rtol=0)
        assert (ipe(x, coord, cell) - pe(x, coord, cell)).abs().max() > 1e-3   # a real cell matters

    def test_output_depends_on_cell_only_through_ipe(self):
        # Without cell_decode, liif-pe ignores the cell; IPE-LIIF is scale-aware.
        torch.manual_seed(0)
        x = torch.rand(1, 3, 4, 4) * 2 - 1
        coord, cell = queries(8, 8)
        pe = sr_lib.make("liif-pe", cell_decode=False, hidden=(16,), **TINY_EDSR)
        ipe = sr_lib.make("ipe-liif", hidden=(16,), **TINY_EDSR)
        torch.testing.assert_close(pe(x, coord, cell), pe(x, coord, 2 * cell))
        assert not torch.allclose(ipe(x, coord, cell), ipe(x, coord, 2 * cell))


class TestIPEMetaSR:
    def test_weight_input_is_box_average_of_pe_over_the_hr_pixel(self):
        # The HR pixel spans [rel, rel + rel_cell] in LR pixels (rel = its top-left corner).
        model = sr_lib.make("ipe-metasr", L=3, **TINY_EDSR)
        rel = torch.tensor([[[0.25, 0.6]]], dtype=F64)
        rel_cell = torch.tensor([[[0.3, 0.2]]], dtype=F64)
        n = 4000
        u = (torch.arange(n, dtype=F64) + 0.5) / n                                # midpoints of [0,1]
        t = rel[0, 0] + rel_cell[0, 0] * u.unsqueeze(-1)                          # [n,2], axes separate
        torch.testing.assert_close(model.weight_features(rel, rel_cell)[0, 0],
                                   positional_encoding(t, 3).mean(0), atol=1e-6, rtol=0)

    def test_zero_cell_gives_plain_pe_of_the_offset(self):
        model = sr_lib.make("ipe-metasr", **TINY_EDSR)
        rel = torch.rand(2, 6, 2, dtype=F64)
        torch.testing.assert_close(model.weight_features(rel, torch.zeros_like(rel)), positional_encoding(rel, 10))
        assert isinstance(model, IPEMetaSR) and model.imnet.in_dim == 40


class TestForwardOnEveryBackbone:
    @pytest.mark.parametrize("backbone", sorted(TINY_BACKBONES))
    @pytest.mark.parametrize("method", ["liif-pe", "ipe-liif", "ipe-metasr"])
    def test_super_resolve_tiny_image(self, method, backbone):
        torch.manual_seed(0)
        model = sr_lib.make(method, backbone=backbone, hidden=(16,), **TINY_BACKBONES[backbone]).eval()
        assert model.spec == {"name": method, "args": {"backbone": backbone, "hidden": (16,),
                                                       **TINY_BACKBONES[backbone]}}
        out = super_resolve(model, torch.rand(2, 3, 5, 6), out_size=(11, 13))
        assert out.shape == (2, 3, 11, 13)
        assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1

    def test_gradients_reach_the_encoder(self):
        model = sr_lib.make("ipe-liif", hidden=(16, 16), **TINY_EDSR)
        coord, cell = queries(7, 9, b=2)
        model(torch.rand(2, 3, 4, 5), coord, cell).square().mean().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters() if p.requires_grad)


def test_skip_mlp_with_its_input_columns_tabulated_equals_its_forward():
    # LIIF._split_input / SkipMLP.finish: W_k z + b_k of every layer computed outside, then the rest
    torch.manual_seed(0)
    n_feat, rest = 7, 4
    net = SkipMLP(n_feat + rest, 3, [6, 5, 6]).double()
    z = torch.randn(9, n_feat + rest, dtype=torch.float64, requires_grad=True)
    w_feat, w_rest, bias = net.split_input(n_feat)
    assert w_feat.shape == (17, n_feat) and w_rest.shape == (17, rest) and bias.shape == (17,)
    pre = z[:, :n_feat] @ w_feat.t() + z[:, n_feat:] @ w_rest.t() + bias
    got, want = net.finish(pre), net(z)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-13)
    g = torch.randn_like(want)
    for a, b in zip(torch.autograd.grad(got, [z, *net.parameters()], g), torch.autograd.grad(want, [z, *net.parameters()], g)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_every_band_repeats_after_one_lr_pixel_so_ensemble_neighbours_share_an_encoding():
    # ω_l = 2^l·π: each period 2/2^l divides 2 units = one LR pixel, so rel and rel − 2 (the two
    # local-ensemble neighbours along an axis) get the same PE and IPE; coord_scale 0.5 breaks the tie.
    rel = torch.tensor([[0.5, 0.3], [1.2, -0.7]], dtype=torch.float64)
    r = torch.tensor(0.25, dtype=torch.float64)
    pe = lambda x: positional_encoding(x, 10)
    assert torch.allclose(pe(rel), pe(rel - 2), atol=1e-12)
    assert torch.allclose(integrated_positional_encoding(rel, r, 10), integrated_positional_encoding(rel - 2, r, 10),
                          atol=1e-12)
    assert (pe(rel * 0.5) - pe((rel - 2) * 0.5)).abs().max() > 1.0       # lowest band: sin(πx/2) flips sign


@pytest.mark.parametrize("method", ["ipe-liif", "liif-pe"])
def test_coord_scale_rescales_the_encoded_coordinate_and_radius_only(method):
    torch.manual_seed(0)
    kw = dict(backbone="edsr-baseline", n_resblocks=1, n_feats=8, hidden=(16, 16))
    plain, half = sr_lib.make(method, **kw), sr_lib.make(method, coord_scale=0.5, **kw)
    half.load_state_dict(plain.state_dict())                       # same weights, same shapes
    rel = torch.rand(1, 5, 2, dtype=torch.float32) * 4 - 2
    cell = torch.full((1, 5, 2), 0.5)
    assert torch.allclose(half.position_encoding(rel, cell), plain.position_encoding(rel * 0.5, cell * 0.5))
    assert not torch.allclose(half.position_encoding(rel, cell), plain.position_encoding(rel, cell))

"""CiaoSR equals the official ``LocalImplicitSR{EDSR,SWINIR}`` (refvec README §4.5, §6), and the
behaviour its design implies (ensemble weights, ablation switches, cross-scale attention range).

Reference files: our model built from the official config with the rule weights has the official
state_dict keys/order/shapes and parameter counts, reproduces ``feat`` and ``out`` to 1e-9 in float64
on ``valid & valid_roundoff``. The fast suite runs a strided subset of each case's queries plus the
last HR row (CiaoSR decodes queries independently; the shift radius only reads the constant cell);
``--runslow`` runs every query through ``compat.official_forward``.
"""
from __future__ import annotations

import copy

import pytest
import torch

import sr_lib
from sr_lib import compat
from sr_lib.models.base import count_parameters
from sr_lib.models.ciaosr import CiaoSR
from sr_lib.official.ciaosr import ciaosr_from_config
from sr_lib.models.layers.cross_scale_attention import CrossScaleAttention
from sr_lib.geometry import make_coord
from sr_lib.engine.inference import super_resolve

FILES = ["ciaosr_edsr-baseline", "ciaosr_swinir_small"]
CASES = ["x2.5", "x7", "x3.3_rect"]
TOL = 1e-9
SUBSET = 500                 # fast suite: about this many strided queries per case (+ the last HR row)
F64 = torch.float64


@pytest.fixture(scope="module", params=FILES)
def ref_model(request, refvec_dir):
    ref = compat.load_reference(refvec_dir / f"{request.param}.pt")
    return ref, compat.from_reference(ref)


def _subset(ref, case):
    q = ref["coord"][case].shape[1]
    width = ref["hr_size"][case][1]
    idx = torch.arange(0, q, max(1, q // SUBSET))
    return torch.unique(torch.cat([idx, torch.arange(q - width, q)]))


class TestOfficialEquivalence:
    def test_state_dict_keys_order_and_shapes_are_official(self, ref_model):
        ref, model = ref_model
        ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
        assert ours == [(k, tuple(s)) for k, s, _ in ref["keys"]]

    def test_parameter_counts_match_official_per_module(self, ref_model):
        ref, model = ref_model
        counts = ref["param_counts"]
        assert count_parameters(model) == counts["__total__"]
        assert sum(b.numel() for b in model.buffers()) == counts["__total_buffers__"]
        for prefix, n in counts.items():
            if not prefix.startswith("__"):
                ours = sum(p.numel() for k, p in model.named_parameters() if k.startswith(prefix + "."))
                assert ours == n, prefix

    def test_features_match_official(self, ref_model):
        ref, model = ref_model
        with torch.no_grad():
            feat = model.encode(ref["inp_fed"]["x2.5"]).feat
        assert feat.shape == ref["feat"].shape
        assert (feat - ref["feat"]).abs().max() <= TOL

    @pytest.mark.parametrize("case", CASES)
    def test_output_matches_official_on_query_subset(self, ref_model, case):
        ref, model = ref_model
        idx = _subset(ref, case)
        coord = ref["coord"][case][:, idx].contiguous()
        cell = ref["cell"][case][:, idx].contiguous()
        with torch.no_grad():
            out = model(ref["inp_fed"][case], coord, cell)
        mask = compat.valid_mask(ref, case)[:, idx]
        err = (out - ref["out"][case][:, idx]).abs().amax(-1)
        assert mask.sum() > 0.5 * len(idx)
        assert err[mask].max() <= TOL

    @pytest.mark.slow
    @pytest.mark.parametrize("case", CASES)
    def test_output_matches_official_on_every_query(self, ref_model, case):
        ref, model = ref_model
        out = compat.official_forward(model, ref, case)
        mask = compat.valid_mask(ref, case)
        assert (out - ref["out"][case]).abs().amax(-1)[mask].max() <= TOL


class TestParameterCounts:
    def test_edsr_baseline_configuration_has_2649030_parameters(self):
        assert count_parameters(sr_lib.make("ciaosr", backbone="edsr-baseline")) == 2_649_030

    def test_full_official_swinir_config_matches_recorded_total(self, refvec_dir):
        ref = compat.load_reference(refvec_dir / "ciaosr_swinir_small.pt")
        config = copy.deepcopy(ref["config"])
        config["encoder"].update(embed_dim=180, depths=[6] * 6, num_heads=[6] * 6)
        model = ciaosr_from_config(config)
        assert count_parameters(model) == ref["param_counts"]["__full_official_config_total__"] == 14_667_218
        assert count_parameters(sr_lib.make("ciaosr", backbone="swinir")) == 14_667_218

    def test_decoder_size_matches_table7(self):
        """CiaoSR Table 7 prints the implicit model's size as 1.4 M (printed): φ_q, φ_k, φ_v and the
        cross-scale attention for C = 64."""
        model = sr_lib.make("ciaosr", backbone="edsr-baseline")
        decoder = sum(p.numel() for k, p in model.named_parameters() if k.startswith(("imnet_", "cs_attn.")))
        assert round(decoder / 1e6, 1) == 1.4

    def test_mmedit_rdn_encoder_matches_closed_form(self):
        """CiaoSR's RDN (16 blocks × 8 dense layers, G = G0 = 64): 3×3 convs, 1×1 fusions, GFF."""
        model = sr_lib.make("ciaosr", backbone="rdn")
        conv = lambda cin, cout, k: cin * cout * k * k + cout            # noqa: E731
        rdb = sum(conv(64 + 64 * i, 64, 3) for i in range(8)) + conv(64 + 64 * 8, 64, 1)
        rdn = conv(3, 64, 3) + conv(64, 64, 3) + 16 * rdb + conv(16 * 64, 64, 1) + conv(64, 64, 3)
        edsr_decoder = count_parameters(sr_lib.make("ciaosr")) - count_parameters(sr_lib.make("ciaosr").encoder)
        assert count_parameters(model.encoder) == rdn
        assert count_parameters(model) == rdn + edsr_decoder


def tiny(**options) -> CiaoSR:
    torch.manual_seed(0)
    return sr_lib.make("ciaosr", backbone="edsr-baseline", num_blocks=1, mid_channels=8,
                       hidden=(16, 16), **options).double().eval()


def queries(h, w, dtype=F64):
    coord = make_coord((h, w), dtype=dtype).unsqueeze(0)
    cell = torch.tensor([2.0 / h, 2.0 / w], dtype=dtype).expand(1, h * w, 2)
    return coord, cell


class TestDecoderBehaviour:
    @pytest.mark.parametrize("ensemble", ["attention", "mlp"])
    def test_ensemble_weights_are_a_distribution_over_4_neighbours(self, ensemble):
        model = tiny(ensemble=ensemble)
        x = torch.rand(1, 3, 6, 7, dtype=F64)
        coord, cell = queries(15, 16)
        with torch.no_grad():
            w = model.ensemble_weights(model.encode(x), coord, cell)
        assert w.shape == (1, 15 * 16, 4)
        assert (w >= 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 15 * 16, dtype=F64), rtol=0, atol=1e-12)

    def test_queries_are_decoded_independently(self):
        model = tiny()
        x = torch.rand(2, 3, 5, 6, dtype=F64)
        coord, cell = queries(11, 13)
        coord, cell = coord.expand(2, -1, -1), cell.expand(2, -1, -1)
        with torch.no_grad():
            f = model.encode(x)
            whole = model.query(f, coord, cell)
            perm = torch.randperm(coord.shape[1])
            shuffled = model.query(f, coord[:, perm], cell[:, perm])
        torch.testing.assert_close(shuffled, whole[:, perm], rtol=0, atol=1e-12)

    def test_eval_pair_tables_equal_the_training_path(self):
        """Eval mode folds φ_k's last layer into per-pixel-pair tables; training mode runs it per query."""
        model = tiny()
        x = torch.rand(2, 3, 6, 5, dtype=F64)
        coord, cell = queries(17, 13)
        coord, cell = coord.expand(2, -1, -1), cell.expand(2, -1, -1)
        with torch.no_grad():
            fast = model(x, coord, cell)
            model.train()
            plain = model(x, coord, cell)
        torch.testing.assert_close(fast, plain, rtol=0, atol=1e-12)

    def test_zero_decoder_output_leaves_the_bilinear_skip(self):
        """With φ_q's last layer zeroed, CiaoSR is exactly the bilinear upsampling of the LR input."""
        model = tiny()
        with torch.no_grad():
            model.imnet_q.layers[-1].weight.zero_()
            model.imnet_q.layers[-1].bias.zero_()
        lr = torch.rand(1, 3, 6, 5, dtype=F64)
        out = super_resolve(model, lr, out_size=(12, 10))
        ref = torch.nn.functional.interpolate(lr, size=(12, 10), mode="bilinear", align_corners=False)
        torch.testing.assert_close(out, ref.clamp(0, 1), rtol=0, atol=1e-12)

    def test_ablation_switches_change_the_modules(self):
        keys = set(tiny(ensemble="mlp", non_local=False).state_dict())
        assert any(k.startswith("imnet_w.") for k in keys)
        assert not any(k.startswith(("imnet_k.", "cs_attn.")) for k in keys)
        model = tiny(non_local=False)
        assert model.imnet_v.layers[0].in_features == 9 * 8 + 4           # values = unfold only
        out = super_resolve(model, torch.rand(1, 3, 5, 4, dtype=F64), out_size=(9, 7))
        assert out.shape == (1, 3, 9, 7)

    def test_paper_variant_concatenates_three_scales(self):
        model = tiny(multi_scale=(2, 3, 4), window=16)
        assert {"cs_attn.down.weight", "cs_attn.downx3.weight", "cs_attn.downx4.weight"} <= set(model.state_dict())
        assert model.imnet_q.layers[0].in_features == 9 * 8 + 3 * 8
        out = super_resolve(model, torch.rand(1, 3, 7, 9, dtype=F64), out_size=(17, 20))
        assert out.shape == (1, 3, 17, 20)


class TestNeighbourRadius:
    """The released shift (1 − cell)/(h − 1) against its closed form, and what it does at odd integer
    scales: the HR pixels centred on an LR centre get 4 neighbours without their own LR pixel."""

    @pytest.mark.parametrize("s", [2.0, 3.0, 4.0, 2.7])
    def test_released_radius_is_half_a_pixel_plus_a_closed_form_excess(self, s):
        h, w = 20, 30
        cell = torch.tensor([2.0 / (s * h), 2.0 / (s * w)], dtype=F64).expand(1, 5, 2)
        ry, rx = tiny().neighbour_radius(cell, (h, w))
        assert ry.item() == pytest.approx(1 / h + (1 - 2 / s) / (h * (h - 1)), rel=1e-12)
        assert rx.item() == pytest.approx(1 / w + (1 - 2 / s) / (w * (w - 1)), rel=1e-12)

    def test_half_pixel_radius_is_liifs(self):
        cell = torch.full((2, 3, 2), 0.01, dtype=F64)
        ry, rx = tiny(radius="half_pixel").neighbour_radius(cell, (20, 25))
        assert torch.equal(ry, torch.full((2,), 1 / 20, dtype=F64))
        assert torch.equal(rx, torch.full((2,), 1 / 25, dtype=F64))

    @staticmethod
    def own_pixel_left_out(model, h, s):
        """Fraction of the (s·h)² HR queries whose 4 neighbours do not include the LR pixel they lie in."""
        from sr_lib.models.layers.local_ensemble import local_neighbours, lr_grid, nearest_index
        H = round(s * h)
        coord, cell = queries(H, H)
        centres, index_map = lr_grid((h, h), coord)
        nb = local_neighbours(coord, cell, centres, index_map, (h, h), radius=model.neighbour_radius(cell, (h, h)))
        own = nearest_index(index_map, coord)                            # [1,Q]
        return (nb.idx.view(1, 4, -1) != own[:, None]).all(1).double().mean().item()

    @pytest.mark.parametrize("s, odd", [(2, False), (3, True), (4, False), (5, True)])
    def test_at_odd_integer_scales_the_released_radius_leaves_the_own_pixel_out(self, s, odd):
        # at an odd s, one HR row (column) in s sits on an LR centre; in the first and last LR row the
        # outward shift is clamped to the border and keeps the own pixel: h − 2 rows of s·h per axis
        h = 15
        per_axis = (h - 2) / (s * h) if odd else 0.0
        assert self.own_pixel_left_out(tiny(), h, s) == pytest.approx(1 - (1 - per_axis) ** 2, abs=1e-12)
        assert self.own_pixel_left_out(tiny(radius="half_pixel"), h, s) == 0.0

    def test_rejects_an_unknown_radius(self):
        with pytest.raises(ValueError, match="radius must be"):
            tiny(radius="full")


class TestCrossScaleAttention:
    def _csa(self, **kw):
        torch.manual_seed(0)
        return CrossScaleAttention(4, **kw).double()

    def test_global_search_reaches_the_far_corner(self):
        """Released module: a change at the bottom-right corner moves the output at the top-left."""
        csa = self._csa()
        x = torch.rand(1, 4, 12, 12, dtype=F64)
        y = x.clone()
        y[..., 11, 11] += 1.0
        assert (csa(x)[..., 0, 0] - csa(y)[..., 0, 0]).abs().max() > 1e-8

    def test_windowed_search_stays_inside_its_window(self):
        csa = self._csa(window=6)
        x = torch.rand(1, 4, 12, 12, dtype=F64)
        y = x.clone()
        y[..., 11, 11] += 1.0
        assert torch.equal(csa(x)[..., :6, :6], csa(y)[..., :6, :6])

    def test_window_covering_the_map_equals_global_search(self):
        csa = self._csa(scales=(2, 3))
        x = torch.rand(2, 4, 9, 7, dtype=F64)
        glob = csa(x)
        csa.window = 16
        torch.testing.assert_close(csa(x), glob, rtol=0, atol=0)
        assert glob.shape == (2, 8, 9, 7)

    def test_images_of_a_batch_do_not_interact(self):
        csa = self._csa()
        x = torch.rand(3, 4, 7, 8, dtype=F64)
        torch.testing.assert_close(csa(x)[1:2], csa(x[1:2]), rtol=0, atol=1e-13)

    def test_rejects_unsupported_scale(self):
        with pytest.raises(ValueError, match="2, 3, 4"):
            CrossScaleAttention(4, scales=(5,))


class TestCrossScaleAttentionOrder:
    """The strided conv applied per reference patch equals it applied after the library's transposed conv."""

    @pytest.mark.parametrize("s", [2, 3, 4])
    @pytest.mark.parametrize("size", [(6, 6), (9, 14)])
    def test_down_of_transposed_conv_equals_library_order(self, s, size):
        from sr_lib.models.layers.cross_scale_attention import _down_of_transposed_conv
        torch.manual_seed(s)
        h, w = size
        n_ref, c = 7, 5
        attn = torch.rand(1, n_ref, h, w, dtype=F64)
        kernels = torch.randn(n_ref, c, 3 * s, 3 * s, dtype=F64)
        down = torch.nn.Conv2d(c, c, 3, s, 1).double()
        expected = down(torch.nn.functional.conv_transpose2d(attn, kernels, stride=s, padding=s))
        got = _down_of_transposed_conv(attn, kernels, down, s)
        assert got.shape == expected.shape == (1, c, h, w)
        assert (got - expected).abs().max() <= 1e-12

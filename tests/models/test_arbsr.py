"""ArbSR (sr_lib.models.arbsr): shapes on odd / asymmetric cases, invariances the
design implies, the sampling geometry against torch's bilinear resize, and the
parameter count against a closed form."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import sr_lib
from sr_lib.models.arbsr import ArbSR, ScaleAwareConv, ScaleAwareUpsampler, scale_pairs
from sr_lib.models.base import count_parameters
from sr_lib.geometry import make_coord
from sr_lib.engine.inference import super_resolve

F64 = torch.float64


def tiny(n_resblocks=4, n_feats=16, adapt_every=2, **kw) -> ArbSR:
    torch.manual_seed(0)
    return sr_lib.make("arbsr", backbone="edsr-baseline", n_resblocks=n_resblocks, n_feats=n_feats,
                       adapt_every=adapt_every, **kw).eval()


def grid_query(H, W, b=1, dtype=torch.float32):
    coord = make_coord((H, W), flatten=False, dtype=dtype).expand(b, H, W, 2)
    cell = torch.tensor([2.0 / H, 2.0 / W], dtype=dtype).view(1, 2, 1, 1).expand(b, 2, H, W)
    return coord, cell


class TestShapes:
    @pytest.mark.parametrize("lr_hw,out_hw", [((7, 9), (16, 31)),       # ×2.29 / ×3.44, asymmetric
                                              ((5, 5), (8, 8)),         # ×1.6
                                              ((6, 11), (24, 22))])     # ×4 / ×2
    def test_super_resolve_gives_requested_size_in_unit_range(self, lr_hw, out_hw):
        model = tiny()
        out = super_resolve(model, torch.rand(2, 3, *lr_hw), out_size=out_hw)
        assert out.shape == (2, 3, *out_hw)
        assert out.min() >= 0 and out.max() <= 1

    def test_forward_matches_encode_then_query(self):
        model = tiny()
        x = torch.rand(1, 3, 7, 5)
        coord, cell = grid_query(17, 12)
        with torch.no_grad():
            a = model(x, coord, cell, scale_hw=(17 / 7, 12 / 5))
            b = model.query(model.encode(x, (17 / 7, 12 / 5)), coord, cell)
        assert a.shape == (1, 3, 17, 12)
        torch.testing.assert_close(a, b)

    def test_interface_flags(self):
        model = tiny()
        assert model.needs_scale and model.query_layout == "grid" and model.input_norm == "none"
        assert model.spec["name"] == "arbsr"

    def test_missing_scale_is_a_clear_error(self):
        with pytest.raises(ValueError, match="needs the SR scale"):
            tiny().encode(torch.rand(1, 3, 4, 4), None)

    def test_adapt_every_must_divide_blocks(self):
        with pytest.raises(ValueError, match="must divide"):
            tiny(n_resblocks=3, adapt_every=2)


class TestScalePairs:
    def test_forms(self):
        torch.testing.assert_close(scale_pairs(2.5, 3), torch.full((3, 2), 2.5))
        torch.testing.assert_close(scale_pairs((2.0, 3.5), 2), torch.tensor([[2.0, 3.5]] * 2))
        torch.testing.assert_close(scale_pairs(torch.tensor([2.0, 3.0]), 2), torch.tensor([[2.0, 2.0], [3.0, 3.0]]))

    def test_wrong_batch_rejected(self):
        with pytest.raises(ValueError, match="does not fit"):
            scale_pairs(torch.ones(3, 2), 2)


class TestScaleAwareConv:
    def test_equal_experts_reduce_to_plain_conv(self):
        torch.manual_seed(1)
        conv = ScaleAwareConv(5, 6, 3, n_experts=4, bias=True).double()
        w, bias = torch.randn(6, 5, 3, 3, dtype=F64), torch.randn(6, dtype=F64)
        with torch.no_grad():
            conv.experts.copy_(w.expand(4, -1, -1, -1, -1))
            conv.expert_bias.copy_(bias.expand(4, -1))
        x = torch.randn(3, 5, 7, 4, dtype=F64)
        scales = torch.tensor([[1.3, 2.0], [4.0, 4.0], [2.7, 1.1]], dtype=F64)   # routing differs per sample
        torch.testing.assert_close(conv(x, scales), F.conv2d(x, w, bias, padding=1))

    def test_routing_weights_form_a_convex_combination(self):
        conv = ScaleAwareConv(2, 2, n_experts=5)
        a = conv.routing(1.0 / torch.tensor([[1.5, 3.0], [2.0, 2.0]]))
        assert (a > 0).all()
        torch.testing.assert_close(a.sum(-1), torch.ones(2))

    def test_per_sample_scales_match_one_sample_at_a_time(self):
        torch.manual_seed(2)
        conv = ScaleAwareConv(4, 4).double()
        x = torch.randn(2, 4, 6, 5, dtype=F64)
        s = torch.tensor([[1.5, 3.0], [2.0, 4.0]], dtype=F64)
        both = conv(x, s)
        for i in range(2):
            torch.testing.assert_close(both[i:i + 1], conv(x[i:i + 1], s[i:i + 1]))

    def test_equal_experts_make_the_encoder_scale_independent(self):
        model = tiny().double()
        with torch.no_grad():
            for block in model.adapt:
                block.adapt.experts.copy_(block.adapt.experts[:1].expand_as(block.adapt.experts))
        x = torch.rand(1, 3, 6, 7, dtype=F64)
        with torch.no_grad():
            torch.testing.assert_close(model.encode(x, 2.0), model.encode(x, (3.7, 1.4)))
            assert not torch.allclose(tiny().double().encode(x, 2.0), tiny().double().encode(x, 3.7))


class TestScaleAwareUpsampler:
    def test_relative_coordinate_at_scale_three_cycles_through_thirds(self):
        coord = make_coord((12, 3), flatten=False, dtype=F64)            # LR 4×1 → HR 12×3 (×3)
        rel = ScaleAwareUpsampler.relative_coordinate(coord, (4, 1))
        expected = torch.tensor([-1 / 3, 0.0, 1 / 3], dtype=F64)
        torch.testing.assert_close(rel[:, 0, 0], expected.repeat(4))
        torch.testing.assert_close(rel[0, :, 1], expected)

    @pytest.mark.parametrize("out_hw", [(10, 14), (15, 21), (20, 28), (12, 9)])   # ×2, ×3, ×4, ×2.4/×1.29
    def test_zero_offsets_sample_bilinearly_at_back_projected_positions(self, out_hw):
        torch.manual_seed(3)
        up = ScaleAwareUpsampler(16).double()
        with torch.no_grad():
            up.offset.weight.zero_()
            up.offset.bias.zero_()
            up.expand.zero_()                         # filtered branch off: output = sampled feature
        feat = torch.randn(2, 16, 5, 7, dtype=F64)
        coord, cell = grid_query(*out_hw, b=2, dtype=F64)
        out = up(feat, coord, cell)
        # torch's bilinear resize uses the same pixel-centre map (i + 0.5)·h/H − 0.5, clamped at the border
        torch.testing.assert_close(out, F.interpolate(feat, size=out_hw, mode="bilinear", align_corners=False))

    def test_zero_offsets_at_scale_three_hit_lr_centres_exactly(self):
        up = ScaleAwareUpsampler(8).double()
        with torch.no_grad():
            up.offset.weight.zero_()
            up.offset.bias.zero_()
            up.expand.zero_()
        feat = torch.randn(1, 8, 4, 3, dtype=F64)
        coord, cell = grid_query(12, 9, dtype=F64)
        out = up(feat, coord, cell)
        torch.testing.assert_close(out[..., 1::3, 1::3], feat)

    def test_offset_of_one_lr_pixel_shifts_the_sample(self):
        up = ScaleAwareUpsampler(8).double()
        with torch.no_grad():
            up.offset.weight.zero_()
            up.offset.bias.copy_(torch.tensor([0.0, 1.0]))    # +1 LR pixel along x
            up.expand.zero_()
        feat = torch.randn(1, 8, 3, 5, dtype=F64)
        coord, cell = grid_query(9, 15, dtype=F64)
        out = up(feat, coord, cell)
        torch.testing.assert_close(out[..., 1::3, 1:-3:3], feat[..., 1:])


class TestParameterCount:
    @staticmethod
    def expected(n_resblocks, c, adapt_every, k=4, hidden=64, m=16):
        edsr = 3 * c * 9 + c + n_resblocks * 2 * (c * c * 9 + c) + c * c * 9 + c + 2 * (9 + 3)   # + MeanShifts
        mask = (c * m * 9 + m + 2 * m) + 2 * (m * m * 9 + m + 2 * m) + (m * 9 + 1 + 2)
        saconv = (2 * hidden + hidden) + (hidden * k + k) + k * c * c * 9
        upsampler = (4 * hidden + hidden) + (hidden * hidden + hidden) + (hidden * 2 + 2) + (hidden * k + k) \
            + 2 * k * c * (c // 8)
        tail = c * 3 * 9 + 3
        return edsr + (n_resblocks // adapt_every) * (mask + saconv) + upsampler + tail

    @pytest.mark.parametrize("n,c,every", [(4, 16, 2), (2, 8, 1), (16, 64, 4)])
    def test_matches_closed_form(self, n, c, every):
        model = sr_lib.make("arbsr", n_resblocks=n, n_feats=c, adapt_every=every)
        assert count_parameters(model) == self.expected(n, c, every)

"""EQSR building blocks and model properties: supplement Table 1 sizes, the sin-cos scale
encoding, AFE modulation, the kriging kernels and the involution, and the model API."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import sr_lib
from sr_lib.models.layers.afe import AFE, ModulatedConv2d, sincos_encoding
from sr_lib.models.base import count_parameters
from sr_lib.models.eqsr import EQNET_TABLE1, overlap_relative_position_index
from sr_lib.geometry import make_coord
from sr_lib.models.layers.kriging import PE_DIM, RBF, involution
from sr_lib.engine.inference import super_resolve

F64 = torch.float64
BACKBONE = dict(groups=2, blocks=2, embed_dim=16, num_heads=2, window_size=4)
TINY = dict(BACKBONE, latent_dim=32)


def tiny(**kw):
    torch.manual_seed(0)
    return sr_lib.make("eqsr", **{**TINY, **kw}).double().eval()


def grid(h, w, b=1):
    coord = make_coord((h, w), flatten=False, dtype=F64).unsqueeze(0).expand(b, h, w, 2)
    cell = torch.tensor([2.0 / h, 2.0 / w], dtype=F64).view(1, 2, 1, 1).expand(b, 2, h, w)
    return coord, cell


class TestSupplementTable1:
    # printed "paras" column of supplement Table 1 (millions)
    PRINTED = {"I": 8.5, "II": 9.6, "III": 11.6, "IV": 13.6, "V": 15.2}

    @pytest.mark.parametrize("name", list(EQNET_TABLE1))
    def test_parameter_count_rounds_to_the_printed_size(self, name):
        g, b = EQNET_TABLE1[name]
        with torch.device("meta"):                  # construction only, no memory, no forward
            model = sr_lib.make("eqsr", groups=g, blocks=b)
        assert round(count_parameters(model) / 1e6, 1) == self.PRINTED[name]

    def test_model_iv_is_the_released_model_exactly(self):
        with torch.device("meta"):
            model = sr_lib.make("eqsr")
        assert count_parameters(model) == 13_619_510

    def test_hat_style_variant_drops_exactly_the_afe_blocks(self):
        with torch.device("meta"):
            full, hat = sr_lib.make("eqsr"), sr_lib.make("eqsr", afe=False)
            afe = AFE(180)
        assert not any(".mbconv." in k for k in hat.state_dict())
        assert count_parameters(full) - count_parameters(hat) == 6 * count_parameters(afe)


class TestSincosEncoding:
    def test_scale_code_has_81_values_in_released_order(self):
        c = torch.tensor([[2 / 60]], dtype=F64)
        enc = sincos_encoding(c, 40, dim=1)
        assert enc.shape == (1, 81)
        assert enc[0, 0].item() == c.item()
        for i in (0, 3, 39):
            phase = (2 ** i) * math.pi * c.item() / 10
            assert enc[0, 1 + 2 * i].item() == pytest.approx(math.sin(phase), abs=1e-12)
            assert enc[0, 2 + 2 * i].item() == pytest.approx(math.cos(phase), abs=1e-12)

    def test_relative_coordinate_encoding_has_162_channels_in_blocks(self):
        rel = torch.tensor([0.3, -0.7], dtype=F64).view(1, 2, 1, 1)
        enc = sincos_encoding(rel, 40, dim=1)[0, :, 0, 0]
        assert enc.shape[0] == PE_DIM == 162
        # block i: [sin(y-ish ch0), sin(ch1), cos(ch0), cos(ch1)]
        i = 2
        phases = [(2 ** i) * math.pi * v / 10 for v in (0.3, -0.7)]
        expected = [math.sin(p) for p in phases] + [math.cos(p) for p in phases]
        assert enc[2 + 4 * i: 6 + 4 * i].tolist() == pytest.approx(expected, abs=1e-12)


class TestAFE:
    def test_demodulated_kernels_have_unit_norm_per_output_channel(self):
        torch.manual_seed(0)
        conv = ModulatedConv2d(5, 7, 3).double()
        style = torch.randn(3, 81, dtype=F64)
        w = conv.modulated_weight(style)                            # [B,Cout,Cin,3,3]
        norms = w.pow(2).sum(dim=(2, 3, 4))
        torch.testing.assert_close(norms, torch.ones_like(norms), atol=1e-7, rtol=0)

    def test_grouped_conv_equals_one_conv_per_sample(self):
        torch.manual_seed(0)
        conv = ModulatedConv2d(4, 6, 3).double()
        x, style = torch.randn(2, 4, 5, 7, dtype=F64), torch.randn(2, 81, dtype=F64)
        out = conv(x, style)
        w = conv.modulated_weight(style)
        for i in range(2):
            torch.testing.assert_close(out[i:i + 1], F.conv2d(x[i:i + 1], w[i], padding=1))

    def test_scale_changes_the_features(self):
        model = tiny()
        x = torch.rand(1, 3, 7, 9, dtype=F64)
        with torch.no_grad():
            f2, f3 = model.encode(x, 2.0), model.encode(x, 3.0)
        assert (f2 - f3).abs().max().item() > 1e-6

    def test_without_afe_the_features_ignore_the_scale(self):
        model = tiny(afe=False)
        x = torch.rand(1, 3, 7, 9, dtype=F64)
        with torch.no_grad():
            torch.testing.assert_close(model.encode(x, 2.0), model.encode(x, 3.0), rtol=0, atol=0)


class TestKrigingKernels:
    def test_involution_equals_a_direct_loop(self):
        torch.manual_seed(0)
        b, g, cg, h, w = 2, 2, 3, 4, 5
        x = torch.randn(b, g * cg, h, w, dtype=F64)
        k = torch.randn(b, g, 3, 3, h, w, dtype=F64)
        expected = torch.zeros_like(x)
        for n in range(b):
            for c in range(g * cg):
                for y in range(h):
                    for xx in range(w):
                        for ky in range(3):
                            for kx in range(3):
                                yy, xw = y + ky - 1, xx + kx - 1
                                if 0 <= yy < h and 0 <= xw < w:
                                    expected[n, c, y, xx] += k[n, c // cg, ky, kx, y, xx] * x[n, c, yy, xw]
        torch.testing.assert_close(involution(x, k), expected, rtol=0, atol=1e-13)

    def test_rbf_is_one_at_zero_and_decreases_with_distance(self):
        rbf = RBF().double()
        d = torch.linspace(0, 10, 50, dtype=F64)
        k = rbf(d ** 2)
        assert k[0].item() == 1.0
        assert (k[1:] < k[:-1]).all()
        torch.testing.assert_close(k, torch.exp(-0.5 * d ** 2 / 9.0))

    def test_weights_of_a_pixel_are_data_times_distance_kernels(self):
        model = tiny()
        x = torch.rand(1, 3, 5, 6, dtype=F64)
        coord, _ = grid(13, 15)
        feat = model.encode(x, 2.5)
        kw = model.kriging_weights(feat, coord, (6, 7))
        assert len(kw.data) == 2 and kw.data[0].shape == (4, 3, 3) and kw.distance.shape == (3, 3)
        for data, prod in zip(kw.data, kw.product):
            torch.testing.assert_close(prod, data * kw.distance)
        # centre tap: distance from the query to its own nearest LR centre, in LR units ×(w, h)
        q = coord[0, 6, 7]                                              # (y, x)
        centres = make_coord((5, 6), flatten=False, dtype=F64)
        iy, ix = int((q[0] + 1) / 2 * 5), int((q[1] + 1) / 2 * 6)
        rel = (q - centres[iy, ix]) * torch.tensor([5.0, 6.0], dtype=F64)
        assert kw.distance[1, 1].item() == pytest.approx(math.exp(-0.5 * rel.pow(2).sum().item() / 9.0))

    def test_distance_kernel_grows_with_the_scale(self):
        # HR neighbours are s times closer in LR units, so the mean K_scale over the
        # 3×3 neighbourhoods of interior pixels rises with s.
        model = tiny()
        feat = torch.zeros(1, 16, 6, 6, dtype=F64)
        means = []
        for s in (1.5, 2, 4, 8):
            coord, _ = grid(int(6 * s), int(6 * s))
            _, _, d2 = model.upsample.prepare(feat, coord)
            means.append(model.upsample.rbf1(d2)[..., 1:-1, 1:-1].mean().item())
        assert means == sorted(means) and means[0] < means[-1] - 0.05


class TestOverlapIndex:
    def test_closed_form_for_a_small_window(self):
        ws, ows = 2, 4
        idx = overlap_relative_position_index(ws, ows)
        assert idx.shape == (4, 16) and idx.dtype == torch.int64
        for qi in range(4):
            for kj in range(16):
                dy, dx = kj // ows - qi // ws, kj % ows - qi % ws
                assert idx[qi, kj].item() == (dy + ws - ows + 1) * (ws + ows - 1) + (dx + ws - ows + 1)
        # HAT's offset makes some indices negative; they wrap around, and modulo the table
        # size every (dy, dx) still gets its own row
        n = (ws + ows - 1) ** 2
        assert torch.unique(idx % n).numel() == len({(kj // ows - qi // ws, kj % ows - qi % ws)
                                                     for qi in range(4) for kj in range(16)})
        full = overlap_relative_position_index(16, 24)
        assert (full.min().item(), full.max().item()) == (-880, 640)
        assert torch.unique(full % 1521).numel() == 1521


class TestEQSRModel:
    def test_super_resolve_non_square_odd_sizes(self):
        model = tiny()
        lr = torch.rand(2, 3, 7, 9, dtype=F64)
        sr = super_resolve(model, lr, out_size=(17, 22))
        assert sr.shape == (2, 3, 17, 22) and sr.min() >= 0 and sr.max() <= 1

    def test_inputs_smaller_than_the_padding_work(self):
        model = tiny(window_size=8)
        assert super_resolve(model, torch.rand(1, 3, 3, 5, dtype=F64), out_size=(7, 11)).shape == (1, 3, 7, 11)

    def test_features_keep_the_lr_size_and_explicit_padding_agrees(self):
        model = tiny()
        x = torch.rand(1, 3, 7, 9, dtype=F64)
        code = model.scale_code(7, scale=3.0, dtype=F64)
        feat = model.encode_with_code(x, code)
        padded = F.pad(x, (0, 3, 0, 1), mode="reflect")
        assert feat.shape == (1, 16, 7, 9)
        torch.testing.assert_close(model.encode_with_code(padded, code, mod_pad=(1, 3)), feat, rtol=0, atol=0)

    def test_forward_equals_encode_then_query(self):
        # the release's cell-derived call is sr_lib.official.eqsr.official_call (tests/official)
        model = tiny()
        x = torch.rand(1, 3, 7, 9, dtype=F64)
        coord, cell = grid(21, 27)
        with torch.no_grad():
            torch.testing.assert_close(model(x, coord, cell, 3.0), model.query(model.encode(x, 3.0), coord, cell),
                                       rtol=0, atol=0)

    def test_scale_codes(self):
        released, consistent = tiny(), tiny(scale_code="scale")
        assert released.scale_code(24, scale=2.5).item() == pytest.approx(2 / 60)
        assert consistent.scale_code(24, scale=2.5).item() == pytest.approx(2 / (48 * 2.5))
        # the released code depends on the image size at a fixed scale, the consistent one does not
        assert released.scale_code(100, scale=2.5).item() != released.scale_code(24, scale=2.5).item()
        assert consistent.scale_code(100, scale=2.5).item() == consistent.scale_code(24, scale=2.5).item()
        with pytest.raises(ValueError, match="scale_code"):
            tiny(scale_code="bogus")

    def test_gradients_reach_the_scale_path_and_the_lengthscale(self):
        model = tiny().train()
        coord, cell = grid(10, 12, b=2)
        model(torch.rand(2, 3, 5, 6, dtype=F64), coord, cell, 2.0).mean().backward()
        assert model.upsample.rbf1.lengthscale.grad.abs().item() > 0
        assert model.layers[0].residual_group.mbconv.net2.to_style.weight.grad.abs().sum().item() > 0

    def test_feature_blocks_for_cka(self):
        model = tiny()
        names = [n for n, _ in model.feature_blocks()]
        assert len(names) == 2 * 2                         # per group: B−1 window blocks + OCAB
        assert names[-1] == "layers.1.residual_group.overlap_attn"

    def test_user_errors(self):
        with pytest.raises(ValueError, match="backbone"):
            sr_lib.make("eqsr", backbone="edsr-baseline")
        with pytest.raises(ValueError, match="scale"):
            tiny().encode(torch.rand(1, 3, 4, 4, dtype=F64))
        with pytest.raises(ValueError, match="2 pixels"):
            tiny().encode(torch.rand(1, 3, 1, 5, dtype=F64), 2.0)
        with pytest.raises(ValueError, match="multiple of 8"):
            tiny(latent_dim=12)
        with pytest.raises(ValueError, match="style"):
            sr_lib.make_backbone("eqnet", **BACKBONE)(torch.rand(1, 3, 4, 4))
        assert sr_lib.make_backbone("eqnet", afe=False, **BACKBONE)(torch.rand(1, 3, 5, 6)).shape == (1, 16, 5, 6)

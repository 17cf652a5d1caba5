"""ITSRN (sr_lib.models.itsrn): no reference vectors exist, so the tests check the properties its
description defines — IPE weights form a distribution that depends only on the relative position
and the scale; the transform weights do not depend on the features (the decoder is linear in
them); translating the features by one LR pixel translates the output; sizes and parameter count."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib.models.base import count_parameters
from sr_lib.geometry import make_coord
from sr_lib.models.layers.sampling import unfold3x3
from sr_lib.models.itsrn import ITSRN
from sr_lib.models.layers.local_ensemble import lr_grid
from sr_lib.models.liif import LatentGrid
from sr_lib.engine.inference import super_resolve

F64 = torch.float64


def tiny(**kw) -> ITSRN:
    torch.manual_seed(0)
    return sr_lib.make("itsrn", backbone="edsr-baseline", n_resblocks=1, n_feats=8, hidden=(16, 16),
                       ipe_hidden=(8,), **kw).double().eval()


def queries(h, w, b=1):
    coord = make_coord((h, w), dtype=F64).unsqueeze(0).expand(b, -1, -1)
    cell = torch.tensor([2.0 / h, 2.0 / w], dtype=F64).expand(b, h * w, 2)
    return coord, cell


def latent_grid(feat: torch.Tensor) -> LatentGrid:
    """What ``ITSRN.encode`` builds, from a given feature map (decoder-only tests)."""
    centres, index_map = lr_grid(feat.shape[-2:], feat)
    return LatentGrid(feat, unfold3x3(feat).flatten(2).transpose(1, 2).contiguous(), centres, index_map)


class TestEnsembleWeights:
    def test_weights_are_a_distribution_over_the_4_keys(self):
        model = tiny()
        coord, cell = queries(13, 11)
        with torch.no_grad():
            w = model.ensemble_weights(model.encode(torch.rand(1, 3, 5, 4, dtype=F64)), coord, cell)
        assert w.shape == (1, 13 * 11, 4)
        assert (w > 0).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 13 * 11, dtype=F64), rtol=0, atol=1e-12)

    def test_weights_ignore_the_image_content(self):
        model = tiny()
        coord, cell = queries(12, 10)
        with torch.no_grad():
            w1 = model.ensemble_weights(model.encode(torch.rand(1, 3, 6, 5, dtype=F64)), coord, cell)
            w2 = model.ensemble_weights(model.encode(torch.rand(1, 3, 6, 5, dtype=F64)), coord, cell)
        torch.testing.assert_close(w1, w2, rtol=0, atol=0)

    def test_weights_depend_on_the_scale(self):
        model = tiny()
        coord, cell = queries(12, 10)
        with torch.no_grad():
            z = model.encode(torch.rand(1, 3, 6, 5, dtype=F64))
            w1 = model.ensemble_weights(z, coord, cell)
            w2 = model.ensemble_weights(z, coord, cell * 2)
        assert (w1 - w2).abs().max() > 1e-6

    def test_weights_repeat_with_the_lr_period(self):
        """At an integer scale, HR pixels at the same sub-pixel position (interior) have equal weights."""
        model = tiny()
        h, s = 6, 4
        coord, cell = queries(h * s, h * s)
        with torch.no_grad():
            w = model.ensemble_weights(model.encode(torch.rand(1, 3, h, h, dtype=F64)), coord, cell)
        w = w.view(h * s, h * s, 4)
        torch.testing.assert_close(w[s:2 * s, s:2 * s], w[3 * s:4 * s, 2 * s:3 * s], rtol=0, atol=1e-12)


class TestImplicitTransformer:
    def test_output_is_linear_in_the_features(self):
        """Transform weights come from coordinates and scale only: scaling the features scales the output."""
        model = tiny()
        feat = torch.randn(1, 8, 6, 7, dtype=F64)
        coord, cell = queries(15, 17)
        with torch.no_grad():
            out = model.query(latent_grid(feat), coord, cell)
            out3 = model.query(latent_grid(3.0 * feat), coord, cell)
            out_sum = model.query(latent_grid(feat + feat.flip(-1)), coord, cell)
            out_flip = model.query(latent_grid(feat.flip(-1)), coord, cell)
        torch.testing.assert_close(out3, 3.0 * out, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(out_sum, out + out_flip, rtol=1e-12, atol=1e-12)

    def test_translating_features_by_one_lr_pixel_translates_the_output(self):
        model = tiny()
        h, w, s = 10, 9, 4
        feat = torch.randn(1, 8, h, w, dtype=F64)
        shifted = torch.roll(feat, 1, dims=-2)                       # row r moves to r + 1
        coord, cell = queries(h * s, w * s)
        moved = coord + torch.tensor([2.0 / h, 0.0], dtype=F64)
        with torch.no_grad():
            out = model.query(latent_grid(feat), coord, cell).view(h * s, w * s, 3)
            out_shifted = model.query(latent_grid(shifted), moved, cell).view(h * s, w * s, 3)
        rows = slice(2 * s, (h - 4) * s)                             # keys and their 3×3 away from the border
        torch.testing.assert_close(out_shifted[rows], out[rows], rtol=0, atol=1e-12)

    @pytest.mark.parametrize("lr_hw,out_hw", [((5, 7), (11, 20)), ((6, 6), (6, 6)), ((4, 9), (17, 13))])
    def test_super_resolve_sizes_and_range(self, lr_hw, out_hw):
        out = super_resolve(tiny(), torch.rand(2, 3, *lr_hw, dtype=F64), out_size=out_hw)
        assert out.shape == (2, 3, *out_hw)
        assert out.min() >= 0 and out.max() <= 1

    def test_decoder_parameter_count_closed_form(self):
        model = tiny()
        d = 9 * 8
        transform = (4 * 16 + 16) + (16 * 16 + 16) + (16 * 3 * d + 3 * d)
        position = (4 * 8 + 8) + (8 + 1)
        assert count_parameters(model) - count_parameters(model.encoder) == transform + position

    def test_default_decoder_is_about_0_7_million_parameters(self):
        """CiaoSR Table 7 prints ITSRN's model size as 0.7 M (printed)."""
        model = sr_lib.make("itsrn", backbone="edsr-baseline")
        n = count_parameters(model) - count_parameters(model.encoder)
        assert 0.6e6 < n < 0.75e6

    @pytest.mark.parametrize("backbone,options", [("rdn", {"D": 2, "C": 2, "G": 8, "G0": 8}),
                                                  ("swinir", {"embed_dim": 12, "depths": (1,), "num_heads": (2,)})])
    def test_runs_on_other_backbones(self, backbone, options):
        torch.manual_seed(0)
        model = sr_lib.make("itsrn", backbone=backbone, hidden=(16,), **options).eval()
        out = super_resolve(model, torch.rand(1, 3, 9, 10), out_size=(20, 23))
        assert out.shape == (1, 3, 20, 23)

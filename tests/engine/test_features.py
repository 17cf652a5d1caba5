"""Forward-hook features and the scale × scale CKA matrix (sr_lib.engine.features)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import sr_lib
from sr_lib.engine.features import block_names, capture, encoder_features, feature_rows, scale_cka_matrix, to_common_grid
from sr_lib.models.base import _mean

F64 = torch.float64


def tiny_arbsr():
    torch.manual_seed(0)
    return sr_lib.make("arbsr", n_resblocks=4, n_feats=8, adapt_every=2).double().eval()


class TokenBlock(nn.Module):
    """Returns tokens [B, h·w, C] of its input map, taking hw like EQNet's blocks."""

    def forward(self, t, hw):
        return t * 2


class TestCapture:
    def test_arbsr_blocks_are_its_resblocks_and_match_a_manual_forward(self):
        model = tiny_arbsr()
        x = torch.rand(2, 3, 7, 5, dtype=F64)
        feats = encoder_features(model, x, 2.5)
        assert list(feats) == block_names(model) == [f"backbone.body.{i}" for i in range(4)]
        assert all(f.shape == (2, 8, 7, 5) for f in feats.values())
        with torch.no_grad():
            first = model.encoder.body[0](model.encoder.head(x - _mean(x)))
        torch.testing.assert_close(feats["backbone.body.0"], first)

    def test_hooks_are_removed_on_exit(self):
        model = tiny_arbsr()
        with capture(model, ["backbone.body.1"]):
            pass
        assert all(not m._forward_hooks for m in model.modules())

    def test_unknown_name_is_a_clear_error(self):
        with pytest.raises(KeyError, match="no module named"):
            with capture(tiny_arbsr(), ["nope"]):
                pass

    def test_tokens_become_maps_with_the_hw_input(self):
        model = nn.Module()
        model.block = TokenBlock()
        maps = torch.randn(2, 3, 4, 5)
        tokens = maps.flatten(2).transpose(1, 2)                          # [B, h·w, C]
        with capture(model, ["block"]) as store:
            model.block(tokens, (4, 5))
        torch.testing.assert_close(store["block"], 2 * maps)

    def test_models_without_block_names_need_explicit_names(self):
        with pytest.raises(ValueError, match="pass names"):
            block_names(nn.Conv2d(1, 1, 1))

    @pytest.mark.parametrize("method, options, n_blocks, prefix", [
        ("liif", dict(n_resblocks=3, n_feats=8, hidden=[8]), 3, "encoder.body."),
        ("lte", dict(backbone="rdn", D=2, C=2, G=4, G0=8, hidden=[8], hidden_dim=8), 2, "encoder.RDBs."),
        ("metasr", dict(backbone="swinir", embed_dim=8, depths=(1, 1), num_heads=(2, 2), window_size=4,
                        hidden=[8]), 2, "encoder.layers."),
        ("ciaosr", dict(num_blocks=2, mid_channels=8, hidden=[8]), 2, "body."),
        ("eqsr", dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=4, latent_dim=8), 2, "layers.0."),
    ])
    def test_every_encoder_names_its_blocks(self, method, options, n_blocks, prefix):
        """``model.feature_blocks()`` (via the encoder) gives hookable model names; each block
        runs during ``encode`` and comes back as an LR-size map (SwinIR's padded tokens cropped)."""
        torch.manual_seed(0)
        model = sr_lib.make(method, **options).double().eval()
        names = block_names(model)
        assert len(names) == n_blocks and all(n.startswith(prefix) for n in names)
        feats = encoder_features(model, torch.rand(2, 3, 7, 5, dtype=F64), 2.5)
        assert list(feats) == names
        assert all(f.shape[0] == 2 and f.shape[-2:] == (7, 5) for f in feats.values())


class TestCommonGrid:
    def test_larger_map_shrinks_to_the_smaller_grid_and_constants_survive(self):
        a, b = torch.full((1, 2, 12, 9), 0.7), torch.randn(1, 2, 8, 6)
        a2, b2 = to_common_grid(a, b)
        assert a2.shape == b2.shape == (1, 2, 8, 6)
        torch.testing.assert_close(b2, b)
        torch.testing.assert_close(a2, torch.full_like(b, 0.7))

    def test_rows(self):
        f = torch.randn(2, 3, 4, 5)
        assert feature_rows(f, "images").shape == (2, 60)
        assert feature_rows(f, "pixels").shape == (40, 3)
        torch.testing.assert_close(feature_rows(f, "pixels")[6], f[0, :, 1, 1])


class TestScaleCKA:
    def test_same_scale_gives_a_symmetric_matrix_with_unit_diagonal(self):
        model = tiny_arbsr()
        hr = torch.rand(8, 3, 16, 16, dtype=F64, generator=torch.Generator().manual_seed(1))
        for rows in ("images", "pixels"):
            m, names = scale_cka_matrix(model, hr, (2.0, 2.0), rows=rows, max_rows=256)
            assert m.shape == (4, 4) and len(names) == 4
            torch.testing.assert_close(torch.diagonal(m), torch.ones(4, dtype=F64))
            torch.testing.assert_close(m, m.T)

    def test_scale_independent_encoder_on_the_same_lr_is_fully_similar_on_the_diagonal(self):
        model = tiny_arbsr()
        with torch.no_grad():
            for block in model.adapt:                 # equal experts: the scale no longer matters
                block.adapt.experts.copy_(block.adapt.experts[:1].expand_as(block.adapt.experts))
        lr = torch.rand(4, 3, 9, 11, dtype=F64, generator=torch.Generator().manual_seed(2))
        m, _ = scale_cka_matrix(model, lr, (1.5, 3.5), same_lr=True)
        torch.testing.assert_close(torch.diagonal(m), torch.ones(4, dtype=F64))
        # with distinct experts, blocks before the first adaption (body.0, body.1) still agree; later ones do not
        d = torch.diagonal(scale_cka_matrix(tiny_arbsr(), lr, (1.5, 3.5), same_lr=True)[0])
        torch.testing.assert_close(d[:2], torch.ones(2, dtype=F64))
        assert (d[2:] < 1 - 1e-6).all()

    def test_training_mode_is_restored(self):
        model = tiny_arbsr().train()
        scale_cka_matrix(model, torch.rand(4, 3, 12, 12, dtype=F64), (2.0, 3.0))
        assert model.training

    def test_too_few_images_is_a_clear_error(self):
        with pytest.raises(ValueError, match="at least 4 images"):
            scale_cka_matrix(tiny_arbsr(), torch.rand(3, 3, 12, 12, dtype=F64), (2.0, 3.0))

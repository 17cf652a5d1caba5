"""The EDSR encoder (sr_lib.models.encoders.edsr): parameter counts in closed form and as the
official LIIF checkpoint, the receptive field of its convolutions, the frozen MeanShift layers."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib.models.base import DIV2K_MEAN, count_parameters

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return c_in * c_out * k * k + c_out


def edsr_params(n: int, f: int) -> int:
    """head 3→f, n ResBlocks of two f→f convs, the conv after the blocks, two 1×1 MeanShifts."""
    return conv_params(3, f) + n * 2 * conv_params(f, f) + conv_params(f, f) + 2 * conv_params(3, 3, 1)


@pytest.mark.parametrize("n, f", [(16, 64), (1, 8), (3, 12)])
def test_parameter_count_closed_form(n, f):
    with torch.device("meta"):
        model = sr_lib.make_backbone("edsr-baseline", n_resblocks=n, n_feats=f)
    assert count_parameters(model) == edsr_params(n, f)


def test_parameter_count_equals_official():
    # liif_edsr-baseline's 'encoder' entry; full EDSR: 32 blocks of 256 channels
    with torch.device("meta"):                  # construction only
        assert count_parameters(sr_lib.make_backbone("edsr-baseline")) == 1_220_440 == edsr_params(16, 64)
        assert count_parameters(sr_lib.make_backbone("edsr")) == edsr_params(32, 256)


def test_features_keep_lr_size():
    enc = sr_lib.make_backbone("edsr-baseline", n_resblocks=2, n_feats=16)
    assert enc(torch.rand(2, 3, 9, 13)).shape == (2, 16, 9, 13) and enc.out_dim == 16


@pytest.mark.parametrize("n", [1, 3])
def test_receptive_field_radius_is_2n_plus_2(n):
    # head conv (1) + n blocks of two 3×3 convs (2n) + the conv after them (1)
    torch.manual_seed(0)
    enc = sr_lib.make_backbone("edsr-baseline", n_resblocks=n, n_feats=8).to(F64).eval()
    x = torch.rand(1, 3, 21, 21, dtype=F64)
    x2 = x.clone()
    x2[..., 10, 10] += 1.0
    with torch.no_grad():
        d = (enc(x2) - enc(x)).abs().amax(1)[0]                       # [21,21]
    r = 2 * n + 2
    yy, xx = torch.meshgrid(torch.arange(21), torch.arange(21), indexing="ij")
    cheb = torch.maximum((yy - 10).abs(), (xx - 10).abs())
    assert d[cheb > r].max() == 0
    assert d[cheb == r].max() > 0


def test_meanshift_is_frozen_and_unused():
    enc = sr_lib.make_backbone("edsr-baseline", n_resblocks=1, n_feats=8).eval()
    mean = torch.tensor(DIV2K_MEAN)
    for layer, sign in ((enc.sub_mean, -1), (enc.add_mean, 1)):
        assert torch.equal(layer.weight.view(3, 3), torch.eye(3))
        assert torch.equal(layer.bias, sign * mean)
        assert not any(p.requires_grad for p in layer.parameters())
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        before = enc(x)
        enc.sub_mean.bias.fill_(5.0)
        enc.add_mean.weight.zero_()
        assert torch.equal(enc(x), before)                            # as the official code: not called


def test_feature_blocks_are_the_residual_blocks():
    enc = sr_lib.make_backbone("edsr-baseline", n_resblocks=3, n_feats=8)
    blocks = enc.feature_blocks()
    assert [n for n, _ in blocks] == ["body.0", "body.1", "body.2"]
    assert all(enc.get_submodule(n) is m for n, m in blocks)

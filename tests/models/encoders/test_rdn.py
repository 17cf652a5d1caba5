"""The RDN encoder (sr_lib.models.encoders.rdn): parameter counts in closed form and as the
official LIIF checkpoints, the paper presets, the receptive field of its convolutions."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib.models.base import count_parameters

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return c_in * c_out * k * k + c_out


def rdn_params(D: int, C: int, G: int, G0: int) -> int:
    """SFENet1/2, D residual dense blocks (C dense 3×3 layers growing by G, 1×1 fusion), GFF (1×1, 3×3)."""
    rdb = sum(conv_params(G0 + c * G, G) for c in range(C)) + conv_params(G0 + C * G, G0, 1)
    return (conv_params(3, G0) + conv_params(G0, G0) + D * rdb
            + conv_params(D * G0, G0, 1) + conv_params(G0, G0))


@pytest.mark.parametrize("options, dcg", [({"preset": "A"}, (20, 6, 32)), ({}, (16, 8, 64)),
                                          ({"D": 2, "C": 3, "G": 8, "G0": 16}, None)])
def test_parameter_count_closed_form(options, dcg):
    with torch.device("meta"):
        model = sr_lib.make_backbone("rdn", **options)
    D, C, G = dcg or (options["D"], options["C"], options["G"])
    assert count_parameters(model) == rdn_params(D, C, G, options.get("G0", 64))


@pytest.mark.parametrize("options, total", [
    ({"preset": "A"}, 5_467_072),                       # liif_rdn_small 'encoder' count
    ({}, 22_320_835 - 346_883),                         # RDN-LIIF total − LIIF MLP
])
def test_parameter_count_equals_official(options, total):
    with torch.device("meta"):
        assert count_parameters(sr_lib.make_backbone("rdn", **options)) == total


def test_options_override_the_preset():
    enc = sr_lib.make_backbone("rdn", preset="A", D=2)
    assert len(enc.RDBs) == 2 and len(enc.RDBs[0].convs) == 6


def test_rdn_rejects_unknown_preset():
    with pytest.raises(ValueError, match="unknown RDN preset 'C'"):
        sr_lib.make_backbone("rdn", preset="C")


def test_features_keep_lr_size():
    enc = sr_lib.make_backbone("rdn", D=2, C=2, G=8, G0=16)
    assert enc(torch.rand(2, 3, 9, 13)).shape == (2, 16, 9, 13) and enc.out_dim == 16


@pytest.mark.parametrize("D, C", [(1, 2), (2, 3)])
def test_receptive_field_radius_is_dc_plus_3(D, C):
    # SFENet1, SFENet2 (2) + D blocks of C dense 3×3 layers (D·C; the 1×1 fusions add none) + GFF's 3×3 (1)
    torch.manual_seed(0)
    enc = sr_lib.make_backbone("rdn", D=D, C=C, G=4, G0=8).to(F64).eval()
    n = 2 * (D * C + 3) + 5
    c = n // 2
    x = torch.rand(1, 3, n, n, dtype=F64)
    x2 = x.clone()
    x2[..., c, c] += 1.0
    with torch.no_grad():
        d = (enc(x2) - enc(x)).abs().amax(1)[0]
    yy, xx = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    cheb = torch.maximum((yy - c).abs(), (xx - c).abs())
    r = D * C + 3
    assert d[cheb > r].max() == 0
    assert d[cheb == r].max() > 0


def test_feature_blocks_are_the_dense_blocks():
    enc = sr_lib.make_backbone("rdn", D=3, C=2, G=4, G0=8)
    blocks = enc.feature_blocks()
    assert [n for n, _ in blocks] == ["RDBs.0", "RDBs.1", "RDBs.2"]
    assert all(enc.get_submodule(n) is m for n, m in blocks)

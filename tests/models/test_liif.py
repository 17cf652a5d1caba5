"""LIIF (sr_lib.models.liif) against properties of the paper (Chen et al., CVPR 2021, Eq. 4):
the local-ensemble weights form a partition of unity, local ensemble makes the image continuous
across LR pixel boundaries (§3.2), and without it a query at an LR centre decodes its own latent."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib.geometry import make_cell, make_coord

F64 = torch.float64
TINY = dict(n_resblocks=1, n_feats=4, hidden=[8, 8])
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**kw):
    torch.manual_seed(0)
    return sr_lib.make("liif", **{**TINY, **kw}).to(F64).eval()


def encoded(model, h=5, w=6):
    torch.manual_seed(1)
    return model.encode(model.normalize(torch.rand(1, 3, h, w, dtype=F64)))


def decode(model, z, coord, H=20, W=24):
    coord = torch.as_tensor(coord, dtype=F64).view(1, -1, 2)
    cell = make_cell((H, W), coord.shape[1], dtype=F64).unsqueeze(0)
    with torch.no_grad():
        return model.query(z, coord, cell)                                   # [1,Q,3]


@pytest.mark.parametrize("ensemble", [True, False])
def test_constant_decoder_gives_a_constant_image(ensemble):
    # Σ_t S_t/S = 1: a decoder that ignores its input returns its bias everywhere
    model = tiny(local_ensemble=ensemble)
    last = model.imnet.layers[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    z = encoded(model)
    coord = torch.rand(1, 50, 2, dtype=F64) * 2 - 1
    out = decode(model, z, coord)
    torch.testing.assert_close(out, last.bias.view(1, 1, 3).expand(1, 50, 3), rtol=0, atol=1e-12)


def test_local_ensemble_is_continuous_across_lr_pixel_boundaries():
    h, w = 5, 6
    boundary_x = -1 + 2 * 3 / w                                              # between LR columns 2 and 3
    boundary_y = -1 + 2 * 2 / h                                              # between LR rows 1 and 2
    d = 1e-4
    probes = [[0.13, boundary_x - d], [0.13, boundary_x + d], [boundary_y - d, -0.31], [boundary_y + d, -0.31]]
    jumps = {}
    for ensemble in (True, False):
        model = tiny(local_ensemble=ensemble)
        out = decode(model, encoded(model, h, w), probes)[0]
        jumps[ensemble] = ((out[1] - out[0]).abs().max().item(), (out[3] - out[2]).abs().max().item())
    assert max(jumps[True]) < 1e-2 * min(jumps[False])                      # LIIF §3.2: no seams
    assert max(jumps[True]) < 1e-3


def test_query_at_an_lr_centre_decodes_its_own_latent():
    # no unfold, no ensemble, no cell: I(v*) = f_θ(z*, 0) at an LR pixel centre v*
    model = tiny(feat_unfold=False, local_ensemble=False, cell_decode=False)
    h, w = 5, 6
    x = model.normalize(torch.rand(1, 3, h, w, dtype=F64))
    centres = make_coord((h, w), dtype=F64)
    out = decode(model, model.encode(x), centres)[0]                         # [hw,3]
    with torch.no_grad():
        feat = model.encoder(x)                                              # [1,C,h,w]
        want = model.imnet(torch.cat([feat[0].flatten(1).T, torch.zeros(h * w, 2, dtype=F64)], -1))  # [hw,3]
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)


def test_cell_decoding_is_what_makes_the_output_depend_on_the_cell():
    coord = torch.rand(1, 30, 2, dtype=F64) * 2 - 1
    for cell_decode in (True, False):
        model = tiny(cell_decode=cell_decode)
        z = encoded(model)
        a, b = decode(model, z, coord, 10, 12), decode(model, z, coord, 40, 48)
        assert (a - b).abs().max() > 1e-6 if cell_decode else torch.equal(a, b)

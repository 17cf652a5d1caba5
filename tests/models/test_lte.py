"""LTE (sr_lib.models.lte) against the paper (Lee & Jin, CVPR 2022, Eq. 5–7 and Fig. 2): the
estimated texture is added to a bilinear upsample of the input, blended over the 4 corners with
LIIF's weights (continuous across LR pixel boundaries), and the cell enters only as a phase."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import sr_lib
from sr_lib.geometry import make_cell, make_coord

F64 = torch.float64
TINY = dict(n_resblocks=1, n_feats=4, hidden=[8], hidden_dim=8)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny():
    torch.manual_seed(0)
    return sr_lib.make("lte", **TINY).to(F64).eval()


def lr_image(h=5, w=6):
    torch.manual_seed(1)
    return torch.rand(1, 3, h, w, dtype=F64)


def test_with_a_constant_texture_the_output_is_bias_plus_bilinear_upsampling():
    model = tiny()
    last = model.imnet.layers[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.05, 0.0, -0.1]))
    x = model.normalize(lr_image())
    H, W = 13, 17
    coord = make_coord((H, W), dtype=F64).unsqueeze(0)
    cell = make_cell((H, W), dtype=F64).unsqueeze(0)
    with torch.no_grad():
        out = model.query(model.encode(x), coord, cell)                       # [1,HW,3]
    bilinear = F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)   # [1,3,H,W]
    want = bilinear.flatten(2).transpose(1, 2) + last.bias
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)


def test_continuous_across_lr_pixel_boundaries():
    model = tiny()
    h, w = 5, 6
    x = model.normalize(lr_image(h, w))
    bx, d = -1 + 2 * 3 / w, 1e-4                                              # between LR columns 2 and 3
    coord = torch.tensor([[[0.1, bx - d], [0.1, bx + d], [0.1, bx - 0.3], [0.1, bx + 0.3]]], dtype=F64)
    cell = make_cell((20, 24), 4, dtype=F64).unsqueeze(0)
    with torch.no_grad():
        out = model.query(model.encode(x), coord, cell)[0]
    assert (out[1] - out[0]).abs().max() < 1e-3
    assert (out[3] - out[2]).abs().max() > 1e-3                              # it does vary over a pixel


def test_cell_only_shifts_the_phase():
    # with the phase layer zeroed, the cell has no effect at all (P(r) is the only path)
    model = tiny()
    with torch.no_grad():
        model.phase.weight.zero_()
    x = model.normalize(lr_image())
    coord = torch.rand(1, 20, 2, dtype=F64) * 2 - 1
    z = model.encode(x)
    with torch.no_grad():
        a = model.query(z, coord, make_cell((10, 12), 20, dtype=F64).unsqueeze(0))
        b = model.query(z, coord, make_cell((40, 48), 20, dtype=F64).unsqueeze(0))
    assert torch.equal(a, b)


def test_buffered_decode_equals_the_autograd_path_across_chunks_and_batches():
    # without autograd the query writes into buffers kept on the grid and reused call after call
    # (smaller, larger, batch of 2); with autograd it builds fresh tensors: the same numbers
    model = tiny()
    x = model.normalize(torch.cat([lr_image(), lr_image().flip(-1)]))          # [2,3,5,6]
    coord = (torch.rand(2, 50, 2, dtype=F64) * 2 - 1)
    cell = make_cell((13, 17), 50, dtype=F64).unsqueeze(0).expand(2, -1, -1)
    with torch.enable_grad():
        want = model.query(model.encode(x), coord, cell)
    assert want.requires_grad
    z = model.encode(x)
    with torch.no_grad():
        for sl in (slice(0, 50), slice(0, 7), slice(7, 50), slice(0, 50)):
            got = model.query(z, coord[:, sl], cell[:, sl])
            torch.testing.assert_close(got, want[:, sl].detach(), rtol=0, atol=1e-13)
    assert z.scratch, "the no-grad path keeps its buffers on the grid"

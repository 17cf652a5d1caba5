"""Feature sampling (sr_lib.models.layers.sampling): (y, x) coordinates at pixel centres hit the
pixels; bilinear weights in closed form; border padding; the 3×3 unfold channel order."""
from __future__ import annotations

import torch

from sr_lib.geometry import make_coord
from sr_lib.models.layers.sampling import sample_bilinear, sample_nearest, unfold3x3

F64 = torch.float64


def feat_map(h=3, w=5, c=2):
    return torch.arange(c * h * w, dtype=F64).view(1, c, h, w)


def test_nearest_at_and_near_pixel_centres_returns_the_pixel():
    f = feat_map()
    centres = make_coord((3, 5), dtype=F64).unsqueeze(0)                     # [1,15,2] (y, x)
    want = f.flatten(2).permute(0, 2, 1)                                     # [1,15,C] row-major
    assert torch.equal(sample_nearest(f, centres), want)
    jitter = torch.tensor([0.45 * 2 / 3, -0.45 * 2 / 5], dtype=F64)          # 0.45 pixel in y and x
    assert torch.equal(sample_nearest(f, centres + jitter), want)


def test_bilinear_closed_form_between_centres():
    f = feat_map()
    y0, x0, x1 = -1 + 1 / 3, -1 + 1 / 5, -1 + 3 / 5                         # row 0; columns 0 and 1
    q = torch.tensor([[[y0, 0.25 * x0 + 0.75 * x1]]], dtype=F64)
    got = sample_bilinear(f, q)[0, 0]
    torch.testing.assert_close(got, 0.25 * f[0, :, 0, 0] + 0.75 * f[0, :, 0, 1], rtol=0, atol=1e-12)


def test_bilinear_border_padding():
    f = feat_map()
    q = torch.tensor([[[-1.0, -1.0], [1.0, 1.0]]], dtype=F64)               # outer corners
    got = sample_bilinear(f, q)[0]
    assert torch.equal(got[0], f[0, :, 0, 0]) and torch.equal(got[1], f[0, :, -1, -1])


def test_unfold3x3_channel_order_and_zero_padding():
    f = feat_map(4, 6, 2)
    u = unfold3x3(f)                                                         # [1,18,4,6]
    assert u.shape == (1, 18, 4, 6)
    padded = torch.nn.functional.pad(f, (1, 1, 1, 1))
    for c in range(2):
        for k in range(9):
            dy, dx = k // 3 - 1, k % 3 - 1
            shifted = padded[0, c, 1 + dy:5 + dy, 1 + dx:7 + dx]
            assert torch.equal(u[0, c * 9 + k], shifted)


def test_unfold3x3_rows_are_the_unfold_transposed_exactly():
    from sr_lib.models.layers.sampling import unfold3x3_rows
    torch.manual_seed(0)
    for dtype in (torch.float32, F64):
        f = torch.randn(2, 3, 5, 7, dtype=dtype)
        rows = unfold3x3_rows(f)
        assert rows.shape == (2, 35, 27) and rows.is_contiguous()
        assert torch.equal(rows, unfold3x3(f).flatten(2).transpose(1, 2))


def test_unfold3x3_linear_equals_the_linear_of_the_rows_and_its_gradients():
    from sr_lib.models.layers.sampling import unfold3x3_linear
    torch.manual_seed(0)
    f = torch.randn(2, 3, 5, 7, dtype=F64, requires_grad=True)
    w = torch.randn(4, 27 + 2, dtype=F64, requires_grad=True)               # extra columns are not used
    b = torch.randn(4, dtype=F64, requires_grad=True)
    got = unfold3x3_linear(f, w[:, :27], b)
    want = torch.nn.functional.linear(unfold3x3(f).flatten(2).transpose(1, 2), w[:, :27], b)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    g = torch.randn_like(want)
    for a, e in zip(torch.autograd.grad(got, (f, w, b), g), torch.autograd.grad(want, (f, w, b), g)):
        torch.testing.assert_close(a, e, rtol=0, atol=1e-12)

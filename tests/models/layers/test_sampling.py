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

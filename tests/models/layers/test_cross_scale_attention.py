"""The fast paths of the cross-scale attention (sr_lib.models.layers.cross_scale_attention) against
the released order of operations written out directly: per image, correlation as a convolution,
softmax, transposed convolution at s times the size, strided conv. Values and gradients, float64."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sr_lib.models.layers.cross_scale_attention import (CrossScaleAttention, _DOWN_NAMES, _down_of_transposed_conv,
                                                        _patch_down_tables, patches, same_pad)

F64 = torch.float64


def released_order(csa: CrossScaleAttention, feat: torch.Tensor) -> torch.Tensor:
    """CSNLN as released, one image at a time (no tabulation, no reordering of the sums)."""
    h, w = feat.shape[-2:]
    outs = []
    for s in csa.scales:
        x = F.pad(feat, (0, (-w) % s, 0, (-h) % s), mode="reflect")
        embed, match = csa.conv_assembly(x), csa.conv_match_1(x)
        ref = csa.conv_match_2(F.interpolate(x, scale_factor=1.0 / s, mode="bilinear"))
        raw, keys = patches(embed, 3 * s, s), patches(ref, 3, 1)
        down = getattr(csa, _DOWN_NAMES[s])
        per_image = []
        for i in range(feat.shape[0]):
            k = keys[i]
            k = k / torch.max(k.pow(2).sum((1, 2, 3), keepdim=True).sqrt(), csa.escape_NaN)
            attn = F.softmax(F.conv2d(same_pad(match[i:i + 1], 3, 1), k) * csa.softmax_scale, dim=1)
            per_image.append(down(F.conv_transpose2d(attn, raw[i], stride=s, padding=s)) / 6.0)
        outs.append(torch.cat(per_image)[:, :, :h, :w])
    return torch.cat(outs, 1)


@pytest.mark.parametrize("scales, size", [((2,), (8, 10)), ((3,), (9, 7)), ((2, 3, 4), (12, 12))])
def test_values_and_gradients_equal_the_released_order(scales, size):
    torch.manual_seed(0)
    csa = CrossScaleAttention(6, scales=scales).double()
    x = torch.randn(2, 6, *size, dtype=F64, requires_grad=True)
    got, want = csa(x), released_order(csa, x)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    g = torch.randn_like(got)
    params = [x] + [p for p in csa.parameters()]
    ga = torch.autograd.grad(got, params, g, allow_unused=True)
    gb = torch.autograd.grad(want, params, g, allow_unused=True)
    for a, b in zip(ga, gb):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_batched_autograd_path_equals_the_per_image_inference_path():
    torch.manual_seed(1)
    csa = CrossScaleAttention(4).double()
    x = torch.randn(3, 4, 10, 9, dtype=F64)
    with torch.no_grad():
        per_image = csa(x)                      # one image at a time, softmax in place
    batched = csa(x.requires_grad_())           # whole batch, out of place
    torch.testing.assert_close(batched, per_image, rtol=0, atol=1e-14)


@pytest.mark.parametrize("s", [2, 3, 4])
def test_patch_tables_equal_the_strided_conv_of_each_patch(s):
    torch.manual_seed(s)
    c, o = 3, 5
    embed_pad = torch.randn(2, c, 3 * s + 2 * s, 3 * s + 3 * s, dtype=F64)     # 3 × 4 patches at stride s
    weight = torch.randn(o, c, 3, 3, dtype=F64)
    u, r, cc, corner = _patch_down_tables(embed_pad, weight, s)
    kern = F.unfold(embed_pad, 3 * s, stride=s).view(2, c, 3 * s, 3 * s, -1).permute(0, 4, 1, 2, 3)   # [B,L,C,k,k]
    n_ref = kern.shape[1]
    padded = F.pad(kern.reshape(-1, c, 3 * s, 3 * s), (1, 2, 1, 2))             # each patch, zero-padded by 1 and 2
    want_u = F.conv2d(padded, weight, stride=s).view(2, n_ref, o, 4, 4)
    torch.testing.assert_close(u, want_u, rtol=0, atol=1e-12)
    # R: the taps t_y = 0 only, at the patch row s−1 (padded row s); Cc likewise for columns; corner: tap (0,0)
    want_r = F.conv2d(padded[:, :, s:s + 1], weight[:, :, :1], stride=(1, s)).view(2, n_ref, o, 4)
    want_c = F.conv2d(padded[..., s:s + 1], weight[..., :1], stride=(s, 1)).view(2, n_ref, o, 4)
    torch.testing.assert_close(r, want_r, rtol=0, atol=1e-12)
    torch.testing.assert_close(cc, want_c, rtol=0, atol=1e-12)
    torch.testing.assert_close(corner, (kern[:, :, :, s - 1, s - 1] @ weight[:, :, 0, 0].t()), rtol=0, atol=1e-12)


def test_down_of_transposed_conv_batched_kernels():
    torch.manual_seed(0)
    s, n_ref, c = 2, 5, 3
    attn = torch.rand(2, n_ref, 6, 7, dtype=F64)
    kernels = torch.randn(2, n_ref, c, 3 * s, 3 * s, dtype=F64)
    down = torch.nn.Conv2d(c, c, 3, s, 1).double()
    got = _down_of_transposed_conv(attn, kernels, down, s)
    want = torch.cat([down(F.conv_transpose2d(attn[i:i + 1], kernels[i], stride=s, padding=s)) for i in range(2)])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)

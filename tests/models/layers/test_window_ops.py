"""Shifted-window helpers (sr_lib.models.layers.window_ops): partition/reverse, the relative
position index in closed form, and the shift mask against the wrap-around it encodes."""
from __future__ import annotations

import pytest
import torch

from sr_lib.models.layers.window_ops import (relative_position_index, shifted_window_mask, window_partition,
                                             window_reverse)


class TestWindowOps:
    def test_partition_then_reverse_is_identity(self):
        x = torch.arange(2 * 16 * 24 * 3, dtype=torch.float64).view(2, 16, 24, 3)
        win = window_partition(x, 8)
        assert win.shape == (2 * 2 * 3, 8, 8, 3)
        torch.testing.assert_close(window_reverse(win, 8, 16, 24), x, rtol=0, atol=0)

    def test_partition_windows_are_row_major_blocks(self):
        x = torch.arange(16 * 24, dtype=torch.float64).view(1, 16, 24, 1)
        win = window_partition(x, 8)
        torch.testing.assert_close(win[4, :, :, 0], x[0, 8:16, 8:16, 0], rtol=0, atol=0)

    @pytest.mark.parametrize("ws", [2, 3, 8])
    def test_relative_position_index_closed_form(self, ws):
        idx = relative_position_index(ws)
        pos = [(i // ws, i % ws) for i in range(ws * ws)]
        want = torch.tensor([[(yi - yj + ws - 1) * (2 * ws - 1) + (xi - xj + ws - 1) for yj, xj in pos]
                             for yi, xi in pos])
        assert idx.dtype == torch.int64
        assert torch.equal(idx, want)

    @pytest.mark.parametrize("h, w, ws, shift", [(16, 24, 8, 4), (48, 48, 8, 4), (12, 9, 3, 1)])
    def test_shift_mask_allows_exactly_the_unwrapped_pairs(self, h, w, ws, shift):
        # after rolling by −shift, two tokens of a window may attend iff neither axis wrapped between them
        mask = shifted_window_mask(h, w, ws, shift)
        assert mask.shape == ((h // ws) * (w // ws), ws * ws, ws * ws)
        rows = torch.arange(h).view(h, 1).expand(h, w)
        cols = torch.arange(w).view(1, w).expand(h, w)
        orig = torch.stack([(rows + shift) % h, (cols + shift) % w, rows, cols], -1).view(1, h, w, 4)
        win = window_partition(orig, ws).view(-1, ws * ws, 4)
        d = (win.unsqueeze(2) - win.unsqueeze(1)).abs()                 # [nW,N,N,4]
        same_side = (d[..., 0] == d[..., 2]) & (d[..., 1] == d[..., 3])
        assert torch.equal(mask == 0, same_side)
        assert set(mask.unique().tolist()) <= {0.0, -100.0}


def test_hard_window_mask_gives_the_same_attention_without_denormals():
    from sr_lib.models.layers.window_ops import hard_window_mask
    torch.manual_seed(0)
    mask = shifted_window_mask(16, 16, 8, 4)                                   # [nW,64,64] 0 / -100
    logits = torch.randn(mask.shape[0], 64, 64, dtype=torch.float64)
    soft = (logits + mask.double()).softmax(-1)
    hard = (logits + hard_window_mask(mask).double()).softmax(-1)
    torch.testing.assert_close(hard, soft, rtol=0, atol=1e-40)               # the masked weights were ~1e-44
    assert torch.equal(hard_window_mask(mask) == 0, mask == 0)
    p32 = (torch.randn(mask.shape[0], 64, 64) + hard_window_mask(mask)).softmax(-1)
    tiny = (p32 != 0) & (p32.abs() < torch.finfo(torch.float32).tiny)
    assert not tiny.any()                                                     # no float32 denormals

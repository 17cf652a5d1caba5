"""The model base class (sr_lib.models.base): the three input normalisations, ``forward`` as
``query ∘ encode``, ``input_window`` and ``feature_blocks`` read from the encoder."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from sr_lib.models.base import DIV2K_MEAN, ImplicitSR, count_parameters

F64 = torch.float64


class Toy(ImplicitSR):
    """encode: the encoder; query: mean feature + coordinate sum (enough to see the plumbing)."""

    def __init__(self, norm="half", encoder=None):
        super().__init__()
        self.input_norm = norm
        self.encoder = encoder if encoder is not None else nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(),
                                                                         nn.Conv2d(4, 4, 1))
        self.seen_scale = None

    def encode(self, x, scale_hw=None):
        self.seen_scale = scale_hw
        return self.encoder(x)

    def query(self, feat, coord, cell):
        return feat.mean((1, 2, 3)).view(-1, 1, 1) + coord.sum(-1, keepdim=True) + cell[..., :1]


@pytest.mark.parametrize("norm", ["half", "mean", "none"])
def test_denormalize_inverts_normalize(norm):
    img = torch.rand(2, 3, 5, 4, dtype=F64)
    m = Toy(norm)
    torch.testing.assert_close(m.denormalize(m.normalize(img)), img, rtol=0, atol=1e-15)


def test_normalisations_closed_form():
    img = torch.zeros(1, 3, 1, 1, dtype=F64)
    assert Toy("half").normalize(img).flatten().tolist() == [-1.0] * 3
    assert Toy("half").normalize(img + 1).flatten().tolist() == [1.0] * 3
    # the DIV2K mean as the official float32 constants, in the input's dtype
    want = [-float(torch.tensor(v, dtype=torch.float32)) for v in DIV2K_MEAN]
    got = Toy("mean").normalize(img)
    assert got.dtype == F64 and got.flatten().tolist() == want
    assert torch.equal(Toy("none").normalize(img + 0.3), img + 0.3)


def test_forward_is_query_of_encode():
    m = Toy()
    x = torch.rand(2, 3, 4, 6)
    coord, cell = torch.rand(2, 7, 2), torch.rand(2, 7, 2)
    out = m(x, coord, cell, (2.0, 3.0))
    assert m.seen_scale == (2.0, 3.0)
    torch.testing.assert_close(out, m.query(m.encode(x), coord, cell))


def test_input_window_comes_from_the_encoder():
    assert Toy().input_window == 0
    enc = nn.Conv2d(3, 4, 1)
    enc.input_window = 8
    assert Toy(encoder=enc).input_window == 8


def test_feature_blocks_are_named_as_in_the_model():
    class Enc(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1), nn.Conv2d(3, 3, 1)

        def feature_blocks(self):
            return [("a", self.a), ("b", self.b)]

    m = Toy(encoder=Enc())
    assert [n for n, _ in m.feature_blocks()] == ["encoder.a", "encoder.b"]
    assert all(m.get_submodule(n) is mod for n, mod in m.feature_blocks())
    plain = Toy()                              # no feature_blocks(): the encoder's children
    assert [n for n, _ in plain.feature_blocks()] == ["encoder.0", "encoder.1", "encoder.2"]


def test_count_parameters_counts_frozen_ones_too():
    lin = nn.Linear(3, 4)
    lin.bias.requires_grad_(False)
    assert count_parameters(lin) == 3 * 4 + 4

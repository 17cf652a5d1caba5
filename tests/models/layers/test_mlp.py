"""The coordinate MLP (sr_lib.models.layers.mlp): official key layout, leading dimensions, and
the split of the first Linear that the tabulated fast path relies on (it is linear)."""
from __future__ import annotations

import torch

from sr_lib.models.layers.mlp import MLP, finish_mlp, split_first_layer

F64 = torch.float64


def test_official_key_layout():
    mlp = MLP(10, 3, [16, 8])
    assert list(mlp.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                                      "layers.4.weight", "layers.4.bias"]
    assert list(MLP(5, 3, []).state_dict()) == ["layers.0.weight", "layers.0.bias"]     # one Linear


def test_leading_dimensions_are_kept_and_rows_independent():
    torch.manual_seed(0)
    mlp = MLP(6, 3, [7]).to(F64)
    x = torch.randn(2, 5, 4, 6, dtype=F64)
    out = mlp(x)
    assert out.shape == (2, 5, 4, 3)
    torch.testing.assert_close(out[1, 3, 2], mlp(x[1, 3, 2].view(1, 6))[0], rtol=0, atol=1e-14)


def test_split_first_layer_then_finish_equals_the_mlp():
    torch.manual_seed(0)
    n_feat = 5
    mlp = MLP(n_feat + 2, 3, [8, 8]).to(F64)
    x = torch.randn(11, n_feat + 2, dtype=F64)
    w_feat, w_coord, bias = split_first_layer(mlp, n_feat)
    assert w_feat.shape == (8, n_feat) and w_coord.shape == (8, 2)
    pre = x[:, :n_feat] @ w_feat.T + x[:, n_feat:] @ w_coord.T + bias            # [Q,8]
    with torch.no_grad():
        torch.testing.assert_close(finish_mlp(mlp, pre.clone()), mlp(x), rtol=0, atol=1e-12)
        hidden = finish_mlp(mlp, pre.clone(), last=False)                        # last hidden activation
        torch.testing.assert_close(hidden, mlp.layers[:-1](x), rtol=0, atol=1e-12)
        assert (hidden >= 0).all()


def test_finish_on_a_view_under_autograd_gives_the_mlp_and_its_gradients():
    # the tabulated paths hand finish_mlp a view (a gathered table plus coordinate columns)
    torch.manual_seed(0)
    mlp = MLP(6, 3, [5, 4]).to(F64)
    x = torch.randn(2, 7, 6, dtype=F64, requires_grad=True)
    first = mlp.layers[0]
    pre = torch.nn.functional.linear(x, first.weight, first.bias).view(14, 5).view(2, 7, 5)   # a view
    got, want = finish_mlp(mlp, pre), mlp(x)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-14)
    g = torch.randn_like(want)
    for a, b in zip(torch.autograd.grad(got, [x, *mlp.parameters()], g), torch.autograd.grad(want, [x, *mlp.parameters()], g)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)

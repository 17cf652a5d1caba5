"""The coordinate MLP of LIIF / LTE / MetaSR (liif ``models/mlp.py``; spec §1.1).

``layers`` = Linear → ReLU for every hidden width, then a final Linear, so the
state_dict keys are ``layers.{0,2,4,...}.{weight,bias}`` as in the official code.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_list: Sequence[int]):
        super().__init__()
        layers, last = [], in_dim
        for width in hidden_list:
            layers += [nn.Linear(last, width), nn.ReLU()]
            last = width
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., in_dim]`` → ``[..., out_dim]``."""
        shape = x.shape[:-1]
        return self.layers(x.reshape(-1, x.shape[-1])).view(*shape, -1)


def split_first_layer(mlp: MLP, n_feat: int):
    """(W_feat, W_coord, bias) of ``mlp``'s first Linear for inputs laid out as [feature(n_feat), coords]."""
    first = mlp.layers[0]
    return first.weight[:, :n_feat], first.weight[:, n_feat:], first.bias


def finish_mlp(mlp: MLP, pre: torch.Tensor, last: bool = True) -> torch.Tensor:
    """The rest of ``mlp`` after its first Linear, given that Linear's output ``pre [..., H]``
    (``last=False``: stop at the last hidden activation). Runs on 2-D rows, so every Linear output is
    a fresh tensor (not a view) and its ReLU runs in place, with autograd too; on a view (``pre``
    may be one) it runs out of place under autograd, where in place would cost a copy of the whole
    tensor in backward."""
    layers = list(mlp.layers)[1:] if last else list(mlp.layers)[1:-1]
    shape = pre.shape[:-1]
    x = pre.reshape(-1, pre.shape[-1])
    for layer in layers:
        if not isinstance(layer, nn.ReLU):
            x = layer(x)
        elif x._base is not None and torch.is_grad_enabled() and x.requires_grad:
            x = torch.relu(x)
        else:
            x = torch.relu_(x)
    return x.view(*shape, x.shape[-1])

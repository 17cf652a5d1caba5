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

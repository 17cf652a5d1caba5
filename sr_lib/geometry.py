"""Geometry of arbitrary-scale SR: image sizes, scales, query coordinates and cells.

Every quantity is converted here, once (LIIF's conventions, shared by all official codebases):
- an axis of n pixels spans [-1, 1]; pixel i has centre (-1 + 1/n) + (2/n)·i;
- a 2-D grid is (row/y, col/x) in its last dimension, row-major when flattened;
- the cell of a query is the HR pixel size in the same units, (2/H, 2/W);
- a scale is per axis: ``scale_hw = (H/h, W/w)``;
- LR from HR: ``floor(n/s + 1e-9)`` per side; HR from LR: ``round(n·s)`` (the official rules).
"""
from __future__ import annotations

import math

import torch


def lr_size_for(hr_hw, scale: float) -> tuple:
    """LR size of an HR image at ``scale``: ``floor(n/s + 1e-9)`` per side (official rule)."""
    return tuple(int(math.floor(n / scale + 1e-9)) for n in hr_hw)


def hr_size_for(lr_hw, scale) -> tuple:
    """HR size of an LR image at ``scale`` (one number, or one per axis ``(sy, sx)``): ``round(n·s)``
    per side (Python rounding, as the code)."""
    scales = tuple(scale) if isinstance(scale, (tuple, list)) else (scale,) * len(lr_hw)
    return tuple(int(round(n * s)) for n, s in zip(lr_hw, scales))


def scale_hw(lr_hw, out_hw) -> tuple[float, float]:
    """Per-axis scale ``(H/h, W/w)`` of an LR size and an output size."""
    return (out_hw[0] / lr_hw[0], out_hw[1] / lr_hw[1])


def make_coord(shape, flatten: bool = True, dtype=torch.float32, device=None) -> torch.Tensor:
    """Pixel-centre coordinates of an ``shape = (H, W)`` grid.

    Returns ``[H*W, 2]`` (flatten) or ``[H, W, 2]``; computed natively in ``dtype``
    as ``(-1 + r) + (2r)·i`` with ``r = 1/n`` (bit-identical to the float64
    grids of the reference vectors when ``dtype=float64``).
    """
    axes = []
    for n in shape:
        r = 1.0 / n
        axes.append((-1 + r) + (2 * r) * torch.arange(n, dtype=dtype, device=device))
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return grid.reshape(-1, grid.shape[-1]) if flatten else grid


def make_cell(shape, n_queries: int | None = None, dtype=torch.float32, device=None,
              cell_scale: float = 1.0) -> torch.Tensor:
    """Cell ``(2/H, 2/W)·cell_scale`` repeated for ``n_queries`` (default H*W): ``[Q, 2]``."""
    h, w = shape
    q = h * w if n_queries is None else n_queries
    cell = torch.tensor([2.0 / h, 2.0 / w], dtype=dtype, device=device) * cell_scale
    return cell.expand(q, 2).clone()


def query_grid(out_hw, batch: int, layout: str = "flat", cell_scale: float = 1.0,
               dtype=torch.float32, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates and cells of every pixel of an ``out_hw = (H, W)`` output, for a query layout.

    - ``"flat"``: coord ``[B, H·W, 2]``, cell ``[B, H·W, 2]`` (independent queries);
    - ``"grid"``: coord ``[B, H, W, 2]``, cell ``[B, 2, H, W]`` (EQSR: queries that interact).
    """
    H, W = out_hw
    if layout == "grid":
        coord = make_coord((H, W), flatten=False, dtype=dtype, device=device)
        coord = coord.unsqueeze(0).expand(batch, H, W, 2)
        cell = make_cell((H, W), 1, dtype=dtype, device=device, cell_scale=cell_scale)
        return coord, cell.view(1, 2, 1, 1).expand(batch, 2, H, W)
    if layout != "flat":
        raise ValueError(f"unknown query layout {layout!r}; 'flat' or 'grid'")
    coord = make_coord((H, W), dtype=dtype, device=device).unsqueeze(0).expand(batch, -1, -1)
    cell = make_cell((H, W), 1, dtype=dtype, device=device, cell_scale=cell_scale)
    return coord, cell.expand(batch, H * W, 2)


__all__ = ["lr_size_for", "hr_size_for", "scale_hw", "make_coord", "make_cell", "query_grid"]

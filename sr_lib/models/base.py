"""The one model interface of the zoo.

Every arbitrary-scale method is an **encoder** (features from the LR image;
EQSR's and ArbSR's encoders also take the scale) and a **decoder** queried at
continuous HR coordinates with a cell size:

    feat = model.encode(x, scale)            # x: LR, normalised as the model expects
    out  = model.query(feat, coord, cell)    # coord [B,Q,2] (y,x) in [-1,1], cell [B,Q,2]
    out  = model(x, coord, cell, scale)      # both at once (the official calling convention)

``x`` and ``out`` live in the model's *normalised* space (``input_norm``):
  - "half": (img − 0.5) / 0.5          (LIIF, MetaSR, LTE, IPE-*)
  - "mean": img − DIV2K RGB mean        (CiaoSR, ITSRN)
  - "none": the network normalises inside (EQSR, ArbSR)
``super_resolve`` works on plain images in [0, 1] and hides all of this.

Decoders whose queries interact (EQSR mixes neighbouring HR queries) set
``query_layout = "grid"`` and take ``coord [B,H,W,2]``, ``cell [B,2,H,W]``.
"""
from __future__ import annotations


import torch
import torch.nn as nn

from sr_lib.geometry import make_coord

# DIV2K RGB mean as the official code stores it (float32 constants).
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def _mean(ref: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(DIV2K_MEAN, dtype=torch.float32).to(ref.dtype)
    return m.view(1, 3, 1, 1).to(ref.device)


# Queries decoded per call of ``query`` in whole-image inference. Outputs do not depend on it (queries
# are independent); speed does: 4096 queries × 4 corners × 256 hidden floats ≈ 16 MB per activation
# stays in this CPU's 105 MB L3, and decoding was 1.5× faster than with the official eval_bsize of
# 30000 for LIIF (paper and cpu sizes), LTE and CiaoSR (benchmarks/README.md, "chunk size").
DEFAULT_CHUNK = 4096


class ImplicitSR(nn.Module):
    """Base class: subclasses implement ``encode`` and ``query``."""

    input_norm: str = "half"
    query_layout: str = "flat"      # "flat": coord [B,Q,2]; "grid": coord [B,H,W,2]
    needs_scale: bool = False       # encoder conditioned on the scale (EQSR, ArbSR)

    # -- normalisation (stateless: no buffers, so state_dict keys stay official) --
    def normalize(self, img: torch.Tensor) -> torch.Tensor:
        if self.input_norm == "half":
            return (img - 0.5) / 0.5
        if self.input_norm == "mean":
            return img - _mean(img)
        return img

    def denormalize(self, out: torch.Tensor) -> torch.Tensor:
        """``out`` as [B,3,H,W] (channels first)."""
        if self.input_norm == "half":
            return out * 0.5 + 0.5
        if self.input_norm == "mean":
            return out + _mean(out)
        return out

    # -- the interface --
    def encode(self, x: torch.Tensor, scale=None):
        raise NotImplementedError

    def query(self, feat, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x, coord, cell, scale=None):
        return self.query(self.encode(x, scale), coord, cell)

    # -- whole-image inference --
    @torch.no_grad()
    def super_resolve(self, lr: torch.Tensor, out_size, chunk: int = DEFAULT_CHUNK,
                      cell_scale: float = 1.0) -> torch.Tensor:
        """LR image ``[B,3,h,w]`` in [0,1] → SR ``[B,3,H,W]`` in [0,1] (float, clamped).

        ``out_size`` = (H, W). Queries are decoded in chunks of ``chunk`` so memory
        stays bounded. ``cell_scale`` multiplies the cell (LTE's test-time clip).
        ``chunk`` is lowered to fit the memory budget and a request that cannot fit is refused
        up front (``sr_lib.engine.memory``: 3 GB unless ``SR_MEMORY_BUDGET`` says otherwise).
        """
        from sr_lib.engine.memory import plan_chunk
        H, W = out_size
        b = lr.shape[0]
        chunk = plan_chunk(self, lr.shape[-2:], (H, W), chunk, batch=b)
        scale = H / lr.shape[-2]
        feat = self.encode(self.normalize(lr), scale)
        if self.query_layout == "grid":
            coord = make_coord((H, W), flatten=False, dtype=lr.dtype, device=lr.device)
            coord = coord.unsqueeze(0).expand(b, H, W, 2)
            cell = torch.tensor([2.0 / H, 2.0 / W], dtype=lr.dtype, device=lr.device) * cell_scale
            cell = cell.view(1, 2, 1, 1).expand(b, 2, H, W)
            out = self.query(feat, coord, cell)                       # [B,3,H,W]
        else:
            coord = make_coord((H, W), dtype=lr.dtype, device=lr.device).unsqueeze(0).expand(b, -1, -1)
            cell = torch.tensor([2.0 / H, 2.0 / W], dtype=lr.dtype, device=lr.device) * cell_scale
            cell = cell.expand(b, H * W, 2)
            parts = [self.query(feat, coord[:, i:i + chunk], cell[:, i:i + chunk])
                     for i in range(0, H * W, chunk)]
            out = torch.cat(parts, dim=1).permute(0, 2, 1).reshape(b, 3, H, W)
        return self.denormalize(out).clamp(0, 1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())



__all__ = ["ImplicitSR", "DIV2K_MEAN", "count_parameters"]

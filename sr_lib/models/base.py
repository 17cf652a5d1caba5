"""The one model interface of the zoo.

Every arbitrary-scale method is an **encoder** (features from the LR image;
EQSR's and ArbSR's encoders also take the scale) and a **decoder** queried at
continuous HR coordinates with a cell size:

    feat = model.encode(x, scale_hw)         # x: LR, normalised as the model expects; scale_hw = (sy, sx)
    out  = model.query(feat, coord, cell)    # coord [B,Q,2] (y,x) in [-1,1], cell [B,Q,2]
    out  = model(x, coord, cell, scale_hw)   # both at once

``scale_hw`` is the scale per axis, ``(H/h, W/w)``: floats, or ``[B]`` tensors (one scale per
sample, training); one number means both axes. Encoders that are not conditioned on the scale
ignore it (``needs_scale = False``).

``x`` and ``out`` live in the model's *normalised* space (``input_norm``):
  - "half": (img − 0.5) / 0.5          (LIIF, MetaSR, LTE, IPE-*)
  - "mean": img − DIV2K RGB mean        (CiaoSR, ITSRN)
  - "none": the network normalises inside (EQSR, ArbSR)
``sr_lib.engine.inference.super_resolve(model, lr, scale=...)`` works on plain images in [0, 1]
and hides all of this; it reads ``input_window``: the LR side multiple the caller pads to (by
flip-and-concatenate, LTE's ``test.py``) because the encoder keeps the padding it needs in its
features (the LTE-flavour SwinIR: 8); 0 when the encoder needs none or pads and crops inside.

Decoders whose queries interact (EQSR mixes neighbouring HR queries) set
``query_layout = "grid"`` and take ``coord [B,H,W,2]``, ``cell [B,2,H,W]``.
"""
from __future__ import annotations


import torch
import torch.nn as nn

# DIV2K RGB mean as the official code stores it (float32 constants).
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def _mean(ref: torch.Tensor) -> torch.Tensor:
    m = torch.tensor(DIV2K_MEAN, dtype=torch.float32).to(ref.dtype)
    return m.view(1, 3, 1, 1).to(ref.device)


class ImplicitSR(nn.Module):
    """Base class: subclasses implement ``encode`` and ``query``."""

    input_norm: str = "half"
    query_layout: str = "flat"      # "flat": coord [B,Q,2]; "grid": coord [B,H,W,2]
    needs_scale: bool = False       # encoder conditioned on the scale (EQSR, ArbSR)
    min_input_side: int = 1         # smallest LR side encode takes (reflect padding, strided convs need 2)

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

    @property
    def input_window(self) -> int:
        """LR side multiple the caller pads to (``super_resolve``'s window): the encoder's
        ``input_window`` (LTE-flavour SwinIR: its window, 8), else 0."""
        return int(getattr(self.encoder, "input_window", 0))

    # -- the interface --
    def encode(self, x: torch.Tensor, scale_hw=None):
        raise NotImplementedError

    def query(self, feat, coord: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x, coord, cell, scale_hw=None):
        """``query(encode(x, scale_hw), coord, cell)`` (x normalised; training and official checks)."""
        return self.query(self.encode(x, scale_hw), coord, cell)

    # -- the encoder's blocks (what CKA compares: ``sr_lib.engine.features``) --
    def feature_blocks(self) -> list[tuple[str, nn.Module]]:
        """``(name, module)`` of the encoder's blocks in forward order, each named as in
        ``self.named_modules()`` (hooks are placed by name): the encoder's own ``feature_blocks()``
        (EDSR/RDN: residual blocks, SwinIR: RSTBs, EQNet: attention layers), else its children.
        Every method exposes its encoder as ``self.encoder`` (a property where a registered
        attribute of that name would change the official state_dict keys)."""
        enc = self.encoder
        blocks = enc.feature_blocks() if hasattr(enc, "feature_blocks") else list(enc.named_children())
        names = {id(m): n for n, m in self.named_modules()}
        return [(names[id(m)], m) for _, m in blocks]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())



__all__ = ["ImplicitSR", "DIV2K_MEAN", "count_parameters"]

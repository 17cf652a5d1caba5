"""Multi-step synthesis: reach a large scale through several smaller upscalings (CiaoSR Table 6).

CiaoSR Table 6 compares one-step ×12 with "×2 → ×12" (×2, then ×6 on the result) and
"×2 → ×4 → ×12" (×2, ×2, ×3). ``scales`` lists the factor of each step:

    synthesize(model, lr, scales=[2, 6])        # ×2 → ×12
    synthesize(model, lr, scales=[2, 2, 3])     # ×2 → ×4 → ×12
    synthesize(model, lr, scales=[12])          # one step

Sizes: step i produces round(h · s_1⋯s_i) × round(w · s_1⋯s_i) (rounded from the original LR
size, so rounding errors do not compound); ``out_size`` overrides the size of the last step (e.g.
the GTmod12 HR size).

Choice (not stated in the paper): between steps the image is **rounded to uint8**
(``round(255·x)/255``), as if each intermediate result were saved as an 8-bit image and read
back, which is what running the released test script step by step does. ``quantize=False``
keeps the float image instead. The last step is returned as float in [0, 1]; the evaluation
protocol quantises it.

Each step goes through an upscaler (``sr_lib.engine.evaluate``): a model is wrapped with the
given ``protocol``'s inference options *for that step's scale* (CiaoSR: 192/32 tiles for
integer ×2–×4 steps, whole image above).
"""
from __future__ import annotations

from typing import Sequence

import torch

from sr_lib.engine.evaluate import as_upscaler


def quantize_uint8(img: torch.Tensor) -> torch.Tensor:
    """``img`` in [0, 1] → the nearest value representable as uint8 / 255 (round half to even)."""
    return torch.round(img.clamp(0, 1) * 255) / 255


def step_sizes(lr_hw, scales: Sequence[float], out_size=None) -> list[tuple[int, int]]:
    """Output size of every step: round(n · cumulative scale); ``out_size`` replaces the last."""
    if not scales or any(s <= 0 for s in scales):
        raise ValueError(f"scales must be a non-empty list of positive factors, got {list(scales)}")
    sizes, total = [], 1.0
    for s in scales:
        total *= s
        sizes.append(tuple(int(round(n * total)) for n in lr_hw))
    if out_size is not None:
        sizes[-1] = tuple(int(n) for n in out_size)
    return sizes


@torch.no_grad()
def synthesize(model, lr: torch.Tensor, scales: Sequence[float] = (2, 6), out_size=None,
               protocol: str | None = None, quantize: bool = True) -> torch.Tensor:
    """Upscale ``lr [B,3,h,w]`` (in [0, 1]) by ``math.prod(scales)`` in ``len(scales)`` steps.

    ``model``: an ``ImplicitSR`` or any upscaler accepted by ``evaluate.as_upscaler``.
    Returns ``[B,3,H,W]`` in [0, 1].
    """
    img = lr
    sizes = step_sizes(lr.shape[-2:], scales, out_size)
    for i, (s, size) in enumerate(zip(scales, sizes)):
        upscaler = as_upscaler(model, protocol, scale=s)
        img = upscaler(img, size, s)
        if quantize and i < len(scales) - 1:
            img = quantize_uint8(img)
    return img


def describe(scales: Sequence[float]) -> str:
    """Table 6 label: [2, 6] → '→×2→×12'."""
    total, parts = 1.0, []
    for s in scales:
        total *= s
        parts.append(f"×{total:g}")
    return "→" + "→".join(parts)


__all__ = ["synthesize", "step_sizes", "quantize_uint8", "describe"]

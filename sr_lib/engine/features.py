"""Per-block features through forward hooks, and the layer × layer CKA between two
SR scales of one model (EQSR supplement Sec. 3; ``methods-notes.md`` §3).

Which blocks: ``block_names(model)`` asks the model's ``feature_blocks()``, the
``(name, module)`` pairs of its encoder's blocks (EDSR: the ResBlocks, also ArbSR's
backbone; RDN: the RDBs; SwinIR: the RSTBs; EQNet/HAT: every window-attention and
overlapping cross-attention layer) — or pass names yourself.

Feature layout: a hooked module's output (first element if a tuple) is kept as
``[B, C, h, w]``. Token outputs ``[B, N, C]`` are turned into maps with the
``(h, w)`` pair found among the module's positional inputs (EQNet's blocks take
``hw``), then cropped top-left to the LR size (EQNet pads the image to a
multiple of its window at the bottom/right).

Common grid (``reference-implementations.md`` §6.4: compare features at
matched spatial locations). The two scales' LR images come from the same HR
crop, φ(HR; s) with MATLAB bicubic, so their feature maps cover the same field
of view on different grids. The larger map is resampled to the smaller grid
(bilinear, antialiased, pixel centres aligned) — shrinking only, so no feature
is invented. With ``same_lr=True`` the same LR image is encoded at both scales
(only the scale conditioning differs) and the grids already agree.

Rows of the CKA (``rows``): "images" (the paper's minibatch form: one row per
image, the flattened C·h·w map as its features; needs ≥ 4 images per
minibatch) or "pixels" (one row per spatial position, the C channels as
features; ``max_rows`` positions drawn per minibatch with a fixed seed, the same
positions for both scales).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F

from sr_lib.data.resize import imresize_matlab, lr_size_for
from sr_lib.metrics.cka import MinibatchCKA


def block_names(model) -> list[str]:
    """Names (in ``model.named_modules()``) of the model's per-block feature modules, in order."""
    if hasattr(model, "feature_blocks"):
        return [name for name, _ in model.feature_blocks()]
    raise ValueError(f"{type(model).__name__} does not name its analysis blocks; pass names=[...] "
                     "(module names from model.named_modules())")


def _as_map(out: torch.Tensor, inputs) -> torch.Tensor:
    """``[B,C,h,w]`` as is; tokens ``[B,N,C]`` via an (h, w) input with h·w = N."""
    if out.dim() == 4:
        return out
    if out.dim() == 3:
        for arg in inputs:
            if (isinstance(arg, (tuple, list)) and len(arg) == 2 and all(isinstance(v, int) for v in arg)
                    and arg[0] * arg[1] == out.shape[1]):
                b, _, c = out.shape
                return out.transpose(1, 2).reshape(b, c, arg[0], arg[1])
    raise ValueError(f"cannot read a feature map from an output of shape {tuple(out.shape)}")


@contextmanager
def capture(model: torch.nn.Module, names):
    """Context manager: while open, the output of every module in ``names`` is stored
    (detached, as ``[B,C,h,w]``) in the yielded dict under its name (last call wins)."""
    modules = dict(model.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise KeyError(f"no module named {unknown[0]!r} in {type(model).__name__}")
    store: dict[str, torch.Tensor] = {}

    def hook(name):
        def fn(module, inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            store[name] = _as_map(out.detach(), inputs)
        return fn

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def encoder_features(model, lr: torch.Tensor, scale, names=None) -> dict[str, torch.Tensor]:
    """Per-block features of ``model.encode`` for LR images ``[B,3,h,w]`` in [0, 1] at
    ``scale``: ``{name: [B,C,h,w]}`` in block order, cropped to the LR size."""
    names = block_names(model) if names is None else list(names)
    with capture(model, names) as store:
        model.encode(model.normalize(lr), scale if isinstance(scale, (tuple, list)) else (scale, scale))
    h, w = lr.shape[-2:]
    missing = [n for n in names if n not in store]
    if missing:
        raise ValueError(f"block {missing[0]!r} did not run during encode")
    return {n: store[n][..., :h, :w] for n in names}


def to_common_grid(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Resample the larger of two maps ``[B,C,h,w]`` to the smaller grid (see module doc)."""
    size = (min(a.shape[-2], b.shape[-2]), min(a.shape[-1], b.shape[-1]))

    def fit(t):
        if tuple(t.shape[-2:]) == size:
            return t
        return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)
    return fit(a), fit(b)


def feature_rows(feat: torch.Tensor, rows: str = "images", index: torch.Tensor | None = None) -> torch.Tensor:
    """``[B,C,h,w]`` → ``[B, C·h·w]`` ("images") or ``[B·h·w, C]`` ("pixels", optionally
    the rows in ``index`` only)."""
    if rows == "images":
        return feat.flatten(1)
    if rows == "pixels":
        x = feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1])
        return x if index is None else x[index]
    raise ValueError(f"rows must be 'images' or 'pixels', got {rows!r}")


@torch.no_grad()
def scale_cka_matrix(model, images: torch.Tensor, scales, names=None, batch_size: int = 4,
                     rows: str = "images", same_lr: bool = False, max_rows: int = 1024,
                     seed: int = 0) -> tuple[torch.Tensor, list[str]]:
    """Layer × layer minibatch CKA (Eq. 5) between the blocks of ``model`` at two scales.

    images: ``[N,3,H,W]`` in [0, 1], same-size crops: HR images (LR made by φ(·; s)
        for each scale) or, with ``same_lr``, LR images encoded at both scales.
    scales: ``(s_a, s_b)``. Returns ``(matrix [A, A], names)`` with
        ``matrix[i, j] = CKA(block i at s_a, block j at s_b)`` (float64, on the CPU).
    The model runs in eval mode (its mode is restored afterwards).
    """
    s_a, s_b = scales
    if rows == "images" and images.shape[0] < 4:
        raise ValueError(f"CKA over image rows needs at least 4 images (unbiased HSIC), got {images.shape[0]}")
    names = block_names(model) if names is None else list(names)
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    acc = MinibatchCKA()
    was_training = model.training
    model.eval()
    try:
        for i in range(0, images.shape[0], batch_size):
            batch = images[i:i + batch_size].to(device)
            feats = []
            for s in (s_a, s_b):
                lr = batch if same_lr else imresize_matlab(batch, scale=1.0 / s,
                                                           size=lr_size_for(batch.shape[-2:], s))
                feats.append(encoder_features(model, lr.clamp(0, 1), s, names))
            pairs = [to_common_grid(feats[0][n], feats[1][n]) for n in names]
            index = None
            if rows == "pixels":
                n_rows = pairs[0][0].shape[0] * pairs[0][0].shape[-2] * pairs[0][0].shape[-1]
                index = torch.randperm(n_rows, generator=gen)[:max_rows].to(device)
            if rows == "images" and batch.shape[0] < 4:
                continue                                                    # unbiased HSIC needs n ≥ 4
            acc.update([feature_rows(a, rows, index).cpu() for a, _ in pairs],
                       [feature_rows(b, rows, index).cpu() for _, b in pairs])
    finally:
        model.train(was_training)
    return acc.value(), names


__all__ = ["block_names", "capture", "encoder_features", "to_common_grid", "feature_rows", "scale_cka_matrix"]

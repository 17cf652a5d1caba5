"""Reading and writing images as the SR code bases see them: uint8 RGB ``[H, W, 3]``.

Conversions made on load (all official loaders end in 8-bit RGB):
- grayscale (``L``, ``1``, ``P`` without colour) → the single channel replicated three times
  (Set14 ``bridge.png`` is single-channel);
- RGBA / LA → the alpha channel is **dropped** (no compositing onto a background), because
  the official loaders (``PIL.Image.convert('RGB')`` / OpenCV ``IMREAD_COLOR``) do the same;
- 16-bit grayscale (PIL modes ``I;16*`` / ``I``) → ``round(v · 255 / 65535)``. 16-bit RGB
  PNGs are reduced to 8 bits by PIL itself when it opens them.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError


def load_image(path) -> np.ndarray:
    """Read ``path`` → uint8 RGB ``[H, W, 3]``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (one line, naming
    the file) for anything PIL cannot decode (corrupt or truncated files).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            im.load()
            return to_rgb_uint8(im)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None


def to_rgb_uint8(im: Image.Image) -> np.ndarray:
    """A PIL image in any common mode → uint8 RGB ``[H, W, 3]`` (rules in the module doc)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(np.floor(a * (255.0 / hi) + 0.5), 0, 255).astype(np.uint8)
        return np.repeat(a[:, :, None], 3, axis=2)
    if im.mode == "F":
        raise ValueError("floating-point images are not supported (expected 8- or 16-bit)")
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert(im.mode[:-1] if im.mode != "PA" else "RGB")
    if im.mode != "RGB":
        im = im.convert("RGB")          # L/1/P/CMYK/YCbCr → RGB (gray replicated)
    return np.array(im, dtype=np.uint8)


def save_image(path, img: np.ndarray) -> None:
    """Write a uint8 ``[H, W, 3]`` (or ``[H, W]``) array as PNG atomically (tmp + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        Image.fromarray(np.asarray(img, dtype=np.uint8)).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def to_tensor01(img: np.ndarray):
    """uint8 ``[H, W, 3]`` → float32 tensor ``[1, 3, H, W]`` in [0, 1] (exact: v / 255)."""
    import torch
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).unsqueeze(0).float().div(255.0)


def to_numpy01(t) -> np.ndarray:
    """Tensor ``[1, 3, H, W]`` (or ``[3, H, W]``) → float64 ``[H, W, 3]`` on the CPU."""
    t = t.detach()
    if t.dim() == 4:
        t = t[0]
    return t.permute(1, 2, 0).cpu().double().numpy()


__all__ = ["load_image", "to_rgb_uint8", "save_image", "to_tensor01", "to_numpy01"]

"""Reading and writing images as the SR code bases see them: uint8 RGB ``[H, W, 3]``.

Conversions made on load (all official loaders end in 8-bit RGB):
- grayscale (``L``, ``1``, ``P`` without colour) → the single channel replicated three times
  (Set14 ``bridge.png`` is single-channel);
- RGBA / LA → the alpha channel is **dropped** (no compositing onto a background), because
  the official loaders (``PIL.Image.convert('RGB')`` / OpenCV ``IMREAD_COLOR``) do the same;
- 16-bit grayscale (PIL modes ``I;16*`` / ``I``) → ``round(v · 255 / 65535)``. 16-bit RGB
  PNGs are reduced to 8 bits by PIL itself when it opens them. A 32-bit integer image (mode ``I``)
  with values outside 0..65535 is refused (it is no 8- or 16-bit image; clipping would be silent);
- EXIF orientation: the pixels are read **as stored**, as the official loaders read them (PIL's
  ``open().convert('RGB')`` ignores the tag); a file whose tag says it is shown rotated or mirrored
  gets a one-line warning naming it, and ``load_image(path, exif_orientation=True)`` applies the tag
  (``PIL.ImageOps.exif_transpose``: what a photo viewer shows).

Untrusted files: ``load_image`` reads the header first and refuses an image of more than
``max_image_pixels()`` = memory budget / ``BYTES_PER_PIXEL`` (3 GB / 64 B ≈ 50 Mpx by default)
before decoding anything (``sr_lib.engine.evaluate`` then plans the whole evaluation of each
image, ~240 B per HR pixel, against the same budget); PIL's decompression-bomb refusal and every decoder failure (corrupt BMP /
TIFF / PNG headers, truncated data) become a one-line ``ValueError`` naming the file.

``save_image`` accepts (and converts exactly, or refuses with a one-line ``ValueError`` before
writing anything):

- uint8: as is; bool: 0 / 255; uint16: ``round(v · 255 / 65535)`` (the load rule);
- other integer dtypes: only values 0..255 (300 is refused, not wrapped to 44);
- floats: finite values in [0, 1] → ``round(v · 255)`` (0.7 → 179; −5 or 255.0 are refused);
- shapes ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]``, ``[H, W, 4]`` (numpy layout); a torch tensor
  ``[3, H, W]`` / ``[1, 3, H, W]`` (the library's layout) is moved to the CPU and transposed.
"""
from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from sr_lib.paths import default_budget

BYTES_PER_PIXEL = 64            # budget bytes per pixel of a decoded image (load_image's limit)


def max_image_pixels() -> float:
    """The largest image ``load_image`` decodes: memory budget / ``BYTES_PER_PIXEL`` pixels."""
    return default_budget() / BYTES_PER_PIXEL


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:200]


# EXIF orientation tag (0x0112) values other than 1 → how the stored pixels differ from what viewers show
EXIF_ORIENTATION = {2: "mirrored", 3: "rotated 180°", 4: "flipped upside down", 5: "transposed",
                    6: "rotated 90°", 7: "transversed", 8: "rotated 270°"}


def _exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation tag of ``im`` (1 = as stored; a missing or unreadable tag counts as 1)."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:           # a corrupt EXIF block does not make the pixels unreadable
        return 1
    return value if value in EXIF_ORIENTATION else 1


def load_image(path, max_pixels: float | None = None, *, exif_orientation: bool = False) -> np.ndarray:
    """Read ``path`` → uint8 RGB ``[H, W, 3]``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (one line, naming
    the file) for an image over ``max_pixels`` (default ``max_image_pixels()``; checked on the
    header, before decoding) and for anything PIL cannot decode (corrupt or truncated files).
    ``exif_orientation``: apply the file's EXIF orientation (as a viewer shows it); by default the
    pixels are read as stored, with a warning when the tag says they are shown otherwise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}" + (" (a folder)" if path.is_dir() else ""))
    limit = max_image_pixels() if max_pixels is None else float(max_pixels)
    img, orientation = _decode(path, limit, exif_orientation)
    if orientation != 1 and not exif_orientation:
        warnings.warn(f"{path}: its EXIF orientation {orientation} says viewers show it {EXIF_ORIENTATION[orientation]}; "
                      "read as stored, like the official loaders (load_image(..., exif_orientation=True) applies it)",
                      stacklevel=2)
    return img


def _decode(path: Path, limit: float, exif_orientation: bool) -> tuple[np.ndarray, int]:
    """``load_image``'s decode: ``(uint8 [H, W, 3], EXIF orientation)`` with every failure one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # PIL's bomb warning (our limit applies), corrupt-EXIF notes
            with Image.open(path) as im:
                w, h = im.size
                if w < 1 or h < 1:
                    raise ValueError(f"cannot read image {path}: its header says {w}×{h} pixels")
                if w * h > limit:
                    raise ValueError(f"image {path} is too large: {w}×{h} = {w * h / 1e6:.1f} Mpx, over the "
                                     f"{limit / 1e6:.1f} Mpx limit of the {default_budget() / 2**30:.1f} GB memory "
                                     "budget (SR_MEMORY_BUDGET); not decoded")
                im.load()
                orientation = _exif_orientation(im)
                if exif_orientation and orientation != 1:
                    from PIL import ImageOps
                    return to_rgb_uint8(ImageOps.exif_transpose(im)), orientation
                return to_rgb_uint8(im), orientation
    except Image.DecompressionBombError as e:
        raise ValueError(f"image {path} is too large to decode (a decompression bomb?): {_first_line(e)}") from None
    except ValueError as e:
        msg = _first_line(e)
        raise ValueError(msg if str(path) in msg else f"cannot read image {path}: {msg}") from None
    except MemoryError:
        raise ValueError(f"cannot read image {path}: not enough memory to decode it") from None
    except Exception as e:          # UnidentifiedImageError, OSError, SyntaxError, struct.error, ... of a bad file
        raise ValueError(f"cannot read image {path}: {type(e).__name__}: {_first_line(e)}") from None


def to_rgb_uint8(im: Image.Image) -> np.ndarray:
    """A PIL image in any common mode → uint8 RGB ``[H, W, 3]`` (rules in the module doc)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.float64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"a 32-bit integer image with values [{a.min():.0f}, {a.max():.0f}] is not an 8- or "
                             "16-bit image (values outside 0..65535 would be clipped); convert it first")
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


def as_uint8_image(img) -> np.ndarray:
    """``img`` as a uint8 ``[H, W]`` / ``[H, W, 3]`` / ``[H, W, 4]`` array by the rules of the module
    docstring; a one-line ``ValueError`` for anything else."""
    if hasattr(img, "detach") and hasattr(img, "cpu"):          # a torch tensor: [3,H,W] or [1,3,H,W]
        t = img.detach().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() != 3 or t.shape[0] not in (1, 3, 4):
            raise ValueError(f"save_image: a tensor must be [3,H,W] or [1,3,H,W], got {tuple(img.shape)}")
        img = t.permute(1, 2, 0).numpy() if str(t.dtype) != "torch.bfloat16" else t.float().permute(1, 2, 0).numpy()
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"save_image: an image is [H,W], [H,W,1], [H,W,3] or [H,W,4], got shape {a.shape}")
    if min(a.shape[:2]) < 1:
        raise ValueError(f"save_image: the image is empty, shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        return np.floor(a.astype(np.float64) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"save_image: integer pixel values must be 0..255, got [{lo}, {hi}] ({a.dtype}); "
                             "scale them to uint8 first")
        return a.astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        # in blocks of rows (~32 MB of float64 each): a whole-image float64 copy and its temporaries
        # were ~80 B per pixel, many times the float32 image itself
        out = np.empty(a.shape, np.uint8)
        rows = max(1, (1 << 22) // max(1, a[0].size))
        n_bad, lo, hi = 0, math.inf, -math.inf
        for r in range(0, a.shape[0], rows):
            f = a[r:r + rows].astype(np.float64)
            finite = np.isfinite(f)
            if not finite.all():
                n_bad += int((~finite).sum())
                continue
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
            np.clip(f, 0.0, 1.0, out=f)
            f *= 255.0
            f += 0.5
            np.floor(f, out=f)
            out[r:r + rows] = f
        if n_bad:
            raise ValueError(f"save_image: the image holds {n_bad} NaN or inf values")
        if lo < -1e-6 or hi > 1 + 1e-6:
            hint = "; it looks like 0..255: divide by 255 or cast to uint8" if lo >= 0 and hi <= 255 else ""
            raise ValueError(f"save_image: float pixel values must be in [0, 1], got [{lo:g}, {hi:g}]{hint}")
        return out
    raise ValueError(f"save_image: cannot store {a.dtype} pixels (uint8, integers 0..255 or floats in [0, 1])")


def save_image(path, img) -> None:
    """Write ``img`` (``as_uint8_image`` rules) as PNG atomically (tmp + rename); nothing is
    written when it is refused or fails: no file, and no folder it created for it. A target that
    is a folder or not a regular file (a device, a FIFO) is refused before anything is written;
    a failed write (read-only or full disk) is an ``OSError`` naming the image, one line."""
    from sr_lib.paths import check_target_file
    arr = as_uint8_image(img)
    path = check_target_file(path, "image")
    created = []                                # folders made for this image: removed again on failure
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        for folder in reversed([path.parent, *path.parent.parents]):
            if not folder.exists():
                folder.mkdir(exist_ok=True)
                created.append(folder)
        Image.fromarray(arr).save(tmp, format="PNG")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                break
        raise type(e)(f"cannot write image {path}: {e.strerror or _first_line(e)}") from None
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


__all__ = ["load_image", "max_image_pixels", "BYTES_PER_PIXEL", "to_rgb_uint8", "as_uint8_image", "save_image",
           "to_tensor01", "to_numpy01"]

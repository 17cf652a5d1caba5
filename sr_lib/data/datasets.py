"""Image sets as lazily loaded lists of ``(name, HR uint8 [H, W, 3])``.

Layout under a data root (the common "benchmark" convention, ``../shared/data/README.md``):

| dataset name | folder (first that exists) |
|---|---|
| Set5, Set14, B100, Urban100, Manga109 | ``benchmark/<name>/HR``, ``<name>/HR`` |
| DIV2K-val | ``DIV2K/DIV2K_valid_HR``, ``DIV2K_valid_HR``, ``div2k/DIV2K_valid_HR`` |
| DIV2K-train | ``DIV2K/DIV2K_train_HR``, ``DIV2K_train_HR``, ``div2k/DIV2K_train_HR`` |
| T91, BSD200 | ``train/<name>`` |

Reference LR (only Set5's is shipped here): ``benchmark/<name>/LR_bicubic/X{s}/<stem>x{s}.png``
(EDSR naming), DIV2K ``DIV2K_valid_LR_bicubic/X{s}/<stem>x{s}.png``.

With a bundled data root (see ``resolver``) every name serves a small fixed set of
scikit-image images instead, and the dataset's ``name`` says so.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from sr_lib.data.io import load_image, to_rgb_uint8
from sr_lib.data.resolver import BUNDLED_NOTE, DataRoot, resolve_data_root

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
BENCHMARKS = ("Set5", "Set14", "B100", "Urban100", "Manga109")
TRAIN_SETS = ("T91", "BSD200", "DIV2K-train")
ALIASES = {"bsd100": "B100", "bsds100": "B100", "div2k": "DIV2K-val", "div2k-valid": "DIV2K-val",
           "div2k_valid_hr": "DIV2K-val", "div2k_train_hr": "DIV2K-train"}
_DIV2K = {"DIV2K-val": "DIV2K_valid_HR", "DIV2K-train": "DIV2K_train_HR"}
DATASETS = BENCHMARKS + ("DIV2K-val",) + TRAIN_SETS[:2] + ("DIV2K-train",)

# scikit-image stand-ins (all ship inside the package, no download)
BUNDLED_TEST = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
BUNDLED_TRAIN = ("hubble_deep_field", "retina", "camera", "coins", "moon", "brick", "grass",
                 "gravel", "colorwheel")


def canonical_name(name: str) -> str:
    """``'set5'`` → ``'Set5'``, ``'BSD100'`` → ``'B100'``; unknown names raise ``ValueError``."""
    by_lower = {n.lower(): n for n in DATASETS}
    key = str(name).strip().lower()
    if key in by_lower:
        return by_lower[key]
    if key in ALIASES:
        return ALIASES[key]
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")


class ImageSet:
    """A list of images loaded on access: ``len(ds)``, ``ds[i] -> (name, uint8 [H,W,3])``,
    iteration in sorted-name order. ``bundled`` marks scikit-image stand-ins."""

    def __init__(self, name: str, items, bundled: bool = False, folder: Path | None = None):
        self.name, self.items, self.bundled, self.folder = name, list(items), bundled, folder

    @classmethod
    def from_folder(cls, name: str, folder, limit: int | None = None) -> "ImageSet":
        folder = Path(folder)
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no images in {folder}")
        return cls(name, [(p.stem, p) for p in files[:limit]], folder=folder)

    @property
    def names(self) -> list:
        return [n for n, _ in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        name, src = self.items[i]
        return name, (load_image(src) if isinstance(src, Path) else _bundled_image(src))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        where = "scikit-image bundled" if self.bundled else self.folder
        return f"ImageSet({self.name!r}, {len(self)} images, {where})"


def _bundled_image(fn_name: str) -> np.ndarray:
    import skimage.data
    from PIL import Image
    return to_rgb_uint8(Image.fromarray(getattr(skimage.data, fn_name)()))


def _candidates(root: Path, name: str) -> list:
    if name in BENCHMARKS:
        return [root / "benchmark" / name / "HR", root / name / "HR"]
    if name in _DIV2K:
        sub = _DIV2K[name]
        return [root / "DIV2K" / sub, root / sub, root / "div2k" / sub]
    return [root / "train" / name, root / name]


def _as_root(data_root) -> DataRoot:
    return data_root if isinstance(data_root, DataRoot) else resolve_data_root(data_root)


def load_dataset(name: str, data_root=None, limit: int | None = None) -> ImageSet:
    """The HR images of ``name`` (see the table above) under the resolved data root.

    ``limit`` keeps the first n images (sorted by name). Missing sets raise
    ``FileNotFoundError`` naming the folders tried (DIV2K / Manga109 are not shipped here:
    ``python -m sr_lib data list`` says where to get them).
    """
    name = canonical_name(name)
    root = _as_root(data_root)
    if root.bundled:
        warnings.warn(BUNDLED_NOTE, stacklevel=2)
        pool = BUNDLED_TRAIN if name in TRAIN_SETS else BUNDLED_TEST
        return ImageSet(f"{name} (bundled stand-in)", [(n, n) for n in pool[:limit]], bundled=True)
    tried = _candidates(root.path, name)
    for folder in tried:
        if folder.is_dir():
            return ImageSet.from_folder(name, folder, limit)
    raise FileNotFoundError(f"dataset {name} not found under {root.path} (looked in "
                            f"{', '.join(str(t.relative_to(root.path)) for t in tried)})")


def reference_lr_folder(name: str, scale, data_root=None) -> Path | None:
    """Folder of stored MATLAB-bicubic LR for ``name`` at integer ``scale``, or None."""
    name = canonical_name(name)
    root = _as_root(data_root)
    if root.bundled or float(scale) != int(scale):
        return None
    s = int(scale)
    if name in _DIV2K:
        split = "valid" if name == "DIV2K-val" else "train"
        tried = [root.path / d / f"DIV2K_{split}_LR_bicubic" / f"X{s}" for d in ("DIV2K", ".", "div2k")]
    else:
        tried = [root.path / "benchmark" / name / "LR_bicubic" / f"X{s}", root.path / name / "LR_bicubic" / f"X{s}"]
    return next((t for t in tried if t.is_dir()), None)


def load_reference_lr(name: str, scale, data_root=None) -> ImageSet | None:
    """Stored LR images paired by HR stem (``babyx2.png`` → ``baby``), or None if absent."""
    folder = reference_lr_folder(name, scale, data_root)
    if folder is None:
        return None
    suffix = f"x{int(scale)}"
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    items = [(p.stem[: -len(suffix)] if p.stem.endswith(suffix) else p.stem, p) for p in files]
    return ImageSet(f"{canonical_name(name)} LR x{int(scale)}", items, folder=folder)


def available_datasets(data_root=None) -> list:
    """Names whose folders exist under the data root (all names when bundled)."""
    root = _as_root(data_root)
    if root.bundled:
        return list(DATASETS)
    return [n for n in DATASETS if any(c.is_dir() for c in _candidates(root.path, n))]


def load_training_images(data_root=None, names=None) -> list:
    """Training sets in the official order of preference: DIV2K-train when present, else
    T91 + BSD200 (``../shared/data/train``), else the bundled images. Returns ImageSets."""
    root = _as_root(data_root)
    if names is None and root.bundled:
        names = ["T91"]                                   # one stand-in set, not two copies
    elif names is None:
        avail = set(available_datasets(root))
        names = ["DIV2K-train"] if "DIV2K-train" in avail else \
            [n for n in ("T91", "BSD200") if n in avail]
        if not names:
            raise FileNotFoundError(f"no training images under {root.path} (looked for "
                                    "DIV2K_train_HR, train/T91, train/BSD200)")
    return [load_dataset(n, root) for n in names]


__all__ = ["ImageSet", "load_dataset", "load_reference_lr", "reference_lr_folder",
           "available_datasets", "load_training_images", "canonical_name", "BENCHMARKS",
           "TRAIN_SETS", "DATASETS", "IMAGE_SUFFIXES"]

"""Training pairs exactly as the official code makes them.

LIIF / LTE / MetaSR / CiaoSR (``reference-implementations.md`` §1.2, §5.3), per sample:

1. s ~ U(scale_min, scale_max) (or uniform over a discrete set, CiaoSR Table 5);
2. an HR crop of round(lr_size·s) pixels at a uniformly random position of the uint8 image;
3. LR = PIL bicubic of that crop to lr_size×lr_size on uint8 (the uint8 round trip is part of it);
4. three independent coin flips (flip rows, flip columns, transpose) applied to LR and HR alike;
5. ``n_queries`` HR pixels drawn **without replacement**: coord (y, x) pixel centres, the RGB there,
   and cell = (2/h_hr, 2/w_hr).

EQSR's mixed-scale variant (§6.3, ``layout="grid"``): steps 1–4, then a random contiguous
lr_size×lr_size window of the HR patch with the matching window of its coordinate grid and a
(2, h, w) cell map, so every sample has the same shape whatever its scale.

Reproducibility: every random choice of a sample comes from a generator seeded with
``(seed, step, index-in-global-batch)``; which image a sample uses comes from a per-epoch
permutation seeded with ``(seed, epoch)``. A batch is therefore a pure function of
``(seed, step)``: resuming needs no iterator state, and data-parallel ranks each build their
own slice of the same global batch.
"""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import torch

from sr_lib.geometry import make_coord

_STREAM_PERM, _STREAM_SAMPLE, _STREAM_BATCH = 0, 1, 2


@dataclass(frozen=True)
class PairSpec:
    """What one training pair looks like (the data half of a ``TrainConfig``)."""

    lr_size: int = 48                 # LR patch side (``inp_size``)
    scale_min: float = 1.0
    scale_max: float = 4.0
    scales: tuple = ()                # non-empty: s uniform over this discrete set instead
    n_queries: int = 2304             # ``sample_q`` (flat layout only)
    augment: bool = True
    layout: str = "flat"              # "flat" (LIIF family) | "grid" (EQSR mixed-scale windows)
    scale_per: str = "sample"         # "batch": one s shared by the whole batch

    @property
    def max_hr_size(self) -> int:
        top = max(self.scales) if self.scales else self.scale_max
        return int(round(self.lr_size * top))


# ---------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------

class TrainImages:
    """uint8 RGB images ``[H,W,3]`` held in memory (the official ``cache: in_memory``)."""

    def __init__(self, images: list, names: list, source: str):
        if not images:
            raise ValueError(f"no training images in {source}")
        self.images, self.names, self.source = images, names, source

    def __len__(self) -> int:
        return len(self.images)

    @cached_property
    def identity(self) -> str:
        """Short hash of the image names, sizes and a pixel digest: the run-cache key's data part."""
        h = hashlib.sha256()
        for name, img in zip(self.names, self.images):
            h.update(f"{name}:{img.shape}".encode())
            h.update(hashlib.sha256(np.ascontiguousarray(img[::7, ::7])).digest())
        return h.hexdigest()[:12]

    def keep_at_least(self, side: int) -> "TrainImages":
        """Images whose both sides are ≥ ``side`` (the largest HR crop); says what it dropped."""
        keep = [i for i, im in enumerate(self.images) if min(im.shape[:2]) >= side]
        if not keep:
            raise ValueError(f"no training image in {self.source} is at least {side}×{side} pixels, "
                             f"the HR crop the largest training scale needs")
        if len(keep) < len(self.images):
            warnings.warn(f"training data: skipped {len(self.images) - len(keep)} of {len(self.images)} "
                          f"images smaller than the {side}×{side} HR crop", stacklevel=2)
        return TrainImages([self.images[i] for i in keep], [self.names[i] for i in keep], self.source)


def load_training_images(data_root=None) -> TrainImages:
    """The training set in memory: DIV2K-train → T91 + BSD200 → scikit-image's bundled images
    (``sr_lib.data.datasets.load_training_images`` decides; ``data_root`` as the resolver takes it)."""
    from sr_lib.data.datasets import load_training_images as training_sets
    images, names, sources = [], [], []
    for ds in training_sets(data_root):
        sources.append(repr(ds))
        for name, img in ds:
            images.append(img)
            names.append(f"{ds.name}/{name}")
    return TrainImages(images, names, " + ".join(sources))


# ---------------------------------------------------------------------------------------------
# one pair
# ---------------------------------------------------------------------------------------------

def _augment(arr: np.ndarray, flips) -> np.ndarray:
    """``arr [H,W,C]``: flip rows (dim -2 of CHW), flip columns (dim -1), transpose H↔W."""
    vflip, hflip, transpose = flips
    if vflip:
        arr = arr[::-1]
    if hflip:
        arr = arr[:, ::-1]
    if transpose:
        arr = arr.transpose(1, 0, 2)
    return np.ascontiguousarray(arr)


def _to_chw(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(arr).permute(2, 0, 1).float().div_(255)    # [3,H,W] in [0,1]


def make_pair(img: np.ndarray, spec: PairSpec, rng: np.random.Generator, scale: float | None = None) -> dict:
    """One training sample from the uint8 image ``img [H,W,3]``.

    Returns ``lr [3,l,l]`` in [0,1], ``scale`` (hr_size / lr_size) and, for ``layout="flat"``,
    ``coord [Q,2]``, ``cell [Q,2]``, ``gt [Q,3]`` in [0,1]; for ``"grid"``, ``coord [l,l,2]``,
    ``cell [2,l,l]``, ``gt [3,l,l]``.
    """
    from sr_lib.data.resize import pil_bicubic

    if scale is None:
        scale = draw_scale(spec, rng)
    l = spec.lr_size
    hr_side = int(round(l * scale))
    H, W = img.shape[:2]
    if H < hr_side or W < hr_side:
        raise ValueError(f"image {H}×{W} is smaller than the {hr_side}×{hr_side} HR crop for ×{scale:.3f}")
    y0 = int(rng.integers(0, H - hr_side + 1))
    x0 = int(rng.integers(0, W - hr_side + 1))
    hr = img[y0:y0 + hr_side, x0:x0 + hr_side]                              # [h,h,3] uint8
    lr = np.asarray(pil_bicubic(hr, (l, l)))                                  # [l,l,3] uint8
    if spec.augment:
        flips = rng.random(3) < 0.5
        hr, lr = _augment(hr, flips), _augment(lr, flips)
    hr_t = _to_chw(hr)                                                        # [3,h,h]
    out = {"lr": _to_chw(lr), "scale": hr_side / l}
    if spec.layout == "flat":
        coord = make_coord(hr_t.shape[-2:])                                   # [h*h,2]
        pix = hr_t.reshape(3, -1).t()                                         # [h*h,3]
        idx = torch.from_numpy(rng.choice(coord.shape[0], spec.n_queries, replace=False))
        out["coord"], out["gt"] = coord[idx], pix[idx]
        cell = torch.tensor([2.0 / hr_t.shape[-2], 2.0 / hr_t.shape[-1]])
        out["cell"] = cell.expand(spec.n_queries, 2).clone()                  # [Q,2]
    elif spec.layout == "grid":
        wy = int(rng.integers(0, hr_t.shape[-2] - l + 1))
        wx = int(rng.integers(0, hr_t.shape[-1] - l + 1))
        coord = make_coord(hr_t.shape[-2:], flatten=False)                    # [h,h,2]
        out["coord"] = coord[wy:wy + l, wx:wx + l].clone()                   # [l,l,2]
        out["gt"] = hr_t[:, wy:wy + l, wx:wx + l].clone()                    # [3,l,l]
        cell = torch.tensor([2.0 / hr_t.shape[-2], 2.0 / hr_t.shape[-1]])
        out["cell"] = cell.view(2, 1, 1).expand(2, l, l).clone()             # [2,l,l]
    else:
        raise ValueError(f"unknown pair layout {spec.layout!r}; use 'flat' or 'grid'")
    return out


def draw_scale(spec: PairSpec, rng: np.random.Generator) -> float:
    """s ~ U(scale_min, scale_max), or uniform over ``spec.scales`` when given."""
    if spec.scales:
        return float(spec.scales[int(rng.integers(len(spec.scales)))])
    return float(rng.uniform(spec.scale_min, spec.scale_max))


# ---------------------------------------------------------------------------------------------
# a batch as a function of (seed, step)
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, _STREAM_PERM, epoch]).permutation(n)


def image_index(seed: int, sample: int, n_images: int) -> int:
    """Image of global sample number ``sample``: epochs of ``n_images`` samples, each a fresh permutation."""
    epoch, pos = divmod(sample, n_images)
    return int(_epoch_order(seed, epoch, n_images)[pos])


def sample_batch(images: TrainImages, spec: PairSpec, batch_size: int, seed: int, step: int,
                 rank: int = 0, world: int = 1) -> dict:
    """Rank ``rank``'s share of the global batch of ``step`` (``batch_size`` is global).

    Sample i of the global batch is built from ``default_rng([seed, 1, step, i])`` and image
    ``image_index(seed, step·batch_size + i)``, so any sharding sees the same global batch.
    """
    if batch_size % world:
        raise ValueError(f"global batch {batch_size} is not divisible by {world} processes")
    per = batch_size // world
    shared_s = None
    if spec.scale_per == "batch":
        shared_s = draw_scale(spec, np.random.default_rng([seed, _STREAM_BATCH, step]))
    samples = []
    for i in range(rank * per, (rank + 1) * per):
        rng = np.random.default_rng([seed, _STREAM_SAMPLE, step, i])
        img = images.images[image_index(seed, step * batch_size + i, len(images))]
        samples.append(make_pair(img, spec, rng, scale=shared_s))
    batch = {k: torch.stack([s[k] for s in samples]) for k in ("lr", "coord", "cell", "gt")}
    batch["scale"] = torch.tensor([s["scale"] for s in samples])             # [b]
    return batch


__all__ = ["PairSpec", "TrainImages", "load_training_images", "make_pair",
           "draw_scale", "image_index", "sample_batch"]

"""A tiny on-disk training set for the engine tests (three 72×72 PNGs under ``train/T91``)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def write_tiny_root(root, n: int = 3, size: int = 72):
    folder = root / "train" / "T91"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        smooth = 0.5 + 0.4 * np.sin(2 * np.pi * ((i + 1) * yy + (2 - i) * xx))[..., None] * np.array([1, 0.7, 0.4])
        img = np.clip(smooth + 0.05 * rng.standard_normal((size, size, 3)), 0, 1)
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"img{i}.png")
    return root


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    return write_tiny_root(tmp_path_factory.mktemp("data"))


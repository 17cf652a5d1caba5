"""Determinism on CPU: the same seed gives identical weights and identical evaluation numbers twice."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lib.data.datasets import ImageSet
from sr_lib.engine.evaluate import evaluate
from sr_lib.engine.train import train
from sr_lib.engine.inference import super_resolve


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Three 64×64 textured PNGs as ``train/T91`` (the training set the resolver looks for)."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "train" / "T91"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return root


def train_twice(method, backbone, data_root, tmp_path, seed=0):
    return [train(method, backbone, profile="smoke", seed=seed, data_root=data_root, out=tmp_path / f"runs{k}",
                  device="cpu", progress=False) for k in (0, 1)]


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


class TestSameSeedSameNumbers:
    @pytest.mark.parametrize("method,backbone", [("liif", "edsr-baseline"), ("eqsr", "eqnet")])
    def test_training_twice_into_different_roots_gives_identical_weights(self, data_root, tmp_path,
                                                                         method, backbone):
        a, b = train_twice(method, backbone, data_root, tmp_path)
        assert a.train_info["run_dir"] != b.train_info["run_dir"]     # really trained twice, not cached
        assert a.train_info["loss"] == b.train_info["loss"]
        assert_same_weights(a, b)

    def test_another_seed_gives_other_weights(self, data_root, tmp_path):
        a = train("liif", "edsr-baseline", profile="smoke", seed=0, data_root=data_root, out=tmp_path / "s0",
                  device="cpu", progress=False)
        b = train("liif", "edsr-baseline", profile="smoke", seed=1, data_root=data_root, out=tmp_path / "s1",
                  device="cpu", progress=False)
        assert not torch.equal(a.state_dict()["imnet.layers.0.weight"], b.state_dict()["imnet.layers.0.weight"])

    def test_evaluation_twice_gives_identical_numbers(self, data_root, tmp_path):
        model = train("ciaosr", "edsr-baseline", profile="smoke", seed=0, data_root=data_root,
                      out=tmp_path / "runs", device="cpu", progress=False)
        images = ImageSet.from_folder("tiny", data_root / "train" / "T91")
        first, second = (evaluate(model, images, 3, "ciaosr") for _ in range(2))
        assert first["per_image"] == second["per_image"]
        assert np.isfinite(first["psnr"]) and first["n_images"] == 3
        lr = torch.rand(1, 3, 17, 23)
        assert torch.equal(super_resolve(model, lr, out_size=(51, 69)), super_resolve(model, lr, out_size=(51, 69)))

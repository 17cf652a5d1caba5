"""MATLAB-compatible bicubic, PIL bicubic and the official size rules."""
import numpy as np
import pytest
import torch
from bicubic_pytorch.core import imresize as package_imresize

from sr_lib.data.io import load_image
from sr_lib.data.resize import (hr_size_for, imresize_matlab, lr_size_for, matlab_lr, mod_crop,
                                pil_bicubic, pil_lr)

SET5 = ["baby", "bird", "butterfly", "head", "woman"]


class TestStoredSet5LR:
    """The shipped MATLAB LR of Set5 is regenerated bit-exactly from the HR."""

    @pytest.mark.parametrize("scale", [2, 3, 4])
    def test_per_pass_uint8_rounding_is_bit_exact(self, shared_data, scale):
        for name in SET5:
            hr = load_image(shared_data / f"benchmark/Set5/HR/{name}.png")
            ref = load_image(shared_data / f"benchmark/Set5/LR_bicubic/X{scale}/{name}x{scale}.png")
            lr, hr_c = matlab_lr(hr, scale, rounding="per_pass")
            assert hr_c.shape[:2] == (ref.shape[0] * scale, ref.shape[1] * scale)
            assert np.array_equal(lr, ref), f"{name} x{scale}: {(lr != ref).sum()} values differ"

    def test_x8_matches_with_float_intermediates(self, shared_data):
        for name in SET5:
            hr = load_image(shared_data / f"benchmark/Set5/HR/{name}.png")
            ref = load_image(shared_data / f"benchmark/Set5/LR_bicubic/X8/{name}x8.png")
            assert np.array_equal(matlab_lr(hr, 8, rounding="final")[0], ref)

    def test_round_half_to_even_would_not_match(self, shared_data):
        # the tie rule matters: torch.round (half to even) per pass breaks bit-exactness
        hr = load_image(shared_data / "benchmark/Set5/HR/butterfly.png")
        ref = load_image(shared_data / "benchmark/Set5/LR_bicubic/X2/butterflyx2.png")
        x = imresize_matlab(hr.astype(np.float64), scale=0.5, rounding="none")
        assert not np.array_equal(np.clip(np.round(x), 0, 255).astype(np.uint8), ref)


class TestImresizeMatlab:
    @pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.27, 2.0, 3.3, 1.55])
    def test_agrees_with_bicubic_pytorch(self, scale):
        x = torch.rand(1, 3, 37, 53, dtype=torch.float64)
        ours = imresize_matlab(x, scale=scale)
        ref = package_imresize(x, scale=scale).double()          # the package works in float32
        assert ours.shape == ref.shape
        assert torch.allclose(ours, ref, atol=1e-5)

    def test_constant_image_stays_constant(self):
        x = np.full((20, 30, 3), 77, np.uint8)
        for kw in ({"scale": 0.37}, {"scale": 2.6}, {"size": (7, 41)}):
            out = imresize_matlab(x, **kw)
            assert out.dtype == np.uint8 and (out == 77).all()

    def test_output_size_follows_matlab_ceil(self):
        assert imresize_matlab(np.zeros((255, 100), np.uint8), scale=1 / 3).shape == (85, 34)
        assert imresize_matlab(np.zeros((10, 10, 3)), scale=1.55).shape == (16, 16, 3)

    def test_tiny_input_reflects_repeatedly(self):
        x = torch.tensor([[[[0.0, 10.0], [20.0, 30.0]]]], dtype=torch.float64)
        out = imresize_matlab(x, scale=0.5)                      # one pixel: a symmetric average
        assert out.shape == (1, 1, 1, 1) and torch.allclose(out, torch.tensor(15.0, dtype=torch.float64))

    def test_bad_rounding_is_rejected(self):
        with pytest.raises(ValueError, match="rounding"):
            imresize_matlab(np.zeros((4, 4), np.uint8), scale=0.5, rounding="banker")


class TestPilBicubic:
    def test_size_is_height_width(self):
        out = pil_bicubic(np.zeros((40, 60, 3), np.uint8), (10, 25))
        assert out.shape == (10, 25, 3) and out.dtype == np.uint8

    def test_constant_image_stays_constant(self):
        assert (pil_bicubic(np.full((33, 47, 3), 200, np.uint8), (9, 13)) == 200).all()

    def test_rejects_float_input(self):
        with pytest.raises(ValueError, match="uint8"):
            pil_bicubic(np.zeros((4, 4, 3)), (2, 2))


class TestSizeRules:
    def test_lr_size_is_floor_with_epsilon(self):
        assert lr_size_for((321, 481), 2) == (160, 240)
        assert lr_size_for((300, 300), 3) == (100, 100)
        assert lr_size_for((100, 100), 1 / 0.3) == (30, 30)       # 100·0.3 = 29.999… → 30 by the 1e-9
        assert lr_size_for((256, 256), 5.75) == (44, 44)

    def test_hr_crop_is_rounded_lr_times_scale(self):
        assert hr_size_for((44, 44), 5.75) == (253, 253)
        assert hr_size_for((160, 240), 2) == (320, 480)

    def test_pil_lr_crops_hr_to_match(self):
        hr = np.zeros((321, 481, 3), np.uint8)
        lr, hr_c = pil_lr(hr, 2.25)
        assert lr.shape[:2] == (142, 213) and hr_c.shape[:2] == (round(142 * 2.25), round(213 * 2.25))

    def test_mod_crop(self):
        assert mod_crop(np.zeros((511, 250, 3)), 12).shape == (504, 240, 3)

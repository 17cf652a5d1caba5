"""PSNR/SSIM against closed forms and an independent implementation of the SSIM formula."""
import numpy as np
import pytest
from scipy.signal import convolve2d

from sr_lib.metrics.psnr_ssim import psnr, quantize_255, rgb_to_y, ssim


def ssim_valid_reference(a, b):
    """Independent SSIM: 11×11 Gaussian (σ 1.5) by scipy 'valid' convolution, Wang et al. (2004)
    Eq. 13 with C1 = (0.01·255)², C2 = (0.03·255)², population statistics, mean of the map."""
    g = np.exp(-(np.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2))
    w = np.outer(g, g) / np.outer(g, g).sum()

    def f(x):
        return convolve2d(x, w, mode="valid")
    mu_a, mu_b = f(a), f(b)
    var_a, var_b, cov = f(a * a) - mu_a ** 2, f(b * b) - mu_b ** 2, f(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    m = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return m.mean()


class TestRgbToY:
    def test_black_white_and_primaries(self):
        img = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]], float)
        y = rgb_to_y(img)[0]
        assert y[0] == pytest.approx(16.0) and y[1] == pytest.approx(235.0)
        assert y[2:] == pytest.approx([16 + 65.481, 16 + 128.553, 16 + 24.966])

    def test_liif_coefficients_agree_to_six_decimals(self):
        # LIIF: [65.738, 129.057, 25.064] / 256 on a [0,1] difference
        assert np.allclose(np.array([65.481, 128.553, 24.966]) / 255,
                           np.array([65.738, 129.057, 25.064]) / 256, atol=1e-5)

    def test_rejects_non_rgb(self):
        with pytest.raises(ValueError, match="RGB"):
            rgb_to_y(np.zeros((4, 4)))


class TestPsnr:
    def test_known_mse_gives_closed_form(self):
        hr = np.full((8, 8, 3), 100.0)
        sr = hr + 1.0                                       # MSE 1 on every channel
        assert psnr(sr, hr, y_channel=False) == pytest.approx(10 * np.log10(255 ** 2))
        # on Y a +1 shift of R,G,B is a (65.481+128.553+24.966)/255 shift of Y
        dy = (65.481 + 128.553 + 24.966) / 255
        assert psnr(sr, hr) == pytest.approx(10 * np.log10(255 ** 2 / dy ** 2))

    def test_shave_ignores_the_border(self):
        hr = np.zeros((10, 10, 3))
        sr = hr.copy()
        sr[:2] = 255.0
        assert psnr(sr, hr, shave=2) == float("inf")
        assert np.isfinite(psnr(sr, hr, shave=1))

    def test_shape_mismatch_and_excessive_shave_are_errors(self):
        with pytest.raises(ValueError, match="shape"):
            psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
        with pytest.raises(ValueError, match="shave"):
            psnr(np.zeros((4, 4, 3)), np.ones((4, 4, 3)), shave=2)

    def test_quantize_rounds_like_tensor2img(self):
        assert quantize_255(np.array([0.0, 0.5 / 255, 1.5 / 255, 1.2, -0.1])).tolist() == [0, 0, 2, 255, 0]


class TestSsim:
    def test_identical_images_give_one(self):
        x = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
        assert ssim(x, x) == pytest.approx(1.0)

    @pytest.mark.parametrize("seed", [0, 1])
    def test_equals_independent_valid_gaussian_ssim(self, seed):
        rng = np.random.default_rng(seed)
        hr = rng.uniform(0, 255, (40, 37, 3))
        sr = np.clip(hr + rng.normal(0, 20, hr.shape), 0, 255)
        ref = ssim_valid_reference(rgb_to_y(sr)[3:-3, 3:-3], rgb_to_y(hr)[3:-3, 3:-3])
        assert ssim(sr, hr, shave=3) == pytest.approx(ref, abs=1e-10)

    def test_rgb_ssim_is_the_channel_mean(self):
        rng = np.random.default_rng(2)
        hr = rng.uniform(0, 255, (30, 30, 3))
        sr = np.clip(hr + rng.normal(0, 10, hr.shape), 0, 255)
        ref = np.mean([ssim_valid_reference(sr[..., c], hr[..., c]) for c in range(3)])
        assert ssim(sr, hr, y_channel=False) == pytest.approx(ref, abs=1e-10)

    def test_too_small_after_shave_is_an_error(self):
        with pytest.raises(ValueError, match="11x11"):
            ssim(np.zeros((14, 14, 3)), np.zeros((14, 14, 3)), shave=2)

"""Real-world degradation pipeline (sr_lib.data.realworld): each stage on known images, determinism."""
import math

import numpy as np
import pytest

from sr_lib.data import realworld as rw


def _smooth_image(h=48, w=40):
    """A smooth colour ramp: its JPEG and resampling errors are small."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, 0.5 + 0.25 * np.sin(x / 7.0) * np.cos(y / 9.0)], -1).astype(np.float32)


def _random_image(h=40, w=36, seed=0):
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


class TestGaussianKernel:
    def test_sums_to_one_and_is_symmetric_when_isotropic(self):
        k = rw.gaussian_kernel(9, 1.5)
        assert k.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(k, k.T, atol=1e-15)
        np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)

    def test_isotropic_kernel_matches_the_separable_closed_form(self):
        r = np.arange(7) - 3
        g = np.exp(-r ** 2 / (2 * 1.2 ** 2))
        expected = np.outer(g, g) / np.outer(g, g).sum()
        np.testing.assert_allclose(rw.gaussian_kernel(7, 1.2), expected, atol=1e-14)

    def test_anisotropic_kernel_rotated_by_90_degrees_is_the_transpose(self):
        k0 = rw.gaussian_kernel(11, 3.0, 0.8, 0.0)
        k90 = rw.gaussian_kernel(11, 3.0, 0.8, math.pi / 2)
        np.testing.assert_allclose(k90, k0.T, atol=1e-12)
        assert k0[5, :].sum() > k0[:, 5].sum()      # sigma_x > sigma_y: wider along columns (x)

    def test_even_size_is_rejected(self):
        with pytest.raises(ValueError, match="odd"):
            rw.gaussian_kernel(4, 1.0)


class TestStages:
    def test_blur_with_a_delta_kernel_is_identity(self):
        img = _random_image()
        delta = np.zeros((5, 5))
        delta[2, 2] = 1.0
        np.testing.assert_allclose(rw.blur(img, delta), img, atol=1e-7)

    def test_blur_keeps_a_constant_image_and_lowers_variance(self):
        const = np.full((20, 20, 3), 0.3, np.float32)
        np.testing.assert_allclose(rw.blur(const, rw.gaussian_kernel(7, 2.0)), const, atol=1e-6)
        img = _random_image()
        assert rw.blur(img, rw.gaussian_kernel(7, 2.0)).std() < 0.5 * img.std()

    def test_jpeg_quality_100_is_nearly_identity_and_low_quality_is_not(self):
        img = _smooth_image()
        err100 = np.abs(rw.jpeg(img, 100) - img).mean()
        err10 = np.abs(rw.jpeg(img, 10) - img).mean()
        assert err100 < 2.0 / 255
        assert err10 > 2 * err100

    def test_resize_gives_the_requested_size_and_keeps_constants(self):
        const = np.full((30, 24, 3), 0.6, np.float32)
        for mode in rw.RESIZE_MODES:
            out = rw.resize(const, (10, 8), mode)
            assert out.shape == (10, 8, 3)
            np.testing.assert_allclose(out, 0.6, atol=1e-6)

    def test_area_downscale_by_two_is_the_2x2_block_mean(self):
        img = _random_image(8, 8)
        expected = img.reshape(4, 2, 4, 2, 3).mean((1, 3))
        np.testing.assert_allclose(rw.resize(img, (4, 4), "area"), expected, atol=1e-6)

    def test_gaussian_noise_has_the_requested_std_and_gray_noise_is_shared(self):
        img = np.full((200, 200, 3), 0.5, np.float32)
        out = rw.add_gaussian_noise(img, 10.0, gray=False, seed=1)
        assert (out - img).std() == pytest.approx(10 / 255, rel=0.05)
        gray = rw.add_gaussian_noise(img, 10.0, gray=True, seed=1)
        np.testing.assert_array_equal(gray[..., 0], gray[..., 1])

    def test_poisson_noise_variance_follows_intensity(self):
        dark = np.full((200, 200, 3), 0.1, np.float32)
        bright = np.full((200, 200, 3), 0.8, np.float32)
        d = rw.add_poisson_noise(dark, 1.0, gray=False, seed=2) - dark
        b = rw.add_poisson_noise(bright, 1.0, gray=False, seed=2) - bright
        # Poisson(255 x)/255: variance x/255
        assert d.var() == pytest.approx(0.1 / 255, rel=0.1)
        assert b.var() == pytest.approx(0.8 / 255, rel=0.1)


class TestPipeline:
    def test_same_seed_same_output_other_seed_other_output(self):
        hr = (_random_image(64, 48, seed=3) * 255).astype(np.uint8)
        a, b = rw.degrade(hr, 4, seed=7), rw.degrade(hr, 4, seed=7)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, rw.degrade(hr, 4, seed=8))
        assert rw.sample_degradation(7) == rw.sample_degradation(7)

    def test_output_is_uint8_of_the_lr_size(self):
        hr = (_random_image(50, 38, seed=4) * 255).astype(np.uint8)
        lr = rw.degrade(hr, 3.5, seed=0)
        assert lr.dtype == np.uint8 and lr.shape == (round(50 / 3.5), round(38 / 3.5), 3)

    def test_second_order_pipeline_has_two_rounds_and_a_final_resize(self):
        kinds = [s.kind for s in rw.sample_degradation(0)]
        assert kinds.count("jpeg") == 3                       # order 1, order 2, final
        assert kinds[-2:] == ["resize", "jpeg"]
        assert sum(k.endswith("noise") for k in kinds) == 2
        cfg = rw.DegradationConfig(second_order_prob=0.0)
        assert [s.kind for s in rw.sample_degradation(0, cfg)].count("jpeg") == 2

    def test_an_explicit_stage_list_runs_exactly_those_stages(self):
        img = _smooth_image(32, 32)
        stages = [rw.Stage("resize", {"factor": None, "mode": "area"})]
        out = rw.apply_degradation(img, stages, (16, 16))
        expected = np.round(img.reshape(16, 2, 16, 2, 3).mean((1, 3)) * 255)
        assert np.abs(out.astype(float) - expected).max() <= 1

    def test_bad_inputs_are_rejected(self):
        with pytest.raises(ValueError, match="RGB"):
            rw.degrade(np.zeros((8, 8), np.uint8), 2, seed=0)
        with pytest.raises(ValueError, match="scale"):
            rw.degrade(np.zeros((8, 8, 3), np.uint8), 0.5, seed=0)
        with pytest.raises(ValueError, match="stage"):
            rw.apply_stage(np.zeros((8, 8, 3), np.float32), rw.Stage("sharpen"))

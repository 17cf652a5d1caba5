"""sr_lib.viz.widgets: crops cut where asked, PSNR/error maps match their closed forms, the
explorer's widgets construct headless and its callback redraws on a tiny model."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sr_lib
from sr_lib.data.resize import matlab_lr
from sr_lib.metrics.psnr_ssim import psnr
from sr_lib.models.layers.ipe import liif_radius, sinc
from sr_lib.viz.widgets import (Explorer, check_box, compare_crops, crop_table, default_box, error_map, figure_crops,
                            figure_error_maps, figure_ipe, figure_kriging, kriging_at, lr_nearest, lr_pair)


def _nearest(lr, out_size, scale=None):
    """Nearest-neighbour upscaler: the identity at scale 1."""
    return F.interpolate(lr, size=tuple(out_size), mode="nearest")


@pytest.fixture(scope="module")
def astronaut():
    import skimage.data
    return np.ascontiguousarray(skimage.data.astronaut()[100:164, 180:244])      # uint8 [64,64,3]


@pytest.fixture(scope="module")
def tiny_liif():
    torch.manual_seed(0)
    return sr_lib.make("liif", backbone="edsr-baseline", n_resblocks=1, n_feats=8, hidden=[8]).eval()


@pytest.fixture(scope="module")
def tiny_eqsr():
    torch.manual_seed(0)
    return sr_lib.make("eqsr", groups=1, blocks=1, embed_dim=8, num_heads=2, window_size=4, latent_dim=8).eval()


class TestErrorMap:
    def test_constant_grey_offset_gives_luma_gain_times_offset(self):
        hr = np.full((4, 5, 3), 100.0)
        err = error_map(hr + 10.0, hr)
        assert err.shape == (4, 5)
        np.testing.assert_allclose(err, 10.0 * (65.481 + 128.553 + 24.966) / 255.0, rtol=1e-12)

    def test_red_only_offset_uses_red_coefficient(self):
        hr = np.zeros((3, 3, 3))
        sr = hr.copy()
        sr[..., 0] = 51.0
        np.testing.assert_allclose(error_map(sr, hr), 51.0 * 65.481 / 255.0, rtol=1e-12)

    def test_psnr_is_ten_log_of_peak_over_mean_squared_error_map(self, astronaut):
        noise = np.random.default_rng(0).normal(0, 5, astronaut.shape)
        sr = np.clip(astronaut.astype(float) + noise, 0, 255).round()
        mse = (error_map(sr, astronaut) ** 2).mean()
        assert psnr(sr, astronaut) == pytest.approx(10 * math.log10(255.0 ** 2 / mse), rel=1e-12)


class TestBoxes:
    def test_default_box_is_centred_and_clipped(self):
        assert default_box((100, 80), 20) == (40, 30, 20, 20)
        assert default_box((100, 80), 20, center=(1.0, 0.0)) == (80, 0, 20, 20)
        assert default_box((10, 12), 48) == (0, 0, 10, 12)

    def test_box_outside_the_image_is_a_one_line_error(self):
        with pytest.raises(ValueError, match="does not fit"):
            check_box((50, 0, 20, 20), (64, 64))

    def test_lr_nearest_maps_hr_pixel_centres_to_their_lr_pixel(self):
        lr = np.arange(16, dtype=np.uint8).reshape(4, 4, 1).repeat(3, axis=2)
        out = lr_nearest(lr, (0, 0, 8, 8), 2.0)
        np.testing.assert_array_equal(out[..., 0], np.kron(lr[..., 0], np.ones((2, 2), dtype=np.uint8)))


class TestCompareCrops:
    def test_identity_at_scale_one_is_exact_and_crops_the_requested_box(self, astronaut):
        box = (5, 7, 20, 30)
        res = compare_crops({"bicubic": "bicubic", "nearest": _nearest}, astronaut, 1.0, box)
        assert res["box"] == box
        np.testing.assert_array_equal(res["hr"], astronaut[5:25, 7:37])
        for name in ("bicubic", "nearest"):
            assert res["sr"][name].shape == (20, 30, 3)
            np.testing.assert_array_equal(res["sr"][name], astronaut[5:25, 7:37])
            assert math.isinf(res["psnr"][name]) and math.isinf(res["psnr_image"][name])
            assert res["error"][name].max() == 0.0

    def test_lr_is_matlab_at_integer_scales_and_pil_elsewhere(self, astronaut):
        from sr_lib.data.resize import pil_lr
        for s, make in ((3.0, matlab_lr), (2.5, pil_lr), (3.3, pil_lr)):
            lr, hr_c = lr_pair(astronaut[:128, :128], s)
            want_lr, want_hr = make(astronaut[:128, :128], s)
            np.testing.assert_array_equal(lr, want_lr)
            np.testing.assert_array_equal(hr_c, want_hr)

    def test_lr_sits_on_the_grid_the_decoders_assume(self):
        # closed form: a horizontal ramp HR cropped to W = round(w·s) columns; LR column j covers HR
        # [j·W/w, (j+1)·W/w), so it is the ramp at x = (j + 0.5)·W/w − 0.5: the error against that
        # has no trend along j. MATLAB's resize maps by s instead and drifts by (s − W/w) per column.
        s, n, slope = 3.3, 128, 1.5
        ramp = np.tile((np.arange(n, dtype=np.float64) * slope + 20.0)[None, :, None], (n, 1, 3)).astype(np.uint8)
        lr, hr_c = lr_pair(ramp, s)
        w, W = lr.shape[1], hr_c.shape[1]
        drift = (s - W / w) * slope                                  # grey levels per LR column (0.016 here)
        assert drift > 0.01                                          # not an exact multiple: the case that matters
        j = np.arange(2, w - 2)                                      # away from the edge padding
        expect = ((j + 0.5) * W / w - 0.5) * slope + 20.0
        trend = lambda img: np.polyfit(j, img[n // 8, j, 0].astype(float) - expect, 1)[0]
        assert abs(trend(lr)) < 0.3 * drift
        assert trend(matlab_lr(ramp, s)[0]) > 0.6 * drift

    def test_non_integer_scale_reports_finite_psnr(self, astronaut):
        res = compare_crops({"bicubic": "bicubic"}, astronaut, 2.5, (10, 10, 16, 16))
        lr, hr_c = lr_pair(astronaut, 2.5)
        np.testing.assert_array_equal(res["lr"], lr)
        np.testing.assert_array_equal(res["hr"], hr_c[10:26, 10:26])
        assert res["lr_crop"].shape == (16, 16, 3)
        assert 15.0 < res["psnr"]["bicubic"] < 60.0
        assert res["psnr"]["bicubic"] == pytest.approx(psnr(res["sr"]["bicubic"], res["hr"]))

    def test_a_model_runs_through_super_resolve(self, astronaut, tiny_liif):
        res = compare_crops({"liif": tiny_liif}, astronaut, 3.3, None)
        assert res["sr"]["liif"].dtype == np.uint8 and res["sr"]["liif"].shape == res["hr"].shape
        assert np.isfinite(res["psnr"]["liif"])

    def test_scale_below_one_is_rejected(self, astronaut):
        with pytest.raises(ValueError, match="scale"):
            compare_crops({"bicubic": "bicubic"}, astronaut, 0.5)

    def test_table_has_one_row_per_method(self, astronaut):
        res = compare_crops({"bicubic": "bicubic", "nearest": _nearest}, astronaut, 2.0, (0, 0, 16, 16))
        df = crop_table(res, image="astronaut")
        assert list(df["method"]) == ["bicubic", "nearest"]
        assert {"image", "scale", "psnr", "psnr_image", "top", "left", "height", "width"} <= set(df.columns)
        # nearest is worse than bicubic on a natural image at x2
        assert df.set_index("method").loc["bicubic", "psnr"] > df.set_index("method").loc["nearest", "psnr"]


class TestFigures:
    def test_crop_figure_has_lr_methods_and_hr_panels(self, astronaut):
        res = compare_crops({"bicubic": "bicubic", "nearest": _nearest}, astronaut, 2.0, (0, 0, 16, 16))
        fig = figure_crops(res)
        assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["LR (nearest)", "bicubic", "nearest", "HR"]
        emaps = figure_error_maps(res)
        np.testing.assert_array_equal(emaps.axes[0].images[0].get_array(), res["error"]["bicubic"])

    def test_ipe_panel_plots_the_sinc_envelope_of_the_scale(self):
        fig = figure_ipe(3.7, L=6)
        markers = [ln for ln in fig.axes[0].lines if ln.get_marker() == "o"][0]
        w = 2.0 ** torch.arange(6, dtype=torch.float64) * math.pi
        np.testing.assert_allclose(markers.get_ydata(), sinc(w * liif_radius(3.7)).abs().numpy(), atol=1e-12)

    def test_kriging_panel_draws_the_weights_of_the_requested_pixel(self, astronaut, tiny_eqsr):
        from sr_lib.viz.kriging import kriging_panels
        lr, _ = matlab_lr(astronaut[:32, :32], 2.5)
        kmap = kriging_at(tiny_eqsr, lr, 2.5, (10, 12))
        assert kmap.yx == (10, 12) and kmap.hr_hw == (30, 30)
        panels = kriging_panels(kmap)
        np.testing.assert_allclose(panels["product"], panels["data"] * panels["distance"], rtol=1e-12)
        assert 0.0 < panels["distance"].max() <= 1.0                 # an RBF of a distance
        drawn = [ax.images[0].get_array() for ax in figure_kriging(kmap).axes if ax.images][:3]
        for arr, key in zip(drawn, ("data", "distance", "product")):
            np.testing.assert_allclose(arr, panels[key])
        with pytest.raises(ValueError, match="outside"):
            kriging_at(tiny_eqsr, lr, 2.5, (99, 0))


class TestExplorer:
    def test_widgets_construct_and_callback_redraws(self, astronaut, tiny_liif):
        import ipywidgets as W
        ex = Explorer({"astro": astronaut, "dark": astronaut // 2}, {"liif": tiny_liif}, scale=2.0, box_size=16)
        assert isinstance(ex.widget, W.VBox)
        assert isinstance(ex.scale, W.FloatSlider) and ex.scale.min == 1.0 and ex.scale.value == 2.0
        assert list(ex.image.options) == ["astro", "dark"] and list(ex.method.options) == ["liif"]
        figs = ex.update()
        assert figs["kriging"] is None and figs["result"]["box"][2:] == (16, 16)
        assert set(figs["result"]["psnr"]) == {"bicubic", "liif"}
        ex.box_size.value = 12                                   # observers fire: update() reruns
        assert ex.setting()["box"][2:] == (12, 12)
        assert "bicubic" in ex.status.value

    def test_kriging_panel_appears_with_an_eqsr_model(self, astronaut, tiny_eqsr):
        small = astronaut[:24, :24]
        ex = Explorer({"a": small}, {"eqsr": tiny_eqsr}, scale=2.0, box_size=8)
        figs = ex.render()
        assert figs["kriging"] is not None
        top, left, bh, bw = figs["result"]["box"]
        assert f"HR pixel {(top + bh // 2, left + bw // 2)}" in figs["kriging"].get_suptitle()

    def test_empty_inputs_are_rejected(self):
        with pytest.raises(ValueError, match="at least one"):
            Explorer({}, {"bicubic": "bicubic"})


class TestTexturedBox:
    def test_finds_the_textured_patch_in_a_flat_image(self):
        img = np.full((60, 80, 3), 128, np.uint8)
        rng = np.random.default_rng(0)
        img[30:46, 50:66] = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)     # the only texture
        from sr_lib.viz.widgets import textured_box
        assert textured_box(img, (16, 16)) == (30, 50, 16, 16)
        assert default_box((60, 80), 16, image=img) == (30, 50, 16, 16)
        assert default_box((60, 80), 16, center=(0.5, 0.5), image=img) == (22, 32, 16, 16)   # a centre wins

    def test_only_the_matched_part_counts_and_flat_images_give_the_first_box(self):
        from sr_lib.viz.widgets import textured_box
        img = np.zeros((40, 40), np.float64)
        img[35:, 35:] = np.arange(25).reshape(5, 5)          # texture outside the top-left 30x30
        assert textured_box(img, (10, 10), hw=(30, 30)) == (0, 0, 10, 10)
        assert textured_box(np.ones((20, 20)), (25, 25)) == (0, 0, 20, 20)   # box larger than the image


class TestStraddlingPixel:
    def test_the_neighbourhood_spans_two_lr_pixels_and_is_the_nearest_such(self):
        from sr_lib.viz.widgets import straddling_pixel
        lr_hw = (38, 38)                                              # x3.3 (a 128-px crop: HR 125)
        cell = lambda i: math.floor((i + 0.5) * 38 / 125)
        y, x = straddling_pixel((83, 54), lr_hw, 3.3)
        for c in (y, x):
            assert cell(c - 1) != cell(c + 1)
        # (83, 54) has its 3x3 block inside LR pixel (25, 16): the answer moves by the least it must
        assert cell(82) == cell(84) and cell(53) == cell(55)
        assert abs(y - 83) == min(abs(t - 83) for t in range(1, 124) if cell(t - 1) != cell(t + 1))
        assert abs(x - 54) == min(abs(t - 54) for t in range(1, 124) if cell(t - 1) != cell(t + 1))
        assert straddling_pixel((10, 10), (20, 20), 2.0) == (10, 10)         # x2: every pixel straddles

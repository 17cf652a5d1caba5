"""The papers' protocols: LR source, HR crop, shave, channel, rounding, inference options."""
import dataclasses
import math

import numpy as np
import pytest

from sr_lib.data.io import load_image
from sr_lib.metrics.protocols import PROTOCOLS, check_scale, get_protocol


class TestRegistry:
    def test_all_named_protocols_exist(self):
        assert set(PROTOCOLS) == {"liif", "ipe_liif", "lte", "ciaosr", "eqsr"}
        assert get_protocol("IPE-LIIF").name == "ipe_liif"

    def test_unknown_protocol_lists_the_known(self):
        with pytest.raises(ValueError, match="eqsr"):
            get_protocol("edsr")

    def test_protocols_are_frozen(self):
        with pytest.raises(dataclasses.FrozenInstanceError):
            get_protocol("liif").quantize = True


class TestScaleChecks:
    @pytest.mark.parametrize("bad", [0, -2, 0.5, float("nan"), float("inf"), 1e4, "x"])
    def test_rejected(self, bad):
        with pytest.raises(ValueError, match="scale"):
            check_scale(bad)

    def test_lr_smaller_than_a_pixel_is_rejected(self):
        with pytest.raises(ValueError, match="smaller than 1 pixel"):
            get_protocol("eqsr").make_pair(np.zeros((100, 120, 3), np.uint8), 101)


class TestShaveAndChannel:
    def test_liif_family_shaves_scale_and_scale_plus_6_on_div2k(self):
        for name in ("liif", "ipe_liif", "lte"):
            p = get_protocol(name)
            assert [p.shave(s, "Set5") for s in (2, 3, 4, 6, 8)] == [2, 3, 4, 6, 8]
            assert p.shave(4, "DIV2K-val") == 10 and not p.y_channel("DIV2K-val") and p.y_channel("B100")
            assert not p.quantize

    def test_eqsr_fixed_borders(self):
        p = get_protocol("eqsr")
        assert [p.shave(s) for s in (2, 3, 4, 6, 8, 5.75, 1.55)] == [4, 4, 4, 6, 10, 4, 4]
        assert p.quantize and p.y_channel("DIV2K-val")

    def test_ciaosr_rounds_and_shaves_scale(self):
        p = get_protocol("ciaosr")
        assert p.quantize and p.hr_mod == 12 and p.shave(3) == 3 and p.shave(2.5) == math.ceil(2.5)


class TestPairs:
    @pytest.mark.parametrize("name", ["liif", "eqsr", "lte"])
    def test_in_distribution_lr_is_the_stored_matlab_lr(self, shared_data, name):
        hr = load_image(shared_data / "benchmark/Set5/HR/woman.png")          # 344×228: not mod 3
        ref = load_image(shared_data / "benchmark/Set5/LR_bicubic/X3/womanx3.png")
        lr, hr_c = get_protocol(name).make_pair(hr, 3)
        assert np.array_equal(lr, ref) and hr_c.shape[:2] == (ref.shape[0] * 3, ref.shape[1] * 3)

    def test_out_of_distribution_uses_pil_and_floor_rule(self):
        hr = np.random.default_rng(0).integers(0, 256, (321, 481, 3), dtype=np.uint8)
        for name in PROTOCOLS:
            p = get_protocol(name)
            assert p.lr_method(6) == "pil" and p.lr_method(2.25) == "pil" and p.lr_method(4) == "matlab"
        lr, hr_c = get_protocol("eqsr").make_pair(hr, 5.75)
        assert lr.shape[:2] == (55, 83) and hr_c.shape[:2] == (round(55 * 5.75), round(83 * 5.75))

    def test_ciaosr_crops_gt_to_mod12_first(self):
        hr = np.zeros((321, 481, 3), np.uint8)
        lr, hr_c = get_protocol("ciaosr").make_pair(hr, 2)
        assert hr_c.shape[:2] == (312, 480) and lr.shape[:2] == (156, 240)
        lr, hr_c = get_protocol("ciaosr").make_pair(hr, 6)       # PIL on GTmod12: floor(312/6)
        assert lr.shape[:2] == (52, 80)


class TestScore:
    def test_float_vs_rounded_output(self):
        rng = np.random.default_rng(0)
        hr = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        sr = np.clip(hr / 255.0 + 0.3 / 255, 0, 1)                   # +0.3 grey levels: rounds away
        p_float, _ = get_protocol("liif").score(sr, hr, 2)
        p_round, s_round = get_protocol("ciaosr").score(sr, hr, 2)
        assert np.isfinite(p_float) and p_round == float("inf") and s_round == pytest.approx(1.0)

    def test_inference_options(self):
        # the window padding is the model's (input_window), not a protocol option: tests/engine/test_inference.py
        assert get_protocol("lte").inference_options(8) == {"cell_scale": 2.0, "tile": 0, "tile_overlap": 0}
        assert get_protocol("ciaosr").inference_options(4)["tile"] == 192
        assert get_protocol("ciaosr").inference_options(6)["tile"] == 0
        assert get_protocol("liif").inference_options(12)["cell_scale"] == 1.0

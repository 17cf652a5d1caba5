"""Training pairs (sr_lib.data.pairs) against the official recipe (spec §1.2, §6.3)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sr_lib.data.pairs import PairSpec, TrainImages, draw_scale, image_index, make_pair, sample_batch
from sr_lib.data.resize import pil_bicubic


def ramp_image(h: int = 200, w: int = 180) -> np.ndarray:
    """R = row index, G = column index, B = 128: every pixel says where it is."""
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = np.arange(h)[:, None]
    img[..., 1] = np.arange(w)[None, :]
    img[..., 2] = 128
    return img


def pixel_index(coord: torch.Tensor, n: int) -> torch.Tensor:
    """Pixel centre coordinate on an n-pixel axis → integer index (inverse of make_coord)."""
    idx = (coord + 1) * n / 2 - 0.5
    assert torch.allclose(idx, idx.round(), atol=1e-4)
    return idx.round().long()


class TestDrawScale:
    def test_continuous_scales_are_uniform_on_1_4(self):
        rng = np.random.default_rng(0)
        s = np.array([draw_scale(PairSpec(), rng) for _ in range(10000)])
        assert s.min() >= 1.0 and s.max() < 4.0
        assert abs(s.mean() - 2.5) < 0.03                # U(1,4): mean 2.5
        assert abs(s.var() - 0.75) < 0.03                # variance (4-1)^2/12
        hist, _ = np.histogram(s, bins=6, range=(1, 4))
        assert np.all(np.abs(hist / len(s) - 1 / 6) < 0.015)

    def test_discrete_scales_drawn_from_the_set_evenly(self):
        rng = np.random.default_rng(1)
        s = np.array([draw_scale(PairSpec(scales=(2, 3, 4)), rng) for _ in range(6000)])
        vals, counts = np.unique(s, return_counts=True)
        assert vals.tolist() == [2.0, 3.0, 4.0]
        assert np.all(np.abs(counts / len(s) - 1 / 3) < 0.03)


class TestMakePair:
    def test_sizes_cell_and_value_range(self):
        spec = PairSpec(lr_size=16, n_queries=100)
        for seed in range(20):
            rng = np.random.default_rng(seed)
            p = make_pair(ramp_image(), spec, rng)
            hr = int(round(16 * p["scale"]))
            assert p["lr"].shape == (3, 16, 16) and p["coord"].shape == (100, 2) and p["gt"].shape == (100, 3)
            assert torch.allclose(p["cell"], torch.full((100, 2), 2.0 / hr))
            assert p["gt"].min() >= 0 and p["gt"].max() <= 1

    def test_queries_are_sampled_without_replacement(self):
        spec = PairSpec(lr_size=8, scale_min=2, scale_max=2, n_queries=256)   # HR 16×16 = all 256 pixels
        p = make_pair(ramp_image(), spec, np.random.default_rng(3))
        assert torch.unique(p["coord"], dim=0).shape[0] == 256

    def test_too_many_queries_is_an_error(self):
        spec = PairSpec(lr_size=8, scale_min=1, scale_max=1, n_queries=65)    # HR 8×8 has 64 pixels
        with pytest.raises(ValueError):
            make_pair(ramp_image(), spec, np.random.default_rng(0))

    def test_target_is_the_hr_pixel_at_the_query_centre(self):
        spec = PairSpec(lr_size=16, n_queries=300, augment=False)
        img = ramp_image()
        for seed in range(10):
            p = make_pair(img, spec, np.random.default_rng(seed))
            hr = int(round(16 * p["scale"]))
            iy, ix = pixel_index(p["coord"][:, 0], hr), pixel_index(p["coord"][:, 1], hr)
            y0 = torch.round(p["gt"][:, 0] * 255).long() - iy      # crop offset: the same for all queries
            x0 = torch.round(p["gt"][:, 1] * 255).long() - ix
            assert torch.unique(y0).numel() == 1 and torch.unique(x0).numel() == 1
            assert 0 <= int(y0[0]) <= img.shape[0] - hr and 0 <= int(x0[0]) <= img.shape[1] - hr

    def test_lr_is_pil_bicubic_of_the_hr_crop(self):
        spec = PairSpec(lr_size=16, scale_min=3, scale_max=3, n_queries=10, augment=False)
        img = (np.random.default_rng(0).random((120, 130, 3)) * 255).astype(np.uint8)
        rng = np.random.default_rng(5)
        p = make_pair(img, spec, rng)
        # replay the generator: the scale is fixed, so the crop position is its first two draws
        replay = np.random.default_rng(5)
        draw_scale(spec, replay)
        y0, x0 = int(replay.integers(0, 120 - 48 + 1)), int(replay.integers(0, 130 - 48 + 1))
        want = pil_bicubic(img[y0:y0 + 48, x0:x0 + 48], (16, 16))
        assert torch.equal(p["lr"], torch.from_numpy(want).permute(2, 0, 1).float() / 255)

    def test_flips_are_applied_identically_to_lr_and_hr(self):
        spec = PairSpec(lr_size=24, scale_min=2, scale_max=4, n_queries=400)
        seen = set()
        for seed in range(40):
            p = make_pair(ramp_image(), spec, np.random.default_rng(seed))
            # HR: the row ramp (R) along the crop's y or x axis, increasing or decreasing
            X = torch.cat([p["coord"], torch.ones(400, 1)], 1)
            hr_fit = torch.linalg.lstsq(X.double(), p["gt"][:, :1].double()).solution[:2, 0]
            hr_axis = int(hr_fit.abs().argmax())
            hr_sign = float(torch.sign(hr_fit[hr_axis]))
            # LR: the same ramp measured by mean finite differences
            r = p["lr"][0].double()
            lr_d = torch.stack([(r[1:] - r[:-1]).mean(), (r[:, 1:] - r[:, :-1]).mean()])
            lr_axis = int(lr_d.abs().argmax())
            assert lr_axis == hr_axis and float(torch.sign(lr_d[lr_axis])) == hr_sign
            seen.add((hr_axis, hr_sign))
        assert len(seen) == 4                               # all flip/transpose outcomes occurred

    def test_grid_layout_is_a_contiguous_window_with_a_cell_map(self):
        spec = PairSpec(lr_size=12, layout="grid")
        img = ramp_image()
        for seed in range(10):
            p = make_pair(img, spec, np.random.default_rng(seed))
            hr = int(round(12 * p["scale"]))
            assert p["coord"].shape == (12, 12, 2) and p["gt"].shape == (3, 12, 12)
            assert torch.allclose(p["cell"], torch.full((2, 12, 12), 2.0 / hr))
            dy = p["coord"][1:, :, 0] - p["coord"][:-1, :, 0]
            assert torch.allclose(dy, torch.full_like(dy, 2.0 / hr), atol=1e-6)
            # after the flips the ramps lie along some axis: check alignment through both ramps
            iy, ix = pixel_index(p["coord"][..., 0], hr), pixel_index(p["coord"][..., 1], hr)
            vals = torch.round(p["gt"][:2] * 255).long()                          # [2,12,12]
            pos = torch.stack([iy, ix])
            offsets = {int(torch.unique(vals[c] - sgn * pos[a]).numel())
                       for c in range(2) for a in range(2) for sgn in (1, -1)}
            assert 1 in offsets                             # some axis/sign explains each ramp exactly

    def test_image_smaller_than_the_crop_is_an_error(self):
        with pytest.raises(ValueError, match="smaller than"):
            make_pair(ramp_image(40, 40), PairSpec(lr_size=16, scale_min=3, scale_max=3), np.random.default_rng(0))


class TestTrainImages:
    def test_small_images_are_skipped_with_a_note(self):
        imgs = TrainImages([ramp_image(50, 50), ramp_image(200, 200)], ["a", "b"], "test")
        with pytest.warns(UserWarning, match="skipped 1 of 2"):
            kept = imgs.keep_at_least(192)
        assert kept.names == ["b"]

    def test_nothing_large_enough_is_a_clear_error(self):
        with pytest.raises(ValueError, match="at least 192"):
            TrainImages([ramp_image(50, 50)], ["a"], "test").keep_at_least(192)

    def test_identity_depends_on_the_pixels(self):
        a = TrainImages([ramp_image()], ["a"], "x")
        b = TrainImages([ramp_image()[::-1].copy()], ["a"], "x")
        assert a.identity == TrainImages([ramp_image()], ["a"], "y").identity != b.identity


class TestSampleBatch:
    def images(self):
        rng = np.random.default_rng(0)
        return TrainImages([(rng.random((80, 90, 3)) * 255).astype(np.uint8) for _ in range(5)],
                           list("abcde"), "random")

    def test_a_batch_is_a_function_of_seed_and_step(self):
        imgs, spec = self.images(), PairSpec(lr_size=8, n_queries=20)
        a, b = sample_batch(imgs, spec, 4, seed=3, step=7), sample_batch(imgs, spec, 4, seed=3, step=7)
        c = sample_batch(imgs, spec, 4, seed=3, step=8)
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert not torch.equal(a["lr"], c["lr"])

    def test_rank_slices_make_up_the_global_batch(self):
        imgs, spec = self.images(), PairSpec(lr_size=8, n_queries=20)
        full = sample_batch(imgs, spec, 4, seed=0, step=2)
        parts = [sample_batch(imgs, spec, 4, seed=0, step=2, rank=r, world=2) for r in range(2)]
        for k in full:
            assert torch.equal(full[k], torch.cat([p[k] for p in parts]))

    def test_every_epoch_visits_each_image_once(self):
        for epoch in range(3):
            order = [image_index(0, epoch * 7 + i, 7) for i in range(7)]
            assert sorted(order) == list(range(7))

    def test_one_scale_per_batch_when_asked(self):
        imgs = self.images()
        b = sample_batch(imgs, PairSpec(lr_size=8, n_queries=20, scale_per="batch"), 4, seed=0, step=0)
        assert torch.unique(b["scale"]).numel() == 1

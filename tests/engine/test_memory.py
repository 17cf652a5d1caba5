"""Memory estimate, chunk planning and refusal (sr_lib.engine.memory)."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.engine.evaluate import ModelUpscaler
from sr_lib.engine.memory import (DEFAULT_BUDGET, SAFETY, LiveBytes, MemoryBudgetError, PeakCurve, estimate,
                           parse_budget, plan_chunk, profile)
from sr_lib.engine.inference import DEFAULT_CHUNK, super_resolve


@pytest.fixture(autouse=True)
def one_thread_default_budget(monkeypatch):
    monkeypatch.delenv("SR_MEMORY_BUDGET", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def smoke_model(name: str):
    backbone = "eqnet" if name == "eqsr" else "edsr-baseline"
    torch.manual_seed(0)
    return sr_lib.make(name, **model_options(config_for("smoke"), name, backbone)).eval()


class TestLiveBytes:
    def test_counts_allocations_once_per_storage_and_releases_them(self):
        with LiveBytes() as mode:
            a = torch.zeros(1000)                      # 4000 bytes
            v = a.view(10, 100)                        # a view: no new storage
            b = torch.ones(250, dtype=torch.float64)   # 2000 bytes
            assert mode.live == 6000
            del a, v
            c = b * 2                                  # a's storage freed before this op
        assert mode.peak == 6000
        assert mode.trace[-1] == 4000
        assert c.sum() == 500

    def test_peak_curve_is_exact_on_a_quadratic_operator(self):
        # two "operators": 10 + 3n and 2n² − n, the peak is the larger of them
        xs = [4, 9, 16]
        traces = [[10 + 3 * n, 2 * n * n - n] for n in xs]
        curve = PeakCurve(xs, traces, 2)
        for n in (1, 50, 1000):
            assert curve(n) == pytest.approx(max(10 + 3 * n, 2 * n * n - n))


class TestEstimate:
    @pytest.mark.parametrize("name", sorted(set(sr_lib.list_models())))
    def test_estimate_bounds_the_measured_peak_of_super_resolve(self, name):
        model = smoke_model(name)
        lr = torch.rand(1, 3, 20, 28)
        out = (50, 70)
        profile(model)                                 # probe outside the measurement
        with LiveBytes() as mode:
            sr = super_resolve(model, lr, out_size=out, chunk=500)
        measured = mode.peak + lr.nbytes
        est = estimate(model, lr.shape[-2:], out, chunk=500).peak
        assert sr.shape == (1, 3, *out)
        assert measured <= est <= 2.0 * SAFETY * measured + 2 ** 20

    def test_tiled_estimate_bounds_the_measured_peak(self):
        # one tile's encode + decode at a time, plus the sum and count of the whole output
        model = smoke_model("ciaosr")
        lr = torch.rand(1, 3, 30, 44)
        profile(model)
        with LiveBytes() as mode:
            sr = super_resolve(model, lr, scale=2, tile=16, tile_overlap=4)
        measured = mode.peak + lr.nbytes
        est = estimate(model, (30, 44), (60, 88), chunk=DEFAULT_CHUNK, tile=16, tile_overlap=4).peak
        whole = estimate(model, (30, 44), (60, 88), chunk=DEFAULT_CHUNK).peak
        assert sr.shape == (1, 3, 60, 88)
        assert measured <= est <= 2.0 * SAFETY * measured + 2 ** 20
        assert est < whole                              # the quadratic attention of the whole image is avoided

    def test_cross_scale_attention_grows_quadratically_and_is_extrapolated(self):
        model = smoke_model("ciaosr")
        est = estimate(model, (64, 64), (128, 128), DEFAULT_CHUNK).encode / SAFETY
        with torch.no_grad(), LiveBytes() as mode:
            model.encode(model.normalize(torch.rand(1, 3, 64, 64)))
        assert est == pytest.approx(mode.peak + 3 * 64 * 64 * 4, rel=0.02)


class TestPlanChunk:
    def test_default_budget_is_3_gb_and_parsed_forms(self):
        assert DEFAULT_BUDGET == 3 * 1024 ** 3
        assert parse_budget("512M") == 512 * 1024 ** 2 and parse_budget("3G") == DEFAULT_BUDGET
        assert parse_budget("inf") == float("inf")
        for bad in ("lots", "0", "-1G"):
            with pytest.raises(ValueError, match="memory budget"):
                parse_budget(bad)

    def test_small_budget_lowers_the_chunk_and_the_output_is_unchanged(self, monkeypatch):
        model = smoke_model("liif")
        lr = torch.rand(1, 3, 12, 10)
        ref = super_resolve(model, lr, out_size=(96, 80), chunk=30000)
        need = estimate(model, (12, 10), (96, 80), chunk=30000).peak
        budget = need - 0.5 * SAFETY * profile(model).decode(96 * 80)
        chunk = plan_chunk(model, (12, 10), (96, 80), 30000, budget=budget)
        assert 1024 <= chunk < 96 * 80
        assert estimate(model, (12, 10), (96, 80), chunk).peak <= budget
        monkeypatch.setenv("SR_MEMORY_BUDGET", str(budget))
        assert torch.equal(super_resolve(model, lr, out_size=(96, 80), chunk=30000), ref)

    def test_whole_image_decoder_over_budget_is_refused_up_front(self):
        model = smoke_model("eqsr")
        # 2040×1356 HR at ×30: EQSR decodes the whole grid at once
        with pytest.raises(MemoryBudgetError, match=r"eqsr: 45×68 → 1350×2040 needs ~\d+\.\d\d GB.*whole-image"):
            super_resolve(model, torch.rand(1, 3, 45, 68), out_size=(1350, 2040))

    def test_scale_1000_is_refused_not_killed(self):
        model = smoke_model("liif")
        with pytest.raises(MemoryBudgetError, match="even with chunks of 1024 queries"):
            ModelUpscaler(model)(torch.rand(1, 3, 45, 68), (45000, 68000), 1000)

    def test_x30_on_a_2k_image_fits_3_gb_at_the_cpu_profile(self):
        cfg = config_for("cpu")
        model = sr_lib.make("liif", **model_options(cfg, "liif", "edsr-baseline")).eval()
        est = estimate(model, (45, 68), (1350, 2040), chunk=30000)     # even at the official eval_bsize
        assert est.peak < DEFAULT_BUDGET
        assert plan_chunk(model, (45, 68), (1350, 2040), 30000) == 30000

    def test_budget_from_the_environment_applies(self, monkeypatch):
        model = smoke_model("metasr")
        monkeypatch.setenv("SR_MEMORY_BUDGET", "1M")
        with pytest.raises(MemoryBudgetError, match="1M|0.00 GB"):
            super_resolve(model, torch.rand(1, 3, 40, 40), out_size=(400, 400))
        monkeypatch.setenv("SR_MEMORY_BUDGET", "inf")
        assert plan_chunk(model, (40, 40), (4000, 4000), 777) == 777


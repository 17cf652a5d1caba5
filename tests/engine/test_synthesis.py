"""Multi-step synthesis (sr_lib.engine.synthesis, CiaoSR Table 6): step sizes, the uint8 rounding
between steps, and composition checked against an upscaler whose steps compose exactly."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import sr_lib
from sr_lib.engine.synthesis import describe, quantize_uint8, step_sizes, synthesize

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def nearest(lr, out_size, scale=None):
    return F.interpolate(lr, size=out_size, mode="nearest")


class Recorder:
    """Nearest-neighbour upscaler that remembers what each step received."""

    def __init__(self):
        self.inputs = []

    def __call__(self, lr, out_size, scale=None):
        self.inputs.append(lr.clone())
        return F.interpolate(lr, size=out_size, mode="bilinear", align_corners=False)


class TestStepSizes:
    def test_sizes_follow_the_cumulative_scale(self):
        assert step_sizes((10, 7), [2, 6]) == [(20, 14), (120, 84)]
        assert step_sizes((10, 7), [2, 2, 3]) == [(20, 14), (40, 28), (120, 84)]
        assert step_sizes((9, 7), [2.5, 2]) == [(22, 18), (45, 35)]      # round(22.5)=22 (half to even)

    def test_out_size_replaces_the_last_step(self):
        assert step_sizes((10, 7), [2, 6], out_size=(118, 80))[-1] == (118, 80)

    def test_rejects_empty_or_non_positive_scales(self):
        with pytest.raises(ValueError):
            step_sizes((4, 4), [])
        with pytest.raises(ValueError):
            step_sizes((4, 4), [2, 0])

    def test_table6_labels(self):
        assert describe([2, 6]) == "→×2→×12"
        assert describe([2, 2, 3]) == "→×2→×4→×12"
        assert describe([12]) == "→×12"


class TestSynthesize:
    def test_integer_nearest_steps_compose_to_one_step(self):
        lr = quantize_uint8(torch.rand(1, 3, 5, 6))
        one = synthesize(nearest, lr, [12])
        torch.testing.assert_close(synthesize(nearest, lr, [2, 6]), one, rtol=0, atol=0)
        torch.testing.assert_close(synthesize(nearest, lr, [2, 2, 3]), one, rtol=0, atol=0)

    def test_intermediate_images_are_rounded_to_uint8(self):
        rec = Recorder()
        synthesize(rec, torch.rand(1, 3, 5, 6), [2, 2, 3])
        for img in rec.inputs[1:]:
            torch.testing.assert_close(img * 255, torch.round(img * 255), rtol=0, atol=1e-5)
        assert not torch.equal(rec.inputs[0] * 255, torch.round(rec.inputs[0] * 255))   # the LR is untouched

    def test_quantize_false_keeps_float_intermediates(self):
        rec = Recorder()
        lr = torch.rand(1, 3, 5, 6)
        out = synthesize(rec, lr, [2, 3], quantize=False)
        direct = F.interpolate(F.interpolate(lr, size=(10, 12), mode="bilinear", align_corners=False),
                               size=(30, 36), mode="bilinear", align_corners=False)
        torch.testing.assert_close(out, direct, rtol=0, atol=0)

    def test_runs_a_ciaosr_model_under_its_protocol(self):
        torch.manual_seed(0)
        model = sr_lib.make("ciaosr", backbone="edsr-baseline", num_blocks=1, mid_channels=8, hidden=(16,)).eval()
        out = synthesize(model, torch.rand(1, 3, 36, 34), [2, 3], protocol="ciaosr")   # tiled steps (×2, ×3)
        assert out.shape == (1, 3, 216, 204)
        assert out.min() >= 0 and out.max() <= 1

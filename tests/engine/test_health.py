"""sr_lib.engine.health: the gate's arithmetic against Bicubic itself (gain exactly 0) and the loss rule."""
import math

import numpy as np
import pytest

from sr_lib.engine.evaluate import bicubic_matlab
from sr_lib.engine.health import MIN_GAIN, check_health, loss_ok


def test_loss_rule():
    assert loss_ok(np.linspace(1.0, 0.1, 100)) == (True, "")
    ok, why = loss_ok([0.5, 0.4, float("nan"), 0.3])
    assert not ok and "step 3" in why
    ok, why = loss_ok(np.linspace(0.1, 1.0, 50))
    assert not ok and "not decreasing" in why
    assert loss_ok([]) == (False, "no loss curve (0 steps trained)")


def test_bicubic_has_zero_gain_and_fails_the_bars(shared_data):
    h = check_health(bicubic_matlab, "liif", data_root=shared_data, datasets=("Set5",),
                     loss=np.linspace(1, 0.5, 20))
    assert h.gains == {2.0: pytest.approx(0.0, abs=1e-12), 4.0: pytest.approx(0.0, abs=1e-12)}
    assert not h.healthy and len(h.reasons) == 2 and "x2 gain +0.000 dB < 1.00 dB" in h.reasons[0]
    assert h.set5_x2 == pytest.approx(h.set5_x2_bicubic) and 33 < h.set5_x2 < 34.5   # printed Set5 x2 bicubic 33.66
    assert len(h.per_image) == 10 and {r["dataset"] for r in h.per_image} == {"Set5"}


def test_bars_are_parameters_and_the_loss_counts(shared_data):
    h = check_health(bicubic_matlab, "liif", data_root=shared_data, datasets=("Set5",),
                     min_gain={2: -0.1}, loss=[1.0, 0.5])
    assert h.healthy and h.reasons == [] and "healthy" in h.summary()
    assert math.isnan(h.gain_x4)
    h = check_health(bicubic_matlab, "liif", data_root=shared_data, datasets=("Set5",),
                     min_gain={2: -0.1}, loss=[0.5, float("inf")])
    assert not h.healthy and "non-finite loss" in h.reasons[0]
    assert MIN_GAIN == {2.0: 1.0, 4.0: 0.5}

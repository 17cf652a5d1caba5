"""No-reference metrics (sr_lib.metrics.no_reference): availability is stated, BRISQUE ranks distortions."""
import numpy as np
import pytest

from sr_lib.metrics import no_reference as nr


def _natural(h=96, w=96):
    """A smooth image with some texture, deterministic."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([0.5 + 0.3 * np.sin(x / 6) * np.cos(y / 8), 0.4 + 0.2 * np.cos((x + y) / 10),
                    0.5 + 0.25 * np.sin(y / 5)], -1)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


class TestAvailability:
    def test_every_metric_is_listed_with_a_reason_or_empty(self):
        av = nr.availability()
        assert set(av) == set(nr.NR_METRICS)
        assert av["niqe"] and av["piqe"]                      # no offline package: a stated reason

    def test_unavailable_metric_raises_with_its_reason(self):
        with pytest.raises(nr.MetricUnavailable, match="NIQE"):
            nr.score(_natural(), "niqe")

    def test_unknown_metric_is_a_value_error(self):
        with pytest.raises(ValueError, match="unknown"):
            nr.score(_natural(), "psnr")


@pytest.mark.skipif(bool(nr.availability()["brisque"]), reason="brisque package / OpenCV not installed")
class TestBrisque:
    def test_noise_and_blur_score_worse_than_a_clean_photograph(self):
        from scipy.ndimage import gaussian_filter
        from skimage import data
        img = data.astronaut()[100:228, 150:278]                   # a natural photograph, shipped with skimage
        noisy = np.clip(img + np.random.default_rng(0).normal(0, 25, img.shape), 0, 255).astype(np.uint8)
        blurred = gaussian_filter(img.astype(np.float64), sigma=(3, 3, 0)).round().astype(np.uint8)
        clean = nr.brisque_score(img)
        assert nr.brisque_score(noisy) > clean + 10
        assert nr.brisque_score(blurred) > clean + 10

    def test_float_input_equals_uint8_input(self):
        img = _natural()
        assert nr.brisque_score(img.astype(np.float64) / 255) == pytest.approx(nr.brisque_score(img))

"""sr_lib.viz.ipe: the plotted numbers are the closed-form IPE envelopes, and
figures are built without pyplot state."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sr_lib.viz import save_figure
from sr_lib.viz.ipe import envelope_frame, plot_envelope_map, plot_ipe_vs_pe, plot_sinc_envelopes


class TestEnvelopeFrame:
    def test_values_are_sinc_of_band_frequency_times_inverse_scale(self):
        df = envelope_frame([3.0, 4.0], L=5)
        assert len(df) == 10 and list(df.columns) == ["scale", "r", "l", "omega", "sinc", "abs_sinc"]
        for row in df.itertuples():
            u = 2 ** row.l * math.pi / row.scale
            assert row.r == pytest.approx(1 / row.scale)
            assert row.sinc == pytest.approx(math.sin(u) / u, abs=1e-15)

    def test_scale_four_passes_only_bands_zero_and_one(self):
        df = envelope_frame([4.0], L=10)
        assert df["sinc"].iloc[1] == pytest.approx(2 / math.pi)
        assert df["abs_sinc"].iloc[2:].max() < 1e-15


class TestFigures:
    def test_envelope_markers_equal_abs_sinc(self):
        fig = plot_sinc_envelopes([2.0, 6.0], L=6)
        markers = [ln for ln in fig.axes[0].lines if ln.get_marker() == "o"]
        assert len(markers) == 2
        expected = envelope_frame([6.0], L=6)["abs_sinc"].to_numpy()
        np.testing.assert_allclose(markers[1].get_ydata(), expected, atol=1e-12)

    def test_ipe_curve_is_pe_curve_times_sinc(self):
        fig = plot_ipe_vs_pe(band=1, scales=[3.0], n=101)
        pe_line, ipe_line = fig.axes[0].lines                   # sin panel: PE then IPE ×3
        x = np.asarray(pe_line.get_xdata(), dtype=float)
        np.testing.assert_allclose(pe_line.get_ydata(), np.sin(2 * np.pi * x), atol=1e-12)
        np.testing.assert_allclose(ipe_line.get_ydata(), np.sin(2 * np.pi * x) * math.sin(2 * math.pi / 3) /
                                   (2 * math.pi / 3), atol=1e-12)

    def test_no_pyplot_figures_are_left_open(self):
        import matplotlib.pyplot as plt
        before = set(plt.get_fignums())
        plot_envelope_map(L=4, n=20)
        plot_sinc_envelopes([2.0], L=3)
        assert set(plt.get_fignums()) == before

    def test_save_figure_writes_png_atomically(self, tmp_path):
        path = save_figure(plot_envelope_map(L=3, n=10), tmp_path / "sub" / "map.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert [p.name for p in path.parent.iterdir()] == ["map.png"]

"""CKA heatmaps and EQ_S curves (sr_lib.viz.cka / sr_lib.viz.equivariance): the
figures show exactly the numbers they are given."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from sr_lib.viz.cka import plot_cka_heatmap, plot_cka_heatmaps
from sr_lib.viz.equivariance import plot_eq_curves


def mesh_values(ax) -> np.ndarray:
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    return np.asarray(mesh.get_array())


class TestCKAHeatmap:
    def test_cells_hold_the_matrix(self):
        m = torch.rand(3, 4, dtype=torch.float64)
        fig = plot_cka_heatmap(m, scales=(2.0, 4.0), title="ArbSR", names=["a", "b", "c"])
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        np.testing.assert_allclose(mesh_values(ax).reshape(3, 4), m.numpy())
        assert ax.get_xlabel() == "block at ×4" and ax.get_ylabel() == "block at ×2"
        assert not ax.yaxis_inverted()               # row 0 at the bottom

    def test_one_panel_per_model(self):
        fig = plot_cka_heatmaps({"ArbSR": np.eye(3), "EQSR": np.ones((2, 2))}, scales=(2.0, 3.0))
        heat = [ax for ax in fig.axes if any(isinstance(c, QuadMesh) for c in ax.collections)]
        assert [ax.get_title() for ax in heat[:2]] == ["ArbSR", "EQSR"]

    def test_nothing_to_plot_is_an_error(self):
        with pytest.raises(ValueError, match="no CKA"):
            plot_cka_heatmaps({})


class TestEQCurves:
    @staticmethod
    def frame():
        rows = [{"method": m, "theta": t, "r": r, "eq_s_db": -20.0 - k - r, "eq_s_std": 0.5}
                for k, m in enumerate(["Bicubic", "ArbSR"]) for t in (2.0, 3.0) for r in (1.5, 2.0, 3.0)]
        return pd.DataFrame(rows)

    def test_one_panel_per_theta_one_line_per_method(self):
        df = self.frame()
        fig = plot_eq_curves(df)
        assert len(fig.axes) == 2
        for ax, theta in zip(fig.axes, (2.0, 3.0)):
            lines = {ln.get_label(): ln for ln in ax.get_lines()}
            assert set(lines) == {"Bicubic", "ArbSR"}
            want = df[(df.theta == theta) & (df.method == "ArbSR")].sort_values("r")
            np.testing.assert_allclose(lines["ArbSR"].get_ydata(), want["eq_s_db"])
            assert lines["Bicubic"].get_linestyle() == "--"

    def test_missing_columns_are_reported(self):
        with pytest.raises(ValueError, match="lacks columns"):
            plot_eq_curves(pd.DataFrame({"method": ["x"], "r": [2.0]}))

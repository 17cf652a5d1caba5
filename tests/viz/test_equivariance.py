"""EQ_S curves (sr_lib.viz.equivariance): the figure shows exactly the numbers it is given."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sr_lib.viz.equivariance import plot_eq_curves


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

    def test_one_panel_per_method_each_beside_the_baseline(self):
        rows = [{"method": m, "theta": 2.0, "r": r, "eq_s_db": -20.0 - k - r, "eq_s_std": 0.0}
                for k, m in enumerate(["Bicubic", "LIIF", "EQSR"]) for r in (2.0, 4.0)]
        fig = plot_eq_curves(pd.DataFrame(rows))
        shown = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in shown] == ["LIIF", "EQSR"]
        for ax in shown:
            assert [ln.get_label() for ln in ax.get_lines()] == ["Bicubic", ax.get_title()]
            assert ax.get_legend() is not None
        assert shown[0].get_shared_y_axes().joined(shown[0], shown[1])       # one y scale

    def test_missing_columns_are_reported(self):
        with pytest.raises(ValueError, match="lacks columns"):
            plot_eq_curves(pd.DataFrame({"method": ["x"], "r": [2.0]}))

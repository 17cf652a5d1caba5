"""CKA heatmaps (sr_lib.viz.cka): the figures show exactly the numbers they are given."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from sr_lib.viz.cka import plot_cka_heatmap, plot_cka_heatmaps


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

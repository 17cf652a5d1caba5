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
        assert [ax.get_title().split("\n")[0] for ax in heat[:2]] == ["ArbSR", "EQSR"]
        assert "diagonal mean 1.000" in heat[0].get_title()

    def test_fixed_colour_scale_and_block_names(self):
        import pandas as pd
        from sr_lib.viz.cka import plot_cka_frame, short_block_names
        names = ["layers.0.residual_group.blocks.0", "layers.0.residual_group.blocks.1",
                 "layers.1.residual_group.overlap_attn"]
        assert short_block_names(names) == (["0.blocks.0", "0.blocks.1", "1.overlap_attn"], "layers.residual_group")
        m = np.array([[0.96, 0.97, 0.95], [0.98, 0.99, 0.97], [0.95, 0.96, 0.99]])
        frame = pd.DataFrame([{"model": "EQSR", "s_a": 2.0, "s_b": 4.0, "i": i, "j": j, "block_i": names[i],
                               "block_j": names[j], "cka": m[i, j]} for i in range(3) for j in range(3)])
        fig = plot_cka_frame(frame)
        ax = next(ax for ax in fig.axes if any(isinstance(c, QuadMesh) for c in ax.collections))
        np.testing.assert_allclose(mesh_values(ax).reshape(3, 3), m)
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        assert (mesh.norm.vmin, mesh.norm.vmax) == (0.0, 1.0)          # not stretched to 0.95–0.99
        assert [t.get_text() for t in ax.get_yticklabels()] == ["0.blocks.0", "0.blocks.1", "1.overlap_attn"]
        assert "×2" in ax.get_ylabel() and "×4" in ax.get_xlabel()

    def test_nothing_to_plot_is_an_error(self):
        with pytest.raises(ValueError, match="no CKA"):
            plot_cka_heatmaps({})

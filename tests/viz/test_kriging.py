"""Kriging weight maps (sr_lib.viz.kriging): the figure draws K_data, K_scale and their
product, and the product is exactly K_data × K_scale of the model's own weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

import sr_lib
from sr_lib.repro.papers.eqsr import kriging_maps
from sr_lib.viz.kriging import kriging_explorer, kriging_panels, plot_kriging_weights

TINY = dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=8, latent_dim=16)


@pytest.fixture(scope="module")
def maps():
    torch.manual_seed(0)
    model = sr_lib.make("eqsr", **TINY).eval()
    lr = torch.rand(1, 3, 12, 12)
    return kriging_maps(model, lr, [1.5, 4.0], pos=(0.5, 0.5))


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]


class TestKrigingPanels:
    def test_product_is_data_times_distance(self, maps):
        for m in maps.values():
            for block in range(len(m.weights.data)):
                for group in (None, 0, 1):
                    p = kriging_panels(m, block, group)
                    np.testing.assert_allclose(p["product"], p["data"] * p["distance"], rtol=0, atol=0)

    def test_panels_hold_the_models_own_weights(self, maps):
        m = maps[1.5]
        p = kriging_panels(m, block=1, group=1)
        np.testing.assert_allclose(p["product"], m.weights.product[1][1].double().numpy(), atol=1e-7)
        np.testing.assert_allclose(p["distance"], m.weights.distance.double().numpy())

    def test_distance_kernel_is_an_rbf_in_unit_range(self, maps):
        for m in maps.values():
            d = kriging_panels(m)["distance"]
            assert (d > 0).all() and (d <= 1).all()

    def test_bad_block_or_group_is_an_error(self, maps):
        with pytest.raises(ValueError, match="block"):
            kriging_panels(maps[1.5], block=2)
        with pytest.raises(ValueError, match="group"):
            kriging_panels(maps[1.5], group=99)


class TestKrigingFigure:
    def test_one_row_per_scale_cells_hold_the_panels(self, maps):
        fig = plot_kriging_weights(maps, block=0)
        assert isinstance(fig, Figure)
        ims = _images(fig)
        assert len(ims) == 3 * len(maps)
        for k, m in enumerate(maps.values()):
            p = kriging_panels(m, 0)
            for j, col in enumerate(("data", "distance", "product")):
                np.testing.assert_allclose(np.asarray(ims[3 * k + j].get_array()), p[col])

    def test_signed_panels_share_one_colour_scale_across_scales(self, maps):
        """K_data and the product of every row are drawn on one symmetric range: the largest
        |value| over all rows, so a colour means the same weight at every scale."""
        ims = _images(plot_kriging_weights(maps, block=0))
        lim = max(np.abs(kriging_panels(m, 0)[c]).max() for m in maps.values() for c in ("data", "product"))
        signed = [im for k, im in enumerate(ims) if k % 3 != 1]
        assert {im.get_clim() for im in signed} == {(-lim, lim)}
        assert {im.get_clim() for k, im in enumerate(ims) if k % 3 == 1} == {(0.0, 1.0)}

    def test_nothing_to_plot_is_an_error(self):
        with pytest.raises(ValueError, match="no kriging"):
            plot_kriging_weights({})


class TestKrigingExplorer:
    def test_scale_slider_redraws_for_the_chosen_scale(self, maps):
        pytest.importorskip("ipywidgets")
        torch.manual_seed(0)
        model = sr_lib.make("eqsr", **TINY).eval()
        box = kriging_explorer(model, torch.rand(1, 3, 12, 12), scales=(2.0, 3.0))
        scale = box.children[0].children[0]
        assert list(scale.options) == [2.0, 3.0]
        scale.value = 3.0                                   # triggers a redraw without error
        assert scale.value == 3.0

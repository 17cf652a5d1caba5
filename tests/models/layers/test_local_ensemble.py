"""The one 4-neighbour lookup (``sr_lib.models.layers.local_ensemble``; LIIF Eq. 4, spec §1.1)."""
from __future__ import annotations

import torch

from sr_lib.geometry import make_coord
from sr_lib.models.layers.local_ensemble import (CORNERS, EPS_SHIFT, area_blend, ensemble_coords, local_neighbours,
                                                 lr_grid, nearest_index)

F64 = torch.float64


def queries(b=2, q=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    coord = torch.rand(b, q, 2, generator=g, dtype=F64) * 2 - 1
    coord[:, :3] = torch.tensor([-1.0, 1.0, 0.0], dtype=F64)[:, None]        # the borders and a tie
    cell = torch.full((b, q, 2), 0.1, dtype=F64)
    return coord, cell


class TestEnsembleCoords:
    def test_corners_are_half_a_pixel_away_plus_eps_then_clamped(self):
        coord, _ = queries()
        h, w = 5, 7
        got = ensemble_coords(coord, (h, w))                                   # [B,4,Q,2]
        assert got.shape == (2, 4, 40, 2)
        for t, (vy, vx) in enumerate(CORNERS):
            want = coord + torch.tensor([vy / h + EPS_SHIFT, vx / w + EPS_SHIFT], dtype=F64)
            torch.testing.assert_close(got[:, t], want.clamp(-1 + 1e-6, 1 - 1e-6), rtol=0, atol=1e-15)

    def test_per_image_radius_equals_the_same_numbers(self):
        coord, _ = queries()
        r = (0.13, 0.21)
        per_image = (torch.full((2,), r[0], dtype=F64), torch.full((2,), r[1], dtype=F64))
        assert torch.equal(ensemble_coords(coord, None, radius=r), ensemble_coords(coord, None, radius=per_image))

    def test_without_the_ensemble_one_clamped_copy(self):
        coord, _ = queries()
        assert torch.equal(ensemble_coords(coord, (5, 7), False), coord.clamp(-1 + 1e-6, 1 - 1e-6).unsqueeze(1))


class TestLocalNeighbours:
    def test_four_distinct_pixels_at_most_one_pixel_away(self):
        coord, cell = queries()
        h, w = 5, 7
        centres, index_map = lr_grid((h, w), coord)
        nb = local_neighbours(coord, cell, centres, index_map, (h, w))
        b, q = coord.shape[:2]
        assert nb.idx.shape == (b, 4 * q) and nb.idx.dtype == torch.int64
        assert nb.rel.shape == (b, 4, q, 2) and nb.rel_cell.shape == (b, q, 2) and nb.pos.shape == (b, 4, q, 4)
        assert nb.rel.abs().max() <= 2 + 1e-9                                  # one LR pixel = 2 units
        torch.testing.assert_close(nb.rel_cell, cell * torch.tensor([h, w], dtype=F64))
        # the rows are corner-major and rel is measured from the unshifted query
        idx = nb.idx.view(b, 4, q)
        torch.testing.assert_close(nb.rel, (coord[:, None] - centres[idx]) * torch.tensor([h, w], dtype=F64))
        # interior queries read a 2×2 block of pixels
        inside = (coord.abs() < 1 - 2 / min(h, w)).all(-1)                     # [B,Q]
        for i, j in inside.nonzero().tolist():
            ys, xs = idx[i, :, j] // w, idx[i, :, j] % w
            assert len(set(idx[i, :, j].tolist())) == 4
            assert ys.max() - ys.min() == 1 and xs.max() - xs.min() == 1

    def test_without_the_ensemble_the_nearest_pixel(self):
        coord, cell = queries()
        centres, index_map = lr_grid((5, 7), coord)
        nb = local_neighbours(coord, cell, centres, index_map, (5, 7), local_ensemble=False)
        assert nb.rel.shape[1] == 1
        assert torch.equal(nb.idx, nearest_index(index_map, coord.clamp(-1 + 1e-6, 1 - 1e-6)))

    def test_grid_and_scale_sizes_may_differ(self):
        """LTE: centres on the input grid, radius and scaling on the (padded) feature grid."""
        coord, cell = queries()
        centres, index_map = lr_grid((5, 7), coord)
        nb = local_neighbours(coord, cell, centres, index_map, (8, 8))
        torch.testing.assert_close(nb.coords.view(2, 4, -1, 2), ensemble_coords(coord, (8, 8)))
        torch.testing.assert_close(nb.rel_cell, cell * 8)


class TestAreaBlend:
    def test_opposite_corner_areas_normalised(self):
        coord, cell = queries()
        centres, index_map = lr_grid((5, 7), coord)
        nb = local_neighbours(coord, cell, centres, index_map, (5, 7))
        preds = torch.randn(2, 4, 40, 3, dtype=F64, generator=torch.Generator().manual_seed(3))
        area = (nb.rel[..., 0] * nb.rel[..., 1]).abs() + 1e-9
        weights = area.flip(1) / area.sum(1, keepdim=True)                     # corner t ← area of 3 − t
        torch.testing.assert_close(nb.blend(preds), (weights.unsqueeze(-1) * preds).sum(1))
        assert torch.equal(nb.blend(preds), area_blend(preds, nb.rel))

    def test_a_query_on_a_pixel_centre_reads_that_pixel(self):
        h, w = 4, 6
        coord = make_coord((h, w), dtype=F64)[None, 8:9]                        # the centre of pixel 8
        centres, index_map = lr_grid((h, w), coord)
        nb = local_neighbours(coord, torch.zeros_like(coord), centres, index_map, (h, w))
        preds = torch.zeros(1, 4, 1, 1, dtype=F64)
        preds[0, nb.idx[0].tolist().index(8)] = 1.0                            # 1 at the pixel itself
        torch.testing.assert_close(nb.blend(preds), torch.ones(1, 1, 1, dtype=F64), rtol=0, atol=1e-6)

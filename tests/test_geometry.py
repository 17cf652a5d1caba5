"""Sizes, scales, coordinates and cells (sr_lib.geometry) against closed forms and known values."""
from __future__ import annotations

import pytest
import torch

from sr_lib.geometry import hr_size_for, lr_size_for, make_cell, make_coord, query_grid, scale_hw

F64 = torch.float64


class TestSizes:
    @pytest.mark.parametrize("hr, s, lr", [((100, 99), 3.3, (30, 30)),     # 99/3.3 = 29.999… → 30, not 29
                                           ((256, 255), 4.0, (64, 63)),
                                           ((17, 9), 2.5, (6, 3))])
    def test_lr_size_is_floor_with_tolerance(self, hr, s, lr):
        assert lr_size_for(hr, s) == lr

    @pytest.mark.parametrize("lr, s, hr", [((7, 10), 2.5, (18, 25)),        # 17.5 → 18
                                           ((5, 7), 2.5, (12, 18)),         # 12.5 → 12: Python rounds half to even
                                           ((13, 9), 3.3, (43, 30)),
                                           ((9, 7), (2.0, 3.0), (18, 21))]) # per axis
    def test_hr_size_is_python_round(self, lr, s, hr):
        assert hr_size_for(lr, s) == hr

    def test_integer_scale_round_trip(self):
        for s in (2, 3, 4):
            for n in range(1, 40):
                assert lr_size_for(hr_size_for((n, n + 1), s), s) == (n, n + 1)

    def test_scale_hw_is_per_axis(self):
        assert scale_hw((7, 10), (18, 25)) == (18 / 7, 2.5)


class TestCoordinates:
    @pytest.mark.parametrize("n", [1, 2, 4, 7])
    def test_pixel_centres_closed_form(self, n):
        # float64 coordinates equal the Python-float formula bit for bit
        got = make_coord((n, 1), dtype=F64)[:, 0].tolist()
        assert got == [(-1 + 1 / n) + (2 / n) * i for i in range(n)]
        torch.testing.assert_close(torch.tensor(got, dtype=F64), torch.linspace(-1 + 1 / n, 1 - 1 / n, n, dtype=F64))

    def test_known_values_and_symmetry(self):
        c = make_coord((4, 2), flatten=False, dtype=F64)
        assert c[:, 0, 0].tolist() == [-0.75, -0.25, 0.25, 0.75]
        assert c[0, :, 1].tolist() == [-0.5, 0.5]
        torch.testing.assert_close(c.flip(0, 1), -c, rtol=0, atol=1e-15)

    def test_flattening_is_row_major_y_then_x(self):
        H, W = 3, 5
        grid = make_coord((H, W), flatten=False, dtype=F64)
        flat = make_coord((H, W), dtype=F64)
        assert grid.shape == (H, W, 2) and flat.shape == (H * W, 2)
        for r in range(H):
            for c in range(W):
                assert flat[r * W + c].tolist() == [grid[r, 0, 0].item(), grid[0, c, 1].item()]

    def test_dtype_and_device(self):
        assert make_coord((3, 4), dtype=torch.float32).dtype == torch.float32
        assert make_coord((3, 4), device="cpu").device.type == "cpu"


class TestCells:
    def test_cell_is_hr_pixel_size(self):
        cell = make_cell((18, 25), dtype=F64)
        assert cell.shape == (18 * 25, 2)
        assert torch.equal(cell, torch.tensor([[2 / 18, 2 / 25]], dtype=F64).expand(450, 2))

    def test_cell_scale_and_count(self):
        cell = make_cell((10, 20), 3, dtype=F64, cell_scale=1.5)
        assert cell.shape == (3, 2) and cell[0].tolist() == [2 / 10 * 1.5, 2 / 20 * 1.5]

    def test_cell_is_writable_not_a_view(self):
        cell = make_cell((4, 4), 2)
        cell[0, 0] = 9.0
        assert cell[1, 0] == 0.5


class TestQueryGrid:
    def test_flat_layout(self):
        coord, cell = query_grid((3, 5), 2, "flat", dtype=F64)
        assert coord.shape == cell.shape == (2, 15, 2)
        assert torch.equal(coord[1], make_coord((3, 5), dtype=F64))
        assert torch.equal(cell[0, 7], torch.tensor([2 / 3, 2 / 5], dtype=F64))

    def test_grid_layout_is_the_flat_one_reshaped(self):
        fc, fl = query_grid((3, 5), 2, "flat", cell_scale=2.0, dtype=F64)
        gc, gl = query_grid((3, 5), 2, "grid", cell_scale=2.0, dtype=F64)
        assert gc.shape == (2, 3, 5, 2) and gl.shape == (2, 2, 3, 5)
        assert torch.equal(gc.reshape(2, 15, 2), fc)
        assert torch.equal(gl.permute(0, 2, 3, 1).reshape(2, 15, 2), fl)
        assert gl[0, :, 0, 0].tolist() == [4 / 3, 4 / 5]

    def test_unknown_layout(self):
        with pytest.raises(ValueError, match="unknown query layout"):
            query_grid((2, 2), 1, "tiles")

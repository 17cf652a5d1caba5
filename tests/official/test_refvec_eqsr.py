"""EQSR against the official implementation's reference vectors (refvec README §4.6, §6):
state_dict layout, parameter counts, encoder features and decoded images in float64."""
from __future__ import annotations

import pytest
import torch

from sr_lib.official.refvec import check_keys, from_reference, load_reference, official_forward, valid_mask
from sr_lib.models.base import count_parameters
from sr_lib.official.eqsr import eqsr_from_config, official_call, official_scale_code

TOL = 1e-9


@pytest.fixture(scope="module")
def ref(refvec_dir):
    return load_reference(refvec_dir / "eqsr_small.pt")


@pytest.fixture(scope="module")
def model(ref):
    return from_reference(ref)


class TestStateDictLayout:
    def test_keys_order_and_shapes_equal_the_official_ones(self, ref, model):
        check_keys(model, ref)      # raises on any difference

    def test_buffers_come_first_and_keep_their_dtype(self, ref, model):
        ours = [(k, v.dtype) for k, v in model.state_dict().items()][:2]
        theirs = [(k, getattr(torch, d.split(".")[-1])) for k, _, d in ref["keys"][:2]]
        assert ours == theirs == [("relative_position_index_SA", torch.int64),
                                  ("relative_position_index_OCA", torch.int64)]

    def test_parameter_count_per_module_matches_official(self, ref, model):
        counts = ref["param_counts"]
        for prefix, expected in counts.items():
            if prefix.startswith("__"):
                continue
            ours = sum(p.numel() for n, p in model.named_parameters()
                       if n == prefix or n.startswith(prefix + "."))
            assert ours == expected, prefix
        assert count_parameters(model) == counts["__total__"]
        assert sum(b.numel() for b in model.buffers()) == counts["__total_buffers__"]

    def test_full_official_config_has_the_released_size(self, ref):
        full = dict(ref["config"], embed_dim=180, depths=[5] * 6, num_heads=[6] * 6)
        with torch.device("meta"):
            net = eqsr_from_config(full)
        assert count_parameters(net) == ref["param_counts"]["__full_official_config_total__"] == 13_619_510
        assert sum(b.numel() for b in net.buffers()) == ref["param_counts"]["__full_official_config_buffers__"]


class TestOfficialEquivalence:
    def test_encoder_features_match(self, ref, model):
        case = "x2.5"
        x, cell = ref["inp_fed"][case], ref["cell"][case]
        mod_pad = tuple(ref["mod_pad"][case])
        with torch.no_grad():
            feat = model.encode_with_code(x, official_scale_code(model, cell, x.shape[-2] - mod_pad[0]), mod_pad)
        assert feat.shape == ref["feat"].shape == (1, 60, 24, 20)
        assert (feat - ref["feat"]).abs().max().item() <= TOL

    @pytest.mark.parametrize("case", ["x7", "x3.3_rect"])
    def test_output_matches_on_well_defined_queries(self, ref, model, case):
        out = official_forward(model, ref, case)
        assert out.shape == ref["out"][case].shape
        mask = valid_mask(ref, case)                     # [1,H,W]
        assert mask.sum() > 0.9 * mask.numel()
        err = (out - ref["out"][case]).abs().amax(dim=1)[mask]
        assert err.max().item() <= TOL

    def test_x2_5_has_no_well_defined_query(self, ref):
        # Rounding ties of the nearest sampling + HR-space mixing (README §5): nothing to compare.
        assert not valid_mask(ref, "x2.5").any()

    def test_unknown_variant_is_rejected(self, ref, model):
        with pytest.raises(ValueError, match="variant"):
            official_forward(model, ref, "x7", variant="cellclip")


class TestOfficialCall:
    """The release's cell-derived call (``sr_lib.official.eqsr.official_call``) against the model's contract."""

    @staticmethod
    def tiny(**kw):
        import sr_lib
        torch.manual_seed(0)
        return sr_lib.make("eqsr", groups=2, blocks=2, embed_dim=16, num_heads=2, window_size=4, latent_dim=32,
                           **kw).double().eval()

    @staticmethod
    def grid(h, w):
        from sr_lib.geometry import make_coord
        coord = make_coord((h, w), flatten=False, dtype=torch.float64).unsqueeze(0)          # [1,H,W,2]
        cell = torch.tensor([2.0 / h, 2.0 / w], dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, h, w)
        return coord, cell

    @pytest.mark.parametrize("scale_code", ["released", "scale"])
    def test_equals_encode_then_query_at_the_cells_scale(self, scale_code):
        model = self.tiny(scale_code=scale_code)
        x = torch.rand(1, 3, 7, 9, dtype=torch.float64)
        coord, cell = self.grid(21, 27)
        with torch.no_grad():
            ours = model.query(model.encode(x, 3.0), coord, cell)
            torch.testing.assert_close(official_call(model, x, coord, cell), ours, rtol=0, atol=1e-12)

    def test_refvec_features_through_the_contract(self, ref, model):
        # the unpadded input and the per-axis scale read off the cell give the release's features
        from sr_lib.official.refvec import scale_hw_from_cell
        case = "x2.5"
        x, cell = ref["inp_fed"][case], ref["cell"][case]
        ph, pw = (int(p) for p in ref["mod_pad"][case])
        lr = x[..., :x.shape[-2] - ph, :x.shape[-1] - pw]
        with torch.no_grad():
            feat = model.encode(lr, scale_hw_from_cell(cell, lr.shape[-2:]))              # (s_y, s_x)
        assert (feat - ref["feat"]).abs().max().item() <= TOL

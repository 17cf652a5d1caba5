"""EQSR against the official implementation's reference vectors (refvec README §4.6, §6):
state_dict layout, parameter counts, encoder features and decoded images in float64."""
from __future__ import annotations

import pytest
import torch

from sr_lib.official.refvec import check_keys, from_reference, load_reference, official_forward, valid_mask
from sr_lib.models.base import count_parameters
from sr_lib.models.eqsr import OfficialEQSR

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
            net = OfficialEQSR.from_official_config(full)
        assert count_parameters(net) == ref["param_counts"]["__full_official_config_total__"] == 13_619_510
        assert sum(b.numel() for b in net.buffers()) == ref["param_counts"]["__full_official_config_buffers__"]


class TestOfficialEquivalence:
    def test_encoder_features_match(self, ref, model):
        case = "x2.5"
        x, cell = ref["inp_fed"][case], ref["cell"][case]
        mod_pad = tuple(ref["mod_pad"][case])
        with torch.no_grad():
            feat = model.encode_with_code(x, model.scale_code(x.shape[-2] - mod_pad[0], cell=cell), mod_pad)
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

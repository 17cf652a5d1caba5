"""LIIF / MetaSR / LTE equal the official implementations (refvec README §4.2–4.4, §6).

Every reference file, every case: our model built from the official config with the
rule weights reproduces ``out`` (and ``out_cellclip``) to 1e-9 on ``valid & valid_roundoff``
and ``feat`` to 1e-9. The x2.5 case runs all its queries through ``compat.official_forward``;
the larger cases run a strided subset of their queries in the fast suite (the decoders
treat queries independently) and all of them with ``--runslow``.
"""
from __future__ import annotations

import copy

import pytest
import torch

import sr_lib
from sr_lib import compat
from sr_lib.models.base import count_parameters
from sr_lib.official.liif import official_query_inputs
from sr_lib.engine.inference import super_resolve

FILES = ["liif_edsr-baseline", "liif_rdn_small", "metasr_edsr-baseline", "lte_edsr-baseline", "lte_swinir_small"]
CASES = ["x2.5", "x7", "x3.3_rect"]
TOL = 1e-9
SUBSET_STRIDE = 13          # fast suite: every 13th query of x7 / x3.3_rect (plus the last row)


class Encoded(dict):
    """``model.encode`` of each case's input, computed once per file (the encoders dominate the cost)."""

    def __init__(self, ref, model):
        super().__init__()
        self.ref, self.model = ref, model

    def __missing__(self, case):
        with torch.no_grad():
            self[case] = self.model.encode(self.ref["inp_fed"][case])
        return self[case]


@pytest.fixture(scope="module", params=FILES)
def ref_model(request, refvec_dir):
    ref = compat.load_reference(refvec_dir / f"{request.param}.pt")
    model = compat.from_reference(ref)
    return ref, model, Encoded(ref, model)


def _variants(ref, case):
    return [""] + (["cellclip"] if case in ref.get("out_cellclip", {}) else [])


def _query_subset(ref, case):
    q = ref["coord"][case].shape[1]
    w = ref["hr_size"][case][1]
    return torch.cat([torch.arange(0, q, SUBSET_STRIDE), torch.arange(q - w, q)]).unique()


class TestOfficialEquivalence:
    def test_state_dict_keys_equal_official(self, ref_model):
        ref, model, encoded = ref_model
        ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
        assert ours == [(k, tuple(s)) for k, s, _ in ref["keys"]]

    def test_created_dtypes_equal_official(self, ref_model):
        ref, _, _ = ref_model
        fresh = compat.build_official(ref["config"])
        assert [str(v.dtype) for v in fresh.state_dict().values()] == [str(d) for _, _, d in ref["keys"]]

    def test_parameter_count_equals_official(self, ref_model):
        ref, model, encoded = ref_model
        assert count_parameters(model) == ref["param_counts"]["__total__"]
        assert sum(b.numel() for b in model.buffers()) == ref["param_counts"]["__total_buffers__"]

    def test_feat_matches_official(self, ref_model):
        ref, model, encoded = ref_model
        feat = encoded["x2.5"].feat
        assert feat.shape == ref["feat"].shape
        assert (feat - ref["feat"]).abs().max() <= TOL

    def test_x25_matches_official_all_queries(self, ref_model):
        ref, model, encoded = ref_model
        out = compat.official_forward(model, ref, "x2.5")
        err = (out - ref["out"]["x2.5"]).abs().amax(-1)
        assert out.shape == ref["out"]["x2.5"].shape
        assert err[compat.valid_mask(ref, "x2.5")].max() <= TOL

    @pytest.mark.parametrize("case", ["x7", "x3.3_rect"])
    def test_case_matches_official_on_query_subset(self, ref_model, case):
        ref, model, encoded = ref_model
        sel = _query_subset(ref, case)
        for variant in _variants(ref, case):
            _, coord, cell = official_query_inputs(ref, case, variant)
            with torch.no_grad():
                out = model.query(encoded[case], coord[:, sel], cell[:, sel])
            want = ref["out_cellclip" if variant else "out"][case][:, sel]
            mask = compat.valid_mask(ref, case, variant)[:, sel]
            assert (out - want).abs().amax(-1)[mask].max() <= TOL, variant

    @pytest.mark.slow
    @pytest.mark.parametrize("case", CASES)
    def test_case_matches_official_all_queries(self, ref_model, case):
        ref, model, encoded = ref_model
        for variant in _variants(ref, case):
            out = compat.official_forward(model, ref, case, variant)
            want = ref["out_cellclip" if variant else "out"][case]
            assert (out - want).abs().amax(-1)[compat.valid_mask(ref, case, variant)].max() <= TOL

    def test_float32_model_close_to_float64_reference(self, ref_model):
        ref, model, encoded = ref_model
        m32 = copy.deepcopy(model).float()
        sel = _query_subset(ref, "x3.3_rect")
        inp, coord, cell = official_query_inputs(ref, "x3.3_rect")
        with torch.no_grad():
            out = m32(inp.float(), coord[:, sel].float(), cell[:, sel].float())
        assert out.dtype == torch.float32
        mask = compat.valid_mask(ref, "x3.3_rect")[:, sel]
        assert (out.double() - ref["out"]["x3.3_rect"][:, sel]).abs().amax(-1)[mask].max() <= 1e-3


class TestFullOfficialConfigs:
    """The official configs before the refvec size changes (README §1) have the official sizes."""

    PRINTED_TOTALS = {"liif_edsr-baseline": 1_567_323, "liif_rdn_small": 22_320_835, "lte_swinir_small": 12_096_871}
    FULL_ENCODERS = {"rdn": {"name": "rdn", "args": {"no_upsampling": True}},          # RDNconfig 'B'
                     "swinir-class-direct": {"name": "swinir", "args": {}}}            # make_swinir defaults

    @pytest.mark.parametrize("name", FILES)
    def test_full_config_totals_match_official(self, name, refvec_dir):
        ref = compat.load_reference(refvec_dir / f"{name}.pt")
        args = ref["config"]["args"]
        enc = self.FULL_ENCODERS.get(args["encoder_spec"]["name"], args["encoder_spec"])
        full = compat.build_official({**ref["config"], "args": {**args, "encoder_spec": enc}})
        counts = ref["param_counts"]
        assert count_parameters(full) == counts["__full_official_config_total__"]
        assert sum(b.numel() for b in full.buffers()) == counts["__full_official_config_buffers__"]
        if name in self.PRINTED_TOTALS:
            assert count_parameters(full) == self.PRINTED_TOTALS[name]


class TestDecoderProperties:
    """Behaviour that holds for any input, beyond the stored cases."""

    @pytest.mark.parametrize("name", ["liif", "metasr", "lte"])
    def test_queries_are_independent_and_batched(self, name):
        torch.manual_seed(0)
        model = sr_lib.make(name, n_resblocks=1, n_feats=8).double().eval()
        x = torch.rand(2, 3, 7, 9, dtype=torch.float64)
        coord = torch.rand(2, 50, 2, dtype=torch.float64) * 2 - 1
        cell = torch.full((2, 50, 2), 2 / 20, dtype=torch.float64)
        with torch.no_grad():
            full = model(x, coord, cell)
            parts = torch.cat([model(x, coord[:, :17], cell[:, :17]), model(x, coord[:, 17:], cell[:, 17:])], 1)
            single = model(x[1:], coord[1:], cell[1:])
        assert full.shape == (2, 50, 3)
        torch.testing.assert_close(parts, full, rtol=0, atol=1e-13)
        torch.testing.assert_close(single, full[1:], rtol=0, atol=1e-13)

    def test_liif_without_ensemble_returns_nearest_latent_prediction(self):
        torch.manual_seed(0)
        model = sr_lib.make("liif", n_resblocks=1, n_feats=8, local_ensemble=False, hidden=[16]).double().eval()
        x = torch.rand(1, 3, 5, 6, dtype=torch.float64)
        z = model.encode(x)
        # query exactly at LR centres: rel = 0, so the MLP sees (latent, 0, 0, cell)
        coord = z.centres.unsqueeze(0)
        cell = torch.full_like(coord, 0.1)
        with torch.no_grad():
            out = model.query(z, coord, cell)
            direct = model.imnet(torch.cat([z.latent, torch.zeros_like(coord), cell * coord.new_tensor([5, 6])], -1))
        torch.testing.assert_close(out, direct, rtol=0, atol=1e-14)

    @pytest.mark.parametrize("flags, in_dim", [({}, 580), ({"feat_unfold": False}, 68),
                                               ({"cell_decode": False}, 578)])
    def test_liif_ablation_flags_size_the_mlp(self, flags, in_dim):
        model = sr_lib.make("liif", n_resblocks=1, **flags)
        assert model.imnet.layers[0].in_features == in_dim

    def test_lte_ensemble_blend_is_a_partition_of_unity(self):
        # with a constant-output MLP the area weights must sum to 1: out = const + bilinear skip
        torch.manual_seed(0)
        model = sr_lib.make("lte", n_resblocks=1, n_feats=8, hidden=[8]).double().eval()
        last = model.imnet.layers[-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.constant_(last.bias, 0.25)
        x = torch.rand(1, 3, 6, 5, dtype=torch.float64)
        coord = torch.rand(1, 40, 2, dtype=torch.float64) * 2 - 1
        cell = torch.full_like(coord, 0.05)
        with torch.no_grad():
            out = model(x, coord, cell)
        skip = torch.nn.functional.grid_sample(x, coord.flip(-1).unsqueeze(1), mode="bilinear",
                                               padding_mode="border", align_corners=False)[:, :, 0].permute(0, 2, 1)
        torch.testing.assert_close(out, skip + 0.25, rtol=0, atol=1e-14)

    def test_super_resolve_shape_and_range(self):
        model = sr_lib.make("metasr", n_resblocks=1, n_feats=8).eval()
        sr = super_resolve(model, torch.rand(1, 3, 6, 7), out_size=(15, 17), chunk=50)
        assert sr.shape == (1, 3, 15, 17) and 0 <= sr.min() and sr.max() <= 1

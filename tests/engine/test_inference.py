"""Whole-image inference (sr_lib.engine.inference): the scale converted once, the window padding
read from the model under every protocol, tiles, and ArbSR through the common path."""
import pytest
import torch

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.engine.evaluate import ModelUpscaler, as_upscaler
from sr_lib.engine.inference import DEFAULT_CHUNK, decode_inputs, output_geometry, super_resolve, window_pad
from sr_lib.geometry import query_grid
from sr_lib.metrics.protocols import PROTOCOLS

F64 = torch.float64


@pytest.fixture(autouse=True)
def no_memory_probe(monkeypatch):
    """Outputs do not depend on the memory plan (tests/engine/test_memory.py); skip its probes here."""
    monkeypatch.setenv("SR_MEMORY_BUDGET", "inf")


def smoke(method: str, backbone: str):
    torch.manual_seed(0)
    return sr_lib.make(method, **model_options(config_for("smoke"), method, backbone)).eval()


class TestOutputGeometry:
    def test_scale_gives_rounded_size_and_the_callers_scale(self):
        assert output_geometry((7, 10), scale=2.5) == ((18, 25), (2.5, 2.5))      # round(17.5) = 18
        assert output_geometry((7, 10), scale=(2.0, 3.5)) == ((14, 35), (2.0, 3.5))

    def test_size_alone_gives_the_per_axis_ratio(self):
        assert output_geometry((8, 10), out_size=(20, 30)) == ((20, 30), (2.5, 3.0))

    def test_size_wins_over_the_scale(self):
        assert output_geometry((7, 7), scale=2.5, out_size=(17, 17)) == ((17, 17), (2.5, 2.5))

    @pytest.mark.parametrize("kw", [{}, {"scale": 0}, {"scale": float("nan")}, {"scale": (1, 2, 3)},
                                    {"scale": "x"}, {"out_size": (0, 4)}, {"out_size": (4,)}])
    def test_bad_requests_are_refused(self, kw):
        with pytest.raises(ValueError):
            output_geometry((8, 8), **kw)


class TestSuperResolve:
    def test_scale_and_size_give_the_same_image(self):
        model = smoke("liif", "edsr-baseline")
        lr = torch.rand(1, 3, 9, 11)
        by_scale = super_resolve(model, lr, scale=(2.0, 3.0))
        assert by_scale.shape == (1, 3, 18, 33)
        assert torch.equal(by_scale, super_resolve(model, lr, out_size=(18, 33)))
        assert 0 <= by_scale.min() and by_scale.max() <= 1

    @pytest.mark.parametrize("method", ["lte", "ciaosr", "metasr"])     # "half" / "mean" norms
    def test_flat_decoder_is_encode_then_query_on_the_shared_grid(self, method):
        # chunks of 50 (the last one shorter) with their coordinates built per chunk and written into
        # one output: the same numbers as one query over query_grid's whole flat grid
        model = smoke(method, "edsr-baseline").double()
        lr = torch.rand(2, 3, 6, 7, dtype=F64)
        sr = super_resolve(model, lr, out_size=(13, 16), chunk=50)
        with torch.no_grad():
            coord, cell = query_grid((13, 16), 2, "flat", dtype=F64)
            out = model.query(model.encode(model.normalize(lr), (13 / 6, 16 / 7)), coord, cell)   # [2,Q,3]
        ref = model.denormalize(out.permute(0, 2, 1).reshape(2, 3, 13, 16)).clamp(0, 1)
        torch.testing.assert_close(sr, ref, rtol=0, atol=1e-12)

    @pytest.mark.parametrize("method", ["lte", "ciaosr"])
    def test_chunks_in_worker_threads_give_the_same_image(self, method, monkeypatch):
        # with 2 intra-op threads the chunks are decoded 2 at a time in worker threads (each op on one
        # thread; LTE keeps one set of buffers per thread): the image of the decode in this thread
        from sr_lib.engine import inference
        from sr_lib.engine.memory import LiveBytes, decode_workers
        model = smoke(method, "edsr-baseline")
        lr = torch.rand(1, 3, 9, 11)
        before = torch.get_num_threads()
        try:
            torch.set_num_threads(2)
            assert decode_workers("cpu", 27 * 40, 64) == 2
            with LiveBytes():                                  # thread-local modes keep the decode in this thread
                assert decode_workers("cpu", 27 * 40, 64) == 1
            two = super_resolve(model, lr, out_size=(27, 40), chunk=64)
            assert torch.get_num_threads() == 2                # restored after the decode
            monkeypatch.setattr(inference, "decode_workers", lambda *a: 1)
            here = super_resolve(model, lr, out_size=(27, 40), chunk=64)
        finally:
            torch.set_num_threads(before)
        assert torch.equal(here, two)

    def test_arbsr_gets_the_per_axis_scale_through_the_common_path(self):
        model = smoke("arbsr", "edsr-baseline").double()
        lr = torch.rand(1, 3, 5, 7, dtype=F64)
        sr = super_resolve(model, lr, out_size=(12, 17))                  # asymmetric: 2.4 × 2.43
        s_hw, coord, cell = decode_inputs(model, lr, (12, 17))
        assert s_hw == (12 / 5, 17 / 7) and coord.shape == (1, 12, 17, 2) and cell.shape == (1, 2, 12, 17)
        with torch.no_grad():
            ref = model.query(model.encode(lr, (12 / 5, 17 / 7)), coord, cell).clamp(0, 1)
            swapped = model.query(model.encode(lr, (17 / 7, 12 / 5)), coord, cell).clamp(0, 1)
        torch.testing.assert_close(sr, ref, rtol=0, atol=0)
        assert not torch.allclose(sr, swapped)                            # the two axes are told apart

    def test_models_no_longer_carry_their_own_inference(self):
        for name in ("liif", "arbsr", "eqsr"):
            assert not hasattr(smoke(name, "eqnet" if name == "eqsr" else "edsr-baseline"), "super_resolve")

    def test_upscaler_returns_on_the_lrs_dtype(self):
        model = smoke("liif", "edsr-baseline").double()
        lr = torch.rand(1, 3, 6, 6)
        out = ModelUpscaler(model)(lr, (12, 12), 2.0)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, super_resolve(model, lr.double(), scale=2.0).float())

    def test_default_chunk(self):
        assert DEFAULT_CHUNK == 1024


class TestWindowPad:
    @pytest.mark.parametrize("n,padded", [(16, 24), (78, 80), (3, 8), (1, 8)])
    def test_pads_by_one_to_window_rows_never_zero(self, n, padded):
        lr = torch.rand(1, 3, n, n)
        out = window_pad(lr, 8)
        assert out.shape[-2:] == (padded, padded)
        assert torch.equal(out[..., :n, :n], lr)

    def test_flip_and_concatenate(self):
        lr = torch.arange(5.0).view(1, 1, 5, 1).expand(1, 3, 5, 8)
        assert window_pad(lr, 8)[0, 0, :, 0].tolist() == [0, 1, 2, 3, 4, 4, 3, 2]


# every method/backbone pair whose window the evaluation has to get right
INPUT_WINDOW = {("liif", "edsr-baseline"): 0, ("liif", "rdn"): 0, ("liif", "swinir"): 8,
                ("metasr", "swinir"): 8, ("lte", "swinir"): 8, ("itsrn", "swinir"): 8,
                ("ipe-liif", "swinir"): 8, ("ipe-metasr", "swinir"): 8, ("liif-pe", "swinir"): 8,
                ("lte", "edsr-baseline"): 0, ("ciaosr", "swinir"): 0, ("ciaosr", "edsr-baseline"): 0,
                ("eqsr", "eqnet"): 0, ("arbsr", "edsr-baseline"): 0}


@pytest.mark.parametrize("method,backbone", sorted(INPUT_WINDOW))
def test_input_window_is_a_property_of_the_encoder(method, backbone):
    model = sr_lib.make(method, **model_options(config_for("smoke"), method, backbone))
    assert model.input_window == INPUT_WINDOW[method, backbone]


def _pad_by_hand(lr, n):
    """LTE test.py: flip-concatenate to ``n`` rows and columns (38 → 40)."""
    rows = torch.cat([lr, lr.flip(-2)], -2)[..., :n, :]                       # [B,3,n,w]
    return torch.cat([rows, rows.flip(-1)], -1)[..., :n]                       # [B,3,n,n]


@pytest.mark.parametrize("method,backbone,side", [("liif", "swinir", 38), ("liif", "edsr-baseline", 38),
                                                  ("liif", "rdn", 38), ("ciaosr", "swinir", 22)])
def test_padding_decision_is_the_same_under_every_protocol(method, backbone, side):
    """An LR side that is not a multiple of 8: the LTE-flavour SwinIR is padded like by hand (38 → 40)
    under every protocol (it was left unpadded under ``ciaosr``, whose tiles then fed it 38-px
    images: LIIF-SwinIR scored 22.95 dB on Set5 ×2 instead of 31.57); the others are decoded as
    they are (CiaoSR's SwinIR pads and crops inside; 22 px keeps its non-local branch quick)."""
    model = smoke(method, backbone)
    lr = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    out = (2 * side, 2 * side)
    want = unpadded = super_resolve(model, lr, out_size=out, window=0)
    if INPUT_WINDOW[method, backbone]:
        n = (side // 8 + 1) * 8
        want = super_resolve(model, _pad_by_hand(lr, n), out_size=(2 * n, 2 * n), window=0)[..., :out[0], :out[1]]
        assert not torch.allclose(unpadded, want, atol=1e-3)         # the test can tell them apart
    for name in PROTOCOLS:                       # at ×2 the ciaosr protocol tiles (192/32: one 38-px tile)
        got = as_upscaler(model, name, 2.0)(lr, out, 2.0)
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=f"protocol {name}")

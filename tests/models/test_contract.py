"""The one model contract, run over every registered method (``sr_lib.list_models()``).

For each method on tiny backbones (EDSR-baseline, plus SwinIR where the method takes it), on
``--device`` and in float32 and float64:

- ``engine.inference.super_resolve(model, lr, scale=s)`` (or ``out_size=``) returns
  ``[B,3,H,W]`` with ``(H, W) = round(s·(h, w))`` per side, for odd, non-square LR sizes and
  non-integer scales, finite and inside [0, 1], in the input's dtype and on its device;
- it equals the contract done by hand (and does not depend on the query chunk): ``feat = model.encode(normalize(lr), scale_hw)`` with the
  per-axis scale ``scale_hw = (H/h, W/w)``, then ``model.query(feat, coord, cell)`` on
  ``geometry.query_grid((H, W), B, model.query_layout)``, then ``denormalize`` and clamp;
- the model has a registered ``.encoder`` and ``feature_blocks()`` (what CKA reads), and the
  attributes callers read (``query_layout``, ``input_window``).

A model whose encoder needs the caller to pad the LR (``input_window > 0``: the LTE-flavour
SwinIR) is compared with ``window=0`` (no caller padding), and its default call is checked for shape.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.geometry import query_grid, scale_hw

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Backbones per method; a method not listed runs on both defaults.
DEFAULT_BACKBONES = ("edsr-baseline", "swinir")
BACKBONES = {
    "arbsr": ("edsr-baseline",),    # ArbSR plugs into an EDSR-layout body (head, body, out_dim)
    "eqsr": ("eqnet",),             # EQSR is defined on its own backbone
}
# Beyond the smoke profile's sizes: ITSRN's default decoders are 256 wide (0.26 M parameters).
EXTRA_OPTIONS = {"itsrn": dict(hidden=[16, 16], ipe_hidden=[16])}

MODELS = [(m, b) for m in sr_lib.list_models() for b in BACKBONES.get(m, DEFAULT_BACKBONES)]

# (LR size, scale or None, out size or None, expected output size): odd and non-square LR
# sizes, non-integer scales with the official rounding (7·2.5 = 17.5 → 18, 13·3.3 = 42.9 → 43,
# 9·3.3 = 29.7 → 30), and an out_size whose two axes have different scales (20/9, 23/7).
CASES = [((7, 10), 2.5, None, (18, 25)),
         ((13, 9), 3.3, None, (43, 30)),
         ((9, 7), None, (20, 23), (20, 23))]

BATCH = 2
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}


def tiny_model(method: str, backbone: str, device, dtype) -> nn.Module:
    opts = model_options(config_for("smoke"), method, backbone, EXTRA_OPTIONS.get(method))
    torch.manual_seed(0)
    return sr_lib.make(method, **opts).to(device=device, dtype=dtype).eval()


def random_lr(hw, device, dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(BATCH, 3, *hw, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def by_hand(model, lr: torch.Tensor, out_hw) -> torch.Tensor:
    """encode → query → denormalize, with the coordinates and cells of ``geometry.query_grid``."""
    b, _, h, w = lr.shape
    H, W = out_hw
    feat = model.encode(model.normalize(lr), scale_hw((h, w), out_hw))
    coord, cell = query_grid(out_hw, b, model.query_layout, dtype=lr.dtype, device=lr.device)
    out = model.query(feat, coord, cell)
    if model.query_layout == "flat":
        assert out.shape == (b, H * W, 3)
        out = out.permute(0, 2, 1).reshape(b, 3, H, W)                 # [B,Q,3] → [B,3,H,W]
    assert out.shape == (b, 3, H, W)
    return model.denormalize(out)


def _ids(mb):
    return f"{mb[0]}:{mb[1]}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0][0]}x{c[0][1]}-" + (f"s{c[1]}" if c[1] else
                                                                               f"to{c[2][0]}x{c[2][1]}"))
@pytest.mark.parametrize("method_backbone", MODELS, ids=_ids)
def test_super_resolve_is_encode_then_query(method_backbone, case, device, dtype):
    from sr_lib.engine.inference import super_resolve

    method, backbone = method_backbone
    lr_hw, scale, out_size, want_hw = case
    model = tiny_model(method, backbone, device, dtype)
    lr = random_lr(lr_hw, device, dtype)
    size_kw = dict(scale=scale) if scale is not None else dict(out_size=out_size)
    window = int(getattr(model, "input_window", 0) or 0)

    with torch.no_grad():
        if window and case is CASES[0]:      # the caller's flip-concat padding path: shape only
            padded = super_resolve(model, lr, **size_kw)
            assert padded.shape == (BATCH, 3, *want_hw)
        nopad = dict(window=0) if window else {}
        sr = super_resolve(model, lr, **size_kw, **nopad)
        ref = by_hand(model, lr, want_hw)
        # queries are independent: decoding 97 at a time changes nothing (grid layouts ignore chunk)
        small_chunks = super_resolve(model, lr, **size_kw, **nopad, chunk=97)

    assert sr.shape == (BATCH, 3, *want_hw)
    assert sr.dtype == dtype and sr.device.type == device.type
    assert torch.isfinite(sr).all() and sr.min() >= 0 and sr.max() <= 1
    assert torch.isfinite(ref).all()
    torch.testing.assert_close(sr, ref.clamp(0, 1), **TOL[dtype])
    torch.testing.assert_close(small_chunks, sr, **TOL[dtype])


@pytest.mark.parametrize("method_backbone", MODELS, ids=_ids)
def test_encoder_feature_blocks_and_attributes(method_backbone):
    method, backbone = method_backbone
    model = tiny_model(method, backbone, "cpu", torch.float32)
    members = {id(m) for m in model.modules()}

    # .encoder: a child module, or a view over the model's own modules where registering it would
    # change the official state_dict keys (CiaoSR, EQSR): its parameters are the model's, not copies
    assert isinstance(getattr(model, "encoder", None), nn.Module), f"{method} has no .encoder module"
    own = {id(p) for p in model.parameters()}
    enc = [id(p) for p in model.encoder.parameters()]
    assert enc and set(enc) <= own, f"{method}.encoder's parameters are not (all) the model's"

    blocks = model.feature_blocks()
    assert isinstance(blocks, list) and blocks, f"{method}.feature_blocks() is empty"
    names = [n for n, _ in blocks]
    assert all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names)
    assert all(isinstance(m, nn.Module) and id(m) in members for _, m in blocks)
    assert all(model.get_submodule(n) is m for n, m in blocks), "names are not the model's module names"

    assert model.query_layout in ("flat", "grid")
    assert isinstance(model.input_window, int) and model.input_window >= 0

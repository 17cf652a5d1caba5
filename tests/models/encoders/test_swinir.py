"""The SwinIR encoder (sr_lib.models.encoders.swinir): one Swin block against dense attention,
the two flavours (LTE pads and keeps the padding, CiaoSR crops back), the official CiaoSR encoder."""
from __future__ import annotations

import pytest
import torch

import sr_lib
from sr_lib import compat
from sr_lib.models.encoders.swinir import SwinBlock, SwinIR
from sr_lib.models.layers.window_ops import relative_position_index, shifted_window_mask


class TestSwinBlock:
    def test_single_window_block_equals_dense_attention(self):
        # one 8×8 window, no shift: the block is LN → MHSA with relative bias → skip → LN → MLP → skip
        torch.manual_seed(0)
        blk = SwinBlock(dim=12, resolution=48, num_heads=3, ws=8, shift=0, mlp_ratio=2.0,
                        qkv_bias=True, drop_path=0.0).double().eval()
        x = torch.randn(2, 64, 12, dtype=torch.float64)
        a = blk.attn
        y = blk.norm1(x)
        q, k, v = a.qkv(y).view(2, 64, 3, 3, 4).permute(2, 0, 3, 1, 4)
        bias = a.relative_position_bias_table[relative_position_index(8)].permute(2, 0, 1)   # [heads,N,N]
        att = torch.softmax(q @ k.transpose(-1, -2) / 2.0 + bias, -1)                     # head dim 4
        y = x + a.proj((att @ v).transpose(1, 2).reshape(2, 64, 12))
        want = y + blk.mlp(blk.norm2(y))
        with torch.no_grad():
            torch.testing.assert_close(blk(x, (8, 8)), want, rtol=0, atol=1e-12)


class TestSwinIR:
    def test_loading_weights_leaves_the_cached_masks_intact(self):
        enc = sr_lib.make_backbone("swinir", embed_dim=12, depths=[2], num_heads=[3])
        sd = enc.state_dict()
        sd["layers.0.residual_group.blocks.1.attn_mask"] = torch.zeros_like(sd["layers.0.residual_group.blocks.1.attn_mask"])
        enc.load_state_dict(sd)
        assert shifted_window_mask(48, 48, 8, 4).min() == -100.0

    def test_lte_flavour_pads_and_keeps_padding(self):
        enc = sr_lib.make_backbone("swinir", embed_dim=12, depths=[2], num_heads=[3]).eval()
        with torch.no_grad():
            out = enc(torch.rand(1, 3, 10, 17))
        assert enc.out_dim == 64 and out.shape == (1, 64, 16, 24)

    def test_ciaosr_flavour_crops_back(self):
        enc = sr_lib.make_backbone("swinir", embed_dim=12, depths=[2], num_heads=[3], out_conv=False).eval()
        with torch.no_grad():
            out = enc(torch.rand(1, 3, 10, 17))
        assert enc.out_dim == 12 and out.shape == (1, 12, 10, 17)

    def test_ciaosr_flavour_matches_official_encoder(self, refvec_dir):
        # ciaosr_swinir_small stores its encoder at the top level; its `feat` is the cropped SwinIR output
        ref = compat.load_reference(refvec_dir / "ciaosr_swinir_small.pt")
        cfg = ref["config"]["encoder"]
        enc = SwinIR(img_size=cfg["img_size"], embed_dim=cfg["embed_dim"], depths=cfg["depths"],
                     num_heads=cfg["num_heads"], window_size=cfg["window_size"], mlp_ratio=cfg["mlp_ratio"],
                     out_conv=False).double().eval()
        ours = enc.state_dict()
        theirs = [(k, tuple(s)) for k, s, _ in ref["keys"] if k.split(".")[0] in
                  {n for n, _ in enc.named_children()}]
        assert [(k, tuple(v.shape)) for k, v in ours.items()] == theirs
        rule = compat.rule_weights(ref)
        ours.update({k: rule[k] for k in ours if k in rule})
        enc.load_state_dict(ours)
        with torch.no_grad():
            feat = enc(ref["inp_fed"]["x2.5"])
        assert (feat - ref["feat"]).abs().max() <= 1e-9

    def test_window_attention_is_local(self):
        # a change in the top-left window reaches no token beyond the receptive field of the
        # convs and one shifted window; far windows of a 1-block, no-shift model are untouched
        torch.manual_seed(0)
        enc = SwinIR(embed_dim=12, depths=[1], num_heads=[3], window_size=8, out_conv=False,
                     resi_connection="1conv").double().eval()
        x = torch.rand(1, 3, 32, 32, dtype=torch.float64)
        x2 = x.clone()
        x2[..., :2, :2] += 1.0
        with torch.no_grad():
            d = (enc(x2) - enc(x)).abs().amax(1)[0]
        assert d[:8, :8].max() > 0
        assert d[16:, 16:].max() == 0

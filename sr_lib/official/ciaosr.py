"""Official adapters of CiaoSR (Cao et al., CVPR 2023): the mmedit generators ``LocalImplicitSREDSR``,
``LocalImplicitSRRDN`` and ``LocalImplicitSRSWINIR``.

The config is the generator dict of an mmedit config (``type``, ``encoder``, ``imnet_q``, ...). The
official call is ``generator(inp, coord, cell, test_mode=True)``: ``inp`` = LR − DIV2K mean,
``coord, cell [B,Q,2]``, queries decoded in chunks of ``eval_bsize`` → ``[B,Q,3]``.
"""
from __future__ import annotations

import torch

from sr_lib.models.ciaosr import CiaoSR, CiaoSRConfig
from sr_lib.models.encoders.mmedit import MMEditEDSR, MMEditRDN
from sr_lib.models.encoders.swinir import SwinIR
from sr_lib.official.registry import official, official_key, scale_hw_from_cell


def config_from_official(config: dict) -> CiaoSRConfig:
    """Our decoder options for an official generator config (only the released decoder)."""
    if config.get("local_size", 2) != 2 or not config.get("feat_unfold", True):
        raise ValueError("only the released CiaoSR decoder (local_size=2, feat_unfold=True) is implemented")
    hidden = tuple(config["imnet_q"]["hidden_list"])
    return CiaoSRConfig(hidden=hidden, non_local=config.get("non_local_attn", True),
                        multi_scale=tuple(config.get("multi_scale", [2])),
                        softmax_scale=config.get("softmax_scale", 1))


def ciaosr_forward(model: CiaoSR, ref: dict, case: str, variant: str = "") -> torch.Tensor:
    """``generator(inp_fed, coord, cell, test_mode=True)``: encode once, then queries in chunks of
    ``eval_bsize`` (``coord, cell [B,Q,2]`` → ``[B,Q,3]``)."""
    if variant:
        raise ValueError(f"CiaoSR reference vectors have no variant {variant!r}")
    inp = ref["inp_fed"][case]
    coord, cell = ref["coord"][case].contiguous(), ref["cell"][case].contiguous()
    n = coord.shape[1]
    bsize = ref["config"].get("eval_bsize") or n
    feats = model.encode(inp, scale_hw_from_cell(cell, inp.shape[-2:]))
    return torch.cat([model.query(feats, coord[:, i:i + bsize], cell[:, i:i + bsize])
                      for i in range(0, n, bsize)], dim=1)                          # [B,Q,3]


@official("LocalImplicitSREDSR", "LocalImplicitSRRDN", "LocalImplicitSRSWINIR", forward=ciaosr_forward)
def ciaosr_from_config(config: dict) -> CiaoSR:
    """Our CiaoSR for an official generator config, on its encoder: mmedit's EDSR or RDN, or
    CiaoSR's SwinIR (180-d features, reflect pad to the window, crop back).

    The official SwinIR config also carries HAT-only keys (``compress_ratio``, ``squeeze_factor``,
    ``conv_scale``, ``overlap_ratio``) and upsampler settings; SwinIR ignores them, and CiaoSR keeps
    no upsampler, so they are not read here.
    """
    key, enc = official_key(config), config["encoder"]
    if key == "LocalImplicitSRSWINIR":
        if config.get("window_size", enc.get("window_size", 8)) != enc.get("window_size", 8):
            raise ValueError("CiaoSR pads to its own window_size; a different encoder window is not supported")
        encoder = SwinIR(img_size=enc.get("img_size", 48), in_chans=enc.get("in_chans", 3),
                         embed_dim=enc.get("embed_dim", 180), depths=tuple(enc.get("depths", (6,) * 6)),
                         num_heads=tuple(enc.get("num_heads", (6,) * 6)), window_size=enc.get("window_size", 8),
                         mlp_ratio=enc.get("mlp_ratio", 2.0), qkv_bias=enc.get("qkv_bias", True),
                         drop_path_rate=enc.get("drop_path_rate", 0.1),
                         resi_connection=enc.get("resi_connection", "1conv"), out_conv=False)
        return CiaoSR(encoder, encoder.out_dim, config_from_official(config))
    common = dict(in_channels=enc.get("in_channels", 3), mid_channels=enc.get("mid_channels", 64),
                  num_blocks=enc.get("num_blocks", 16))
    if key == "LocalImplicitSREDSR":
        encoder = MMEditEDSR(**common, res_scale=enc.get("res_scale", 1.0))
    else:
        encoder = MMEditRDN(**common, num_layers=enc.get("num_layers", 8),
                            channel_growth=enc.get("channel_growth", 64))
    return CiaoSR(encoder, encoder.mid_channels, config_from_official(config))


__all__ = ["config_from_official", "ciaosr_forward", "ciaosr_from_config"]

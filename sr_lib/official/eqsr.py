"""Official adapter of EQSR (Wang et al., CVPR 2023): the basicsr ``network_g`` of neuralchen/EQSR
(``hat_ModMBFormer_Sim_arch.py``, class ``EQSR``; spec ``reference-implementations.md`` §6.1).

The release is called as ``net(x, coord, cell, mod_pad_h, mod_pad_w, scale)``: ``x`` in [0,1],
already reflect-padded (bottom/right) by ``mod_pad`` to a multiple of the window; ``coord
[B,H,W,2]``, ``cell [B,2,H,W]``; → ``[B,3,H,W]``. Its AFE scale code is read off the cell,
c = ``cell[:,0,0,0]`` = 2/H_hr (refvec README §4.6), not off the ``scale`` argument. This
calling convention lives here; the model itself is ``encode(x, scale_hw)`` / ``query(feat,
coord, cell)``, whose code 2/round(h·s_y) is the same number when H_hr = round(h·s_y).
"""
from __future__ import annotations

import torch

from sr_lib.models.eqsr import EQSR, TRAIN_LR_SIZE, build_eqsr
from sr_lib.official.registry import official


def official_scale_code(model: EQSR, cell: torch.Tensor, lr_h: int) -> torch.Tensor:
    """The scale code c ``[B]`` the release reads from ``cell [B,2,H,W]``: c = cell_y = 2/H_hr.
    With ``scale_code='scale'`` (ours, not released) the same cell gives c = cell_y·h/48 = 2/(48·s)."""
    c = cell[:, 0, 0, 0]
    return c if model.scale_code_mode == "released" else c * lr_h / TRAIN_LR_SIZE


def official_call(model: EQSR, x: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor,
                  mod_pad=None) -> torch.Tensor:
    """The release's ``net(x, coord, cell, mod_pad_h, mod_pad_w)``: ``x [B,3,h+ph,w+pw]`` in [0,1]
    padded by ``mod_pad=(ph, pw)`` (None: unpadded, the model pads), ``coord [B,H,W,2]``,
    ``cell [B,2,H,W]`` → ``[B,3,H,W]``, with the scale code taken from the cell."""
    lr_h = x.shape[-2] - (mod_pad[0] if mod_pad is not None else 0)
    feat = model.encode_with_code(x, official_scale_code(model, cell, lr_h), mod_pad=mod_pad)   # [B,C,h,w]
    return model.query(feat, coord, cell)


def eqsr_forward(model: EQSR, ref: dict, case: str, variant: str = "") -> torch.Tensor:
    """A reference case through ``official_call`` with its stored ``mod_pad`` → ``[1,3,H,W]``."""
    if variant:
        raise ValueError(f"EQSR reference vectors have no variant {variant!r}")
    mod_pad = tuple(int(p) for p in ref["mod_pad"][case])
    return official_call(model, ref["inp_fed"][case], ref["coord"][case], ref["cell"][case], mod_pad)


@official("EQSR", forward=eqsr_forward)
def eqsr_from_config(config: dict) -> EQSR:
    """Our EQSR for the basicsr ``network_g`` of neuralchen/EQSR (the release's defaults where a key
    is absent)."""
    for key, want in (("upsampler", "pixelshuffle"), ("resi_connection", "1conv"), ("img_range", 1.0),
                      ("in_chans", 3)):
        if config.get(key, want) != want:
            raise ValueError(f"EQSR config {key}={config[key]!r} is not supported (need {want!r})")
    return build_eqsr(embed_dim=config.get("embed_dim", 96), depths=config.get("depths", (6,) * 4),
                      num_heads=config.get("num_heads", (6,) * 4), window_size=config.get("window_size", 7),
                      overlap_ratio=config.get("overlap_ratio", 0.5), mlp_ratio=config.get("mlp_ratio", 4.0),
                      drop_path_rate=config.get("drop_path_rate", 0.1))


__all__ = ["official_scale_code", "official_call", "eqsr_forward", "eqsr_from_config"]

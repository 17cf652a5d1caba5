"""Official adapters of the liif / lte repositories: LIIF, MetaSR and LTE.

Their configs are LIIF-style yamls, ``{'name': 'liif' | 'metasr' | 'lte', 'args': {'encoder_spec',
'imnet_spec', ...}}``. The official call is ``model(inp, coord, cell)`` on a normalised input
(``(img − 0.5)/0.5``), ``coord, cell [B,Q,2]``, returning ``[B,Q,3]``, which is our
``query(encode(x, scale_hw), coord, cell)`` (these encoders ignore the scale).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from sr_lib.models.liif import LIIF
from sr_lib.models.lte import LTE
from sr_lib.models.metasr import MetaSR
from sr_lib.models.registry import make_backbone
from sr_lib.official.registry import official, scale_hw_from_cell


# official ``encoder_spec`` name → the sr_lib backbone ``official_encoder`` builds for it
# (``swinir-class-direct``: the SwinIR class called with its arguments, as the reference vectors register it)
ENCODER_BACKBONES = {"edsr-baseline": "edsr-baseline", "edsr": "edsr", "rdn": "rdn", "swinir": "swinir",
                     "swinir-class-direct": "swinir"}


def official_backbone(encoder_name: str) -> str:
    """The sr_lib backbone of an official encoder name (the name itself when it is not one we build)."""
    return ENCODER_BACKBONES.get(encoder_name, encoder_name)


def official_encoder(spec: dict) -> nn.Module:
    """Our backbone for a liif/lte-repo ``encoder_spec`` (names as in their registries)."""
    name, args = spec["name"], dict(spec.get("args", {}))
    if not args.pop("no_upsampling", name.startswith("swinir")):
        raise ValueError(f"encoder {name!r} must be built with no_upsampling=True")
    args.pop("scale", None)
    args.pop("rgb_range", None)
    if name in ("edsr-baseline", "edsr"):
        return make_backbone(name, **args)
    if name == "rdn":
        if args.pop("RDNkSize", 3) != 3:
            raise ValueError("only RDNkSize=3 is supported")
        return make_backbone("rdn", preset=args.pop("RDNconfig", "B"), **args)
    if name == "swinir":            # lte's make_swinir ignores its arguments
        return make_backbone("swinir")
    if name == "swinir-class-direct":
        return make_backbone("swinir", **args)
    raise KeyError(f"no sr_lib encoder for official encoder {name!r}")


def official_query_inputs(ref: dict, case: str, variant: str = ""):
    """(inp_fed, coord, cell) of a reference case, ``cell`` made contiguous.
    ``variant='cellclip'`` takes LTE's test-time clipped cell (``ref['cell_cellclip']``)."""
    cell = ref["cell_cellclip" if variant == "cellclip" else "cell"][case]
    return ref["inp_fed"][case], ref["coord"][case], cell.contiguous()


def liif_family_forward(model: nn.Module, ref: dict, case: str, variant: str = "") -> torch.Tensor:
    """The official ``model(inp, coord, cell)``: ``inp [B,3,h,w]``, ``coord, cell [B,Q,2]`` → ``[B,Q,3]``,
    as encode then query. The per-axis scale given to ``encode`` is read off the unclipped cell
    (2/cell per axis over the input size); these encoders do not use it."""
    inp, coord, cell = official_query_inputs(ref, case, variant)
    scale_hw = scale_hw_from_cell(ref["cell"][case], inp.shape[-2:])
    return model.query(model.encode(inp, scale_hw), coord, cell)


@official("liif", "metasr", "lte", forward=liif_family_forward)
def liif_family_from_config(config: dict) -> nn.Module:
    """Our LIIF (liif repo ``models/liif.py``, Eq. 4), MetaSR (liif repo ``models/misc.py``, Meta-SR
    Eq. 3–4) or LTE (lte repo ``models/lte.py``, Eq. 5–7) for an official config."""
    name, args = config["name"], config["args"]
    encoder = official_encoder(args["encoder_spec"])
    if name == "metasr":
        return MetaSR(encoder)
    imnet = args["imnet_spec"]["args"]
    if name == "lte":
        return LTE(encoder, hidden=imnet["hidden_list"], hidden_dim=args.get("hidden_dim", 256),
                   out_dim=imnet["out_dim"])
    return LIIF(encoder, hidden=imnet["hidden_list"], feat_unfold=args.get("feat_unfold", True),
                local_ensemble=args.get("local_ensemble", True), cell_decode=args.get("cell_decode", True),
                out_dim=imnet["out_dim"])


__all__ = ["ENCODER_BACKBONES", "official_backbone", "official_encoder", "official_query_inputs", "liif_family_forward",
           "liif_family_from_config"]

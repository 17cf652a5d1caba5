"""Equivalence with the official implementations, through their reference vectors.

``../shared/refvec/*.pt`` (env ``SR_REFVEC``) were recorded by running the
official LIIF / MetaSR / LTE / CiaoSR / EQSR code in float64 with weights given
by a deterministic rule of parameter name and shape. This module

- regenerates those weights (``rule_weights``, rule ``hash32-uniform-v1`` and the
  documented ``sin-0.618-1.7j-v1``),
- builds *our* model for a reference's official ``config`` with state_dict keys,
  order and shapes identical to ``ref["keys"]`` (``from_reference``), so official
  checkpoints load strictly,
- runs our model on a stored case following the official calling convention
  (``official_forward``).

Each official codebase has an adapter module beside this one (``liif.py``: LIIF,
MetaSR, LTE; ``ciaosr.py``; ``eqsr.py``) that registers, with ``@official("<key>")``
(``registry.py``), how to build our model from an official config and how to call it
as the official code does. The models themselves know nothing of this package.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch
import torch.nn as nn

from sr_lib.official import ciaosr, eqsr, liif  # noqa: F401  (the adapters: they fill the registry's table)
from sr_lib.official.registry import adapter, official, official_key, scale_hw_from_cell  # noqa: F401


def refvec_dir() -> Path:
    """Folder of reference vectors: ``SR_REFVEC``, else ``../shared/refvec`` beside the repo."""
    env = os.environ.get("SR_REFVEC")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "refvec"


def load_reference(ref) -> dict:
    """A reference dict, or the path (or file stem in ``refvec_dir()``) of one."""
    if isinstance(ref, dict):
        return ref
    p = Path(ref)
    if not p.exists():
        p = refvec_dir() / (str(ref) if str(ref).endswith(".pt") else f"{ref}.pt")
    if not p.exists():
        raise FileNotFoundError(f"reference vector file not found: {ref}")
    return torch.load(p, weights_only=True)


# ----------------------------------------------------------------------------- weight rules
def param_kind(name: str, shape) -> str:
    """Kind of a parameter from its name and shape (refvec README §2.3; first match wins)."""
    if len(shape) >= 2:
        return "tensor"
    if name.endswith(".lengthscale"):
        return "scalar3"
    if re.match(r"^cs_attn\.conv_(match_1|match_2|assembly)\.1\.weight$", name):
        return "prelu"
    if name.endswith("weight"):
        return "norm_weight"
    return "vector"


def _hash_uniform(n: int, j: int) -> torch.Tensor:
    m = 0xFFFFFFFF
    x = (torch.arange(n, dtype=torch.int64) + 0x9E3779B9 * (j + 1)) & m
    x = ((x ^ (x >> 16)) * 0x045D9F3B) & m
    x = ((x ^ (x >> 16)) * 0x045D9F3B) & m
    x = x ^ (x >> 16)
    return 2.0 * (x.to(torch.float64) / 4294967296.0) - 1.0


def _sin_rule(n: int, j: int) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64)
    return torch.sin(t * 0.618 + 1.7 * j)


def rule_weights(ref: dict) -> dict[str, torch.Tensor]:
    """float64 parameter values of the reference's weight rule, by parameter name."""
    gen = {"hash32-uniform-v1": _hash_uniform, "sin-0.618-1.7j-v1": _sin_rule}[ref["weight_rule"]]
    shapes = {k: tuple(s) for k, s, _ in ref["keys"]}
    out = {}
    for j, name in enumerate(ref["param_keys_sorted"]):
        s = shapes[name]
        n = math.prod(s)
        a = gen(n, j)
        kind = param_kind(name, s)
        if kind == "tensor":
            w = a / math.sqrt(n / s[0])
        elif kind == "norm_weight":
            w = 1.0 + 0.1 * a
        elif kind == "prelu":
            w = 0.25 + 0.1 * a
        elif kind == "scalar3":
            w = 3.0 + 0.1 * a
        else:
            w = 0.1 * a
        out[name] = w.reshape(s)
    return out


def check_keys(model: nn.Module, ref: dict) -> None:
    """Raise if ``model.state_dict()`` keys/order/shapes differ from ``ref['keys']``."""
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    theirs = [(k, tuple(s)) for k, s, _ in ref["keys"]]
    if ours != theirs:
        a, b = dict(ours), dict(theirs)
        missing = [k for k in b if k not in a]
        unexpected = [k for k in a if k not in b]
        shape = [k for k in a if k in b and a[k] != b[k]]
        order = "" if missing or unexpected or shape else " (same keys, different order)"
        raise AssertionError(f"state_dict differs from the official one{order}: missing={missing[:8]} "
                             f"unexpected={unexpected[:8]} shape-mismatch={shape[:8]}")


def load_rule_weights(model: nn.Module, ref: dict) -> nn.Module:
    """Cast to float64 first (README §2.4), then copy the rule's values into the parameters."""
    model.eval().double()
    weights = rule_weights(ref)
    sd = model.state_dict()
    for name, w in weights.items():
        sd[name] = w
    model.load_state_dict(sd, strict=True)
    return model


# ----------------------------------------------------------------------------- public API
def from_reference(ref, weights: bool = True) -> nn.Module:
    """Our model for the reference's official ``config``: same state_dict keys and shapes,
    float64, eval mode, and (``weights=True``) the reference's rule weights loaded."""
    ref = load_reference(ref)
    model = build_official(ref["config"])
    check_keys(model, ref)
    if weights:
        load_rule_weights(model, ref)
    else:
        model.eval().double()
    return model


def build_official(config: dict) -> nn.Module:
    """Our model for an official model ``config`` (fresh init, float32; no weights loaded)."""
    return adapter(config)[0](config)


def official_forward(model: nn.Module, ref, case: str, variant: str = "") -> torch.Tensor:
    """Run ``model`` on the stored inputs of ``case`` as the official code calls it; returns
    the output in the stored layout (same shape as ``ref['out'][case]``).
    ``variant='cellclip'`` uses ``ref['cell_cellclip']`` (LTE's test-time cell clip)."""
    ref = load_reference(ref)
    _, forward = adapter(ref["config"])
    with torch.no_grad():
        return forward(model, ref, case, variant)


def valid_mask(ref: dict, case: str, variant: str = "") -> torch.Tensor:
    """``valid & valid_roundoff`` of a case: the queries whose output is well defined."""
    sfx = f"_{variant}" if variant else ""
    return ref[f"valid{sfx}"][case] & ref[f"valid_roundoff{sfx}"][case]

"""Equivalence with the official implementations: build our models from official configs with the
official state_dict keys, call them as the official code does, and load official checkpoints.

- ``registry.py``: the adapter table (``@official("<config key>")``);
- adapters, one per official codebase: ``liif.py`` (LIIF, MetaSR, LTE), ``ciaosr.py``, ``eqsr.py``;
- ``refvec.py``: reference vectors, their weight rules, ``from_reference`` / ``official_forward``;
- ``checkpoint.py``: the official liif/lte ``.pth`` files (``load_official``).

This package imports ``sr_lib.models``; models never import it."""
from sr_lib.official.checkpoint import load_official
from sr_lib.official.refvec import (build_official, check_keys, from_reference, load_reference, load_rule_weights,
                                    official_forward, refvec_dir, rule_weights, valid_mask)
from sr_lib.official.registry import official_key, scale_hw_from_cell

__all__ = ["build_official", "check_keys", "from_reference", "load_reference", "load_rule_weights",
           "official_forward", "official_key", "refvec_dir", "rule_weights", "scale_hw_from_cell", "valid_mask",
           "load_official"]

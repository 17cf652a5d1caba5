"""Equivalence with the official implementations: build our models from official configs with the
official state_dict keys, call them as the official code does, and load official checkpoints.

This package imports ``sr_lib.models``; models never import it."""
from sr_lib.official.refvec import (build_official, check_keys, from_reference, load_reference, load_rule_weights,
                                    official_forward, official_key, refvec_dir, rule_weights, valid_mask)

__all__ = ["build_official", "check_keys", "from_reference", "load_reference", "load_rule_weights",
           "official_forward", "official_key", "refvec_dir", "rule_weights", "valid_mask"]

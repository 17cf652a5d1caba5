"""Stable names for outside checks: ``sr_lib.compat.from_reference`` and ``sr_lib.compat.official_forward``
(the work is done in ``sr_lib.official``)."""
from sr_lib.official import (build_official, check_keys, from_reference, load_reference, load_rule_weights,  # noqa: F401
                             official_forward, official_key, refvec_dir, rule_weights, valid_mask)

"""``sr_lib.compat`` keeps the names that outside checks call (issue 13): the same objects as in
``sr_lib.official``, not copies."""
from __future__ import annotations

import sr_lib.compat as compat
import sr_lib.official as official


def test_outside_check_names_are_the_official_functions():
    for name in ("from_reference", "official_forward", "load_reference", "check_keys", "valid_mask"):
        assert callable(getattr(compat, name)), name
        assert getattr(compat, name) is getattr(official, name), name

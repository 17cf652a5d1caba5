"""sr_lib/__init__.py: the flat surface the notebooks call, resolved on first use."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sr_lib


def test_import_sr_lib_loads_no_heavy_module():
    code = ("import sys, json, sr_lib; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'pandas', 'matplotlib', 'numpy') or m.startswith('sr_lib.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("name, module, attr", [
    ("make", "sr_lib.models.registry", "make"), ("load", "sr_lib.engine.checkpoint", "load_checkpoint"),
    ("super_resolve", "sr_lib.engine.inference", "super_resolve"), ("evaluate", "sr_lib.engine.evaluate", "evaluate"),
    ("train", "sr_lib.engine.train", "train"), ("list_models", "sr_lib.models.registry", "list_models")])
def test_flat_names_are_the_functions_of_their_modules(name, module, attr):
    import importlib
    assert getattr(sr_lib, name) is getattr(importlib.import_module(module), attr)


def test_run_table_is_reached_from_the_top_and_unknown_names_fail():
    from sr_lib.repro.experiments import run_table
    assert sr_lib.repro.run_table is run_table
    assert set(sr_lib.__all__) <= set(dir(sr_lib))
    with pytest.raises(AttributeError):
        sr_lib.no_such_name          # noqa: B018
    with pytest.raises(AttributeError):
        sr_lib.repro.no_such_name    # noqa: B018

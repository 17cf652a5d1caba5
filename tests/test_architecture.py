"""The import graph of sr_lib points one way and has no circle (``tools/check_imports.py``).

The first test is the check of issue 13 ("How it is checked"); the others pin down the checker
itself on small synthetic packages, so a rule that silently stopped firing would be noticed."""
from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_imports", REPO / "tools" / "check_imports.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod            # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


ci = _load_checker()


def test_sr_lib_imports_point_one_way_without_circles():
    graph = ci.build_graph(REPO)
    violations = ci.check(graph)
    text = ci.report(graph, violations)
    assert len(graph.modules) > 40, text                       # the package was really parsed
    if any(violations.values()):
        pytest.fail("\n" + text, pytrace=False)


def test_main_exit_status_and_report(capsys):
    rc = ci.main(["--root", str(REPO)])
    out = capsys.readouterr().out
    assert "level" in out and "circle" in out and out.rstrip().splitlines()[-1].startswith("result:")
    assert rc == (0 if out.rstrip().endswith("result: OK") else 1)


# ------------------------------------------------------------------------------------------------
# the checker on synthetic packages
# ------------------------------------------------------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write ``sr_lib/<relpath>`` files (plus the ``__init__.py`` of every folder) under tmp_path."""
    for rel, text in files.items():
        p = tmp_path / "sr_lib" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    for d in [tmp_path / "sr_lib", *(tmp_path / "sr_lib").rglob("*")]:
        if d.is_dir() and not (d / "__init__.py").exists():
            (d / "__init__.py").write_text("")
    return tmp_path


def _edges(graph):
    return {(e.src, e.dst) for e in graph.edges}


def test_edges_from_every_import_form(tmp_path):
    root = _package(tmp_path, {
        "geometry.py": "X = 1\n",
        "models/base.py": "from sr_lib.geometry import X\n",
        "models/layers/mlp.py": "from .. import base\nfrom ..base import X\n",
        "models/liif.py": """
            import torch
            from sr_lib.models import base            # a module: edge to sr_lib.models.base
            from sr_lib.models.layers import mlp as m  # a module inside a sub-package
            def f():
                import sr_lib.geometry as g            # inside a function: counts
            """,
        "models/__init__.py": "from sr_lib.models.liif import f\n",
        "engine/run.py": "from sr_lib.models import f\n",      # a re-export: edge to the __init__
    })
    g = ci.build_graph(root)
    e = _edges(g)
    assert ("sr_lib.models.base", "sr_lib.geometry") in e
    assert ("sr_lib.models.layers.mlp", "sr_lib.models.base") in e            # relative, level 2
    assert ("sr_lib.models.liif", "sr_lib.models.base") in e
    assert ("sr_lib.models.liif", "sr_lib.models.layers.mlp") in e
    assert ("sr_lib.models.liif", "sr_lib.geometry") in e
    assert ("sr_lib.models", "sr_lib.models.liif") in e
    assert ("sr_lib.engine.run", "sr_lib.models") in e
    assert not any(dst == "torch" for _, dst in e)                              # outside the package
    assert not any(v for v in ci.check(g).values())


def test_circle_through_a_function_level_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "models/base.py": "def plan():\n    from sr_lib.engine.memory import budget\n",
        "engine/memory.py": "from sr_lib.models.base import plan\nbudget = 1\n",
    })
    v = ci.check(ci.build_graph(root))
    assert len(v["b"]) == 1 and "sr_lib.models.base" in v["b"][0] and "sr_lib.engine.memory" in v["b"][0]
    assert len(v["a"]) == 1 and len(v["g"]) == 1                                # models -> engine


def test_each_rule_fires(tmp_path):
    root = _package(tmp_path, {
        **{f"m{i}.py": "" for i in range(8)},                                    # + __init__, cli = 10 loose
        "data/io.py": "from sr_lib.models import base\n",                        # (d) and (g)
        "models/base.py": "",
        "official/adapt.py": "from sr_lib.engine import train\n",                # (e) and (g)
        "engine/train.py": "import sr_lib.repro.tables\n",                       # (c), (e), (g)
        "repro/tables.py": "from sr_lib.viz.plots import figure\n",              # (e), (g)
        "viz/plots.py": "def figure(): pass\n",
        "cli.py": "import importlib\nCOMMANDS = ['sr_lib.repro.tables']\n"
                  "def main(n):\n    return importlib.import_module(n)\n",      # the surface may: no rule
        "engine/cmd.py": "import importlib\nCOMMANDS = ['sr_lib.repro.tables']\n"
                         "def main(n):\n    return importlib.import_module(n)\n",  # (c), (e), (g), dynamic
    })
    g = ci.build_graph(root)
    v = ci.check(g)
    assert v["a"] == [] and v["b"] == []
    assert len(v["f"]) == 1 and "10 loose modules" in v["f"][0]
    assert [s.split(" ->")[0] for s in v["d"]] == ["sr_lib.data.io"]
    assert sorted(s.split(" ->")[0] for s in v["c"]) == ["sr_lib.engine.cmd", "sr_lib.engine.train"]
    assert sorted(s.split(" ->")[0] for s in v["e"]) == ["sr_lib.engine.cmd", "sr_lib.engine.train",
                                                          "sr_lib.official.adapt", "sr_lib.repro.tables"]
    assert any("dynamic" in s for s in v["c"])
    assert any("import_module(n)" in u for u in g.unresolved)
    text = ci.report(g, v)
    assert "0 circles" in text and text.endswith("result: FAIL (13 violation(s))")


@pytest.mark.parametrize("mod, layer", [("sr_lib.geometry", "core"), ("sr_lib.data.io", "core"),
                                        ("sr_lib.metrics.cka", "core"), ("sr_lib.models.layers.mlp", "models"),
                                        ("sr_lib.compat", "official"), ("sr_lib.engine", "engine"),
                                        ("sr_lib.repro.papers.eqsr", "repro"), ("sr_lib.viz", "viz"),
                                        ("sr_lib", "surface"), ("sr_lib.cli", "surface")])
def test_layer_of(mod, layer):
    assert ci.layer_of(mod) == layer

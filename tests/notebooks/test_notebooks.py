"""Every notebook runs end to end at the smoke profile; committed notebooks carry no outputs
and stay in sync with their jupytext sources."""
from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest

from sr_lib.repro.runner import notebook_sources, run_notebook, to_notebook

SOURCES = notebook_sources()


def _ids(paths):
    return [p.stem for p in paths]


class TestCommittedNotebooks:
    @pytest.mark.parametrize("src", SOURCES, ids=_ids(SOURCES))
    def test_paired_ipynb_exists_without_outputs(self, src):
        ipynb = src.with_suffix(".ipynb")
        assert ipynb.exists(), f"{ipynb.name} missing: run `python -m sr_lib sync-notebooks`"
        nb = nbformat.read(ipynb, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{ipynb.name} has outputs"

    @pytest.mark.parametrize("src", SOURCES, ids=_ids(SOURCES))
    def test_ipynb_in_sync_with_py_source(self, src):
        committed = nbformat.read(src.with_suffix(".ipynb"), as_version=4)
        fresh = to_notebook(src)
        assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in fresh.cells], \
            f"{src.name} and its .ipynb differ: run `python -m sr_lib sync-notebooks`"

    @pytest.mark.parametrize("src", SOURCES, ids=_ids(SOURCES))
    def test_one_tagged_parameters_cell_with_typed_literals(self, src):
        nb = to_notebook(src)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{src.name}: exactly one cell tagged 'parameters'"
        body = tagged[0].source
        for name in ("profile: str", "seed: int", "data_root: str", "device: str"):
            assert name in body, f"{src.name}: parameters cell lacks `{name} = ...`"

    @pytest.mark.parametrize("src", SOURCES, ids=_ids(SOURCES))
    def test_papermill_reads_every_parameter(self, src):
        """papermill skips a line with two '=' (e.g. one in its comment): it would then warn that the
        parameter is unknown and leave it out of ``papermill --help-notebook``."""
        from papermill.translators import PythonTranslator
        body = next(c for c in to_notebook(src).cells if "parameters" in c.metadata.get("tags", [])).source
        assigned = [line.split(":")[0].split("=")[0].strip() for line in body.splitlines()
                    if line and not line[0].isspace() and not line.startswith("#") and "=" in line]
        assert [p.name for p in PythonTranslator.inspect({"source": body})] == assigned


def _check_results(folder):
    csvs = sorted(folder.rglob("*.csv"))
    assert csvs, "the notebook wrote no results CSV"
    for csv in csvs:
        df = pd.read_csv(csv)
        assert len(df) > 0, f"{csv.name} is empty"
        num = df.select_dtypes(include=[np.number])
        assert not np.isinf(num.to_numpy(dtype=float)).any(), f"{csv.name} has infinite values"
        if "ours" in df.columns:
            assert np.isfinite(pd.to_numeric(df["ours"], errors="coerce")).any(), f"{csv.name}: no finite `ours`"
            assert {"paper", "table", "printed", "ours"} <= set(df.columns), f"{csv.name}: missing columns"


@pytest.mark.notebook
@pytest.mark.parametrize("src", SOURCES, ids=_ids(SOURCES))
def test_notebook_runs_at_smoke_profile(src, tmp_path, monkeypatch):
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = run_notebook(src, tmp_path / "executed", {"profile": "smoke"})
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, json.dumps(errors[0])[:2000] if errors else ""
    _check_results(tmp_path / "results" / "smoke")

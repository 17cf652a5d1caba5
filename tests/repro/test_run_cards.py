"""sr_lib.repro.run_cards: a trained run is health-checked, shipped as safetensors with a card and a
runs.csv row, loaded back instead of retrained, and its set5_x2 is reproduced by the CLI."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from sr_lib.cli import main as cli_main
from sr_lib.engine.train import train
from sr_lib.geometry import hr_size_for
from sr_lib.engine.inference import super_resolve
from sr_lib.repro.run_cards import RUNS_COLUMNS, health_map, read_runs, ship_run, shipped_weights, weights_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_ship_reload_and_rescore(tmp_path, monkeypatch, shared_data, capsys):
    monkeypatch.setenv("SR_RESULTS", str(tmp_path / "results"))
    runs = tmp_path / "runs"
    model = train("liif", "edsr-baseline", profile="smoke", seed=0, data_root=shared_data, out=runs, progress=False)
    assert model.train_info["source"] == "trained"
    from sr_lib.repro import run_cards
    curve = run_cards._curve
    monkeypatch.setattr(run_cards, "_curve", lambda loss, points=400: curve(loss, 2))   # a curve shorter than the run
    row = ship_run(model, "smoke", "liif", data_root=shared_data)
    key = model.train_info["key"]
    assert row["run"] == key and row["steps"] == 4 and not row["healthy"]          # 4 smoke steps learn nothing
    assert "gain" in row["reasons"]
    table = read_runs("smoke")
    assert list(table.columns) == RUNS_COLUMNS and len(table) == 1
    assert health_map("smoke") == {key: False}
    path = shipped_weights("smoke", key)
    assert path == weights_dir("smoke") / f"{key}.safetensors"
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:             # stored in float16: half the bytes (STORED_DTYPE)
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}

    # loaded back instead of trained: same function, no run folder touched
    again = train("liif", "edsr-baseline", profile="smoke", seed=0, data_root=shared_data, out=tmp_path / "other",
                  progress=False, weights_dir=weights_dir("smoke"))
    assert again.train_info["source"] == "shipped" and not (tmp_path / "other").exists()
    assert len(again.train_info["loss"]) == 2 and again.train_info["steps"] == model.train_info["steps"] == 4
    lr = torch.rand(1, 3, 11, 13)
    assert torch.equal(super_resolve(model, lr, scale=2.5), super_resolve(again, lr, scale=2.5))

    # shipping again replaces the row
    ship_run(model, "smoke", "liif", data_root=shared_data)
    assert len(read_runs("smoke")) == 1

    # the CLI reproduces set5_x2 from the shipped file
    capsys.readouterr()
    assert cli_main(["evaluate", "--checkpoint", str(path), "--dataset", "Set5", "--scale", "2",
                     "--protocol", "liif", "--data-root", str(shared_data)]) == 0
    psnr = json.loads(capsys.readouterr().out)["psnr"]
    assert psnr == pytest.approx(row["set5_x2"], abs=0.01)

    # a card under a recipe the plan does not use is stale; withdrawing removes card and weights
    from sr_lib.repro.plan import stale_runs
    from sr_lib.repro.run_cards import runs_csv, withdraw_runs
    odd = {**read_runs("smoke").iloc[0].to_dict(), "run": "liif-edsr-baseline-s0-odd", "variant": "L=99",
           "weights": str(tmp_path / "odd.safetensors")}
    (tmp_path / "odd.safetensors").write_bytes(b"x")
    # the planned recipe trained for another number of steps (the profile's budget changed since) is stale too
    longer = {**read_runs("smoke").iloc[0].to_dict(), "run": "liif-edsr-baseline-s0-longer",
              "steps": int(read_runs("smoke").iloc[0]["steps"]) + 1, "weights": str(tmp_path / "longer.safetensors")}
    (tmp_path / "longer.safetensors").write_bytes(b"x")
    pd.concat([read_runs("smoke"), pd.DataFrame([odd, longer])])[RUNS_COLUMNS].to_csv(runs_csv("smoke"), index=False)
    assert stale_runs("smoke") == ["liif-edsr-baseline-s0-odd", "liif-edsr-baseline-s0-longer"]  # not the planned run
    assert withdraw_runs("smoke", ["liif-edsr-baseline-s0-longer"])[0]["run"] == "liif-edsr-baseline-s0-longer"
    assert [r["run"] for r in withdraw_runs("smoke", ["liif-edsr-baseline-s0-odd", "no-such-run"])] == [
        "liif-edsr-baseline-s0-odd"]
    assert list(read_runs("smoke")["run"]) == [key] and not (tmp_path / "odd.safetensors").exists()
    withdraw_runs("smoke", [key])
    assert read_runs("smoke").empty and not path.exists()


def _committed_rows(n: int = 2):
    """``n`` committed cpu run cards, picked at random with a fixed seed (so CI re-scores the same ones
    until runs.csv changes), among the EDSR-baseline runs (a few seconds each to evaluate)."""
    import random
    runs = read_runs("cpu")
    runs = runs[runs["backbone"] == "edsr-baseline"]
    if len(runs) < n:
        pytest.skip("fewer shipped cpu runs than needed")
    picks = random.Random(12).sample(sorted(runs["run"]), n)
    return [runs[runs["run"] == r].iloc[0] for r in picks]


@pytest.mark.parametrize("i", [0, 1])
def test_committed_set5_x2_is_reproduced_by_the_cli(i, shared_data, capsys):
    """Issue 12, item 5: ``evaluate --checkpoint <weights> --dataset Set5 --scale 2 --protocol <protocol>``
    lands within 0.01 dB of a shipped run's ``set5_x2``."""
    from sr_lib.paths import repo_root
    row = _committed_rows()[i]
    capsys.readouterr()
    assert cli_main(["evaluate", "--checkpoint", str(repo_root() / row["weights"]), "--dataset", "Set5", "--scale", "2",
                     "--protocol", row["protocol"], "--data-root", str(shared_data)]) == 0
    psnr = json.loads(capsys.readouterr().out)["psnr"]
    assert psnr == pytest.approx(float(row["set5_x2"]), abs=0.01), row["run"]


def test_the_explorers_default_models_are_all_shipped_at_cpu(shared_data, monkeypatch):
    """Notebook 90 at cpu loads every default model from results/cpu/weights and trains none (its EQSR
    once asked for backbone None, a key no run of the plan has, and trained 4,000 steps in the notebook)."""
    from sr_lib.engine import train as train_mod
    from sr_lib.repro.runner import notebook_sources, to_notebook
    from sr_lib.viz.widgets import trained_models
    src = next(p for p in notebook_sources() if p.stem == "90_explorer")
    params = {}
    exec(next(c for c in to_notebook(src).cells if "parameters" in c.metadata.get("tags", [])).source, params)
    monkeypatch.setattr(train_mod, "fit", lambda *a, **k: pytest.fail("the explorer trained a model at cpu"))
    models = trained_models(params["methods"], params["backbone"], profile="cpu", seed=params["seed"],
                            data_root=shared_data, device="cpu")
    assert {m: model.train_info["source"] for m, model in models.items()} == {m: "shipped" for m in params["methods"]}


def test_the_committed_weights_fit_the_issues_50_mb():
    """Issue 12, item 5: the shipped cpu weights are at most 50 MB in all, and every runs.csv row names a
    weights file that is committed (and no file lies there without its row)."""
    from sr_lib.paths import repo_root
    runs = read_runs("cpu")
    files = sorted(weights_dir("cpu").glob("*.safetensors"))
    assert sum(p.stat().st_size for p in files) <= 50e6
    assert sorted(repo_root() / w for w in runs["weights"]) == files

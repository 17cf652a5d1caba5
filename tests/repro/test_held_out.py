"""The held-back check: B100 minus the images the tables score, judged like a table's claim."""
from __future__ import annotations

import numpy as np
import pytest

from sr_lib.data.datasets import load_dataset
from sr_lib.engine.evaluate import evaluate
from sr_lib.repro.held_out import TABLE_IMAGES, held_out_images, held_out_ordering
from sr_lib.repro.specs import EVAL_BUDGETS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _b100_or_skip():
    full = load_dataset("B100")
    if full.bundled or len(full) <= TABLE_IMAGES:
        pytest.skip("needs the real B100 (SR_DATA)")
    return full


def test_held_out_images_are_exactly_the_ones_no_table_scores():
    full = _b100_or_skip()
    held = held_out_images()
    table = dict(EVAL_BUDGETS["cpu"].limits)["B100"]
    assert TABLE_IMAGES == table
    assert held.names == full.names[table:] and not set(held.names) & set(full.names[:table])
    assert held_out_images(limit=3).names == full.names[table:table + 3]


def test_verdict_is_the_paired_difference_and_needs_healthy_runs(tmp_path, monkeypatch):
    _b100_or_skip()
    monkeypatch.setenv("SR_RUNS", str(tmp_path / "runs"))
    kw = dict(seeds=(0, 1), scales=(2,), profile="smoke", limit=2, device="cpu", log=lambda m: None)
    unchecked = held_out_ordering("ipe-liif", "liif", **kw)
    assert len(unchecked) == 1 and unchecked.loc[0, "verdict"].startswith("not tested (run ")
    assert "has no health check" in unchecked.loc[0, "verdict"]
    keys = unchecked.loc[0, "runs"].split()
    assert len(keys) == 4
    below = held_out_ordering("ipe-liif", "liif", health={**{k: True for k in keys}, keys[0]: False}, **kw)
    assert below.loc[0, "verdict"] == f"not tested (run {keys[0]} below the health bar)"
    csv = tmp_path / "held.csv"
    row = held_out_ordering("ipe-liif", "liif", health={k: True for k in keys}, csv=csv, **kw).iloc[0]
    said = []                                   # a second call with the same runs and images reuses the file
    again = held_out_ordering("ipe-liif", "liif", health={k: True for k in keys}, csv=csv,
                              **{**kw, "log": said.append})
    assert not said and again.iloc[0]["mean"] == pytest.approx(row["mean"], abs=1e-12)
    assert row["verdict"] in ("holds", "reversed", "within noise") and row["n_images"] == 2 and row["n_seeds"] == 2
    # independently: the mean over seeds and images of the per-image PSNR differences, evaluated here
    from sr_lib.repro.run_cards import load_or_train
    d = []
    for s in (0, 1):
        a, b = (evaluate(load_or_train(m, "edsr-baseline", profile="smoke", seed=s, device="cpu", progress=False).eval(),
                         held_out_images(limit=2), 2, "ipe_liif") for m in ("ipe-liif", "liif"))
        d += [x["psnr"] - y["psnr"] for x, y in zip(a["per_image"], b["per_image"])]
    assert row["mean"] == pytest.approx(np.mean(d), abs=1e-9)
    assert row["a_psnr"] - row["b_psnr"] == pytest.approx(np.mean(d), abs=1e-9)
    assert row["ci_low"] <= row["mean"] <= row["ci_high"]


def test_held_out_sentence_names_the_seed_interval_only_when_it_is_what_crosses_zero():
    import pandas as pd
    from sr_lib.repro.held_out import COLUMNS, held_out_sentence
    base = dict.fromkeys(COLUMNS, "") | {"mean": 0.05, "seed_sd": 0.04, "n_seeds": 3}
    rows = pd.DataFrame([base | {"scale": 2, "verdict": "within noise", "ci_low": 0.01, "ci_high": 0.09},
                         base | {"scale": 4, "verdict": "within noise", "ci_low": -0.02, "ci_high": 0.12},
                         base | {"scale": 3, "verdict": "not tested (run abc below the health bar)"}])
    x2, x4, x3 = held_out_sentence(rows).split("; sd")[0], held_out_sentence(rows.iloc[[1]]), \
        held_out_sentence(rows.iloc[[2]])
    assert held_out_sentence(rows.iloc[[0]]) == ("x2 within noise (+0.050 dB; 95% CI over images +0.010..+0.090; "
                                                 "sd over 3 seeds 0.040 dB, so the seed interval crosses 0)")
    assert x4 == "x4 within noise (+0.050 dB; 95% CI over images -0.020..+0.120; sd over 3 seeds 0.040 dB)"
    assert x3 == "x3 not tested (run abc below the health bar)"
    assert held_out_sentence(rows).count("; x") == 2 and x2.startswith("x2 within noise")

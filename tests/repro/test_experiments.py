"""sr_lib.repro.experiments: the printed-vs-ours join, seed statistics, stand-ins, claims, caching."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sr_lib.data.datasets import load_dataset
from sr_lib.data.io import to_tensor01
from sr_lib.engine.evaluate import bicubic_matlab
from sr_lib.repro.experiments import (RAW_COLUMNS, Claim, EvalBudget, Row, TableSpec, _image_set, check_claims, claim_summary,
                                checkpoint_rows, plan_test_sets, read_raw, run_table, side_by_side_table,
                                write_csv)
from sr_lib.metrics.protocols import get_protocol

BUDGET = EvalBudget(limit=1, stand_in="Set5")


def _image(size, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = 0.5 + 0.4 * np.sin(2 * np.pi * (3 * yy + 2 * xx))[..., None] * np.array([1.0, 0.6, 0.3])
    return (np.clip(base + 0.05 * rng.standard_normal((size, size, 3)), 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A data root with one 48×48 Set5 image and three 72×72 training images; no DIV2K."""
    r = tmp_path_factory.mktemp("data")
    (r / "benchmark" / "Set5" / "HR").mkdir(parents=True)
    Image.fromarray(_image(48, 0)).save(r / "benchmark" / "Set5" / "HR" / "a.png")
    (r / "train" / "T91").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(_image(72, i + 1)).save(r / "train" / "T91" / f"t{i}.png")
    return r


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def printed(cells):
    """A typed printed-table frame like ``paper_tables.load_tables()`` from (method, scale, value) cells."""
    rows = [{"paper": "ipe_liif", "table": "tableX", "dataset": "DIV2K-val", "method": m,
             "backbone": "EDSR-baseline" if m != "Bicubic" else "", "scale": float(s),
             "scale_kind": "in" if s <= 4 else "out", "metric": "psnr", "value": v, "flag": ""}
            for m, s, v in cells]
    return pd.DataFrame(rows)


def raw_rows(values, label="LIIF", method="liif"):
    """Raw results as run_table writes them: ``values`` = {(seed, scale): psnr} on the stand-in."""
    return [{"method": method, "backbone": "edsr-baseline", "variant": "", "profile": "smoke", "seed": seed,
             "dataset": "Set5", "scale": float(s), "protocol": "ipe_liif", "psnr": p, "ssim": 0.5, "n_images": 1,
             "crop": 0, "scored_as": "DIV2K-val", "images": "Set5: first 1 images", "label": label,
             "printed_backbone": "EDSR-baseline", "weights": "trained here", "run_key": f"{method}-s{seed}",
             "seconds": 0.1} for (seed, s), p in values.items()]


SPEC = TableSpec("ipe_liif", "tableX", metrics=("psnr",),
                 rows=(Row("LIIF", "liif", "edsr-baseline"), Row("IPE-LIIF", "ipe-liif", "edsr-baseline")),
                 claims=(Claim("IPE-LIIF", "LIIF"),), not_run={"MetaSR": "not in this test"})
PRINTED = printed([("LIIF", 2, 34.67), ("LIIF", 6, 26.75), ("IPE-LIIF", 2, 34.72), ("IPE-LIIF", 6, 26.79),
                   ("MetaSR", 2, 34.64)])


class TestSideBySide:
    def test_mean_and_sample_std_over_seeds_beside_printed(self, root):
        vals = {(0, 2): 30.0, (1, 2): 30.3, (2, 2): 30.6, (0, 6): 24.0, (1, 6): 24.0, (2, 6): 24.0}
        raw = pd.DataFrame(raw_rows(vals), columns=RAW_COLUMNS)
        t = side_by_side_table(SPEC, raw, "smoke", data_root=root, budget=BUDGET, tables=PRINTED)
        x2 = t[(t["method"] == "LIIF") & (t["scale"] == 2)].iloc[0]
        assert x2["ours"] == pytest.approx(30.3)
        assert x2["ours_std"] == pytest.approx(0.3)                  # sample std of 30.0, 30.3, 30.6
        assert x2["n_seeds"] == 3 and x2["printed"] == 34.67
        assert x2["delta"] == pytest.approx(30.3 - 34.67)
        x6 = t[(t["method"] == "LIIF") & (t["scale"] == 6)].iloc[0]
        assert x6["ours_std"] == pytest.approx(0.0) and x6["status"] == "ours"

    def test_every_printed_cell_stays_with_a_status(self, root):
        raw = pd.DataFrame(raw_rows({(0, 2): 30.0}), columns=RAW_COLUMNS)
        t = side_by_side_table(SPEC, raw, "smoke", data_root=root, budget=BUDGET, tables=PRINTED)
        assert len(t) == len(PRINTED)
        status = dict(zip(zip(t["method"], t["scale"]), t["status"]))
        assert status[("LIIF", 2.0)] == "ours"
        assert status[("MetaSR", 2.0)] == "not in this test"
        assert status[("IPE-LIIF", 2.0)] == "not evaluated at this profile"
        assert np.isnan(t.loc[t["method"] == "MetaSR", "ours"]).all()

    def test_results_of_another_budget_or_profile_are_not_mixed_in(self, root):
        rows = raw_rows({(0, 2): 30.0})
        rows += [{**rows[0], "n_images": 5, "psnr": 99.0}, {**rows[0], "profile": "cpu", "psnr": 77.0}]
        t = side_by_side_table(SPEC, pd.DataFrame(rows), "smoke", data_root=root, budget=BUDGET, tables=PRINTED)
        assert t.loc[(t["method"] == "LIIF") & (t["scale"] == 2), "ours"].item() == pytest.approx(30.0)


class TestStandIn:
    def test_absent_div2k_is_stood_in_for_and_labelled(self, root):
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", root, BUDGET)
        assert (ts.printed, ts.dataset, ts.scored_as, ts.n_images) == ("DIV2K-val", "Set5", "DIV2K-val", 1)
        assert "Set5" in ts.stand_in and "stands in for DIV2K-val" in ts.stand_in and "absent" in ts.stand_in
        raw = pd.DataFrame(raw_rows({(0, 2): 30.0}), columns=RAW_COLUMNS)
        t = side_by_side_table(SPEC, raw, "smoke", data_root=root, budget=BUDGET, tables=PRINTED)
        assert (t.loc[t["status"] == "ours", "stand_in"] == ts.stand_in).all()
        assert (t.loc[t["status"] != "ours", "stand_in"] == "").all()

    def test_present_dataset_needs_no_stand_in(self, root, tmp_path):
        r = tmp_path / "d"
        shutil.copytree(root, r)
        (r / "DIV2K" / "DIV2K_valid_HR").mkdir(parents=True)
        Image.fromarray(_image(48, 9)).save(r / "DIV2K" / "DIV2K_valid_HR" / "0801.png")
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", r, BUDGET)
        assert (ts.dataset, ts.stand_in) == ("DIV2K-val", "")

    def test_stand_in_is_scored_with_the_div2k_rule(self, root):
        """RGB and border s+6, as the protocol scores DIV2K — not Set5's Y channel and border s."""
        (ts,) = plan_test_sets(["DIV2K-val"], "smoke", root, BUDGET)
        from sr_lib.engine.evaluate import evaluate
        got = evaluate(bicubic_matlab, _image_set(ts, root), 2, "ipe_liif")["psnr"]
        proto = get_protocol("ipe_liif")
        _, hr = load_dataset("Set5", root)[0]
        lr, hr_c = proto.make_pair(hr, 2)
        sr = bicubic_matlab(to_tensor01(lr), hr_c.shape[:2], 2)
        assert got == pytest.approx(proto.score(sr, hr_c, 2, "DIV2K-val")[0], abs=1e-9)
        assert got != pytest.approx(proto.score(sr, hr_c, 2, "Set5")[0], abs=1e-3)

    def test_crop_keeps_the_centre(self, root):
        ts = plan_test_sets(["Set5"], "smoke", root, EvalBudget(limit=1, crop=20))[0]
        name, img = _image_set(ts, root)[0]
        _, full = load_dataset("Set5", root)[0]
        assert img.shape == (20, 20, 3) and np.array_equal(img, full[14:34, 14:34])


class TestClaims:
    def _claims(self, root, better_minus_worse):
        base = {(s, 2): 30.0 + 0.1 * s for s in range(len(better_minus_worse))}
        worse = raw_rows(base)
        better = raw_rows({k: v + d for (k, v), d in zip(base.items(), better_minus_worse)},
                          label="IPE-LIIF", method="ipe-liif")
        raw = pd.DataFrame(worse + better, columns=RAW_COLUMNS)
        c = check_claims(SPEC, raw, "smoke", data_root=root, budget=BUDGET, tables=PRINTED)
        return c.set_index("scale")

    def test_margin_and_verdict_per_scale(self, root):
        c = self._claims(root, [0.5, 0.6, 0.7])
        assert c.loc[2.0, "printed"] == pytest.approx(34.72 - 34.67)
        assert c.loc[2.0, "ours"] == pytest.approx(0.6) and c.loc[2.0, "ours_std"] == pytest.approx(0.1)
        assert c.loc[2.0, "verdict"] == "holds" and bool(c.loc[2.0, "holds_printed"])
        assert c.loc[6.0, "verdict"] == "not evaluated"             # printed, not run

    def test_within_noise_and_reversed(self, root):
        assert self._claims(root, [-0.2, 0.0, 0.3]).loc[2.0, "verdict"] == "holds (within seed noise)"
        assert self._claims(root, [-0.5, -0.6, -0.7]).loc[2.0, "verdict"] == "does not hold"
        assert self._claims(root, [0.2]).loc[2.0, "verdict"] == "holds (1 seed, noise unknown)"

    def test_kind_restricts_to_out_of_distribution(self, root):
        spec = TableSpec("ipe_liif", "tableX", rows=SPEC.rows, metrics=("psnr",),
                         claims=(Claim("IPE-LIIF", "LIIF", kind="out", strict=False),))
        c = check_claims(spec, pd.DataFrame(columns=RAW_COLUMNS), "smoke", data_root=root, budget=BUDGET,
                         tables=PRINTED)
        assert list(c["scale"]) == [6.0] and c["claim"].item() == "IPE-LIIF >= LIIF (psnr)"


class TestAtomicWrites:
    def test_failed_write_leaves_the_old_file_and_no_temporary(self, tmp_path, monkeypatch):
        path = tmp_path / "t.csv"
        write_csv(pd.DataFrame({"a": [1]}), path)

        def boom(*a, **k):
            raise OSError("disk full")
        monkeypatch.setattr(os, "replace", boom)
        with pytest.raises(OSError):
            write_csv(pd.DataFrame({"a": [2]}), path)
        monkeypatch.undo()
        assert pd.read_csv(path)["a"].tolist() == [1]
        assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


class TestEndToEnd:
    def test_smoke_table_trains_evaluates_and_reuses(self, root, tmp_path):
        """Tiny models, one 48-px image, two scales: train, evaluate, compare; a second run is all cache."""
        spec = TableSpec("ipe_liif", "tableX", metrics=("psnr",),
                         rows=(Row("Bicubic", "bicubic"), Row("LIIF", "liif", "edsr-baseline")),
                         claims=(Claim("LIIF", "Bicubic"),))
        tables = printed([("Bicubic", 2, 31.01), ("Bicubic", 6, 24.82), ("LIIF", 2, 34.67), ("LIIF", 6, 26.75)])
        tables.loc[tables["method"] == "Bicubic", "backbone"] = ""
        raw_csv = tmp_path / "raw.csv"
        log = []
        kw = dict(seeds=(0,), data_root=root, budget=BUDGET, raw_csv=raw_csv, runs_root=tmp_path / "runs",
                  progress=False, tables=tables, log=log.append)
        raw = run_table(spec, "smoke", **kw)
        assert len(raw) == 4 and np.isfinite(raw["psnr"]).all()
        assert (raw["scored_as"] == "DIV2K-val").all() and (raw["dataset"] == "Set5").all()
        assert len(log) == 4 and not any("cached" in m for m in log)
        log.clear()
        again = run_table(spec, "smoke", **kw)
        assert all("cached" in m for m in log) and len(log) == 4
        assert np.allclose(again["psnr"], raw["psnr"])
        assert len(read_raw(raw_csv)) == 4                        # replaced, not duplicated
        t = side_by_side_table(spec, again, "smoke", data_root=root, budget=BUDGET, tables=tables)
        assert (t["status"] == "ours").all() and t["stand_in"].str.contains("stands in for DIV2K-val").all()
        assert set(t["weights"]) == {"trained here", "none (fixed upscaler)"}

    def test_official_checkpoints_in_the_data_root_become_rows(self, root, tmp_path):
        from sr_lib.engine.train import train
        r = tmp_path / "d"
        shutil.copytree(root, r)
        model = train("liif", "edsr-baseline", profile="smoke", seed=0, data_root=r, out=tmp_path / "runs",
                      progress=False)
        (r / "checkpoints").mkdir()
        shutil.copy(os.path.join(model.train_info["run_dir"], "final.pt"), r / "checkpoints" / "liif_edsr.pth")
        (r / "checkpoints" / "broken.pth").write_bytes(b"not a checkpoint")
        (row,) = checkpoint_rows(r)
        assert (row.label, row.method, row.printed_backbone) == ("LIIF", "liif", "EDSR-baseline")
        assert row.weights == "official checkpoint liif_edsr.pth"
        spec = TableSpec("ipe_liif", "tableX", rows=(row,), metrics=("psnr",))
        raw = run_table(spec, "smoke", seeds=(0, 1), data_root=r, budget=BUDGET, progress=False, tables=PRINTED,
                        log=lambda m: None)
        assert len(raw) == 2 and (raw["seed"] == 0).all()        # a checkpoint is evaluated once, not per seed
        t = side_by_side_table(spec, raw, "smoke", data_root=r, budget=BUDGET, tables=PRINTED)
        extra = t[t["weights"] == row.weights]
        assert len(extra) == 2 and extra["ours"].notna().all()   # its own lines beside the printed LIIF
        assert t[t["weights"] != row.weights]["ours"].isna().all()
        c = check_claims(TableSpec("ipe_liif", "tableX", rows=(row,), metrics=("psnr",),
                                   claims=(Claim("IPE-LIIF", "LIIF"),)), raw, "smoke", data_root=r, budget=BUDGET,
                         tables=PRINTED)
        assert c["ours"].isna().all()                              # claims use weights trained here only


class TestClaimSummary:
    def test_counts_holds_printed_and_noise_per_claim(self):
        claims = pd.DataFrame({"table": ["t1"] * 3, "claim": ["A > B"] * 3,
                               "holds_ours": [True, False, True], "holds_printed": [True, True, True],
                               "verdict": ["holds", "does not hold (within seed noise)", "holds"]})
        assert claim_summary(claims) == ["t1: A > B: holds in 2/3 cells here (printed: 3/3); "
                                         "1 of them within seed noise or with one seed"]
        assert claim_summary(claims.iloc[:0]) == []

    def test_margin_figures_only_for_tables_with_ours(self):
        from sr_lib.viz.tables import claim_margin_figures
        base = dict(claim="A > B", backbone="", dataset="Set5", scale=2.0, printed=0.1, ours_std=0.0, holds_ours=True)
        claims = pd.DataFrame([{**base, "table": "t1", "ours": 0.05}, {**base, "table": "t2", "ours": float("nan")}])
        assert list(claim_margin_figures(claims, "X", "smoke")) == ["t1"]
        assert claim_margin_figures(claims, "X", "smoke", tables=("t2",)) == {}

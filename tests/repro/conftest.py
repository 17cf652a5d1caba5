"""Fixtures of the table-machinery tests: a tiny data root and a toy printed table with raw results,
and a copy of that root with checkpoints in the official layout."""
from __future__ import annotations

import json
import shutil
import warnings

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from sr_lib.repro import RAW_COLUMNS, Claim, EvalBudget, Row, TableSpec


def _image(size, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = 0.5 + 0.4 * np.sin(2 * np.pi * (3 * yy + 2 * xx))[..., None] * np.array([1.0, 0.6, 0.3])
    return (np.clip(base + 0.05 * rng.standard_normal((size, size, 3)), 0, 1) * 255).astype(np.uint8)


def _printed(cells):
    """A typed printed-table frame like ``load_tables()`` from (method, scale, value) cells."""
    rows = [{"paper": "ipe_liif", "table": "tableX", "dataset": "DIV2K-val", "method": m,
             "backbone": "EDSR-baseline" if m != "Bicubic" else "", "scale": float(s),
             "scale_kind": "in" if s <= 4 else "out", "metric": "psnr", "value": v, "flag": ""}
            for m, s, v in cells]
    return pd.DataFrame(rows)


def _raw_rows(values, label="LIIF", method="liif"):
    """Raw results as ``run_rows`` writes them: ``values`` = {(seed, scale): psnr} on the stand-in."""
    return [{"method": method, "backbone": "edsr-baseline", "variant": "", "profile": "smoke", "seed": seed,
             "dataset": "Set5", "scale": float(s), "protocol": "ipe_liif", "psnr": p, "ssim": 0.5, "n_images": 1,
             "crop": 0, "scored_as": "DIV2K-val", "images": "Set5: first 1 images", "label": label,
             "printed_backbone": "EDSR-baseline", "weights": "trained here",
             "run_key": f"{method}-edsr-baseline-s{seed}-{seed:010d}", "seconds": 0.1,
             "per_image": json.dumps([["a.png", p, 0.5]])} for (seed, s), p in values.items()]


def _healthy(raw, ok=True):
    """A health map passing (or failing) every learned run of ``raw``."""
    return {k: ok for k in raw["run_key"]}


@pytest.fixture(scope="session")
def table_root(tmp_path_factory):
    """A data root with one 48×48 Set5 image and three 72×72 training images; no DIV2K."""
    r = tmp_path_factory.mktemp("data")
    (r / "benchmark" / "Set5" / "HR").mkdir(parents=True)
    Image.fromarray(_image(48, 0)).save(r / "benchmark" / "Set5" / "HR" / "a.png")
    (r / "train" / "T91").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(_image(72, i + 1)).save(r / "train" / "T91" / f"t{i}.png")
    return r


@pytest.fixture(scope="session")
def table_runs(tmp_path_factory):
    """One run cache for the tests that train (each smoke recipe is trained once)."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def toy(table_root):
    """A printed "tableX" of LIIF / IPE-LIIF / MetaSR on DIV2K-val (absent: Set5 stands in) and helpers.

    ``make_printed(cells)`` and ``raw(values, label, method)`` build frames; ``spec`` claims IPE-LIIF > LIIF.
    ``small_spec`` / ``small_printed``: Bicubic and a smoke LIIF at x2 and x6, to train and evaluate."""
    spec = TableSpec("ipe_liif", "tableX", metrics=("psnr",),
                     rows=(Row("LIIF", "liif", "edsr-baseline"), Row("IPE-LIIF", "ipe-liif", "edsr-baseline")),
                     claims=(Claim("IPE-LIIF", "LIIF"),), not_run={"MetaSR": "not in this test"})
    printed = _printed([("LIIF", 2, 34.67), ("LIIF", 6, 26.75), ("IPE-LIIF", 2, 34.72), ("IPE-LIIF", 6, 26.79),
                        ("MetaSR", 2, 34.64)])
    small_spec = TableSpec("ipe_liif", "tableX", metrics=("psnr",),
                           rows=(Row("Bicubic", "bicubic"), Row("LIIF", "liif", "edsr-baseline")),
                           claims=(Claim("LIIF", "Bicubic"),))
    small_printed = _printed([("Bicubic", 2, 31.01), ("Bicubic", 6, 24.82), ("LIIF", 2, 34.67), ("LIIF", 6, 26.75)])
    small_printed.loc[small_printed["method"] == "Bicubic", "backbone"] = ""
    return SimpleNamespace(root=table_root, budget=EvalBudget(limit=1, stand_in="Set5"), spec=spec,
                           printed=printed, make_printed=_printed, small_spec=small_spec, small_printed=small_printed,
                           raw=lambda values, label="LIIF", method="liif":
                           pd.DataFrame(_raw_rows(values, label, method), columns=RAW_COLUMNS),
                           raw_rows=_raw_rows, healthy=_healthy)


# reference-vector files whose official configs are written as checkpoints (refvec/README.md)
OFFICIAL_FILES = ("liif_edsr-baseline", "metasr_edsr-baseline", "lte_edsr-baseline", "liif_rdn_small",
                  "lte_swinir_small")


@pytest.fixture(scope="session")
def official_root(table_root, refvec_dir, tmp_path_factory):
    """``table_root`` copied, with ``checkpoints/`` holding files in the official liif / lte layout
    ``{'model': {'name', 'args', 'sd'}}`` (no ``format``, no content hash), one per ``OFFICIAL_FILES``
    reference: its official config and the reference's rule weights (refvec README §2), stored in
    float32 as the released files are. Their numbers mean nothing. Beside them, files no table
    compares: an official LIIF on the full EDSR encoder, an sr_lib IPE-LIIF checkpoint, a broken file.
    ``SimpleNamespace(root, refs: {file stem: reference})``."""
    from sr_lib.official.refvec import from_reference, load_reference
    root = tmp_path_factory.mktemp("official") / "data"
    shutil.copytree(table_root, root)
    ck = root / "checkpoints"
    ck.mkdir()
    refs = {}
    for name in OFFICIAL_FILES:
        ref = refs[name] = load_reference(refvec_dir / f"{name}.pt")
        sd = from_reference(ref).float().state_dict()
        torch.save({"model": {"name": ref["config"]["name"], "args": ref["config"]["args"], "sd": sd}},
                   ck / f"{name}.pth")
    tiny = {"w": torch.zeros(2)}       # only read (the rows), never built
    full_edsr = {**refs["liif_edsr-baseline"]["config"]["args"],
                 "encoder_spec": {"name": "edsr", "args": {"no_upsampling": True}}}
    torch.save({"model": {"name": "liif", "args": full_edsr, "sd": tiny}}, ck / "liif_edsr-full.pth")
    torch.save({"format": "sr_lib/1", "model": {"name": "ipe-liif", "args": {"backbone": "edsr-baseline"}, "sd": tiny}},
               ck / "ipe-liif_ours.pth")
    (ck / "broken.pth").write_bytes(b"not a checkpoint")
    return SimpleNamespace(root=root, refs=refs)


@pytest.fixture
def quiet():
    """Unpinned official files and files without a content hash warn by design; not under test here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield

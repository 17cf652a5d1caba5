"""``python -m sr_lib demo``: the shipped cpu weights super-resolve a user's image better than Bicubic,
the outputs land where it says, and bad input is one line."""
from __future__ import annotations

import numpy as np
import pytest

from sr_lib.cli import main as cli_main
from sr_lib.data.datasets import load_dataset
from sr_lib.data.io import load_image, save_image
from sr_lib.data.resize import pil_bicubic
from sr_lib.errors import UserError
from sr_lib.repro.demo import GAP, label_height, side_by_side
from sr_lib.repro.run_cards import pretrained, read_runs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _shipped_method() -> str:
    """A method with shipped, healthy default-recipe cpu weights on EDSR-baseline (LIIF when there)."""
    runs = read_runs("cpu")
    ok = runs[(runs["healthy"].astype(str) == "True") & (runs["variant"] == "") & (runs["backbone"] == "edsr-baseline")]
    if ok.empty:
        pytest.skip("no shipped cpu weights")
    methods = list(ok["method"])
    return "liif" if "liif" in methods else methods[0]


def _psnr(a: np.ndarray, b: np.ndarray, shave: int = 4) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[shave:-shave, shave:-shave] / 255.0
    return float(-10 * np.log10(np.mean(d ** 2)))


def test_demo_beats_bicubic_on_a_known_image(tmp_path, shared_data, capsys):
    method = _shipped_method()
    _, hr = load_dataset("Set5", shared_data)[1]                                    # a Set5 HR image
    hr = hr[: hr.shape[0] // 2 * 2, : hr.shape[1] // 2 * 2]
    lr = pil_bicubic(hr, (hr.shape[0] // 2, hr.shape[1] // 2))
    save_image(tmp_path / "photo.png", lr)
    assert cli_main(["demo", str(tmp_path / "photo.png"), "--scale", "2", "--method", method,
                     "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out.split()
    sr_path, pair_path = tmp_path / "out" / f"photo_x2_{method}.png", tmp_path / "out" / f"photo_x2_{method}_vs_bicubic.png"
    assert str(sr_path) in printed and str(pair_path) in printed
    sr, pair = load_image(sr_path), load_image(pair_path)
    assert sr.shape == hr.shape
    top = label_height(hr.shape[0])
    assert pair.shape == (hr.shape[0] + top, 2 * hr.shape[1] + GAP, 3)
    bic = pil_bicubic(lr, hr.shape[:2])
    assert np.array_equal(pair[top:, : hr.shape[1]], bic)                    # left: Bicubic
    assert np.array_equal(pair[top:, hr.shape[1] + GAP:], sr)                # right: the method
    assert _psnr(sr, hr) > _psnr(bic, hr) + 0.3                                       # trained weights, not noise


def test_pretrained_names_what_is_shipped():
    _shipped_method()
    with pytest.raises(UserError, match="no shipped healthy cpu weights for liif .*shipped: .* on edsr-baseline"):
        pretrained("liif", "edsr-baseline", variant="no-such-variant")


def test_side_by_side_checks_sizes():
    a = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match="one size"):
        side_by_side(a, np.zeros((4, 6, 3), np.uint8))


@pytest.mark.parametrize("argv, message", [
    (["--scale", "-1"], "--scale must be a finite number >= 1"),
    (["--scale", "abc"], "--scale must be a number"),
    (["--scale", "2", "--method", "no-such-method"], "no shipped healthy cpu weights for no-such-method"),
])
def test_demo_bad_input_is_one_line(tmp_path, capsys, argv, message):
    img = tmp_path / "im.png"
    save_image(img, np.zeros((8, 8, 3), np.uint8))
    try:
        code = cli_main(["demo", str(img), *argv, "--out", str(tmp_path / "o")])
    except SystemExit as e:                      # argparse usage errors exit with code 2
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_demo_missing_image(tmp_path, capsys):
    assert cli_main(["demo", str(tmp_path / "nope.png"), "--scale", "2"]) == 2
    assert "image not found" in capsys.readouterr().err


def test_demo_checks_out_before_work_and_writes_both_or_neither(tmp_path, capsys, monkeypatch):
    method = _shipped_method()
    img = tmp_path / "im.png"
    save_image(img, np.full((12, 10, 3), 128, np.uint8))
    (tmp_path / "afile").write_text("x")
    assert cli_main(["demo", str(img), "--scale", "2", "--method", method, "--out", str(tmp_path / "afile")]) == 2
    assert "afile" in capsys.readouterr().err
    # the second image fails to write: neither is left, nor the folder made for them
    import sr_lib.data.io as io
    real, calls = io.save_image, []

    def flaky(path, im):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, im)
    monkeypatch.setattr(io, "save_image", flaky)
    assert cli_main(["demo", str(img), "--scale", "2", "--method", method, "--out", str(tmp_path / "o")]) == 2
    assert len(calls) == 2 and not (tmp_path / "o").exists()


def test_demo_refuses_what_does_not_fit_the_memory_budget(tmp_path, capsys, monkeypatch):
    method = _shipped_method()
    img = tmp_path / "im.png"
    save_image(img, np.full((40, 40, 3), 128, np.uint8))
    monkeypatch.setenv("SR_MEMORY_BUDGET", "50M")
    assert cli_main(["demo", str(img), "--scale", "30", "--method", method, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "budget" in err[-1] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv", [["--worker", "-1"], ["--worker", "2", "--workers", "2"], ["--workers", "0"]])
def test_train_plan_refuses_bad_workers(argv, capsys):
    assert cli_main(["train-plan", "--profile", "cpu", *argv]) == 2
    assert "--worker must be in 0..--workers-1" in capsys.readouterr().err


def test_train_plan_lists_what_is_shipped_and_what_is_left(tmp_path, capsys, monkeypatch):
    """The listing marks a run shipped exactly when runs.csv has its card (method, backbone, seed, variant,
    steps); a card of the same run at other steps (an older budget) is not it."""
    import pandas as pd
    from sr_lib.repro.plan import plan_runs
    plan = plan_runs("cpu")
    one, other = plan[0], next(r for r in plan[1:] if r.variant)
    monkeypatch.setenv("SR_RESULTS", str(tmp_path))
    (tmp_path / "cpu").mkdir()
    pd.DataFrame([{"run": "a", "method": one.method, "backbone": one.backbone, "seed": one.seed, "variant": one.variant,
                   "steps": one.steps, "train_seconds": 5400.0},
                  {"run": "b", "method": other.method, "backbone": other.backbone, "seed": other.seed,
                   "variant": other.variant, "steps": other.steps},
                  {"run": "c", "method": one.method, "backbone": one.backbone, "seed": one.seed, "variant": one.variant,
                   "steps": one.steps // 2}]).to_csv(tmp_path / "cpu" / "runs.csv", index=False)
    assert cli_main(["train-plan", "--profile", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("1 shipped run(s) the plan no longer uses (c)")      # the half-budget card
    lines = lines[:-1]
    marked = [ln for ln in lines[:-1] if ln.endswith(" shipped")]
    assert len(marked) == 2 and {ln.split()[0] for ln in marked} == {one.label.split()[0], other.label.split()[0]}
    assert sum(ln.endswith(" to train") for ln in lines) == len(plan) - 2
    assert f"{len(plan)} runs" in lines[-1] and "2 shipped" in lines[-1] and f"{len(plan) - 2} to train" in lines[-1]
    # the measured clock: 5,400 s on card a, none on card b (its cell is empty, not zero)
    assert [ln for ln in marked if "took" in ln] == [ln for ln in marked if ln.startswith(one.label.split()[0] + " ")]
    assert "took  1.50 h" in marked[0] + marked[1] and "took 1.5 h by their own clocks" in lines[-1]


def test_train_plan_first_puts_the_named_runs_first_in_the_given_order():
    from sr_lib.repro.plan import plan_runs, prioritise
    plan = plan_runs("cpu")
    out = prioritise(plan, ["ipe-liif:edsr-baseline s", "metasr:edsr-baseline s"])
    n_ipe = sum(r.label.startswith("ipe-liif:edsr-baseline s") for r in plan)
    n_meta = sum(r.label.startswith("metasr:edsr-baseline s") for r in plan)
    assert n_ipe == 3 and n_meta == 3                    # the IPE-LIIF trio's seeds (Table 1)
    assert all(r.label.startswith("ipe-liif:edsr-baseline s") for r in out[:3])
    assert all(r.label.startswith("metasr:edsr-baseline s") for r in out[3:6])
    assert sorted(map(id, out)) == sorted(map(id, plan))                   # a reordering, nothing lost
    rest = [r for r in plan if not r.label.startswith(("ipe-liif:edsr-baseline s", "metasr:edsr-baseline s"))]
    assert out[6:] == rest and prioritise(plan, []) == plan


def test_a_closed_pipe_ends_a_listing_quietly():
    """``python -m sr_lib train-plan | head -1`` where head has gone: exit 0, nothing on stderr."""
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "sr_lib", "train-plan", "--profile", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                     # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err.strip() == "", err

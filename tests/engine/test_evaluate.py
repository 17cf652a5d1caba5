"""Evaluator: printed Bicubic numbers, inference options, results file, command line."""
import csv
import dataclasses
import json

import pytest
import torch

from sr_lib.cli import main
from sr_lib.data.datasets import ImageSet, load_dataset
from sr_lib.engine.evaluate import ModelUpscaler, append_results, bicubic_matlab, evaluate
from sr_lib.metrics.protocols import get_protocol
from sr_lib.models.base import ImplicitSR
from sr_lib.models.layers.sampling import sample_nearest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def printed_bicubic(paper_tables_dir, dataset, scale, metric="psnr"):
    with open(paper_tables_dir / "eqsr_poster_table.csv", newline="") as f:
        for r in csv.DictReader(f):
            if (r["method"], r["dataset"], r["scale"], r["metric"]) == ("Bicubic", dataset, str(scale), metric):
                return float(r["value"])
    raise LookupError(dataset)


# The Bicubic x2 cells (printed identically by EQSR, CiaoSR and the LIIF line of work; Set5 33.66,
# B100 29.56, Urban100 26.88) are matched within 0.01 dB on all three sets by MATLAB LR + MATLAB
# bicubic upscaling on GTmod12 HR with the float (unrounded) output, Y, shave 2. Measured here:
#   GTmod12, float   : 33.6628 / 29.5582 / 26.8711   (all within 0.01)
#   GTmod12, rounded : 33.6570 / 29.5557 / 26.8697   (= protocol "ciaosr"; Urban100 off by 0.0103)
#   mod-2,  rounded  : 33.6779 / 29.5623 / 26.8777   (Set5 off by 0.018)
GTMOD12_FLOAT = dataclasses.replace(get_protocol("ciaosr"), name="gtmod12-float", quantize=False)


class TestPrintedBicubic:
    def test_set5_x2(self, shared_data, paper_tables_dir):
        res = evaluate(bicubic_matlab, load_dataset("Set5", shared_data), 2, GTMOD12_FLOAT)
        assert res["n_images"] == 5
        assert abs(res["psnr"] - printed_bicubic(paper_tables_dir, "Set5", 2)) <= 0.01
        assert 0.92 < res["ssim"] < 0.94          # no Bicubic SSIM at x2 is printed in these tables

    def test_ciaosr_protocol_set5_x2(self, shared_data, paper_tables_dir):
        res = evaluate(bicubic_matlab, load_dataset("Set5", shared_data), 2, "ciaosr")
        assert abs(res["psnr"] - printed_bicubic(paper_tables_dir, "Set5", 2)) <= 0.01

    def test_b100_x2(self, shared_data, paper_tables_dir):            # ~15 s
        res = evaluate(bicubic_matlab, load_dataset("B100", shared_data), 2, GTMOD12_FLOAT)
        assert res["n_images"] == 100
        assert abs(res["psnr"] - printed_bicubic(paper_tables_dir, "B100", 2)) <= 0.01

    @pytest.mark.slow
    def test_urban100_x2(self, shared_data, paper_tables_dir):        # ~2 min
        res = evaluate(bicubic_matlab, load_dataset("Urban100", shared_data), 2, GTMOD12_FLOAT)
        assert res["n_images"] == 100
        assert abs(res["psnr"] - printed_bicubic(paper_tables_dir, "Urban100", 2)) <= 0.01


class TestBicubicGeometry:
    """At a scale s where h·s is not whole the HR is round(h·s) pixels and the LR samples it at the
    factor H/h (``pil_lr``); the upscaler must map back with the same factor, as the decoders' grids do."""

    @pytest.mark.parametrize("h, s", [(330, 1.55), (97, 2.75), (41, 6.25)])
    def test_a_linear_ramp_comes_back_on_the_hr_grid(self, h, s):
        from sr_lib.geometry import hr_size_for
        H = hr_size_for((h, h), s)[0]
        assert H != h * s                                       # the case that drifted
        lr_x = torch.arange(h, dtype=torch.float64) + 0.5       # LR centres, LR units
        lr = (0.2 + 0.6 * lr_x / h).expand(1, 3, h, h).transpose(-1, -2).contiguous()
        sr = bicubic_matlab(lr.double(), (H, H), s)[0, 0, :, 0]                       # [H] down column 0
        hr_x = (torch.arange(H, dtype=torch.float64) + 0.5) * h / H   # HR centres in LR units: factor H/h
        inner = slice(4 * H // h + 4, -(4 * H // h + 4))        # bicubic is exact on a line away from borders
        assert torch.allclose(sr[inner], (0.2 + 0.6 * hr_x / h)[inner], atol=1e-12)

    def test_printed_set5_bicubic_at_non_integer_scales(self, shared_data, paper_tables_dir):
        # EQSR prints 36.24 (x1.55) and 36.10 (x1.6); mapping by s instead of H/h gave 35.32 at x1.55
        for s, tol in ((1.6, 0.05), (1.55, 0.25)):
            res = evaluate(bicubic_matlab, load_dataset("Set5", shared_data), s, "eqsr")
            assert abs(res["psnr"] - printed_bicubic(paper_tables_dir, "Set5", s)) <= tol, (s, res["psnr"])


class NearestSR(ImplicitSR):
    """A parameter-free 'model' (nearest-neighbour upsampling): local, so tiling and padding
    must not change its output."""

    input_norm = "none"

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, x, scale_hw=None):
        return x

    def query(self, feat, coord, cell):
        return sample_nearest(feat, coord)                          # [B,Q,3]


class TestModelUpscaler:
    def test_ciaosr_tiles_reassemble_the_whole_image(self):
        lr = torch.rand(1, 3, 50, 70)
        whole = ModelUpscaler(NearestSR())(lr, (100, 140), 2)
        tiled = ModelUpscaler(NearestSR(), tile=24, tile_overlap=8)(lr, (100, 140), 2)
        assert torch.equal(whole, tiled)

    @pytest.mark.parametrize("hw", [(16, 21), (3, 5)])              # 16 → padded by 8 (never 0); tiny
    def test_lte_window_padding_is_cropped_away(self, hw):
        lr = torch.rand(1, 3, *hw)
        out = (hw[0] * 3, hw[1] * 3)
        whole = ModelUpscaler(NearestSR())(lr, out, 3)
        padded = ModelUpscaler(NearestSR(), window=8)(lr, out, 3)
        assert padded.shape == whole.shape and torch.equal(whole, padded)

    def test_model_is_wrapped_with_protocol_options(self):
        ds = ImageSet("toy", [("a", "astronaut")], bundled=True)
        res = evaluate(NearestSR(), ds, 4, "ciaosr")               # 192/32 tiles on a 128×128 LR
        assert res["n_images"] == 1 and 15 < res["psnr"] < 40


class TestAppendResults:
    def test_rows_are_added_and_same_key_replaced(self, tmp_path):
        out = tmp_path / "r" / "eval.csv"
        row = dict(method="bicubic", backbone="", profile="cpu", seed=0, dataset="Set5", scale=2.0,
                   protocol="eqsr", psnr=33.6, ssim=0.93, n_images=5)
        append_results(out, [row])
        append_results(out, [{**row, "dataset": "B100"}])
        append_results(out, [{**row, "psnr": 40.0, "scale": 2}])     # same key (2 == 2.0): replaced
        rows = list(csv.DictReader(open(out)))
        assert [r["dataset"] for r in rows] == ["B100", "Set5"] and rows[1]["psnr"] == "40.0"
        assert list(rows[0])[:10] == ["method", "backbone", "profile", "seed", "dataset", "scale",
                                      "protocol", "psnr", "ssim", "n_images"]
        assert sorted(p.name for p in out.parent.iterdir()) == ["eval.csv"]   # no temp files left


class TestEvaluateCli:
    def test_last_stdout_line_is_the_json_summary(self, shared_data, tmp_path, capsys):
        out = tmp_path / "res.csv"
        rc = main(["evaluate", "--method", "bicubic", "--dataset", "Set5", "--scale", "4", "--protocol", "eqsr",
                   "--data-root", str(shared_data), "--out", str(out), "--limit", "2"])
        assert rc == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert {"dataset", "scale", "protocol", "psnr", "ssim", "n_images"} <= set(summary)
        assert summary["dataset"] == "Set5" and summary["n_images"] == 2 and summary["scale"] == 4.0
        assert 20 < summary["psnr"] < 40
        assert next(csv.DictReader(open(out)))["protocol"] == "eqsr"

    @pytest.mark.parametrize("args, message", [
        (["--dataset", "Set6"], "unknown dataset"),
        (["--protocol", "edsr"], "unknown protocol"),
        (["--scale", "0"], "scale"), (["--scale", "-2"], "scale"), (["--scale", "nan"], "finite"),
        (["--scale", "inf"], "finite"), (["--scale", "5000"], "absurdly large"),
        (["--scale", "600"], "smaller than 1 pixel"),
        (["--data-root", "/nonexistent/data"], "does not exist"),
        (["--method", "liif"], "--checkpoint"),
        (["--method", "liif", "--checkpoint", "/nonexistent.pth"], "checkpoint not found"),
    ])
    def test_bad_input_is_one_line_and_writes_nothing(self, shared_data, tmp_path, capsys, args, message):
        base = {"--dataset": "Set5", "--scale": "2", "--protocol": "eqsr", "--data-root": str(shared_data),
                "--out": str(tmp_path / "res.csv")}
        extra = []
        for i in range(0, len(args), 2):
            if args[i] in base:
                base[args[i]] = args[i + 1]
            else:
                extra += args[i:i + 2]
        argv = ["evaluate", *[x for kv in base.items() for x in kv], *extra]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1
        assert list(tmp_path.iterdir()) == []

    def test_unwritable_results_folder_is_refused_up_front(self, shared_data, tmp_path, capsys):
        blocker = tmp_path / "file.txt"
        blocker.write_text("x")
        rc = main(["evaluate", "--dataset", "Set5", "--scale", "2", "--protocol", "eqsr",
                   "--data-root", str(shared_data), "--out", str(blocker / "res.csv")])
        assert rc == 2 and "not a folder" in capsys.readouterr().err
        assert blocker.read_text() == "x"

    def test_without_data_runs_on_bundled_images_and_says_so(self, tmp_path, monkeypatch, capsys):
        import sr_lib.data.resolver as resolver
        monkeypatch.setattr(resolver, "repo_root", lambda: tmp_path)
        monkeypatch.delenv("SR_DATA", raising=False)
        with pytest.warns(UserWarning):
            rc = main(["evaluate", "--dataset", "Set5", "--scale", "3", "--protocol", "liif", "--limit", "1"])
        assert rc == 0
        cap = capsys.readouterr()
        assert json.loads(cap.out.strip().splitlines()[-1])["bundled"] is True
        assert "scikit-image" in cap.err

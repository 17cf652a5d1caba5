"""Bad inputs: each gets a clear one-line error or correct handling, and leaves no partial file.

We run as root, where ``chmod 000`` does not stop reads or writes; "unreadable" and "not
writable" are therefore made with a path *under a regular file* (no process can create or list
it); the chmod variants run only for non-root users.
"""
from __future__ import annotations

import math
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import sr_lib
from sr_lib.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from sr_lib.cli import main as cli_main
from sr_lib.config import config_for, model_options
from sr_lib.data.io import load_image, save_image
from sr_lib.data.resolver import resolve_data_root
from sr_lib.engine.evaluate import ModelUpscaler, append_results
from sr_lib.metrics.protocols import check_scale
from sr_lib.geometry import hr_size_for
from sr_lib.engine.inference import super_resolve

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SMOKE = config_for("smoke")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def smoke_model(name: str, backbone: str | None = None):
    backbone = backbone or ("eqnet" if name == "eqsr" else "edsr-baseline")
    torch.manual_seed(0)
    return sr_lib.make(name, **model_options(SMOKE, name, backbone)).eval()


def one_line(msg) -> str:
    text = str(msg).strip()
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def run_cli(capsys, *argv) -> str:
    """Run the CLI in-process; it must fail with exit code 2 and one ``error:`` line on stderr."""
    code = cli_main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert one_line(err).startswith("error: ")
    return err


def write_png16_rgb(path, rgb16: np.ndarray) -> None:
    """A 16-bit RGB PNG written by hand (PIL cannot write one): IHDR colour type 2, depth 16."""
    h, w, _ = rgb16.shape
    rows = b"".join(b"\x00" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
class TestImages:
    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="image not found"):
            load_image(tmp_path / "nope.png")

    def test_corrupt_and_truncated_png(self, tmp_path):
        junk = tmp_path / "junk.png"
        junk.write_bytes(os.urandom(300))
        good = tmp_path / "good.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good)
        cut = tmp_path / "cut.png"
        cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
        for path in (junk, cut):
            with pytest.raises(ValueError, match="cannot read image") as e:
                load_image(path)
            assert path.name in one_line(e.value)

    def test_grayscale_is_replicated_to_rgb(self, tmp_path):
        g = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
        Image.fromarray(g, mode="L").save(tmp_path / "g.png")
        img = load_image(tmp_path / "g.png")
        assert img.shape == (6, 8, 3) and img.dtype == np.uint8
        assert all(np.array_equal(img[..., c], g) for c in range(3))

    def test_rgba_alpha_is_dropped(self, tmp_path):
        rgba = np.random.default_rng(1).integers(0, 256, (5, 7, 4), dtype=np.uint8)
        Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
        assert np.array_equal(load_image(tmp_path / "a.png"), rgba[..., :3])

    def test_16_bit_gray_and_rgb_are_scaled_to_8_bits(self, tmp_path):
        g16 = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
        Image.fromarray(g16).save(tmp_path / "g16.png")
        assert load_image(tmp_path / "g16.png")[0, :, 0].tolist() == [0, 1, 128, 255]   # round(v·255/65535)
        rgb16 = np.random.default_rng(2).integers(0, 65536, (3, 4, 3)).astype(np.uint16)
        write_png16_rgb(tmp_path / "rgb16.png", rgb16)
        img = load_image(tmp_path / "rgb16.png")
        assert img.shape == (3, 4, 3)
        assert np.abs(img.astype(float) - rgb16 / 257.0).max() <= 1.0

    def test_failed_image_write_leaves_no_file(self, tmp_path):
        with pytest.raises(TypeError):
            save_image(tmp_path / "x.png", np.zeros((4, 4, 5), dtype=np.uint8))   # 5 channels: not an image
        assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
class TestScale:
    @pytest.mark.parametrize("bad", [0, -2, float("nan"), float("inf"), -math.inf, 1001, "abc", None, 0.5])
    def test_unusable_scales_are_refused(self, bad):
        with pytest.raises(ValueError, match="scale") as e:
            check_scale(bad)
        one_line(e.value)

    def test_scale_1000_is_accepted_by_the_protocol_check(self):
        assert check_scale(1000) == 1000.0          # and refused by the memory plan (tests/test_memory.py)

    @pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "1e9"])
    def test_cli_scale(self, capsys, tmp_path, bad):
        err = run_cli(capsys, "evaluate", "--method", "bicubic", "--dataset", "Set5", "--scale", bad,
                      "--protocol", "liif", "--data-root", tmp_path)
        assert "scale" in err


# ---------------------------------------------------------------------------------------------
ALL = [(m, None) for m in sorted(sr_lib.list_models())] + [("liif", "swinir"), ("ciaosr", "swinir"), ("lte", "rdn")]


class TestEveryModelOnOddSizes:
    @pytest.mark.parametrize("name,backbone", ALL)
    def test_tiny_non_square_and_odd_sizes(self, name, backbone):
        """3×5 is smaller than a 3×3 unfold's support, SwinIR's 8-px window and EQSR's 16-px pad;
        13×7 at ×2.5 is odd, non-square and non-integer."""
        model = smoke_model(name, backbone)
        gen = torch.Generator().manual_seed(0)
        for hw, s in (((3, 5), 2), ((13, 7), 2.5)):
            lr = torch.rand(1, 3, *hw, generator=gen)
            out = hr_size_for(hw, s)
            sr = super_resolve(model, lr, out_size=out)
            assert sr.shape == (1, 3, *out)
            assert torch.isfinite(sr).all() and sr.min() >= 0 and sr.max() <= 1

    def test_tiles_of_an_image_smaller_than_the_overlap_decode_it_whole(self):
        model = smoke_model("ciaosr")
        lr = torch.rand(1, 3, 20, 45)                # smaller side 20 ≤ overlap 32
        tiled = ModelUpscaler(model, tile=192, tile_overlap=32)(lr, (80, 180), 4)
        assert torch.equal(tiled, super_resolve(model, lr, out_size=(80, 180)))


# ---------------------------------------------------------------------------------------------
def liif_ckpt(tmp_path, name="liif.pt"):
    path = tmp_path / name
    save_checkpoint(path, smoke_model("liif"))
    return path


EVAL = ["evaluate", "--method", "liif", "--dataset", "Set5", "--scale", "2", "--protocol", "liif"]


class TestCheckpoints:
    def test_checkpoint_of_another_model(self, tmp_path, capsys):
        ck = torch.load(liif_ckpt(tmp_path), weights_only=True)
        ck["model"]["name"] = "metasr"               # LIIF weights presented as MetaSR
        ck["model"]["args"] = {k: v for k, v in ck["model"]["args"].items() if k != "hidden"}
        torch.save(ck, tmp_path / "other.pt")
        with pytest.raises(CheckpointError, match="does not fit MetaSR: unexpected keys.*shape mismatch"):
            load_checkpoint(tmp_path / "other.pt")
        err = run_cli(capsys, *EVAL, "--checkpoint", tmp_path / "other.pt", "--data-root", tmp_path)
        assert "does not fit MetaSR" in err

    def test_truncated_checkpoint(self, tmp_path, capsys):
        path = liif_ckpt(tmp_path)
        path.write_bytes(path.read_bytes()[:-200])
        err = run_cli(capsys, *EVAL, "--checkpoint", path, "--data-root", tmp_path)
        assert "truncated or corrupt" in err

    def test_missing_and_unexpected_keys_are_named(self, tmp_path):
        ck = torch.load(liif_ckpt(tmp_path), weights_only=True)
        sd = ck["model"]["sd"]
        dropped = sorted(sd)[0]
        del sd[dropped]
        sd["extra.weight"] = torch.zeros(1)
        torch.save(ck, tmp_path / "bad.pt")
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(tmp_path / "bad.pt")
        msg = one_line(e.value)
        assert f"missing keys (1): {dropped}" in msg and "unexpected keys (1): extra.weight" in msg

    def test_missing_checkpoint(self, tmp_path, capsys):
        err = run_cli(capsys, *EVAL, "--checkpoint", tmp_path / "none.pt", "--data-root", tmp_path)
        assert "checkpoint not found" in err

    def test_failed_checkpoint_write_leaves_no_file(self, tmp_path):
        with pytest.raises(Exception):
            save_checkpoint(tmp_path / "ck.pt", smoke_model("liif"), f=lambda: 0)   # not picklable: fails mid-write
        assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
class TestFolders:
    def test_unreadable_data_root(self, tmp_path, capsys):
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(NotADirectoryError, match="not a folder"):
            resolve_data_root(blocker)
        with pytest.raises(FileNotFoundError, match="does not exist"):
            resolve_data_root(blocker / "data")       # under a regular file: cannot exist or be listed
        err = run_cli(capsys, "evaluate", "--method", "bicubic", "--dataset", "Set5", "--scale", "2",
                      "--protocol", "liif", "--data-root", blocker / "data")
        assert "data root" in err

    @pytest.mark.skipif(IS_ROOT, reason="chmod does not stop root; covered by the path-under-a-file case")
    def test_unreadable_data_root_by_permissions(self, tmp_path):
        root = tmp_path / "data"
        root.mkdir()
        root.chmod(0)
        try:
            with pytest.raises(PermissionError, match="not readable"):
                resolve_data_root(root)
        finally:
            root.chmod(0o755)

    def test_results_folder_not_writable(self, tmp_path, capsys):
        blocker = tmp_path / "file"
        blocker.write_text("x")
        before = sorted(tmp_path.rglob("*"))
        err = run_cli(capsys, "evaluate", "--method", "bicubic", "--dataset", "Set5", "--scale", "2",
                      "--protocol", "liif", "--data-root", tmp_path, "--out", blocker / "res" / "x.csv")
        assert "not a folder" in err
        with pytest.raises(OSError):
            append_results(blocker / "x.csv", [{"method": "m", "psnr": 1.0}])
        assert sorted(tmp_path.rglob("*")) == before and blocker.read_text() == "x"

    @pytest.mark.skipif(IS_ROOT, reason="chmod does not stop root; covered by the path-under-a-file case")
    def test_results_folder_read_only_by_permissions(self, tmp_path, capsys):
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            err = run_cli(capsys, "evaluate", "--method", "bicubic", "--dataset", "Set5", "--scale", "2",
                          "--protocol", "liif", "--data-root", tmp_path, "--out", ro / "x.csv")
            assert "not writable" in err and list(ro.iterdir()) == []
        finally:
            ro.chmod(0o755)

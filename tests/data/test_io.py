"""Image loading: every mode the benchmark sets contain ends as uint8 RGB [H, W, 3]."""
import numpy as np
import pytest
from PIL import Image

from sr_lib.data.io import load_image, save_image


class TestLoadImage:
    def test_rgb_roundtrip_is_lossless(self, tmp_path):
        img = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
        save_image(tmp_path / "a.png", img)
        out = load_image(tmp_path / "a.png")
        assert out.dtype == np.uint8 and np.array_equal(out, img)

    def test_grayscale_is_replicated_to_three_channels(self, tmp_path):
        g = np.arange(20, dtype=np.uint8).reshape(4, 5)
        Image.fromarray(g, mode="L").save(tmp_path / "g.png")
        out = load_image(tmp_path / "g.png")
        assert out.shape == (4, 5, 3)
        for c in range(3):
            assert np.array_equal(out[:, :, c], g)

    def test_rgba_drops_alpha_without_compositing(self, tmp_path):
        rgba = np.zeros((3, 3, 4), dtype=np.uint8)
        rgba[..., 0], rgba[..., 3] = 200, 0           # fully transparent red stays red
        Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
        out = load_image(tmp_path / "a.png")
        assert out.shape == (3, 3, 3) and (out[..., 0] == 200).all() and (out[..., 1:] == 0).all()

    def test_16bit_is_scaled_to_8bit(self, tmp_path):
        v = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)   # 0, 1, 128, 255 in 8 bits
        Image.fromarray(v).save(tmp_path / "d.png")
        out = load_image(tmp_path / "d.png")
        assert out[0, :, 0].tolist() == [0, 1, 128, 255]

    def test_missing_file_names_the_path(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="nope.png"):
            load_image(tmp_path / "nope.png")

    def test_corrupt_file_is_a_one_line_value_error(self, tmp_path):
        good = tmp_path / "good.png"
        save_image(good, np.zeros((16, 16, 3), np.uint8))
        bad = tmp_path / "bad.png"
        bad.write_bytes(good.read_bytes()[:40])        # truncated PNG
        with pytest.raises(ValueError, match="cannot read image") as e:
            load_image(bad)
        assert "\n" not in str(e.value)
        (tmp_path / "junk.png").write_bytes(b"not an image at all")
        with pytest.raises(ValueError, match="cannot read image"):
            load_image(tmp_path / "junk.png")

    def test_set14_bridge_single_channel_loads_as_rgb(self, shared_data):
        img = load_image(shared_data / "benchmark/Set14/HR/bridge.png")
        assert img.shape == (512, 512, 3)
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])

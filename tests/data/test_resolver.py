"""Data-root resolution: argument > SR_DATA > <repo>/data > scikit-image stand-ins."""
import numpy as np
import pytest

import sr_lib.data.resolver as resolver
from sr_lib.data.datasets import load_dataset, load_training_images
from sr_lib.data.resolver import resolve_data_root


@pytest.fixture
def empty_repo(tmp_path, monkeypatch):
    """A repo whose data/ holds only its README, and no SR_DATA."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README.md").write_text("x")
    monkeypatch.setattr(resolver, "repo_root", lambda: tmp_path)
    monkeypatch.delenv("SR_DATA", raising=False)
    return tmp_path


class TestResolveDataRoot:
    def test_explicit_argument_wins(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SR_DATA", str(tmp_path / "elsewhere"))
        root = resolve_data_root(tmp_path)
        assert root.path == tmp_path.resolve() and root.source == "argument" and not root.bundled

    def test_env_is_used_without_argument(self, tmp_path, monkeypatch):
        monkeypatch.setenv("SR_DATA", str(tmp_path))
        assert resolve_data_root().source == "SR_DATA"

    def test_missing_explicit_root_is_an_error_not_a_fallback(self, tmp_path, monkeypatch):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            resolve_data_root(tmp_path / "missing")
        monkeypatch.setenv("SR_DATA", str(tmp_path / "missing"))
        with pytest.raises(FileNotFoundError, match="SR_DATA"):
            resolve_data_root()

    def test_file_as_root_is_an_error(self, tmp_path):
        f = tmp_path / "f.txt"
        f.write_text("x")
        with pytest.raises(NotADirectoryError):
            resolve_data_root(f)

    def test_repo_data_with_content_is_used(self, empty_repo):
        (empty_repo / "data" / "benchmark").mkdir()
        assert resolve_data_root().source == "repo"

    def test_falls_back_to_bundled_images_and_says_so(self, empty_repo):
        with pytest.warns(UserWarning, match="scikit-image"):
            root = resolve_data_root()
        assert root.bundled and root.path is None


class TestBundledStandIns:
    def test_benchmark_names_serve_rgb_skimage_images(self, empty_repo):
        with pytest.warns(UserWarning):
            ds = load_dataset("Set5")
        assert ds.bundled and "bundled" in ds.name and len(ds) == 5
        name, img = ds[0]
        import skimage.data
        assert name == "astronaut" and np.array_equal(img, skimage.data.astronaut())

    def test_training_falls_back_to_one_bundled_set(self, empty_repo):
        with pytest.warns(UserWarning):
            sets = load_training_images()
        assert len(sets) == 1 and sets[0].bundled
        _, img = sets[0][sets[0].names.index("camera")]       # grayscale stand-in → RGB
        assert img.shape[2] == 3 and np.array_equal(img[..., 0], img[..., 2])

"""Loaders for the benchmark layout of ../shared/data."""
import numpy as np
import pytest

from sr_lib.data.datasets import (available_datasets, canonical_name, load_dataset, load_reference_lr,
                                  load_training_images)
from sr_lib.data.io import save_image


class TestBenchmarkLayout:
    def test_set5_is_five_lazy_images_in_name_order(self, shared_data):
        ds = load_dataset("set5", shared_data)
        assert len(ds) == 5 and ds.names == ["baby", "bird", "butterfly", "head", "woman"]
        name, img = ds[1]
        assert name == "bird" and img.shape == (288, 288, 3) and img.dtype == np.uint8
        assert [n for n, _ in ds] == ds.names

    def test_sizes_of_the_sets_match_the_data_readme(self, shared_data):
        assert {n: len(load_dataset(n, shared_data)) for n in ("Set14", "B100", "Urban100")} == \
            {"Set14": 14, "B100": 100, "Urban100": 100}
        assert len(load_dataset("BSD100", shared_data)) == 100          # alias

    def test_reference_lr_pairs_by_stem(self, shared_data):
        lr = load_reference_lr("Set5", 4, shared_data)
        assert lr.names == ["baby", "bird", "butterfly", "head", "woman"]
        assert lr[0][1].shape == (128, 128, 3)
        assert load_reference_lr("Set14", 2, shared_data) is None        # not shipped

    def test_training_sets_are_t91_and_bsd200_without_div2k(self, shared_data):
        sets = load_training_images(shared_data)
        assert [s.name for s in sets] == ["T91", "BSD200"] and [len(s) for s in sets] == [91, 200]

    def test_missing_sets_name_where_they_were_looked_for(self, shared_data):
        assert "DIV2K-val" not in available_datasets(shared_data)
        with pytest.raises(FileNotFoundError, match="DIV2K_valid_HR"):
            load_dataset("DIV2K-val", shared_data)


class TestLayoutVariants:
    def test_div2k_and_manga109_are_found_when_present(self, tmp_path):
        for sub in ("DIV2K/DIV2K_valid_HR", "benchmark/Manga109/HR"):
            save_image(tmp_path / sub / "0801.png", np.zeros((8, 8, 3), np.uint8))
        assert len(load_dataset("div2k", tmp_path)) == 1 and len(load_dataset("Manga109", tmp_path)) == 1

    def test_unknown_name_lists_the_known_ones(self):
        with pytest.raises(ValueError, match="Set5"):
            canonical_name("Set6")

    def test_empty_folder_is_an_error(self, tmp_path):
        (tmp_path / "benchmark/Set5/HR").mkdir(parents=True)
        with pytest.raises(FileNotFoundError, match="no images"):
            load_dataset("Set5", tmp_path)

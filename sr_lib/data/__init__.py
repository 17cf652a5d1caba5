"""Data: where images live, how they are read, and how LR images are made from them."""
from sr_lib.data.datasets import (BENCHMARKS, DATASETS, ImageSet, available_datasets, canonical_name,
                                  load_dataset, load_reference_lr, load_training_images)
from sr_lib.data.io import load_image, save_image
from sr_lib.data.resize import (hr_size_for, imresize_matlab, lr_size_for, matlab_lr, mod_crop,
                                pil_bicubic, pil_lr)
from sr_lib.data.resolver import DataRoot, resolve_data_root

__all__ = ["resolve_data_root", "DataRoot", "load_dataset", "load_reference_lr", "load_training_images",
           "available_datasets", "canonical_name", "ImageSet", "BENCHMARKS", "DATASETS",
           "load_image", "save_image", "imresize_matlab", "pil_bicubic", "lr_size_for", "hr_size_for",
           "mod_crop", "matlab_lr", "pil_lr"]

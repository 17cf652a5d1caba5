"""Analyses of trained models: per-block features (forward hooks) and the
layer × layer CKA between SR scales (``sr_lib.analysis.features``)."""
from sr_lib.analysis.features import (block_names, capture, encoder_features, feature_rows, scale_cka_matrix,
                                      to_common_grid)

__all__ = ["block_names", "capture", "encoder_features", "feature_rows", "scale_cka_matrix", "to_common_grid"]

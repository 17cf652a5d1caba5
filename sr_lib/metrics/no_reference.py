"""No-reference image quality (CiaoSR Table 9: NIQE, BRISQUE, PIQE; lower is better).

Only metrics that a maintained package computes **offline** are provided; nothing is
re-implemented or approximated here. What this machine has (checked at call time by
``availability()``):

- **BRISQUE** (Mittal et al. 2012) — the ``brisque`` package (PyPI, 2026 release), which ships
  its trained SVR model (``brisque/models/svm.txt``) and needs OpenCV (the
  ``opencv-python-headless`` extra) and ``libsvm-official``. Its model is the package's own,
  not MATLAB's ``brisque``: values are on the same 0–100 scale but need not equal the MATLAB
  numbers the paper prints. Compatibility shim: ``BRISQUE.score`` of brisque 0.2.0 fails under
  NumPy ≥ 2.4 (a 1-element array converted with ``float``); ``brisque_score`` runs the
  package's own steps (features at full and half resolution, cubic OpenCV downscale,
  scaling, SVR) with the scalars converted explicitly, so the numbers are the package's.
- **NIQE** — not available: it needs the pristine-image multivariate Gaussian model (MATLAB's
  ``niqe_image_params`` / the NIQE authors' ``modelparameters.mat``). pyiqa needs torchvision
  (which this project must not install: it pulls a CUDA torch build) and fetches its parameter
  file at first use; the ``niqe`` PyPI package (0.1.1, 2022) is undocumented and unmaintained.
- **PIQE** — not available: the one PyPI implementation, ``pypiqe`` 1.2 (2024), requires the GUI
  ``opencv-python`` build, which clashes with the headless OpenCV BRISQUE uses (both install
  the ``cv2`` module), so it is not installed.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache

import numpy as np

NR_METRICS = ("niqe", "brisque", "piqe")

_MISSING = {
    "niqe": "NIQE not computed: no maintained offline package (pyiqa needs torchvision and downloads its NIQE "
            "parameters; the pristine-image model file is not on this machine)",
    "piqe": "PIQE not computed: the only package (pypiqe 1.2) requires the GUI opencv-python build, which clashes "
            "with the headless OpenCV used for BRISQUE; not installed",
}


class MetricUnavailable(RuntimeError):
    """A no-reference metric that cannot be computed on this machine (the message says why)."""


def availability() -> dict:
    """``{metric: ""}`` when computable here, else ``{metric: reason}``."""
    out = dict(_MISSING)
    if importlib.util.find_spec("brisque") is None or importlib.util.find_spec("cv2") is None:
        out["brisque"] = ("BRISQUE not computed: package `brisque` with OpenCV not installed "
                          "(pip install 'brisque[opencv-python-headless]==0.2.0')")
    else:
        out["brisque"] = ""
    return {m: out[m] for m in NR_METRICS}


@lru_cache(maxsize=1)
def _brisque_model():
    from brisque import BRISQUE
    return BRISQUE(url=False)


def brisque_score(img: np.ndarray) -> float:
    """BRISQUE of an RGB image (uint8 [H,W,3], or float in [0,1]) with the ``brisque`` package's model."""
    reason = availability()["brisque"]
    if reason:
        raise MetricUnavailable(reason)
    import cv2
    import skimage.color
    a = np.asarray(img)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H,W,3], got shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    model = _brisque_model()
    gray = skimage.color.rgb2gray(a)                                     # float64 [H,W] in [0,1]
    full = model.calculate_brisque_features(gray, kernel_size=7, sigma=7 / 6)
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    coarse = model.calculate_brisque_features(half, kernel_size=7, sigma=7 / 6)
    feats = np.array([np.asarray(v, np.float64).item() for v in np.concatenate((full, coarse))])
    return float(model.calculate_image_quality_score(feats))


def score(img: np.ndarray, metric: str) -> float:
    """``metric`` ∈ ``NR_METRICS`` of ``img``; ``MetricUnavailable`` when it cannot be computed here."""
    if metric not in NR_METRICS:
        raise ValueError(f"unknown no-reference metric {metric!r}; known: {', '.join(NR_METRICS)}")
    if metric == "brisque":
        return brisque_score(img)
    raise MetricUnavailable(availability()[metric])


__all__ = ["NR_METRICS", "MetricUnavailable", "availability", "brisque_score", "score"]

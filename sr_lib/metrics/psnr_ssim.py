"""PSNR and SSIM as the SR papers compute them (``reference-implementations.md`` §8).

All functions take images in the **[0, 255] range**, ``[H, W, 3]`` RGB (uint8 or float; a
float SR output is *not* rounded here — quantising is a protocol decision, see
``quantize_255``).

- Y channel: BT.601 as MATLAB ``rgb2ycbcr`` on [0, 255] input,
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (not rounded). LIIF's in-code
  coefficients [65.738, 129.057, 25.064]/256 equal these to 6 decimals and the +16 cancels
  in a difference, so one conversion serves all three code bases.
- Border shave: ``shave`` pixels removed from every side before the metric.
- PSNR = 10·log10(255² / MSE) (scikit-image ``peak_signal_noise_ratio``, data_range 255).
- SSIM: scikit-image ``structural_similarity`` with ``gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255``: an 11×11 Gaussian window (truncate 3.5 →
  radius 5), C1 = (0.01·255)², C2 = (0.03·255)², mean over the map with a 5-pixel border
  excluded — the "valid" SSIM of mmedit/basicsr ``ssim`` / MATLAB ``ssim_index.m`` (no
  automatic downsampling). RGB SSIM is the mean over channels.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

Y_COEFFS = (65.481, 128.553, 24.966)


def rgb_to_y(img) -> np.ndarray:
    """RGB ``[H, W, 3]`` on [0, 255] → MATLAB BT.601 luma ``[H, W]`` (float64, in [16, 235])."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image [H, W, 3], got shape {a.shape}")
    r, g, b = Y_COEFFS
    # elementwise (not a matmul) so the result never depends on the array's memory layout
    return 16.0 + (r * a[..., 0] + g * a[..., 1] + b * a[..., 2]) / 255.0


def quantize_255(img01) -> np.ndarray:
    """Float image in [0, 1] → [0, 255] rounded to integers (as ``tensor2img``: clip, ×255,
    round half to even), returned as float64."""
    return np.round(np.clip(np.asarray(img01, dtype=np.float64), 0.0, 1.0) * 255.0)


def _prepare(sr, hr, shave: int, y_channel: bool):
    sr = np.asarray(sr, dtype=np.float64)
    hr = np.asarray(hr, dtype=np.float64)
    if sr.shape != hr.shape:
        raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in shape")
    if y_channel:
        sr, hr = rgb_to_y(sr), rgb_to_y(hr)
    if shave:
        if 2 * shave >= min(sr.shape[:2]):
            raise ValueError(f"border shave {shave} leaves nothing of a {sr.shape[0]}x{sr.shape[1]} image")
        sr, hr = sr[shave:-shave, shave:-shave], hr[shave:-shave, shave:-shave]
    return sr, hr


def psnr(sr, hr, shave: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB of ``sr`` against ``hr`` (both [0, 255]); ``inf`` when identical."""
    sr, hr = _prepare(sr, hr, int(shave), y_channel)
    if np.array_equal(sr, hr):
        return float("inf")
    return float(peak_signal_noise_ratio(hr, sr, data_range=255.0))


def ssim(sr, hr, shave: int = 0, y_channel: bool = True) -> float:
    """SSIM (valid 11×11 Gaussian, σ = 1.5) of ``sr`` against ``hr`` (both [0, 255])."""
    sr, hr = _prepare(sr, hr, int(shave), y_channel)
    if min(sr.shape[:2]) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels after the shave, got {sr.shape[:2]}")
    return float(structural_similarity(hr, sr, data_range=255.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False,
                                       channel_axis=None if sr.ndim == 2 else 2))


__all__ = ["rgb_to_y", "quantize_255", "psnr", "ssim", "Y_COEFFS"]

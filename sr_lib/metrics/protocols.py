"""The evaluation protocols of the papers, each written down once.

A protocol answers four questions (``reference-implementations.md`` §1.4, §4, §5.4, §6.3, §8):
how the test LR is made from the HR at scale s, which HR pixels are compared, whether the
SR output is rounded to uint8 first, and on which channel / border the metric is taken.
Inference options that belong to a code base's test script (LTE's cell clip, CiaoSR's tiles)
live here too; ``sr_lib.engine.evaluate`` passes them to ``sr_lib.engine.inference.super_resolve``.
The LR padding an encoder needs (the LTE-flavour SwinIR's window) is the model's
``input_window``, not a protocol's: it is applied under every protocol.

    proto = get_protocol("eqsr")
    lr, hr = proto.make_pair(hr_uint8, 2.0)          # uint8 LR and the HR it is scored against
    psnr, ssim = proto.score(sr01, hr, 2.0, "Set5")  # sr01: float [H, W, 3] in [0, 1]

Choices the papers and code leave open are marked **[choice]** in the field comments; a
variant for a protocol search is ``dataclasses.replace(get_protocol("eqsr"), shave_default=6)``.

Test LR on our data: the official in-distribution tests read stored MATLAB LR folders, of
which only Set5's ship here; ``make_pair`` regenerates them with ``imresize_matlab``
(rounding per pass), which reproduces the stored Set5 ×2/×3/×4 LR bit-exactly, so the
regenerated LR of the other sets is what the stored folders would contain.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from sr_lib.data.resize import matlab_lr, mod_crop, pil_lr
from sr_lib.metrics.psnr_ssim import psnr, quantize_255, ssim

MAX_SCALE = 1000.0


def check_scale(scale) -> float:
    """A usable scale factor as float, or ``ValueError`` naming the problem."""
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"scale must be a number, got {scale!r}") from None
    if not math.isfinite(s):
        raise ValueError(f"scale must be finite, got {scale!r}")
    if s < 1:
        raise ValueError(f"scale must be >= 1 (an upscaling factor), got {scale!r}")
    if s > MAX_SCALE:
        raise ValueError(f"scale {scale!r} is absurdly large (limit {MAX_SCALE:g})")
    return s


def _is_div2k(dataset) -> bool:
    return bool(dataset) and str(dataset).lower().startswith("div2k")


@dataclass(frozen=True)
class Protocol:
    """One paper's evaluation protocol (see the registry below for the values)."""

    name: str
    description: str
    # -- test pairs --
    matlab_scales: tuple = (2.0, 3.0, 4.0)   # scales whose LR is MATLAB bicubic (stored folders)
    matlab_rounding: str = "per_pass"        # uint8 per pass: bit-exact with the stored LR
    other_lr: str = "pil"                    # LR at all other scales: "pil" | "matlab"
    hr_mod: int = 1                          # HR mod-crop first (CiaoSR GTmod12: 12)
    # -- metric --
    quantize: bool = False                   # round SR to uint8 before the metric
    div2k_rgb: bool = False                  # LIIF: RGB and shave s+6 on DIV2K (Y otherwise)
    shave_table: tuple = ()                  # ((scale, shave), ...) fixed borders (EQSR)
    shave_default: int | None = None         # border for scales not in the table; None → ceil(s)
    # -- inference options applied by the evaluator (the LR padding of an encoder that needs it,
    #    LTE's SwinIR window, is the model's ``input_window``, applied under every protocol) --
    cell_clip: float | None = None           # LTE: cell × max(s / cell_clip, 1)
    tile: int = 0                            # CiaoSR: LR tile size (0 = whole image)
    tile_overlap: int = 0
    tile_max_scale: float = 0.0              # tile only for s <= this
    notes: tuple = field(default=(), compare=False)

    # -- pairs --
    def lr_method(self, scale) -> str:
        """"matlab" or "pil": how the test LR at ``scale`` is made."""
        s = check_scale(scale)
        return "matlab" if any(abs(s - m) < 1e-9 for m in self.matlab_scales) else self.other_lr

    def make_pair(self, hr: np.ndarray, scale):
        """uint8 HR ``[H, W, 3]`` → (uint8 LR, uint8 HR cropped to match the LR).

        HR is mod-cropped (``hr_mod``), then h_lr = floor(H/s + 1e-9) and the HR is cropped
        top-left to round(h_lr·s) (for integer s: a mod-s crop, the "HR cropped to lr·s" of
        LIIF/EQSR); the LR comes from MATLAB or PIL bicubic per ``lr_method``.
        """
        s = check_scale(scale)
        if self.hr_mod > 1:
            hr = mod_crop(hr, self.hr_mod)
        h, w = hr.shape[:2]
        if math.floor(h / s + 1e-9) < 1 or math.floor(w / s + 1e-9) < 1:
            raise ValueError(f"scale {scale:g} leaves an LR smaller than 1 pixel for a {h}x{w} image")
        if self.lr_method(s) == "matlab":
            return matlab_lr(hr, s, rounding=self.matlab_rounding)
        return pil_lr(hr, s)

    # -- metric --
    def shave(self, scale, dataset=None) -> int:
        """Border pixels removed per side before the metric at ``scale`` on ``dataset``."""
        s = check_scale(scale)
        for t, b in self.shave_table:
            if abs(s - t) < 1e-9:
                return int(b)
        base = self.shave_default if self.shave_default is not None else math.ceil(s - 1e-9)
        return base + (6 if self.div2k_rgb and _is_div2k(dataset) else 0)

    def y_channel(self, dataset=None) -> bool:
        return not (self.div2k_rgb and _is_div2k(dataset))

    def score(self, sr, hr, scale, dataset=None):
        """(PSNR dB, SSIM) of float ``sr`` in [0, 1] (``[H, W, 3]`` numpy or ``[1, 3, H, W]``
        tensor) against uint8 ``hr``; SSIM is taken on the same channel and border as PSNR."""
        if hasattr(sr, "detach"):
            from sr_lib.data.io import to_numpy01
            sr = to_numpy01(sr)
        sr255 = quantize_255(sr) if self.quantize else np.clip(np.asarray(sr, np.float64), 0, 1) * 255.0
        b, y = self.shave(scale, dataset), self.y_channel(dataset)
        return psnr(sr255, hr, b, y), ssim(sr255, hr, b, y)

    def inference_options(self, scale) -> dict:
        """Keyword options of ``super_resolve`` that this protocol sets at ``scale``."""
        s = check_scale(scale)
        return {
            "cell_scale": max(s / self.cell_clip, 1.0) if self.cell_clip else 1.0,
            "tile": self.tile if (self.tile and s <= self.tile_max_scale + 1e-9) else 0,
            "tile_overlap": self.tile_overlap,
        }


LIIF = Protocol(
    name="liif",
    description="LIIF/MetaSR test.py: MATLAB LR x2-4, PIL above; float output; Y shave s "
                "(benchmarks), RGB shave s+6 (DIV2K)",
    div2k_rgb=True,
    notes=(
        "in-distribution LR: EDSR benchmark.tar LR_bicubic/X{2,3,4} (MATLAB), regenerated here",
        "[choice] non-integer scales in [1,4] use PIL on the fly (sr-implicit-downsampled)",
        "[choice] shave ceil(s) at non-integer s (the code only runs integer eval types)",
        "[choice] SSIM (not computed by LIIF; IPE-LIIF prints it) on the PSNR's channel and border",
    ),
)

PROTOCOLS = {
    "liif": LIIF,
    "ipe_liif": replace(
        LIIF, name="ipe_liif",
        description="IPE-LIIF: no public code; assumed = LIIF's test.py (" + LIIF.description + ")"),
    "lte": replace(
        LIIF, name="lte", cell_clip=4.0,
        description="LTE test.py: LIIF's protocol + cell clip max(s/4,1) (SwinIR window padding by "
                    "1..8 px: the model's input_window, under every protocol)",
        notes=LIIF.notes + ("window padding of the LTE-flavour SwinIR (--window 8 scripts) comes from "
                            "the model (input_window) and applies under every protocol",)),
    "ciaosr": Protocol(
        name="ciaosr",
        description="CiaoSR (mmedit): GTmod12 HR, MATLAB LR x2-4, PIL above; uint8 rounding; "
                    "Y shave s; 192/32 tiles for s<=4",
        hr_mod=12, quantize=True, tile=192, tile_overlap=32, tile_max_scale=4.0,
        notes=(
            "x2-4 LR: Classical/<set>/LRbicx{s} (MATLAB from GTmod12), regenerated here",
            "x6+ LR: mmedit RandomDownSampling (PIL) on GTmod12",
            "[choice] DIV2K scored like the benchmarks (Y, shave s); the configs shown only cover benchmarks",
            "[choice] shave ceil(s) at non-integer s",
        ),
    ),
    "eqsr": Protocol(
        name="eqsr",
        description="EQSR (basicsr): HR cropped to lr*s, MATLAB LR x2-4, PIL otherwise; uint8 "
                    "rounding; Y; shave 4 (x2-4), 6 (x6), 10 (x8)",
        quantize=True, shave_table=((6.0, 6), (8.0, 10)), shave_default=4,
        notes=(
            "crop_border from testx234.yml (4), testx6.yml (6), testx8.yml (10)",
            "[choice] every other scale uses 4, the value of the repo's 5.75 example",
            "LR padding to a multiple of 16 happens inside the model",
        ),
    ),
}

# paper key in ../shared/paper_tables → the protocol of that paper's own code
PAPER_PROTOCOL = {"eqsr": "eqsr", "ipe_liif": "ipe_liif", "ciaosr": "ciaosr", "liif": "liif", "lte": "lte"}


def get_protocol(name) -> Protocol:
    """The protocol called ``name`` (a ``Protocol`` passes through); unknown → ValueError."""
    if isinstance(name, Protocol):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[key]


def list_protocols() -> list:
    return list(PROTOCOLS)


__all__ = ["Protocol", "PROTOCOLS", "PAPER_PROTOCOL", "get_protocol", "list_protocols",
           "check_scale", "MAX_SCALE"]

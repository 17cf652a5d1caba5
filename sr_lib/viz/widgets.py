"""Explorers for the notebooks: compare methods on one image at any scale, panel by panel.

Every panel is a pure function of a setting (image, methods, scale, crop box), testable
without a kernel; the ipywidgets layer (``Explorer``) only wires controls to them.

    res = compare_crops({"bicubic": "bicubic", "liif": model}, hr, 3.3, (40, 40, 48, 48))
    res["psnr"]["liif"], res["sr"]["liif"]          # crop PSNR (dB), uint8 crop [48,48,3]
    figure_crops(res); figure_error_maps(res)       # matplotlib Figures (no pyplot state)
    figure_ipe(3.3); figure_kriging(kriging_at(eqsr_model, res["lr"], 3.3, (64, 64)))
    Explorer(images, models).widget                 # ipywidgets UI (needs a live kernel to react)

Protocol of ``compare_crops`` (the benchmark recipe at any real scale s, ``lr_pair``):
- the HR is cropped to ``round(floor(H/s)·s)``; LR = MATLAB bicubic ``imresize(HR, 1/s)`` at
  ×2, ×3, ×4 (bit-exact to the stored benchmark LR), PIL bicubic at every other scale, as LIIF's
  test protocol makes it (``sr_lib.metrics.protocols``). MATLAB's resize at a non-integer s maps
  coordinates by s, not by the cropped extent, so its LR is shifted by up to half an HR pixel
  against the grid every implicit decoder assumes (LIIF on a 128-px crop of baby at ×3.3 gained
  +1.15 dB over Bicubic with it, +2.86 dB with PIL; at a 132-px crop, where h_lr·s is exact,
  both give +2.4);
- each method super-resolves the **whole** LR image to the HR size (so borders of the crop
  are not border effects); outputs are quantised to 8 bits as every protocol does;
- PSNR on the Y channel (BT.601, ``sr_lib.metrics.psnr_ssim``): of the crop (no shave), and of
  the whole image with a border shave of ⌈s⌉ pixels (LIIF's benchmark rule).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from sr_lib.data.io import to_numpy01, to_tensor01
from sr_lib.data.resize import hr_size_for, lr_size_for
from sr_lib.engine.evaluate import as_upscaler
from sr_lib.repro.papers.eqsr import kriging_map
from sr_lib.metrics.psnr_ssim import psnr, quantize_255, rgb_to_y
from sr_lib.viz.ipe import plot_sinc_envelopes
from sr_lib.viz.kriging import plot_kriging_weights

# (top, left, height, width) in HR pixels
CropBox = tuple


# ----------------------------------------------------------------------------------------------
# pure computations
# ----------------------------------------------------------------------------------------------

def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    """The central ``min(size, H) × min(size, W)`` part of ``img [H,W,...]``."""
    h, w = img.shape[:2]
    th, tw = min(size, h), min(size, w)
    top, left = (h - th) // 2, (w - tw) // 2
    return img[top:top + th, left:left + tw]


def default_box(hw, size: int = 48, center=None, image=None) -> CropBox:
    """A ``size``×``size`` box (clipped to the image) in an ``hw = (H, W)`` image, kept inside it:
    centred at fractions ``center = (fy, fx)`` when given; otherwise, with ``image`` (the HR,
    ``[>=H, >=W, ...]``; its top-left ``H×W`` is used, as ``lr_pair`` keeps it), the most textured
    box (``textured_box``), where methods differ most; otherwise the central box."""
    h, w = hw
    bh, bw = min(size, h), min(size, w)
    if center is None and image is not None:
        return textured_box(image, (bh, bw), hw)
    center = (0.5, 0.5) if center is None else center
    top = int(round(center[0] * h - bh / 2))
    left = int(round(center[1] * w - bw / 2))
    return (min(max(top, 0), h - bh), min(max(left, 0), w - bw), bh, bw)


def textured_box(image, box_hw, hw=None) -> CropBox:
    """The ``box_hw = (bh, bw)`` box of highest gradient energy (sum over the box of the squared
    horizontal and vertical differences of the luma) in the top-left ``hw`` part of ``image``
    (uint8 or float ``[H,W]`` / ``[H,W,C]``). A flat region (skin, sky) shows every method alike;
    edges and texture are where they differ. Ties go to the top-most, then left-most box."""
    img = np.asarray(image, dtype=np.float64)
    h, w = hw if hw is not None else img.shape[:2]
    img = img[:h, :w]
    y = img @ np.array([0.299, 0.587, 0.114]) if img.ndim == 3 and img.shape[2] == 3 else \
        (img.mean(axis=2) if img.ndim == 3 else img)
    bh, bw = min(int(box_hw[0]), h), min(int(box_hw[1]), w)
    energy = np.zeros((h, w))
    energy[:, :-1] += np.diff(y, axis=1) ** 2
    energy[:-1, :] += np.diff(y, axis=0) ** 2
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (integral[bh:, bw:] - integral[:-bh, bw:] - integral[bh:, :-bw] + integral[:-bh, :-bw])
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top), int(left), bh, bw


def matched_hr_size(hw, scale: float) -> tuple:
    """The HR size kept by ``lr_pair`` at ``scale``: ``round(floor(n/s)·s)`` per side."""
    return hr_size_for(lr_size_for(hw, scale), scale)


def check_box(box: CropBox, hw) -> CropBox:
    """``box`` as ints; ``ValueError`` (one line) when it is empty or leaves the ``hw`` image."""
    top, left, bh, bw = (int(v) for v in box)
    h, w = hw
    if bh < 1 or bw < 1 or top < 0 or left < 0 or top + bh > h or left + bw > w:
        raise ValueError(f"crop box (top, left, height, width) = {tuple(box)} does not fit in the "
                         f"{h}x{w} HR image")
    return top, left, bh, bw


def upscale(upscaler, lr: np.ndarray, out_hw, scale: float) -> np.ndarray:
    """Super-resolve the uint8 LR ``[h,w,3]`` to ``out_hw`` → float64 ``[H,W,3]`` in [0, 1].

    ``upscaler``: a name of ``sr_lib.engine.evaluate.UPSCALERS`` ("bicubic" = MATLAB bicubic),
    a callable ``(lr [1,3,h,w], (H, W), scale) -> [1,3,H,W]``, or an ``ImplicitSR`` model
    (run on its own device through ``sr_lib.engine.inference.super_resolve``, which builds the
    size, scale and queries).
    """
    up = as_upscaler(upscaler)
    with torch.no_grad():
        sr = up(to_tensor01(lr), tuple(out_hw), float(scale))      # [1,3,H,W]
    return to_numpy01(sr)


def error_map(sr, hr) -> np.ndarray:
    """Per-pixel |Y(sr) − Y(hr)| ``[H,W]`` (BT.601 luma, both images RGB on [0, 255]).

    It is the quantity the Y-channel PSNR averages: PSNR = 10·log10(255² / mean(error_map²)).
    """
    return np.abs(rgb_to_y(sr) - rgb_to_y(hr))


def lr_nearest(lr: np.ndarray, box: CropBox, scale: float) -> np.ndarray:
    """The LR pixels under an HR box, shown at HR size: HR pixel i takes LR pixel
    ``floor((i + 0.5)/s)`` (the LR pixel containing its centre) → uint8 ``[bh,bw,3]``."""
    top, left, bh, bw = box
    rows = np.minimum(((np.arange(top, top + bh) + 0.5) / scale).astype(int), lr.shape[0] - 1)
    cols = np.minimum(((np.arange(left, left + bw) + 0.5) / scale).astype(int), lr.shape[1] - 1)
    return lr[rows][:, cols]


def lr_pair(hr: np.ndarray, scale: float):
    """uint8 HR ``[H,W,3]`` → (uint8 LR, uint8 HR cropped to ``matched_hr_size``): the benchmark
    recipe of LIIF's test protocol (MATLAB bicubic at ×2–×4, PIL bicubic elsewhere)."""
    from sr_lib.metrics.protocols import get_protocol
    return get_protocol("liif").make_pair(np.asarray(hr, dtype=np.uint8), float(scale))


def compare_crops(models: dict, hr: np.ndarray, scale: float, crop_box: CropBox | None = None) -> dict:
    """Degrade ``hr`` (uint8 ``[H,W,3]``) at ``scale`` (``lr_pair``), super-resolve with each
    of ``models`` (name → upscaler, see ``upscale``) and cut ``crop_box`` out of every result.

    Returns a dict: ``scale``, ``box`` (top, left, height, width; default: the most textured
    48×48, ``textured_box``),
    ``lr`` (the whole uint8 LR), ``lr_crop`` (its pixels under the box, nearest, uint8),
    ``hr`` (uint8 HR crop), and per method name: ``sr`` (uint8 crop), ``error``
    (``error_map`` of the crop), ``psnr`` (Y PSNR of the crop, dB, ``inf`` if identical),
    ``psnr_image`` (Y PSNR of the whole image, border shave ⌈s⌉).
    """
    scale = float(scale)
    if not scale >= 1.0:
        raise ValueError(f"scale must be >= 1, got {scale}")
    lr, hr_c = lr_pair(hr, scale)
    hr_c = np.ascontiguousarray(hr_c)       # C order everywhere: the Y matmul's rounding depends on the layout
    box = check_box(crop_box if crop_box is not None else default_box(hr_c.shape[:2], image=hr_c), hr_c.shape[:2])
    top, left, bh, bw = box
    window = (slice(top, top + bh), slice(left, left + bw))
    shave = min(math.ceil(scale), (min(hr_c.shape[:2]) - 1) // 2)
    res = {"scale": scale, "box": box, "lr": lr, "lr_crop": lr_nearest(lr, box, scale),
           "hr": np.ascontiguousarray(hr_c[window]), "sr": {}, "error": {}, "psnr": {}, "psnr_image": {}}
    for name, upscaler in models.items():
        sr = np.ascontiguousarray(quantize_255(upscale(upscaler, lr, hr_c.shape[:2], scale)), dtype=np.uint8)
        crop = np.ascontiguousarray(sr[window])
        res["sr"][name] = crop
        res["error"][name] = error_map(crop, res["hr"])
        res["psnr"][name] = psnr(crop, res["hr"])
        res["psnr_image"][name] = psnr(sr, hr_c, shave=shave)
    return res


def crop_table(result: dict, **labels) -> pd.DataFrame:
    """One row per method of a ``compare_crops`` result: ``labels`` (e.g. image, profile),
    method, scale, psnr (crop), psnr_image (whole image), and the box."""
    top, left, bh, bw = result["box"]
    return pd.DataFrame([{**labels, "method": m, "scale": result["scale"], "psnr": result["psnr"][m],
                          "psnr_image": result["psnr_image"][m], "top": top, "left": left,
                          "height": bh, "width": bw} for m in result["sr"]])


def trained_models(methods, backbone: str = "edsr-baseline", *, profile: str = "cpu", seed: int = 0,
                   data_root=None, device: str = "auto", retrain: bool = False) -> dict:
    """``{method: model}`` at ``profile``: the shipped weights where they are committed, else trained (or
    reused from the run cache), by ``sr_lib.repro.run_cards.load_or_train``; EQSR always uses its own
    backbone (eqnet)."""
    from sr_lib.repro.run_cards import load_or_train
    return {m: load_or_train(m, "eqnet" if m.startswith("eqsr") else backbone, profile=profile, seed=seed,
                             retrain=retrain, data_root=data_root or None, device=device, progress=False)
            for m in methods}


def straddling_pixel(yx, lr_hw, scale: float) -> tuple:
    """The HR pixel nearest ``yx`` whose 3×3 HR neighbourhood spans two LR pixels on each axis, where
    EQSR's distance kernel K_scale varies over the neighbours; inside one LR pixel (a 3×3 block fits at
    s ≥ 3) all nine share one latent centre and K_scale is ≈ 1 everywhere. HR pixel i lies in LR pixel
    ⌊(i + ½)·h/H⌋, with H the HR size of the LR ``lr_hw`` at ``scale``. An axis without such a pixel
    (s < 1.5 never lacks one) keeps ``yx``'s coordinate."""
    def axis(t, h, H):
        cell = lambda i: math.floor((i + 0.5) * h / H)
        for d in range(H):
            for c in (t - d, t + d):
                if 1 <= c <= H - 2 and cell(c - 1) != cell(c + 1):
                    return c
        return t
    return tuple(axis(int(t), int(h), int(H)) for t, h, H in zip(yx, lr_hw, hr_size_for(lr_hw, scale)))


def kriging_at(model, lr: np.ndarray, scale: float, yx):
    """EQSR's kriging weights (``sr_lib.repro.papers.eqsr.KrigingMap``) at HR pixel ``yx = (row, col)``
    when the uint8 LR ``[h,w,3]`` is super-resolved at ``scale`` (EQSR poster §3:
    λ = K_data ⊙ K_scale over the 3×3 HR neighbours). The decoder runs on the whole HR grid."""
    H, W = hr_size_for(lr.shape[:2], scale)
    y, x = (int(v) for v in yx)
    if not (0 <= y < H and 0 <= x < W):
        raise ValueError(f"pixel {tuple(yx)} is outside the {H}x{W} HR grid")
    return kriging_map(model, to_tensor01(lr), float(scale), ((y + 0.5) / H, (x + 0.5) / W))


# ----------------------------------------------------------------------------------------------
# figures (matplotlib Figures built without pyplot)
# ----------------------------------------------------------------------------------------------

def _fmt_psnr(v: float) -> str:
    return "identical" if math.isinf(v) else f"{v:.2f} dB"


def figure_crops(result: dict, title: str | None = None) -> Figure:
    """Zoomed crops side by side: LR (nearest), every method with its crop PSNR, HR."""
    panels = [("LR (nearest)", result["lr_crop"])]
    panels += [(f"{m}\n{_fmt_psnr(result['psnr'][m])}", result["sr"][m]) for m in result["sr"]]
    panels += [("HR", result["hr"])]
    fig = Figure(figsize=(2.2 * len(panels), 2.7), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, img) in zip(axes, panels):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
    top, left, bh, bw = result["box"]
    fig.suptitle(title or f"×{result['scale']:g}, HR box {bh}×{bw} at ({top}, {left}); PSNR on Y of the crop",
                 fontsize=10)
    return fig


def figure_error_maps(result: dict, vmax: float | None = None) -> Figure:
    """Per-pixel |ΔY| of every method's crop on one colour scale (default: the largest
    99th percentile over the methods, so one outlier does not wash the maps out)."""
    names = list(result["error"])
    if vmax is None:
        vmax = max([float(np.percentile(e, 99)) for e in result["error"].values()] + [1.0])
    fig = Figure(figsize=(2.3 * len(names) + 0.8, 2.7), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    im = None
    for ax, m in zip(axes, names):
        im = ax.imshow(result["error"][m], cmap="magma", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{m}\nmean |ΔY| {result['error'][m].mean():.2f}", fontsize=9)
        ax.set_axis_off()
    fig.colorbar(im, ax=list(axes), label="|Y(SR) − Y(HR)|  (0–255)", shrink=0.85)
    fig.suptitle(f"per-pixel error at ×{result['scale']:g}", fontsize=10)
    return fig


def figure_ipe(scale: float, L: int = 10) -> Figure:
    """IPE's sinc envelope |sinc(ω_l/s)| at the current scale (IPE-LIIF Eq. 4–6)."""
    fig = plot_sinc_envelopes([float(scale)], L)
    fig.axes[0].set_title(f"IPE damping per band at ×{float(scale):g}  (r = 1/s)")
    return fig


def figure_kriging(kmap) -> Figure:
    """The three 3×3 maps of a ``kriging_at`` result (``sr_lib.viz.kriging``): K_data of the
    first involution block (mean over channel groups), K_scale, and their product."""
    return plot_kriging_weights({kmap.scale: kmap}, block=0,
                                title=f"EQSR kriging weights at HR pixel {tuple(kmap.yx)}, ×{kmap.scale:g}")


# ----------------------------------------------------------------------------------------------
# the widget
# ----------------------------------------------------------------------------------------------

class Explorer:
    """ipywidgets explorer: image, method and continuous-scale controls; four output panels
    (crops vs bicubic, error maps, IPE envelope, EQSR kriging weights).

    ``images``: name → uint8 HR ``[H,W,3]``; ``models``: method name → upscaler (models or
    callables; "bicubic" is always added as the reference). The kriging panel uses the model
    named ``kriging_model`` when present. Controls are attributes (``image``, ``method``,
    ``scale``, ``center_y``, ``center_x``, ``box_size``); ``render()`` returns the panels'
    Figures for the current setting, ``update()`` redraws them (it is the controls' callback).
    """

    def __init__(self, images: dict, models: dict, scale: float = 3.0, scale_range=(1.0, 8.0),
                 box_size: int = 48, L: int = 10, kriging_model: str = "eqsr"):
        import ipywidgets as W
        if not images or not models:
            raise ValueError("the explorer needs at least one image and one method")
        self.images, self.models, self.L = images, models, L
        self.kriging_model = models.get(kriging_model)
        self.kriging_name = kriging_model
        methods = [m for m in models if m != "bicubic"] or ["bicubic"]
        side = max(max(img.shape[:2]) for img in images.values())
        self.image = W.Dropdown(options=list(images), description="image")
        self.method = W.Dropdown(options=methods, description="method")
        self.scale = W.FloatSlider(value=scale, min=scale_range[0], max=scale_range[1], step=0.05,
                                   description="scale ×", continuous_update=False, readout_format=".2f")
        first = next(iter(images.values()))        # the crop starts on its most textured box
        hw0 = matched_hr_size(first.shape[:2], scale)
        top, left, bh, bw = default_box(hw0, min(box_size, side), image=first)
        self.center_y = W.FloatSlider(value=round((top + bh / 2) / hw0[0], 2), min=0.0, max=1.0, step=0.01,
                                      description="crop y", continuous_update=False)
        self.center_x = W.FloatSlider(value=round((left + bw / 2) / hw0[1], 2), min=0.0, max=1.0, step=0.01,
                                      description="crop x", continuous_update=False)
        self.box_size = W.IntSlider(value=min(box_size, side), min=8, max=side, step=4, description="crop px",
                                    continuous_update=False)
        self.status = W.HTML()
        self.outputs = {k: W.Output() for k in ("crops", "error", "ipe", "kriging")}
        controls = [self.image, self.method, self.scale, self.center_y, self.center_x, self.box_size]
        for c in controls:
            c.observe(self.update, names="value")
        self.widget = W.VBox([W.HBox(controls[:3]), W.HBox(controls[3:]), self.status,
                              self.outputs["crops"], self.outputs["error"],
                              W.HBox([self.outputs["ipe"], self.outputs["kriging"]])])

    def setting(self) -> dict:
        """The current setting: image name, method, scale, crop box (in the LR-matched HR)."""
        hr = self.images[self.image.value]
        s = float(self.scale.value)
        box = default_box(matched_hr_size(hr.shape[:2], s), int(self.box_size.value),
                          (self.center_y.value, self.center_x.value))
        return {"image": self.image.value, "method": self.method.value, "scale": s, "box": box}

    def render(self) -> dict:
        """Figures of the current setting: ``crops``, ``error``, ``ipe``, ``kriging`` (None
        without a kriging model), and ``result`` (the ``compare_crops`` dict)."""
        st = self.setting()
        chosen = {"bicubic": "bicubic"}
        if st["method"] != "bicubic":
            chosen[st["method"]] = self.models[st["method"]]
        res = compare_crops(chosen, self.images[st["image"]], st["scale"], st["box"])
        top, left, bh, bw = res["box"]
        figs = {"result": res, "crops": figure_crops(res), "error": figure_error_maps(res),
                "ipe": figure_ipe(st["scale"], self.L), "kriging": None}
        if self.kriging_model is not None:
            yx = straddling_pixel((top + bh // 2, left + bw // 2), res["lr"].shape[:2], st["scale"])
            kmap = kriging_at(self.kriging_model, res["lr"], st["scale"], yx)
            figs["kriging"] = figure_kriging(kmap)
        return figs

    def update(self, change=None) -> dict:
        """Recompute and redraw every panel (the callback of every control)."""
        from IPython.display import display
        self.status.value = "<i>computing…</i>"
        figs = self.render()
        for key, out in self.outputs.items():
            out.clear_output(wait=True)
            with out:
                if figs[key] is None:
                    print(f"no '{self.kriging_name}' model loaded: no kriging panel")
                else:
                    display(figs[key])
        res = figs["result"]
        self.status.value = " · ".join(f"<b>{m}</b> crop {_fmt_psnr(res['psnr'][m])}, image "
                                       f"{_fmt_psnr(res['psnr_image'][m])}" for m in res["psnr"])
        return figs


__all__ = ["CropBox", "center_crop", "default_box", "textured_box", "matched_hr_size", "check_box", "upscale", "error_map",
           "lr_nearest", "lr_pair", "compare_crops", "crop_table", "trained_models", "straddling_pixel", "kriging_at", "figure_crops",
           "figure_error_maps", "figure_ipe", "figure_kriging", "Explorer"]

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Quickstart: super-resolve one image at any scale
#
# **Question.** What does "arbitrary-scale" super-resolution mean, and how do you run
# one of this library's models on an image in a few lines? This notebook regenerates
# no paper table; it is the orientation for the series (tables start in `01_…`).
#
# **Arbitrary-scale SR.** Classic SR networks end in a fixed ×2/×3/×4 upsampling
# layer, one network per factor. The methods compared here (MetaSR, LIIF, LTE,
# IPE-LIIF, CiaoSR, EQSR, …) instead treat the HR image as a *continuous function*
# of position. An **encoder** turns the LR image into a grid of feature vectors; a
# **decoder** is then asked for the colour at any continuous coordinate. To get an
# output of any size $H \times W$, one queries the decoder at the $H \cdot W$ pixel
# centres, so a single trained model serves ×1.5, ×3.3 or ×12.7 alike.
#
# LIIF (Chen et al., CVPR 2021, Eq. 2–3 with the cell of Sec. 3.3) makes this
# concrete. For a query $x_q$ with cell size $c$ (the HR pixel's size, $2/H$ in
# coordinates spanning $[-1, 1]$), the four LR features $z^*_t$ nearest to $x_q$
# each predict a colour from their latent code and the relative offset, and the
# predictions are blended with bilinear area weights $S_t/S$:
#
# $$I(x_q) = \sum_{t \in \{00, 01, 10, 11\}} \frac{S_t}{S}\; f_\theta\big(z^*_t,\; x_q - v^*_t,\; c\big),$$
#
# where $v^*_t$ is the centre of LR pixel $t$ and $f_\theta$ is an MLP. All methods
# of the zoo share this interface (`sr_lib/models/base.py`): `encode`, `query`, and
# `sr_lib.super_resolve(model, lr, out_size=(H, W))` (or `scale=s`) for whole images.

# %% tags=["parameters"]
profile: str = "cpu"          # smoke | cpu | paper: size and training budget of the model
seed: int = 0                 # training seed of the model
retrain: bool = False         # True: train LIIF here even where shipped cpu weights exist
data_root: str = ""           # empty: resolver default (SR_DATA, <repo>/data, else scikit-image images)
device: str = "auto"          # auto | cpu | cuda | cuda:N
interactive: bool = True      # a scale slider at the end in a live kernel; the headless runner passes False
dataset: str = "Set5"         # benchmark set the image comes from (bundled stand-ins without data)
image_index: int = 0          # which image of the set (sorted by name)
max_side: int = 256           # HR centre crop side in pixels (keeps the demo quick)
scale: float = 3.3            # SR factor: any real number from 1 up, here deliberately not an integer
box_size: int = 64            # side of the zoomed crop, in HR pixels

# %%
# %matplotlib inline
import json

import pandas as pd
import torch

import sr_lib
from sr_lib.data.datasets import load_dataset
from sr_lib.data.io import to_tensor01
from sr_lib.data.resolver import resolve_data_root
from sr_lib.engine.device import get_device
from sr_lib.engine.evaluate import bicubic_matlab
from sr_lib.models.base import count_parameters
from sr_lib.paths import atomic_write_text, figures_dir, results_dir
from sr_lib.viz import save_figure
from sr_lib.viz.widgets import center_crop, compare_crops, crop_table, default_box, figure_crops, lr_pair, matched_hr_size

dev = get_device(device)
out_dir, fig_dir = results_dir(profile), figures_dir(profile)
print(f"profile {profile}, device {dev}; results → {out_dir}")

# %% [markdown]
# ## 1. An image and its low-resolution version
#
# The resolver finds the data (`SR_DATA`, `data/`, else images bundled with
# scikit-image, said so below). The LR image is made as LIIF's test protocol makes
# it (`lr_pair`): the HR is first cropped to `round(h_lr · s)` pixels, then
# resized by bicubic: MATLAB's `imresize` at ×2–×4 (the stored benchmark LR), PIL's
# at a non-integer scale like this one, where MATLAB's would shift the LR against
# the pixel grid the decoders assume.

# %%
root = resolve_data_root(data_root or None, warn=False)
images = load_dataset(dataset, root)
name, hr_full = images[image_index]
hr = center_crop(hr_full, max_side)
lr, hr = lr_pair(hr, scale)                         # uint8 [h,w,3], and the HR it matches
H, W = hr.shape[:2]
print(f"data: {root} ({images.name}); image {name!r}: "
      f"HR {H}x{W} → LR {lr.shape[0]}x{lr.shape[1]} at ×{scale:g}")

# %% [markdown]
# ## 2. Super-resolve: bicubic and a trained LIIF
#
# `load_or_train(...)` gives LIIF on an EDSR-baseline encoder at this profile: at
# `cpu` the committed, health-checked weights of `results/cpu/weights/` (trained by
# `python -m sr_lib train-plan`, 8,000 steps; `retrain=True` trains them again),
# otherwise it trains, or reuses the cached run with the same key (method, sizes,
# config, seed, training data). At `smoke` it takes 4 iterations and the model is
# essentially untrained: the point there is that every line runs, not the numbers.

# %%
model = sr_lib.repro.load_or_train("liif", "edsr-baseline", profile=profile, seed=seed, retrain=retrain,
                                   data_root=data_root or None, device=device)
lr_t = to_tensor01(lr)                                             # [1,3,h,w] in [0,1]
sr_bicubic = bicubic_matlab(lr_t, (H, W), scale)                   # [1,3,H,W]
sr_liif = sr_lib.super_resolve(model, lr_t.to(dev), out_size=(H, W))  # [1,3,H,W], any (H, W)
print(f"LIIF run {model.train_info['key']} ({model.train_info.get('source', 'trained')}): "
      f"{model.train_info['config']['iterations']} iterations, "
      f"{count_parameters(model):,} parameters")
print("bicubic", tuple(sr_bicubic.shape), "| LIIF", tuple(sr_liif.shape))

# %% [markdown]
# The same model answers any output size from the same LR image; only the query
# grid (and its cell) changes. (Shown on a 24×24 corner of the LR to keep it quick.)

# %%
corner = lr_t[..., :24, :24].to(dev)
for s in (1.5, 2.0, 4.0, 7.3):
    size = (round(24 * s), round(24 * s))
    print(f"×{s:<4g} → {tuple(sr_lib.super_resolve(model, corner, out_size=size).shape)}")

# %% [markdown]
# ## 3. Side by side, with PSNR
#
# `compare_crops` (`sr_lib/viz/widgets.py`) runs each upscaler on the whole LR image,
# quantises to 8 bits as the evaluation protocols do, and cuts the same HR box out
# of every result. PSNR is on the Y channel: of the crop, and of the whole image
# with a border of ⌈s⌉ pixels shaved (LIIF's benchmark rule).

# %%
box = default_box((H, W), box_size, image=hr)        # the most textured box: methods differ there
res = compare_crops({"bicubic": "bicubic", "liif": model}, hr, scale, box)
table = crop_table(res, image=name, profile=profile, seed=seed)
print(table[["method", "scale", "psnr", "psnr_image"]].round(3).to_string(index=False))
fig = figure_crops(res, title=f"{name}, ×{scale:g} ({profile} profile): LR, bicubic, LIIF, HR")
save_figure(fig, fig_dir / "quickstart_crops.png")
fig

# %% [markdown]
# ## 4. The zoo
#
# Every registered method builds on every backbone with `sr_lib.make(name,
# backbone=...)`; EQSR brings its own backbone (`eqnet`). Parameter counts are
# for the papers' default sizes on EDSR-baseline (the profiles shrink them). The
# models are built on PyTorch's `meta` device: shapes only, no memory, no
# initialisation, so even the largest model is counted instantly.

# %%
zoo = []
with torch.device("meta"):
    for m in sr_lib.list_models():
        built = sr_lib.make(m) if m == "eqsr" else sr_lib.make(m, backbone="edsr-baseline")
        zoo.append({"method": m, "backbone": "eqnet" if m == "eqsr" else "edsr-baseline",
                    "parameters": count_parameters(built),
                    "encoder_takes_scale": bool(getattr(built, "needs_scale", False))})
zoo = pd.DataFrame(zoo)
print("backbones:", ", ".join(sr_lib.list_backbones()))
print(zoo.to_string(index=False))

# %%
summary = {"profile": profile, "seed": seed, "dataset": images.name, "image": name,
           "data_source": root.source, "bundled_images": root.bundled, "scale": scale,
           "lr_hw": list(lr.shape[:2]), "hr_hw": [H, W], "box": list(res["box"]),
           "psnr_crop": res["psnr"], "psnr_image": res["psnr_image"],
           "liif_run": {"key": model.train_info["key"], "iterations": model.train_info["config"]["iterations"],
                        "source": model.train_info.get("source", "trained")},
           "models": sr_lib.list_models()}
atomic_write_text(out_dir / "quickstart.json", json.dumps(summary, indent=1) + "\n")
atomic_write_text(out_dir / "quickstart.csv", table.to_csv(index=False))
print(f"wrote {out_dir / 'quickstart.json'}, quickstart.csv and figures/quickstart_crops.png")

# %% [markdown]
# ## What the numbers show
#
# The printout below compares the trained LIIF with bicubic on this image. At the
# `smoke` profile LIIF has seen 4 training steps, so it is usually *worse* than
# bicubic: that is expected and means nothing. At `cpu` it is a reduced but real
# training run (numbers labelled `cpu`, never the papers'); the papers' own
# margins over bicubic on the benchmarks are reproduced (or not) in the numbered
# notebooks that follow.

# %%
gap = res["psnr_image"]["liif"] - res["psnr_image"]["bicubic"]
print(f"whole image, ×{scale:g}: LIIF {res['psnr_image']['liif']:.2f} dB vs bicubic "
      f"{res['psnr_image']['bicubic']:.2f} dB ({gap:+.2f} dB, {profile} profile, seed {seed})")

# %% [markdown]
# ## Explore (interactive)
#
# In a live kernel (`interactive`, on by default; the headless runner turns it off),
# a slider re-runs the comparison at any scale (the full explorer with all methods is `90_explorer`).

# %%
if interactive:
    import ipywidgets as widgets
    from IPython.display import display

    def _show(s: float):
        hr_s = center_crop(hr_full, max_side)
        r = compare_crops({"bicubic": "bicubic", "liif": model}, hr_s, s,
                          default_box(matched_hr_size(hr_s.shape[:2], s), box_size, image=hr_s))
        display(figure_crops(r))

    widgets.interact(_show, s=widgets.FloatSlider(value=scale, min=1.0, max=8.0, step=0.1,
                                                  description="scale ×", continuous_update=False))

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
# # 90 · Explorer: any method, any scale, side by side
#
# **Question.** What do the methods of the series actually do to an image, at a
# scale you choose? The numbered notebooks average PSNR over benchmark sets (the
# papers' tables); here you look at single images: zoomed crops of each method
# next to bicubic and the ground truth, the per-pixel error, and the two
# mechanisms the series studies in detail, as they act at the chosen scale:
#
# - **IPE** (IPE-LIIF, Eq. 4–6, Fig. 3): the decoder's positional encoding is
#   averaged over the HR pixel, which multiplies band $l$ by
#   $\mathrm{sinc}(\omega_l r)$ with $\omega_l = 2^l\pi$ and $r = 1/s$: small scales
#   damp high frequencies, large scales let them through (`02_ipe_encoding`).
# - **Neural kriging** (EQSR, poster §3): each HR pixel mixes its 3×3 HR
#   neighbours with weights $\lambda = K_\text{data} \odot K_\text{scale}$, a
#   feature-predicted kernel times an RBF of the distance to the LR centres,
#   $K_\text{scale} = \exp(-d^2 / 2\ell^2)$; the distances, hence the weights,
#   change with the scale.
#
# Headless (`python -m sr_lib run-notebooks`, which passes `interactive = False`), the
# notebook renders each panel once for a default setting and writes the crop PSNRs to
# `results/<profile>/explorer.csv`. In a live kernel (the default), dropdowns and a
# continuous scale slider redraw every panel. The models are those the series trains: at `cpu` the
# committed, health-checked weights of `results/cpu/weights/` where they are shipped, otherwise trained
# or reused from the run cache (`sr_lib.repro.load_or_train`); at `smoke` they have seen 4 training
# steps, so their pictures show the plumbing, not the methods.

# %% tags=["parameters"]
profile: str = "cpu"          # smoke | cpu | paper: which trained models to load (or train)
seed: int = 0                 # training seed of the models
retrain: bool = False         # True: train the models here even where shipped cpu weights exist
data_root: str = ""           # empty: resolver default (SR_DATA, <repo>/data, else scikit-image images)
device: str = "auto"          # auto | cpu | cuda | cuda:N
interactive: bool = True      # the ipywidgets explorer in a live kernel; the headless runner passes False
dataset: str = "Set5"         # benchmark set offering the images (bundled stand-ins without data)
n_images: int = 3             # how many of its images the explorer offers
max_side: int = 128           # HR centre crop side in pixels: every method decodes the whole crop
methods: list = ["liif", "ipe-liif", "lte", "ciaosr", "eqsr", "metasr"]   # trained methods to compare
backbone: str = "edsr-baseline"   # encoder of every method but EQSR (which has its own)
scale: float = 3.3            # default SR scale (non-integer on purpose; the slider goes from 1 to 8)
box_size: int = 48            # side of the zoomed crop, in HR pixels

# %%
# %matplotlib inline
from IPython.display import display

from sr_lib.data.datasets import load_dataset
from sr_lib.data.resolver import resolve_data_root
from sr_lib.paths import atomic_write_text, figures_dir, results_dir
from sr_lib.viz import save_figure
from sr_lib.viz.widgets import (Explorer, center_crop, compare_crops, crop_table, default_box, figure_crops,
                            figure_error_maps, figure_ipe, figure_kriging, kriging_at, matched_hr_size, straddling_pixel,
                            trained_models)

out_dir, fig_dir = results_dir(profile), figures_dir(profile)
root = resolve_data_root(data_root or None, warn=False)
image_set = load_dataset(dataset, root, limit=n_images)
images = {name: center_crop(hr, max_side) for name, hr in image_set}
print(f"images from {root} ({image_set.name}): "
      + ", ".join(f"{k} {v.shape[0]}x{v.shape[1]}" for k, v in images.items()))

# %% [markdown]
# ## 1. The models
#
# One call per method: shipped weights with the run's key (method, sizes, config, seed, training
# data) are loaded; else a finished run with that key is loaded from the cache, otherwise it is
# trained now.

# %%
models = trained_models(methods, backbone, profile=profile, seed=seed, data_root=data_root, device=device,
                        retrain=retrain)
for m, model in models.items():
    info = model.train_info
    print(f"{m:9s} {info['key']}  ({info['steps']} iterations, final loss {info['loss'][-1]:.4f})")

# %% [markdown]
# ## 2. Crops side by side (default setting)
#
# The LR image is MATLAB bicubic at the scale; every method decodes the whole image
# and the same HR box is cut from each result (nearest-neighbour zoom, no
# smoothing). The PSNR is of the crop, on the Y channel.

# %%
name = next(iter(images))
box = default_box(matched_hr_size(images[name].shape[:2], scale), box_size, image=images[name])   # most textured
res = compare_crops({"bicubic": "bicubic", **models}, images[name], scale, box)
table = crop_table(res, image=name, profile=profile, seed=seed)
print(table[["method", "scale", "psnr", "psnr_image"]].round(3).to_string(index=False))
fig = figure_crops(res, title=f"{name}, ×{scale:g} ({profile} profile)")
save_figure(fig, fig_dir / "explorer_crops.png")
fig

# %% [markdown]
# ## 3. Where the errors are
#
# $|Y_\text{SR} - Y_\text{HR}|$ per pixel, one colour scale for all methods. Errors
# of bicubic concentrate on edges and texture; a trained implicit decoder should
# reduce them there first.

# %%
fig = figure_error_maps(res)
save_figure(fig, fig_dir / "explorer_error_maps.png")
fig

# %% [markdown]
# ## 4. IPE at this scale
#
# The damping $|\mathrm{sinc}(2^l\pi/s)|$ that IPE-LIIF applies to each band of its
# positional encoding at the current scale (the curve between the markers
# continues the sinc envelope).

# %%
fig = figure_ipe(scale)
save_figure(fig, fig_dir / "explorer_ipe.png")
fig

# %% [markdown]
# ## 5. EQSR's kriging weights at this scale
#
# The weights of an HR pixel near the centre of the crop, over its 3×3 HR
# neighbours, in EQSR's first involution block: the data kernel (mean over channel
# groups), the distance kernel and their product. The pixel is one whose neighbours
# fall in two LR pixels on each axis (`straddling_pixel`): inside a single LR pixel
# all nine share one latent centre and the distance kernel is ≈ 1 everywhere.

# %%
if "eqsr" in models:
    top, left, bh, bw = res["box"]
    yx = straddling_pixel((top + bh // 2, left + bw // 2), res["lr"].shape[:2], scale)
    kmap = kriging_at(models["eqsr"], res["lr"], scale, yx)
    fig = figure_kriging(kmap)
    save_figure(fig, fig_dir / "explorer_kriging.png")
    display(fig)
else:
    print("EQSR is not among `methods`: no kriging panel")

# %%
atomic_write_text(out_dir / "explorer.csv", table.to_csv(index=False))
best = table.loc[table["psnr"].idxmax()]
print(f"wrote {out_dir / 'explorer.csv'}; best crop PSNR: {best['method']} {best['psnr']:.2f} dB "
      f"(bicubic {res['psnr']['bicubic']:.2f} dB)")

# %% [markdown]
# ## What the panels show
#
# At the default setting the table above ranks the methods on one crop of one
# image: a single crop is noisy evidence, so read it as an illustration of the
# benchmark tables (notebooks `1x`–`3x`), not as a result. At `smoke` every
# learned method is far below bicubic because it is untrained. The IPE panel is
# exact (no training involved); the kriging panel shows a trained EQSR's weights
# at `cpu`/`paper` and random-ish weights at `smoke`.
#
# ## 6. Explore (interactive)
#
# Pick an image, a method and a scale; move the crop. Every control re-runs the
# comparison with bicubic, the error maps, the IPE envelope and the kriging
# weights (computation takes a moment for EQSR on CPU).

# %%
if interactive:
    explorer = Explorer(images, models, scale=scale, box_size=box_size)
    explorer.update()
    display(explorer.widget)

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
# # 31 · EQSR analyses: kriging weights, scale-vs-scale CKA, equivariance error
#
# **Question.** EQSR (CVPR 2023) argues that arbitrary-scale SR should *pursue scale
# equivariance*: a backbone told the scale (AFE) should extract features that adapt to
# it, and an upsampler built like kriging interpolation should behave consistently
# across scales. The poster and supplement support this with three analyses, which we
# repeat on the models trained at this profile (the same cached runs as notebook 30):
#
# 1. **Kriging weight maps** (poster, "Neural Kriging Upsampler"). Kriging estimates a
#    value as a weighted sum of its neighbours, $\hat z_0 = \sum_i \lambda_i z_i$, with
#    weights from a covariance system. EQSR neuralises the weights as a product
#    $\lambda_i = K_{data}(i)\cdot K_{scale}(i)$: a *scale-independent* kernel predicted
#    from the features and a *scale-dependent* RBF of the distance $d_i$ between the
#    query and the LR centre each 3×3 HR neighbour belongs to,
#    $K_{scale} = \exp(-d_i^2 / 2\ell^2)$ with a learnt length $\ell$
#    (`sr_lib/models/layers/kriging.py`). We draw both kernels and their product for one HR
#    pixel at several scales.
# 2. **CKA between scales** (supplement Sec. 3, Eq. 1–5). Linear CKA compares two
#    feature sets $X, Y$ of the same $m$ examples through their Gram matrices
#    $K = XX^\top$, $L = YY^\top$: $\mathrm{CKA} = \mathrm{HSIC}(K,L)/\sqrt{\mathrm{HSIC}(K,K)\,\mathrm{HSIC}(L,L)}$
#    with $\mathrm{HSIC}(K,L) = \mathrm{vec}(HKH)\cdot\mathrm{vec}(HLH)/(m-1)^2$; the minibatch
#    form (Eq. 5) averages an unbiased HSIC over minibatches of 4 images. For each
#    model we compare every block's features at ×2 with every block's features at ×4
#    (layer × layer heatmap): ArbSR (each ResBlock), the HAT-style EQNet without AFE and
#    EQNet (each attention layer).
# 3. **Equivariance error EQ_S** (poster Eq. 6):
#    $\mathrm{EQ}_S(f, r) = 10\log_{10}\,\mathrm{mean}\big(\phi(f(x; r); \theta) - f(\phi(x; \theta); r)\big)^2$,
#    super-resolve then degrade versus degrade then super-resolve, with $\phi$ a
#    bicubic downscale by $\theta$; lower (more negative dB) = more equivariant. We
#    draw it over $r$ for every method trained here, Bicubic upsampling as the baseline.
#
# **Caveat for small budgets.** A network that has barely learnt anything tends to output
# a flat, low-contrast image; two flat images agree whatever the order of operations,
# so such a network looks *falsely equivariant*. Every EQ_S row therefore carries the
# output's contrast relative to Bicubic's, and rows with less than half of it are marked
# `flat`. At `smoke` every model is untrained and the numbers mean nothing.

# %% tags=["parameters"]
profile: str = "cpu"          # smoke | cpu | paper (which trained models; sizes of the analyses)
seed: int = 0                 # training seed of the analysed models (and of the crop positions)
data_root: str = ""           # '': resolver default (SR_DATA, <repo>/data, bundled images)
device: str = "auto"          # auto | cpu | cuda | cuda:N
kriging_scales: list = []     # scales of the kriging maps; []: profile default (cpu: 1.5, 2, 3, 4, 6)
kriging_pos: list = [0.5, 0.5]   # relative (row, col) of the HR query pixel in [0, 1)
cka_scales: list = [2.0, 4.0]    # the two SR scales compared by CKA (supplement: different scales)
cka_images: int = 0           # Urban100 crops for CKA, a multiple of 4; 0: profile default (cpu: 16)
eq_scales: list = []          # r values of the EQ_S curves; []: profile default (cpu: 1.5, 2, 3, 4, 5, 6, 8)
eq_thetas: list = [2.0]       # bicubic degradation factors θ of EQ_S
eq_images: int = 0            # B100 crops for EQ_S; 0: profile default (cpu: 4)
interactive: bool = True      # ipywidgets explorer of the kriging weights in a live kernel; False when headless

# %%
# %matplotlib inline
import time

import numpy as np
import torch

from sr_lib.config import config_for
from sr_lib.engine.device import get_device
from sr_lib.repro.papers.eqsr import (analysis_rows, cka_matrices, cka_summary, eq_s_curves, image_crops, kriging_frame,
                                  kriging_maps, train_row)
from sr_lib.repro import health_map, write_csv
from sr_lib.repro.claims import health_reason
from sr_lib.engine.evaluate import ModelUpscaler
from sr_lib.paths import figures_dir, results_dir
from sr_lib.viz.cka import plot_cka_frame
from sr_lib.viz.equivariance import plot_eq_curves
from sr_lib.viz import save_figure
from sr_lib.viz.kriging import kriging_explorer, kriging_panels, plot_kriging_weights

smoke = profile == "smoke"
kriging_scales = kriging_scales or ([1.5, 6.0] if smoke else [1.5, 2.0, 3.0, 4.0, 6.0])
eq_scales = eq_scales or ([2.0, 4.0] if smoke else [1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
cka_images = cka_images or (4 if smoke else 16)
eq_images = eq_images or (1 if smoke else 4)
crop = 24 if smoke else 48                    # HR crop side of the CKA / EQ_S images, LR side of the kriging image
out_dir, fig_dir = results_dir(profile), figures_dir(profile)
dev = get_device(device)
cfg = config_for(profile)
if cfg.cpu_threads and dev.type == "cpu":
    torch.set_num_threads(cfg.cpu_threads)    # the profile's thread count (config.py: shared-machine load)
t_start = time.perf_counter()
print(f"profile {profile}, seed {seed}, device {dev}; results → {out_dir}")

# %% [markdown]
# ## The models
#
# Every method of notebook 30's comparison (MetaSR, ArbSR, LIIF, LTE on EDSR-baseline;
# EQSR on EQNet), the HAT-style EQNet without AFE (same kriging upsampler; the CKA
# comparison) and two more methods of the zoo (IPE-LIIF, CiaoSR on EDSR-baseline). All are
# runs of the plan (`python -m sr_lib train-plan`): at `cpu` their shipped weights are
# loaded, elsewhere they come from the run cache or are trained here. Each model's health
# gate is read from its run card; a model below it (or never checked, as at `smoke`) is
# still drawn, and named as no evidence.

# %%
ROWS = analysis_rows(profile)
models = {}
for name, row in ROWS.items():
    t0 = time.perf_counter()
    models[name] = train_row(row, profile, seed=seed, data_root=data_root, device=device).to(dev).eval()
    info = models[name].train_info
    last = f"{info['loss'][-1]:.4f}" if info["loss"] else "n/a"
    print(f"{name:20s} {row.method} on {row.backbone}: {info['steps']} steps, last loss {last} "
          f"({time.perf_counter() - t0:.1f} s)")
health = health_map(profile)            # the run cards' gate (runs.csv): beats Bicubic on whole Set5 + Set14?
no_evidence = {name: why for name, m in models.items() if (why := health_reason(m.train_info["key"], health))}
for name, why in no_evidence.items():
    print(f"{name}: {why}: its maps and curves are drawn, but they are no evidence")
print(f"{len(models) - len(no_evidence)} of {len(models)} models passed the health gate")

# %% [markdown]
# ## 1. Kriging weight maps
#
# One LR image (a centre crop of Set5) is super-resolved by EQSR at each scale; at every
# scale we take the HR pixel at the same relative position and read the 3×3 weights of
# the first involution block: the data kernel (mean over the channel groups), the
# distance kernel and their product. What to expect from the design:
#
# - **K_scale depends only on geometry.** At a large scale the 3×3 HR neighbours of the
#   query mostly fall in the *same* LR pixel, so they share its centre and the same
#   distance: K_scale is nearly flat. At a small scale the neighbours belong to different
#   LR pixels and K_scale falls off with their distance.
# - **K_data** comes from the features; in a trained model its pattern follows the local
#   image structure (edges), and the product inherits that pattern, reweighted by distance.

# %%
lr_img = image_crops("Set5", crop, 1, data_root or None, seed=seed)             # [1,3,crop,crop]
eqsr = models["EQSR"]
maps = kriging_maps(eqsr, lr_img, kriging_scales, tuple(kriging_pos))
kr = kriging_frame(maps)
write_csv(kr, out_dir / "eqsr_analyses_kriging.csv")
fig = plot_kriging_weights(maps, block=0, title=f"EQSR kriging weights at one HR pixel ({profile})")
save_figure(fig, fig_dir / "eqsr_kriging_weights.png")
display(fig)
check = max(np.abs(kriging_panels(m, b)["product"] - (m.weights.product[b].double().mean(0).cpu().numpy()))
            .max() for m in maps.values() for b in range(len(m.weights.data)))
print(f"drawn product vs the model's own λ (mean over groups): max |difference| = {check:.1e}")
spread = kr[(kr["group"] == -1) & (kr["block"] == 0)].groupby("scale")["distance"].agg(["min", "max"])
spread["flatness (min/max)"] = spread["min"] / spread["max"]
display(spread.round(4))

# %% [markdown]
# The table gives, per scale, the smallest and largest distance weight over the 3×3
# neighbourhood: a ratio near 1 means a flat distance kernel (all neighbours in the
# query's own LR pixel). Note that the released design zero-pads the centre map, so at an
# image border the missing neighbours sit at coordinate (0, 0) and receive a small, but
# non-zero, weight.

# %% [markdown]
# ## 2. CKA between two scales, layer × layer
#
# Same-size HR crops of Urban100 (the paper's set), LR made by bicubic downscaling by
# each of the two scales; each block's features at the two scales are brought to the
# smaller grid (antialiased, shrinking only) and compared by minibatch CKA with batch
# size 4, each image one example (its flattened C·h·w feature map). A bright diagonal
# means each block computes similar features at both scales; the paper's reading is
# that EQNet's features stay consistent across scales where ArbSR's and HAT's drift.

# %%
cka_imgs = image_crops("Urban100", crop, cka_images, data_root or None, seed=seed)
cka_models = {k: models[k] for k in ("ArbSR", "HAT-style (no AFE)", "EQSR")}
mats, cka_df = cka_matrices(cka_models, cka_imgs, tuple(cka_scales), batch_size=4)
write_csv(cka_df, out_dir / "eqsr_analyses_cka.csv")
summary = cka_summary(mats)
same, _ = cka_matrices({"EQSR": eqsr}, cka_imgs, (cka_scales[0], cka_scales[0]), batch_size=4)
summary["diag_same_scale"] = summary["model"].map({"EQSR": torch.diagonal(same["EQSR"]).mean().item()})
write_csv(summary, out_dir / "eqsr_analyses_cka_summary.csv")
display(summary.round(4))
title = f"minibatch CKA, block at ×{cka_scales[0]:g} vs block at ×{cka_scales[1]:g} ({profile})"
fig = plot_cka_frame(cka_df, suptitle=title)              # fixed 0–1 colour scale, the blocks' names
save_figure(fig, fig_dir / "eqsr_cka_heatmaps.png")
display(fig)

# %% [markdown]
# `diag_same_scale` is a sanity check: EQSR's blocks compared with themselves at one
# scale give CKA = 1 on the diagonal. At `smoke` the models have one or two blocks and
# four images (one minibatch): the heatmaps only check the path.

# %% [markdown]
# ## 3. Equivariance error EQ_S over the scale
#
# Same-size HR crops of B100; for each method and scale r, branch A super-resolves the
# crop by r and downscales the result by θ, branch B downscales the crop by θ and
# super-resolves it by r (both give an image of r/θ times the crop); EQ_S is the mean
# squared difference in dB after shaving ⌈r⌉ border pixels (`sr_lib/metrics/equivariance.py`).

# %%
eq_imgs = image_crops("B100", crop, eq_images, data_root or None, seed=seed)
upscalers = {name: ModelUpscaler(m) for name, m in models.items()}
eq = eq_s_curves(upscalers, eq_imgs, eq_scales, eq_thetas)
write_csv(eq, out_dir / "eqsr_analyses_eq_s.csv")
fig = plot_eq_curves(eq, title=f"EQ_S over scale ({profile}; lower = more equivariant)")
save_figure(fig, fig_dir / "eqsr_eq_s_curves.png")
display(fig)
table = eq.pivot_table(index="method", columns="r", values="eq_s_db").round(2)
table["contrast vs Bicubic"] = eq.groupby("method")["contrast_ratio"].mean().round(2)
table["flat"] = eq.groupby("method")["flat"].any()
display(table)

# %% [markdown]
# ## 4. Interactive explorer (live kernel only)
#
# In a live kernel (`interactive`, on by default; off when run headless): a scale slider and a pixel picker (relative row / column)
# redraw EQSR's three kernels for the Set5 crop above.

# %%
if interactive:
    display(kriging_explorer(eqsr, lr_img, kriging_scales))

# %% [markdown]
# ## What the numbers show
#
# The cell below states, from this run: how flat the distance kernel is at the smallest
# and largest scale, which blocks' features stay most similar across scales, and each
# method's mean EQ_S next to Bicubic's, with methods whose output is flat called out —
# their low EQ_S is not equivariance. Only models that passed the health gate (their run
# card in `runs.csv`) are ranked; the others are named. At `cpu` the models are small and briefly trained,
# so the comparison is between what such models learn, not a test of the paper's
# full-size claims; at `smoke` nothing is trained and the statements only check the path.

# %%
lo, hi = spread.index.min(), spread.index.max()
print(f"kriging: distance-kernel flatness (min/max) {spread.loc[lo, 'flatness (min/max)']:.3f} at x{lo:g}, "
      f"{spread.loc[hi, 'flatness (min/max)']:.3f} at x{hi:g} (1 = all neighbours equally near)")
for _, r in summary.iterrows():
    mark = "  <- below or without the health gate: no evidence" if r["model"] in no_evidence else ""
    print(f"CKA x{cka_scales[0]:g} vs x{cka_scales[1]:g}: {r['model']}: mean diagonal {r['diag_mean']:.3f} "
          f"(min {r['diag_min']:.3f}) over {int(r['blocks'])} blocks{mark}")
pair = [m for m in ("EQSR", "HAT-style (no AFE)") if m in set(summary["model"])]
if len(pair) == 2 and not set(pair) & set(no_evidence):
    d = summary.set_index("model")["diag_mean"]
    print(f"CKA: EQSR's blocks {'change more' if d['EQSR'] < d[pair[1]] else 'change less'} with scale than the "
          f"HAT-style model's (mean diagonal {d['EQSR']:.3f} vs {d[pair[1]]:.3f}; both healthy)")
else:
    print("CKA: EQSR vs the HAT-style model is not tested (a model of the pair is below or without the health gate)")
mean_eq = eq.groupby("method").agg(eq_s=("eq_s_db", "mean"), flat=("flat", "any")).sort_values("eq_s")
bic = mean_eq.loc["Bicubic", "eq_s"]
for name, r in mean_eq.iterrows():
    note = "  <- flat output: low EQ_S is not equivariance" if r["flat"] else ""
    print(f"EQ_S {name:20s} {r['eq_s']:7.2f} dB (Bicubic {bic:.2f}){note}")
honest = mean_eq[~mean_eq["flat"] & (mean_eq.index != "Bicubic") & ~mean_eq.index.isin(list(no_evidence))]
if len(honest):
    print(f"most equivariant healthy method with non-flat output: {honest.index[0]} ({honest['eq_s'].iloc[0]:.2f} dB)"
          + (f"; not ranked (below or without the health gate): {', '.join(no_evidence)}" if no_evidence else ""))
else:
    print("no learned model here is both healthy and non-flat: no equivariance ranking is possible")
print(f"notebook time {time.perf_counter() - t_start:.0f} s at profile {profile}")

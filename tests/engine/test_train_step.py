"""The training step's numbers (sr_lib.engine.train.fit, make_optimizer): the loss sequences of five
steps equal the ones the straightforward implementations gave (recorded before the fast paths:
per-pixel tabulation by convolution, batched cross-scale attention, fused Adam), and the fused
Adam is torch's reference Adam up to round-off."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.data.pairs import TrainImages
from sr_lib.engine.train import fit, make_optimizer, seed_everything

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# 5 steps, smoke sizes, lr 1e-3, seed 0, float64, on the images of ``images()``; recorded with the
# code before the fast paths (unfold + transpose + Linear, per-image cross-scale attention,
# Adam's for-loop implementation)
BEFORE = {
    "liif": [0.5067143572623201, 0.5260281666356263, 0.5011212791884159, 0.5036625227445861, 0.5005487255798454],
    "ciaosr": [0.23237989271683376, 0.23025834581906246, 0.2363430864421446, 0.23726410662086098,
               0.21867421180729507],
    "ipe-liif": [0.4956893874922137, 0.5168447022287035, 0.5109011570622575, 0.49552380831018966,
                 0.5091519813097279],
    "itsrn": [0.3728486062385034, 0.3713587427825913, 0.3200406982116808, 0.29329157026298874, 0.30773440129175617],
    "metasr": [0.6103902818829957, 0.6453777349011439, 0.5564944910584294, 0.5322767966213126, 0.5337954735970435],
    "eqsr": [0.39623980784844015, 0.3667007043933277, 0.34350190814688486, 0.33456739097608285, 0.3162158597384918],
}


def images() -> TrainImages:
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (80, 80, 3), dtype=np.uint8) for _ in range(3)]
    return TrainImages(imgs, [f"r{i}" for i in range(3)], "synthetic")


# the sizes the values were recorded at (the smoke profile's, pinned here)
SIZES = {"edsr-baseline": dict(n_resblocks=1, n_feats=8), "liif": dict(hidden=[16, 16]),
         "ipe-liif": dict(hidden=[16, 16]), "metasr": dict(hidden=[16]), "itsrn": dict(hidden=[16, 16], ipe_hidden=[16]),
         "ciaosr": dict(hidden=[16, 16]),
         "eqsr": dict(groups=1, blocks=2, embed_dim=12, num_heads=2, window_size=8, latent_dim=16)}


def five_steps(method: str, dtype=torch.float64) -> list:
    backbone = "eqnet" if method == "eqsr" else "edsr-baseline"
    cfg = replace(config_for("smoke", method, backbone), iterations=5, lr=1e-3, lr_size=16, n_queries=64, batch_size=2,
                  milestones=(2,), gamma=0.5)
    opts = {**SIZES.get(backbone, {}), **SIZES[method]}
    seed_everything(0)
    model = sr_lib.make(method, **model_options(cfg, method, backbone, opts)).to(dtype)
    return fit(model, cfg, images(), seed=0, progress=False)["loss"]


@pytest.mark.parametrize("method", sorted(BEFORE))
def test_loss_sequence_equals_the_straightforward_implementation(method):
    torch.testing.assert_close(five_steps(method), BEFORE[method], rtol=1e-6, atol=0)


def test_float32_steps_follow_the_float64_ones():
    # round-off only: float32 runs of the fast paths stay on the float64 trajectory
    for method in ("liif", "ciaosr"):
        torch.testing.assert_close(five_steps(method, torch.float32), BEFORE[method], rtol=1e-4, atol=0)


def test_fused_adam_is_the_reference_adam_up_to_round_off():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 2)).double()
    ref = [p.detach().clone().requires_grad_() for p in model.parameters()]
    cfg = replace(config_for("smoke"), lr=1e-2, betas=(0.9, 0.99), weight_decay=1e-3)
    opt = make_optimizer(model, cfg)
    assert opt.param_groups[0]["fused"]
    ref_opt = torch.optim.Adam(ref, lr=1e-2, betas=(0.9, 0.99), weight_decay=1e-3, foreach=False)
    x = torch.randn(16, 5, dtype=torch.float64)
    for _ in range(6):
        for params, o in ((list(model.parameters()), opt), (ref, ref_opt)):
            w1, b1, w2, b2 = params
            loss = (torch.relu(x @ w1.t() + b1) @ w2.t() + b2).square().mean()
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
    for p, r in zip(model.parameters(), ref):
        torch.testing.assert_close(p, r, rtol=1e-12, atol=1e-14)

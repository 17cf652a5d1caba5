"""Meta-SR (sr_lib.models.metasr) against the paper (Hu et al., CVPR 2019, Eq. 3–4): the weight
net sees (i/r − ⌊i/r⌋, j/r − ⌊j/r⌋, 1/r) of each HR pixel, and the output is that weight matrix
applied to the 3×3 latent of the LR pixel containing the HR pixel's top-left corner."""
from __future__ import annotations

import math

import pytest
import torch

import sr_lib
from sr_lib.geometry import query_grid

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny():
    torch.manual_seed(0)
    return sr_lib.make("metasr", n_resblocks=1, n_feats=4, hidden=[8]).to(F64).eval()


@pytest.mark.parametrize("lr_hw, out_hw", [((5, 6), (10, 12)), ((5, 6), (13, 17)), ((7, 4), (20, 9))])
def test_weight_net_input_is_the_meta_sr_offset(lr_hw, out_hw):
    model = tiny()
    seen = []
    hook = model.imnet.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    h, w = lr_hw
    H, W = out_hw
    coord, cell = query_grid(out_hw, 1, "flat", dtype=F64)
    with torch.no_grad():
        model.query(model.encode(torch.rand(1, 3, h, w, dtype=F64)), coord, cell)
    hook.remove()
    feats = seen[0].reshape(H, W, 3)
    i = torch.arange(H, dtype=F64).view(H, 1).expand(H, W)
    j = torch.arange(W, dtype=F64).view(1, W).expand(H, W)
    dy, dx = i * h / H, j * w / W                                             # top-left corners in LR pixels
    want = torch.stack([dy - dy.floor(), dx - dx.floor(), torch.full_like(dy, h / H)], -1)
    torch.testing.assert_close(feats, want, rtol=0, atol=1e-9)


def test_output_is_the_predicted_weights_times_the_unfolded_latent():
    model = tiny()
    h, w, H, W = 5, 6, 12, 14
    x = torch.rand(1, 3, h, w, dtype=F64)
    coord, cell = query_grid((H, W), 1, "flat", dtype=F64)
    with torch.no_grad():
        out = model.query(model.encode(x), coord, cell)[0]                    # [HW,3]
        feat = model.encoder(x)                                               # [1,C,h,w]
        unfolded = torch.nn.functional.unfold(feat, 3, padding=1)[0].T        # [hw,9C]
        for q in (0, 17, H * W - 1):
            r, c = divmod(q, W)
            ly, lx = math.floor(r * h / H + 1e-9), math.floor(c * w / W + 1e-9)
            dy, dx = r * h / H - ly, c * w / W - lx
            weights = model.imnet(torch.tensor([[dy, dx, h / H]], dtype=F64)).view(-1, 3)   # [9C,3]
            torch.testing.assert_close(out[q], unfolded[ly * w + lx] @ weights, rtol=0, atol=1e-10)

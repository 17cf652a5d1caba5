"""sr_lib.engine.train's lr schedule: MultiStepLR exactly without warm-up, a linear ramp with it."""
from dataclasses import replace

import pytest
import torch

from sr_lib.config import config_for
from sr_lib.engine.train import lr_factor, make_scheduler


def _lrs(opt, sched, n):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_without_warmup_it_is_multisteplr_bit_for_bit():
    cfg = replace(config_for("cpu", "liif", "edsr-baseline"), iterations=60, milestones=(20, 45))
    o1 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    o2 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    ref = _lrs(o1, torch.optim.lr_scheduler.MultiStepLR(o1, list(cfg.milestones), cfg.gamma), 60)
    assert _lrs(o2, make_scheduler(o2, cfg), 60) == ref


def test_warmup_ramps_linearly_then_follows_the_milestones():
    cfg = replace(config_for("cpu", "liif", "swinir"), milestones=(10,), warmup=4)
    assert cfg.lr == pytest.approx(5e-4)                      # the transformer schedule of the cpu profile
    assert [lr_factor(i, cfg) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert lr_factor(10, cfg) == 0.5 and lr_factor(9, cfg) == 1.0

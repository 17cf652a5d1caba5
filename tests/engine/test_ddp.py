"""Data parallel (gloo, 2 CPU processes) follows the single-process trajectory for the same global batch."""
from __future__ import annotations

import os
import socket
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import sr_lib
from sr_lib.config import config_for, model_options
from sr_lib.data.pairs import TrainImages, sample_batch
from sr_lib.engine import ddp
from sr_lib.engine.train import fit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CFG = replace(config_for("smoke", "liif", "edsr-baseline"), batch_size=4, iterations=4, lr=1e-3, milestones=(2,))


def images() -> TrainImages:
    rng = np.random.default_rng(0)
    return TrainImages([(rng.random((70, 70, 3)) * 255).astype(np.uint8) for _ in range(3)], list("abc"), "random")


def run(world_info=None):
    """Train the float64 tiny LIIF from seed 0 → (per-step losses, final weights)."""
    torch.manual_seed(0)
    model = sr_lib.make("liif", **model_options(CFG, "liif", "edsr-baseline")).double()
    out = fit(model, CFG, images(), seed=0, dist=world_info, progress=False)
    return out["loss"], {k: v.clone() for k, v in model.state_dict().items()}


def worker(rank: int, world: int, port: int, result_path: str):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        losses, sd = run(ddp.current())
        if rank == 0:
            torch.save({"loss": losses, "sd": sd}, result_path)
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestDataParallel:
    def test_two_gloo_processes_match_one_process(self, tmp_path):
        path = str(tmp_path / "ddp.pt")
        # fork: the workers inherit the imported modules (spawn would re-import torch and sr_lib)
        mp.start_processes(worker, args=(2, free_port(), path), nprocs=2, join=True, start_method="fork")
        got = torch.load(path, weights_only=True)
        want_loss, want_sd = run()
        assert len(got["loss"]) == CFG.iterations
        np.testing.assert_allclose(got["loss"], want_loss, rtol=0, atol=1e-10)
        assert want_loss[0] != want_loss[-1]                      # the weights did move
        for k, v in want_sd.items():
            torch.testing.assert_close(got["sd"][k], v, rtol=0, atol=1e-10)

    def test_global_batch_must_split_evenly(self):
        with pytest.raises(ValueError, match="not divisible"):
            sample_batch(images(), CFG.pair_spec(), 3, seed=0, step=0, rank=0, world=2)

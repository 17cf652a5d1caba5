"""Data parallelism with ``torchrun`` (torch.distributed DDP).

    torchrun --nproc_per_node 4 -m sr_lib train --method liif --backbone rdn --profile paper

The global batch stays the configured one: each of the N processes builds its own 1/N slice
of the same global batch (``sr_lib.data.pairs.sample_batch`` with ``rank``/``world``; rank-sharded
sampling, so no DistributedSampler is needed), and DDP averages the gradients. With equal
slices the mean of the per-rank mean losses is the global mean loss, so N processes follow the
single-process trajectory. Only rank 0 writes checkpoints.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env() -> DistInfo:
    """Join the process group ``torchrun`` describes in the environment (single process otherwise).

    Backend: NCCL on CUDA, gloo on CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world=world, local_rank=local_rank)


def current() -> DistInfo:
    """The process group already joined (tests spawn workers that call ``init_process_group`` themselves)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def device_preference(info: DistInfo, preference: str) -> str:
    """Each rank on its own GPU when CUDA is used; ``preference`` unchanged otherwise."""
    if info.world > 1 and torch.cuda.is_available() and preference in ("auto", "cuda"):
        return f"cuda:{info.local_rank}"
    return preference


def wrap(model: torch.nn.Module, info: DistInfo) -> torch.nn.Module:
    """DDP around ``model`` when running with more than one process."""
    if info.world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel
    dev = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)


def mean_over_ranks(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Average a scalar over ranks (for logging the global loss)."""
    if info.world <= 1:
        return value
    v = value.detach().clone()
    dist.all_reduce(v)
    return v / info.world


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()


__all__ = ["DistInfo", "init_from_env", "current", "device_preference", "wrap", "mean_over_ranks", "barrier"]

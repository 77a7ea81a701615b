"""Distributed data-parallel plumbing on PyTorch's own engine (``torchrun`` + DDP).

A process started by ``torchrun`` finds ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in its environment;
:func:`init_distributed` reads them, picks the backend (``nccl`` on CUDA, ``gloo`` on CPU) and the device, and
returns a :class:`DistInfo`. A plain ``python``/``ipr`` process is a world of one and nothing is initialised.
:func:`teardown` ends a run cleanly: barrier, then ``destroy_process_group`` (so nothing aborts at interpreter
exit). Only rank 0 logs and saves (:attr:`DistInfo.is_main`).

Example:
    >>> info = init_distributed("cpu")
    >>> (info.rank, info.world_size, info.is_main)
    (0, 1, True)
    >>> teardown(info)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "all_reduce_mean",
    "barrier",
    "broadcast_object",
    "check_global_batch",
    "env_world",
    "init_distributed",
    "resolve_device",
    "teardown",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the run.

    Attributes:
        rank: global rank (0 .. world_size-1).
        world_size: number of processes.
        local_rank: rank on this machine (selects the CUDA device).
        device: ``"cpu"`` or ``"cuda:<local_rank>"``.
        backend: ``"gloo"``, ``"nccl"`` or ``""`` (not distributed).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    backend: str = ""

    @property
    def distributed(self) -> bool:
        """True when a process group is in use (world size above one)."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that logs and writes files."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}: expected an integer, got {raw!r}") from None


def env_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the ``torchrun`` environment ((0, 1, 0) when absent)."""
    rank, world, local = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    if world < 1:
        raise ValueError(f"environment variable WORLD_SIZE: expected >= 1, got {world}")
    if not 0 <= rank < world:
        raise ValueError(f"environment variable RANK: expected 0 <= RANK < WORLD_SIZE={world}, got {rank}")
    return rank, world, local


def resolve_device(preference: str, local_rank: int = 0) -> str:
    """Turn ``"auto" | "cpu" | "cuda"`` into a concrete device string.

    Raises:
        ValueError: unknown preference, or ``"cuda"`` without a CUDA device.
    """
    if preference not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {preference!r}")
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but torch.cuda.is_available() is False")
    return f"cuda:{local_rank % max(torch.cuda.device_count(), 1)}"


def init_distributed(device: str = "auto", timeout_s: float = 1800.0) -> DistInfo:
    """Initialise the default process group when launched by ``torchrun`` (world size above one).

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        timeout_s: collective timeout in seconds.

    Returns:
        The :class:`DistInfo` of this process.
    """
    rank, world, local = env_world()
    dev = resolve_device(device, local)
    if world == 1:
        return DistInfo(0, 1, 0, dev, "")
    backend = "nccl" if dev.startswith("cuda") else "gloo"
    if dev.startswith("cuda"):
        torch.cuda.set_device(torch.device(dev))
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    return DistInfo(rank, world, local, dev, backend)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op in a world of one)."""
    if info.distributed and dist.is_initialized():
        dist.barrier()


def teardown(info: DistInfo, failed: bool = False) -> None:
    """End the run: barrier then destroy the process group, so the interpreter exits without an abort.

    Args:
        info: this process's :class:`DistInfo`.
        failed: this rank is leaving because of an error; skip the barrier (the other ranks may never reach
            it) and only destroy the group.
    """
    if info.distributed and dist.is_initialized():
        try:
            if not failed:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def broadcast_object(value: Any, info: DistInfo) -> Any:
    """Rank 0's ``value`` on every rank (returned unchanged in a world of one)."""
    if not info.distributed:
        return value
    box = [value if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_mean(value: Any, info: DistInfo) -> Any:
    """Mean of a tensor over ranks (returned unchanged in a world of one). The input is not modified."""
    if not info.distributed:
        return value
    out = value.detach().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / info.world_size


def check_global_batch(batch_size: int, world_size: int) -> int:
    """The per-rank batch for a global ``batch_size``.

    Raises:
        ValueError: the global batch is not a positive multiple of the world size.
    """
    if batch_size < 1:
        raise ValueError(f"train.batch_size: expected >= 1, got {batch_size}")
    if batch_size % world_size:
        raise ValueError(
            f"train.batch_size: global batch {batch_size} is not divisible by the world size {world_size}; "
            f"use a multiple of {world_size}"
        )
    return batch_size // world_size

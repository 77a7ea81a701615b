"""Resuming a run: which checkpoint to continue from, which config changes are allowed, and restoring state.

A checkpoint restores model, optimiser, schedulers, scaler, epoch, step, sampler position and every RNG state,
so a resumed run is bit-identical on CPU. The resolved config is compared with the checkpoint's: keys that may
change mid-run (:data:`RESUME_MUTABLE_KEYS`: learning rate, schedule, epochs, logging, guard-rail limits,
evaluation) are applied to the restored optimiser and schedule; any other difference is an error.
"""

from __future__ import annotations

import bisect
import math
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from integral_pose.build import zero_based_milestones
from integral_pose.config.io import config_from_dict, config_to_dict
from integral_pose.config.schema import Config, OptimConfig
from integral_pose.data.sampling import MixedSampler
from integral_pose.engine.checkpoint import load_checkpoint, restore_model
from integral_pose.engine.logging import RunPaths
from integral_pose.engine.seeding import restore_rng_state

__all__ = [
    "RESUME_MUTABLE_KEYS",
    "ResumePoint",
    "apply_optim_changes",
    "find_resume_checkpoint",
    "restore_training_state",
    "resume_config_changes",
]

RESUME_MUTABLE_KEYS: tuple[str, ...] = (
    "name",
    "optim.lr",
    "optim.milestones",
    "optim.factor",
    "optim.weight_decay",
    "optim.clip_grad_norm",
    "train.epochs",
    "train.log_every",
    "train.checkpoint_every",
    "train.val_every",
    "train.skip_nonfinite",
    "train.max_skipped_steps",
    "train.divergence_factor",
    "train.divergence_patience",
    "train.max_bad_image_fraction",
    "train.out_dir",
    "train.device",
    "train.compile",
    "data.num_workers",
    "data.val",
    "data.test",
    "eval",
)
"""Config keys (or whole sections) that may differ between a checkpoint and the run resuming from it."""


def find_resume_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint of a run folder that loads (``last.pt``, else the newest ``epoch_*.pt``).

    A file that fails to load (torn, truncated, wrong format) is skipped with a note on stderr.
    """
    paths = RunPaths(run_dir)
    if not paths.checkpoints.is_dir():
        return None
    candidates: list[tuple[int, Path]] = []
    for p in [paths.last, *sorted(paths.checkpoints.glob("epoch_*.pt"))]:
        if not p.is_file():
            continue
        try:
            ck = load_checkpoint(p)
        except Exception as exc:  # any unreadable file is skipped, the next candidate is tried
            print(f"resume: skipping unreadable checkpoint {p} ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        epoch = ck.get("epoch")
        epoch = int(epoch) if isinstance(epoch, int) else -1
        candidates.append((epoch, p))
    if not candidates:
        return None
    candidates.sort(key=lambda t: (t[0], t[1] == paths.last))
    return candidates[-1][1]


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → ``{"a.b": leaf}`` (lists are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(_flatten(v, key) if isinstance(v, dict) else {key: v})
    return out


def resume_config_changes(saved: Mapping[str, Any], current: Config, source: str) -> dict[str, tuple[Any, Any]]:
    """Compare a checkpoint's config with the config of the run resuming from it.

    Args:
        saved: the checkpoint's ``config`` dict.
        current: the resolved config of this run.
        source: the checkpoint path, for errors.

    Returns:
        ``{dotted key: (checkpoint value, new value)}`` for the keys that changed and may change
        (:data:`RESUME_MUTABLE_KEYS`).

    Raises:
        ValueError: a key that cannot change mid-run (model, data, augmentation, loss, optimiser type, batch size,
            seed …) differs; every such key is listed with both values.
    """
    try:  # fill keys added since the checkpoint was written with their defaults
        old = _flatten(config_to_dict(config_from_dict(saved)))
    except ValueError:
        old = _flatten(dict(saved))
    new = _flatten(config_to_dict(current))

    def mutable(key: str) -> bool:
        return any(key == m or key.startswith(m + ".") for m in RESUME_MUTABLE_KEYS)

    changed = {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}
    frozen = {k: v for k, v in changed.items() if not mutable(k)}
    if frozen:
        listing = "; ".join(f"{k}: {a!r} in the checkpoint, {b!r} now" for k, (a, b) in frozen.items())
        raise ValueError(
            f"--resume: {source} was trained with a different configuration, and these keys cannot change "
            f"mid-run: {listing}. Restore them, or start a new run in another train.out_dir"
        )
    return {k: v for k, v in changed.items() if mutable(k)}


def apply_optim_changes(
    optimizer: torch.optim.Optimizer, multistep: torch.optim.lr_scheduler.MultiStepLR, old: OptimConfig,
    new: OptimConfig,
) -> None:  # fmt: skip
    """Make a restored optimiser and decay schedule follow the new ``optim`` settings (lr, milestones, factor,
    weight decay), keeping the warm-up factor the restored state is at."""
    epoch = int(multistep.last_epoch)
    old_ms = zero_based_milestones(old.milestones)
    new_ms = zero_based_milestones(new.milestones)
    old_decay = old.factor ** bisect.bisect_right(old_ms, epoch)
    new_decay = new.factor ** bisect.bisect_right(new_ms, epoch)
    for group in optimizer.param_groups:
        warm = group["lr"] / (old.lr * old_decay) if old.lr * old_decay > 0 else 1.0
        group["initial_lr"] = new.lr
        group["lr"] = new.lr * new_decay * warm
        group["weight_decay"] = new.weight_decay
    multistep.base_lrs = [new.lr for _ in optimizer.param_groups]
    multistep.milestones = Counter(new_ms)
    multistep.gamma = new.factor
    multistep._last_lr = [g["lr"] for g in optimizer.param_groups]


@dataclass(frozen=True)
class ResumePoint:
    """Where a restored run continues: finished epochs, optimiser steps and the best validation MPJPE (mm)."""

    epoch: int
    step: int
    best: float


def restore_training_state(
    ckpt: Mapping[str, Any],
    source: str,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    schedulers: tuple[torch.optim.lr_scheduler.MultiStepLR, torch.optim.lr_scheduler.LinearLR | None],
    scaler: torch.amp.GradScaler,
    sampler: MixedSampler,
    cfg: Config,
    optim_changed: bool,
) -> ResumePoint:
    """Load a training checkpoint into freshly built training objects (model, optimiser, schedules, scaler,
    sampler position, RNG states).

    Args:
        ckpt: the loaded checkpoint. source: its path, for errors.
        model, optimizer, schedulers, scaler, sampler: the objects of this run, built from ``cfg``.
        cfg: this run's config.
        optim_changed: an ``optim.*`` key changed (:func:`resume_config_changes`): apply the new settings.

    Raises:
        ValueError: the file holds weights only, or they do not fit the model.
    """
    multistep, warmup = schedulers
    restore_model(model, ckpt, source=source)
    extra = ckpt.get("extra") or {}
    sched = ckpt.get("scheduler") or {}
    if ckpt.get("optimizer") is None or "multistep" not in sched or "sampler" not in extra:
        raise ValueError(f"--resume: {source} holds weights only (no optimiser/scheduler/sampler state)")
    optimizer.load_state_dict(ckpt["optimizer"])
    multistep.load_state_dict(sched["multistep"])
    if warmup is not None and sched.get("warmup") is not None:
        warmup.load_state_dict(sched["warmup"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    if optim_changed:
        apply_optim_changes(optimizer, multistep, config_from_dict(ckpt["config"]).optim, cfg.optim)
    point = ResumePoint(epoch=int(ckpt["epoch"]), step=int(ckpt["step"]), best=float(extra.get("best") or math.inf))
    sampler.load_state_dict(extra["sampler"])
    if ckpt.get("rng_state") is not None:
        restore_rng_state(ckpt["rng_state"])
    return point

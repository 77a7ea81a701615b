"""Guard rails of the training loop: unreadable images, non-finite steps and divergence.

* :class:`GuardedDataset` + :func:`collate_guarded`: an unreadable image becomes a marker that the collate
  function drops and reports, so one broken file does not end a run.
* :class:`StepGuard`: counts non-finite steps in a row (``train.max_skipped_steps``) and divergent ones
  (``train.divergence_factor`` × the running loss level, or × the weight norm at the start of the run;
  ``train.divergence_patience``) and raises the typed errors below when a limit is reached.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import default_collate

from integral_pose.config.schema import TrainConfig
from integral_pose.data.dataset import split_key
from integral_pose.data.io import ImageReadError
from integral_pose.engine.distributed import DistInfo

__all__ = [
    "BadImageError",
    "DivergenceError",
    "GuardedDataset",
    "NonFiniteLossError",
    "StepGuard",
    "check_bad_images",
    "check_weights_finite",
    "collate_guarded",
    "grads_finite",
    "weight_norm",
]


class NonFiniteLossError(RuntimeError):
    """The loss or the gradients became NaN/inf and ``train.skip_nonfinite`` is false."""


class DivergenceError(NonFiniteLossError):
    """The loss or the weight norm ran away for ``train.divergence_patience`` steps in a row."""


class BadImageError(RuntimeError):
    """More training images than ``train.max_bad_image_fraction`` of an epoch could not be read."""


class GuardedDataset:
    """Wrap a dataset so that an unreadable image yields a marker instead of an exception.

    The marker ``{"_bad_index": i, "_bad_reason": text}`` is dropped by :func:`collate_guarded`, which returns the
    bad indices next to the batch. Only image-reading errors are caught; anything else propagates.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __getitem__(self, key: Any) -> dict[str, Any]:
        try:
            return self.dataset[key]
        except (ImageReadError, FileNotFoundError) as exc:
            index, _ = split_key(key)
            return {"_bad_index": index, "_bad_reason": str(exc)}


def collate_guarded(items: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    """Collate the readable items of a batch; return ``(batch or None, [(index, reason), …])``."""
    good = [it for it in items if "_bad_index" not in it]
    bad = [(int(it["_bad_index"]), str(it["_bad_reason"])) for it in items if "_bad_index" in it]
    return (default_collate(good) if good else None), bad


def weight_norm(params: Sequence[torch.Tensor]) -> float:
    """Global L2 norm of the parameters (inf/NaN when any is non-finite)."""
    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.stack([p.detach().float().norm() for p in params])))


def grads_finite(params: Sequence[torch.Tensor]) -> bool:
    """Whether every gradient present is finite."""
    norms = [p.grad.detach().float().norm() for p in params if p.grad is not None]
    if not norms:
        return True
    return bool(torch.isfinite(torch.stack(norms).sum()))


@dataclass
class StepGuard:
    """Consecutive non-finite and divergent steps of one ``train`` call, and the limits that stop the run.

    Attributes:
        cfg: the ``train`` section (limits).
        ref_norm: global weight norm at the start of the call.
        nonfinite_run: non-finite steps in a row. diverging: divergent steps in a row.
        loss_level: running (EMA) loss level of the non-divergent steps.
    """

    cfg: TrainConfig
    ref_norm: float
    nonfinite_run: int = 0
    diverging: int = 0
    loss_level: float | None = None

    def nonfinite(self, detail: str, ids: list[int], last_good: Callable[[], str]) -> None:
        """Count a skipped non-finite step; raise once ``train.max_skipped_steps`` came in a row."""
        self.nonfinite_run += 1
        if self.nonfinite_run >= self.cfg.max_skipped_steps:
            raise NonFiniteLossError(
                f"{detail}; sample ids {ids}; {self.nonfinite_run} non-finite steps in a row "
                f"(train.max_skipped_steps={self.cfg.max_skipped_steps}); the last good checkpoint "
                f"is kept{last_good()}"
            )

    def check_update(self, loss_value: float, norm: float) -> str | None:
        """After an update: the reason it looks divergent (``None`` when it does not); updates the counters."""
        self.nonfinite_run = 0
        factor = self.cfg.divergence_factor
        grown = self.ref_norm > 0 and norm > factor * self.ref_norm
        level = self.loss_level
        spiked = level is not None and loss_value > factor * max(level, 1e-12)
        if not (grown or spiked):
            self.diverging = 0
            self.loss_level = loss_value if level is None else 0.9 * level + 0.1 * loss_value
            return None
        self.diverging += 1
        if grown:
            return f"weight norm {norm:.4g} > {factor:g} x its start value {self.ref_norm:.4g}"
        return f"loss {loss_value:.4g} > {factor:g} x its running level {level:.4g}"

    def check_patience(self, where: str, why: str, ids: list[int], last_good: Callable[[], str]) -> None:
        """Raise :class:`DivergenceError` once ``train.divergence_patience`` divergent steps came in a row."""
        patience = self.cfg.divergence_patience
        if 0 < patience <= self.diverging:
            raise DivergenceError(
                f"training diverged at {where}: {why}, {self.diverging} steps in a row "
                f"(train.divergence_patience={patience}); sample ids {ids}; the "
                f"last good checkpoint is kept{last_good()}"
            )


def check_weights_finite(
    norm: float, where: str, loss_value: float, lr: float, ids: list[int], last_good: Callable[[], str]
) -> None:
    """Raise :class:`NonFiniteLossError` when the update made the weights non-finite (``norm`` is NaN/inf)."""
    if not math.isfinite(norm):
        raise NonFiniteLossError(
            f"the weights became non-finite in the update of {where} (loss={loss_value:.6g}, "
            f"lr={lr:.6g}); sample ids {ids}; the last good checkpoint is kept{last_good()}"
        )


def check_bad_images(bad: list[tuple[int, str]], epoch: int, steps_per_epoch: int, cfg: TrainConfig,
                     info: DistInfo) -> int:  # fmt: skip
    """Count an epoch's unreadable images on all ranks, list them, stop past ``train.max_bad_image_fraction``.

    Args:
        bad: ``(index, reason)`` of this rank's unreadable images. epoch: 0-based epoch.
        steps_per_epoch: batches per epoch. cfg: the ``train`` section. info: the process group.

    Returns:
        The number of unreadable images of the epoch, all ranks together.

    Raises:
        BadImageError: more than ``train.max_bad_image_fraction`` of the epoch's images could not be read.
    """
    n_bad = torch.tensor([len(bad)], dtype=torch.float64)
    if info.distributed:
        torch.distributed.all_reduce(n_bad)
    count = int(n_bad.item())
    if count > 0 and info.is_main:
        listing = ", ".join(f"#{k}" for k, _ in bad[:20])
        more = "" if len(bad) <= 20 else f" and {len(bad) - 20} more"
        print(f"epoch {epoch + 1}: skipped {count} unreadable image(s): {listing}{more}", file=sys.stderr)
    seen = max(steps_per_epoch * cfg.batch_size, 1)
    if count / seen > cfg.max_bad_image_fraction:
        raise BadImageError(
            f"epoch {epoch + 1}: {count} of ~{seen} images could not be read, more than "
            f"train.max_bad_image_fraction={cfg.max_bad_image_fraction}; first: {bad[:3]}"
        )
    return count

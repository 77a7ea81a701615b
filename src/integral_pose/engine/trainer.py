"""The training loop: data, model, loss and optimiser built from a validated :class:`Config`, run to completion.

One call, :func:`train`, does the whole run:

* **Distributed** when launched by ``torchrun`` (DDP; gloo on CPU, nccl on CUDA; SyncBatchNorm only on CUDA).
  ``train.batch_size`` is global and must divide by the world size; every rank sees a disjoint slice of each
  epoch (:class:`integral_pose.data.sampling.MixedSampler`); only rank 0 logs and saves.
* **Schedule** in PyTorch's order: ``optimizer.step()`` every batch, the optional linear warm-up stepped after
  each optimiser step, and the multi-step decay stepped after each epoch. ``optim.milestones`` are 1-based
  epochs: milestone 270 means epochs 270, 271, … run at the decayed rate (the original's schedule).
* **Precision**: AMP in bf16 (CPU or CUDA) or fp16 (CUDA, with a gradient scaler); the integral op always runs
  in float32. Optional ``torch.compile`` and channels-last.
* **Checkpoints** (atomic): ``last.pt`` every epoch, ``epoch_NNNN.pt`` every ``train.checkpoint_every`` epochs
  and at the end, ``best.pt`` on the best validation MPJPE. A checkpoint restores model, optimiser, schedulers,
  scaler, epoch, step, sampler position and every RNG state, so a resumed run is bit-identical on CPU.
* **Guard rails**: non-finite outputs, loss or gradients skip the step and are counted
  (``train.skip_nonfinite``); after ``train.max_skipped_steps`` such steps in a row, when the update itself made
  the weights non-finite, or at once with ``skip_nonfinite: false``, the run stops (exit 1) naming the step and
  the sample ids, and the last good checkpoint is kept (a non-finite model is never saved). A step whose loss
  exceeds ``train.divergence_factor`` × its running level, or whose global weight norm exceeds that multiple of
  its value at the start of the run, is warned about; ``train.divergence_patience`` such steps in a row stop the
  run the same way. Unreadable images (and images whose decoded size differs from the records' ``image_size``)
  are skipped, counted and listed at the end of the epoch, and the run aborts past
  ``train.max_bad_image_fraction``.
* **One run per folder**: rank 0 holds an exclusive lock on the run folder (:class:`RunLock`); a second run
  into the same folder stops at once naming the owner. On start and resume, stale temporaries of interrupted
  checkpoint writes are removed and ``metrics.jsonl`` is trimmed back to the checkpoint's step.
* **Resume honours changes**: the resolved config is compared with the checkpoint's. Keys that may change
  mid-run (:data:`RESUME_MUTABLE_KEYS`: learning rate, schedule, epochs, logging, guard-rail limits, evaluation)
  are applied to the restored optimiser/scheduler and logged; any other difference is an error.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.engine.distributed import DistInfo
from integral_pose.engine.logging import MetricsWriter, Progress, RunPaths, remove_stale_temporaries, trim_metrics
from integral_pose.engine.runlock import RunLock
from integral_pose.fileio import check_writable_dir, read_json

__all__ = [
    "RESUME_MUTABLE_KEYS",
    "BadImageError",
    "DivergenceError",
    "GuardedDataset",
    "NonFiniteLossError",
    "TrainResult",
    "apply_box_source",
    "build_eval_dataset",
    "build_model_for",
    "build_optimizer",
    "build_schedulers",
    "build_train_dataset",
    "collate_guarded",
    "compute_loss",
    "find_resume_checkpoint",
    "load_box_file",
    "load_split_records",
    "make_pose_dataset",
    "outputs_to_coords",
    "resume_config_changes",
    "tight_boxes",
    "train",
]


class NonFiniteLossError(RuntimeError):
    """The loss or the gradients became NaN/inf and ``train.skip_nonfinite`` is false."""


class DivergenceError(NonFiniteLossError):
    """The loss or the weight norm ran away for ``train.divergence_patience`` steps in a row."""


class BadImageError(RuntimeError):
    """More training images than ``train.max_bad_image_fraction`` of an epoch could not be read."""


@dataclass
class TrainResult:
    """Summary of a finished (or resumed-and-finished) run.

    Attributes:
        run_dir: the run folder.
        epochs: epochs completed in total.
        steps: optimiser steps in total.
        last_loss: mean training loss of the final epoch.
        best_val_mpjpe: best validation MPJPE in mm (NaN when never validated).
        images_per_s: training throughput of the last epoch (all ranks together).
        wall_s: seconds spent in this call.
        skipped_steps: steps skipped for non-finite loss/gradients (this call).
        bad_images: unreadable images skipped (this call).
    """

    run_dir: Path
    epochs: int
    steps: int
    last_loss: float
    best_val_mpjpe: float
    images_per_s: float
    wall_s: float
    skipped_steps: int = 0
    bad_images: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ data
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
        from integral_pose.data.dataset import split_key
        from integral_pose.data.io import ImageReadError

        try:
            return self.dataset[key]
        except (ImageReadError, FileNotFoundError) as exc:
            index, _ = split_key(key)
            return {"_bad_index": index, "_bad_reason": str(exc)}


def collate_guarded(items: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    """Collate the readable items of a batch; return ``(batch or None, [(index, reason), …])``."""
    from torch.utils.data import default_collate

    good = [it for it in items if "_bad_index" not in it]
    bad = [(int(it["_bad_index"]), str(it["_bad_reason"])) for it in items if "_bad_index" in it]
    return (default_collate(good) if good else None), bad


def _augment_for(cfg: Any) -> Any:
    """The data package's augmentation distribution for the config's ``augment`` section (None = off)."""
    from integral_pose.data.augment import AugmentConfig as DataAugment

    a = cfg.augment
    if not a.enabled:
        return None
    return DataAugment(
        scale_factor=a.scale_factor,
        rot_factor=a.rot_factor,
        rot_prob=a.rot_prob,
        flip=a.flip_prob > 0,
        flip_prob=a.flip_prob,
        color_factor=a.color_factor,
    )


def make_pose_dataset(records: Any, cfg: Any, spec: Any, augment: Any = None) -> Any:
    """The one place that maps the config onto :class:`~integral_pose.data.dataset.PoseDataset`'s constructor.

    Args:
        records: the table to serve.
        cfg: the run config (patch size, 3D box, normalisation, seed).
        spec: the dataset entry of ``data.train``/``data.val``/``data.test`` (its ``depth_norm``).
        augment: an augmentation config for training, ``None`` at test time.
    """
    from integral_pose.data.dataset import PoseDataset

    return PoseDataset(
        records,
        (cfg.data.patch_width, cfg.data.patch_height),
        rect_3d_mm=cfg.data.rect_3d_mm,
        mean=cfg.data.mean,
        std=cfg.data.std,
        augment=augment,
        seed=cfg.train.seed,
        depth_mode=spec.depth_norm,
        box_aspect=spec.box_aspect,
    )


TIGHT_BOX_FACTOR = 1.25
"""Growth of the tight box around the visible joints (box source ``tight``)."""


def tight_boxes(joints_2d: np.ndarray, vis: np.ndarray, fallback: np.ndarray,
                factor: float = TIGHT_BOX_FACTOR) -> np.ndarray:  # fmt: skip
    """Tight xywh boxes (N, 4) px around each sample's visible joints, grown ×``factor`` about their centre.

    Samples with fewer than two visible joints cannot be bounded and keep their ``fallback`` box.

    Args:
        joints_2d: (N, J, 2) joints, image px.
        vis: (N, J) visibility (> 0 = visible).
        fallback: (N, 4) boxes used where a tight box is undefined.
        factor: growth factor (1.25, as the datasets' own boxes).
    """
    from integral_pose.data.sources.common import tight_box

    j = np.asarray(joints_2d, dtype=np.float64)
    v = np.asarray(vis) > 0
    out = np.asarray(fallback, dtype=np.float64).copy()
    if out.shape != (j.shape[0], 4):
        raise ValueError(f"fallback: expected shape ({j.shape[0]}, 4), got {out.shape}")
    ok = v.sum(axis=1) >= 2
    if ok.any():
        out[ok] = tight_box(j[ok], v[ok], factor)
    return out.astype(np.float32)


def load_box_file(path: str | os.PathLike[str], n: int, where: str) -> np.ndarray:
    """Read a box file: a ``.npy`` or ``.json`` array of (N, 4) x, y, w, h px boxes, one per record in order.

    Args:
        path: the file.
        n: number of records the boxes must cover.
        where: the option naming the file in errors (``--boxes``, ``data.test[0].box`` …).
    """
    p = Path(path)
    if p.suffix not in (".npy", ".json"):
        raise ValueError(
            f"{where}: expected 'gt', 'tight' or a .npy/.json file of (N, 4) xywh boxes, got {str(path)!r}"
        )
    if not p.is_file():
        raise FileNotFoundError(f"{where}: box file not found: {p}")
    raw = read_json(p, where) if p.suffix == ".json" else None  # typed errors for a folder or invalid JSON
    try:
        boxes = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.asarray(raw, float)
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{where}: {p} is not a readable (N, 4) box array ({exc})") from None
    if boxes.shape != (n, 4):
        raise ValueError(f"{where}: {p} holds shape {boxes.shape}, expected ({n}, 4) (one xywh box per record)")
    if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
        raise ValueError(f"{where}: {p} has non-finite boxes or boxes with non-positive size")
    return boxes.astype(np.float32)


def apply_box_source(records: Any, source: str, where: str) -> Any:
    """``records`` with the person boxes of ``source``: ``gt`` (unchanged), ``tight`` or a box file.

    Args:
        records: the table (not modified; a new table is returned when the boxes change).
        source: ``"gt"`` (the records' own boxes), ``"tight"`` (:func:`tight_boxes`, ×1.25) or a path to a
            ``.npy``/``.json`` file of (N, 4) xywh px boxes in record order (:func:`load_box_file`).
        where: the config key or option the value came from, for errors.
    """
    if source == "gt":
        return records
    if source == "tight":
        boxes = tight_boxes(records.joints_2d, records.joints_vis, records.box)
    else:
        boxes = load_box_file(source, len(records), where)
    out = records.subset(slice(None))
    out.box = boxes
    out.validate()
    return out


def load_split_records(cfg: Any, split: str, i: int, box_override: str | None = None,
                       check_joint_set: bool = True) -> Any:  # fmt: skip
    """Load ``data.<split>[i]`` and apply its box source (the one place that maps the data config to records).

    The box source is ``box_override`` (``ipr eval --boxes``) when given, else ``data.<split>[i].box``, else
    ``data.box_source``.

    Args:
        cfg: the run config.
        split: ``"train"``, ``"val"`` or ``"test"``.
        i: index into ``data.<split>``.
        box_override: a box source that wins over the config.
        check_joint_set: require the records' joint set to equal ``model.joint_set``.
    """
    from integral_pose.data.records import load_records

    spec = getattr(cfg.data, split)[i]
    path = Path(spec.records)
    if not path.is_file():
        raise FileNotFoundError(f"data.{split}[{i}].records: file not found: {path}")
    records = load_records(path)
    if check_joint_set and records.header.joint_set != cfg.model.joint_set:
        raise ValueError(
            f"data.{split}[{i}]: records joint set {records.header.joint_set!r} differs from "
            f"model.joint_set {cfg.model.joint_set!r}"
        )
    if box_override is not None:
        source, where = box_override, "--boxes"
    elif spec.box is not None:
        source, where = spec.box, f"data.{split}[{i}].box"
    else:
        source, where = cfg.data.box_source, "data.box_source"
    return apply_box_source(records, source, where)


LIVE_DEFAULT_SIZE = 10000
"""Samples per pass of a ``synthmocap_live`` dataset without ``size``."""


def make_live_dataset(cfg: Any, spec: Any, augment: Any) -> Any:
    """The on-the-fly SynthMocap stream for a ``synthmocap_live`` entry of ``data.train``."""
    from integral_pose.data.sources.synthmocap_live import SynthMocapStream

    return SynthMocapStream(
        (cfg.data.patch_width, cfg.data.patch_height),
        spec.size or LIVE_DEFAULT_SIZE,
        seed=cfg.train.seed,
        augment=augment,
        mean=cfg.data.mean,
        std=cfg.data.std,
        rect_3d_mm=cfg.data.rect_3d_mm,
    )


def _load_split(cfg: Any, specs: Sequence[Any], augment: Any, split: str) -> list[Any]:
    if not specs:
        raise ValueError(f"data.{split}: expected at least one dataset, got none")
    parts = []
    for i, spec in enumerate(specs):
        if spec.kind == "synthmocap_live":
            if split != "train":
                raise ValueError(
                    f"data.{split}[{i}].kind: 'synthmocap_live' is for training only; evaluate on fixed records "
                    "(kind 'synthmocap', written by `ipr data synthmocap`)"
                )
            parts.append(make_live_dataset(cfg, spec, augment))
        else:
            parts.append(make_pose_dataset(load_split_records(cfg, split, i), cfg, spec, augment))
    return parts


def build_train_dataset(cfg: Any) -> tuple[Any, list[int], list[float], int]:
    """The training dataset (all ``data.train`` parts concatenated) and its mixing plan.

    Returns:
        ``(dataset, sizes, ratios, epoch_length)``.
    """
    from integral_pose.data.dataset import ConcatPoseDataset

    parts = _load_split(cfg, cfg.data.train, _augment_for(cfg), "train")
    sizes = [len(p) for p in parts]
    ratios = [float(s.ratio) for s in cfg.data.train]
    length = cfg.data.epoch_length.num_samples_for(sizes, ratios)
    return ConcatPoseDataset(parts), sizes, ratios, int(length)


def build_eval_dataset(cfg: Any, split: str = "test") -> Any:
    """The test-time dataset (no augmentation) of ``data.val`` or ``data.test`` (parts concatenated)."""
    from integral_pose.data.dataset import ConcatPoseDataset

    specs = cfg.data.val if split == "val" else cfg.data.test
    return ConcatPoseDataset(_load_split(cfg, specs, None, split))


# ------------------------------------------------------------------------------------------------ model, loss
def build_model_for(cfg: Any) -> Any:
    """``models.build_model(cfg.model)`` (the one place that maps config to constructor arguments)."""
    from integral_pose.models import build_model

    return build_model(cfg.model)


def outputs_to_coords(output: Any, model_cfg: Any) -> Any:
    """Model output → normalised coordinates (B, J, 3) in float32 (x, y, z ∈ [−0.5, 0.5)).

    Integral models: soft-argmax of the (D, H, W) volume (2D heat maps: z = 0); heat-map baseline: argmax with
    the quarter-cell shift (no gradient); direct: the (B, J·3) output reshaped
    (:func:`integral_pose.models.predict_coords`). The integral op runs in float32 even under autocast.
    """
    from integral_pose.models import predict_coords

    coords = predict_coords(
        output,
        num_joints=model_cfg.num_joints,
        depth_bins=model_cfg.depth_bins,
        arch=model_cfg.arch,
        output_3d=model_cfg.output_3d,
    )
    return coords.float()


def compute_loss(coords: Any, target: Any, weight: Any, output: Any, cfg: Any) -> tuple[Any, dict[str, Any]]:
    """The training loss and its terms: coordinate L1/L2 (+ the optional heat-map JS regulariser).

    For ``model.arch: heatmap`` (the detection-based baseline) the trained loss is the heat-map MSE against
    Gaussian targets (:func:`integral_pose.losses.heatmap_mse_loss`, ``loss.heatmap_sigma``), logged as
    ``heatmap_mse``; the coordinate loss of the argmax-decoded ``coords`` is still computed and logged as
    ``coord`` for monitoring but carries no gradient (the argmax is not differentiable).

    Args:
        coords: (B, J, 3) predicted normalised coordinates.
        target: (B, J, 3) targets. weight: (B, J, 3) per-coordinate weights.
        output: the raw model output (logits, for the regulariser and the heat-map loss).
        cfg: the run config (``loss`` and ``model`` sections).

    Returns:
        ``(loss, {"coord": …, "heatmap_js": …})`` (scalar tensors; the JS term only when enabled), or
        ``(loss, {"coord": …, "heatmap_mse": …})`` for the heat-map baseline.
    """
    from integral_pose.losses import coordinate_loss, heatmap_js_loss, heatmap_mse_loss

    lc = cfg.loss
    if cfg.model.arch == "heatmap":
        from integral_pose.models import logits_to_volume

        coord = coordinate_loss(coords.detach(), target, weight, lc.type, lc.normalisation)  # monitoring only
        maps = output
        if cfg.model.output_3d:
            maps = logits_to_volume(output, cfg.model.num_joints, cfg.model.depth_bins)  # (B, J, D, H, W)
        mse = heatmap_mse_loss(maps.float(), target, weight, lc.heatmap_sigma, lc.normalisation)
        return mse, {"coord": coord.detach(), "heatmap_mse": mse.detach()}
    coord = coordinate_loss(coords, target, weight, lc.type, lc.normalisation)
    terms = {"coord": coord.detach()}
    loss = coord
    if lc.heatmap_reg > 0 and cfg.model.arch == "integral":
        logits = output
        if cfg.model.output_3d:
            from integral_pose.models import logits_to_volume

            logits = logits_to_volume(output, cfg.model.num_joints, cfg.model.depth_bins)
        js = heatmap_js_loss(logits.float(), target, weight, lc.heatmap_reg_sigma, lc.normalisation)
        terms["heatmap_js"] = js.detach()
        loss = loss + lc.heatmap_reg * js
    return loss, terms


# ------------------------------------------------------------------------------------------------ optimiser
def build_optimizer(params: Any, optim_cfg: Any) -> Any:
    """Adam (default betas, the original's choice) or SGD with momentum, from ``optim``."""
    import torch

    if optim_cfg.name == "adam":
        return torch.optim.Adam(params, lr=optim_cfg.lr, betas=optim_cfg.betas, weight_decay=optim_cfg.weight_decay)
    return torch.optim.SGD(params, lr=optim_cfg.lr, momentum=optim_cfg.momentum, weight_decay=optim_cfg.weight_decay)


def build_schedulers(optimizer: Any, optim_cfg: Any, steps_per_epoch: int) -> tuple[Any, Any | None]:
    """``(multistep, warmup)``: the per-epoch decay and the optional per-step linear warm-up.

    ``optim.milestones`` are 1-based epochs (the epoch that first runs at the decayed rate); PyTorch's
    ``MultiStepLR`` counts finished epochs, so milestone ``m`` becomes ``m − 1``.
    """
    import torch

    multistep = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[m - 1 for m in optim_cfg.milestones], gamma=optim_cfg.factor
    )
    warm = optim_cfg.warmup_steps or optim_cfg.warmup_epochs * steps_per_epoch
    warmup = None
    if warm > 0:
        warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warm, end_factor=1.0, total_iters=warm)
    return multistep, warmup


# ------------------------------------------------------------------------------------------------ checkpoints
def find_resume_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint of a run folder that loads (``last.pt``, else the newest ``epoch_*.pt``).

    A file that fails to load (torn, truncated, wrong format) is skipped with a note on stderr.
    """

    from integral_pose.engine.checkpoint import load_checkpoint

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


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts → ``{"a.b": leaf}`` (lists are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        out.update(_flatten(v, key) if isinstance(v, dict) else {key: v})
    return out


def resume_config_changes(saved: Any, current: Any, source: str) -> dict[str, tuple[Any, Any]]:
    """Compare a checkpoint's config with the config of the run resuming from it.

    Args:
        saved: the checkpoint's ``config`` dict.
        current: the resolved config of this run (a :class:`~integral_pose.config.schema.Config`).
        source: the checkpoint path, for errors.

    Returns:
        ``{dotted key: (checkpoint value, new value)}`` for the keys that changed and may change
        (:data:`RESUME_MUTABLE_KEYS`).

    Raises:
        ValueError: a key that cannot change mid-run (model, data, augmentation, loss, optimiser type, batch size,
            seed …) differs; every such key is listed with both values.
    """
    from integral_pose.config.io import config_from_dict, config_to_dict

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


def _apply_optim_changes(optimizer: Any, multistep: Any, old: Any, new: Any) -> None:
    """Make a restored optimiser and decay schedule follow the new ``optim`` settings (lr, milestones, factor,
    weight decay), keeping the warm-up factor the restored state is at."""
    import bisect
    from collections import Counter

    epoch = int(multistep.last_epoch)
    old_ms = sorted(m - 1 for m in old.milestones)
    new_ms = sorted(m - 1 for m in new.milestones)
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


def _unwrap(model: Any) -> Any:
    inner = getattr(model, "module", model)  # DDP
    return getattr(inner, "_orig_mod", inner)  # torch.compile


# ------------------------------------------------------------------------------------------------ the loop
@dataclass
class _State:
    epoch: int = 0  # finished epochs
    step: int = 0  # optimiser steps taken
    best: float = math.inf
    skipped: int = 0
    bad: int = 0


def _autocast(device: str, amp: str) -> Any:
    import contextlib

    import torch

    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=dtype)


def _last_good(paths: RunPaths, write: bool) -> str:
    """``" (<path>, epoch N)"`` naming the checkpoint a stopped run leaves, or ``" (none was written yet)"``."""
    if not write:
        return ""
    found = find_resume_checkpoint(paths.root) if paths.checkpoints.is_dir() else None
    return f" ({found})" if found is not None else " (none was written yet)"


def _weight_norm(params: Sequence[Any]) -> float:
    """Global L2 norm of the parameters (inf/NaN when any is non-finite)."""
    import torch

    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.stack([p.detach().float().norm() for p in params])))


def _grads_finite(params: Sequence[Any]) -> bool:
    import torch

    norms = [p.grad.detach().float().norm() for p in params if p.grad is not None]
    if not norms:
        return True
    return bool(torch.isfinite(torch.stack(norms).sum()))


def train(
    cfg: Any,
    resume: str | None = None,
    fast_dev_run: int = 0,
    run_dir: str | os.PathLike[str] | None = None,
    quiet: bool = False,
    progress_tty: bool | None = None,
) -> TrainResult:
    """Train a model as ``cfg`` says.

    Args:
        cfg: validated :class:`integral_pose.config.schema.Config`.
        resume: ``None`` (fresh run; refuses a run folder that already has checkpoints), ``"auto"`` (continue from
            the last good checkpoint of the run folder, fresh start when there is none) or a checkpoint path.
        fast_dev_run: when > 0, run only this many steps of one epoch and one validation batch, write nothing.
        run_dir: run folder (default ``cfg.train.out_dir``).
        quiet: no progress display (metrics are still written).
        progress_tty: force the tqdm bar (True) or plain lines (False); default: decided by the terminal.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: bad configuration for this launch (e.g. batch not divisible by the world size, fp16 on CPU),
            or a resume whose config changes a key that cannot change mid-run.
        FileExistsError: fresh run into a folder that already has checkpoints, or the folder is locked by another
            run (:class:`~integral_pose.engine.runlock.RunLockedError`).
        OSError: the run folder is not writable (named).
        NonFiniteLossError, DivergenceError, BadImageError: guard rails (see module docstring).
    """
    import torch
    from torch.utils.data import DataLoader

    from integral_pose.config.io import config_to_dict, save_config
    from integral_pose.data.sampling import MixedSampler
    from integral_pose.engine.checkpoint import load_checkpoint, save_checkpoint
    from integral_pose.engine.distributed import broadcast_object, check_global_batch, init_distributed, teardown
    from integral_pose.engine.seeding import capture_rng_state, restore_rng_state, seed_everything

    t_start = time.perf_counter()
    dev_pref = cfg.train.device
    info: DistInfo = init_distributed("cuda" if dev_pref.startswith("cuda") else dev_pref)
    failed = True
    lock: RunLock | None = None
    try:
        device = dev_pref if dev_pref.startswith("cuda:") and not info.distributed else info.device
        if cfg.train.amp == "fp16" and not device.startswith("cuda"):
            raise ValueError("train.amp: 'fp16' needs CUDA; use 'bf16' or 'off' on CPU")
        per_rank = check_global_batch(cfg.train.batch_size, info.world_size)
        paths = RunPaths(run_dir if run_dir is not None else cfg.train.out_dir)
        dry = fast_dev_run > 0
        write = info.is_main and not dry

        # ---------------------------------------------------------------- resume decision (rank 0 decides)
        decision: tuple[str, str] = ("fresh", "")
        setup_error: OSError | None = None
        if write:
            try:
                check_writable_dir(paths.root, "train.out_dir")
                lock = RunLock(paths.root).acquire()
            except OSError as exc:  # DDP: the other ranks learn of it through the broadcast
                setup_error = exc
                decision = ("error", str(exc))
            else:
                for f in remove_stale_temporaries(paths):
                    print(f"removed stale temporary file {f}", file=sys.stderr)
        if info.is_main and decision[0] != "error":
            if resume not in (None, "auto"):
                decision = ("resume", str(resume))
            elif resume == "auto":
                found = find_resume_checkpoint(paths.root)
                decision = ("resume", str(found)) if found is not None else ("fresh", "")
            elif not dry and paths.last.exists():
                decision = ("error", f"train.out_dir: {paths.root} already holds checkpoints; pass --resume auto to "
                            "continue that run or choose another train.out_dir")  # fmt: skip
        decision = broadcast_object(decision, info)
        if setup_error is not None:
            raise setup_error
        if decision[0] == "error":
            raise FileExistsError(decision[1])
        ckpt: dict[str, Any] | None = load_checkpoint(decision[1]) if decision[0] == "resume" else None
        resume = decision[1] if decision[0] == "resume" else None
        # before anything is built: a change that cannot happen mid-run is reported as such, not as a shape error
        changes = resume_config_changes(ckpt["config"], cfg, str(resume)) if ckpt is not None else {}

        seed_everything(cfg.train.seed)

        # ---------------------------------------------------------------- data
        dataset, sizes, ratios, epoch_len = build_train_dataset(cfg)
        sampler = MixedSampler(
            sizes, ratios, num_samples=epoch_len, shuffle=True, seed=cfg.train.seed,
            world_size=info.world_size, rank=info.rank,
        )  # fmt: skip
        workers = cfg.data.num_workers
        loader = DataLoader(
            GuardedDataset(dataset),
            batch_size=per_rank,
            sampler=sampler,
            num_workers=workers,
            collate_fn=collate_guarded,
            pin_memory=device.startswith("cuda"),
            drop_last=False,
            generator=torch.Generator().manual_seed(cfg.train.seed),
            persistent_workers=False,
        )
        val_set = build_eval_dataset(cfg, "val") if cfg.data.val and cfg.train.val_every > 0 else None

        # ---------------------------------------------------------------- model, optimiser
        model = build_model_for(cfg).to(device)
        if cfg.train.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if info.distributed and device.startswith("cuda"):
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        raw_model = model
        steps_per_epoch = len(loader)
        if cfg.train.max_steps_per_epoch is not None:
            steps_per_epoch = min(steps_per_epoch, cfg.train.max_steps_per_epoch)
        if dry:
            steps_per_epoch = min(steps_per_epoch, fast_dev_run)
        optimizer = build_optimizer(raw_model.parameters(), cfg.optim)
        multistep, warmup = build_schedulers(optimizer, cfg.optim, steps_per_epoch)
        scaler = torch.amp.GradScaler("cuda", enabled=cfg.train.amp == "fp16")
        state = _State()

        if ckpt is not None:
            from integral_pose.engine.checkpoint import restore_model

            restore_model(raw_model, ckpt, source=str(resume))
            extra = ckpt.get("extra") or {}
            sched = ckpt.get("scheduler") or {}
            if ckpt.get("optimizer") is None or "multistep" not in sched or "sampler" not in extra:
                raise ValueError(f"--resume: {resume} holds weights only (no optimiser/scheduler/sampler state)")
            optimizer.load_state_dict(ckpt["optimizer"])
            multistep.load_state_dict(sched["multistep"])
            if warmup is not None and sched.get("warmup") is not None:
                warmup.load_state_dict(sched["warmup"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            if any(k.startswith("optim.") for k in changes):
                from integral_pose.config.io import config_from_dict

                _apply_optim_changes(optimizer, multistep, config_from_dict(ckpt["config"]).optim, cfg.optim)
            state = _State(epoch=int(ckpt["epoch"]), step=int(ckpt["step"]), best=float(extra.get("best") or math.inf))
            sampler.load_state_dict(extra["sampler"])
            if ckpt.get("rng_state") is not None:
                restore_rng_state(ckpt["rng_state"])

        if info.distributed:
            ddp_kw: dict[str, Any] = {"device_ids": [torch.device(device).index]} if device.startswith("cuda") else {}
            model = torch.nn.parallel.DistributedDataParallel(raw_model, **ddp_kw)
        if cfg.train.compile:
            model = torch.compile(model)

        if write:
            paths.make()
            save_config(cfg, paths.config)
            trim_metrics(paths.metrics, state.step if ckpt is not None else 0, state.epoch)
        writer = MetricsWriter(paths.metrics, enabled=write, tensorboard_dir=paths.tb if write else None)
        if ckpt is not None and write:
            writer.log("resume", state.step, epoch=state.epoch, from_checkpoint=str(resume))
            for key, (was, now) in changes.items():
                writer.log("config_change", state.step, key=key, checkpoint=was, now=now)
                if info.is_main:
                    print(f"resume: {key} changed from {was!r} (checkpoint) to {now!r}; applied", file=sys.stderr)
        verbose = info.is_main and not quiet

        from integral_pose.skeletons import get_skeleton

        joint_names = list(get_skeleton(cfg.model.joint_set).joint_names)
        history: list[dict[str, float]] = []
        last_loss, img_s = math.nan, math.nan
        trainable = [p for p in raw_model.parameters() if p.requires_grad]
        total_epochs = 1 if dry else cfg.train.epochs
        start_epoch = state.epoch if not dry else 0
        nonfinite_run, diverging = 0, 0  # consecutive non-finite / divergent steps
        ref_norm = _weight_norm(trainable)  # global weight norm at the start of this call
        loss_level: float | None = None  # running (EMA) loss level of the non-divergent steps
        for epoch in range(start_epoch, total_epochs):
            start_in_epoch = sampler.start if ckpt is not None and epoch == start_epoch else 0
            sampler.set_epoch(epoch, start_in_epoch)
            model.train()
            progress = Progress(steps_per_epoch, f"epoch {epoch + 1}/{total_epochs}", enabled=verbose, tty=progress_tty)
            sum_loss = torch.zeros((), dtype=torch.float64)
            n_loss, n_img, bad_list = 0, 0, []
            t0 = time.perf_counter()
            for i, (batch, bad) in enumerate(loader):
                if i >= steps_per_epoch:
                    break
                bad_list.extend(bad)
                if batch is None:
                    if info.distributed:
                        raise BadImageError(f"every image of a batch failed to load on rank {info.rank}: {bad}")
                    continue
                images = batch["image"].to(device, non_blocking=True)
                if cfg.train.channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                target = batch["target"].to(device)
                weight = batch["target_weight"].to(device)
                with _autocast(device, cfg.train.amp):
                    output = model(images)
                ids = batch["index"].tolist()
                where = f"step {state.step + 1} (epoch {epoch + 1}, batch {i})"
                # the guard sees non-finite outputs before the integral op's input check would reject them
                out_finite = bool(torch.isfinite(output.detach()).all()) or cfg.train.amp == "fp16"
                if out_finite:
                    coords = outputs_to_coords(output, cfg.model)
                    loss, terms = compute_loss(coords, target, weight, output, cfg)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                    if cfg.optim.clip_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(trainable, cfg.optim.clip_grad_norm)
                    finite = bool(torch.isfinite(loss.detach())) and _grads_finite(trainable)
                else:
                    loss, terms, finite = torch.tensor(math.nan), {}, False
                if not finite and cfg.train.amp != "fp16":
                    what = "model output" if not out_finite else "loss/gradient"
                    term_text = ", ".join(f"{k}={float(v):.6g}" for k, v in terms.items())
                    detail = f"non-finite {what} at {where}: loss={float(loss.detach()):.6g} [{term_text}]"
                    if not cfg.train.skip_nonfinite:
                        raise NonFiniteLossError(f"{detail}; sample ids {ids}")
                    state.skipped += 1
                    nonfinite_run += 1
                    optimizer.zero_grad(set_to_none=True)
                    writer.log("skip", state.step, epoch=epoch + 1, loss=float(loss.detach()), sample_ids=ids)
                    if nonfinite_run >= cfg.train.max_skipped_steps:
                        raise NonFiniteLossError(
                            f"{detail}; sample ids {ids}; {nonfinite_run} non-finite steps in a row "
                            f"(train.max_skipped_steps={cfg.train.max_skipped_steps}); the last good checkpoint "
                            f"is kept{_last_good(paths, write)}"
                        )
                    progress.update(loss=float("nan"))
                    continue
                nonfinite_run = 0
                scaler.step(optimizer)
                scaler.update()
                norm = _weight_norm(trainable)
                if not math.isfinite(norm):
                    raise NonFiniteLossError(
                        f"the weights became non-finite in the update of {where} (loss={float(loss.detach()):.6g}, "
                        f"lr={optimizer.param_groups[0]['lr']:.6g}); sample ids {ids}; the last good checkpoint is "
                        f"kept{_last_good(paths, write)}"
                    )
                loss_value = float(loss.detach())
                factor = cfg.train.divergence_factor
                grown = ref_norm > 0 and norm > factor * ref_norm
                spiked = loss_level is not None and loss_value > factor * max(loss_level, 1e-12)
                if grown or spiked:
                    diverging += 1
                    why = (f"weight norm {norm:.4g} > {factor:g} x its start value {ref_norm:.4g}" if grown
                           else f"loss {loss_value:.4g} > {factor:g} x its running level {loss_level:.4g}")  # fmt: skip
                    writer.log("diverge", state.step + 1, epoch=epoch + 1, loss=loss_value, weight_norm=norm,
                               reason=why)  # fmt: skip
                    if info.is_main:
                        print(f"warning: divergence at {where}: {why}", file=sys.stderr)
                    if 0 < cfg.train.divergence_patience <= diverging:
                        raise DivergenceError(
                            f"training diverged at {where}: {why}, {diverging} steps in a row "
                            f"(train.divergence_patience={cfg.train.divergence_patience}); sample ids {ids}; the "
                            f"last good checkpoint is kept{_last_good(paths, write)}"
                        )
                else:
                    diverging = 0
                    loss_level = loss_value if loss_level is None else 0.9 * loss_level + 0.1 * loss_value
                if warmup is not None and state.step < warmup.total_iters:
                    warmup.step()
                state.step += 1
                b = int(images.shape[0]) * info.world_size
                n_img += b
                sum_loss += loss.detach().double().cpu()
                n_loss += 1
                lr = optimizer.param_groups[0]["lr"]
                rate = n_img / max(time.perf_counter() - t0, 1e-9)
                if state.step % cfg.train.log_every == 0:
                    writer.log("step", state.step, epoch=epoch + 1, loss=float(loss.detach()), lr=lr, img_s=rate,
                               **{k: float(v) for k, v in terms.items()})  # fmt: skip
                progress.update(loss=float(loss.detach()), lr=lr, img_s=rate)
            progress.close()
            elapsed = time.perf_counter() - t0
            img_s = n_img / max(elapsed, 1e-9)
            # ------------------------------------------------------------ bad images (all ranks agree)
            n_bad = torch.tensor([len(bad_list)], dtype=torch.float64)
            if info.distributed:
                torch.distributed.all_reduce(n_bad)
            state.bad += int(n_bad.item())
            if n_bad.item() > 0 and info.is_main:
                listing = ", ".join(f"#{k}" for k, _ in bad_list[:20])
                more = "" if len(bad_list) <= 20 else f" and {len(bad_list) - 20} more"
                print(f"epoch {epoch + 1}: skipped {int(n_bad.item())} unreadable image(s): {listing}{more}",
                      file=sys.stderr)  # fmt: skip
            seen = max(steps_per_epoch * cfg.train.batch_size, 1)
            if n_bad.item() / seen > cfg.train.max_bad_image_fraction:
                raise BadImageError(
                    f"epoch {epoch + 1}: {int(n_bad.item())} of ~{seen} images could not be read, more than "
                    f"train.max_bad_image_fraction={cfg.train.max_bad_image_fraction}; first: {bad_list[:3]}"
                )
            # ------------------------------------------------------------ epoch end
            loss_t = torch.stack([sum_loss, torch.tensor(float(n_loss), dtype=torch.float64)])
            if info.distributed:
                torch.distributed.all_reduce(loss_t)
            last_loss = float(loss_t[0] / max(loss_t[1].item(), 1.0))
            if not dry:
                multistep.step()
            state.epoch = epoch + 1
            record: dict[str, float] = {"epoch": epoch + 1, "loss": last_loss, "img_s": img_s,
                                        "lr": optimizer.param_groups[0]["lr"], "seconds": elapsed}  # fmt: skip
            if val_set is not None and ((epoch + 1) % cfg.train.val_every == 0 or epoch + 1 == total_epochs):
                if info.is_main:
                    from integral_pose.engine.evaluator import predict, score_3d

                    pred = predict([_unwrap(model)], val_set, cfg, device=device, flip_test=False,
                                   max_batches=1 if dry else None)  # fmt: skip
                    val = score_3d(pred, val_set, cfg)
                    record["val_mpjpe"] = val["mpjpe"]
                    record["val_pa_mpjpe"] = val["pa_mpjpe"]
                if info.distributed:
                    from integral_pose.engine.distributed import barrier

                    barrier(info)
            history.append(record)
            writer.log("epoch", state.step, **record)
            if verbose:
                extra = f" val MPJPE {record['val_mpjpe']:.1f} mm" if "val_mpjpe" in record else ""
                print(f"epoch {epoch + 1}/{total_epochs}: loss {last_loss:.4f}, {img_s:.1f} img/s,"
                      f" {elapsed:.1f} s{extra}", flush=True)  # fmt: skip
            improved = "val_mpjpe" in record and record["val_mpjpe"] < state.best
            if improved:
                state.best = record["val_mpjpe"]
            if write and diverging:
                print(f"warning: epoch {epoch + 1} ends while training is diverging; its checkpoint is not saved, "
                      "the last one saved is kept", file=sys.stderr)  # fmt: skip
            if write and not diverging:
                sampler.set_epoch(epoch + 1, 0)
                ck_kw: dict[str, Any] = {
                    "optimizer": optimizer,
                    "scheduler": {
                        "multistep": multistep.state_dict(),
                        "warmup": warmup.state_dict() if warmup is not None else None,
                    },
                    "scaler": scaler.state_dict() if scaler.is_enabled() else None,
                    "rng_state": capture_rng_state(),
                    "epoch": state.epoch,
                    "step": state.step,
                    "extra": {
                        "best": state.best if math.isfinite(state.best) else None,
                        "sampler": sampler.state_dict(),
                        "world_size": info.world_size,
                        "val_mpjpe": record.get("val_mpjpe"),
                        "loss": last_loss,
                    },
                }
                cfg_dict = config_to_dict(cfg)
                save_checkpoint(paths.last, _unwrap(model), cfg_dict, joint_names, **ck_kw)
                if state.epoch % cfg.train.checkpoint_every == 0 or state.epoch == total_epochs:
                    save_checkpoint(paths.periodic(state.epoch), _unwrap(model), cfg_dict, joint_names, **ck_kw)
                if improved:
                    save_checkpoint(paths.best, _unwrap(model), cfg_dict, joint_names, **ck_kw)
            if info.distributed:
                from integral_pose.engine.distributed import barrier

                barrier(info)
        writer.log("end", state.step, epochs=state.epoch, skipped_steps=state.skipped, bad_images=state.bad)
        writer.close()
        failed = False
        return TrainResult(
            run_dir=paths.root, epochs=state.epoch, steps=state.step, last_loss=last_loss,
            best_val_mpjpe=state.best if math.isfinite(state.best) else math.nan, images_per_s=img_s,
            wall_s=time.perf_counter() - t_start, skipped_steps=state.skipped, bad_images=state.bad, history=history,
        )  # fmt: skip
    finally:
        if lock is not None:
            lock.release()
        teardown(info, failed=failed)


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

"""The one place that maps a :class:`~integral_pose.config.schema.Config` onto constructors.

Everything below takes explicit typed arguments; this module reads the config sections and calls them
(DESIGN rule 3). Trainer, evaluator, pre-training, export, benchmarks and the demo build through it:

* **records** — :func:`load_split_records` (``data.<split>[i]`` and its box source);
* **datasets** — :func:`make_pose_dataset`, :func:`build_train_dataset`, :func:`build_eval_dataset`,
  :func:`build_test_dataset` (with the evaluation protocol's sample selection);
* **samplers** — :func:`build_sampler` (the ratio-mixing, rank-sliced :class:`MixedSampler`);
* **model** — :func:`build_model` (``model`` section → :class:`~integral_pose.models.posenet.PoseNet`, plus
  the ImageNet backbone file of ``model.pretrained``);
* **codec** — :func:`build_codec` (:class:`~integral_pose.data.codec.PoseCodec` of the run);
* **optimiser and schedules** — :func:`build_optimizer`, :func:`build_schedulers`.

Example:
    >>> from integral_pose.config.schema import ModelConfig
    >>> build_model(ModelConfig(backbone="resnet18", depth_bins=8)).arch
    'integral'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from integral_pose.config.schema import Config, DatasetSpec, ModelConfig, OptimConfig
from integral_pose.data.augment import AugmentConfig as DataAugment
from integral_pose.data.boxes import apply_box_source
from integral_pose.data.codec import PoseCodec, codec_from_config
from integral_pose.data.dataset import ConcatPoseDataset, PoseDataset
from integral_pose.data.records import PoseRecords, load_records
from integral_pose.data.sampling import MixedSampler
from integral_pose.data.sources.synthmocap_live import SynthMocapStream
from integral_pose.eval.protocols import get_protocol, select
from integral_pose.models.posenet import PoseNet, build_network
from integral_pose.models.weights import load_imagenet

__all__ = [
    "LIVE_DEFAULT_SIZE",
    "augment_config",
    "build_codec",
    "build_eval_dataset",
    "build_model",
    "build_optimizer",
    "build_sampler",
    "build_schedulers",
    "build_test_dataset",
    "build_train_dataset",
    "load_split_records",
    "make_live_dataset",
    "make_pose_dataset",
    "zero_based_milestones",
]

LIVE_DEFAULT_SIZE = 10000
"""Samples per pass of a ``synthmocap_live`` dataset without ``size``."""


# ------------------------------------------------------------------------------------------------ model, codec
def build_model(model_config: ModelConfig) -> PoseNet:
    """The network of ``model_config``, with the ImageNet backbone weights of ``pretrained`` when set.

    Args:
        model_config: a :class:`~integral_pose.config.schema.ModelConfig`.

    Returns:
        A :class:`~integral_pose.models.posenet.PoseNet` in training mode.

    Raises:
        TypeError: ``model_config`` is not a ModelConfig.
        ValueError: unknown backbone (with the list of names).
        FileNotFoundError: ``pretrained`` names a missing file.
    """
    model = build_network(model_config)
    if model_config.pretrained is not None:
        load_imagenet(model, model_config.pretrained)
    return model


def build_codec(cfg: Config) -> PoseCodec:
    """The run's :class:`~integral_pose.data.codec.PoseCodec` (patch, heat map, depth normaliser, joints)."""
    return codec_from_config(cfg)


# ------------------------------------------------------------------------------------------------ records, datasets
def augment_config(cfg: Config) -> DataAugment | None:
    """The data package's augmentation distribution for the config's ``augment`` section (None = off)."""
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


def make_pose_dataset(
    records: PoseRecords, cfg: Config, spec: DatasetSpec, augment: DataAugment | None = None
) -> PoseDataset:
    """A :class:`~integral_pose.data.dataset.PoseDataset` over ``records`` with the config's crop and targets.

    Args:
        records: the table to serve.
        cfg: the run config (patch size, 3D box, normalisation, seed).
        spec: the dataset entry of ``data.train``/``data.val``/``data.test`` (its ``depth_norm``, ``box_aspect``).
        augment: an augmentation config for training, ``None`` at test time.
    """
    return PoseDataset(
        records,
        cfg.data.patch_size,
        rect_3d_mm=cfg.data.rect_3d_mm,
        mean=cfg.data.mean,
        std=cfg.data.std,
        augment=augment,
        seed=cfg.train.seed,
        depth_mode=spec.depth_norm,
        box_aspect=spec.box_aspect,
    )


def load_split_records(cfg: Config, split: str, i: int, box_override: str | None = None,
                       check_joint_set: bool = True) -> PoseRecords:  # fmt: skip
    """Load ``data.<split>[i]`` and apply its box source.

    The box source is ``box_override`` (``ipr eval --boxes``) when given, else ``data.<split>[i].box``, else
    ``data.box_source``.

    Args:
        cfg: the run config.
        split: ``"train"``, ``"val"`` or ``"test"``.
        i: index into ``data.<split>``.
        box_override: a box source that wins over the config.
        check_joint_set: require the records' joint set to equal ``model.joint_set``.
    """
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


def make_live_dataset(cfg: Config, spec: DatasetSpec, augment: DataAugment | None) -> SynthMocapStream:
    """The on-the-fly SynthMocap stream for a ``synthmocap_live`` entry of ``data.train``."""
    return SynthMocapStream(
        cfg.data.patch_size,
        spec.size or LIVE_DEFAULT_SIZE,
        seed=cfg.train.seed,
        augment=augment,
        mean=cfg.data.mean,
        std=cfg.data.std,
        rect_3d_mm=cfg.data.rect_3d_mm,
    )


def _load_split(cfg: Config, specs: Sequence[DatasetSpec], augment: DataAugment | None, split: str) -> list:
    if not specs:
        raise ValueError(f"data.{split}: expected at least one dataset, got none")
    parts: list = []
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


def build_train_dataset(cfg: Config) -> tuple[ConcatPoseDataset, list[int], list[float], int]:
    """The training dataset (all ``data.train`` parts concatenated) and its mixing plan.

    Returns:
        ``(dataset, sizes, ratios, epoch_length)``.
    """
    parts = _load_split(cfg, cfg.data.train, augment_config(cfg), "train")
    sizes = [len(p) for p in parts]
    ratios = [float(s.ratio) for s in cfg.data.train]
    length = cfg.data.epoch_length.num_samples_for(sizes, ratios)
    return ConcatPoseDataset(parts), sizes, ratios, int(length)


def build_eval_dataset(cfg: Config, split: str = "test") -> ConcatPoseDataset:
    """The test-time dataset (no augmentation) of ``data.val`` or ``data.test`` (parts concatenated)."""
    specs = cfg.data.val if split == "val" else cfg.data.test
    return ConcatPoseDataset(_load_split(cfg, specs, None, split))


def build_test_dataset(cfg: Config, split: str = "test", protocol: str | None = None, boxes: str | None = None,
                       max_samples: int | None = None) -> ConcatPoseDataset:  # fmt: skip
    """The test-time dataset of ``data.test`` (or ``data.val``) restricted to the protocol's samples.

    Args:
        cfg: the run config.
        split: ``"test"`` or ``"val"``.
        protocol: protocol name (default ``cfg.eval.protocol``); Human3.6M protocols keep their subjects and
            every 64th frame.
        boxes: overrides the config's box source (``data.<split>[i].box``, else ``data.box_source``): ``"gt"``
            (the records' boxes), ``"tight"`` (around the visible joints ×1.25) or a ``.npy``/``.json`` file of
            (N, 4) xywh boxes in record order (single test dataset only). ``None`` = the config's.
        max_samples: keep at most this many samples per dataset (evenly spaced).
    """
    specs = cfg.data.test if split == "test" else cfg.data.val
    split = "test" if split == "test" else "val"
    if not specs:
        raise ValueError(f"data.{split}: no dataset configured to evaluate on")
    if boxes not in (None, "gt", "tight") and len(specs) > 1:
        raise ValueError("--boxes FILE: supported with a single test dataset only")
    proto = get_protocol(protocol or cfg.eval.protocol)
    parts = []
    for i, spec in enumerate(specs):
        rec = load_split_records(cfg, split, i, box_override=boxes, check_joint_set=False)
        if proto.dataset == spec.kind:
            keep = select(proto, rec.subject, rec.frame)
            if keep.size == 0:
                raise ValueError(
                    f"protocol {proto.name}: no sample of {spec.records} matches (subjects {proto.subjects})"
                )
            rec = rec.subset(keep)
        if max_samples is not None and len(rec) > max_samples:
            rec = rec.subset(np.linspace(0, len(rec) - 1, max_samples).round().astype(np.int64))
        parts.append(make_pose_dataset(rec, cfg, spec))
    return ConcatPoseDataset(parts)


def build_sampler(cfg: Config, sizes: Sequence[int], ratios: Sequence[float], epoch_length: int,
                  world_size: int = 1, rank: int = 0) -> MixedSampler:  # fmt: skip
    """The training sampler: ``ratios``-mixed, shuffled with ``train.seed``, this rank's slice of each epoch."""
    return MixedSampler(
        list(sizes), list(ratios), num_samples=epoch_length, shuffle=True, seed=cfg.train.seed,
        world_size=world_size, rank=rank,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------------ optimisation
def build_optimizer(params: Iterable[torch.nn.Parameter], optim_cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam (default betas, the original's choice) or SGD with momentum, from ``optim``."""
    if optim_cfg.name == "adam":
        return torch.optim.Adam(params, lr=optim_cfg.lr, betas=optim_cfg.betas, weight_decay=optim_cfg.weight_decay)
    return torch.optim.SGD(params, lr=optim_cfg.lr, momentum=optim_cfg.momentum, weight_decay=optim_cfg.weight_decay)


def zero_based_milestones(milestones: Iterable[int]) -> list[int]:
    """``optim.milestones`` (1-based: the first epoch run at the decayed rate) as ``MultiStepLR`` counts them.

    ``MultiStepLR`` decays when its count of finished epochs reaches a milestone, so 1-based epoch ``m`` is
    ``m − 1`` finished epochs.
    """
    return sorted(int(m) - 1 for m in milestones)


def build_schedulers(
    optimizer: torch.optim.Optimizer, optim_cfg: OptimConfig, steps_per_epoch: int
) -> tuple[torch.optim.lr_scheduler.MultiStepLR, torch.optim.lr_scheduler.LinearLR | None]:
    """``(multistep, warmup)``: the per-epoch decay and the optional per-step linear warm-up.

    ``optim.milestones`` are 1-based epochs (the epoch that first runs at the decayed rate); see
    :func:`zero_based_milestones`.
    """
    multistep = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=zero_based_milestones(optim_cfg.milestones), gamma=optim_cfg.factor
    )
    warm = optim_cfg.warmup_steps or optim_cfg.warmup_epochs * steps_per_epoch
    warmup = None
    if warm > 0:
        warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warm, end_factor=1.0, total_iters=warm)
    return multistep, warmup

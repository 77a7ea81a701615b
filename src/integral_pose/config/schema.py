"""The run configuration: frozen dataclasses, validated when constructed.

Every section is a frozen dataclass with typed fields and defaults taken from the original system's recipes
(``model`` = a ResNet-50 integral model with 64 depth bins, ``data`` = 256×256 patches with ImageNet mean/std in
RGB ×255, ``augment`` = the original's scale/rotation/flip/colour ranges, …). Constructing any section checks the
types of its fields (lists become tuples, ints are accepted for floats) and its value ranges; constructing
:class:`Config` also runs the cross-section checks. Errors are :class:`ConfigError` (a ``ValueError``) or
:class:`ConfigTypeError` (also a ``TypeError``) whose message starts with the dotted key path, e.g.
``data.train[0].ratio: expected a number > 0, got -1.0``.

Nested sections may be given as mappings, so plain constructors work without any YAML:

Example:
    >>> from integral_pose.config.schema import Config, ModelConfig
    >>> cfg = Config(model=ModelConfig(backbone="resnet18", depth_bins=16),
    ...              data={"patch_width": 64, "patch_height": 64})
    >>> cfg.heatmap_size  # (H, W) of the heat map for a 64×64 patch
    (16, 16)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from integral_pose.config.validation import ConfigError, ConfigTypeError, build_section, suggest
from integral_pose.config.validation import Section as _Section
from integral_pose.config.validation import check_positive as _positive
from integral_pose.config.validation import check_probability as _probability
from integral_pose.conventions import DEFAULT_PATCH_SIZE, DEFAULT_RECT_3D_MM
from integral_pose.skeletons import SKELETONS

__all__ = [
    "BACKBONES",
    "DATASET_KINDS",
    "EVAL_PROTOCOLS",
    "AugmentConfig",
    "Config",
    "ConfigError",
    "ConfigTypeError",
    "DataConfig",
    "DatasetSpec",
    "EpochLengthConfig",
    "EvalConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "build_section",
    "check_world_size",
    "suggest",
]

BACKBONES: tuple[str, ...] = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
"""Backbone names accepted by ``model.backbone``."""

DATASET_KINDS: tuple[str, ...] = ("synthmocap", "h36m", "mpii", "coco", "h36m_challenge", "synthmocap_live")
"""Dataset kinds accepted by ``data.*[i].kind``."""

EVAL_PROTOCOLS: tuple[str, ...] = ("h36m_p1", "h36m_p2", "mpii_pckh", "coco_ap", "synthmocap")
"""Evaluation protocols accepted by ``eval.protocol``."""

_BACKBONE_STRIDE = 32


# ----------------------------------------------------------------------------------------------------------------
# sections
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig(_Section):
    """The network (DESIGN §1): ResNet backbone + deconvolution head (``integral``) or pooled linear (``direct``).

    Attributes:
        arch: ``"integral"`` (heat-map volume + soft-argmax), ``"direct"`` (global pool → linear to J·3) or
            ``"heatmap"`` (the detection-based baseline: the integral network trained on Gaussian target maps,
            decoded by argmax; ``loss.heatmap_sigma``).
        backbone: one of :data:`BACKBONES`.
        backbone_width: channel multiplier of every backbone stage (1 = the paper's network; 0.25 = the
            CPU-sized demo backbone); parameter names stay those of the ×1 network.
        pretrained: local ImageNet state-dict file (``.pth``/``.pt``/``.safetensors``) for the backbone,
            ``imagenet`` (torchvision's published file for ``backbone``, fetched once into the torch hub cache with
            its sha256 checked; full-width backbones only), or null.
        num_joints: J; must equal the size of ``joint_set``.
        joint_set: skeleton name from :mod:`integral_pose.skeletons` (``"h36m18"``).
        depth_bins: D, depth bins of the heat-map volume (the original used the heat-map width, 64 or 72).
        deconv_layers: N transposed convolutions, each doubling the resolution; heat map = patch / 2^(5−N).
        deconv_filters: channels F of each deconvolution.
        deconv_kernel: 4 (padding 1), 3 (padding 1, output padding 1) or 2 (padding 0), all exact ×2 upsampling.
        final_conv_kernel: 1 or 3 (same padding).
        output_3d: J·D output channels (3D volume) when true, J (2D heat maps) when false.
        in_channels: image channels (3).
    """

    arch: Literal["integral", "direct", "heatmap"] = "integral"
    backbone: str = "resnet50"
    backbone_width: float = 1.0
    pretrained: str | None = None
    num_joints: int = 18
    joint_set: str = "h36m18"
    depth_bins: int = 64
    deconv_layers: int = 3
    deconv_filters: int = 256
    deconv_kernel: int = 4
    final_conv_kernel: int = 1
    output_3d: bool = True
    in_channels: int = 3

    def _check(self) -> None:
        if self.backbone not in BACKBONES:
            raise ConfigError(
                "backbone",
                f"unknown backbone {self.backbone!r}{suggest(self.backbone, BACKBONES)}; "
                f"expected one of {list(BACKBONES)}",
            )
        if self.joint_set not in SKELETONS:
            names = list(SKELETONS)
            raise ConfigError(
                "joint_set",
                f"unknown joint set {self.joint_set!r}{suggest(self.joint_set, names)}; expected one of {names}",
            )
        expected_j = SKELETONS[self.joint_set].num_joints
        if self.num_joints != expected_j:
            raise ConfigError(
                "num_joints", f"joint_set {self.joint_set!r} has {expected_j} joints, got num_joints={self.num_joints}"
            )
        if not 0.0 < self.backbone_width <= 4.0:
            raise ConfigError("backbone_width", f"expected a multiplier in (0, 4], got {self.backbone_width}")
        if self.depth_bins < 2:
            raise ConfigError("depth_bins", f"expected an int >= 2, got {self.depth_bins}")
        if not 1 <= self.deconv_layers <= 5:
            raise ConfigError("deconv_layers", f"expected an int in [1, 5], got {self.deconv_layers}")
        if self.deconv_filters < 1:
            raise ConfigError("deconv_filters", f"expected an int >= 1, got {self.deconv_filters}")
        if self.deconv_kernel not in (2, 3, 4):
            raise ConfigError("deconv_kernel", f"expected one of [2, 3, 4], got {self.deconv_kernel}")
        if self.final_conv_kernel not in (1, 3):
            raise ConfigError("final_conv_kernel", f"expected one of [1, 3], got {self.final_conv_kernel}")
        if self.in_channels < 1:
            raise ConfigError("in_channels", f"expected an int >= 1, got {self.in_channels}")
        if self.pretrained is not None and not self.pretrained.strip():
            raise ConfigError("pretrained", "expected a file path or null, got an empty string")
        if self.pretrained == "imagenet" and self.backbone_width != 1.0:
            raise ConfigError("pretrained", f"'imagenet' files are full-width ResNets; model.backbone_width is "
                              f"{self.backbone_width:g} (use 1, or a local file or null)")  # fmt: skip

    @property
    def heatmap_stride(self) -> int:
        """Patch pixels per heat-map cell: 32 / 2^deconv_layers (4 for the default 3 layers)."""
        return _BACKBONE_STRIDE // (2**self.deconv_layers)

    @property
    def out_channels(self) -> int:
        """Channels of the model output: J·D (integral/heatmap 3D), J (integral/heatmap 2D) or J·3 (direct)."""
        if self.arch == "direct":
            return self.num_joints * 3
        return self.num_joints * self.depth_bins if self.output_3d else self.num_joints


@dataclass(frozen=True)
class DatasetSpec(_Section):
    """One dataset of a split.

    Attributes:
        kind: one of :data:`DATASET_KINDS` (decides the reader and the joint mapping). ``synthmocap_live`` renders
            SynthMocap training samples on the fly in the loader workers (training only; no records file).
        records: path of the canonical ``.npz`` records file (``data.records``); null only for ``synthmocap_live``.
        size: ``synthmocap_live`` only: samples per pass (every (index, epoch) is a new scene; default 10000).
        ratio: relative share of this dataset in a training epoch (the original mixed 1:1 or 1:1:1).
        box: box source for this dataset, overriding ``data.box_source`` (``gt``, ``tight`` or a file path).
        depth_norm: ``"rect3d"`` (z / (rect_3d_mm·s), the integral project) or ``"box"`` (z / (box width·s),
            the challenge project's ``depth_in_image``).
        box_aspect: ``"extend"`` (grow the box to the patch aspect ratio before cropping) or ``"keep"`` (map the
            box's own w and h onto the patch, as the original's Human3.6M path does with the projected 2000 mm
            square: for ``kind: h36m`` with ``box: gt``).
    """

    kind: Literal["synthmocap", "h36m", "mpii", "coco", "h36m_challenge", "synthmocap_live"]
    records: str | None = None
    ratio: float = 1.0
    box: str | None = None
    depth_norm: Literal["rect3d", "box"] = "rect3d"
    size: int | None = None
    box_aspect: Literal["extend", "keep"] = "extend"

    def _check(self) -> None:
        if self.kind == "synthmocap_live":
            if self.records is not None:
                raise ConfigError("records", "kind 'synthmocap_live' renders its samples; set records to null")
            if self.size is not None and self.size < 1:
                raise ConfigError("size", f"expected an int >= 1, got {self.size}")
            if self.depth_norm != "rect3d":
                raise ConfigError("depth_norm", "kind 'synthmocap_live' supports only 'rect3d'")
        else:
            if self.records is None or not self.records.strip():
                raise ConfigError(
                    "records", f"kind {self.kind!r} needs a path to a records .npz file, got {self.records!r}"
                )
            if self.size is not None:
                raise ConfigError(
                    "size", f"only used with kind 'synthmocap_live' (kind is {self.kind!r}); set it to null"
                )
        _positive("ratio", self.ratio)
        if self.box is not None and not self.box.strip():
            raise ConfigError("box", "expected 'gt', 'tight', a file path or null, got an empty string")


@dataclass(frozen=True)
class EpochLengthConfig(_Section):
    """How many samples make one training epoch.

    Attributes:
        rule: ``"first_dataset_multiple"``: ``k`` × len(first training dataset), where ``k`` null means
            sum(ratios) / ratio of the first dataset (so the first dataset is seen once per epoch — the
            original's 2·N_mpii for 1:1 and 3·N_mpii for 1:1:1); ``"fixed"``: exactly ``num_samples``.
        k: multiple for ``first_dataset_multiple`` (null = derived from the ratios as above).
        num_samples: sample count for ``fixed``.
    """

    rule: Literal["first_dataset_multiple", "fixed"] = "first_dataset_multiple"
    k: float | None = None
    num_samples: int | None = None

    def _check(self) -> None:
        if self.k is not None:
            _positive("k", self.k)
        if self.rule == "fixed":
            if self.num_samples is None or self.num_samples < 1:
                raise ConfigError("num_samples", f"rule 'fixed' needs an int >= 1, got {self.num_samples!r}")
        elif self.num_samples is not None:
            raise ConfigError("num_samples", f"only used with rule 'fixed' (rule is {self.rule!r}); set it to null")

    def num_samples_for(self, dataset_sizes: Sequence[int], ratios: Sequence[float]) -> int:
        """Samples per epoch for training datasets of ``dataset_sizes`` mixed with ``ratios``."""
        if self.rule == "fixed":
            assert self.num_samples is not None
            return self.num_samples
        if not dataset_sizes:
            raise ValueError("epoch_length: no training datasets to take the first dataset's size from")
        k = self.k if self.k is not None else sum(ratios) / ratios[0]
        return max(1, round(k * dataset_sizes[0]))


@dataclass(frozen=True)
class DataConfig(_Section):
    """Datasets, the crop and input normalisation.

    Attributes:
        patch_width: crop width W_p in pixels (multiple of 32).
        patch_height: crop height H_p in pixels (multiple of 32).
        rect_3d_mm: side of the 3D box (mm) that normalises root-relative depth
            (:data:`~integral_pose.conventions.DEFAULT_RECT_3D_MM`).
        mean: per-channel mean subtracted from RGB pixels in 0..255 (ImageNet ×255, RGB order).
        std: per-channel std dividing them.
        train: training datasets with their mixing ratios.
        epoch_length: samples per training epoch.
        val: validation datasets (evaluated during training).
        test: test datasets (``ipr eval``).
        box_source: default person box: ``gt`` (the dataset's own box), ``tight`` (tight box around the visible
            joints ×1.25) or a path to a box file.
        num_workers: data-loader worker processes.
    """

    patch_width: int = DEFAULT_PATCH_SIZE[0]
    patch_height: int = DEFAULT_PATCH_SIZE[1]
    rect_3d_mm: float = DEFAULT_RECT_3D_MM
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    train: tuple[DatasetSpec, ...] = ()
    epoch_length: EpochLengthConfig = field(default_factory=EpochLengthConfig)
    val: tuple[DatasetSpec, ...] = ()
    test: tuple[DatasetSpec, ...] = ()
    box_source: str = "gt"
    num_workers: int = 4

    def _check(self) -> None:
        for name in ("patch_width", "patch_height"):
            value = getattr(self, name)
            if value < _BACKBONE_STRIDE or value % _BACKBONE_STRIDE:
                raise ConfigError(
                    name, f"expected a multiple of {_BACKBONE_STRIDE} (the backbone stride), >= 32, got {value}"
                )
        _positive("rect_3d_mm", self.rect_3d_mm)
        for i, s in enumerate(self.std):
            _positive(f"std[{i}]", s)
        if not self.box_source.strip():
            raise ConfigError("box_source", "expected 'gt', 'tight' or a file path, got an empty string")
        if self.num_workers < 0:
            raise ConfigError("num_workers", f"expected an int >= 0, got {self.num_workers}")

    @property
    def patch_size(self) -> tuple[int, int]:
        """(patch_w, patch_h) px."""
        return (self.patch_width, self.patch_height)

    def box_for(self, spec: DatasetSpec) -> str:
        """The box source of ``spec``: its own ``box`` or else ``box_source``."""
        return spec.box if spec.box is not None else self.box_source


@dataclass(frozen=True)
class AugmentConfig(_Section):
    """Training augmentation, the original's ``do_augmentation`` (values are its defaults).

    Attributes:
        enabled: off = no augmentation at all (s = 1, rotation 0, no flip, no colour).
        scale_factor: s = 1 + clip(N(0,1), −1, 1)·scale_factor.
        rot_factor: rotation = clip(N(0,1), −2, 2)·rot_factor degrees, applied with probability ``rot_prob``.
        rot_prob: probability of rotating.
        flip_prob: probability of a horizontal flip (0 disables flipping).
        color_factor: per-channel colour gain drawn from U(1 − color_factor, 1 + color_factor).
    """

    enabled: bool = True
    scale_factor: float = 0.25
    rot_factor: float = 30.0
    rot_prob: float = 0.6
    flip_prob: float = 0.5
    color_factor: float = 0.2

    def _check(self) -> None:
        if not 0.0 <= self.scale_factor < 1.0:
            raise ConfigError("scale_factor", f"expected a number in [0, 1), got {self.scale_factor}")
        _positive("rot_factor", self.rot_factor, allow_zero=True)
        _probability("rot_prob", self.rot_prob)
        _probability("flip_prob", self.flip_prob)
        if not 0.0 <= self.color_factor < 1.0:
            raise ConfigError("color_factor", f"expected a number in [0, 1), got {self.color_factor}")


@dataclass(frozen=True)
class LossConfig(_Section):
    """The coordinate loss (:mod:`integral_pose.losses`); the heat-map MSE for ``model.arch: heatmap``.

    For ``model.arch: heatmap`` the trained loss is :func:`integral_pose.losses.heatmap_mse_loss`
    (``heatmap_sigma``, ``normalisation``); the coordinate loss of the argmax-decoded joints (``type``) is only
    logged, as the ``coord`` term.

    Attributes:
        type: ``l1`` (the original's) or ``l2`` on normalised coordinates, weighted per coordinate.
        normalisation: ``batch`` = sum over joints×xyz / batch size (original); ``valid_mean`` = mean over entries
            with non-zero weight.
        heatmap_reg: weight of the Jensen-Shannon heat-map regulariser (0 = off).
        heatmap_reg_sigma: std of its target Gaussian in heat-map cells.
        heatmap_sigma: std in heat-map cells of the Gaussian target maps of ``model.arch: heatmap`` (isotropic in
            x, y and depth cells; 1.0 suits 16-cell maps, SimpleBaseline uses 2.0 for 64×48 maps).
    """

    type: Literal["l1", "l2"] = "l1"
    normalisation: Literal["batch", "valid_mean"] = "batch"
    heatmap_reg: float = 0.0
    heatmap_reg_sigma: float = 1.0
    heatmap_sigma: float = 1.0

    def _check(self) -> None:
        _positive("heatmap_reg", self.heatmap_reg, allow_zero=True)
        _positive("heatmap_reg_sigma", self.heatmap_reg_sigma)
        _positive("heatmap_sigma", self.heatmap_sigma)


@dataclass(frozen=True)
class OptimConfig(_Section):
    """Optimiser and learning-rate schedule (step decay at epoch milestones, optional linear warm-up).

    Attributes:
        name: ``adam`` (original: default betas, no weight decay) or ``sgd``.
        lr: base learning rate.
        momentum: SGD momentum.
        betas: Adam betas.
        weight_decay: L2 weight decay.
        milestones: epochs (1-based, strictly increasing) at which lr is multiplied by ``factor``.
        factor: decay factor at each milestone.
        warmup_epochs: linear warm-up length in epochs (0 = none); exclusive with ``warmup_steps``.
        warmup_steps: linear warm-up length in optimiser steps (0 = none).
        clip_grad_norm: max global gradient norm, or null for no clipping.
    """

    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    milestones: tuple[int, ...] = (270, 290)
    factor: float = 0.1
    warmup_epochs: int = 0
    warmup_steps: int = 0
    clip_grad_norm: float | None = None

    def _check(self) -> None:
        _positive("lr", self.lr)
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError("momentum", f"expected a number in [0, 1), got {self.momentum}")
        for i, b in enumerate(self.betas):
            if not 0.0 <= b < 1.0:
                raise ConfigError(f"betas[{i}]", f"expected a number in [0, 1), got {b}")
        _positive("weight_decay", self.weight_decay, allow_zero=True)
        for i, m in enumerate(self.milestones):
            if m < 1:
                raise ConfigError(f"milestones[{i}]", f"expected an epoch >= 1, got {m}")
            if i and m <= self.milestones[i - 1]:
                raise ConfigError("milestones", f"expected strictly increasing epochs, got {list(self.milestones)}")
        if not 0.0 < self.factor <= 1.0:
            raise ConfigError("factor", f"expected a number in (0, 1], got {self.factor}")
        if self.warmup_epochs < 0:
            raise ConfigError("warmup_epochs", f"expected an int >= 0, got {self.warmup_epochs}")
        if self.warmup_steps < 0:
            raise ConfigError("warmup_steps", f"expected an int >= 0, got {self.warmup_steps}")
        if self.warmup_epochs and self.warmup_steps:
            raise ConfigError(
                "warmup_steps",
                f"use warmup_epochs or warmup_steps, not both (got {self.warmup_epochs} and {self.warmup_steps})",
            )
        if self.clip_grad_norm is not None:
            _positive("clip_grad_norm", self.clip_grad_norm)


@dataclass(frozen=True)
class TrainConfig(_Section):
    """The training loop.

    Attributes:
        epochs: number of epochs.
        batch_size: GLOBAL batch size (split evenly over processes; must divide by the world size).
        seed: base random seed.
        amp: mixed precision: ``off``, ``bf16`` or ``fp16`` (with a gradient scaler).
        compile: wrap the model in ``torch.compile``.
        channels_last: use the channels-last memory format.
        checkpoint_every: save a checkpoint every this many epochs (the last epoch is always saved).
        val_every: validate every this many epochs (0 = never during training).
        skip_nonfinite: skip an optimiser step whose outputs, loss or gradients are not finite (counted and
            logged); the run stops (exit 1) after ``max_skipped_steps`` such steps in a row.
        max_skipped_steps: consecutive non-finite steps tolerated before the run stops.
        divergence_factor: a step is divergent when its loss exceeds this multiple of the running loss level, or
            the global weight norm exceeds this multiple of its value at the start of the run; it is warned about.
        divergence_patience: consecutive divergent steps after which the run stops (0 = warn only).
        max_bad_image_fraction: abort when more than this fraction of images of an epoch cannot be read.
        log_every: log every this many steps.
        max_steps_per_epoch: cap on optimiser steps per epoch (null = the whole epoch); for quick runs.
        out_dir: run folder (checkpoints, logs, resolved config).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """

    epochs: int = 300
    batch_size: int = 128
    seed: int = 0
    amp: Literal["off", "bf16", "fp16"] = "off"
    compile: bool = False
    channels_last: bool = False
    checkpoint_every: int = 1
    val_every: int = 1
    skip_nonfinite: bool = True
    max_skipped_steps: int = 10
    divergence_factor: float = 100.0
    divergence_patience: int = 5
    max_bad_image_fraction: float = 0.01
    log_every: int = 50
    max_steps_per_epoch: int | None = None
    out_dir: str = "runs/default"
    device: str = "auto"

    def _check(self) -> None:
        for name in ("epochs", "batch_size", "checkpoint_every", "log_every", "max_skipped_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"expected an int >= 1, got {getattr(self, name)}")
        if self.divergence_patience < 0:
            raise ConfigError("divergence_patience", f"expected an int >= 0, got {self.divergence_patience}")
        if not self.divergence_factor > 1.0:
            raise ConfigError("divergence_factor", f"expected a number > 1, got {self.divergence_factor}")
        if self.val_every < 0:
            raise ConfigError("val_every", f"expected an int >= 0, got {self.val_every}")
        if self.seed < 0:
            raise ConfigError("seed", f"expected an int >= 0, got {self.seed}")
        _probability("max_bad_image_fraction", self.max_bad_image_fraction)
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ConfigError("max_steps_per_epoch", f"expected an int >= 1 or null, got {self.max_steps_per_epoch}")
        if not self.out_dir.strip():
            raise ConfigError("out_dir", "expected a folder path, got an empty string")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError("device", f"expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")


@dataclass(frozen=True)
class EvalConfig(_Section):
    """Evaluation.

    Attributes:
        protocol: one of :data:`EVAL_PROTOCOLS` (``h36m_p1`` = PA-MPJPE on S11, ``h36m_p2`` = MPJPE on S9+S11, …).
        flip_test: average the prediction with the mirrored image's (decoded-space average, as the original).
        root_depth: ``gt`` (ground-truth root depth, the original's evaluation) or ``solve`` (from intrinsics).
        bone_length_rescale: rescale root-centred predictions to this total bone length in mm (the challenge's
            4502.881), or null.
        batch_size: evaluation batch size.
    """

    protocol: Literal["h36m_p1", "h36m_p2", "mpii_pckh", "coco_ap", "synthmocap"] = "h36m_p1"
    flip_test: bool = True
    root_depth: Literal["gt", "solve"] = "gt"
    bone_length_rescale: float | None = None
    batch_size: int = 32

    def _check(self) -> None:
        if self.bone_length_rescale is not None:
            _positive("bone_length_rescale", self.bone_length_rescale)
        if self.batch_size < 1:
            raise ConfigError("batch_size", f"expected an int >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class Config(_Section):
    """The whole run configuration (sections as attributes); runs the cross-section checks.

    Attributes:
        name: free-text run name (defaults to the recipe file name when loaded from YAML).
    """

    name: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    SECTIONS: ClassVar[tuple[str, ...]] = ("model", "data", "augment", "loss", "optim", "train", "eval")

    def _check(self) -> None:
        m, d = self.model, self.data
        if len(d.mean) != m.in_channels or len(d.std) != m.in_channels:
            raise ConfigError("data.mean", f"expected {m.in_channels} values (model.in_channels), got {len(d.mean)}")
        if m.arch in ("integral", "heatmap"):
            h, w = self.heatmap_size
            if h < 2 or w < 2:
                raise ConfigError(
                    "data.patch_width",
                    f"patch {d.patch_width}×{d.patch_height} gives a {w}×{h} heat map with model.deconv_layers="
                    f"{m.deconv_layers}; need at least 2×2",
                )
        if m.arch != "integral" and self.loss.heatmap_reg > 0:
            raise ConfigError(
                "loss.heatmap_reg",
                f"the soft-argmax regulariser applies to model.arch 'integral' only, not {m.arch!r}; set it to 0 "
                f"(got {self.loss.heatmap_reg})",
            )
        if self.eval.protocol in ("h36m_p1", "h36m_p2", "synthmocap") and not m.output_3d and m.arch != "direct":
            raise ConfigError(
                "eval.protocol", f"protocol {self.eval.protocol!r} measures 3D error but model.output_3d is false"
            )
        if self.eval.root_depth == "solve" and not m.output_3d:
            raise ConfigError("eval.root_depth", "'solve' needs a 3D model (model.output_3d: true)")

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(H, W) of the heat map: the patch size divided by ``model.heatmap_stride``."""
        stride = self.model.heatmap_stride
        return self.data.patch_height // stride, self.data.patch_width // stride


def check_world_size(config: Config, world_size: int) -> int:
    """Check that ``train.batch_size`` splits evenly over ``world_size`` processes; return the per-process batch.

    Raises:
        ConfigError: the global batch does not divide by the world size.
    """
    if world_size < 1:
        raise ValueError(f"world_size: expected an int >= 1, got {world_size}")
    if config.train.batch_size % world_size:
        raise ConfigError(
            "train.batch_size",
            f"global batch {config.train.batch_size} is not divisible by the world size {world_size}",
        )
    return config.train.batch_size // world_size

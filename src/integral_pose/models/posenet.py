"""The pose network: ``PoseNet(backbone, head)`` returning logits, and the helpers that turn logits into coordinates.

The model returns raw predictions only (DESIGN rule 4): heat-map logits ``(B, J·D, H, W)`` for the integral
architecture (channel c = j·D + d, joint-major), ``(B, J, H, W)`` for 2D heat maps, or ``(B, J·3)`` for direct
regression. The heat-map baseline (``arch="heatmap"``, the paper's detection-based model) has the integral
network and output shapes, but is trained on Gaussian target maps and decoded by argmax
(:mod:`integral_pose.geometry.heatmap`). :func:`predict_coords` (or :meth:`PoseNet.decode`) maps any of them
to normalised coordinates ``(B, J, 3)`` in ``[-0.5, 0.5)`` (x, y over the patch; z = root-relative depth over
the 3D box), the label space of the loss; the soft-argmax is :func:`integral_pose.geometry.integral.soft_argmax_3d`.

Example:
    >>> import torch
    >>> from integral_pose.config.schema import ModelConfig
    >>> net = build_network(ModelConfig(backbone="resnet18", depth_bins=8)).eval()
    >>> logits = net(torch.zeros(1, 3, 64, 64))
    >>> logits.shape, net.decode(logits).shape
    (torch.Size([1, 144, 16, 16]), torch.Size([1, 18, 3]))
"""

from __future__ import annotations

import torch
from torch import nn

from integral_pose.config.schema import ModelConfig
from integral_pose.geometry.heatmap import argmax_decode_2d, argmax_decode_3d
from integral_pose.geometry.integral import logits_to_volume, soft_argmax_2d, soft_argmax_3d
from integral_pose.models.heads import DeconvHead, DirectHead
from integral_pose.models.resnet import RESNETS, ResNet

__all__ = ["ARCHS", "PoseNet", "build_network", "logits_to_volume", "predict_coords"]

ARCHS: tuple[str, ...] = ("integral", "direct", "heatmap")
"""Model families: soft-argmax of heat maps, direct regression of J·3 numbers, argmax of heat maps."""


class PoseNet(nn.Module):
    """Backbone + head.

    Args:
        backbone: a :class:`~integral_pose.models.resnet.ResNet` (anything with ``forward_features`` and
            ``out_channels``).
        head: :class:`DeconvHead` or :class:`DirectHead`.
        num_joints: J.
        depth_bins: D (ignored by direct regression and 2D heads; kept for decoding).
        output_3d: whether the head predicts depth (J·D channels) or 2D heat maps (J channels).
        arch: one of :data:`ARCHS`; ``None`` infers it from the head (``"direct"`` for a :class:`DirectHead`,
            else ``"integral"``). ``"heatmap"`` needs a heat-map head (same output as ``"integral"``).

    Attributes:
        arch: ``"integral"``, ``"direct"`` or ``"heatmap"``; selects the decoding of :meth:`decode`.

    Raises:
        ValueError: unknown ``arch``, an ``arch`` that does not fit the head type, or a head whose output
            channels do not match J, D and ``output_3d``.
    """

    def __init__(
        self,
        backbone: ResNet,
        head: nn.Module,
        num_joints: int,
        depth_bins: int = 64,
        output_3d: bool = True,
        arch: str | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_joints = int(num_joints)
        self.depth_bins = int(depth_bins)
        self.output_3d = bool(output_3d)
        direct_head = isinstance(head, DirectHead)
        if arch is None:
            arch = "direct" if direct_head else "integral"
        if arch not in ARCHS:
            raise ValueError(f"arch: expected one of {list(ARCHS)} or None, got {arch!r}")
        if (arch == "direct") != direct_head:
            raise ValueError(
                f"arch: {arch!r} does not fit a {type(head).__name__} (direct regression needs a DirectHead, "
                "'integral' and 'heatmap' a heat-map head)"
            )
        self.arch = arch
        if arch == "direct":
            expected = num_joints * 3
        else:
            expected = num_joints * depth_bins if output_3d else num_joints
        got = getattr(head, "out_channels", expected)
        if got != expected:
            raise ValueError(
                f"head.out_channels: expected {expected} for J={num_joints}, D={depth_bins}, arch {self.arch!r}, "
                f"output_3d={output_3d}; got {got}"
            )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H_p, W_p) normalised images → logits (see module docstring for the shapes)."""
        return self.head(self.backbone.forward_features(images))

    def decode(self, logits: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
        """Model output → normalised coordinates (B, J, 3); see :func:`predict_coords`."""
        return predict_coords(
            logits,
            num_joints=self.num_joints,
            depth_bins=self.depth_bins,
            arch=self.arch,
            output_3d=self.output_3d,
            beta=beta,
        )


def predict_coords(
    model_output: torch.Tensor,
    *,
    num_joints: int,
    depth_bins: int,
    arch: str = "integral",
    output_3d: bool = True,
    beta: float = 1.0,
) -> torch.Tensor:
    """Normalised joint coordinates (B, J, 3) from the model output.

    * integral, 3D: soft-argmax over each joint's D×H×W volume; x = E[w]/W − 0.5, y = E[h]/H − 0.5,
      z = E[d]/D − 0.5 (bin i has coordinate i).
    * integral, 2D: soft-argmax over H×W; z = 0.
    * heatmap: argmax of each joint's D×H×W volume (2D: H×W map, z = 0) with the quarter-cell shift towards the
      higher neighbour (:func:`integral_pose.geometry.heatmap.argmax_decode_3d`), normalised as above; no
      gradient.
    * direct: the (B, J·3) output reshaped (ordered x0, y0, z0, x1, …).

    Args:
        model_output: logits from :class:`PoseNet`.
        num_joints: J.
        depth_bins: D (integral and heatmap 3D only).
        arch: ``"integral"``, ``"direct"`` or ``"heatmap"``.
        output_3d: whether heat-map logits hold J·D channels (3D) or J (2D).
        beta: softmax inverse temperature (integral only).

    Returns:
        (B, J, 3) float32 (float64 for float64 input) in ``[-0.5, 0.5)``.
    """
    if arch == "direct":
        if model_output.ndim != 2 or model_output.shape[1] != num_joints * 3:
            raise ValueError(
                f"model_output: expected (B, {num_joints * 3}) for direct regression, got {tuple(model_output.shape)}"
            )
        return model_output.reshape(model_output.shape[0], num_joints, 3)
    if arch not in ("integral", "heatmap"):
        raise ValueError(f"arch: expected one of {list(ARCHS)}, got {arch!r}")
    if output_3d:
        volume = logits_to_volume(model_output, num_joints, depth_bins)  # (B, J, D, H, W)
        if arch == "heatmap":
            return argmax_decode_3d(volume, normalized=True)
        return soft_argmax_3d(volume, beta=beta, normalized=True)
    if model_output.ndim != 4 or model_output.shape[1] != num_joints:
        raise ValueError(
            f"model_output: expected (B, {num_joints}, H, W) 2D heat maps, got {tuple(model_output.shape)}"
        )
    if arch == "heatmap":
        xy = argmax_decode_2d(model_output, normalized=True)  # (B, J, 2)
    else:
        xy = soft_argmax_2d(model_output, beta=beta, normalized=True)  # (B, J, 2)
    return torch.cat([xy, torch.zeros_like(xy[..., :1])], dim=-1)


def build_network(model_config: ModelConfig) -> PoseNet:
    """The untrained network described by ``model_config`` (no file is read; ``pretrained`` is not loaded).

    :func:`integral_pose.build.build_model` is this plus the ImageNet backbone file of ``pretrained``.

    Args:
        model_config: a :class:`~integral_pose.config.schema.ModelConfig`.

    Returns:
        A :class:`PoseNet` in training mode, randomly initialised.

    Raises:
        TypeError: ``model_config`` is not a ModelConfig.
        ValueError: unknown backbone (with the list of names).
    """
    if not isinstance(model_config, ModelConfig):
        raise TypeError(f"model_config: expected a ModelConfig, got {type(model_config).__name__}")
    mc = model_config
    if mc.backbone not in RESNETS:
        raise ValueError(f"model.backbone: unknown backbone {mc.backbone!r}; expected one of {list(RESNETS)}")
    backbone = RESNETS[mc.backbone](in_channels=mc.in_channels, width=mc.backbone_width)
    head: nn.Module
    if mc.arch == "direct":
        head = DirectHead(backbone.out_channels, mc.num_joints)
    else:
        head = DeconvHead(
            backbone.out_channels,
            mc.out_channels,
            num_layers=mc.deconv_layers,
            num_filters=mc.deconv_filters,
            kernel=mc.deconv_kernel,
            final_kernel=mc.final_conv_kernel,
        )
    return PoseNet(backbone, head, mc.num_joints, mc.depth_bins, mc.output_3d, arch=mc.arch)

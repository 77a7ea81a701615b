"""ResNet-18/34/50/101/152 backbones (He et al., 2016) with torchvision's parameter names and shapes.

The module tree is ``conv1, bn1, relu, maxpool, layer1 … layer4`` with blocks ``layerL.b.{conv1, bn1, conv2, bn2,
[conv3, bn3], downsample.{0, 1}}`` and the stride on ``conv2`` (the "v1.5" layout torchvision ships), so an
ImageNet state dict in torchvision or timm format loads without renaming (minus its ``fc.*`` classifier, which a
backbone does not have). :meth:`ResNet.forward_features` returns the stride-32 feature map.

A width multiplier ``width`` scales every stage's channels (64·w, 128·w, 256·w, 512·w, rounded to a multiple of
8) and keeps the block structure and the parameter names, so ``width=1`` is the paper's backbone and a slim
``resnet18(width=0.25)`` (0.7 M parameters) is the CPU-sized one of the demo.

Example:
    >>> import torch
    >>> net = resnet18()
    >>> net.forward_features(torch.zeros(1, 3, 64, 96)).shape  # (B, 512, H/32, W/32)
    torch.Size([1, 512, 2, 3])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "RESNETS",
    "SPECS",
    "WIDTHS",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]


WIDTHS: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75, 1.0)
"""Width multipliers ``model.backbone_width`` accepts (1 = the paper's backbones)."""


def scaled_channels(base: int, width: float) -> int:
    """``base · width`` rounded to the nearest multiple of 8 (at least 8): the channels of a slim stage.

    Raises:
        ValueError: ``width`` is not > 0.
    """
    if not width > 0:
        raise ValueError(f"width: expected a multiplier > 0, got {width}")
    return max(8, round(base * width / 8.0) * 8)


def _conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (ResNet-18/34); ``expansion`` = 1."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_ch, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 (carries the stride) → 1×1 expand ×4, with a residual connection (ResNet-50/101/152)."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = _conv1x1(in_ch, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet without the classifier: the backbone of the pose network.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: number of blocks in ``layer1 … layer4`` (e.g. ``(3, 4, 6, 3)`` for ResNet-50).
        in_channels: image channels.
        width: channel multiplier of every stage (1 = the standard network; see :func:`scaled_channels`).

    Attributes:
        out_channels: channels of the stride-32 map (512·w for BasicBlock nets, 2048·w for Bottleneck nets).
        stride: 32.
    """

    stride = 32

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        in_channels: int = 3,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        if len(layers) != 4 or any(n < 1 for n in layers):
            raise ValueError(f"layers: expected 4 positive block counts, got {list(layers)}")
        if in_channels < 1:
            raise ValueError(f"in_channels: expected >= 1, got {in_channels}")
        self.block_type = block.__name__
        self.layers_spec = tuple(int(n) for n in layers)
        self.width = float(width)
        planes = [scaled_channels(c, width) for c in (64, 128, 256, 512)]
        self._in_ch = planes[0]
        self.conv1 = nn.Conv2d(in_channels, planes[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, planes[0], layers[0], stride=1)
        self.layer2 = self._make_layer(block, planes[1], layers[1], stride=2)
        self.layer3 = self._make_layer(block, planes[2], layers[2], stride=2)
        self.layer4 = self._make_layer(block, planes[3], layers[3], stride=2)
        self.out_channels = planes[3] * block.expansion
        self.reset_parameters()

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, n: int, stride: int
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self._in_ch != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self._in_ch, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        blocks = [block(self._in_ch, planes, stride, downsample)]
        self._in_ch = planes * block.expansion
        blocks += [block(self._in_ch, planes) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def reset_parameters(self) -> None:
        """torchvision's initialisation: Kaiming-normal (fan_out, ReLU) convolutions, BatchNorm γ = 1, β = 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) images → (B, out_channels, ⌈H/32⌉, ⌈W/32⌉) features."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer1(x)  # (B, 64·e, H/4, W/4)
        x = self.layer2(x)  # (B, 128·e, H/8, W/8)
        x = self.layer3(x)  # (B, 256·e, H/16, W/16)
        return self.layer4(x)  # (B, 512·e, H/32, W/32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`forward_features`."""
        return self.forward_features(x)


def resnet18(in_channels: int = 3, width: float = 1.0) -> ResNet:
    """ResNet-18 backbone (BasicBlock, 2-2-2-2), 512·width output channels."""
    return ResNet(BasicBlock, (2, 2, 2, 2), in_channels, width)


def resnet34(in_channels: int = 3, width: float = 1.0) -> ResNet:
    """ResNet-34 backbone (BasicBlock, 3-4-6-3), 512·width output channels."""
    return ResNet(BasicBlock, (3, 4, 6, 3), in_channels, width)


def resnet50(in_channels: int = 3, width: float = 1.0) -> ResNet:
    """ResNet-50 backbone (Bottleneck, 3-4-6-3), 2048·width output channels."""
    return ResNet(Bottleneck, (3, 4, 6, 3), in_channels, width)


def resnet101(in_channels: int = 3, width: float = 1.0) -> ResNet:
    """ResNet-101 backbone (Bottleneck, 3-4-23-3), 2048·width output channels."""
    return ResNet(Bottleneck, (3, 4, 23, 3), in_channels, width)


def resnet152(in_channels: int = 3, width: float = 1.0) -> ResNet:
    """ResNet-152 backbone (Bottleneck, 3-8-36-3), 2048·width output channels."""
    return ResNet(Bottleneck, (3, 8, 36, 3), in_channels, width)


RESNETS: dict[str, Callable[..., ResNet]] = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
}
"""Backbone builders by name (the names of ``model.backbone``)."""

# Block type and per-stage block counts, used to recognise a backbone from a state dict.
SPECS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet18": ("BasicBlock", (2, 2, 2, 2)),
    "resnet34": ("BasicBlock", (3, 4, 6, 3)),
    "resnet50": ("Bottleneck", (3, 4, 6, 3)),
    "resnet101": ("Bottleneck", (3, 4, 23, 3)),
    "resnet152": ("Bottleneck", (3, 8, 36, 3)),
}

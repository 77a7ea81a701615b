"""The original system's pose network, written out from its description, to build original-format checkpoints.

torchvision's Bottleneck, a ResNet without avgpool/fc named ``backbone``, a deconvolution head whose layers live in
an ``nn.ModuleList`` ``features`` (or the direct-regression ``AvgPoolHead``), the whole net wrapped in
``DataParallel`` when saved (keys ``module.…``) and saved as ``{'epoch', 'network', 'optimizer', …}`` without the
BatchNorm counters that PyTorch 0.4.0 did not have. ``width`` scales the channels (64·width at the stem) so that
tests can build the R-152 layout small; the key names do not change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

R50 = [3, 4, 6, 3]
R152 = [3, 8, 36, 3]


class OrigBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class OrigResNetBackbone(nn.Module):
    def __init__(self, layers: list[int], width: float = 1.0) -> None:
        super().__init__()
        base = int(64 * width)
        self.inplanes = base
        self.conv1 = nn.Conv2d(3, base, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make(base, layers[0])
        self.layer2 = self._make(base * 2, layers[1], 2)
        self.layer3 = self._make(base * 4, layers[2], 2)
        self.layer4 = self._make(base * 8, layers[3], 2)
        self.out_channels = base * 32

    def _make(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        ds = None
        if stride != 1 or self.inplanes != planes * 4:
            ds = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                               nn.BatchNorm2d(planes * 4))  # fmt: skip
        mods = [OrigBottleneck(self.inplanes, planes, stride, ds)]
        self.inplanes = planes * 4
        mods += [OrigBottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class OrigDeconvHead(nn.Module):
    def __init__(self, in_channels: int, num_layers: int, num_filters: int, out_channels: int) -> None:
        super().__init__()
        self.features = nn.ModuleList()
        for i in range(num_layers):
            self.features.append(nn.ConvTranspose2d(in_channels if i == 0 else num_filters, num_filters, 4, stride=2,
                                                    padding=1, output_padding=0, bias=False))  # fmt: skip
            self.features.append(nn.BatchNorm2d(num_filters))
            self.features.append(nn.ReLU(inplace=True))
        self.features.append(nn.Conv2d(num_filters, out_channels, 1, padding=0, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.features:
            x = layer(x)
        return x


class OrigAvgPoolHead(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, fea_map_size: int) -> None:
        super().__init__()
        self.avgpool = nn.AvgPool2d(fea_map_size, stride=1)
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avgpool(x).view(x.size(0), -1))


class OrigResPoseNet(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def integral_net(layers: list[int], width: float, filters: int, joints: int, depth_bins: int) -> OrigResPoseNet:
    """An integral pose network in the original layout with randomised weights and BatchNorm statistics."""
    backbone = OrigResNetBackbone(layers, width)
    net = OrigResPoseNet(backbone, OrigDeconvHead(backbone.out_channels, 3, filters, joints * depth_bins))
    randomise(net)
    return net.eval()


def randomise(net: nn.Module, seed: int = 1) -> None:
    """Non-trivial weights and BatchNorm statistics so that a wrong mapping changes the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / m.weight[0].numel()) ** 0.5)


def save_original(net: nn.Module, path: Path, legacy: bool = True, epoch: int = 140) -> Path:
    """Save as the original training script did (DataParallel keys, no BatchNorm counters, NumPy losses)."""
    wrapped = nn.DataParallel(net)  # keys gain "module."
    state = {k: v for k, v in wrapped.state_dict().items() if not k.endswith("num_batches_tracked")}  # PyTorch 0.4.0
    ckpt = {"epoch": epoch, "network": state, "optimizer": {"state": {}, "param_groups": []},
            "train_loss": np.float64(0.25), "valid_loss": np.float64(0.5)}  # fmt: skip
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)
    return path

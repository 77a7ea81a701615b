"""ImageNet loading and import of the original system's checkpoints (built here in the original layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.models.resnet import resnet18
from integral_pose.models.weights import load_imagenet, load_original_checkpoint, read_state_dict


# ---------------------------------------------------------------------------------------------------------------
# The original system's modules, written out from its description: torchvision's Bottleneck, a ResNet without
# avgpool/fc named ``backbone``, a deconvolution head whose layers live in an nn.ModuleList ``features``, and the
# direct-regression AvgPoolHead; the whole net wrapped in DataParallel when saved.
# ---------------------------------------------------------------------------------------------------------------
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
    def __init__(self, layers: list[int]) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make(64, layers[0])
        self.layer2 = self._make(128, layers[1], 2)
        self.layer3 = self._make(256, layers[2], 2)
        self.layer4 = self._make(512, layers[3], 2)

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


def _randomise(net: nn.Module) -> None:
    """Non-trivial weights and BatchNorm statistics so that a wrong mapping changes the logits."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / m.weight[0].numel()) ** 0.5)


def _save_original(net: nn.Module, path: Path, legacy: bool) -> None:
    wrapped = nn.DataParallel(net)  # keys gain "module."
    state = {k: v for k, v in wrapped.state_dict().items() if not k.endswith("num_batches_tracked")}  # PyTorch 0.4.0
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    ckpt = {"epoch": 7, "network": state, "optimizer": opt.state_dict(), "train_loss": np.float64(0.25),
            "valid_loss": np.float64(0.5)}  # fmt: skip
    torch.save(ckpt, path, _use_new_zipfile_serialization=not legacy)


@pytest.mark.parametrize("legacy", [False, True])
def test_original_integral_checkpoint_gives_identical_logits(tmp_path: Path, legacy: bool) -> None:
    torch.set_num_threads(1)
    j, d = 18, 4
    orig = OrigResPoseNet(OrigResNetBackbone([3, 4, 6, 3]), OrigDeconvHead(2048, 3, 32, j * d))
    _randomise(orig)
    orig.eval()
    path = tmp_path / "model_chall_train_152ft_384x288.pth.tar"
    _save_original(orig, path, legacy)
    keys = list(torch.load(path, weights_only=False)["network"])
    assert keys[0] == "module.backbone.conv1.weight" and keys[-1] == "module.head.features.9.bias"

    model, info = load_original_checkpoint(path)
    assert info["layout"] == "dataparallel" and info["backbone"] == "resnet50" and info["epoch"] == 7
    assert info["depth_bins"] == d and info["num_joints"] == j and info["filled_num_batches_tracked"] == 56
    mc = info["model_config"]
    assert (mc.deconv_layers, mc.deconv_filters, mc.deconv_kernel, mc.final_conv_kernel) == (3, 32, 4, 1)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected = orig(x)
        got = model(x)
    assert got.shape == (2, j * d, 16, 24)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_original_direct_checkpoint(tmp_path: Path) -> None:
    orig = OrigResPoseNet(OrigResNetBackbone([3, 4, 6, 3]), OrigAvgPoolHead(2048, 18 * 3, fea_map_size=2))
    _randomise(orig)
    orig.eval()
    path = tmp_path / "direct.pth.tar"
    _save_original(orig, path, legacy=False)
    model, info = load_original_checkpoint(path)
    assert info["arch"] == "direct" and info["depth_bins"] is None
    x = torch.randn(1, 3, 64, 64)  # 2×2 map = fea_map_size, as the original required
    with torch.no_grad():
        torch.testing.assert_close(model(x), orig(x), rtol=0, atol=1e-6)


def test_original_checkpoint_errors(tmp_path: Path) -> None:
    orig = OrigResPoseNet(OrigResNetBackbone([3, 4, 6, 3]), OrigDeconvHead(2048, 3, 8, 18 * 4))
    path = tmp_path / "o.pth.tar"
    _save_original(orig, path, legacy=False)
    with pytest.raises(ValueError, match=r"72 channels, not a multiple of num_joints=17"):
        load_original_checkpoint(path, num_joints=17)
    other = tmp_path / "other.pt"
    torch.save({"weights": [1, 2]}, other)
    with pytest.raises(ValueError, match=r"not an original-system checkpoint"):
        load_original_checkpoint(other)
    with pytest.raises(FileNotFoundError, match=r"missing.pth.tar"):
        load_original_checkpoint(tmp_path / "missing.pth.tar")
    odd = tmp_path / "odd.pt"
    torch.save({"network": {"module.backbone.conv1.weight": torch.zeros(64, 3, 7, 7),
                            "module.head.features.9.weight": torch.zeros(72, 8, 1, 1)}}, odd)  # fmt: skip
    with pytest.raises(ValueError, match=r"not a known ResNet"):
        load_original_checkpoint(odd)


def _torchvision_like_state(model_backbone: nn.Module) -> dict[str, torch.Tensor]:
    state = {k: torch.randn(v.shape) if v.is_floating_point() else v.clone() for k, v in
             model_backbone.state_dict().items()}  # fmt: skip
    state["fc.weight"] = torch.randn(1000, 512)
    state["fc.bias"] = torch.randn(1000)
    return state


def test_load_imagenet_pth_and_safetensors(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _torchvision_like_state(resnet18())
    pth = tmp_path / "resnet18-f37072fd.pth"
    torch.save(state, pth)
    model = build_model(ModelConfig(backbone="resnet18", depth_bins=4, pretrained=str(pth)))
    torch.testing.assert_close(model.backbone.layer3[1].conv2.weight, state["layer3.1.conv2.weight"])
    torch.testing.assert_close(model.backbone.bn1.running_var, state["bn1.running_var"])

    st = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(st))
    model2 = build_model(ModelConfig(backbone="resnet18", depth_bins=4))
    report = load_imagenet(model2, st)
    assert report["dropped"] == ["fc.bias", "fc.weight"] and report["loaded"] == len(state) - 2
    torch.testing.assert_close(model2.backbone.layer4[0].downsample[0].weight, state["layer4.0.downsample.0.weight"])

    wrapped = tmp_path / "timm_style.pth.tar"  # {"state_dict": {"module.…"}} as some training scripts save
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 90}, wrapped)
    load_imagenet(resnet18(), wrapped)


def test_load_imagenet_reports_missing_unexpected_misshaped(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = _torchvision_like_state(resnet18())
    del state["layer2.0.conv1.weight"]
    state["layer9.weight"] = torch.zeros(1)
    st = tmp_path / "broken.safetensors"
    save_file(state, str(st))
    with pytest.raises(ValueError) as info:
        load_imagenet(resnet18(), st)
    text = str(info.value)
    assert "missing keys (1): layer2.0.conv1.weight" in text and "unexpected keys (1): layer9.weight" in text
    assert "broken.safetensors" in text

    r50_state = {
        k: v for k, v in build_model(ModelConfig(backbone="resnet50", depth_bins=2)).backbone.state_dict().items()
    }
    shaped = tmp_path / "r50.pth"
    torch.save(r50_state, shaped)
    with pytest.raises(
        ValueError, match=r"mis-shaped keys .*conv1.weight expected \[64, 64, 3, 3\] got \[64, 64, 1, 1\]"
    ):
        load_imagenet(resnet18(), shaped)


def test_read_state_dict_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing.pth"):
        read_state_dict(tmp_path / "nothing.pth")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(ValueError, match=r"junk.safetensors"):
        read_state_dict(junk)
    trunc = tmp_path / "trunc.pth"
    torch.save({"a": torch.zeros(1000)}, trunc)
    trunc.write_bytes(trunc.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"trunc.pth"):
        read_state_dict(trunc)
    notsd = tmp_path / "list.pth"
    torch.save([1, 2, 3], notsd)
    with pytest.raises(ValueError, match=r"expected a state dict of tensors"):
        read_state_dict(notsd)

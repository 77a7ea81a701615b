"""ImageNet loading and import of the original system's checkpoints (built here in the original layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from original_layout import (
    OrigAvgPoolHead,
    OrigDeconvHead,
    OrigResNetBackbone,
    OrigResPoseNet,
    randomise,
    save_original,
)
from torch import nn

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.models.resnet import resnet18
from integral_pose.models.weights import load_imagenet, load_original_checkpoint, read_state_dict


@pytest.mark.parametrize("legacy", [False, True])
def test_original_integral_checkpoint_gives_identical_logits(tmp_path: Path, legacy: bool) -> None:
    torch.set_num_threads(1)
    j, d = 18, 4
    orig = OrigResPoseNet(OrigResNetBackbone([3, 4, 6, 3]), OrigDeconvHead(2048, 3, 32, j * d))
    randomise(orig)
    orig.eval()
    path = tmp_path / "model_chall_train_152ft_384x288.pth.tar"
    save_original(orig, path, legacy, epoch=7)
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
    randomise(orig)
    orig.eval()
    path = tmp_path / "direct.pth.tar"
    save_original(orig, path, legacy=False)
    model, info = load_original_checkpoint(path)
    assert info["arch"] == "direct" and info["depth_bins"] is None
    x = torch.randn(1, 3, 64, 64)  # 2×2 map = fea_map_size, as the original required
    with torch.no_grad():
        torch.testing.assert_close(model(x), orig(x), rtol=0, atol=1e-6)


def test_original_checkpoint_errors(tmp_path: Path) -> None:
    orig = OrigResPoseNet(OrigResNetBackbone([3, 4, 6, 3]), OrigDeconvHead(2048, 3, 8, 18 * 4))
    path = tmp_path / "o.pth.tar"
    save_original(orig, path, legacy=False)
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

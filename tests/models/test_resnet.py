"""ResNet backbones: torchvision parameter names and shapes, parameter counts, stride-32 features."""

from __future__ import annotations

import pytest
import torch

from integral_pose.models.resnet import RESNETS, ResNet, resnet18, resnet50


def torchvision_keys(bottleneck: bool, layers: tuple[int, int, int, int]) -> dict[str, tuple[int, ...]]:
    """Key → shape of torchvision's ResNet state dict without ``fc``, written out from its documented structure."""

    def bn(prefix: str, c: int) -> dict[str, tuple[int, ...]]:
        return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,),
                f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}  # fmt: skip

    keys: dict[str, tuple[int, ...]] = {"conv1.weight": (64, 3, 7, 7), **bn("bn1", 64)}
    expansion = 4 if bottleneck else 1
    cin = 64
    for li, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), start=1):
        for b in range(n):
            p = f"layer{li}.{b}"
            if bottleneck:
                keys[f"{p}.conv1.weight"] = (planes, cin, 1, 1)
                keys.update(bn(f"{p}.bn1", planes))
                keys[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                keys.update(bn(f"{p}.bn2", planes))
                keys[f"{p}.conv3.weight"] = (planes * 4, planes, 1, 1)
                keys.update(bn(f"{p}.bn3", planes * 4))
            else:
                keys[f"{p}.conv1.weight"] = (planes, cin, 3, 3)
                keys.update(bn(f"{p}.bn1", planes))
                keys[f"{p}.conv2.weight"] = (planes, planes, 3, 3)
                keys.update(bn(f"{p}.bn2", planes))
            if b == 0 and (li > 1 or cin != planes * expansion):
                keys[f"{p}.downsample.0.weight"] = (planes * expansion, cin, 1, 1)
                keys.update(bn(f"{p}.downsample.1", planes * expansion))
            cin = planes * expansion
    return keys


@pytest.mark.parametrize(
    ("name", "bottleneck", "layers"),
    [("resnet18", False, (2, 2, 2, 2)), ("resnet34", False, (3, 4, 6, 3)), ("resnet50", True, (3, 4, 6, 3)),
     ("resnet101", True, (3, 4, 23, 3)), ("resnet152", True, (3, 8, 36, 3))],
)  # fmt: skip
def test_keys_and_shapes_equal_torchvision(name: str, bottleneck: bool, layers: tuple[int, int, int, int]) -> None:
    with torch.device("meta"):
        net = RESNETS[name]()
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    expected = torchvision_keys(bottleneck, layers)
    assert list(got) == list(expected)  # same names in the same order
    assert got == expected


def test_resnet50_key_count_and_parameter_counts() -> None:
    with torch.device("meta"):
        r50, r152 = RESNETS["resnet50"](), RESNETS["resnet152"]()
    assert len(r50.state_dict()) == 318  # 53 BN × 5 + 53 conv weights
    # torchvision's published totals (25,557,032 and 60,192,808) minus fc (2048·1000 + 1000)
    assert sum(p.numel() for p in r50.parameters()) == 25_557_032 - 2_049_000
    assert sum(p.numel() for p in r152.parameters()) == 60_192_808 - 2_049_000


@pytest.mark.parametrize("name", list(RESNETS))
def test_forward_features_is_stride_32(name: str) -> None:
    with torch.device("meta"):
        net = RESNETS[name]()
        out = net.forward_features(torch.empty(2, 3, 96, 64))
    assert tuple(out.shape) == (2, net.out_channels, 3, 2)
    assert net.out_channels == (512 if name in ("resnet18", "resnet34") else 2048)


def test_real_forward_and_in_channels() -> None:
    net = resnet18(in_channels=1).eval()
    out = net(torch.randn(1, 1, 64, 64))
    assert out.shape == (1, 512, 2, 2) and torch.isfinite(out).all()
    assert net.conv1.weight.shape == (64, 1, 7, 7)


def test_bad_arguments() -> None:
    from integral_pose.models.resnet import Bottleneck

    with pytest.raises(ValueError, match=r"layers"):
        ResNet(Bottleneck, (3, 4, 6))
    with pytest.raises(ValueError, match=r"in_channels"):
        resnet50(in_channels=0)

"""Width multiplier of the ResNet family: same keys and block structure, scaled channels."""

from __future__ import annotations

import pytest
import torch

from integral_pose.build import build_model
from integral_pose.config.schema import ConfigError, ModelConfig
from integral_pose.models.resnet import resnet18, resnet50, scaled_channels


@pytest.mark.parametrize("builder", [resnet18, resnet50])
def test_slim_keys_equal_the_full_network(builder) -> None:
    full, slim = builder(), builder(width=0.25)
    assert list(full.state_dict()) == list(slim.state_dict())
    for key, v in slim.state_dict().items():
        w = full.state_dict()[key]
        assert v.ndim == w.ndim, key
        if v.ndim == 4:  # conv weights: channels scaled by 4 (the full network's are multiples of 32)
            assert v.shape[0] * 4 == w.shape[0], key
            assert v.shape[2:] == w.shape[2:], key


def test_slim_shapes_and_output_channels() -> None:
    net = resnet18(width=0.25)
    assert net.conv1.weight.shape == (16, 3, 7, 7)
    assert net.layer4[1].conv2.weight.shape == (128, 128, 3, 3)
    assert net.out_channels == 128
    assert net.forward_features(torch.zeros(2, 3, 64, 64)).shape == (2, 128, 2, 2)
    assert resnet50(width=0.5).out_channels == 1024
    # width 1 is the paper's backbone
    assert resnet18(width=1.0).conv1.weight.shape == (64, 3, 7, 7)


def test_scaled_channels_rounding() -> None:
    assert scaled_channels(64, 1.0) == 64
    assert scaled_channels(64, 0.125) == 8
    assert scaled_channels(64, 0.01) == 8  # at least 8
    assert scaled_channels(512, 0.3) == 152  # 153.6 → nearest multiple of 8
    with pytest.raises(ValueError, match="width"):
        scaled_channels(64, 0.0)


def test_model_config_width_reaches_the_network_and_is_validated() -> None:
    model = build_model(ModelConfig(backbone="resnet18", backbone_width=0.25, depth_bins=8, deconv_filters=32))
    assert model.backbone.out_channels == 128
    assert model.head.features[0].weight.shape[0] == 128  # deconv input = slim backbone output
    params = sum(p.numel() for p in model.backbone.parameters())
    assert 0.6e6 < params < 0.8e6
    with pytest.raises(ConfigError, match="backbone_width"):
        ModelConfig(backbone="resnet18", backbone_width=0.0)

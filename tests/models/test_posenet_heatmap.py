"""The heat-map baseline as a model: ``build_model(arch="heatmap")`` shapes and ``.arch``, the explicit ``arch``
argument of PoseNet (inferred as before when omitted) and argmax decoding through ``predict_coords``."""

from __future__ import annotations

import pytest
import torch

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.geometry.heatmap import argmax_decode_2d, argmax_decode_3d
from integral_pose.models import DeconvHead, PoseNet, logits_to_volume, predict_coords
from integral_pose.models.heads import DirectHead
from integral_pose.models.resnet import resnet18

J = 18


@pytest.mark.parametrize(("output_3d", "shape"), [(True, (2, J * 8, 32, 24)), (False, (2, J, 32, 24))])
def test_build_heatmap_model_shapes_and_arch(output_3d: bool, shape: tuple[int, ...]) -> None:
    mc = ModelConfig(arch="heatmap", backbone="resnet18", depth_bins=8, output_3d=output_3d)
    assert mc.out_channels == shape[1]
    with torch.device("meta"):
        net = build_model(mc)
        out = net(torch.empty(2, 3, 128, 96))  # H=128, W=96 → heat map 32×24
    assert tuple(out.shape) == shape
    assert net.arch == "heatmap" and net.output_3d is output_3d and isinstance(net.head, DeconvHead)


def test_heatmap_model_decodes_by_argmax_and_trains_on_its_maps() -> None:
    torch.set_num_threads(1)
    net = build_model(ModelConfig(arch="heatmap", backbone="resnet18", depth_bins=4, deconv_filters=16)).train()
    out = net(torch.randn(2, 3, 64, 64))
    coords = net.decode(out)
    assert coords.shape == (2, J, 3) and not coords.requires_grad
    torch.testing.assert_close(coords, argmax_decode_3d(logits_to_volume(out, J, 4), normalized=True))
    assert (coords >= -0.5).all() and (coords < 0.5).all()
    out.square().mean().backward()  # the heat maps themselves carry the gradient
    assert net.head.features[0].weight.grad is not None


def test_predict_coords_heatmap_one_hot_matches_integral() -> None:
    j, d, h, w = 2, 4, 6, 8
    vol = torch.full((1, j, d, h, w), -1e4)
    vol[0, 0, 1, 2, 3] = 0.0
    vol[0, 1, 3, 5, 0] = 0.0
    logits = vol.reshape(1, j * d, h, w)
    hm = predict_coords(logits, num_joints=j, depth_bins=d, arch="heatmap")
    integral = predict_coords(logits, num_joints=j, depth_bins=d, arch="integral")
    torch.testing.assert_close(hm, integral)
    torch.testing.assert_close(hm[0, 0], torch.tensor([3 / w - 0.5, 2 / h - 0.5, 1 / d - 0.5]))
    maps = vol[:, :, 1]  # (1, J, H, W) 2D maps: z = 0
    hm2 = predict_coords(maps, num_joints=j, depth_bins=d, arch="heatmap", output_3d=False)
    torch.testing.assert_close(hm2[..., :2], argmax_decode_2d(maps, normalized=True))
    assert torch.all(hm2[..., 2] == 0)
    with pytest.raises(ValueError, match=r"arch: expected one of \['integral', 'direct', 'heatmap'\]"):
        predict_coords(logits, num_joints=j, depth_bins=d, arch="detection")


def test_posenet_arch_argument_and_inference() -> None:
    bb = resnet18()
    assert PoseNet(bb, DeconvHead(bb.out_channels, J * 4, num_filters=8), J, 4).arch == "integral"
    assert PoseNet(bb, DirectHead(bb.out_channels, J), J).arch == "direct"
    assert PoseNet(bb, DeconvHead(bb.out_channels, J, num_filters=8), J, 4, False, arch="heatmap").arch == "heatmap"
    with pytest.raises(ValueError, match=r"arch: expected one of"):
        PoseNet(bb, DeconvHead(bb.out_channels, J * 4, num_filters=8), J, 4, arch="argmax")
    with pytest.raises(ValueError, match=r"arch: 'heatmap' does not fit a DirectHead"):
        PoseNet(bb, DirectHead(bb.out_channels, J), J, arch="heatmap")
    with pytest.raises(ValueError, match=r"arch: 'direct' does not fit a DeconvHead"):
        PoseNet(bb, DeconvHead(bb.out_channels, J * 4, num_filters=8), J, 4, arch="direct")
    with pytest.raises(ValueError, match=r"head.out_channels: expected 72"):
        PoseNet(bb, DeconvHead(bb.out_channels, J, num_filters=8), J, 4, arch="heatmap")

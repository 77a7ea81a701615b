"""PoseNet, heads, build_model, logits → coordinates."""

from __future__ import annotations

import pytest
import torch

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.models import DeconvHead, PoseNet, logits_to_volume, predict_coords
from integral_pose.models.heads import DirectHead, deconv_padding
from integral_pose.models.resnet import RESNETS, resnet18

J = 18


@pytest.mark.parametrize("backbone", list(RESNETS))
@pytest.mark.parametrize(("arch", "output_3d"), [("integral", True), ("integral", False), ("direct", True)])
def test_output_shapes(backbone: str, arch: str, output_3d: bool) -> None:
    mc = ModelConfig(arch=arch, backbone=backbone, depth_bins=8, output_3d=output_3d)
    with torch.device("meta"):
        net = build_model(mc)
        out = net(torch.empty(2, 3, 128, 96))  # H=128, W=96 → heat map 32×24
    expected = {
        ("integral", True): (2, J * 8, 32, 24),
        ("integral", False): (2, J, 32, 24),
        ("direct", True): (2, J * 3),
    }
    assert tuple(out.shape) == expected[(arch, output_3d)]
    assert net.arch == arch and net.num_joints == J


@pytest.mark.parametrize(("arch", "output_3d"), [("integral", True), ("integral", False), ("direct", True)])
def test_every_parameter_gets_a_finite_gradient(arch: str, output_3d: bool) -> None:
    torch.set_num_threads(1)
    net = build_model(ModelConfig(arch=arch, backbone="resnet18", depth_bins=4, output_3d=output_3d)).train()
    out = net(torch.randn(2, 3, 64, 64))
    assert torch.isfinite(out).all()
    coords = net.decode(out)
    assert coords.shape == (2, J, 3) and torch.isfinite(coords).all()
    (coords * torch.randn_like(coords)).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert sum(int(p.grad.abs().sum() > 0) for p in net.parameters()) == len(list(net.parameters()))


def test_channels_last_gives_the_same_logits() -> None:
    net = build_model(ModelConfig(backbone="resnet18", depth_bins=4)).eval()
    x = torch.randn(1, 3, 64, 64)
    ref = net(x)
    net_cl = net.to(memory_format=torch.channels_last)
    out = net_cl(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_torch_compile_matches_eager() -> None:
    torch.set_num_threads(1)
    net = build_model(ModelConfig(backbone="resnet18", depth_bins=4)).eval()
    x = torch.randn(1, 3, 64, 64)
    compiled = torch.compile(net, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-5, atol=1e-6)


def test_logits_to_volume_is_joint_major() -> None:
    logits = torch.arange(2 * 3 * 4 * 1 * 1, dtype=torch.float32).reshape(2, 12, 1, 1)
    vol = logits_to_volume(logits, 3, 4)
    assert vol.shape == (2, 3, 4, 1, 1)
    assert vol[1, 2, 3, 0, 0] == logits[1, 2 * 4 + 3, 0, 0]
    with pytest.raises(ValueError, match=r"J·D"):
        logits_to_volume(logits, 5, 4)


def test_predict_coords_one_hot_peaks() -> None:
    j, d, h, w = 2, 5, 6, 8
    vol = torch.full((1, j, d, h, w), -1e4)
    vol[0, 0, 1, 2, 3] = 0.0  # z=1, y=2, x=3
    vol[0, 1, 4, 5, 0] = 0.0
    out = predict_coords(vol.reshape(1, j * d, h, w), num_joints=j, depth_bins=d)
    expected = torch.tensor([[[3 / w - 0.5, 2 / h - 0.5, 1 / d - 0.5], [0 / w - 0.5, 5 / h - 0.5, 4 / d - 0.5]]])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    hm = torch.full((1, j, h, w), -1e4)
    hm[0, 0, 2, 3] = 0.0
    hm[0, 1, 5, 7] = 0.0
    out2 = predict_coords(hm, num_joints=j, depth_bins=d, output_3d=False)
    expected2 = torch.tensor([[[3 / w - 0.5, 2 / h - 0.5, 0.0], [7 / w - 0.5, 5 / h - 0.5, 0.0]]])
    torch.testing.assert_close(out2, expected2, atol=1e-6, rtol=0)
    flat = torch.arange(6.0).reshape(1, 6)
    assert predict_coords(flat, num_joints=2, depth_bins=d, arch="direct")[0, 1].tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match=r"arch"):
        predict_coords(flat, num_joints=2, depth_bins=d, arch="other")


def test_deconv_head_initialisation_and_kernels() -> None:
    torch.manual_seed(0)
    head = DeconvHead(512, out_channels=J * 4, num_layers=3, num_filters=64)
    keys = [k for k in head.state_dict() if not k.endswith("num_batches_tracked")]
    idx = sorted({int(k.split(".")[1]) for k in keys})
    assert idx == [0, 1, 3, 4, 6, 7, 9]  # ReLUs at 2, 5, 8 hold nothing, as the original
    assert head.features[0].bias is None and head.features[9].bias is not None
    assert abs(head.features[0].weight.std().item() - 0.001) < 1e-4
    assert torch.all(head.features[9].bias == 0) and torch.all(head.features[1].weight == 1)
    assert torch.all(head.features[1].bias == 0)
    for k in (2, 3, 4):
        pad, out_pad = deconv_padding(k)
        h = DeconvHead(8, 3, num_layers=2, num_filters=4, kernel=k, final_kernel=3)
        assert h(torch.zeros(1, 8, 5, 7)).shape == (1, 3, 20, 28)
        assert h.features[0].padding == (pad, pad) and h.features[0].output_padding == (out_pad, out_pad)
    with pytest.raises(ValueError, match=r"kernel"):
        deconv_padding(5)


def test_posenet_rejects_inconsistent_head() -> None:
    with pytest.raises(ValueError, match=r"out_channels"):
        PoseNet(resnet18(), DeconvHead(512, J * 3, num_layers=1, num_filters=4), num_joints=J, depth_bins=4)
    net = PoseNet(resnet18(), DirectHead(512, J), num_joints=J)
    assert net.arch == "direct"


def test_build_model_type_errors() -> None:
    with pytest.raises(TypeError, match=r"ModelConfig"):
        build_model({"backbone": "resnet18"})  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match=r"nope.pth"):
        build_model(ModelConfig(backbone="resnet18", pretrained="nope.pth"))

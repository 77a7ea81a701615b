"""The trainer's loss for ``model.arch: heatmap``: the heat-map MSE is trained, the coordinate loss of the
argmax-decoded joints is only logged."""

from __future__ import annotations

import pytest
import torch

from integral_pose.bench.train import PRESETS, Row, measure
from integral_pose.config.schema import Config
from integral_pose.engine.objective import compute_loss, outputs_to_coords
from integral_pose.losses import coordinate_loss, gaussian_targets, heatmap_mse_loss
from integral_pose.models import logits_to_volume

J, D, H, W = 18, 4, 8, 8


def _cfg(arch: str, output_3d: bool = True) -> Config:
    return Config(
        model={"arch": arch, "backbone": "resnet18", "depth_bins": D, "output_3d": output_3d},
        data={"patch_width": 32, "patch_height": 32},  # 8×8 heat maps with 3 deconvolutions
        loss={"heatmap_sigma": 1.0},
        eval={"protocol": "synthmocap" if output_3d else "mpii_pckh"},
    )


def _batch(b: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    sizes = torch.tensor([float(W), float(H), float(D)])
    cells = torch.rand(b, J, 3, generator=gen) * (sizes - 3) + 1  # interior: both neighbours of the peak exist
    target = cells / sizes - 0.5
    weight = torch.ones(b, J, 3)
    weight[0, 3] = 0.0  # an unknown joint
    target[0, 3] = float("nan")
    weight[1, :, 2] = 0.0  # a 2D-only sample
    return target, weight


@pytest.mark.parametrize("output_3d", [True, False])
def test_heatmap_arch_trains_the_mse_and_logs_the_coordinate_loss(output_3d: bool) -> None:
    cfg = _cfg("heatmap", output_3d)
    target, weight = _batch()
    c = J * D if output_3d else J
    output = torch.randn(2, c, H, W, requires_grad=True)
    coords = outputs_to_coords(output, cfg.model)
    assert coords.shape == (2, J, 3) and not coords.requires_grad
    loss, terms = compute_loss(coords, target, weight, output, cfg)
    assert set(terms) == {"coord", "heatmap_mse"} and torch.isfinite(loss)
    maps = logits_to_volume(output, J, D) if output_3d else output
    torch.testing.assert_close(loss, heatmap_mse_loss(maps, target, weight, 1.0))
    torch.testing.assert_close(terms["heatmap_mse"], loss.detach())
    torch.testing.assert_close(terms["coord"], coordinate_loss(coords, target, weight))
    loss.backward()
    assert output.grad is not None and torch.isfinite(output.grad).all()
    if output_3d:  # the 2D-only sample and the unknown joint carry no gradient in a 3D model
        assert torch.all(output.grad[1] == 0)
        assert torch.all(logits_to_volume(output.grad, J, D)[0, 3] == 0)


def test_perfect_heat_maps_give_zero_loss_and_decode_near_the_targets() -> None:
    cfg = _cfg("heatmap")
    target, weight = _batch()
    maps = gaussian_targets(torch.nan_to_num(target), (D, H, W), 1.0)  # (B, J, D, H, W)
    output = maps.reshape(2, J * D, H, W)
    coords = outputs_to_coords(output, cfg.model)
    loss, terms = compute_loss(coords, target, weight, output, cfg)
    assert loss.item() == pytest.approx(0.0, abs=1e-7)
    ok = weight > 0
    cells = torch.tensor([W, H, D], dtype=torch.float32)
    err = ((coords - target) * cells).abs()[ok]  # in cells
    assert err.max().item() <= 0.25 + 1e-5  # the quarter-cell decode is within 1/4 cell of an interior centre
    assert terms["coord"].item() > 0  # argmax decoding has a quantisation error the MSE does not see


def test_integral_arch_is_unchanged() -> None:
    cfg = _cfg("integral")
    target, weight = _batch()
    output = torch.randn(2, J * D, H, W, requires_grad=True)
    coords = outputs_to_coords(output, cfg.model)
    loss, terms = compute_loss(coords, target, weight, output, cfg)
    assert set(terms) == {"coord"} and coords.requires_grad
    torch.testing.assert_close(loss, coordinate_loss(coords, target, weight))


def test_bench_train_measures_the_heatmap_row() -> None:
    torch.set_num_threads(1)
    assert [r.arch for r in PRESETS["demo"]] == ["integral", "direct", "heatmap"]
    assert measure(Row("h", "heatmap", "resnet18", 32, 4, 16), batch=2, steps=1, warmup=0, device="cpu") > 0

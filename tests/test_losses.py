"""Coordinate losses and the Jensen-Shannon heat-map regulariser on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from integral_pose.losses import (
    coordinate_l1,
    coordinate_l2,
    coordinate_loss,
    gaussian_heatmaps,
    gaussian_targets,
    heatmap_js_loss,
    heatmap_mse_loss,
    js_divergence,
)


def _case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pred = torch.tensor([[[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]], [[-0.1, 0.0, 0.4], [0.2, 0.2, 0.2]]])
    target = torch.tensor([[[0.0, 0.0, 0.0], [0.5, 0.5, float("nan")]], [[0.1, 0.1, 0.1], [0.2, 0.2, 0.2]]])
    weight = torch.tensor([[[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]], [[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]])
    return pred, target, weight


def test_l1_batch_normalisation_hand_case() -> None:
    pred, target, weight = _case()
    # sample 0: .1+.2+.3 + .5+.5 (z masked, NaN target ignored) = 1.6 ; sample 1: .2+.1 (z weight 0) = 0.3
    assert coordinate_l1(pred, target, weight).item() == pytest.approx((1.6 + 0.3) / 2)
    # valid_mean: 7 weighted entries
    assert coordinate_loss(pred, target, weight, "l1", "valid_mean").item() == pytest.approx(1.9 / 7)


def test_l2_hand_case_and_gradients_of_masked_entries() -> None:
    pred, target, weight = _case()
    pred.requires_grad_(True)
    loss = coordinate_l2(pred, target, weight)
    expected = (0.01 + 0.04 + 0.09 + 0.25 + 0.25 + 0.04 + 0.01) / 2
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    assert pred.grad[0, 1, 2] == 0 and torch.all(pred.grad[1, 1] == 0)
    assert pred.grad[0, 0, 0].item() == pytest.approx(2 * 0.1 / 2)


def test_valid_mean_with_nothing_weighted_is_zero() -> None:
    z = torch.zeros(1, 2, 3)
    assert coordinate_loss(z + 1, z, z, normalisation="valid_mean").item() == 0.0


def test_loss_argument_errors() -> None:
    p = torch.zeros(1, 2, 3)
    with pytest.raises(ValueError, match=r"kind"):
        coordinate_loss(p, p, p, kind="huber")
    with pytest.raises(ValueError, match=r"normalisation"):
        coordinate_loss(p, p, p, normalisation="mean")
    with pytest.raises(ValueError, match=r"target: expected shape \(1, 2, 3\)"):
        coordinate_loss(p, torch.zeros(1, 3, 3), p)
    with pytest.raises(ValueError, match=r"pred"):
        coordinate_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))


def test_js_divergence_hand_cases() -> None:
    p = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    q = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    assert js_divergence(p, q).item() == pytest.approx(math.log(2))  # disjoint supports
    assert js_divergence(p, p).item() == pytest.approx(0.0, abs=1e-7)
    r = torch.tensor([[0.5, 0.5], [0.0, 0.0]])
    # JS(p, r): m = (.75, .25); ½[1·ln(1/.75)] + ½[.5 ln(.5/.75) + .5 ln(.5/.25)]
    expected = 0.5 * math.log(4 / 3) + 0.5 * (0.5 * math.log(2 / 3) + 0.5 * math.log(2))
    assert js_divergence(p, r).item() == pytest.approx(expected)
    assert js_divergence(r, p).item() == pytest.approx(expected)  # symmetric


def test_gaussian_heatmaps_are_normalised_and_centred() -> None:
    g = gaussian_heatmaps(torch.tensor([[3.0, 2.0]]), height=6, width=8, sigma=1.0)
    assert g.shape == (1, 6, 8) and g.sum().item() == pytest.approx(1.0)
    assert divmod(int(g.flatten().argmax()), 8) == (2, 3)
    xs = torch.arange(8.0)
    assert (g[0].sum(0) * xs).sum().item() == pytest.approx(3.0, abs=1e-3)


def test_heatmap_js_loss_prefers_the_target_peak() -> None:
    b, j, d, h, w = 1, 2, 3, 8, 8
    target = torch.tensor([[[3 / w - 0.5, 4 / h - 0.5, 0.0], [0.0, 0.0, 0.0]]])  # joint 0 at cell (x=3, y=4)
    weight = torch.tensor([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])  # joint 1 carries no weight
    sigma = 1.0
    q = gaussian_heatmaps(torch.tensor([[[3.0, 4.0], [4.0, 4.0]]]), h, w, sigma)  # (1, 2, H, W)
    # a volume whose xy marginal equals the target Gaussian exactly (depth uniform) → loss 0
    exact = (q.log() - math.log(d))[:, :, None].expand(b, j, d, h, w)
    assert heatmap_js_loss(exact, target, weight, sigma).item() == pytest.approx(0.0, abs=1e-6)
    far = torch.full((b, j, d, h, w), -30.0)
    far[..., 7, 0] = 0.0  # all mass at (x=0, y=7): no overlap beyond the Gaussian's tail
    loss_far = heatmap_js_loss(far, target, weight, sigma)
    assert 0.6 < loss_far.item() <= math.log(2) + 1e-6
    uniform = torch.zeros(b, j, d, h, w, requires_grad=True)
    loss_u = heatmap_js_loss(uniform, target, weight, sigma)
    assert 0 < loss_u.item() < loss_far.item()
    loss_u.backward()
    assert torch.isfinite(uniform.grad).all() and torch.all(uniform.grad[:, 1] == 0)
    # 2D heat maps (B, J, H, W) work too; valid_mean divides by the one weighted joint
    assert heatmap_js_loss(far[:, :, 0], target, weight, sigma, "valid_mean").item() == pytest.approx(loss_far.item())


def test_heatmap_js_loss_errors() -> None:
    with pytest.raises(ValueError, match=r"logits"):
        heatmap_js_loss(torch.zeros(2, 3), torch.zeros(2, 1, 3), torch.zeros(2, 1, 3))
    with pytest.raises(ValueError, match=r"target"):
        heatmap_js_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 3), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match=r"sigma"):
        gaussian_heatmaps(torch.zeros(1, 2), 4, 4, 0.0)


# ------------------------------------------------------------------------------------------------ heat-map baseline
def test_gaussian_targets_peak_one_isotropic_and_masked() -> None:
    # joint 0 on cell (x=1, y=2, z=3) of an 8×4×4 (D×H×W) volume; joint 1 unknown (NaN label)
    coords = torch.tensor([[[1 / 4 - 0.5, 2 / 4 - 0.5, 3 / 8 - 0.5], [float("nan"), 0.0, 0.0]]])
    t = gaussian_targets(coords, (8, 4, 4), sigma=1.0)
    assert t.shape == (1, 2, 8, 4, 4) and t.dtype == torch.float32
    assert t[0, 0, 3, 2, 1].item() == 1.0 and t[0, 0].max().item() == 1.0
    # one cell away along any axis: exp(-1/2); isotropic in cells
    for cell in ((3, 2, 2), (3, 1, 1), (4, 2, 1), (2, 2, 1)):
        assert t[0, 0][cell].item() == pytest.approx(math.exp(-0.5))
    assert t[0, 0, 4, 3, 2].item() == pytest.approx(math.exp(-1.5))
    assert torch.all(t[0, 1] == 0)  # non-finite label → all-zero map
    # 2D maps from (B, J, 3) labels use x, y only; sub-cell centre (x = 1.5): the two nearest cells share the peak
    t2 = gaussian_targets(torch.tensor([[1.5 / 4 - 0.5, 0.0, 123.0]]), (4, 4), sigma=2.0)
    assert t2.shape == (1, 4, 4)
    assert t2[0, 2, 1].item() == pytest.approx(t2[0, 2, 2].item()) == pytest.approx(math.exp(-0.25 / 8))
    assert gaussian_targets(coords.double(), (8, 4, 4), 1.0).dtype == torch.float64


def test_gaussian_targets_errors() -> None:
    c = torch.zeros(1, 2, 3)
    with pytest.raises(ValueError, match=r"sigma"):
        gaussian_targets(c, (4, 4), 0.0)
    with pytest.raises(ValueError, match=r"sigma"):
        gaussian_targets(c, (4, 4), float("nan"))
    with pytest.raises(TypeError, match=r"sigma"):
        gaussian_targets(c, (4, 4), True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"shape"):
        gaussian_targets(c, (4,), 1.0)
    with pytest.raises(ValueError, match=r"coords_norm"):
        gaussian_targets(torch.zeros(1, 2, 2), (4, 4, 4), 1.0)
    with pytest.raises(TypeError, match=r"coords_norm"):
        gaussian_targets([[0.0, 0.0]], (4, 4), 1.0)  # type: ignore[arg-type]


def test_heatmap_mse_loss_zero_at_target_and_masked_joints_contribute_nothing() -> None:
    shape = (4, 8, 8)
    target = torch.tensor([[[0.1, -0.2, 0.05], [float("nan"), float("nan"), float("nan")], [0.2, 0.2, 0.3]]])
    weight = torch.tensor([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]])  # joint 2: a 2D-only label
    maps = gaussian_targets(torch.nan_to_num(target), shape, 1.5)
    maps[0, 1] = 5.0  # garbage on the masked joints
    maps[0, 2] = -3.0
    maps.requires_grad_(True)
    loss = heatmap_mse_loss(maps, target, weight, sigma=1.5)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.all(maps.grad == 0)
    # a 2D model counts joint 2 (x, y weighted): its garbage map now costs (3² + …) > 0
    maps2 = gaussian_targets(torch.nan_to_num(target), shape[1:], 1.5)
    assert heatmap_mse_loss(maps2, target, weight, sigma=1.5).item() == pytest.approx(0.0, abs=1e-12)
    maps2[0, 2] = -3.0
    assert heatmap_mse_loss(maps2, target, weight, sigma=1.5).item() > 9.0


def test_heatmap_mse_loss_hand_case() -> None:
    # one joint at cell (0, 0) of a 2×2 map, σ = 1: target [[1, e^-½], [e^-½, e^-1]]; prediction all zeros
    target = torch.tensor([[[-0.5, -0.5, 0.0]], [[0.0, 0.0, 0.0]]])
    weight = torch.tensor([[[1.0, 1.0, 0.0]], [[0.0, 1.0, 1.0]]])  # sample 1 masked (x weight 0)
    maps = torch.zeros(2, 1, 2, 2, requires_grad=True)
    mse = (1 + 2 * math.exp(-1) + math.exp(-2)) / 4
    loss = heatmap_mse_loss(maps, target, weight, sigma=1.0)
    assert loss.item() == pytest.approx(mse / 2)  # "batch": Σ over joints / B
    assert heatmap_mse_loss(maps, target, weight, 1.0, "valid_mean").item() == pytest.approx(mse)
    loss.backward()
    # d/dh of Σ_j w·mean((h − g)²) / B = 2(h − g) / (N·B)
    assert maps.grad[0, 0, 0, 0].item() == pytest.approx(2 * (0 - 1) / (4 * 2))
    assert torch.all(maps.grad[1] == 0)
    # a 3D volume with one depth bin is the same case (z at bin 0 → z_n = −0.5)
    vol = torch.zeros(1, 1, 1, 2, 2)
    t3, w3 = torch.tensor([[[-0.5, -0.5, -0.5]]]), torch.ones(1, 1, 3)
    assert heatmap_mse_loss(vol, t3, w3, 1.0).item() == pytest.approx(mse)


def test_heatmap_mse_loss_errors() -> None:
    t, w = torch.zeros(1, 2, 3), torch.ones(1, 2, 3)
    with pytest.raises(ValueError, match=r"heatmaps"):
        heatmap_mse_loss(torch.zeros(1, 2, 4), t, w)
    with pytest.raises(ValueError, match=r"target: expected shape \(1, 2, 3\)"):
        heatmap_mse_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 3), w)
    with pytest.raises(ValueError, match=r"weight"):
        heatmap_mse_loss(torch.zeros(1, 2, 4, 4), t, torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"normalisation"):
        heatmap_mse_loss(torch.zeros(1, 2, 4, 4), t, w, normalisation="mean")
    with pytest.raises(ValueError, match=r"sigma"):
        heatmap_mse_loss(torch.zeros(1, 2, 4, 4), t, w, sigma=-1.0)

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
    heatmap_js_loss,
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

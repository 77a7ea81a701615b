"""Argmax decoding of the heat-map baseline: one-hot peaks, the quarter-cell shift by hand, round trips through
the Gaussian targets, dtype policy and argument errors."""

from __future__ import annotations

import pytest
import torch

from integral_pose.geometry.heatmap import QUARTER_SHIFT, argmax_decode, argmax_decode_2d, argmax_decode_3d
from integral_pose.geometry.integral import soft_argmax_3d
from integral_pose.losses import gaussian_targets


def test_one_hot_volume_decodes_to_its_cell():
    d, h, w = 4, 5, 6
    hm = torch.zeros(2, 3, d, h, w)
    cells = [[(2, 1, 3), (0, 0, 0), (5, 4, 3)], [(1, 3, 2), (4, 2, 1), (3, 0, 2)]]  # (x, y, z) per joint
    for b, row in enumerate(cells):
        for j, (x, y, z) in enumerate(row):
            hm[b, j, z, y, x] = 1.0
    out = argmax_decode_3d(hm)
    assert out.shape == (2, 3, 3) and out.dtype == torch.float32
    assert out.tolist() == [[[float(v) for v in c] for c in row] for row in cells]
    # normalised output equals the soft-argmax of the same peak (same convention: cell i ↔ coordinate i)
    logits = torch.where(hm > 0, torch.zeros_like(hm), torch.full_like(hm, -1e4))
    torch.testing.assert_close(argmax_decode_3d(hm, normalized=True), soft_argmax_3d(logits, normalized=True))
    expected = torch.tensor([c for row in cells for c in row], dtype=torch.float32) / torch.tensor([w, h, d]) - 0.5
    torch.testing.assert_close(argmax_decode_3d(hm, normalized=True).reshape(-1, 3), expected)


def test_one_hot_map_decodes_to_its_cell_2d():
    hm = torch.zeros(1, 2, 3, 5)
    hm[0, 0, 2, 4] = 1.0
    hm[0, 1, 1, 2] = 3.0
    assert argmax_decode_2d(hm).tolist() == [[[4.0, 2.0], [2.0, 1.0]]]
    expected = torch.tensor([[[4 / 5 - 0.5, 2 / 3 - 0.5], [2 / 5 - 0.5, 1 / 3 - 0.5]]])
    torch.testing.assert_close(argmax_decode(hm, normalized=True), expected)


def test_quarter_shift_direction_by_hand():
    hm = torch.zeros(1, 1, 5, 5)
    hm[0, 0, 2, 2] = 1.0
    hm[0, 0, 2, 3] = 0.5  # right > left → x + 0.25
    hm[0, 0, 1, 2] = 0.3  # up > down → y − 0.25
    assert argmax_decode_2d(hm).tolist() == [[[2.25, 1.75]]]
    hm[0, 0, 2, 1] = 0.5  # left == right → no x shift
    hm[0, 0, 3, 2] = 0.6  # down > up → y + 0.25
    assert argmax_decode_2d(hm).tolist() == [[[2.0, 2.25]]]
    # on the border one neighbour is missing: no shift along that axis, whatever the other neighbour holds
    edge = torch.zeros(1, 1, 5, 5)
    edge[0, 0, 4, 0] = 1.0
    edge[0, 0, 4, 1] = 0.9
    edge[0, 0, 3, 0] = 0.9
    assert argmax_decode_2d(edge).tolist() == [[[0.0, 4.0]]]
    # 3D: each axis independently, depth included
    vol = torch.zeros(1, 1, 4, 4, 4)
    vol[0, 0, 2, 1, 1] = 1.0
    vol[0, 0, 1, 1, 1] = 0.4  # shallower neighbour higher → z − 0.25
    vol[0, 0, 2, 1, 2] = 0.2  # x + 0.25
    assert argmax_decode_3d(vol).tolist() == [[[1.0 + QUARTER_SHIFT, 1.0, 2.0 - QUARTER_SHIFT]]]


def _cells_to_norm(cells: torch.Tensor, sizes_xyz: tuple[int, ...]) -> torch.Tensor:
    return cells / torch.tensor([float(s) for s in sizes_xyz]) - 0.5


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_gaussian_targets_round_trip_within_a_quarter_cell(sigma: float):
    d, h, w = 8, 12, 10
    gen = torch.Generator().manual_seed(0)
    # interior positions (≥ 1 cell from the border: both neighbours of the peak exist)
    cells = torch.rand(2, 200, 3, generator=gen, dtype=torch.float64) * torch.tensor([w - 3.0, h - 3.0, d - 3.0]) + 1
    norm = _cells_to_norm(cells, (w, h, d))
    out = argmax_decode_3d(gaussian_targets(norm, (d, h, w), sigma))
    assert (out - cells).abs().max().item() <= QUARTER_SHIFT + 1e-9
    out2 = argmax_decode_2d(gaussian_targets(norm, (h, w), sigma))
    assert (out2 - cells[..., :2]).abs().max().item() <= QUARTER_SHIFT + 1e-9
    # normalised decode = decode / size − 0.5
    torch.testing.assert_close(argmax_decode_3d(gaussian_targets(norm, (d, h, w), sigma), normalized=True),
                               _cells_to_norm(out, (w, h, d)))  # fmt: skip


def test_exact_cell_and_quarter_positions_decode_exactly():
    d, h, w = 8, 8, 16  # powers of two (as real heat maps): the normalisation round-trips exactly, ties stay ties
    base = torch.tensor([[3.0, 4.0, 2.0], [1.0, 6.0, 4.0], [5.0, 2.0, 1.0]], dtype=torch.float64)
    for offset in (0.0, 0.25, -0.25):
        cells = (base + offset)[None]  # (1, 3, 3)
        hm = gaussian_targets(_cells_to_norm(cells, (w, h, d)), (d, h, w), 1.0)
        assert argmax_decode_3d(hm).tolist() == cells.tolist()
        hm2 = gaussian_targets(_cells_to_norm(cells, (w, h, d)), (h, w), 1.5)
        assert argmax_decode_2d(hm2).tolist() == cells[..., :2].tolist()


def test_dtype_policy_and_no_gradient():
    hm = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    out = argmax_decode_2d(hm)
    assert out.dtype == torch.float64 and not out.requires_grad
    assert argmax_decode_2d(hm.detach().to(torch.bfloat16)).dtype == torch.float32
    assert argmax_decode_3d(torch.rand(1, 2, 3, 4, 5, dtype=torch.float16)).dtype == torch.float32


def test_batch_and_joint_independence():
    gen = torch.Generator().manual_seed(1)
    hm = torch.rand(3, 4, 5, 6, 7, generator=gen)
    full = argmax_decode_3d(hm)
    for b in range(3):
        for j in range(4):
            torch.testing.assert_close(argmax_decode_3d(hm[b : b + 1, j : j + 1])[0, 0], full[b, j])


@pytest.mark.parametrize(
    ("fn", "arg", "exc", "match"),
    [
        (argmax_decode_3d, torch.zeros(1, 2, 4, 4), ValueError, r"\(B, J, D, H, W\)"),
        (argmax_decode_2d, torch.zeros(1, 2, 3, 4, 4), ValueError, r"\(B, J, H, W\)"),
        (argmax_decode, torch.zeros(2, 4, 4), ValueError, r"heatmaps: expected shape"),
        (argmax_decode_2d, torch.zeros(1, 2, 0, 4), ValueError, r"non-empty"),
        (argmax_decode_2d, torch.zeros(1, 2, 4, 4, dtype=torch.int64), TypeError, r"floating-point"),
        (argmax_decode, [[1.0]], TypeError, r"torch.Tensor"),
    ],
)
def test_bad_heatmaps(fn, arg, exc, match):
    with pytest.raises(exc, match=match):
        fn(arg)

"""The public integral functions trace under ``torch.export`` and give the eager numbers there."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from integral_pose.geometry.integral import (
    is_tracing_for_export,
    joint_confidence_3d,
    soft_argmax_2d,
    soft_argmax_3d,
)


class _Head(nn.Module):
    def __init__(self, beta: float, debias: bool) -> None:
        super().__init__()
        self.beta = beta
        self.debias = debias

    def forward(self, vol: torch.Tensor, hm: torch.Tensor) -> tuple[torch.Tensor, ...]:
        coords = soft_argmax_3d(vol, beta=self.beta)
        normed = soft_argmax_3d(vol, beta=self.beta, debias=self.debias, normalized=True)
        scores = joint_confidence_3d(vol, beta=self.beta, coords=coords)
        xy = soft_argmax_2d(hm, beta=self.beta, debias=self.debias, normalized=True)
        return coords, normed, scores, xy


@pytest.mark.parametrize(("beta", "debias"), [(1.0, False), (2.5, True)])
def test_public_functions_trace_under_torch_export(beta: float, debias: bool) -> None:
    torch.manual_seed(0)
    vol = torch.randn(2, 3, 4, 5, 6) * 3
    hm = torch.randn(2, 3, 5, 6) * 3
    head = _Head(beta, debias)
    exported = torch.export.export(head, (vol, hm))
    vol2 = torch.randn(2, 3, 4, 5, 6) * 3  # fresh values: the graph is not specialised on the traced ones
    hm2 = torch.randn(2, 3, 5, 6) * 3
    got = exported.module()(vol2, hm2)
    want = head(vol2, hm2)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        torch.testing.assert_close(g, w, rtol=0, atol=1e-5)


def test_not_exporting_in_eager_code() -> None:
    assert is_tracing_for_export() is False


def test_confidence_with_given_coords_equals_computed_and_checks_shape() -> None:
    torch.manual_seed(1)
    vol = torch.randn(2, 3, 4, 5, 6) * 4
    coords = soft_argmax_3d(vol, beta=1.5)
    torch.testing.assert_close(
        joint_confidence_3d(vol, beta=1.5, coords=coords), joint_confidence_3d(vol, beta=1.5), rtol=0, atol=0
    )
    with pytest.raises(ValueError, match=r"coords: expected shape \(2, 3, 3\)"):
        joint_confidence_3d(vol, coords=coords[:, :2])

"""Detection-based decoding (the paper's heat-map baseline): heat maps → argmax joint coordinates.

The heat-map baseline of Sun et al. (2018, Table 1) trains the same network as the integral model against
Gaussian target maps and reads joints out of its heat maps by taking the maximum, as detection-based methods do
(Newell et al. 2016; Xiao et al. 2018, "SimpleBaseline"). :func:`argmax_decode_2d` / :func:`argmax_decode_3d`
implement that readout with the usual quarter-cell refinement:

* The argmax cell of each joint's map (H×W) or volume (D×H×W); on ties the first cell in row-major order.
* Along every axis, the coordinate moves by ``+0.25`` cell when the next cell along that axis is higher than the
  previous one, by ``−0.25`` when it is lower, and stays when they are equal or when the argmax sits on the
  first or last cell of the axis (one neighbour missing; SimpleBaseline's ``1 < px < W − 1`` rule).

Coordinates follow the integral op's conventions (:mod:`integral_pose.geometry.integral`, DESIGN §3): cell ``i``
has coordinate ``i``, the output order is ``(x, y, z)`` = ``(W, H, D)`` axes, and normalised coordinates are
``x / W − 0.5``, ``y / H − 0.5``, ``z / D − 0.5`` — so a one-hot peak at cell ``i`` decodes to exactly ``i``,
the same value the soft-argmax gives. The result is piecewise constant in the input (no gradient); the heat-map
baseline is trained with :func:`integral_pose.losses.heatmap_mse_loss` instead.

Example:
    >>> import torch
    >>> hm = torch.zeros(1, 1, 4, 5, 6)
    >>> hm[0, 0, 3, 1, 2] = 1.0  # depth 3, row 1, column 2
    >>> argmax_decode_3d(hm).tolist()
    [[[2.0, 1.0, 3.0]]]
    >>> hm[0, 0, 3, 1, 3] = 0.5  # right neighbour higher than the left one: x moves a quarter cell right
    >>> argmax_decode_3d(hm).tolist()
    [[[2.25, 1.0, 3.0]]]
"""

from __future__ import annotations

from typing import Any

import torch

from integral_pose.geometry.integral import _check_logits, normalize_coords

__all__ = ["QUARTER_SHIFT", "argmax_decode", "argmax_decode_2d", "argmax_decode_3d"]

#: Shift (in cells) towards the higher neighbour applied after the argmax.
QUARTER_SHIFT = 0.25


def _check_heatmaps(heatmaps: Any, ndim: int) -> None:
    """The integral op's input check (tensor, float, ``ndim`` dims, none empty), naming ``heatmaps``."""
    _check_logits(heatmaps, ndim, name="heatmaps")


def argmax_decode(heatmaps: torch.Tensor, normalized: bool = False) -> torch.Tensor:
    """Argmax + quarter-cell shift over the trailing spatial axes of 2D maps or 3D volumes.

    Args:
        heatmaps: (B, J, H, W) maps or (B, J, D, H, W) volumes (any float dtype, any device). Values are
            compared only, so logits, scores or probabilities give the same result.
        normalized: return ``c / N − 0.5`` per axis instead of cell units.

    Returns:
        (B, J, 2) ``(x, y)`` or (B, J, 3) ``(x, y, z)`` coordinates in cells, in ``[0, N − 1]`` per axis (or
        normalised to ``[−0.5, 0.5 − 1/N]``); float32 (float64 for float64 input); no gradient.

    Raises:
        TypeError: not a floating-point tensor.
        ValueError: not 4-D or 5-D, or an empty dimension.
    """
    if not isinstance(heatmaps, torch.Tensor):
        raise TypeError(f"heatmaps: expected a torch.Tensor, got {type(heatmaps).__name__}")
    if heatmaps.ndim not in (4, 5):
        raise ValueError(f"heatmaps: expected shape (B, J, H, W) or (B, J, D, H, W), got {tuple(heatmaps.shape)}")
    _check_heatmaps(heatmaps, heatmaps.ndim)
    b, j = heatmaps.shape[:2]
    spatial = tuple(int(s) for s in heatmaps.shape[2:])  # ([D,] H, W), slowest axis first
    cdtype = torch.float64 if heatmaps.dtype == torch.float64 else torch.float32
    with torch.no_grad():
        flat = heatmaps.detach().reshape(b * j, -1)  # (R, [D·]H·W)
        top = flat.argmax(dim=1)  # (R,) flat index of the peak (first one on ties)
        coords = []
        stride = 1
        for n in reversed(spatial):  # x (W, stride 1), then y (H, stride W), then z (D, stride H·W)
            i = (top // stride) % n  # (R,) cell index along this axis
            inside = (i > 0) & (i < n - 1)  # both neighbours exist
            prev_idx = torch.where(inside, top - stride, top)
            next_idx = torch.where(inside, top + stride, top)
            prev = flat.gather(1, prev_idx[:, None])[:, 0].to(cdtype)
            nxt = flat.gather(1, next_idx[:, None])[:, 0].to(cdtype)
            shift = torch.sign(nxt - prev) * QUARTER_SHIFT  # 0 where equal (and where not inside: prev = next)
            coords.append(i.to(cdtype) + torch.nan_to_num(shift, nan=0.0))
            stride *= n
        out = torch.stack(coords, dim=1).reshape(b, j, len(spatial))  # (B, J, A) in (x, y[, z]) order
    return normalize_coords(out, tuple(reversed(spatial))) if normalized else out


def argmax_decode_2d(heatmaps: torch.Tensor, normalized: bool = False) -> torch.Tensor:
    """Argmax decode of 2D heat maps.

    Args:
        heatmaps: (B, J, H, W).
        normalized: return ``x / W − 0.5``, ``y / H − 0.5`` instead of cells.

    Returns:
        (B, J, 2) ``(x, y)`` = (column, row), float32 (float64 for float64 input).

    Example:
        >>> import torch
        >>> hm = torch.zeros(1, 1, 3, 5); hm[0, 0, 2, 4] = 1.0
        >>> argmax_decode_2d(hm).tolist()  # the last column and row: no neighbour on one side, no shift
        [[[4.0, 2.0]]]
    """
    _check_heatmaps(heatmaps, 4)
    return argmax_decode(heatmaps, normalized=normalized)


def argmax_decode_3d(heatmaps: torch.Tensor, normalized: bool = False) -> torch.Tensor:
    """Argmax decode of 3D heat-map volumes.

    Args:
        heatmaps: (B, J, D, H, W) (channel ``j·D + d`` of the head output is depth ``d`` of joint ``j``; see
            :func:`integral_pose.geometry.integral.logits_to_volume`).
        normalized: return ``x / W − 0.5``, ``y / H − 0.5``, ``z / D − 0.5`` instead of cells.

    Returns:
        (B, J, 3) ``(x, y, z)``, float32 (float64 for float64 input).
    """
    _check_heatmaps(heatmaps, 5)
    return argmax_decode(heatmaps, normalized=normalized)

"""Training losses on normalised coordinates, and the optional heat-map regulariser.

* :func:`coordinate_loss` — the original system's weighted L1 (or L2): Σ over joints × (x, y, z) of
  w·|pred − target| (or w·(pred − target)²), divided by the batch size (``"batch"``, as the original), or by the
  number of entries with non-zero weight (``"valid_mean"``). ``w`` is the per-coordinate visibility: z has weight
  0 for 2D datasets, and joints a dataset lacks have weight 0.
* :func:`heatmap_js_loss` — the DSNT regulariser (Nibali et al., 2018): Jensen-Shannon divergence between each
  joint's 2D marginal heat map and a normalised Gaussian centred at the target, weighted like the coordinates.
* :func:`heatmap_mse_loss` — the training loss of the detection-based heat-map baseline (``model.arch:
  heatmap``): mean squared error between the raw heat maps and unnormalised Gaussians of peak 1 centred at the
  targets (:func:`gaussian_targets`), weighted per joint.

Coordinates are ``(B, J, 3)`` in the label space ``x_n = x/W − 0.5`` etc. (see ``data.codec``); entries with zero
weight may hold NaN targets (they are masked before use).

Example:
    >>> import torch
    >>> pred = torch.zeros(2, 1, 3); target = torch.full((2, 1, 3), 0.1); w = torch.ones(2, 1, 3)
    >>> round(coordinate_loss(pred, target, w).item(), 6)  # (2 samples · 3 · 0.1) / 2
    0.3
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "coordinate_l1",
    "coordinate_l2",
    "coordinate_loss",
    "gaussian_heatmaps",
    "gaussian_targets",
    "heatmap_js_loss",
    "heatmap_mse_loss",
    "js_divergence",
]

_NORMALISATIONS = ("batch", "valid_mean")


def _check_coords(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> None:
    if pred.ndim != 3 or pred.shape[-1] not in (2, 3):
        raise ValueError(f"pred: expected shape (B, J, 3), got {tuple(pred.shape)}")
    if target.shape != pred.shape:
        raise ValueError(f"target: expected shape {tuple(pred.shape)} (as pred), got {tuple(target.shape)}")
    if weight.shape != pred.shape:
        raise ValueError(f"weight: expected shape {tuple(pred.shape)} (as pred), got {tuple(weight.shape)}")


def coordinate_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    kind: str = "l1",
    normalisation: str = "batch",
) -> torch.Tensor:
    """Weighted L1/L2 between predicted and target normalised coordinates.

    Args:
        pred: (B, J, 3) predictions.
        target: (B, J, 3) targets (NaN allowed where ``weight`` is 0).
        weight: (B, J, 3) per-coordinate weights (0/1 visibility).
        kind: ``"l1"`` (|d|) or ``"l2"`` (d²).
        normalisation: ``"batch"`` — Σ w·err / B (the original); ``"valid_mean"`` — Σ w·err / #(w > 0)
            (0 when nothing is weighted).

    Returns:
        Scalar loss in the dtype of ``pred`` (float32 for lower precision input).
    """
    _check_coords(pred, target, weight)
    if kind not in ("l1", "l2"):
        raise ValueError(f"kind: expected 'l1' or 'l2', got {kind!r}")
    if normalisation not in _NORMALISATIONS:
        raise ValueError(f"normalisation: expected one of {list(_NORMALISATIONS)}, got {normalisation!r}")
    dtype = torch.promote_types(pred.dtype, torch.float32)
    p, w = pred.to(dtype), weight.to(dtype)
    valid = w != 0
    t = torch.where(valid, target.to(dtype), p.detach())  # masked entries contribute exactly 0, even if NaN
    diff = p - t
    err = diff.abs() if kind == "l1" else diff * diff
    total = (err * w).sum()
    if normalisation == "batch":
        return total / pred.shape[0]
    return total / valid.sum().clamp(min=1).to(dtype)


def coordinate_l1(
    pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, normalisation: str = "batch"
) -> torch.Tensor:
    """:func:`coordinate_loss` with ``kind="l1"`` (the original's loss)."""
    return coordinate_loss(pred, target, weight, "l1", normalisation)


def coordinate_l2(
    pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, normalisation: str = "batch"
) -> torch.Tensor:
    """:func:`coordinate_loss` with ``kind="l2"``."""
    return coordinate_loss(pred, target, weight, "l2", normalisation)


def js_divergence(p: torch.Tensor, q: torch.Tensor, dims: tuple[int, ...] = (-2, -1)) -> torch.Tensor:
    """Jensen-Shannon divergence (natural log, in [0, ln 2]) between distributions summing to 1 over ``dims``.

    JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = ½ (p + q); terms with zero mass contribute 0.
    """
    if p.shape != q.shape:
        raise ValueError(f"q: expected shape {tuple(p.shape)} (as p), got {tuple(q.shape)}")
    m = 0.5 * (p + q)

    def _kl(a: torch.Tensor) -> torch.Tensor:
        ratio = torch.where(a > 0, a / m.clamp_min(torch.finfo(a.dtype).tiny), torch.ones_like(a))
        return (a * torch.log(ratio)).sum(dim=dims)

    return 0.5 * _kl(p) + 0.5 * _kl(q)


def _check_sigma(sigma: float) -> float:
    if isinstance(sigma, bool):
        raise TypeError(f"sigma: expected a float (heat-map cells), got {type(sigma).__name__}")
    try:
        value = float(sigma)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"sigma: expected a float (heat-map cells), got {type(sigma).__name__}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"sigma: expected a finite value > 0 (heat-map cells), got {sigma}")
    return value


def _gaussian_exponent(centres: torch.Tensor, shape: tuple[int, ...], sigma: float) -> torch.Tensor:
    """``−‖c − centre‖² / (2σ²)`` on the grid ``shape`` = ([D,] H, W), cell i at coordinate i.

    ``centres`` is (..., A) in cells, coordinate order (x, y[, z]) with A = len(shape); the result is
    (..., [D,] H, W), built separably (one broadcast sum of per-axis terms).
    """
    a = len(shape)
    out: torch.Tensor | None = None
    for k in range(a):  # coordinate k (x, y, z) runs along grid axis a − 1 − k (W, H, D)
        n = shape[a - 1 - k]
        idx = torch.arange(n, device=centres.device, dtype=centres.dtype)
        term = -((idx - centres[..., k : k + 1]) ** 2) / (2 * sigma**2)  # (..., n)
        term = term.reshape(*term.shape[:-1], *([1] * (a - 1 - k)), n, *([1] * k))  # n at axis a − 1 − k
        out = term if out is None else out + term
    assert out is not None
    return out


def gaussian_heatmaps(centres: torch.Tensor, height: int, width: int, sigma: float) -> torch.Tensor:
    """Normalised Gaussians on an H×W grid (cell i at coordinate i).

    Args:
        centres: (..., 2) centres (x, y) in heat-map cells.
        height: H.
        width: W.
        sigma: standard deviation in cells (> 0).

    Returns:
        (..., H, W) maps, each summing to 1.
    """
    sigma = _check_sigma(sigma)
    logits = _gaussian_exponent(centres[..., :2], (height, width), sigma)  # (..., H, W)
    flat = torch.softmax(logits.flatten(-2), dim=-1)
    return flat.reshape(logits.shape)


def gaussian_targets(coords_norm: torch.Tensor, shape: Sequence[int], sigma: float) -> torch.Tensor:
    """Heat-map targets of the detection-based baseline: unnormalised Gaussians of peak 1 at the joints.

    The centre of joint (x_n, y_n[, z_n]) in cells is ``u = (x_n + 0.5)·W``, ``v = (y_n + 0.5)·H``,
    ``d = (z_n + 0.5)·D`` — the inverse of the soft-argmax normalisation, cell i at coordinate i — kept at
    sub-cell precision (not rounded to a cell). The map is ``exp(−‖c − centre‖² / (2σ²))`` sampled at the cell
    coordinates c: exactly 1 at the centre cell for a joint on a cell, isotropic in cells (the same σ along x, y
    and z). Joints with a non-finite coordinate among those used (NaN labels of unknown joints) get an all-zero
    map.

    Args:
        coords_norm: (..., A') normalised coordinates (x, y[, z]) in ``[−0.5, 0.5)``; the first ``len(shape)``
            entries are used (so (B, J, 3) labels work for 2D maps).
        shape: ``(H, W)`` for 2D maps or ``(D, H, W)`` for 3D volumes, in cells.
        sigma: standard deviation in heat-map cells (> 0).

    Returns:
        (..., H, W) or (..., D, H, W) maps in [0, 1], float32 (float64 for float64 input).

    Example:
        >>> import torch
        >>> t = gaussian_targets(torch.tensor([[-0.25, 0.0]]), (4, 4), sigma=1.0)  # cell (x=1, y=2)
        >>> t.shape, t[0, 2, 1].item()
        (torch.Size([1, 4, 4]), 1.0)
    """
    if not isinstance(coords_norm, torch.Tensor):
        raise TypeError(f"coords_norm: expected a torch.Tensor, got {type(coords_norm).__name__}")
    dims = tuple(int(n) for n in shape)
    if len(dims) not in (2, 3) or any(n < 1 for n in dims):
        raise ValueError(f"shape: expected (H, W) or (D, H, W) of positive sizes, got {tuple(shape)}")
    a = len(dims)
    if coords_norm.ndim < 1 or coords_norm.shape[-1] < a:
        raise ValueError(
            f"coords_norm: expected shape (..., {a}) or more coordinates for a {a}D grid, "
            f"got {tuple(coords_norm.shape)}"
        )
    sigma = _check_sigma(sigma)
    dtype = torch.promote_types(coords_norm.dtype, torch.float32)
    sizes = torch.tensor([float(n) for n in reversed(dims)], device=coords_norm.device, dtype=dtype)  # W, H[, D]
    c = coords_norm[..., :a].to(dtype)
    finite = torch.isfinite(c).all(dim=-1)  # (...,)
    centres = (torch.where(finite[..., None], c, torch.zeros_like(c)) + 0.5) * sizes  # (..., A) cells
    maps = torch.exp(_gaussian_exponent(centres, dims, sigma))
    return maps * finite.reshape(*finite.shape, *([1] * a)).to(dtype)


def _check_heatmap_labels(
    target: torch.Tensor, weight: torch.Tensor, b: int, j: int, axes: int, normalisation: str
) -> None:
    """Shared argument checks of the heat-map losses: (B, J, ≥axes) targets, weights of the same shape."""
    if target.ndim != 3 or target.shape[:2] != (b, j) or target.shape[-1] < axes:
        raise ValueError(f"target: expected shape ({b}, {j}, 3), got {tuple(target.shape)}")
    if weight.shape != target.shape:
        raise ValueError(f"weight: expected shape {tuple(target.shape)} (as target), got {tuple(weight.shape)}")
    if normalisation not in _NORMALISATIONS:
        raise ValueError(f"normalisation: expected one of {list(_NORMALISATIONS)}, got {normalisation!r}")


def heatmap_js_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    sigma: float = 1.0,
    normalisation: str = "batch",
) -> torch.Tensor:
    """DSNT-style regulariser: JS divergence between each joint's xy marginal and a Gaussian at the target.

    Args:
        logits: (B, J, D, H, W) volume logits or (B, J, H, W) 2D heat-map logits; the softmax runs over all
            cells of a joint (as the integral op), and the xy marginal sums over D.
        target: (B, J, 2+) normalised targets; x, y are used (cell = (x_n + 0.5)·W, (y_n + 0.5)·H).
        weight: (B, J, 2+) weights; a joint counts with weight min(w_x, w_y).
        sigma: Gaussian std in heat-map cells.
        normalisation: ``"batch"`` (Σ / B) or ``"valid_mean"`` (Σ / #weighted joints).

    Returns:
        Scalar loss (float32 or float64), in [0, ln 2 · J] per sample for ``"batch"``.
    """
    if logits.ndim not in (4, 5):
        raise ValueError(f"logits: expected (B, J, D, H, W) or (B, J, H, W), got {tuple(logits.shape)}")
    b, j = logits.shape[:2]
    h, w = logits.shape[-2:]
    _check_heatmap_labels(target, weight, b, j, 2, normalisation)
    dtype = torch.promote_types(logits.dtype, torch.float32)
    flat = logits.to(dtype).reshape(b, j, -1)
    p = torch.softmax(flat, dim=-1).reshape(b, j, -1, h, w).sum(dim=2)  # (B, J, H, W)
    wj = torch.minimum(weight[..., 0], weight[..., 1]).to(dtype)  # (B, J)
    valid = wj != 0
    xy = target[..., :2].to(dtype)
    xy = torch.where(valid[..., None], xy, torch.zeros_like(xy))
    centres = torch.stack([(xy[..., 0] + 0.5) * w, (xy[..., 1] + 0.5) * h], dim=-1)  # (B, J, 2) cells
    q = gaussian_heatmaps(centres, h, w, sigma)
    js = js_divergence(p, q)  # (B, J)
    total = (js * wj).sum()
    if normalisation == "batch":
        return total / b
    return total / valid.sum().clamp(min=1).to(dtype)


def heatmap_mse_loss(
    heatmaps: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    sigma: float = 1.0,
    normalisation: str = "batch",
) -> torch.Tensor:
    """Training loss of the heat-map baseline: per-joint MSE against Gaussian targets, weighted per joint.

    For every joint, ``mse_j = mean over cells of (heatmap − gaussian_targets(target))²`` on the raw model output
    (no softmax), as SimpleBaseline's ``JointsMSELoss`` (without its factor ½). A joint counts with weight
    ``min(w_x, w_y)`` for 2D maps and ``min(w_x, w_y, w_z)`` for 3D volumes, so a joint of a 2D-only sample
    (z weight 0) contributes nothing to a 3D model, and joints a dataset lacks (weight 0, possibly NaN targets)
    have a zero target map and zero weight.

    Args:
        heatmaps: (B, J, H, W) 2D maps or (B, J, D, H, W) volumes (any float dtype; computed in float32, or
            float64 for float64 input).
        target: (B, J, 3) normalised targets (x_n, y_n, z_n) in ``[−0.5, 0.5)`` (z unused for 2D maps).
        weight: (B, J, 3) per-coordinate weights (0/1 visibility).
        sigma: Gaussian standard deviation in heat-map cells (> 0), the same along every axis.
        normalisation: ``"batch"`` — Σ_joints w·mse / B (the coordinate loss's convention); ``"valid_mean"`` —
            Σ w·mse / #(joints with w > 0) (0 when nothing is weighted).

    Returns:
        Scalar loss (float32, or float64 for float64 input); 0 when the heat maps equal the targets.

    Example:
        >>> import torch
        >>> t = torch.zeros(1, 1, 3); w = torch.ones(1, 1, 3)
        >>> hm = gaussian_targets(t, (8, 8, 8), sigma=1.0)  # (1, 1, 8, 8, 8)
        >>> heatmap_mse_loss(hm, t, w).item()
        0.0
    """
    if not isinstance(heatmaps, torch.Tensor) or heatmaps.ndim not in (4, 5):
        got = tuple(heatmaps.shape) if isinstance(heatmaps, torch.Tensor) else type(heatmaps).__name__
        raise ValueError(f"heatmaps: expected (B, J, H, W) or (B, J, D, H, W), got {got}")
    b, j = heatmaps.shape[:2]
    spatial = tuple(int(s) for s in heatmaps.shape[2:])
    a = len(spatial)
    _check_heatmap_labels(target, weight, b, j, a, normalisation)
    dtype = torch.promote_types(heatmaps.dtype, torch.float32)
    wj = weight[..., :a].to(dtype).amin(dim=-1)  # (B, J)
    valid = wj != 0
    t = target[..., :a].to(dtype).masked_fill(~valid[..., None], math.nan)  # masked joints → NaN → zero maps
    goal = gaussian_targets(t, spatial, sigma)  # (B, J, [D,] H, W)
    diff = heatmaps.to(dtype) - goal
    mse = (diff * diff).flatten(2).mean(dim=2)  # (B, J)
    total = (mse * wj).sum()
    if normalisation == "batch":
        return total / b
    return total / valid.sum().clamp(min=1).to(dtype)

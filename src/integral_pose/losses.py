"""Training losses on normalised coordinates, and the optional heat-map regulariser.

* :func:`coordinate_loss` — the original system's weighted L1 (or L2): Σ over joints × (x, y, z) of
  w·|pred − target| (or w·(pred − target)²), divided by the batch size (``"batch"``, as the original), or by the
  number of entries with non-zero weight (``"valid_mean"``). ``w`` is the per-coordinate visibility: z has weight
  0 for 2D datasets, and joints a dataset lacks have weight 0.
* :func:`heatmap_js_loss` — the DSNT regulariser (Nibali et al., 2018): Jensen-Shannon divergence between each
  joint's 2D marginal heat map and a normalised Gaussian centred at the target, weighted like the coordinates.

Coordinates are ``(B, J, 3)`` in the label space ``x_n = x/W − 0.5`` etc. (see ``data.codec``); entries with zero
weight may hold NaN targets (they are masked before use).

Example:
    >>> import torch
    >>> pred = torch.zeros(2, 1, 3); target = torch.full((2, 1, 3), 0.1); w = torch.ones(2, 1, 3)
    >>> round(coordinate_loss(pred, target, w).item(), 6)  # (2 samples · 3 · 0.1) / 2
    0.3
"""

from __future__ import annotations

import torch

__all__ = [
    "coordinate_l1",
    "coordinate_l2",
    "coordinate_loss",
    "gaussian_heatmaps",
    "heatmap_js_loss",
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
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    xs = torch.arange(width, device=centres.device, dtype=centres.dtype)
    ys = torch.arange(height, device=centres.device, dtype=centres.dtype)
    gx = -((xs - centres[..., 0:1]) ** 2) / (2 * sigma**2)  # (..., W)
    gy = -((ys - centres[..., 1:2]) ** 2) / (2 * sigma**2)  # (..., H)
    logits = gy[..., :, None] + gx[..., None, :]  # (..., H, W)
    flat = torch.softmax(logits.flatten(-2), dim=-1)
    return flat.reshape(logits.shape)


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
    if target.ndim != 3 or target.shape[:2] != (b, j) or target.shape[-1] < 2:
        raise ValueError(f"target: expected shape ({b}, {j}, 3), got {tuple(target.shape)}")
    if weight.shape != target.shape:
        raise ValueError(f"weight: expected shape {tuple(target.shape)} (as target), got {tuple(weight.shape)}")
    if normalisation not in _NORMALISATIONS:
        raise ValueError(f"normalisation: expected one of {list(_NORMALISATIONS)}, got {normalisation!r}")
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

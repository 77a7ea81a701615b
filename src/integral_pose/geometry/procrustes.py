"""Batched Procrustes alignment of point sets: similarity (scale, rotation, translation), rigid, scale-only.

Convention: for source points ``X`` (N, J, 3) and target points ``Y`` (N, J, 3) the fitted transform maps rows as
``aligned = s · X @ Rᵀ + t`` (``R`` acts on column vectors, ``det R = +1``: reflections are excluded), minimising
``Σ_j w_j ‖aligned_j − Y_j‖²``. Everything is vectorised over N (NumPy batched SVD) and computed in float64;
inputs are processed in chunks so a million frames fit in memory.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(1, 5, 3))
    >>> s, R, t = fit_similarity(X, 2.0 * X + 1.0)
    >>> bool(np.allclose(s, 2.0) and np.allclose(R, np.eye(3)) and np.allclose(t, 1.0))
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "align_rigid",
    "align_scale",
    "align_similarity",
    "apply_similarity",
    "fit_similarity",
]

_CHUNK = 200_000


def _pair_arrays(src: Any, dst: Any, names: tuple[str, str] = ("src", "dst")) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for arr, name in zip((src, dst), names):
        if isinstance(arr, str | bytes) or arr is None:
            raise TypeError(f"{name}: expected a numeric array (N, J, 3), got {type(arr).__name__}")
        a = np.asarray(arr)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
        if a.ndim != 3 or a.shape[-1] != 3:
            raise ValueError(f"{name}: expected shape (N, J, 3), got {a.shape}")
        if np.isnan(a).any():
            raise ValueError(f"{name}: expected no NaN values, got {int(np.isnan(a).sum())} NaN entries")
        out.append(a.astype(np.float64, copy=False))
    if out[0].shape != out[1].shape:
        raise ValueError(f"{names[1]}: expected the shape of {names[0]} {out[0].shape}, got {out[1].shape}")
    if out[0].shape[1] < 1:
        raise ValueError(f"{names[0]}: expected at least one joint, got shape {out[0].shape}")
    return out[0], out[1]


def _weights(weights: Any, n: int, j: int) -> np.ndarray:
    if weights is None:
        return np.ones((n, j))
    w = np.asarray(weights, dtype=np.float64)
    if w.shape == (j,):
        w = np.broadcast_to(w, (n, j))
    if w.shape != (n, j):
        raise ValueError(f"weights: expected shape ({n}, {j}) or ({j},), got {w.shape}")
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError("weights: expected non-negative values without NaN")
    if (w.sum(-1) <= 0).any():
        raise ValueError("weights: expected a positive total weight in every frame")
    return w


def _fit_chunk(X: np.ndarray, Y: np.ndarray, w: np.ndarray, scale: bool) -> tuple[np.ndarray, ...]:
    wn = w / w.sum(-1, keepdims=True)  # (n, J)
    mx = (wn[:, None, :] @ X)[:, 0]  # (n, 3) weighted centroids
    my = (wn[:, None, :] @ Y)[:, 0]
    A = X - mx[:, None]
    B = Y - my[:, None]
    H = (A * wn[..., None]).transpose(0, 2, 1) @ B  # (n, 3, 3) cross-covariance Σ w a bᵀ
    U, S, Vt = np.linalg.svd(H)
    # rotation R = V·diag(1, 1, d)·Uᵀ, d = sign det(V Uᵀ) = det(U)·det(V) removes reflections
    d = np.sign(np.linalg.det(U) * np.linalg.det(Vt))
    d = np.where(d == 0, 1.0, d)
    D = np.ones((X.shape[0], 3))
    D[:, 2] = d
    R = (Vt.transpose(0, 2, 1) * D[:, None, :]) @ U.transpose(0, 2, 1)
    if scale:
        var = (wn * (A * A).sum(-1)).sum(-1)
        s = (S * D).sum(-1) / np.where(var > 0, var, 1.0)
        s = np.where(var > 0, s, 1.0)
    else:
        s = np.ones(X.shape[0])
    t = my - s[:, None] * (R @ mx[..., None])[..., 0]
    return s, R, t


def fit_similarity(
    src: np.ndarray, dst: np.ndarray, scale: bool = True, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity (or rigid, ``scale=False``) transform taking ``src`` onto ``dst``.

    Args:
        src: (N, J, 3) points to move (e.g. predictions), any unit.
        dst: (N, J, 3) target points (e.g. ground truth), same unit.
        scale: fit the scale ``s`` (similarity, Umeyama); ``False`` fixes ``s = 1`` (rigid, Kabsch).
        weights: (N, J) or (J,) non-negative per-joint weights; all ones when ``None``.

    Returns:
        ``(s (N,), R (N, 3, 3), t (N, 3))`` with ``dst ≈ s · src @ Rᵀ + t`` and ``det R = +1``.
    """
    X, Y = _pair_arrays(src, dst)
    n, j = X.shape[:2]
    w = _weights(weights, n, j)
    s = np.empty(n)
    R = np.empty((n, 3, 3))
    t = np.empty((n, 3))
    for i in range(0, n, _CHUNK):
        sl = slice(i, i + _CHUNK)
        s[sl], R[sl], t[sl] = _fit_chunk(X[sl], Y[sl], w[sl], scale)
    return s, R, t


def apply_similarity(points: np.ndarray, s: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``s · points @ Rᵀ + t`` for points (N, J, 3), s (N,), R (N, 3, 3), t (N, 3)."""
    P = np.asarray(points, dtype=np.float64)
    return np.asarray(s, dtype=np.float64)[:, None, None] * (P @ np.swapaxes(R, 1, 2)) + np.asarray(t)[:, None]


def align_similarity(pred: np.ndarray, gt: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``pred`` (N, J, 3) after the similarity Procrustes fit onto ``gt`` (scale, rotation, translation)."""
    s, R, t = fit_similarity(pred, gt, scale=True, weights=weights)
    return apply_similarity(pred, s, R, t)


def align_rigid(pred: np.ndarray, gt: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``pred`` (N, J, 3) after a rigid fit (rotation + translation, no scale) onto ``gt``."""
    s, R, t = fit_similarity(pred, gt, scale=False, weights=weights)
    return apply_similarity(pred, s, R, t)


def align_scale(pred: np.ndarray, gt: np.ndarray, root: int | None = 0) -> np.ndarray:
    """``pred`` (N, J, 3) root-centred (when ``root`` is not None) and scaled by ``s = ⟨P, G⟩ / ⟨P, P⟩``.

    The scale minimises ``‖s·P − G‖²`` over all joints of the root-centred poses (N-MPJPE, Rhodin et al. 2018).
    The scaled pose is placed on the ground-truth root, so it can be compared with ``gt`` directly.
    """
    P, G = _pair_arrays(pred, gt, ("pred", "gt"))
    if root is not None:
        _check_root(root, P.shape[1])
        P = P - P[:, root : root + 1]
        G0 = G[:, root : root + 1]
        G = G - G0
    else:
        G0 = np.zeros((P.shape[0], 1, 3))
    num = np.einsum("njk,njk->n", P, G)
    den = np.einsum("njk,njk->n", P, P)
    s = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return s[:, None, None] * P + G0


def _check_root(root: int, j: int) -> None:
    if isinstance(root, bool) or not isinstance(root, int | np.integer) or not (0 <= root < j):
        raise ValueError(f"root: expected a joint index in [0, {j}), got {root!r}")

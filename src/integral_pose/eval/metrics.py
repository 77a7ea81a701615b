"""3D pose metrics: MPJPE family, per-joint / per-group / per-action aggregation, 3D-PCK and AUC.

All functions take ``(pred, gt)`` arrays ``(N, J, 3)`` in the same unit (mm throughout this project) and return
per-frame values ``(N,)`` (or per-joint ``(N, J)``) in that unit, so callers can aggregate however a protocol
requires. Everything is vectorised over frames (float64 inside).

* :func:`mpjpe` — mean per-joint position error after root alignment (both poses translated so their root joints
  coincide). The root itself contributes 0, as in the original system's ``17j`` figure.
* :func:`pa_mpjpe` — after a similarity Procrustes fit (scale, rotation, translation; no reflections).
* :func:`n_mpjpe` — after root alignment and the least-squares scale only (Rhodin et al. 2018).
* :func:`rigid_mpjpe` — the original system's ``align``: rigid fit (rotation + translation, no scale) over all
  joints, then both poses root-centred.

Example:
    >>> import numpy as np
    >>> gt = np.zeros((1, 2, 3)); gt[0, 1] = [0, 0, 100.0]
    >>> pred = gt.copy(); pred[0, 1, 0] += 30.0
    >>> mpjpe(pred, gt).tolist()   # (0 + 30) / 2
    [15.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from integral_pose.geometry.procrustes import _check_root, _pair_arrays, align_rigid, align_scale, align_similarity
from integral_pose.skeletons import H36M_GROUPS

__all__ = [
    "ALIGNMENTS",
    "PCK_THRESHOLDS_MM",
    "auc_3d",
    "group_errors",
    "joint_errors",
    "mpjpe",
    "n_mpjpe",
    "pa_mpjpe",
    "pck_3d",
    "pck_curve",
    "per_action_mean",
    "rigid_mpjpe",
]

#: Alignments accepted by :func:`joint_errors`.
ALIGNMENTS = ("none", "root", "procrustes", "scale", "rigid")

#: The usual 3D-PCK thresholds for the AUC: 0, 5, …, 150 mm (31 values).
PCK_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)


def joint_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    align: str = "root",
    root: int = 0,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Per-joint Euclidean errors ``(N, J)`` after an alignment.

    Args:
        pred: (N, J, 3) predicted joints.
        gt: (N, J, 3) ground-truth joints, same unit.
        align: ``"none"`` (absolute), ``"root"`` (subtract each pose's ``root`` joint), ``"procrustes"``
            (similarity fit), ``"scale"`` (root + least-squares scale), ``"rigid"`` (rigid fit, then root-centred;
            the original system's ``align``).
        root: root joint index for ``"root"``, ``"scale"`` and ``"rigid"``.
        weights: (N, J) or (J,) joint weights for the ``procrustes``/``rigid`` fits (e.g. visibility).

    Returns:
        (N, J) float64 errors in the input unit.
    """
    P, G = _pair_arrays(pred, gt, ("pred", "gt"))
    if align not in ALIGNMENTS:
        raise ValueError(f"align: expected one of {ALIGNMENTS}, got {align!r}")
    j = P.shape[1]
    if align in ("root", "scale", "rigid"):
        _check_root(root, j)
    if align == "root":
        P = P - P[:, root : root + 1]
        G = G - G[:, root : root + 1]
    elif align == "procrustes":
        P = align_similarity(P, G, weights=weights)
    elif align == "scale":
        P = align_scale(P, G, root=root)
    elif align == "rigid":
        P = align_rigid(P, G, weights=weights)
        P = P - P[:, root : root + 1]
        G = G - G[:, root : root + 1]
    diff = P - G
    return np.sqrt(np.einsum("njk,njk->nj", diff, diff))  # much faster than np.linalg.norm on a length-3 axis


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """Mean per-joint position error after root alignment; (N,) in the input unit."""
    return joint_errors(pred, gt, "root", root=root).mean(-1)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """MPJPE after a similarity Procrustes alignment (scale, rotation, translation); (N,)."""
    return joint_errors(pred, gt, "procrustes", weights=weights).mean(-1)


def n_mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0) -> np.ndarray:
    """MPJPE after root alignment and the least-squares scale of the prediction; (N,)."""
    return joint_errors(pred, gt, "scale", root=root).mean(-1)


def rigid_mpjpe(pred: np.ndarray, gt: np.ndarray, root: int = 0, weights: np.ndarray | None = None) -> np.ndarray:
    """MPJPE after a rigid fit without scale, then root-centring (the original system's ``align``); (N,)."""
    return joint_errors(pred, gt, "rigid", root=root, weights=weights).mean(-1)


def _errors_2d(errors: Any, name: str = "errors") -> np.ndarray:
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 2:
        raise ValueError(f"{name}: expected per-joint errors of shape (N, J), got {e.shape}")
    if np.isnan(e).any():
        raise ValueError(f"{name}: expected no NaN values")
    return e


def group_errors(errors: np.ndarray, groups: Mapping[str, Sequence[int]] | None = None) -> dict[str, float]:
    """Mean error per joint group: mean over the group's joints, then over frames.

    Args:
        errors: (N, J) per-joint errors (e.g. from :func:`joint_errors`).
        groups: ``{name: joint indices}``; the Human3.6M groups (:data:`integral_pose.skeletons.H36M_GROUPS`)
            when ``None``.

    Returns:
        ``{group name: mean error}`` in the errors' unit.
    """
    e = _errors_2d(errors)
    groups = H36M_GROUPS if groups is None else groups
    out: dict[str, float] = {}
    for name, idx in groups.items():
        idx = list(idx)
        if not idx or min(idx) < 0 or max(idx) >= e.shape[1]:
            raise ValueError(f"groups[{name!r}]: expected joint indices in [0, {e.shape[1]}), got {idx}")
        out[name] = float(e[:, idx].mean()) if e.shape[0] else float("nan")
    return out


def per_action_mean(values: np.ndarray, actions: Sequence[str] | np.ndarray) -> tuple[dict[str, float], float]:
    """Average per-frame values by action, and the mean over actions (how papers report Human3.6M).

    Args:
        values: (N,) per-frame values (e.g. :func:`mpjpe`).
        actions: (N,) action name per frame.

    Returns:
        ``({action: mean}, mean over actions)``; actions are sorted by name.
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(actions)
    if v.ndim != 1:
        raise ValueError(f"values: expected shape (N,), got {v.shape}")
    if a.shape != v.shape:
        raise ValueError(f"actions: expected shape {v.shape} to match values, got {a.shape}")
    if v.size == 0:
        raise ValueError("values: expected at least one frame, got 0")
    names, inv = np.unique(a, return_inverse=True)
    sums = np.bincount(inv, weights=v, minlength=len(names))
    counts = np.bincount(inv, minlength=len(names))
    means = sums / counts
    table = {str(n): float(m) for n, m in zip(names, means)}
    return table, float(means.mean())


def pck_curve(errors: np.ndarray, thresholds: Sequence[float] | np.ndarray = PCK_THRESHOLDS_MM) -> np.ndarray:
    """Fraction of joints (over all frames and joints) with error ≤ each threshold; (T,) in [0, 1]."""
    e = _errors_2d(errors)
    th = np.asarray(thresholds, dtype=np.float64)
    if th.ndim != 1 or th.size == 0 or np.isnan(th).any():
        raise ValueError(f"thresholds: expected a non-empty 1-D array without NaN, got shape {th.shape}")
    flat = np.sort(e.ravel())
    if flat.size == 0:
        raise ValueError("errors: expected at least one joint error, got 0")
    return np.searchsorted(flat, th, side="right") / flat.size


def pck_3d(pred: np.ndarray, gt: np.ndarray, threshold: float = 150.0, root: int = 0) -> np.ndarray:
    """3D-PCK per frame: fraction of joints within ``threshold`` (mm) after root alignment; (N,) in [0, 1]."""
    if not (np.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold: expected a finite value ≥ 0, got {threshold}")
    return (joint_errors(pred, gt, "root", root=root) <= threshold).mean(-1)


def auc_3d(
    pred: np.ndarray, gt: np.ndarray, thresholds: Sequence[float] | np.ndarray = PCK_THRESHOLDS_MM, root: int = 0
) -> float:
    """Area under the 3D-PCK curve over ``thresholds`` (0–150 mm in 5 mm steps): the mean PCK, in [0, 1]."""
    return float(pck_curve(joint_errors(pred, gt, "root", root=root), thresholds).mean())

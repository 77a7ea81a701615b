"""MPII PCKh: a joint is correct when its 2D error is within ``threshold`` × the head size.

Head size (the MPII benchmark convention): ``0.6 · ‖(x2 − x1, y2 − y1)‖``, the diagonal of the annotated head
rectangle times the 0.6 bias factor. Only joints visible in the ground truth count. The reported "mean" follows
the benchmark: per-joint PCKh averaged with each joint weighted by its number of visible instances, over all
joints except pelvis and thorax. Joints follow :data:`integral_pose.skeletons.MPII_16`.

Example:
    >>> import numpy as np
    >>> gt = np.zeros((1, 16, 2)); vis = np.ones((1, 16))
    >>> pred = gt.copy(); pred[0, 0, 0] = 40.0          # 40 px off; head size 0.6·100 = 60 px
    >>> r = pckh(pred, gt, vis, head_sizes=np.array([60.0]))
    >>> float(r["per_joint"][0]), float(r["per_joint"][1])
    (0.0, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from integral_pose.skeletons import MPII_16

__all__ = ["HEAD_SIZE_FACTOR", "MPII_PCKH_GROUPS", "head_sizes_from_boxes", "pckh", "pckh_summary"]

#: The MPII head-size bias factor.
HEAD_SIZE_FACTOR = 0.6

#: Reported groups (indices into MPII_16): left and right joints are averaged together.
MPII_PCKH_GROUPS: dict[str, tuple[int, ...]] = {
    "head": (MPII_16.index("head_top"),),
    "shoulder": (MPII_16.index("l_shoulder"), MPII_16.index("r_shoulder")),
    "elbow": (MPII_16.index("l_elbow"), MPII_16.index("r_elbow")),
    "wrist": (MPII_16.index("l_wrist"), MPII_16.index("r_wrist")),
    "hip": (MPII_16.index("l_hip"), MPII_16.index("r_hip")),
    "knee": (MPII_16.index("l_knee"), MPII_16.index("r_knee")),
    "ankle": (MPII_16.index("l_ankle"), MPII_16.index("r_ankle")),
}

_EXCLUDED_FROM_MEAN = (MPII_16.index("pelvis"), MPII_16.index("thorax"))


def head_sizes_from_boxes(head_boxes: np.ndarray, factor: float = HEAD_SIZE_FACTOR) -> np.ndarray:
    """Head sizes (N,) px from head rectangles (N, 4) given as corners ``x1, y1, x2, y2`` px."""
    b = np.asarray(head_boxes, dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"head_boxes: expected shape (N, 4) as x1, y1, x2, y2, got {b.shape}")
    if np.isnan(b).any():
        raise ValueError("head_boxes: expected no NaN values")
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"factor: expected a value > 0, got {factor}")
    size = factor * np.linalg.norm(b[:, 2:] - b[:, :2], axis=1)
    if (size <= 0).any():
        raise ValueError(f"head_boxes: expected non-degenerate boxes, got {int((size <= 0).sum())} of zero size")
    return size


def pckh(
    pred: np.ndarray,
    gt: np.ndarray,
    vis: np.ndarray,
    head_sizes: np.ndarray,
    threshold: float = 0.5,
    pred_valid: np.ndarray | None = None,
) -> dict[str, Any]:
    """PCKh@``threshold`` on MPII-16.

    Args:
        pred: (N, 16, 2) predicted joints, px.
        gt: (N, 16, 2) ground-truth joints, px.
        vis: (N, 16) 1 where the ground-truth joint is visible/annotated, else 0.
        head_sizes: (N,) head sizes px (already including the 0.6 factor; see :func:`head_sizes_from_boxes`).
        threshold: fraction of the head size (0.5 for PCKh@0.5).
        pred_valid: (N, 16) or (16,) bool, False where the model has no prediction for the joint (e.g. a joint
            its joint set lacks); such joints count as **incorrect** wherever the ground truth has them, and
            their ``pred`` values (may be NaN) are ignored. Default: all valid.

    Returns:
        ``{"per_joint": (16,) PCKh in [0, 1] (NaN for joints never visible), "groups": {name: value},
        "mean": benchmark mean (no pelvis/thorax, visibility-weighted), "correct": (N, 16) bool,
        "count": (16,) visible instances}``.
    """
    P = np.asarray(pred, dtype=np.float64)
    G = np.asarray(gt, dtype=np.float64)
    j = MPII_16.num_joints
    if G.ndim != 3 or G.shape[1:] != (j, 2):
        raise ValueError(f"gt: expected shape (N, {j}, 2), got {G.shape}")
    if P.shape != G.shape:
        raise ValueError(f"pred: expected shape {G.shape} to match gt, got {P.shape}")
    valid = np.ones(G.shape[:2], dtype=bool)
    if pred_valid is not None:
        pv = np.asarray(pred_valid, dtype=bool)
        if pv.shape not in ((j,), G.shape[:2]):
            raise ValueError(f"pred_valid: expected shape ({j},) or {G.shape[:2]}, got {pv.shape}")
        valid = np.broadcast_to(pv, G.shape[:2])
    if np.isnan(P[valid]).any():
        raise ValueError("pred: expected no NaN values (mark joints without a prediction in pred_valid)")
    v = np.asarray(vis, dtype=np.float64)
    if v.shape != G.shape[:2]:
        raise ValueError(f"vis: expected shape {G.shape[:2]}, got {v.shape}")
    hs = np.asarray(head_sizes, dtype=np.float64)
    if hs.shape != (G.shape[0],):
        raise ValueError(f"head_sizes: expected shape ({G.shape[0]},), got {hs.shape}")
    if not (np.isfinite(hs).all() and (hs > 0).all()):
        raise ValueError("head_sizes: expected finite values > 0 px")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold: expected a value > 0, got {threshold}")
    visible = v > 0
    err = np.linalg.norm(np.where((visible & valid)[..., None], P - G, 0.0), axis=-1) / hs[:, None]
    correct = (err <= threshold) & visible & valid
    count = visible.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = correct.sum(0) / count
    groups = {}
    for name, idx in MPII_PCKH_GROUPS.items():
        c = count[list(idx)].sum()
        groups[name] = float(correct[:, list(idx)].sum() / c) if c else float("nan")
    keep = np.ones(j, dtype=bool)
    keep[list(_EXCLUDED_FROM_MEAN)] = False
    total = count[keep].sum()
    mean = float(correct[:, keep].sum() / total) if total else float("nan")
    return {"per_joint": per_joint, "groups": groups, "mean": mean, "correct": correct, "count": count}


def pckh_summary(
    pred: np.ndarray,
    gt: np.ndarray,
    vis: np.ndarray,
    head_sizes: np.ndarray,
    pred_valid: np.ndarray | None = None,
) -> dict[str, Any]:
    """The MPII benchmark table as plain numbers (fractions in [0, 1]) for ``eval.json``.

    Args: as :func:`pckh` (px, MPII-16 order).

    Returns:
        ``{"pckh": mean PCKh@0.5, "pckh_0.1": mean PCKh@0.1, "groups": {head, shoulder, …, ankle} at 0.5,
        "groups_0.1": the same at 0.1, "per_joint": {joint name: PCKh@0.5} (NaN-free: joints never visible are
        left out), "joint_counts": {joint name: visible instances}, "per_sample": (N,) fraction of visible joints
        within 0.5 head sizes (NaN when none is visible)}``. The means exclude pelvis and thorax as the MPII tool.
    """
    at05 = pckh(pred, gt, vis, head_sizes, 0.5, pred_valid)
    at01 = pckh(pred, gt, vis, head_sizes, 0.1, pred_valid)
    names = MPII_16.joint_names
    visible = np.asarray(vis) > 0
    n_vis = visible.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sample = np.where(n_vis > 0, at05["correct"].sum(1) / np.maximum(n_vis, 1), np.nan)
    return {
        "pckh": at05["mean"],
        "pckh_0.1": at01["mean"],
        "groups": at05["groups"],
        "groups_0.1": at01["groups"],
        "per_joint": {names[k]: float(v) for k, v in enumerate(at05["per_joint"]) if at05["count"][k] > 0},
        "joint_counts": {names[k]: int(c) for k, c in enumerate(at05["count"])},
        "per_sample": per_sample,
    }

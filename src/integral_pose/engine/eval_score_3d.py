"""Evaluation, step 2 of 3 (3D): camera-space lifting, bone rescale and the 3D metrics of predicted poses.

Coordinates follow the project's conventions: normalised patch coordinates lie in [-0.5, 0.5) (x = u/W_p − 0.5,
y = v/H_p − 0.5, z = z_rel_mm / depth normaliser); image coordinates are px; 3D is mm in the camera frame.
:func:`score_3d` takes the output of :func:`integral_pose.engine.eval_predict.predict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from integral_pose.build import build_codec
from integral_pose.config.schema import Config
from integral_pose.data.codec import bone_rescale
from integral_pose.eval.metrics import auc_3d, group_errors, joint_errors, pck_curve, per_action_mean
from integral_pose.geometry.affine import extend_box_to_aspect
from integral_pose.geometry.camera import solve_root_translation
from integral_pose.geometry.procrustes import align_rigid
from integral_pose.skeletons import H36M_GROUPS, get_skeleton

__all__ = [
    "align_joint_errors",
    "bone_rescale",
    "camera_space_pose",
    "ensemble_mean",
    "lift_gt_root_depth",
    "lift_solved_root",
    "merge_flip",
    "score_3d",
    "scored_joints",
]


def merge_flip(plain: np.ndarray, flipped_back: np.ndarray) -> np.ndarray:
    """Average of the plain and the mirrored-back predictions (all three coordinates, as the original)."""
    if plain.shape != flipped_back.shape:
        raise ValueError(f"merge_flip: shapes differ, {tuple(plain.shape)} vs {tuple(flipped_back.shape)}")
    return 0.5 * (plain + flipped_back)


def ensemble_mean(predictions: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of several models' decoded coordinates, each (N, J, C) (the challenge's "+ensemble" row)."""
    if len(predictions) == 0:
        raise ValueError("ensemble_mean: expected at least one prediction array, got none")
    shape = predictions[0].shape
    for i, p in enumerate(predictions):
        if p.shape != shape:
            raise ValueError(f"ensemble_mean: prediction {i} has shape {p.shape}, expected {shape}")
    return np.mean(np.stack([np.asarray(p, dtype=np.float64) for p in predictions]), axis=0)


def lift_gt_root_depth(
    uv: np.ndarray, z_rel_mm: np.ndarray, root_depth_mm: np.ndarray, f: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Camera-space pose from image joints, root-relative depths and the **ground-truth root depth**.

    This is the paper's protocol: ``Z_j = z_rel_j + Z_root^GT``, ``X_j = (u_j − c_x)/f_x · Z_j``,
    ``Y_j = (v_j − c_y)/f_y · Z_j`` (pinhole, no distortion).

    Args:
        uv: (N, J, 2) image px.
        z_rel_mm: (N, J) depth relative to the root joint, mm.
        root_depth_mm: (N,) ground-truth root depth, mm.
        f: (N, 2) focal lengths px.
        c: (N, 2) principal points px.

    Returns:
        (N, J, 3) float64 camera-frame joints, mm.
    """
    uv = np.asarray(uv, dtype=np.float64)
    n, j = uv.shape[:2]
    if uv.shape != (n, j, 2):
        raise ValueError(f"uv: expected shape (N, J, 2), got {uv.shape}")
    z = np.asarray(z_rel_mm, dtype=np.float64)
    if z.shape != (n, j):
        raise ValueError(f"z_rel_mm: expected shape {(n, j)}, got {z.shape}")
    zr = np.asarray(root_depth_mm, dtype=np.float64)
    if zr.shape != (n,):
        raise ValueError(f"root_depth_mm: expected shape {(n,)}, got {zr.shape}")
    f = np.asarray(f, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    if f.shape != (n, 2) or c.shape != (n, 2):
        raise ValueError(f"f, c: expected shape {(n, 2)}, got {f.shape} and {c.shape}")
    if (f <= 0).any():
        raise ValueError("f: expected focal lengths > 0 px (intrinsics unknown for some samples?)")
    depth = z + zr[:, None]
    xy = (uv - c[:, None]) / f[:, None] * depth[..., None]
    return np.concatenate([xy, depth[..., None]], axis=-1)


def lift_solved_root(
    uv: np.ndarray,
    z_rel_mm: np.ndarray,
    f: np.ndarray,
    c: np.ndarray,
    box_size_px: np.ndarray,
    rect_3d_width_mm: float,
    root: int = 0,
) -> np.ndarray:
    """Camera-space pose with the root translation solved from intrinsics (no ground truth used).

    1. Initial root depth from the crop: a ``rect_3d_width_mm`` wide cube at depth Z spans ``f_x·w/Z`` px, so
       ``Z₀ = f_x · rect_3d_width_mm / box_width_px``.
    2. Lift with that depth (as :func:`lift_gt_root_depth`) and make the pose root-relative (metric shape).
    3. Solve the translation that best re-projects it onto ``uv``
       (:func:`integral_pose.geometry.camera.solve_root_translation`).

    Args:
        uv: (N, J, 2) image px.
        z_rel_mm: (N, J) root-relative depth, mm.
        f: (N, 2) focal lengths px.
        c: (N, 2) principal points px.
        box_size_px: (N,) width in px of the (aspect-extended) crop box the depth was normalised with.
        rect_3d_width_mm: metric width that box represents, mm.
        root: root joint index.

    Returns:
        (N, J, 3) float64 camera-frame joints, mm (NaN rows where the solve failed).
    """
    box = np.asarray(box_size_px, dtype=np.float64)
    n = box.shape[0]
    if (box <= 0).any():
        raise ValueError("box_size_px: expected widths > 0 px")
    f = np.asarray(f, dtype=np.float64)
    z0 = f[:, 0] * rect_3d_width_mm / box
    pose = lift_gt_root_depth(uv, z_rel_mm, z0, f, c)
    rel = pose - pose[:, root : root + 1]
    K = np.zeros((n, 3, 3))
    K[:, 0, 0], K[:, 1, 1] = f[:, 0], f[:, 1]
    K[:, 0, 2], K[:, 1, 2] = np.asarray(c)[:, 0], np.asarray(c)[:, 1]
    K[:, 2, 2] = 1.0
    t = solve_root_translation(np.asarray(uv, dtype=np.float64), rel, K)
    return rel + t[:, None]


def camera_space_pose(pred: dict[str, np.ndarray], rows: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and ground-truth 3D (n, J, 3) mm of the rows ``rows`` of :func:`.eval_predict.predict` output.

    With ``eval.bone_length_rescale`` (the challenge's evaluation, no intrinsics needed): the codec's patch-space
    pose rescaled to that total bone length, against the root-centred ground truth. Otherwise: the image joints
    lifted with the ground-truth root depth and the intrinsics (the paper's protocol), against the camera-frame
    ground truth.
    """
    codec = build_codec(cfg)
    g = pred["joints_3d_cam"][rows].astype(np.float64)
    if cfg.eval.bone_length_rescale is not None:
        patch_pose = codec.patch_pose(pred["coords"][rows])
        p_cam = bone_rescale(patch_pose, codec.parents, cfg.eval.bone_length_rescale, codec.root)
        return p_cam, g - g[:, codec.root : codec.root + 1]
    p_cam = lift_gt_root_depth(pred["uv"][rows], pred["z_rel_mm"][rows], pred["root_depth_mm"][rows].astype(np.float64),
                               pred["cam_f"][rows], pred["cam_c"][rows])  # fmt: skip
    return p_cam, g


def align_joint_errors(
    pred: np.ndarray, gt: np.ndarray, eval_joints: np.ndarray, root: int = 0, recentre: bool = True
) -> np.ndarray:
    """The original system's rigid "align" errors (N, len(eval_joints)) in the input unit.

    A rigid transform **without scale** (Kabsch, no reflection) is fitted on **all** J joints (thorax included for
    Human3.6M-18) and the errors are read on ``eval_joints`` (the 17 standard ones). ``recentre``: the aligned
    prediction and the ground truth are then root-centred (``hm36.evaluate``); off, the aligned prediction is
    compared directly (the challenge's ``evaluate``, where both are already root-relative).

    Args:
        pred, gt: (N, J, 3) joints. eval_joints: (K,) indices scored. root: root index.
    """
    if recentre:
        return joint_errors(pred, gt, "rigid", root=root)[:, eval_joints]
    d = align_rigid(pred, gt) - gt
    return np.sqrt(np.einsum("njk,njk->nj", d, d))[:, eval_joints]


def scored_joints(joint_set: str, num_joints: int) -> np.ndarray:
    """Joints scored in 3D: the 17 standard ones for Human3.6M-18 (thorax excluded, as the original)."""
    return np.arange(17) if joint_set == "h36m18" else np.arange(num_joints)


def score_3d(pred: dict[str, np.ndarray], dataset: Any, cfg: Config, detail: bool = False) -> dict[str, Any]:
    """3D metrics of :func:`.eval_predict.predict` output against the dataset's camera-frame ground truth.

    Camera space uses the ground-truth root depth (the paper's protocol): the predicted image joints are lifted
    with ``Z_j = z_rel_j + Z_root^GT``. MPJPE is root-aligned, PA-MPJPE uses a similarity Procrustes fit, N-MPJPE
    the least-squares scale, ``align_mpjpe`` the original's rigid fit without scale on all joints (thorax included)
    averaged over the 17 scored ones (:func:`align_joint_errors`). Samples need intrinsics (``cam_f > 0``) unless
    ``eval.bone_length_rescale`` is set (challenge records have none). With ``eval.root_depth: solve`` (or
    ``detail``) the root translation solved from the intrinsics is reported too (``solved_root``: MRPE and absolute
    MPJPE). With ``eval.bone_length_rescale`` the root-centred patch-space pose is rescaled to that total bone
    length (the challenge's evaluation).

    Args:
        pred: the dict returned by :func:`~integral_pose.engine.eval_predict.predict`.
        dataset: the dataset predicted on (for action names).
        cfg: the run config.
        detail: also return per-joint, per-group, per-action tables and per-sample errors.

    Returns:
        ``{"mpjpe", "align_mpjpe", "pa_mpjpe", "n_mpjpe", "pck150", "auc", "num_samples", "axis_error", …}`` in
        mm (PCK/AUC in [0, 1]); ``axis_error`` = mean absolute root-relative error along camera x (horizontal),
        y (vertical) and z (depth), which tells a left/right or front/back confusion (x, z) from a vertical one.
    """
    skeleton = get_skeleton(cfg.model.joint_set)
    gt = pred["joints_3d_cam"].astype(np.float64)
    rescale = cfg.eval.bone_length_rescale is not None
    has_f: np.ndarray = np.asarray((pred["cam_f"] > 0).all(axis=1))  # (N,) intrinsics known
    ok = np.isfinite(gt).all(axis=(1, 2)) & (np.ones_like(has_f) if rescale else has_f)  # (N,) bool
    if not ok.any():
        need = "" if rescale else " and intrinsics (cam_f > 0; set eval.bone_length_rescale for records without)"
        raise ValueError(f"score_3d: no sample has complete 3D ground truth{need}")
    sel = scored_joints(skeleton.name, skeleton.num_joints)
    root = skeleton.root
    f, c = pred["cam_f"][ok], pred["cam_c"][ok]
    uv, z = pred["uv"][ok], pred["z_rel_mm"][ok]
    p_cam, g = camera_space_pose(pred, ok, cfg)
    e_align = align_joint_errors(p_cam, g, sel, root, recentre=not rescale)
    p, gg = p_cam[:, sel], g[:, sel]
    e_root = joint_errors(p, gg, "root", root=root)  # (N, J17)
    e_pa = joint_errors(p, gg, "procrustes")
    e_n = joint_errors(p, gg, "scale", root=root)
    rel = (p - p[:, root : root + 1]) - (gg - gg[:, root : root + 1])  # (N, J17, 3) root-relative error, mm
    axis = np.abs(rel).mean(axis=(0, 1))
    res: dict[str, Any] = {
        "num_samples": int(ok.sum()),
        "mpjpe": float(e_root.mean()),
        "align_mpjpe": float(e_align.mean()),
        "axis_error": {"x": float(axis[0]), "y": float(axis[1]), "z": float(axis[2])},
        "pa_mpjpe": float(e_pa.mean()),
        "n_mpjpe": float(e_n.mean()),
        "pck150": float(pck_curve(e_root, [150.0])[0]),
        "auc": auc_3d(p, gg, root=root),
        "root_depth": "ground truth" if cfg.eval.bone_length_rescale is None else "bone-length rescale",
    }
    if (cfg.eval.root_depth == "solve" or detail) and has_f[ok].all():  # needs intrinsics
        box = pred["box"][ok].astype(np.float64)

        widths = np.array([extend_box_to_aspect(b, cfg.data.patch_width / cfg.data.patch_height)[2] for b in box])
        solved = lift_solved_root(uv, z, f, c, widths, cfg.data.rect_3d_mm, root)
        good = np.isfinite(solved).all(axis=(1, 2))
        if good.any():
            ea = np.linalg.norm(solved[good][:, sel] - gt[ok][good][:, sel], axis=-1)
            res["solved_root"] = {
                "mrpe": float(np.linalg.norm(solved[good, root] - gt[ok][good, root], axis=-1).mean()),
                "abs_mpjpe": float(ea.mean()),
                "mpjpe": float(joint_errors(solved[good][:, sel], gt[ok][good][:, sel], "root", root=root).mean()),
                "num_samples": int(good.sum()),
            }
    if detail:
        names = [skeleton.joint_names[j] for j in sel]
        res["per_joint"] = {n: float(v) for n, v in zip(names, e_root.mean(0))}
        groups = {k: v for k, v in _groups_for(skeleton.name).items() if max(v) < len(sel)}
        if groups:
            res["per_group"] = group_errors(e_root, groups)
        idx = pred["index"][ok]
        actions = _actions(dataset, pred["source"][ok], idx)
        res["per_action"], res["mean_over_actions"] = per_action_mean(e_root.mean(1), actions)
        res["per_action_pa"], _ = per_action_mean(e_pa.mean(1), actions)
        res["samples"] = {
            "index": idx.tolist(),
            "source": pred["source"][ok].tolist(),
            "mpjpe": e_root.mean(1).tolist(),
            "pa_mpjpe": e_pa.mean(1).tolist(),
        }
    return res


def _groups_for(joint_set: str) -> dict[str, tuple[int, ...]]:

    return dict(H36M_GROUPS) if joint_set in ("h36m18", "h36m17") else {}


def _actions(dataset: Any, source: np.ndarray, index: np.ndarray) -> np.ndarray:
    parts = getattr(dataset, "datasets", [dataset])
    return np.asarray([str(parts[int(s)].records.action[int(i)]) for s, i in zip(source, index)])

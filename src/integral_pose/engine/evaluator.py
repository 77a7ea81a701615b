"""Small pure functions the evaluator composes: flip merge, ensemble mean, camera-space lifting, bone rescale.

Coordinates follow the project's conventions: normalised patch coordinates lie in [-0.5, 0.5) (x = u/W_p − 0.5,
y = v/H_p − 0.5, z = z_rel_mm / (rect_3d_width · s)); image coordinates are px; 3D is mm in the camera frame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.data.codec import bone_rescale, codec_from_config
from integral_pose.eval.metrics import joint_errors
from integral_pose.fileio import atomic_write_json
from integral_pose.geometry.procrustes import align_rigid

__all__ = [
    "bone_rescale",
    "camera_space_pose",
    "ensemble_mean",
    "lift_gt_root_depth",
    "lift_solved_root",
    "merge_flip",
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
    from integral_pose.geometry.camera import solve_root_translation

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


# ------------------------------------------------------------------------------------------------ prediction
def predict(
    models: Sequence[Any],
    dataset: Any,
    cfg: Any,
    device: str = "cpu",
    flip_test: bool = False,
    max_batches: int | None = None,
    batch_size: int | None = None,
    num_workers: int | None = None,
) -> dict[str, np.ndarray]:
    """Run one or several models over a test-time dataset and decode the predictions.

    Flip test (as the original system): each model also sees the mirrored crop; its prediction is mirrored back
    (x ← −x − 1/W_p in normalised units, which is u ← W_p − 1 − u in patch px) with left/right swapped, and the
    two are averaged, depth included. Ensemble: the (flip-merged) predictions of all models are averaged. The
    crop-to-image decode is affine per sample, so averaging normalised coordinates equals averaging decoded ones.

    Args:
        models: networks in the same label space (one for a plain evaluation).
        dataset: a test-time :class:`integral_pose.data.dataset.PoseDataset` / ``ConcatPoseDataset``.
        cfg: the run config (``model``, ``data``, ``eval`` sections).
        device: torch device string.
        flip_test: enable the flip test.
        max_batches: stop after this many batches (quick checks).
        batch_size: default ``cfg.eval.batch_size``. num_workers: default ``cfg.data.num_workers``.

    Returns:
        Arrays over the N evaluated samples: ``coords`` (N, J, 3) normalised, ``uv`` (N, J, 2) image px,
        ``z_rel_mm`` (N, J), and the dataset fields ``index``, ``source``, ``inv_affine``, ``box``, ``joints_2d``,
        ``joints_vis``, ``joints_3d_cam``, ``root_depth_mm``, ``cam_f``, ``cam_c``.
    """
    import torch
    from torch.utils.data import DataLoader

    from integral_pose.data.codec import flip_normalized
    from integral_pose.engine.trainer import outputs_to_coords
    from integral_pose.skeletons import get_skeleton

    if not models:
        raise ValueError("models: expected at least one model, got none")
    patch = cfg.data.patch_size
    perm = torch.as_tensor(get_skeleton(cfg.model.joint_set).flip_permutation, dtype=torch.long)
    loader = DataLoader(
        dataset,
        batch_size=batch_size or cfg.eval.batch_size,
        shuffle=False,
        num_workers=cfg.data.num_workers if num_workers is None else num_workers,
        generator=torch.Generator().manual_seed(0),
    )
    keys = ("index", "source", "inv_affine", "box", "joints_2d", "joints_vis", "joints_3d_cam", "root_depth_mm",
            "cam_f", "cam_c", "depth_norm_mm")  # fmt: skip
    acc: dict[str, list[np.ndarray]] = {k: [] for k in (*keys, "coords")}
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        with torch.inference_mode():
            for bi, batch in enumerate(loader):
                if max_batches is not None and bi >= max_batches:
                    break
                images = batch["image"].to(device)
                preds = []
                for m in models:
                    c = outputs_to_coords(m(images), cfg.model)
                    if flip_test:
                        cf = outputs_to_coords(m(torch.flip(images, dims=[3])), cfg.model)
                        c = 0.5 * (c + flip_normalized(cf, perm.to(cf.device), patch[0]))
                    preds.append(c.double().cpu())
                acc["coords"].append(torch.stack(preds).mean(0).numpy())
                for k in keys:
                    acc[k].append(batch[k].numpy())
    finally:
        for m, t in zip(models, was_training):
            m.train(t)
    if not acc["coords"]:
        raise ValueError("predict: the dataset yielded no samples")
    out = {k: np.concatenate(v) for k, v in acc.items()}
    # Per-sample depth normaliser: rect_3d_mm, or the box width for recipes with data.*.depth_norm = "box".
    uv, z = codec_from_config(cfg).decode(out["coords"], out["inv_affine"], out["depth_norm_mm"].astype(np.float64))
    out["uv"] = np.asarray(uv, dtype=np.float64)
    out["z_rel_mm"] = np.asarray(z, dtype=np.float64)
    return out


def camera_space_pose(pred: dict[str, np.ndarray], rows: np.ndarray, cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and ground-truth 3D (n, J, 3) mm of the rows ``rows`` of :func:`predict` output.

    With ``eval.bone_length_rescale`` (the challenge's evaluation, no intrinsics needed): the codec's patch-space
    pose rescaled to that total bone length, against the root-centred ground truth. Otherwise: the image joints
    lifted with the ground-truth root depth and the intrinsics (the paper's protocol), against the camera-frame
    ground truth.
    """
    codec = codec_from_config(cfg)
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


def _eval_joints(joint_set: str, num_joints: int) -> np.ndarray:
    """Joints scored in 3D: the 17 standard ones for Human3.6M-18 (thorax excluded, as the original)."""
    return np.arange(17) if joint_set == "h36m18" else np.arange(num_joints)


def score_3d(pred: dict[str, np.ndarray], dataset: Any, cfg: Any, detail: bool = False) -> dict[str, Any]:
    """3D metrics of :func:`predict` output against the dataset's camera-frame ground truth.

    Camera space uses the ground-truth root depth (the paper's protocol): the predicted image joints are lifted
    with ``Z_j = z_rel_j + Z_root^GT``. MPJPE is root-aligned, PA-MPJPE uses a similarity Procrustes fit, N-MPJPE
    the least-squares scale, ``align_mpjpe`` the original's rigid fit without scale on all joints (thorax included)
    averaged over the 17 scored ones (:func:`align_joint_errors`). Samples need intrinsics (``cam_f > 0``) unless
    ``eval.bone_length_rescale`` is set (challenge records have none). With ``eval.root_depth: solve`` (or
    ``detail``) the root translation solved from the intrinsics is reported too (``solved_root``: MRPE and absolute
    MPJPE). With ``eval.bone_length_rescale`` the root-centred patch-space pose is rescaled to that total bone
    length (the challenge's evaluation).

    Args:
        pred: the dict returned by :func:`predict`.
        dataset: the dataset predicted on (for action names).
        cfg: the run config.
        detail: also return per-joint, per-group, per-action tables and per-sample errors.

    Returns:
        ``{"mpjpe", "align_mpjpe", "pa_mpjpe", "n_mpjpe", "pck150", "auc", "num_samples", "axis_error", …}`` in
        mm (PCK/AUC in [0, 1]); ``axis_error`` = mean absolute root-relative error along camera x (horizontal),
        y (vertical) and z (depth), which tells a left/right or front/back confusion (x, z) from a vertical one.
    """
    from integral_pose.eval.metrics import auc_3d, group_errors, pck_curve, per_action_mean
    from integral_pose.skeletons import get_skeleton

    skeleton = get_skeleton(cfg.model.joint_set)
    gt = pred["joints_3d_cam"].astype(np.float64)
    rescale = cfg.eval.bone_length_rescale is not None
    has_f: np.ndarray = np.asarray((pred["cam_f"] > 0).all(axis=1))  # (N,) intrinsics known
    ok = np.isfinite(gt).all(axis=(1, 2)) & (np.ones_like(has_f) if rescale else has_f)  # (N,) bool
    if not ok.any():
        need = "" if rescale else " and intrinsics (cam_f > 0; set eval.bone_length_rescale for records without)"
        raise ValueError(f"score_3d: no sample has complete 3D ground truth{need}")
    sel = _eval_joints(skeleton.name, skeleton.num_joints)
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
        from integral_pose.geometry.affine import extend_box_to_aspect

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
    from integral_pose.skeletons import H36M_GROUPS

    return dict(H36M_GROUPS) if joint_set in ("h36m18", "h36m17") else {}


def _actions(dataset: Any, source: np.ndarray, index: np.ndarray) -> np.ndarray:
    parts = getattr(dataset, "datasets", [dataset])
    return np.asarray([str(parts[int(s)].records.action[int(i)]) for s, i in zip(source, index)])


# ------------------------------------------------------------------------------------------------ 2D protocols
COCO_RESULTS_FILE = "eval_results_coco.json"
"""Name of the COCO results file ``ipr eval --protocol coco_ap`` writes next to ``eval.json``."""


def to_joint_set(points: np.ndarray, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Re-order joints between joint sets through the :mod:`integral_pose.skeletons` mapping tables.

    A direct table (``source → target``) is used when there is one, else the inverse of ``target → source``,
    else the composition through Human3.6M-18 (e.g. ``h36m17 → h36m18 → mpii16``).

    Args:
        points: (..., J_source, D) joints in any unit.
        source: joint set of ``points``.
        target: wanted joint set.

    Returns:
        ``(out, valid)``: (..., J_target, D) float64 with NaN for joints ``source`` lacks, and (J_target,) bool.
    """
    from integral_pose.skeletons import get_skeleton, mapping

    x = np.asarray(points, dtype=np.float64)
    n_src, n_tgt = get_skeleton(source).num_joints, get_skeleton(target).num_joints
    if x.ndim < 2 or x.shape[-2] != n_src:
        raise ValueError(f"points: expected shape (..., {n_src}, D) for joint set {source!r}, got {x.shape}")
    if source == target:
        return x.copy(), np.ones(n_tgt, dtype=bool)
    try:
        table = mapping(source, target)  # for each target joint, its source index (-1 = missing)
    except ValueError:
        try:
            inverse = mapping(target, source)  # for each source joint, its target index
        except ValueError:
            if "h36m18" in (source, target):
                raise
            mid, ok_mid = to_joint_set(x, source, "h36m18")
            out, ok = to_joint_set(mid, "h36m18", target)
            ok_mid_t, _ = to_joint_set(ok_mid[:, None].astype(np.float64), "h36m18", target)
            return out, ok & (np.nan_to_num(ok_mid_t[:, 0]) > 0)
        table = np.full(n_tgt, -1, dtype=np.int64)
        for s_idx, t_idx in enumerate(inverse.tolist()):
            if t_idx >= 0:
                table[t_idx] = s_idx
    valid = table >= 0
    out = np.where(valid[:, None], x[..., np.where(valid, table, 0), :], np.nan)
    return out, valid


def _map_gt(joints: np.ndarray, vis: np.ndarray, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth into ``target``: joints (N, J_t, 2) (zeros where missing) and visibility (N, J_t) 0/1."""
    j, ok = to_joint_set(joints, source, target)
    v, _ = to_joint_set(np.asarray(vis, dtype=np.float64)[..., None], source, target)
    visible = (np.nan_to_num(v[..., 0]) > 0) & ok
    return np.nan_to_num(j), visible.astype(np.float64)


def score_pckh(
    uv: np.ndarray,
    joint_set: str,
    gt_2d: np.ndarray,
    gt_vis: np.ndarray,
    gt_joint_set: str,
    head_size: np.ndarray,
) -> dict[str, Any]:
    """MPII PCKh of image-space predictions.

    Predictions and ground truth are mapped to MPII-16. Joints the model's joint set lacks count as misses
    wherever the ground truth labels them (listed in ``missing_joints``); pelvis and thorax are reported per
    joint but left out of the mean, as the MPII tool.

    Args:
        uv: (N, J, 2) predicted joints, image px, in ``joint_set``.
        joint_set: the model's joint set.
        gt_2d: (N, J_gt, 2) ground-truth joints, image px, in ``gt_joint_set``.
        gt_vis: (N, J_gt) ground-truth visibility.
        gt_joint_set: the records' joint set.
        head_size: (N,) PCKh normaliser px (0.6 × head-box diagonal).

    Returns:
        See :func:`integral_pose.eval.pckh.pckh_summary`, plus ``missing_joints``.
    """
    from integral_pose.eval.pckh import pckh_summary
    from integral_pose.skeletons import MPII_16

    pred, valid = to_joint_set(uv, joint_set, "mpii16")
    gt, vis = _map_gt(gt_2d, gt_vis, gt_joint_set, "mpii16")
    out = pckh_summary(pred, gt, vis, head_size, pred_valid=valid)
    out["missing_joints"] = [MPII_16.joint_names[k] for k in np.flatnonzero(~valid)]
    return out


def coco_keypoints(uv: np.ndarray, joint_set: str) -> np.ndarray:
    """COCO-17 result keypoints (N, 17, 3): x, y px and a visibility/score column.

    Keypoints the model predicts get 1; those its joint set lacks (a Human3.6M model has no eyes or ears) get 0
    and are placed by :func:`integral_pose.eval.coco_ap.fill_missing_keypoints` (at the nose), because COCOeval
    scores every labelled ground-truth keypoint whatever the result's flag says.
    """
    from integral_pose.eval.coco_ap import fill_missing_keypoints

    kp, valid = to_joint_set(uv, joint_set, "coco17")
    flag = np.broadcast_to(valid.astype(np.float64), kp.shape[:2])[..., None]
    return np.concatenate([fill_missing_keypoints(kp), flag], axis=-1)


def coco_results(uv: np.ndarray, joint_set: str, image_ids: np.ndarray, scores: np.ndarray | None = None
                 ) -> list[dict[str, Any]]:  # fmt: skip
    """COCO keypoint results (``image_id``, ``category_id`` 1, 51 keypoint numbers, ``score``).

    Args:
        uv: (N, J, 2) predicted joints in the original image's px, in ``joint_set``.
        joint_set: the model's joint set.
        image_ids: (N,) COCO image id per person.
        scores: (N,) person scores; default 1.0 each (each person is predicted in its own ground-truth or given
            box, so there is no detection score to rank by).
    """
    from integral_pose.eval.coco_ap import predictions_to_coco

    n = np.asarray(uv).shape[0]
    return predictions_to_coco(image_ids, coco_keypoints(uv, joint_set), np.ones(n) if scores is None else scores)


def score_coco(results: Sequence[dict[str, Any]], gt: str | os.PathLike[str] | dict[str, Any],
               image_ids: Sequence[int] | np.ndarray) -> dict[str, float]:  # fmt: skip
    """COCOeval keypoint AP/AR (pycocotools) of ``results`` on the evaluated images of ``gt``."""
    from integral_pose.eval.coco_ap import coco_keypoint_ap

    gt_arg = gt if isinstance(gt, dict) else Path(gt)
    return coco_keypoint_ap(gt_arg, results, image_ids=sorted({int(i) for i in np.asarray(image_ids).tolist()}))


def _records_where(specs: Sequence[Any], split: str, src: int) -> str:
    return f"data.{split}[{src}].records ({specs[src].records})"


def coco_gt_path(records: Any, where: str) -> Path:
    """The COCO annotation file linked to a records table (``header.meta["coco_gt"]``, relative to its image root).

    Raises:
        ValueError: the table carries no link (written before it existed, or not from COCO).
        FileNotFoundError: the linked file is gone.
    """
    link = records.header.meta.get("coco_gt")
    if not link:
        raise ValueError(
            f"{where}: the records carry no link to the COCO ground truth (header meta 'coco_gt'); re-run "
            "`ipr data prepare coco --root … --split … --out …` to rebuild the table"
        )
    path = Path(link)
    if not path.is_absolute():
        path = records.root_dir / path
    if not path.is_file():
        raise FileNotFoundError(f"{where}: the COCO annotation file the records link to is missing: {path}")
    return path


def _check_original_pixels(records: Any, where: str) -> None:
    if "precrop" in records.header.meta:
        raise ValueError(
            f"{where}: a pre-cropped table's pixels are not the original images'; evaluate 2D protocols on the "
            "table the crops were made from"
        )


def score_2d(pred: dict[str, np.ndarray], dataset: Any, cfg: Any, protocol: str, specs: Sequence[Any],
             split: str = "test", out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Score :func:`predict` output with a 2D protocol (``mpii_pckh`` or ``coco_ap``).

    Predictions are taken in the original image's px (the decoded ``uv``: the crop's inverse affine applied to
    the network's output) and mapped from ``cfg.model.joint_set`` to MPII-16 / COCO-17. For ``coco_ap`` the
    results file (:data:`COCO_RESULTS_FILE`, every person scored 1.0) is written atomically into ``out_dir``
    when given and scored with pycocotools' COCOeval on the evaluated images.

    Args:
        pred: the dict returned by :func:`predict`.
        dataset: the dataset predicted on.
        cfg: the run config.
        protocol: ``"mpii_pckh"`` or ``"coco_ap"``.
        specs: the ``data.<split>`` entries, in the dataset's part order (for error messages).
        split: ``"test"`` or ``"val"``.
        out_dir: folder for the COCO results file (``None``: not written).

    Returns:
        MPII: ``pckh``, ``pckh_0.1``, ``groups``, ``per_joint`` … (fractions); COCO: ``ap`` and ``coco`` (the ten
        COCOeval numbers), ``per_joint`` (mean OKS term per keypoint), ``mean_oks``; both with ``num_samples``,
        ``missing_joints`` and per-sample ``samples`` (``score`` in [0, 1], higher is better).
    """
    parts = getattr(dataset, "datasets", [dataset])
    src = pred["source"].astype(np.int64)
    idx = pred["index"].astype(np.int64)
    for s in np.unique(src).tolist():
        _check_original_pixels(parts[s].records, _records_where(specs, split, s))
    joint_set = cfg.model.joint_set
    res: dict[str, Any] = {"num_samples": int(src.shape[0])}
    if protocol == "mpii_pckh":
        gt_set = parts[0].records.header.joint_set
        head = np.array([parts[s].records.head_size[i] for s, i in zip(src, idx)], dtype=np.float64)
        bad = ~(np.isfinite(head) & (head > 0))
        if bad.any():
            s = int(src[np.argmax(bad)])
            raise ValueError(
                f"{_records_where(specs, split, s)}: {int(bad.sum())} of {bad.size} samples have no MPII head size "
                "(records column 'head_size'); re-run `ipr data prepare mpii --split valid …` with "
                "annot/gt_valid.mat next to the annotation file (or give each entry a 'headbox' [x1, y1, x2, y2])"
            )
        out = score_pckh(pred["uv"], joint_set, pred["joints_2d"], pred["joints_vis"], gt_set, head)
        per_sample = out.pop("per_sample")
        res.update(out)
        res["samples"] = {"index": idx.tolist(), "source": src.tolist(), "score": per_sample.tolist()}
        return res
    if protocol != "coco_ap":
        raise ValueError(f"protocol: expected 'mpii_pckh' or 'coco_ap' for 2D scoring, got {protocol!r}")
    from integral_pose.eval.coco_ap import keypoint_similarity

    gts = {coco_gt_path(parts[s].records, _records_where(specs, split, s)) for s in np.unique(src).tolist()}
    if len(gts) != 1:
        raise ValueError(f"coco_ap: the evaluated datasets link to different annotation files {sorted(map(str, gts))}")
    gt_path = gts.pop()
    from integral_pose.fileio import read_json

    gt_data = read_json(gt_path, "COCO annotation file")
    image_ids = np.array([parts[s].records.subaction[i] for s, i in zip(src, idx)], dtype=np.int64)
    ann_ids = np.array([parts[s].records.frame[i] for s, i in zip(src, idx)], dtype=np.int64)
    anns = {int(a["id"]): a for a in gt_data.get("annotations", []) if "id" in a}
    missing = [int(a) for a in ann_ids.tolist() if a not in anns]
    if missing:
        raise ValueError(
            f"{gt_path}: annotation id(s) {missing[:5]} of the records are not in the file; the records and the "
            "annotation file are out of step (re-run `ipr data prepare coco`)"
        )
    results = coco_results(pred["uv"], joint_set, image_ids)
    if out_dir is not None:
        write_json_atomic(Path(out_dir) / COCO_RESULTS_FILE, results)
    stats = score_coco(results, gt_data, image_ids)
    gt_kp = np.array([anns[int(a)]["keypoints"] for a in ann_ids.tolist()], dtype=np.float64).reshape(-1, 17, 3)
    area = np.array([float(anns[int(a)].get("area", 0.0)) for a in ann_ids.tolist()])
    area = np.where(area > 0, area, 1.0)
    sim = keypoint_similarity(np.asarray([r["keypoints"] for r in results]).reshape(-1, 17, 3)[..., :2],
                              gt_kp[..., :2], gt_kp[..., 2], area)  # fmt: skip
    labelled = ~np.isnan(sim)
    oks = np.where(labelled.any(1), np.nansum(sim, 1) / np.maximum(labelled.sum(1), 1), np.nan)
    from integral_pose.skeletons import COCO_17

    _, valid = to_joint_set(pred["uv"], joint_set, "coco17")
    res.update(
        {
            "ap": stats["AP"],
            "coco": stats,
            "mean_oks": float(np.nanmean(oks)) if labelled.any() else float("nan"),
            "per_joint": {
                COCO_17.joint_names[k]: float(np.nanmean(sim[:, k])) for k in range(17) if labelled[:, k].any()
            },
            "missing_joints": [COCO_17.joint_names[k] for k in np.flatnonzero(~valid)],
            "annotation_file": str(gt_path),
            "score_rule": "1.0 per person (ground-truth or given boxes: no detection score)",
            "samples": {"index": idx.tolist(), "source": src.tolist(), "score": oks.tolist()},
        }
    )
    return res


# ------------------------------------------------------------------------------------------------ full evaluation
def build_test_dataset(cfg: Any, split: str = "test", protocol: str | None = None, boxes: str | None = None,
                       max_samples: int | None = None) -> Any:  # fmt: skip
    """The test-time dataset of ``data.test`` (or ``data.val``) restricted to the protocol's samples.

    Args:
        cfg: the run config.
        split: ``"test"`` or ``"val"``.
        protocol: protocol name (default ``cfg.eval.protocol``); Human3.6M protocols keep their subjects and
            every 64th frame.
        boxes: overrides the config's box source (``data.<split>[i].box``, else ``data.box_source``): ``"gt"``
            (the records' boxes), ``"tight"`` (around the visible joints ×1.25) or a ``.npy``/``.json`` file of
            (N, 4) xywh boxes in record order (single test dataset only). ``None`` = the config's.
        max_samples: keep at most this many samples per dataset (evenly spaced).
    """
    from integral_pose.data.dataset import ConcatPoseDataset
    from integral_pose.engine.trainer import load_split_records, make_pose_dataset
    from integral_pose.eval.protocols import get_protocol, select

    specs = cfg.data.test if split == "test" else cfg.data.val
    split = "test" if split == "test" else "val"
    if not specs:
        raise ValueError(f"data.{split}: no dataset configured to evaluate on")
    if boxes not in (None, "gt", "tight") and len(specs) > 1:
        raise ValueError("--boxes FILE: supported with a single test dataset only")
    proto = get_protocol(protocol or cfg.eval.protocol)
    parts = []
    for i, spec in enumerate(specs):
        rec = load_split_records(cfg, split, i, box_override=boxes, check_joint_set=False)
        if proto.dataset == spec.kind:
            keep = select(proto, rec.subject, rec.frame)
            if keep.size == 0:
                raise ValueError(
                    f"protocol {proto.name}: no sample of {spec.records} matches (subjects {proto.subjects})"
                )
            rec = rec.subset(keep)
        if max_samples is not None and len(rec) > max_samples:
            rec = rec.subset(np.linspace(0, len(rec) - 1, max_samples).round().astype(np.int64))
        parts.append(make_pose_dataset(rec, cfg, spec))
    return ConcatPoseDataset(parts)


def _report_samples(dataset: Any, pred: dict[str, np.ndarray], res: dict[str, Any], cfg: Any) -> list[Any]:
    from integral_pose.data.codec import IMAGENET_MEAN, normalized_to_patch
    from integral_pose.geometry.affine import apply_affine
    from integral_pose.viz.report import ReportSample, pick_best_median_worst

    samples = res.get("samples")
    if not samples:
        return []
    mean = np.asarray(cfg.data.mean or IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(cfg.data.std, dtype=np.float32).reshape(3, 1, 1)
    lookup = {(int(s), int(i)): k for k, (s, i) in enumerate(zip(pred["source"], pred["index"]))}
    out = []
    patch = cfg.data.patch_size
    for label, pos in pick_best_median_worst(samples["mpjpe"]):
        src, idx = int(samples["source"][pos]), int(samples["index"][pos])
        k = lookup[(src, idx)]
        item = dataset.datasets[src][idx]
        img = (item["image"].numpy() * std + mean).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
        gt2 = apply_affine(item["joints_2d"].numpy().astype(np.float64), item["affine"].numpy())
        pr2 = normalized_to_patch(pred["coords"][k], patch)
        pr3, g3 = camera_space_pose(pred, np.arange(k, k + 1), cfg)
        pr3, gt3 = pr3[0], g3[0]
        out.append(ReportSample(f"{label}: MPJPE {samples['mpjpe'][pos]:.1f} mm", np.ascontiguousarray(img),
                                np.asarray(pr2), gt2, pr3, gt3))  # fmt: skip
    return out


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (temporary file + fsync + rename)."""
    return atomic_write_json(path, data)


def evaluate(
    cfg: Any,
    checkpoints: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None,
    split: str = "test",
    protocol: str | None = None,
    flip_test: bool | None = None,
    boxes: str | None = None,
    device: str = "cpu",
    max_samples: int | None = None,
    report: bool = True,
    title: str = "",
) -> dict[str, Any]:
    """Evaluate one checkpoint (or an ensemble) and write ``eval.json`` and ``report.png`` into ``out_dir``.

    3D protocols are scored in camera space (:func:`score_3d`); the 2D protocols ``mpii_pckh`` and ``coco_ap``
    in the original image's pixels (:func:`score_2d`, which also writes :data:`COCO_RESULTS_FILE` for COCO).

    Args:
        cfg: the config whose ``data``/``eval`` sections say what to evaluate on (the model is rebuilt from each
            checkpoint's own config).
        checkpoints: one path, or several for an ensemble (coordinates averaged).
        out_dir: output folder, or ``None`` to write nothing.
        split: ``"test"`` or ``"val"``.
        protocol: overrides ``cfg.eval.protocol``.
        flip_test: overrides ``cfg.eval.flip_test``.
        boxes: box source overriding the config's (see :func:`build_test_dataset`); ``None`` = the config's.
        device: torch device string.
        max_samples: evaluate at most this many samples per dataset.
        report: draw the PNG report (needs matplotlib).
        title: report title.

    Returns:
        The result dict (also written to ``eval.json``): headline metrics in mm, per-action/joint/group tables,
        the solved-root figures and the settings used.
    """
    from integral_pose.engine.checkpoint import model_from_checkpoint
    from integral_pose.eval.protocols import get_protocol
    from integral_pose.skeletons import get_skeleton

    if not checkpoints:
        raise ValueError("checkpoints: expected at least one checkpoint path")
    proto = get_protocol(protocol or cfg.eval.protocol)
    flip = cfg.eval.flip_test if flip_test is None else bool(flip_test)
    if proto.bone_rescale_mm and cfg.eval.bone_length_rescale is None:
        import dataclasses

        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, bone_length_rescale=proto.bone_rescale_mm))
    from integral_pose.config.io import config_from_dict

    models, archs = [], set()
    for path in checkpoints:
        model, ck = model_from_checkpoint(path, map_location=device)
        model_cfg = config_from_dict(ck["config"]).model
        if model_cfg.joint_set != cfg.model.joint_set:
            raise ValueError(
                f"{path}: joint set {model_cfg.joint_set!r} differs from the config's {cfg.model.joint_set!r}"
            )
        archs.add(model_cfg.arch)
        models.append(model.to(device))
    if len(archs) > 1:
        raise ValueError("--ensemble: all checkpoints must share the architecture (integral, direct or heatmap)")
    import dataclasses

    cfg = dataclasses.replace(cfg, model=model_cfg)
    dataset = build_test_dataset(cfg, split, proto.name, boxes, max_samples)
    pred = predict(models, dataset, cfg, device=device, flip_test=flip)
    specs = cfg.data.test if split == "test" else cfg.data.val
    box_sources = [boxes if boxes is not None else cfg.data.box_for(s) for s in specs]
    if proto.kind == "2d":
        res2 = score_2d(pred, dataset, cfg, proto.name, specs, "test" if split == "test" else "val", out_dir)
        res = {
            "protocol": proto.name,
            "protocol_title": proto.title,
            "headline": proto.headline,
            "kind": "2d",
            "flip_test": flip,
            "checkpoints": [str(p) for p in checkpoints],
            "arch": model_cfg.arch,
            "joint_set": cfg.model.joint_set,
            "split": split,
            "boxes": box_sources[0] if len(set(box_sources)) == 1 else box_sources,
            **res2,
        }
        if out_dir is not None:
            out = Path(out_dir)
            write_json_atomic(out / "eval.json", res)
            if report:
                _write_report_2d(out / "report.png", dataset, pred, res, cfg, title)
        return res
    res = score_3d(pred, dataset, cfg, detail=True)
    res = {
        "protocol": proto.name,
        "protocol_title": proto.title,
        "headline": proto.headline,
        "camera_space": "ground-truth root depth (the paper's protocol)" if cfg.eval.bone_length_rescale is None
        else f"root-centred, rescaled to total bone length {cfg.eval.bone_length_rescale} mm",
        "flip_test": flip,
        "checkpoints": [str(p) for p in checkpoints],
        "arch": model_cfg.arch,
        "split": split,
        "boxes": box_sources[0] if len(set(box_sources)) == 1 else box_sources,
        **res,
    }  # fmt: skip
    if out_dir is not None:
        out = Path(out_dir)
        write_json_atomic(out / "eval.json", res)
        if report:
            sk = get_skeleton(cfg.model.joint_set)
            sel = _eval_joints(sk.name, sk.num_joints)
            edges = [(a, b) for a, b in sk.edges if a in sel and b in sel]
            samples = _report_samples(dataset, pred, res, cfg)
            for s in samples:
                s.pred_2d, s.gt_2d, s.pred_3d, s.gt_3d = s.pred_2d[sel], s.gt_2d[sel], s.pred_3d[sel], s.gt_3d[sel]
            from integral_pose.viz.report import write_eval_report

            write_eval_report(out / "report.png", res, samples, edges, [sk.joint_names[j] for j in sel], title)
    return res


def _write_report_2d(path: Path, dataset: Any, pred: dict[str, np.ndarray], res: dict[str, Any], cfg: Any,
                     title: str) -> None:  # fmt: skip
    """The 2D report: per-joint bars and the best / median / worst samples with the 2D overlay."""
    from integral_pose.data.codec import IMAGENET_MEAN, normalized_to_patch
    from integral_pose.geometry.affine import apply_affine
    from integral_pose.skeletons import get_skeleton
    from integral_pose.viz.report import ReportSample, pick_best_median_worst, write_eval_report_2d

    target = "mpii16" if res["protocol"] == "mpii_pckh" else "coco17"
    sk = get_skeleton(target)
    parts = getattr(dataset, "datasets", [dataset])
    scores = np.asarray(res["samples"]["score"], dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(scores))
    mean = np.asarray(cfg.data.mean or IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(cfg.data.std, dtype=np.float32).reshape(3, 1, 1)
    patch = cfg.data.patch_size
    samples = []
    if finite.size:
        unit = "PCKh@0.5" if target == "mpii16" else "OKS"
        shown: set[int] = set()
        for label, pos in pick_best_median_worst(1.0 - scores[finite]):
            k = int(finite[pos])
            if k in shown:  # fewer than three samples
                continue
            shown.add(k)
            src, idx = int(pred["source"][k]), int(pred["index"][k])
            item = parts[src][idx]
            img = (item["image"].numpy() * std + mean).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
            gt_patch = apply_affine(item["joints_2d"].numpy().astype(np.float64), item["affine"].numpy())
            gt2, gv = _map_gt(gt_patch, item["joints_vis"].numpy(), parts[src].records.header.joint_set, target)
            gt2 = np.where(gv[:, None] > 0, gt2, np.nan)
            pr2, _ = to_joint_set(normalized_to_patch(pred["coords"][k], patch), cfg.model.joint_set, target)
            samples.append(ReportSample(f"{label}: {unit} {scores[k]:.2f}", np.ascontiguousarray(img), pr2, gt2,
                                        np.zeros((0, 3)), np.zeros((0, 3))))  # fmt: skip
    write_eval_report_2d(path, res, samples, sk.edges, sk.joint_names, title)


def format_result(res: dict[str, Any]) -> str:
    """A short text table of an :func:`evaluate` result."""
    if res.get("kind") == "2d":
        return _format_result_2d(res)
    lines = [
        f"{res['protocol_title']}: {res['num_samples']} samples, flip test {'on' if res['flip_test'] else 'off'}",
        f"  camera space: {res['camera_space']}",
        f"  MPJPE {res['mpjpe']:.1f} mm | align-MPJPE (rigid, no scale) {res['align_mpjpe']:.1f} mm | "
        f"PA-MPJPE {res['pa_mpjpe']:.1f} mm | N-MPJPE {res['n_mpjpe']:.1f} mm | "
        f"3DPCK@150 {100 * res['pck150']:.1f} % | AUC {100 * res['auc']:.1f} %",
    ]
    if "solved_root" in res:
        s = res["solved_root"]
        lines.append(f"  root solved from intrinsics: MRPE {s['mrpe']:.1f} mm, absolute MPJPE {s['abs_mpjpe']:.1f} mm")
    if res.get("per_action"):
        width = max(len(a) for a in res["per_action"])
        lines.append(f"  {'action'.ljust(width)}  MPJPE  PA-MPJPE")
        for a, v in res["per_action"].items():
            lines.append(f"  {a.ljust(width)}  {v:5.1f}  {res['per_action_pa'][a]:8.1f}")
    return "\n".join(lines)


def _format_result_2d(res: dict[str, Any]) -> str:
    lines = [f"{res['protocol_title']}: {res['num_samples']} samples, flip test {'on' if res['flip_test'] else 'off'}"]
    if res["protocol"] == "mpii_pckh":
        lines.append(f"  PCKh@0.5 {100 * res['pckh']:.1f} % | PCKh@0.1 {100 * res['pckh_0.1']:.1f} % "
                     "(mean without pelvis and thorax)")  # fmt: skip
        names = list(res["groups"])
        lines.append("  " + " ".join(f"{n:>8}" for n in names))
        lines.append("  " + " ".join(f"{100 * res['groups'][n]:8.1f}" for n in names))
    else:
        c = res["coco"]
        cells = [
            f"{k} {100 * c[k]:.1f}" if c[k] >= 0 else f"{k} n/a" for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")
        ]
        lines.append("  " + " | ".join(cells))
        lines.append(f"  mean OKS {res['mean_oks']:.3f}; person score: {res['score_rule']}")
    if res.get("missing_joints"):
        lines.append(f"  joints the model does not predict: {', '.join(res['missing_joints'])}")
    return "\n".join(lines)

"""Evaluation, step 2 of 3 (2D): MPII PCKh and COCO keypoint AP of predictions in the original image's pixels.

Predictions are mapped from the model's joint set to MPII-16 / COCO-17 through :mod:`integral_pose.skeletons`.
:func:`score_2d` takes the output of :func:`integral_pose.engine.eval_predict.predict`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.config.schema import Config, DatasetSpec
from integral_pose.data.records import PoseRecords
from integral_pose.eval.coco_ap import (
    coco_keypoint_ap,
    fill_missing_keypoints,
    keypoint_similarity,
    predictions_to_coco,
)
from integral_pose.eval.pckh import pckh_summary
from integral_pose.fileio import atomic_write_json, read_json
from integral_pose.skeletons import COCO_17, MPII_16, get_skeleton, mapping

__all__ = [
    "COCO_RESULTS_FILE",
    "coco_gt_path",
    "coco_keypoints",
    "coco_results",
    "map_gt",
    "score_2d",
    "score_coco",
    "score_pckh",
    "to_joint_set",
]


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


def map_gt(joints: np.ndarray, vis: np.ndarray, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
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
    pred, valid = to_joint_set(uv, joint_set, "mpii16")
    gt, vis = map_gt(gt_2d, gt_vis, gt_joint_set, "mpii16")
    out = pckh_summary(pred, gt, vis, head_size, pred_valid=valid)
    out["missing_joints"] = [MPII_16.joint_names[k] for k in np.flatnonzero(~valid)]
    return out


def coco_keypoints(uv: np.ndarray, joint_set: str) -> np.ndarray:
    """COCO-17 result keypoints (N, 17, 3): x, y px and a visibility/score column.

    Keypoints the model predicts get 1; those its joint set lacks (a Human3.6M model has no eyes or ears) get 0
    and are placed by :func:`integral_pose.eval.coco_ap.fill_missing_keypoints` (at the nose), because COCOeval
    scores every labelled ground-truth keypoint whatever the result's flag says.
    """
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
    n = np.asarray(uv).shape[0]
    return predictions_to_coco(image_ids, coco_keypoints(uv, joint_set), np.ones(n) if scores is None else scores)


def score_coco(results: Sequence[dict[str, Any]], gt: str | os.PathLike[str] | dict[str, Any],
               image_ids: Sequence[int] | np.ndarray) -> dict[str, float]:  # fmt: skip
    """COCOeval keypoint AP/AR (pycocotools) of ``results`` on the evaluated images of ``gt``."""
    gt_arg = gt if isinstance(gt, dict) else Path(gt)
    return coco_keypoint_ap(gt_arg, results, image_ids=sorted({int(i) for i in np.asarray(image_ids).tolist()}))


def _records_where(specs: Sequence[DatasetSpec], split: str, src: int) -> str:
    return f"data.{split}[{src}].records ({specs[src].records})"


def coco_gt_path(records: PoseRecords, where: str) -> Path:
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


def _check_original_pixels(records: PoseRecords, where: str) -> None:
    if "precrop" in records.header.meta:
        raise ValueError(
            f"{where}: a pre-cropped table's pixels are not the original images'; evaluate 2D protocols on the "
            "table the crops were made from"
        )


def score_2d(pred: dict[str, np.ndarray], dataset: Any, cfg: Config, protocol: str, specs: Sequence[DatasetSpec],
             split: str = "test", out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Score :func:`.eval_predict.predict` output with a 2D protocol (``mpii_pckh`` or ``coco_ap``).

    Predictions are taken in the original image's px (the decoded ``uv``: the crop's inverse affine applied to
    the network's output) and mapped from ``cfg.model.joint_set`` to MPII-16 / COCO-17. For ``coco_ap`` the
    results file (:data:`COCO_RESULTS_FILE`, every person scored 1.0) is written atomically into ``out_dir``
    when given and scored with pycocotools' COCOeval on the evaluated images.

    Args:
        pred: the dict returned by :func:`~integral_pose.engine.eval_predict.predict`.
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

    gts = {coco_gt_path(parts[s].records, _records_where(specs, split, s)) for s in np.unique(src).tolist()}
    if len(gts) != 1:
        raise ValueError(f"coco_ap: the evaluated datasets link to different annotation files {sorted(map(str, gts))}")
    gt_path = gts.pop()

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
        atomic_write_json(Path(out_dir) / COCO_RESULTS_FILE, results)
    stats = score_coco(results, gt_data, image_ids)
    gt_kp = np.array([anns[int(a)]["keypoints"] for a in ann_ids.tolist()], dtype=np.float64).reshape(-1, 17, 3)
    area = np.array([float(anns[int(a)].get("area", 0.0)) for a in ann_ids.tolist()])
    area = np.where(area > 0, area, 1.0)
    sim = keypoint_similarity(np.asarray([r["keypoints"] for r in results]).reshape(-1, 17, 3)[..., :2],
                              gt_kp[..., :2], gt_kp[..., 2], area)  # fmt: skip
    labelled = ~np.isnan(sim)
    oks = np.where(labelled.any(1), np.nansum(sim, 1) / np.maximum(labelled.sum(1), 1), np.nan)

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

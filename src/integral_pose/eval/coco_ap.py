"""COCO keypoint AP (OKS-based) through ``pycocotools`` (extra ``coco``).

Predictions are COCO result entries: ``{"image_id", "category_id": 1, "keypoints": [x, y, v] * 17, "score"}``
with pixel coordinates in the image; :func:`predictions_to_coco` builds them from arrays. :func:`coco_keypoint_ap`
runs the official evaluation and returns its twelve summary numbers by name.

Example:
    >>> import json
    >>> from importlib import resources
    >>> ann = resources.files("integral_pose") / "assets" / "coco_sample" / "person_keypoints_000000000785.json"
    >>> gt = json.loads(ann.read_text())
    >>> preds = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
    ...          for a in gt["annotations"]]
    >>> round(coco_keypoint_ap(gt, preds)["AP"], 6)
    1.0
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.skeletons import COCO_17

__all__ = [
    "COCO_SIGMAS",
    "COCO_STAT_NAMES",
    "coco_keypoint_ap",
    "fill_missing_keypoints",
    "keypoint_similarity",
    "predictions_to_coco",
]

#: Names of ``COCOeval.stats`` for keypoints, in order.
COCO_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")

#: Per-keypoint OKS falloff constants σ of the COCO keypoint benchmark (COCO-17 order).
COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)


def keypoint_similarity(pred: np.ndarray, gt: np.ndarray, vis: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Per-keypoint OKS terms ``exp(−d² / (2 · area · (2σ)²))`` of one prediction per ground-truth person.

    The object keypoint similarity of COCO is the mean of these terms over the keypoints labelled in the
    ground truth (``vis > 0``): ``np.nanmean(keypoint_similarity(...), axis=1)``.

    Args:
        pred: (N, 17, 2) predicted keypoints, px.
        gt: (N, 17, 2) ground-truth keypoints, px.
        vis: (N, 17) ground-truth labels (> 0 = labelled).
        area: (N,) ground-truth segment area, px².

    Returns:
        (N, 17) similarities in [0, 1], NaN where the ground truth is unlabelled.
    """
    P = np.asarray(pred, dtype=np.float64)
    G = np.asarray(gt, dtype=np.float64)
    if G.ndim != 3 or G.shape[1:] != (17, 2) or P.shape != G.shape:
        raise ValueError(f"pred, gt: expected matching shapes (N, 17, 2), got {P.shape} and {G.shape}")
    v = np.asarray(vis)
    a = np.asarray(area, dtype=np.float64)
    if v.shape != G.shape[:2] or a.shape != G.shape[:1]:
        raise ValueError(f"vis, area: expected shapes {G.shape[:2]} and {G.shape[:1]}, got {v.shape} and {a.shape}")
    if not (np.isfinite(a) & (a > 0)).all():
        raise ValueError("area: expected finite areas > 0 px²")
    d2 = ((P - G) ** 2).sum(-1)
    e = d2 / ((2.0 * COCO_SIGMAS) ** 2) / (a[:, None] + np.spacing(1)) / 2.0
    return np.where(v > 0, np.exp(-e), np.nan)


def fill_missing_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """Place keypoints a model cannot predict (NaN rows) at their nearest predicted COCO-17 ancestor.

    COCO scores every keypoint labelled in the ground truth whatever the result's visibility flag says, so a
    keypoint must have a position; the eyes and ears of a model without them go to the nose (the nearest joint
    up the COCO tree ear → eye → nose that has a prediction), or to the mean of the predicted keypoints when no
    ancestor has one.

    Args:
        keypoints: (N, 17, 2) px, NaN for keypoints without a prediction.

    Returns:
        (N, 17, 2) float64 without NaN (rows with no prediction at all are zeros).
    """

    k = np.array(keypoints, dtype=np.float64)
    if k.ndim != 3 or k.shape[1:] != (17, 2):
        raise ValueError(f"keypoints: expected shape (N, 17, 2), got {k.shape}")
    missing = np.isnan(k).any(-1)
    count = (~missing).sum(1)[:, None]
    centre = np.where(missing[..., None], 0.0, k).sum(1) / np.maximum(count, 1)  # (N, 2); zeros if none
    out = k.copy()
    for j in range(17):
        todo = missing[:, j]
        if not todo.any():
            continue
        fill = np.broadcast_to(centre, (k.shape[0], 2)).copy()
        found = np.zeros(k.shape[0], dtype=bool)
        a = COCO_17.parents[j]
        while a >= 0 and not found.all():
            take = ~found & ~missing[:, a]
            fill[take] = k[take, a]
            found |= take
            a = COCO_17.parents[a]
        out[todo, j] = fill[todo]
    return out


def predictions_to_coco(
    image_ids: Sequence[int] | np.ndarray,
    keypoints: np.ndarray,
    scores: Sequence[float] | np.ndarray,
    category_id: int = 1,
) -> list[dict[str, Any]]:
    """COCO result entries from arrays.

    Args:
        image_ids: (N,) COCO image id per person.
        keypoints: (N, 17, 2) px, or (N, 17, 3) with a per-joint score/visibility in the last column.
        scores: (N,) person scores (ranking for AP).
        category_id: COCO category (1 = person).

    Returns:
        A list of N result dicts.
    """
    k = np.asarray(keypoints, dtype=np.float64)
    if k.ndim != 3 or k.shape[1] != 17 or k.shape[2] not in (2, 3):
        raise ValueError(f"keypoints: expected shape (N, 17, 2) or (N, 17, 3), got {k.shape}")
    if np.isnan(k).any():
        raise ValueError("keypoints: expected no NaN values")
    ids = np.asarray(image_ids)
    s = np.asarray(scores, dtype=np.float64)
    if ids.shape != (k.shape[0],) or s.shape != (k.shape[0],):
        raise ValueError(f"image_ids/scores: expected shape ({k.shape[0]},) each, got {ids.shape} and {s.shape}")
    if k.shape[2] == 2:
        k = np.concatenate([k, np.ones((*k.shape[:2], 1))], axis=2)
    return [
        {"image_id": int(i), "category_id": int(category_id), "keypoints": kp.reshape(-1).tolist(), "score": float(sc)}
        for i, kp, sc in zip(ids, k, s)
    ]


def _load_gt(gt: str | Path | dict[str, Any]) -> dict[str, Any]:
    if isinstance(gt, dict):
        data = gt
    elif isinstance(gt, str | Path):
        path = Path(gt)
        if not path.is_file():
            raise FileNotFoundError(f"gt: annotation file {str(path)!r} does not exist")
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        raise TypeError(f"gt: expected a path or a COCO annotation dict, got {type(gt).__name__}")
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise ValueError(f"gt: missing key {key!r}; expected a COCO keypoint annotation file")
    return data


def coco_keypoint_ap(
    gt: str | Path | dict[str, Any],
    predictions: Sequence[dict[str, Any]],
    image_ids: Sequence[int] | None = None,
) -> dict[str, float]:
    """Run the COCO keypoint evaluation.

    Args:
        gt: COCO person-keypoints annotation file (path) or its loaded dict.
        predictions: COCO result entries (see :func:`predictions_to_coco`); at least one.
        image_ids: restrict the evaluation to these images (default: all images of ``gt``).

    Returns:
        ``{name: value}`` for :data:`COCO_STAT_NAMES` (AP at OKS 0.50:0.95, AP50, …), each in [0, 1]
        (−1 where COCO reports no ground truth in that area range).
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ImportError("coco_keypoint_ap needs pycocotools: install the 'coco' extra") from exc
    data = _load_gt(gt)
    preds = list(predictions)
    if not preds:
        raise ValueError("predictions: expected at least one result entry, got 0")
    known = {int(im["id"]) for im in data["images"]}
    for i, p in enumerate(preds):
        missing = [key for key in ("image_id", "category_id", "keypoints", "score") if key not in p]
        if missing:
            raise ValueError(f"predictions[{i}]: missing key(s) {missing}")
        if len(p["keypoints"]) != 51:
            raise ValueError(
                f"predictions[{i}]['keypoints']: expected 51 numbers (17 × x, y, v), got {len(p['keypoints'])}"
            )
        if int(p["image_id"]) not in known:
            raise ValueError(f"predictions[{i}]['image_id']: {p['image_id']} is not an image of gt")
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(data)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        if image_ids is not None:
            ev.params.imgIds = [int(i) for i in image_ids]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {name: float(v) for name, v in zip(COCO_STAT_NAMES, ev.stats)}

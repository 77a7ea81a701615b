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

__all__ = ["COCO_STAT_NAMES", "coco_keypoint_ap", "predictions_to_coco"]

#: Names of ``COCOeval.stats`` for keypoints, in order.
COCO_STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


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

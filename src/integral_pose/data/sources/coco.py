"""COCO person keypoints (``annotations/person_keypoints_<set>.json``) → canonical records.

Kept: non-crowd person annotations with at least ``min_keypoints`` labelled keypoints (v > 0). The box is the
annotation ``bbox`` clipped to the image (as the original: ``x2 = min(W − 1, x1 + max(0, w − 1))``) and enlarged
× 1.25 about its centre (the crop fixes the aspect ratio). Weights: v > 0 → 1. Joint sets: ``"h36m18"`` (mapped;
z weight 0) or ``"coco17"`` (2D model / AP). Plain JSON, no pycocotools needed; ``frame`` holds the COCO
annotation id and ``subaction`` the image id, and ``header.meta["coco_gt"]`` the annotation file (relative to the
image root when it lies under it), so ``ipr eval --protocol coco_ap`` can write results and score them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from integral_pose.data.records import PoseRecords, RecordsHeader, hash_files
from integral_pose.data.sources.common import as_array, check_joints_in_image, enlarge_box, require
from integral_pose.skeletons import map_joints

__all__ = ["read_coco"]


def read_coco(
    root: str | os.PathLike[str],
    split: str = "train2017",
    joint_set: str = "h36m18",
    annot_file: str | os.PathLike[str] | None = None,
    image_dir: str | None = None,
    min_keypoints: int = 2,
    box_factor: float = 1.25,
) -> PoseRecords:
    """Read COCO person keypoints of ``split`` into records.

    Args:
        root: dataset folder with ``annotations/`` and ``images/<split>/``.
        split: ``train2017``, ``val2017`` …
        joint_set: ``"h36m18"`` or ``"coco17"``.
        annot_file: explicit annotation JSON (default ``annotations/person_keypoints_<split>.json``).
        image_dir: image folder relative to ``root`` (default ``images/<split>``).
        min_keypoints: drop people with fewer labelled keypoints.
        box_factor: box enlargement.
    """
    root_p = Path(root)
    path = Path(annot_file) if annot_file is not None else root_p / "annotations" / f"person_keypoints_{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"coco annotation file not found: {path}")
    if joint_set not in ("h36m18", "coco17"):
        raise ValueError(f"joint_set: expected 'h36m18' or 'coco17', got {joint_set!r}")
    img_dir = image_dir if image_dir is not None else f"images/{split}"
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    images = {}
    for i, im in enumerate(require(data, "images", str(path))):
        where = f"{path} images[{i}]"
        images[int(require(im, "id", where))] = (
            str(require(im, "file_name", where)),
            int(require(im, "width", where)),
            int(require(im, "height", where)),
        )
    names, sizes, boxes, j2d, vis, ann_ids, img_ids = [], [], [], [], [], [], []
    for i, a in enumerate(require(data, "annotations", str(path))):
        where = f"{path} annotations[{i}]"
        if int(a.get("category_id", 1)) != 1 or int(a.get("iscrowd", 0)):
            continue
        kp = as_array(require(a, "keypoints", where), (51,), where, "keypoints").reshape(17, 3)
        v = (kp[:, 2] > 0).astype(np.float32)
        if v.sum() < min_keypoints:
            continue
        image_id = int(require(a, "image_id", where))
        if image_id not in images:
            raise ValueError(f"{where}: field 'image_id' {image_id} is not in the file's images")
        name, w, h = images[image_id]
        x, y, bw, bh = as_array(require(a, "bbox", where), (4,), where, "bbox")
        x1, y1 = max(0.0, x), max(0.0, y)
        x2 = min(w - 1.0, x1 + max(0.0, bw - 1.0))
        y2 = min(h - 1.0, y1 + max(0.0, bh - 1.0))
        if x2 < x1 or y2 < y1 or bw <= 0 or bh <= 0:
            continue  # empty box after clipping, as the original drops it
        check_joints_in_image(kp[:, :2], v, w, h, where)
        names.append(f"{img_dir}/{name}")
        sizes.append((w, h))
        boxes.append(enlarge_box(np.array([x1, y1, x2 - x1 + 1.0, y2 - y1 + 1.0]), box_factor))
        j2d.append(np.where(v[:, None] > 0, kp[:, :2], 0.0))
        vis.append(v)
        ann_ids.append(int(a.get("id", i)))
        img_ids.append(image_id)
    if not names:
        raise ValueError(f"{path}: the split {split!r} is empty (no usable person annotation)")
    joints_arr, vis_arr = np.asarray(j2d), np.asarray(vis)
    if joint_set == "h36m18":
        joints_arr, vis_arr = map_joints(joints_arr, vis_arr, "coco17", "h36m18")
    header = RecordsHeader(
        dataset="coco",
        split=split,
        joint_set=joint_set,
        root=str(root_p.resolve()),
        has_3d=False,
        source_hash=hash_files([path]),
        meta={"annotation": path.name, "source_files": [str(path)], "coco_gt": _gt_link(path, root_p)},
    )
    return PoseRecords.create(
        header,
        image_path=names,
        image_size=np.asarray(sizes),
        box=np.asarray(boxes),
        joints_2d=joints_arr,
        joints_vis=vis_arr,
        subaction=np.asarray(img_ids),
        frame=np.asarray(ann_ids),
    )


def _gt_link(annotation: Path, root: Path) -> str:
    """The annotation file as stored in ``meta["coco_gt"]``: relative to the image root when under it."""
    full = annotation.resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(full)

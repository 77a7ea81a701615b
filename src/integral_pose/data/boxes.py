"""Person boxes for a records table: the table's own, tight ones around the visible joints, or a box file.

Boxes are (x, y, w, h) in image px. ``tight`` grows the joints' bounding box ×1.25 about its centre (as the
datasets' own boxes); a box file is a ``.npy`` or ``.json`` array of (N, 4) boxes, one per record in order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from integral_pose.data.records import PoseRecords
from integral_pose.data.sources.common import tight_box
from integral_pose.fileio import read_json

__all__ = ["TIGHT_BOX_FACTOR", "apply_box_source", "load_box_file", "tight_boxes"]

TIGHT_BOX_FACTOR = 1.25
"""Growth of the tight box around the visible joints (box source ``tight``)."""


def tight_boxes(joints_2d: np.ndarray, vis: np.ndarray, fallback: np.ndarray,
                factor: float = TIGHT_BOX_FACTOR) -> np.ndarray:  # fmt: skip
    """Tight xywh boxes (N, 4) px around each sample's visible joints, grown ×``factor`` about their centre.

    Samples with fewer than two visible joints cannot be bounded and keep their ``fallback`` box.

    Args:
        joints_2d: (N, J, 2) joints, image px.
        vis: (N, J) visibility (> 0 = visible).
        fallback: (N, 4) boxes used where a tight box is undefined.
        factor: growth factor (1.25, as the datasets' own boxes).
    """
    j = np.asarray(joints_2d, dtype=np.float64)
    v = np.asarray(vis) > 0
    out = np.asarray(fallback, dtype=np.float64).copy()
    if out.shape != (j.shape[0], 4):
        raise ValueError(f"fallback: expected shape ({j.shape[0]}, 4), got {out.shape}")
    ok = v.sum(axis=1) >= 2
    if ok.any():
        out[ok] = tight_box(j[ok], v[ok], factor)
    return out.astype(np.float32)


def load_box_file(path: str | os.PathLike[str], n: int, where: str) -> np.ndarray:
    """Read a box file: a ``.npy`` or ``.json`` array of (N, 4) x, y, w, h px boxes, one per record in order.

    Args:
        path: the file.
        n: number of records the boxes must cover.
        where: the option naming the file in errors (``--boxes``, ``data.test[0].box`` …).
    """
    p = Path(path)
    if p.suffix not in (".npy", ".json"):
        raise ValueError(
            f"{where}: expected 'gt', 'tight' or a .npy/.json file of (N, 4) xywh boxes, got {str(path)!r}"
        )
    if not p.is_file():
        raise FileNotFoundError(f"{where}: box file not found: {p}")
    raw = read_json(p, where) if p.suffix == ".json" else None  # typed errors for a folder or invalid JSON
    try:
        boxes = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.asarray(raw, float)
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{where}: {p} is not a readable (N, 4) box array ({exc})") from None
    if boxes.shape != (n, 4):
        raise ValueError(f"{where}: {p} holds shape {boxes.shape}, expected ({n}, 4) (one xywh box per record)")
    if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
        raise ValueError(f"{where}: {p} has non-finite boxes or boxes with non-positive size")
    return boxes.astype(np.float32)


def apply_box_source(records: PoseRecords, source: str, where: str) -> PoseRecords:
    """``records`` with the person boxes of ``source``: ``gt`` (unchanged), ``tight`` or a box file.

    Args:
        records: the table (not modified; a new table is returned when the boxes change).
        source: ``"gt"`` (the records' own boxes), ``"tight"`` (:func:`tight_boxes`, ×1.25) or a path to a
            ``.npy``/``.json`` file of (N, 4) xywh px boxes in record order (:func:`load_box_file`).
        where: the config key or option the value came from, for errors.
    """
    if source == "gt":
        return records
    if source == "tight":
        boxes = tight_boxes(records.joints_2d, records.joints_vis, records.box)
    else:
        boxes = load_box_file(source, len(records), where)
    out = records.subset(slice(None))
    out.box = boxes
    out.validate()
    return out

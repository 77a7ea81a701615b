"""MPII Human Pose in the JSON layout of the original system (and of the common 2D pose codebases).

``annot/{train,valid,trainval}.json``: a list of ``{image, center [x, y], scale, joints [16][2], joints_vis [16]}``
with 1-based MATLAB pixel coordinates (unannotated joints are ``[-1, -1]``); images under ``images/``.

Conventions of the original: centre and joints −1 (0-based), ``center_y += 15·scale``, box side
``scale · 200 · 1.25`` (a square around the corrected centre). Records are mapped to ``h36m18`` (default; joints
MPII lacks get weight 0, and z always has weight 0 because ``has_3d`` is false) or kept as ``mpii16``.

``annot/gt_valid.mat`` (PCKh ground truth) is read by :func:`read_gt_valid_mat` (needs SciPy).

Head sizes (the PCKh normaliser, ``0.6 ×`` the head-rectangle diagonal in px) go to the records' ``head_size``
column: from an entry's optional ``headbox`` field ``[x1, y1, x2, y2]`` px, else from a head-box file aligned
with the entries (``headboxes_src`` of ``gt_valid.mat``, used by default for the ``valid`` split when
``annot/gt_valid.mat`` exists), else unknown (NaN; ``ipr eval --protocol mpii_pckh`` then asks for them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.data.records import PoseRecords, RecordsHeader, hash_files
from integral_pose.data.sources.common import as_array, check_joints_in_image, image_size, require
from integral_pose.eval.pckh import HEAD_SIZE_FACTOR
from integral_pose.skeletons import map_joints

__all__ = ["read_gt_valid_mat", "read_mpii"]

BOX_FACTOR = 1.25
CENTER_SHIFT = 15.0


def read_mpii(
    root: str | os.PathLike[str],
    split: str = "train",
    joint_set: str = "h36m18",
    annot_file: str | os.PathLike[str] | None = None,
    image_dir: str = "images",
    headbox_file: str | os.PathLike[str] | None = None,
) -> PoseRecords:
    """Read ``root/annot/<split>.json`` into records.

    Args:
        root: dataset folder (``images/`` + ``annot/``).
        split: annotation file stem (``train``, ``valid``, ``trainval``).
        joint_set: ``"h36m18"`` (mapped) or ``"mpii16"``.
        annot_file: explicit annotation file (overrides ``split``'s path).
        image_dir: image folder under ``root``.
        headbox_file: a ``gt_valid.mat``-style file whose ``headboxes_src`` holds one head box per entry, in
            entry order (default: ``root/annot/gt_valid.mat`` for ``split="valid"`` when it exists).

    Raises:
        FileNotFoundError: missing annotation file or image. ValueError: bad JSON, missing keys or wrong shapes
        (naming the file, entry and field), joints far outside the image, an empty split.
    """
    root_p = Path(root)
    path = Path(annot_file) if annot_file is not None else root_p / "annot" / f"{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"mpii annotation file not found: {path}")
    if joint_set not in ("h36m18", "mpii16"):
        raise ValueError(f"joint_set: expected 'h36m18' or 'mpii16', got {joint_set!r}")
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of people, got {type(entries).__name__}")
    if not entries:
        raise ValueError(f"{path}: the split {split!r} is empty (0 people)")
    head_file = _default_headbox_file(root_p, split, annot_file) if headbox_file is None else Path(headbox_file)
    file_heads = _head_sizes_from_file(head_file, len(entries)) if head_file is not None else None
    head_sizes = np.full(len(entries), np.nan)
    sizes: dict[str, tuple[int, int]] = {}
    names, boxes, j2d, vis, wh = [], [], [], [], []
    for i, e in enumerate(entries):
        where = f"{path} entry {i}"
        name = str(require(e, "image", where))
        center = as_array(require(e, "center", where), (2,), where, "center")
        scale = float(as_array(require(e, "scale", where), (), where, "scale"))
        if scale <= 0:
            raise ValueError(f"{where}: field 'scale' must be > 0, got {scale}")
        joints = as_array(require(e, "joints", where), (16, 2), where, "joints") - 1.0
        jv = as_array(require(e, "joints_vis", where), (16,), where, "joints_vis")
        jv = (jv > 0).astype(np.float32)
        if center[0] < 1:
            raise ValueError(f"{where}: field 'center' x must be >= 1 (1-based), got {center.tolist()}")
        if name not in sizes:
            img = root_p / image_dir / name
            if not img.is_file():
                raise FileNotFoundError(f"{where}: image not found: {img}")
            sizes[name] = image_size(img)
        w, h = sizes[name]
        check_joints_in_image(joints, jv, w, h, where)
        c = center - 1.0
        c[1] += CENTER_SHIFT * scale
        side = scale * 200.0 * BOX_FACTOR
        names.append(f"{image_dir}/{name}")
        boxes.append([c[0] - 0.5 * side, c[1] - 0.5 * side, side, side])
        j2d.append(np.where(jv[:, None] > 0, joints, 0.0))
        vis.append(jv)
        wh.append((w, h))
        if "headbox" in e:
            hb = as_array(e["headbox"], (4,), where, "headbox")
            head_sizes[i] = HEAD_SIZE_FACTOR * float(np.linalg.norm(hb[2:] - hb[:2]))
            if not head_sizes[i] > 0:
                raise ValueError(f"{where}: field 'headbox' {hb.tolist()} is degenerate (zero diagonal)")
        elif file_heads is not None:
            head_sizes[i] = file_heads[i]
    joints_arr, vis_arr = np.asarray(j2d), np.asarray(vis)
    if joint_set == "h36m18":
        joints_arr, vis_arr = map_joints(joints_arr, vis_arr, "mpii16", "h36m18")
    header = RecordsHeader(
        dataset="mpii",
        split=split,
        joint_set=joint_set,
        root=str(root_p.resolve()),
        has_3d=False,
        source_hash=hash_files([path] if head_file is None else [path, head_file]),
        meta={
            "annotation": path.name,
            "source_files": [str(path)] if head_file is None else [str(path), str(head_file)],
            **({} if head_file is None else {"headbox_file": str(head_file)}),
        },
    )
    return PoseRecords.create(
        header,
        image_path=names,
        image_size=np.asarray(wh),
        box=np.asarray(boxes),
        joints_2d=joints_arr,
        joints_vis=vis_arr,
        frame=np.arange(len(names)),
        head_size=head_sizes,
    )


def _default_headbox_file(root: Path, split: str, annot_file: str | os.PathLike[str] | None) -> Path | None:
    """``root/annot/gt_valid.mat`` for the ``valid`` split read from its default place, when it exists."""
    if annot_file is not None or split != "valid":
        return None
    mat = root / "annot" / "gt_valid.mat"
    return mat if mat.is_file() else None


def _head_sizes_from_file(path: Path, n: int) -> np.ndarray:
    """(n,) head sizes px from a ``gt_valid.mat``-style file with one head box per annotation entry."""
    boxes = read_gt_valid_mat(path)["head_boxes"]  # (N, 2, 2) corner, xy
    if boxes.shape[0] != n:
        raise ValueError(
            f"headbox_file: {path} holds {boxes.shape[0]} head boxes, the annotation file has {n} entries "
            "(they must be aligned entry by entry)"
        )
    sizes = HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    if not (np.isfinite(sizes) & (sizes > 0)).all():
        k = int(np.argmax(~(np.isfinite(sizes) & (sizes > 0))))
        raise ValueError(f"headbox_file: {path} head box {k} is degenerate ({boxes[k].tolist()})")
    return sizes


def read_gt_valid_mat(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read MPII ``gt_valid.mat`` for PCKh.

    Returns:
        ``{"joints": (N, 16, 2) 0-based px, "missing": (N, 16) bool, "head_boxes": (N, 2, 2) 0-based px
        (corner, xy), "joint_names": list[str]}`` — the file stores ``pos_gt_src`` (16, 2, N) and
        ``headboxes_src`` (2, 2, N) 1-based, ``jnt_missing`` (16, N).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"mpii PCKh ground truth not found: {p}")
    try:
        from scipy.io import loadmat
    except ImportError:  # pragma: no cover - scipy ships with the dev extra
        raise ValueError("reading gt_valid.mat needs SciPy (pip install scipy)") from None
    try:
        mat = loadmat(str(p))
    except (ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{p}: not a readable MATLAB file ({exc})") from None
    for key in ("pos_gt_src", "jnt_missing", "headboxes_src"):
        if key not in mat:
            raise ValueError(f"{p}: missing variable {key!r}")
    pos = np.asarray(mat["pos_gt_src"], dtype=np.float64)
    miss = np.asarray(mat["jnt_missing"])
    head = np.asarray(mat["headboxes_src"], dtype=np.float64)
    if pos.ndim != 3 or pos.shape[:2] != (16, 2):
        raise ValueError(f"{p}: variable 'pos_gt_src' has shape {pos.shape}, expected (16, 2, N)")
    n = pos.shape[2]
    if miss.shape != (16, n):
        raise ValueError(f"{p}: variable 'jnt_missing' has shape {miss.shape}, expected (16, {n})")
    if head.shape != (2, 2, n):
        raise ValueError(f"{p}: variable 'headboxes_src' has shape {head.shape}, expected (2, 2, {n})")
    names: list[str] = []
    if "dataset_joints" in mat:
        names = [str(np.asarray(v).reshape(-1)[0]) for v in np.asarray(mat["dataset_joints"]).reshape(-1)]
    return {
        "joints": pos.transpose(2, 0, 1) - 1.0,
        "missing": miss.T.astype(bool),
        "head_boxes": head.transpose(2, 0, 1) - 1.0,
        "joint_names": names,
    }

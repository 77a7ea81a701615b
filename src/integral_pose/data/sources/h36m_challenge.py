"""The ECCV'18 Human3.6M challenge layout: ``{Train,Val,Test}/IMG/%05d.jpg`` + ``{Train,Val}/POSE/%05d.csv``.

POSE files hold 17 rows × 3 comma-separated numbers: root-relative camera coordinates in mm (standard 17-joint
order); thorax (mean of the shoulders) is appended. No intrinsics are given, so image labels come, as in the
original system, from a 2D similarity fit (scale, rotation, translation) of the pose's (x, y) onto 2D joint
positions of the image — any 2D predictions (e.g. our 2D model's) in a JSON file
``{"00001.jpg": [[x, y] × 17 or 18], …}``; depth is scaled by the same factor. As the original, the similarity
is fitted on all 18 joints, thorax included (a 17-joint detection gets its thorax as the mean of its shoulders).
Records keep the mm pose in ``joints_3d_cam`` (root at 0 mm depth offset) and the fitted px in ``joints_2d``; the
per-sample px/mm factor is recoverable with :func:`pixels_per_mm`, which the dataset uses for the original's
"depth in image" labels.

Test images (and Train/Val without 2D predictions) get the whole image as box (the original's ``org_db``) unless
detector boxes are applied (:func:`integral_pose.data.sources.common.apply_detector_boxes`, factor 1.1).

At test time the root-centred prediction is rescaled to a total bone length (:func:`rescale_to_bone_length`,
4502.881 mm = mean over train+val).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from integral_pose.conventions import MEAN_SKELETON_LENGTH_MM
from integral_pose.data.records import PoseRecords, RecordsHeader, hash_files
from integral_pose.data.sources.common import as_array, image_size, tight_box
from integral_pose.data.sources.h36m import h36m17_to_18
from integral_pose.fileio import read_json
from integral_pose.skeletons import H36M_18

__all__ = [
    "MEAN_BONE_LENGTH_MM",
    "fit_similarity_2d",
    "pixels_per_mm",
    "read_challenge",
    "read_pose_csv",
    "rescale_to_bone_length",
]

MEAN_BONE_LENGTH_MM = MEAN_SKELETON_LENGTH_MM
SPLITS = ("Train", "Val", "Test")


def read_pose_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """One POSE csv → (17, 3) float64 mm; errors name the file, row and field."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"challenge pose file not found: {p}")
    rows = [ln for ln in p.read_text().splitlines() if ln.strip()]
    if len(rows) != 17:
        raise ValueError(f"{p}: expected 17 rows (joints), got {len(rows)}")
    out = np.zeros((17, 3))
    for i, ln in enumerate(rows):
        toks = ln.split(",")
        if len(toks) != 3:
            raise ValueError(f"{p}: row {i + 1} has {len(toks)} values, expected 3 (x, y, z)")
        try:
            out[i] = [float(t) for t in toks]
        except ValueError:
            raise ValueError(f"{p}: row {i + 1} is not numeric: {ln[:60]!r}") from None
    if not np.isfinite(out).all():
        raise ValueError(f"{p}: non-finite values")
    return out


def fit_similarity_2d(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ≈ s·R·src + t`` for 2D points (J, 2) (weighted Umeyama, no reflection).

    Returns ``(s, R (2, 2), t (2,))``.
    """
    a = np.asarray(src, dtype=np.float64)
    b = np.asarray(dst, dtype=np.float64)
    w = np.ones(len(a)) if weights is None else np.asarray(weights, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 2 or w.shape != (len(a),):
        raise ValueError(f"src/dst/weights: expected (J, 2), (J, 2), (J,), got {a.shape}, {b.shape}, {w.shape}")
    if (w > 0).sum() < 2:
        raise ValueError("fit_similarity_2d: needs at least 2 weighted points")
    w = w / w.sum()
    ma, mb = w @ a, w @ b
    ac, bc = a - ma, b - mb
    cov = (bc * w[:, None]).T @ ac
    u, sig, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    R = u @ d @ vt
    var = float(w @ (ac**2).sum(axis=1))
    if var <= 0:
        raise ValueError("fit_similarity_2d: source points are all identical")
    s = float(np.trace(np.diag(sig) @ d) / var)
    return s, R, mb - s * R @ ma


def _with_thorax_2d(joints_17: np.ndarray) -> np.ndarray:
    """(17, 2) Human3.6M-17 image joints → (18, 2) with the thorax (mean of the shoulders 11 and 14) appended."""
    return np.concatenate([joints_17, 0.5 * (joints_17[11:12] + joints_17[14:15])], axis=0)


def pixels_per_mm(joints_2d: np.ndarray, joints_3d: np.ndarray, vis: np.ndarray | None = None) -> float:
    """Scale factor of a similarity between the 3D pose's (x, y) (mm) and its 2D labels (px)."""
    s, _, _ = fit_similarity_2d(joints_3d[:, :2], joints_2d, vis)
    return s


def rescale_to_bone_length(pose: np.ndarray, total_mm: float = MEAN_BONE_LENGTH_MM) -> np.ndarray:
    """Root-centre poses (..., 18, 3) and scale them so the 17 bones of ``h36m18`` sum to ``total_mm``."""
    p = np.asarray(pose, dtype=np.float64)
    p = p - p[..., :1, :]
    length = H36M_18.bone_lengths(p).sum(axis=-1, keepdims=True)
    if (length <= 0).any():
        raise ValueError("rescale_to_bone_length: a pose has zero total bone length")
    return p * (total_mm / length)[..., None]


def read_challenge(
    root: str | os.PathLike[str],
    split: str = "Train",
    pred_2d: str | os.PathLike[str] | None = None,
) -> PoseRecords:
    """Read one split of the challenge layout into ``h36m18`` records.

    Args:
        root: folder holding ``Train/``, ``Val/``, ``Test/``.
        split: ``Train``, ``Val`` or ``Test``.
        pred_2d: JSON of 2D joint positions per image name (17 or 18 × [x, y] px, H36M order) used for the
            similarity fit; required for Train/Val labels to be in image px. Without it, Train/Val records get
            a weak-perspective placement in the image centre (useful only for 3D-from-crop experiments).
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    root_p = Path(root)
    img_dir = root_p / split / "IMG"
    if not img_dir.is_dir():
        raise FileNotFoundError(f"challenge layout: folder not found: {img_dir}")
    names = sorted(p.name for p in img_dir.glob("*.jpg"))
    if not names:
        raise ValueError(f"{img_dir}: the split {split!r} is empty (no .jpg files)")
    preds: dict[str, np.ndarray] = {}
    if pred_2d is not None:
        pp = Path(pred_2d)
        raw = read_json(pp, "2D prediction file")
        for k, v in raw.items():
            arr = as_array(v, (-1, 2), f"{pp} [{k}]", "joints")
            if arr.shape[0] not in (17, 18):
                raise ValueError(f"{pp} [{k}]: field 'joints' has {arr.shape[0]} joints, expected 17 or 18")
            preds[k] = arr if arr.shape[0] == 18 else _with_thorax_2d(arr)
    n = len(names)
    sizes = np.asarray([image_size(img_dir / nm) for nm in names])
    j2d = np.zeros((n, 18, 2))
    j3d = np.full((n, 18, 3), np.nan)
    boxes = np.zeros((n, 4))
    files = []
    for i, nm in enumerate(names):
        w, h = sizes[i]
        boxes[i] = [0.0, 0.0, w, h]
        if split == "Test":
            continue
        csv = root_p / split / "POSE" / (Path(nm).stem + ".csv")
        pose = h36m17_to_18(read_pose_csv(csv))
        files.append(csv)
        j3d[i] = pose
        if nm in preds:
            s, R, t = fit_similarity_2d(pose[:, :2], preds[nm])  # all 18 joints, thorax included
        elif pred_2d is not None:
            raise ValueError(f"{pred_2d}: no 2D joints for image {nm!r}")
        else:
            extent = np.ptp(pose[:, :2], axis=0).max()
            s, R, t = 0.8 * min(w, h) / max(extent, 1.0), np.eye(2), np.array([w / 2.0, h / 2.0])
        j2d[i] = (s * pose[:, :2] @ R.T) + t
        boxes[i] = tight_box(j2d[i], None, 1.25)
    header = RecordsHeader(
        dataset="h36m_challenge",
        split=split,
        joint_set="h36m18",
        root=str(root_p.resolve()),
        has_3d=split != "Test",
        source_hash=hash_files(files) if files else "",
        meta={
            "pred_2d": str(pred_2d) if pred_2d else "",
            "depth_in_image": True,
            "source_files": [str(f) for f in files],
        },
    )
    return PoseRecords.create(
        header,
        image_path=[f"{split}/IMG/{nm}" for nm in names],
        image_size=sizes,
        box=boxes,
        joints_2d=j2d,
        joints_vis=np.ones((n, 18), dtype=np.float32),
        joints_3d_cam=j3d,
        frame=np.asarray([int(Path(nm).stem) if Path(nm).stem.isdigit() else i for i, nm in enumerate(names)]),
    )

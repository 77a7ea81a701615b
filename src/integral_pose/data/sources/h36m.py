"""Human3.6M readers: the original system's layout and the widely shared JSON layout → canonical records.

Identifiers: subjects 1, 5, 6, 7, 8, 9, 11; actions 2..16 (:data:`ACTIONS`; ``TakingPhoto``/``WalkingDog`` are
accepted for ``Photo``/``WalkDog``); subactions 1, 2; cameras 1..4 = :data:`CAMERA_IDS`.

Joints: the 32 raw joints are reduced to the standard 17 (:data:`H36M32_TO_17`) and the original's thorax (mean of
the shoulders) is appended → ``h36m18``. 2D labels are the pinhole projection **without** distortion (as the
original); 3D labels are camera-frame mm with ``X_cam = Rᵀ·(X_world − T)`` (records' convention).

Boxes (``box_mode``): ``"square"`` (the original: a ``rect_3d_mm`` square centred on the pelvis at pelvis depth,
projected), ``"tight"`` (2D joint extent × 1.25) or ``"annotation"`` (JSON layout bbox × 1.25/1.2 → the loaders'
1.25 × joint extent).

Layouts:

* **original** — ``images/s_SS_act_AA_subact_BB_ca_CC/s_SS_act_AA_subact_BB_ca_CC_FFFFFF.jpg`` (frame 1-based)
  and ``annot/<folder>/matlab_meta.txt`` (see :func:`read_matlab_meta`).
* **json** — ``images/<file_name>`` and ``annotations/Human36M_subject{S}_{data,camera,joint_3d}.json``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.conventions import DEFAULT_RECT_3D_MM
from integral_pose.data.records import PoseRecords, RecordsHeader, hash_files
from integral_pose.data.sources.common import (
    as_array,
    enlarge_box,
    random_frames_per_group,
    require,
    tight_box,
)
from integral_pose.fileio import atomic_write_text, read_json
from integral_pose.geometry.camera import Camera

__all__ = [
    "ACTIONS",
    "ACTION_ALIASES",
    "CAMERA_IDS",
    "H36M32_TO_17",
    "PROTOCOLS",
    "SUBJECTS",
    "MatlabMeta",
    "action_id",
    "build_h36m_records",
    "folder_name",
    "h36m17_to_18",
    "load_camera",
    "load_h36m_cameras",
    "parse_subjects",
    "project",
    "protocol_subjects",
    "read_json_layout",
    "read_matlab_meta",
    "read_original_layout",
    "square_box",
    "world_to_camera",
    "write_matlab_meta",
]

SUBJECTS = (1, 5, 6, 7, 8, 9, 11)
ACTIONS: dict[int, str] = {
    2: "Directions", 3: "Discussion", 4: "Eating", 5: "Greeting", 6: "Phoning", 7: "Posing", 8: "Purchases",
    9: "Sitting", 10: "SittingDown", 11: "Smoking", 12: "Photo", 13: "Waiting", 14: "Walking", 15: "WalkDog",
    16: "WalkTogether",
}  # fmt: skip
ACTION_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
PROTOCOLS: dict[int, dict[str, tuple[int, ...]]] = {
    1: {"train": (1, 5, 6, 7, 8, 9), "test": (11,)},
    2: {"train": (1, 5, 6, 7, 8), "test": (9, 11)},
}
_FOLDER_RE = re.compile(r"^s_(\d\d)_act_(\d\d)_subact_(\d\d)_ca_(\d\d)$")
_SHOULDERS = (11, 14)


# ---------------------------------------------------------------------------------------------- identifiers
def parse_subjects(values: Iterable[int | str]) -> tuple[int, ...]:
    """``[1, "S5", "s9"]`` → ``(1, 5, 9)``; unknown subjects raise ``ValueError``."""
    out = []
    for v in values:
        s = str(v).strip()
        num = s[1:] if s[:1] in ("S", "s") else s
        if not num.isdigit() or int(num) not in SUBJECTS:
            raise ValueError(f"subject: unknown Human3.6M subject {v!r}; expected one of {[f'S{k}' for k in SUBJECTS]}")
        out.append(int(num))
    return tuple(sorted(set(out)))


def protocol_subjects(protocol: int, split: str) -> tuple[int, ...]:
    """Subjects of ``split`` ("train" or "test") under Protocol #1 or #2 (DESIGN §3)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol: expected 1 or 2, got {protocol!r}")
    if split not in PROTOCOLS[protocol]:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    return PROTOCOLS[protocol][split]


def action_id(name: str) -> int:
    """Action id 2..16 of a name (raw-release spellings and ``"Directions 1"`` style suffixes accepted)."""
    base = name.strip().split(" ")[0]
    base = ACTION_ALIASES.get(base, base)
    for k, v in ACTIONS.items():
        if v == base:
            return k
    raise ValueError(f"action: unknown Human3.6M action {name!r}; expected one of {list(ACTIONS.values())}")


def folder_name(subject: int, action: int, subaction: int, camera: int) -> str:
    """``s_SS_act_AA_subact_BB_ca_CC`` (the original layout's video folder)."""
    return f"s_{subject:02d}_act_{action:02d}_subact_{subaction:02d}_ca_{camera:02d}"


# ---------------------------------------------------------------------------------------------- geometry
def h36m17_to_18(joints17: np.ndarray) -> np.ndarray:
    """Append thorax = mean of the shoulders (17-joint indices 11, 14) → (..., 18, D)."""
    j = np.asarray(joints17)
    if j.shape[-2] != 17:
        raise ValueError(f"joints17: expected shape (..., 17, D), got {j.shape}")
    thorax = 0.5 * (j[..., _SHOULDERS[0], :] + j[..., _SHOULDERS[1], :])
    return np.concatenate([j, thorax[..., None, :]], axis=-2)


def world_to_camera(x_world: np.ndarray, R: np.ndarray, T: np.ndarray) -> np.ndarray:
    """World mm (..., J, 3) → camera mm with ``X_cam = Rᵀ·(X − T)``; R (..., 3, 3), T (..., 3) mm."""
    x = np.asarray(x_world, dtype=np.float64) - np.asarray(T, dtype=np.float64)[..., None, :]
    return np.einsum("...jk,...kc->...jc", x, np.asarray(R, dtype=np.float64))


def project(x_cam: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Pinhole projection (no distortion) of camera-frame points (..., J, 3) → px (..., J, 2)."""
    x = np.asarray(x_cam, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)[..., None, :]
    c = np.asarray(c, dtype=np.float64)[..., None, :]
    return x[..., :2] / x[..., 2:3] * f + c


def square_box(
    root_cam: np.ndarray, f: np.ndarray, c: np.ndarray, rect_3d_mm: float = DEFAULT_RECT_3D_MM
) -> np.ndarray:
    """The original's box: a ``rect_3d_mm`` square centred on the root at its depth, projected → (..., 4) xywh."""
    r = np.asarray(root_cam, dtype=np.float64)
    half = np.array([0.5 * rect_3d_mm, 0.5 * rect_3d_mm, 0.0])
    corners = np.stack([r - half, r + half], axis=-2)  # (..., 2, 3)
    lt, rb = np.moveaxis(project(corners, f, c), -2, 0)
    return np.concatenate([lt, rb - lt], axis=-1)


def load_camera(subject: int, camera: int) -> dict[str, Any]:
    """Official calibration of (subject, camera 1..4) from the shipped ``h36m_cameras.json`` (T in **mm**)."""
    text = (resources.files("integral_pose") / "assets" / "h36m_cameras.json").read_text()
    data = json.loads(text)
    key = f"S{subject}"
    if key not in data or not 1 <= camera <= 4:
        raise ValueError(f"camera: no calibration for subject {key} camera {camera} (cameras are 1..4)")
    cam = data[key][camera - 1]
    return {
        "id": str(cam["id"]),
        "R": np.asarray(cam["R"], dtype=np.float64),
        "T": np.asarray(cam["T"], dtype=np.float64) * 1000.0,
        "f": np.asarray(cam["f"], dtype=np.float64),
        "c": np.asarray(cam["c"], dtype=np.float64),
        "k": np.asarray(cam["k"], dtype=np.float64),
        "p": np.asarray(cam["p"], dtype=np.float64),
        "size": (int(cam["res_w"]), int(cam["res_h"])),
    }


# ---------------------------------------------------------------------------------------------- records
def build_h36m_records(
    *,
    image_path: Sequence[str],
    image_size: np.ndarray,
    joints_world: np.ndarray,
    cam_R: np.ndarray,
    cam_T: np.ndarray,
    cam_f: np.ndarray,
    cam_c: np.ndarray,
    cam_k: np.ndarray,
    cam_p: np.ndarray,
    subject: Sequence[int],
    action: Sequence[int],
    subaction: Sequence[int],
    camera: Sequence[int],
    frame: Sequence[int],
    root: str,
    split: str,
    layout: str,
    source_hash: str = "",
    box_mode: str = "square",
    rect_3d_mm: float = DEFAULT_RECT_3D_MM,
    annotation_box: np.ndarray | None = None,
    source_files: Sequence[str] = (),
) -> PoseRecords:
    """Records from per-frame world joints (N, 18, 3) mm and cameras (records' convention, T in mm)."""
    n = len(image_path)
    if n == 0:
        raise ValueError(f"human3.6m {split}: the selection is empty (no frames matched the subjects/stride)")
    cam = world_to_camera(joints_world, cam_R, cam_T)
    j2d = project(cam, cam_f, cam_c)
    if box_mode == "square":
        box = square_box(cam[:, 0], cam_f, cam_c, rect_3d_mm)
    elif box_mode == "tight":
        box = tight_box(j2d, None, 1.25)
    elif box_mode == "annotation":
        if annotation_box is None:
            raise ValueError("box_mode 'annotation' needs the JSON layout's bbox field")
        box = enlarge_box(annotation_box, 1.25 / 1.2)
    else:
        raise ValueError(f"box_mode: expected 'square', 'tight' or 'annotation', got {box_mode!r}")
    header = RecordsHeader(
        dataset="h36m",
        split=split,
        joint_set="h36m18",
        root=root,
        has_3d=True,
        source_hash=source_hash,
        meta={
            "layout": layout,
            "box_mode": box_mode,
            "rect_3d_mm": rect_3d_mm,
            "source_files": [str(f) for f in source_files],
        },
    )
    return PoseRecords.create(
        header,
        image_path=list(image_path),
        image_size=image_size,
        box=box,
        joints_2d=j2d,
        joints_vis=np.ones((n, 18), dtype=np.float32),
        joints_3d_cam=cam,
        cam_f=cam_f,
        cam_c=cam_c,
        cam_k=cam_k,
        cam_p=cam_p,
        cam_R=cam_R,
        cam_T=cam_T,
        subject=[f"S{s}" for s in subject],
        action=[ACTIONS[a] for a in action],
        subaction=np.asarray(subaction),
        camera_id=[CAMERA_IDS[c - 1] for c in camera],
        frame=np.asarray(frame),
    )


def _frame_selection(num_frames: int, stride: int) -> np.ndarray:
    if stride < 1:
        raise ValueError(f"stride: expected >= 1, got {stride}")
    return np.arange(0, num_frames, stride)


def _finish(parts: dict[str, list[Any]], frames_per_video: int | None, seed: int, **kw: Any) -> PoseRecords:
    idx = np.arange(len(parts["image_path"]))
    if frames_per_video is not None:
        video = [p.rsplit("/", 1)[0] for p in parts["image_path"]]
        idx = random_frames_per_group(video, frames_per_video, seed)
    sel = {k: [v[i] for i in idx] for k, v in parts.items()}
    arrays = {k: np.asarray(v) for k, v in sel.items() if k not in ("image_path",)}
    return build_h36m_records(image_path=sel["image_path"], **arrays, **kw)


# ---------------------------------------------------------------------------------------------- original layout
@dataclass
class MatlabMeta:
    """Contents of one ``matlab_meta.txt`` (camera in records' convention; T mm; joints world mm (N, 32, 3))."""

    num_frames: int
    width: int
    height: int
    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    k: np.ndarray
    p: np.ndarray
    joint_index: np.ndarray  # (17,) 0-based indices into the 32 raw joints
    joints_world: np.ndarray  # (N, 32, 3)


def read_matlab_meta(path: str | os.PathLike[str]) -> MatlabMeta:
    """Parse the original layout's ``matlab_meta.txt``.

    Line 1: frame count N; then lines starting with an ignored tag word: (2) width height, (3) 9 rotation numbers
    (the original reshapes them row-major and transposes to get world→camera; in records' convention R is the
    row-major matrix itself), (4) T mm, (5) fx fy, (6) cx cy, (7) k1 k2 k3, (8) p1 p2, (9) 17 one-based joint
    indices, (10 … 9+N) 96 numbers = 32 world joints (x, y, z) mm. Errors name the file, line and field.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"human3.6m annotation not found: {p}")
    lines = [ln.split() for ln in p.read_text().splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{p}: empty annotation file")

    def nums(i: int, count: int, field: str) -> np.ndarray:
        if i >= len(lines):
            raise ValueError(f"{p}: line {i + 1} ({field}) is missing")
        toks = lines[i][1:]
        if len(toks) != count:
            raise ValueError(f"{p}: line {i + 1} ({field}) has {len(toks)} numbers, expected {count}")
        try:
            return np.asarray([float(t) for t in toks], dtype=np.float64)
        except ValueError:
            raise ValueError(f"{p}: line {i + 1} ({field}) is not numeric: {' '.join(toks)[:80]}") from None

    try:
        n = int(lines[0][0])
    except ValueError:
        raise ValueError(f"{p}: line 1 (frame count) is not an integer: {lines[0][0]!r}") from None
    size = nums(1, 2, "image size")
    R = nums(2, 9, "rotation").reshape(3, 3)
    T = nums(3, 3, "translation")
    f, c, k, pp = nums(4, 2, "focal"), nums(5, 2, "centre"), nums(6, 3, "radial"), nums(7, 2, "tangential")
    jidx = nums(8, 17, "joint indices").astype(np.int64) - 1
    if (jidx < 0).any() or (jidx > 31).any():
        raise ValueError(f"{p}: line 9 (joint indices) must be 1..32, got {(jidx + 1).tolist()}")
    if len(lines) - 9 < n:
        raise ValueError(f"{p}: declares {n} frames but has {len(lines) - 9} pose lines")
    poses = np.stack([nums(9 + i, 96, f"pose of frame {i + 1}") for i in range(n)]) if n else np.zeros((0, 96))
    return MatlabMeta(n, int(size[0]), int(size[1]), R, T, f, c, k, pp, jidx, poses.reshape(n, 32, 3))


def write_matlab_meta(path: str | os.PathLike[str], meta: MatlabMeta) -> Path:
    """Write ``meta`` in the ``matlab_meta.txt`` format :func:`read_matlab_meta` reads (atomically)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)

    def row(tag: str, values: Iterable[float]) -> str:
        return tag + " " + " ".join(repr(float(v)) for v in values)

    out = [str(meta.num_frames), f"size {meta.width} {meta.height}", row("R", meta.R.reshape(-1)), row("T", meta.T)]
    out += [row("f", meta.f), row("c", meta.c), row("k", meta.k), row("p", meta.p)]
    out.append("joints " + " ".join(str(int(j) + 1) for j in meta.joint_index))
    out += [row(f"frame{i + 1}", meta.joints_world[i].reshape(-1)) for i in range(meta.num_frames)]
    atomic_write_text(p, "\n".join(out) + "\n")
    return p


def read_original_layout(
    root: str | os.PathLike[str],
    subjects: Sequence[int],
    split: str = "train",
    stride: int = 1,
    frames_per_video: int | None = None,
    seed: int = 0,
    actions: Sequence[int] | None = None,
    cameras: Sequence[int] | None = None,
    box_mode: str = "square",
    rect_3d_mm: float = DEFAULT_RECT_3D_MM,
) -> PoseRecords:
    """Read ``root/annot/<folder>/matlab_meta.txt`` for the given subjects into ``h36m18`` records.

    Args:
        root: dataset folder holding ``images/`` and ``annot/``.
        subjects: subject numbers (e.g. ``(9, 11)``).
        split: name stored in the header.
        stride: keep frames with ``frame % stride == 0`` (0-based).
        frames_per_video: instead keep up to this many random frames per video (after ``stride``), seeded.
        seed: seed of ``frames_per_video``.
        actions, cameras: optional filters (action ids 2..16, camera numbers 1..4).
        box_mode, rect_3d_mm: see the module docstring.
    """
    root_p = Path(root)
    annot = root_p / "annot"
    if not annot.is_dir():
        raise FileNotFoundError(f"human3.6m original layout: folder not found: {annot}")
    subjects = parse_subjects(subjects)
    info = root_p / "convert_info.json"
    if info.is_file():
        conv = int(json.loads(info.read_text()).get("stride", 1))
        if stride % conv:
            raise ValueError(
                f"stride: {root_p} holds every {conv}th frame only (convert_info.json); use a multiple of {conv}"
            )
    parts: dict[str, list[Any]] = {k: [] for k in _PART_KEYS}
    files = []
    for folder in sorted(d.name for d in annot.iterdir() if d.is_dir()):
        m = _FOLDER_RE.match(folder)
        if m is None:
            continue
        s, a, b, ca = (int(g) for g in m.groups())
        if s not in subjects or (actions and a not in actions) or (cameras and ca not in cameras):
            continue
        if a not in ACTIONS:
            raise ValueError(f"{annot / folder}: unknown action id {a} (expected 2..16)")
        meta_file = annot / folder / "matlab_meta.txt"
        meta = read_matlab_meta(meta_file)
        files.append(meta_file)
        j18 = h36m17_to_18(meta.joints_world[:, meta.joint_index])
        for fr in _frame_selection(meta.num_frames, stride):
            parts["image_path"].append(f"images/{folder}/{folder}_{fr + 1:06d}.jpg")
            parts["image_size"].append((meta.width, meta.height))
            parts["joints_world"].append(j18[fr])
            for key, val in (("cam_R", meta.R), ("cam_T", meta.T), ("cam_f", meta.f), ("cam_c", meta.c)):
                parts[key].append(val)
            parts["cam_k"].append(meta.k)
            parts["cam_p"].append(meta.p)
            for key, val in (("subject", s), ("action", a), ("subaction", b), ("camera", ca), ("frame", fr)):
                parts[key].append(val)
    return _finish(
        parts,
        frames_per_video,
        seed,
        root=str(root_p.resolve()),
        split=split,
        layout="original",
        source_hash=hash_files(files) if files else "",
        source_files=[str(f) for f in files],
        box_mode=box_mode,
        rect_3d_mm=rect_3d_mm,
    )


_PART_KEYS = (
    "image_path", "image_size", "joints_world", "cam_R", "cam_T", "cam_f", "cam_c", "cam_k", "cam_p",
    "subject", "action", "subaction", "camera", "frame",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- JSON layout
def read_json_layout(
    root: str | os.PathLike[str],
    subjects: Sequence[int],
    split: str = "train",
    stride: int = 1,
    frames_per_video: int | None = None,
    seed: int = 0,
    actions: Sequence[int] | None = None,
    cameras: Sequence[int] | None = None,
    box_mode: str = "square",
    rect_3d_mm: float = DEFAULT_RECT_3D_MM,
) -> PoseRecords:
    """Read the JSON layout (``annotations/Human36M_subject{S}_*.json``) into ``h36m18`` records.

    The camera file stores ``X_cam = R·X_world + t`` (t mm); records get ``cam_R = Rᵀ`` and ``cam_T = −Rᵀ·t``.
    Arguments as :func:`read_original_layout`; ``box_mode="annotation"`` uses the data file's ``bbox``.
    """
    root_p = Path(root)
    ann = root_p / "annotations"
    if not ann.is_dir():
        raise FileNotFoundError(f"human3.6m json layout: folder not found: {ann}")
    subjects = parse_subjects(subjects)
    parts: dict[str, list[Any]] = {k: [] for k in _PART_KEYS}
    boxes: list[np.ndarray] = []
    files = []
    for s in subjects:
        fd, fc, fj = (ann / f"Human36M_subject{s}_{kind}.json" for kind in ("data", "camera", "joint_3d"))
        data, cams, joints = (read_json(f, "human3.6m json layout") for f in (fd, fc, fj))
        files += [fd, fc, fj]
        cam_cache: dict[int, tuple[np.ndarray, ...]] = {}
        images = require(data, "images", str(fd))
        anns = {
            int(require(a, "image_id", f"{fd} annotations[{i}]")): a
            for i, a in enumerate(require(data, "annotations", str(fd)))
        }
        for i, im in enumerate(images):
            where = f"{fd} images[{i}]"
            subj = int(require(im, "subject", where))
            if subj != s:
                raise ValueError(f"{where}: field 'subject' is {subj}, expected {s} for this file")
            a, b = int(require(im, "action_idx", where)), int(require(im, "subaction_idx", where))
            ca, fr = int(require(im, "cam_idx", where)), int(require(im, "frame_idx", where))
            if a not in ACTIONS:
                raise ValueError(f"{where}: field 'action_idx' is {a}, expected 2..16")
            if (actions and a not in actions) or (cameras and ca not in cameras) or fr % stride:
                continue
            if ca not in cam_cache:
                cam = require(cams, str(ca), str(fc))
                wc = f"{fc} camera {ca}"
                Rj = as_array(require(cam, "R", wc), (3, 3), wc, "R")
                t = as_array(require(cam, "t", wc), (3,), wc, "t")
                f = as_array(require(cam, "f", wc), (2,), wc, "f")
                c = as_array(require(cam, "c", wc), (2,), wc, "c")
                cam_cache[ca] = (Rj.T, -Rj.T @ t, f, c)
            R, T, f, c = cam_cache[ca]
            try:
                j17 = joints[str(a)][str(b)][str(fr)]
            except (KeyError, TypeError):
                raise ValueError(
                    f"{fj}: no joints for action {a} subaction {b} frame {fr} (needed by {where})"
                ) from None
            j17 = as_array(j17, (17, 3), f"{fj} [{a}][{b}][{fr}]", "joints")
            image_id = int(require(im, "id", where))
            if box_mode == "annotation":
                if image_id not in anns:
                    raise ValueError(f"{fd}: no annotation for image id {image_id} ({where})")
                boxes.append(as_array(require(anns[image_id], "bbox", f"{fd} image {image_id}"), (4,), where, "bbox"))
            parts["image_path"].append("images/" + str(require(im, "file_name", where)))
            parts["image_size"].append((int(require(im, "width", where)), int(require(im, "height", where))))
            parts["joints_world"].append(h36m17_to_18(j17))
            for key, val in (("cam_R", R), ("cam_T", T), ("cam_f", f), ("cam_c", c)):
                parts[key].append(val)
            parts["cam_k"].append(np.zeros(3))
            parts["cam_p"].append(np.zeros(2))
            for key, v in (("subject", s), ("action", a), ("subaction", b), ("camera", ca), ("frame", fr)):
                parts[key].append(v)
    kw: dict[str, Any] = {}
    if box_mode == "annotation" and boxes:
        kw["annotation_box"] = np.asarray(boxes)
    if frames_per_video is not None and "annotation_box" in kw:
        raise ValueError("frames_per_video cannot be combined with box_mode 'annotation'")
    return _finish(
        parts,
        frames_per_video,
        seed,
        root=str(root_p.resolve()),
        split=split,
        layout="json",
        source_hash=hash_files(files) if files else "",
        source_files=[str(f) for f in files],
        box_mode=box_mode,
        rect_3d_mm=rect_3d_mm,
        **kw,
    )


def _camera_entries(data: dict[str, Any], source: str) -> dict[str, list[Camera]]:
    out: dict[str, list[Camera]] = {}
    for subject, entries in data.items():
        if subject.startswith("_"):
            continue
        if not isinstance(entries, list):
            raise ValueError(f"{source}: subject {subject!r}: expected a list of camera entries, got {type(entries)}")
        out[subject] = [Camera.from_h36m_json(e) for e in entries]
    return out


def load_h36m_cameras(path: str | Path | None = None) -> dict[str, list[Camera]]:
    """Read ``h36m_cameras.json`` into ``{subject: [Camera, ...]}`` in the file's camera order.

    Args:
        path: the JSON file; ``None`` reads the copy shipped in the package assets.

    Returns:
        One list of four cameras per subject (``"S1"`` … ``"S11"``), each with ``camera_id``, ``name``,
        ``resolution`` and ``T`` in mm.
    """
    if path is None:
        text = (resources.files("integral_pose") / "assets" / "h36m_cameras.json").read_text(encoding="utf-8")
        source = "h36m_cameras.json (package assets)"
    else:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"path: camera file {str(p)!r} does not exist")
        text = p.read_text(encoding="utf-8")
        source = str(p)
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object of subjects, got {type(data).__name__}")
    return _camera_entries(data, source)

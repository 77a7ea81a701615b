"""Canonical pose records: the one table format every dataset reader produces.

A :class:`PoseRecords` holds N samples (one person in one image each) as column arrays:

================  ============  ======================================================================
field             shape/dtype   meaning
================  ============  ======================================================================
image_path        (N,) str      image file, relative to ``root`` (header)
image_size        (N, 2) int32  image width, height in px
box               (N, 4) f32    person box x, y, w, h in px (top-left corner + size)
joints_2d         (N, J, 2) f32 joint pixel coordinates u, v in the image
joints_3d_cam     (N, J, 3) f32 joints in the camera frame, mm (x right, y down, z forward); NaN = unknown
joints_vis        (N, J) f32    1 = joint labelled/valid, 0 = missing
cam_f             (N, 2) f32    focal lengths fx, fy in px (0 = unknown)
cam_c             (N, 2) f32    principal point cx, cy in px
cam_k             (N, 3) f32    radial distortion k1, k2, k3 (Human3.6M model)
cam_p             (N, 2) f32    tangential distortion p1, p2 (Human3.6M model)
cam_R             (N, 3, 3) f32 rotation as in ``h36m_cameras.json``: columns = camera axes in world,
                                X_cam = Rᵀ·(X_world − T) (identity when unknown)
cam_T             (N, 3) f32    camera centre in world, **mm** (the JSON stores metres); zero when unknown
subject           (N,) str      subject id, e.g. ``"S9"``
action            (N,) str      action name (SynthMocap: motion clip name)
subaction         (N,) int32    sub-action / trial index
camera_id         (N,) str      camera identifier
frame             (N,) int32    frame index within the video/clip (0-based)
================  ============  ======================================================================

Header (JSON, stored inside the ``.npz``): ``format_version``, ``dataset``, ``split``, ``joint_set``
(a :mod:`integral_pose.skeletons` name), ``root`` (folder the image paths are relative to; a relative root is
relative to the ``.npz`` file's folder), ``has_3d``, ``source_hash`` and free-form ``meta``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.fileio import atomic_write
from integral_pose.skeletons import get_skeleton

__all__ = [
    "FORMAT_VERSION",
    "PoseRecords",
    "RecordsHeader",
    "concat_records",
    "hash_files",
    "load_records",
    "save_records",
]

FORMAT_VERSION = 1

_FLOAT_FIELDS = {
    "box": (4,),
    "cam_f": (2,),
    "cam_c": (2,),
    "cam_k": (3,),
    "cam_p": (2,),
    "cam_R": (3, 3),
    "cam_T": (3,),
}
_STR_FIELDS = ("image_path", "subject", "action", "camera_id")
_INT_FIELDS = ("subaction", "frame")


@dataclass
class RecordsHeader:
    """Table-level metadata of a :class:`PoseRecords`."""

    dataset: str
    split: str
    joint_set: str
    root: str = "."
    has_3d: bool = True
    source_hash: str = ""
    format_version: int = FORMAT_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Serialise to a JSON string."""
        return json.dumps(
            {
                "format_version": self.format_version,
                "dataset": self.dataset,
                "split": self.split,
                "joint_set": self.joint_set,
                "root": self.root,
                "has_3d": self.has_3d,
                "source_hash": self.source_hash,
                "meta": self.meta,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, where: str = "header") -> RecordsHeader:
        """Parse a header written by :meth:`to_json`; ``where`` names the file in errors."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: records header is not valid JSON ({exc})") from None
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{where}: records format_version {version!r} is not supported; expected {FORMAT_VERSION} "
                "(re-run `ipr data prepare` to rebuild the table)"
            )
        missing = [k for k in ("dataset", "split", "joint_set") if k not in d]
        if missing:
            raise ValueError(f"{where}: records header lacks key(s) {missing}")
        return cls(
            dataset=str(d["dataset"]),
            split=str(d["split"]),
            joint_set=str(d["joint_set"]),
            root=str(d.get("root", ".")),
            has_3d=bool(d.get("has_3d", True)),
            source_hash=str(d.get("source_hash", "")),
            format_version=int(version),
            meta=dict(d.get("meta", {})),
        )


@dataclass
class PoseRecords:
    """Column table of pose samples; see the module docstring for every field's shape, dtype and unit."""

    header: RecordsHeader
    image_path: np.ndarray
    image_size: np.ndarray
    box: np.ndarray
    joints_2d: np.ndarray
    joints_3d_cam: np.ndarray
    joints_vis: np.ndarray
    cam_f: np.ndarray
    cam_c: np.ndarray
    cam_k: np.ndarray
    cam_p: np.ndarray
    cam_R: np.ndarray
    cam_T: np.ndarray
    subject: np.ndarray
    action: np.ndarray
    subaction: np.ndarray
    camera_id: np.ndarray
    frame: np.ndarray
    base_dir: str = ""  # folder of the .npz this table came from ("" when built in memory)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        header: RecordsHeader,
        image_path: Sequence[str] | np.ndarray,
        image_size: np.ndarray,
        box: np.ndarray,
        joints_2d: np.ndarray,
        joints_vis: np.ndarray | None = None,
        joints_3d_cam: np.ndarray | None = None,
        cam_f: np.ndarray | None = None,
        cam_c: np.ndarray | None = None,
        cam_k: np.ndarray | None = None,
        cam_p: np.ndarray | None = None,
        cam_R: np.ndarray | None = None,
        cam_T: np.ndarray | None = None,
        subject: Sequence[str] | np.ndarray | None = None,
        action: Sequence[str] | np.ndarray | None = None,
        subaction: np.ndarray | None = None,
        camera_id: Sequence[str] | np.ndarray | None = None,
        frame: np.ndarray | None = None,
    ) -> PoseRecords:
        """Build a table, filling optional columns with their "unknown" values and casting dtypes."""
        n = len(image_path)
        joints_2d = np.asarray(joints_2d, dtype=np.float32)
        if joints_2d.ndim != 3 or joints_2d.shape[0] != n or joints_2d.shape[2] != 2:
            raise ValueError(f"joints_2d: expected shape ({n}, J, 2), got {joints_2d.shape}")
        j = joints_2d.shape[1]

        def f32(x: np.ndarray | None, shape: tuple[int, ...], fill: float) -> np.ndarray:
            if x is None:
                return np.full((n, *shape), fill, dtype=np.float32)
            return np.asarray(x, dtype=np.float32)

        def strs(x: Sequence[str] | np.ndarray | None) -> np.ndarray:
            if x is None:
                return np.full(n, "", dtype="U1")
            return np.asarray([str(v) for v in x], dtype=np.str_) if n else np.zeros(0, dtype="U1")

        def ints(x: np.ndarray | None) -> np.ndarray:
            return np.zeros(n, dtype=np.int32) if x is None else np.asarray(x, dtype=np.int32)

        rot = cam_R
        if rot is None:
            rot = np.broadcast_to(np.eye(3, dtype=np.float32), (n, 3, 3)).copy()
        return cls(
            header=header,
            image_path=strs(image_path),
            image_size=np.asarray(image_size, dtype=np.int32),
            box=np.asarray(box, dtype=np.float32),
            joints_2d=joints_2d,
            joints_3d_cam=f32(joints_3d_cam, (j, 3), np.nan),
            joints_vis=f32(joints_vis, (j,), 1.0),
            cam_f=f32(cam_f, (2,), 0.0),
            cam_c=f32(cam_c, (2,), 0.0),
            cam_k=f32(cam_k, (3,), 0.0),
            cam_p=f32(cam_p, (2,), 0.0),
            cam_R=np.asarray(rot, dtype=np.float32),
            cam_T=f32(cam_T, (3,), 0.0),
            subject=strs(subject),
            action=strs(action),
            subaction=ints(subaction),
            camera_id=strs(camera_id),
            frame=ints(frame),
        )

    # ------------------------------------------------------------------ checks and access
    def __len__(self) -> int:
        return int(self.image_path.shape[0])

    @property
    def num_joints(self) -> int:
        """Number of joints J of the table's joint set."""
        return int(self.joints_2d.shape[1])

    @property
    def root_dir(self) -> Path:
        """Folder that :attr:`image_path` entries are relative to."""
        root = Path(self.header.root)
        if not root.is_absolute() and self.base_dir:
            root = Path(self.base_dir) / root
        return root

    def image_file(self, i: int) -> Path:
        """Absolute-or-cwd-relative path of image ``i``."""
        return self.root_dir / str(self.image_path[i])

    def validate(self) -> None:
        """Check shapes, dtypes and values; raise ``ValueError`` naming the field and the record index."""
        where = f"records[{self.header.dataset}/{self.header.split}]"
        n = self.image_path.shape[0] if self.image_path.ndim == 1 else -1
        if n < 0:
            raise ValueError(f"{where}.image_path: expected shape (N,), got {self.image_path.shape}")
        if self.joints_2d.ndim != 3 or self.joints_2d.shape[0] != n or self.joints_2d.shape[2] != 2:
            raise ValueError(f"{where}.joints_2d: expected shape ({n}, J, 2), got {self.joints_2d.shape}")
        j = self.joints_2d.shape[1]
        skeleton = get_skeleton(self.header.joint_set)
        if skeleton.num_joints != j:
            raise ValueError(
                f"{where}.joints_2d: joint set {self.header.joint_set!r} has {skeleton.num_joints} joints, "
                f"the table has {j}"
            )
        expected: dict[str, tuple[int, ...]] = {
            "image_size": (n, 2),
            "joints_3d_cam": (n, j, 3),
            "joints_vis": (n, j),
            **{k: (n, *s) for k, s in _FLOAT_FIELDS.items()},
            **{k: (n,) for k in _STR_FIELDS + _INT_FIELDS},
        }
        for name, shape in expected.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.shape != shape:
                got = getattr(arr, "shape", type(arr).__name__)
                raise ValueError(f"{where}.{name}: expected shape {shape}, got {got}")
        for name in ("box", "joints_2d", "joints_vis", "cam_f", "cam_c", "cam_k", "cam_p", "cam_R", "cam_T"):
            arr = getattr(self, name)
            bad = ~np.isfinite(arr.reshape(n, int(np.prod(arr.shape[1:])))).all(axis=1)
            if bad.any():
                raise ValueError(f"{where}.{name}: non-finite value at record {int(np.argmax(bad))}")
        small = (self.box[:, 2] <= 0) | (self.box[:, 3] <= 0)
        if small.any():
            i = int(np.argmax(small))
            raise ValueError(f"{where}.box: record {i} has non-positive size {self.box[i].tolist()} (x, y, w, h)")
        if ((self.joints_vis != 0) & (self.joints_vis != 1)).any():
            raise ValueError(f"{where}.joints_vis: values must be 0 or 1")

    def subset(self, index: np.ndarray | slice | Sequence[int]) -> PoseRecords:
        """A new table with the rows selected by ``index`` (integer array, boolean mask or slice)."""
        kw = {f.name: getattr(self, f.name)[index] for f in fields(self) if f.name not in ("header", "base_dir")}
        return PoseRecords(header=self.header, base_dir=self.base_dir, **kw)

    def arrays(self) -> dict[str, np.ndarray]:
        """All column arrays by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("header", "base_dir")}


def concat_records(tables: Iterable[PoseRecords]) -> PoseRecords:
    """Concatenate tables with the same joint set and image root (the first header is kept)."""
    tables = list(tables)
    if not tables:
        raise ValueError("concat_records: expected at least one table, got none")
    first = tables[0]
    for t in tables[1:]:
        if t.header.joint_set != first.header.joint_set:
            raise ValueError(
                f"concat_records: joint sets differ ({first.header.joint_set!r} vs {t.header.joint_set!r})"
            )
        if t.root_dir != first.root_dir:
            raise ValueError(f"concat_records: image roots differ ({first.root_dir} vs {t.root_dir})")
    cols = {k: np.concatenate([t.arrays()[k] for t in tables]) for k in first.arrays()}
    return PoseRecords(header=first.header, base_dir=first.base_dir, **cols)


def hash_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """SHA-256 over the names, sizes and modification times of ``paths`` (cheap change detection)."""
    h = hashlib.sha256()
    for p in sorted(str(x) for x in paths):
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def save_records(records: PoseRecords, path: str | os.PathLike[str]) -> Path:
    """Write ``records`` to a compressed ``.npz`` atomically (temporary file + fsync + rename)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"save_records: path must end in .npz, got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = records.arrays()
    arrays["__header__"] = np.asarray(records.header.to_json())
    with atomic_write(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def load_records(path: str | os.PathLike[str]) -> PoseRecords:
    """Read a table written by :func:`save_records`; errors name the file and the missing/bad field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"records file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable records .npz ({exc})") from None
    if "__header__" not in data:
        raise ValueError(f"{path}: records file lacks its '__header__' entry (not written by integral-pose?)")
    header = RecordsHeader.from_json(str(data.pop("__header__")), where=str(path))
    names = [f.name for f in fields(PoseRecords) if f.name not in ("header", "base_dir")]
    missing = [k for k in names if k not in data]
    if missing:
        raise ValueError(f"{path}: records file lacks field(s) {missing}")
    return PoseRecords(header=header, base_dir=str(path.parent), **{k: data[k] for k in names})

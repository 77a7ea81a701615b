"""Canonical pose records: the one table format every dataset reader produces.

A :class:`PoseRecords` holds N samples (one person in one image each) as column arrays:

================  ============  ======================================================================
field             shape/dtype   meaning
================  ============  ======================================================================
image_path        (N,) StringDT image file, relative to ``root`` (header)
image_size        (N, 2) int32  image width, height in px
box               (N, 4) f32    person box x, y, w, h in px (top-left corner + size)
joints_2d         (N, J, 2) f32 joint pixel coordinates u, v in the image
joints_3d_cam     (N, J, 3) f32 joints in the camera frame, mm (x right, y down, z forward); NaN = unknown
joints_vis        (N, J) uint8  1 = joint labelled/valid, 0 = missing
cam_f             (N, 2) f32    focal lengths fx, fy in px (0 = unknown)
cam_c             (N, 2) f32    principal point cx, cy in px
cam_k             (N, 3) f32    radial distortion k1, k2, k3 (Human3.6M model)
cam_p             (N, 2) f32    tangential distortion p1, p2 (Human3.6M model)
cam_R             (N, 3, 3) f32 rotation as in ``h36m_cameras.json``: columns = camera axes in world,
                                X_cam = Rᵀ·(X_world − T) (identity when unknown)
cam_T             (N, 3) f32    camera centre in world, **mm** (the JSON stores metres); zero when unknown
subject           (N,) StringDT subject id, e.g. ``"S9"``
action            (N,) StringDT action name (SynthMocap: motion clip name)
subaction         (N,) int32    sub-action / trial index
camera_id         (N,) StringDT camera identifier
frame             (N,) int32    frame index within the video/clip (0-based)
head_size         (N,) f32      optional: MPII PCKh normaliser, 0.6 × head-box diagonal in px (NaN = unknown)
================  ============  ======================================================================

Header (JSON, stored inside the ``.npz``): ``format_version``, ``dataset``, ``split``, ``joint_set``
(a :mod:`integral_pose.skeletons` name), ``root`` (folder the image paths are relative to; a relative root is
relative to the ``.npz`` file's folder), ``has_3d``, ``source_hash`` and free-form ``meta``.

String columns are NumPy ``StringDType`` arrays (variable width: comparisons, indexing, ``tolist()`` and
``str()`` behave as for ``str`` arrays, at a fraction of the memory of fixed-width unicode). Arrays of ``str``
passed to the constructor are converted; ``joints_vis`` is cast to ``uint8`` after its 0/1 values are checked.

Optional columns (added to format 2 without a version change; files written before them load with the
"unknown" value): ``head_size`` (NaN). Optional header ``meta`` keys read by the evaluation: ``coco_gt`` (the COCO
keypoint annotation file the rows came from; a relative path is relative to the image root), with COCO rows
carrying the image id in ``subaction`` and the annotation id in ``frame``.

On disk (format 2) the ``.npz`` holds, besides ``__header__``:

* the numeric columns as they are in memory (``joints_vis`` as ``uint8``; the optional ``head_size`` too);
* ``image_path`` as ``image_path_utf8`` (uint8, all UTF-8 bytes back to back) + ``image_path_len`` (int64 byte
  length of each path);
* ``subject``, ``action``, ``camera_id`` dictionary-encoded: ``<name>_values_utf8`` + ``<name>_values_len``
  (the distinct strings) and ``<name>_codes`` (smallest unsigned integer type, one code per row);
* the cameras once per distinct camera: ``cam_table`` (C, 21) float32 = f(2) c(2) k(3) p(2) R(9, row-major)
  T(3), and ``cam_index`` (N,) unsigned codes into it.

Members that deflate well are compressed; members that do not (float joint coordinates) are stored as they are,
which makes loading a memory copy instead of a decompression.

Length: just over 600 lines because the table, its validation and its on-disk format (writing, reading, and
:func:`peek_records` for checks that must not read the columns) are kept together, so that the format is known in
one module only.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.fileio import atomic_write
from integral_pose.skeletons import get_skeleton

__all__ = [
    "FORMAT_VERSION",
    "STRING_DTYPE",
    "PoseRecords",
    "RecordsHeader",
    "as_string_column",
    "concat_records",
    "decode_strings",
    "encode_strings",
    "hash_files",
    "load_records",
    "peek_records",
    "save_records",
]

FORMAT_VERSION = 2
STRING_DTYPE = np.dtypes.StringDType()

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
_CATEGORY_FIELDS = ("subject", "action", "camera_id")
_OPTIONAL_FLOAT_FIELDS = ("head_size",)  # (N,) float32, NaN = unknown; absent from older files
_CAMERA_FIELDS = ("cam_f", "cam_c", "cam_k", "cam_p", "cam_R", "cam_T")  # cam_table column order
_CAMERA_WIDTH = 21  # floats per camera row of ``cam_table``
_CHUNK = 1 << 16  # strings converted per batch (bounds the temporary Python objects)
_STORE_RATIO = 0.8  # a member whose sample deflates to more than this fraction is stored uncompressed
_SAMPLE_BYTES = 1 << 20


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
        version = d.get("format_version") if isinstance(d, dict) else None
        if version != FORMAT_VERSION:
            if isinstance(version, int) and not isinstance(version, bool) and version < FORMAT_VERSION:
                hint = (
                    "it was written by an older integral-pose; rebuild the table "
                    "(`ipr data prepare … --force`, or re-run the converter that wrote it)"
                )
            elif isinstance(version, int) and not isinstance(version, bool):
                hint = "it was written by a newer integral-pose; upgrade integral-pose to read it"
            else:
                hint = "the header has no valid version number"
            raise ValueError(
                f"{where}: records format_version {version!r} is not supported; expected {FORMAT_VERSION} ({hint})"
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
    head_size: np.ndarray | None = None  # (N,) px; None → all NaN (unknown)
    base_dir: str = ""  # folder of the .npz this table came from ("" when built in memory)

    def __post_init__(self) -> None:
        where = f"records[{self.header.dataset}/{self.header.split}]"
        for name in _STR_FIELDS:
            setattr(self, name, as_string_column(getattr(self, name), f"{where}.{name}"))
        for name in _OPTIONAL_FLOAT_FIELDS:
            value = getattr(self, name)
            if value is None:
                n = self.image_path.shape[0] if self.image_path.ndim == 1 else 0
                setattr(self, name, np.full(n, np.nan, dtype=np.float32))
            elif isinstance(value, np.ndarray) and value.dtype != np.float32:
                setattr(self, name, value.astype(np.float32))
        self.validate()
        if isinstance(self.joints_vis, np.ndarray) and self.joints_vis.dtype != np.uint8:
            self.joints_vis = self.joints_vis.astype(np.uint8)  # validate() checked the values are 0 or 1

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
        head_size: np.ndarray | None = None,
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
                return np.full(n, "", dtype=STRING_DTYPE)
            if isinstance(x, np.ndarray) and x.dtype == STRING_DTYPE:
                return x
            return np.asarray([str(v) for v in x], dtype=STRING_DTYPE)

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
            joints_vis=np.ones((n, j), dtype=np.uint8) if joints_vis is None else np.asarray(joints_vis),
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
            head_size=None if head_size is None else np.asarray(head_size, dtype=np.float32),
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
        return _image_root(self.header.root, self.base_dir)

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
            **{k: (n,) for k in _STR_FIELDS + _INT_FIELDS + _OPTIONAL_FLOAT_FIELDS},
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
        bad_head = ~(np.isnan(self.head_size) | (np.isfinite(self.head_size) & (self.head_size > 0)))
        if bad_head.any():
            i = int(np.argmax(bad_head))
            raise ValueError(f"{where}.head_size: record {i} has {float(self.head_size[i])}; expected > 0 px or NaN")

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
    """Write ``records`` to an ``.npz`` (format :data:`FORMAT_VERSION`) atomically (temporary file + fsync + rename).

    The layout is described in the module docstring: string columns as UTF-8 bytes + lengths (dictionary-encoded
    for subject/action/camera_id), one row per distinct camera, ``joints_vis`` as ``uint8``.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"save_records: path must end in .npz, got {str(path)!r}")
    records.validate()
    members = _encode_columns(records)
    header = replace(records.header, format_version=FORMAT_VERSION)
    members = {"__header__": np.asarray(header.to_json()), **members}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as fh:
        _write_npz(fh, members)
    return path


def _image_root(root: str, base_dir: str | None) -> Path:
    """The folder image paths are relative to: ``root``, relative to ``base_dir`` (the file's folder) if relative."""
    p = Path(root)
    return p if p.is_absolute() or not base_dir else Path(base_dir) / p


def _read_npz(path: Path, names: Sequence[str] | None = None) -> tuple[RecordsHeader, dict[str, np.ndarray]]:
    """The header and the members ``names`` (all when None; absent ones are left out) of a records ``.npz``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            text = str(z["__header__"]) if "__header__" in z.files else None
            data = {k: z[k] for k in z.files if k != "__header__" and (names is None or k in names)}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable records .npz ({type(exc).__name__}: {exc})") from None
    if text is None:
        raise ValueError(f"{path}: records file lacks its '__header__' entry (not written by integral-pose?)")
    return RecordsHeader.from_json(text, where=str(path)), data


def load_records(path: str | os.PathLike[str]) -> PoseRecords:
    """Read a table written by :func:`save_records`; errors name the file and the missing/bad field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"records file not found: {path}")
    header, data = _read_npz(path)
    return PoseRecords(header=header, base_dir=str(path.parent), **_decode_columns(data, str(path)))


def peek_records(path: str | os.PathLike[str]) -> tuple[RecordsHeader, Path, Path | None]:
    """The header, the image folder and the first image of a records file, reading only the path columns.

    Returns:
        ``(header, image folder, first image file or None when the table is empty)``; a relative header root is
        relative to the file's folder, as in :attr:`PoseRecords.root_dir`.

    Raises:
        ValueError: not a records ``.npz`` or a header that cannot be parsed (names the file).
    """
    path = Path(path)
    header, data = _read_npz(path, ("image_path_utf8", "image_path_len"))
    root = _image_root(header.root, str(path.parent))
    lengths = data.get("image_path_len")
    if lengths is None or lengths.size == 0:
        return header, root, None
    return header, root, root / bytes(data["image_path_utf8"][: int(lengths[0])]).decode("utf-8")


# ---------------------------------------------------------------------------------------------- column encoding
def as_string_column(values: Sequence[str] | np.ndarray, where: str = "strings") -> np.ndarray:
    """``values`` as a ``StringDType`` array (no copy when it already is one).

    Args:
        values: strings (``str``/``bytes``/object array, ``StringDType`` array or a sequence of ``str``).
        where: name used in errors.

    Raises:
        TypeError: ``values`` is a numeric array.
    """
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.dtype == STRING_DTYPE:
        return arr
    if arr.dtype.kind not in "USOT":
        raise TypeError(f"{where}: expected an array of strings, got dtype {arr.dtype}")
    return arr.astype(STRING_DTYPE)


def encode_strings(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 encode a (N,) string array: ((B,) uint8 bytes of all strings back to back, (N,) int64 byte lengths)."""
    n = int(strings.shape[0])
    lengths = np.zeros(n, dtype=np.int64)
    parts: list[bytes] = []
    for a in range(0, n, _CHUNK):
        enc = [v.encode("utf-8") for v in strings[a : a + _CHUNK].tolist()]
        lengths[a : a + len(enc)] = [len(b) for b in enc]
        parts.append(b"".join(enc))
    return np.frombuffer(b"".join(parts), dtype=np.uint8), lengths


def decode_strings(data: np.ndarray, lengths: np.ndarray, where: str = "strings") -> np.ndarray:
    """Inverse of :func:`encode_strings`: a (N,) ``StringDType`` array; ``ValueError`` naming ``where`` if corrupt."""
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"{where}: expected (B,) uint8 UTF-8 bytes, got {data.dtype} shape {data.shape}")
    if lengths.dtype.kind not in "iu" or lengths.ndim != 1:
        raise ValueError(f"{where}: expected (N,) integer byte lengths, got {lengths.dtype} shape {lengths.shape}")
    ends = np.cumsum(lengths, dtype=np.int64)
    total = int(ends[-1]) if ends.size else 0
    if (lengths < 0).any() or total != data.size:
        raise ValueError(f"{where}: string lengths add up to {total} bytes, the data holds {data.size} bytes")
    n = int(lengths.shape[0])
    out = np.empty(n, dtype=STRING_DTYPE)
    view = memoryview(np.ascontiguousarray(data))
    try:
        text = str(view, "utf-8")
        ascii_only = len(text) == data.size  # then byte offsets are character offsets
        for a in range(0, n, _CHUNK):
            e = ends[a : a + _CHUNK].tolist()
            b = (ends[a : a + _CHUNK] - lengths[a : a + _CHUNK]).tolist()
            if ascii_only:
                out[a : a + len(e)] = [text[i:j] for i, j in zip(b, e)]
            else:
                out[a : a + len(e)] = [str(view[i:j], "utf-8") for i, j in zip(b, e)]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: invalid UTF-8 ({exc})") from None
    return out


def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, codes) with ``values[codes] == keys`` for (N,) or (N, K) ``keys``; rows compared exactly.

    Consecutive equal rows (the usual case: one video after another) are looked up once.
    """
    n = int(keys.shape[0])
    if n == 0:
        return keys[:0], np.zeros(0, dtype=np.uint8)
    change = keys[1:] != keys[:-1]
    if change.ndim > 1:
        change = change.any(axis=1)
    starts = np.flatnonzero(np.concatenate([[True], change]))
    run = np.cumsum(np.concatenate([[0], change]))
    values, inverse = np.unique(keys[starts], axis=0 if keys.ndim > 1 else None, return_inverse=True)
    codes = inverse.reshape(-1).astype(np.min_scalar_type(max(len(values) - 1, 0)))
    return values, codes[run]


def _width(name: str) -> int:
    """Number of floats per row of the camera column ``name``."""
    return int(np.prod(_FLOAT_FIELDS[name]))


def _encode_columns(records: PoseRecords) -> dict[str, np.ndarray]:
    """The ``.npz`` members of ``records`` (all but the header); see the module docstring."""
    n = len(records)
    out: dict[str, np.ndarray] = {
        "image_size": records.image_size,
        "box": records.box,
        "joints_2d": records.joints_2d,
        "joints_3d_cam": records.joints_3d_cam,
        "joints_vis": records.joints_vis.astype(np.uint8),
        "subaction": records.subaction,
        "frame": records.frame,
        **{name: np.asarray(getattr(records, name), dtype=np.float32) for name in _OPTIONAL_FLOAT_FIELDS},
    }
    out["image_path_utf8"], out["image_path_len"] = encode_strings(as_string_column(records.image_path))
    for name in _CATEGORY_FIELDS:
        values, codes = _factorize(as_string_column(getattr(records, name)))
        out[f"{name}_values_utf8"], out[f"{name}_values_len"] = encode_strings(values)
        out[f"{name}_codes"] = codes
    cams = np.concatenate(
        [np.asarray(getattr(records, k), dtype=np.float32).reshape(n, _width(k)) for k in _CAMERA_FIELDS], axis=1
    )
    bits, out["cam_index"] = _factorize(np.ascontiguousarray(cams).view(np.uint32))  # bit-exact (-0.0 kept)
    out["cam_table"] = np.ascontiguousarray(bits).view(np.float32).reshape(-1, _CAMERA_WIDTH)
    return out


def _codes(data: dict[str, np.ndarray], name: str, size: int, n: int, where: str) -> np.ndarray:
    codes = data[name]
    if codes.dtype.kind not in "iu" or codes.shape != (n,):
        raise ValueError(f"{where}: member {name!r} must be ({n},) integer codes, got {codes.dtype} {codes.shape}")
    if n and (int(codes.min()) < 0 or int(codes.max()) >= size):
        raise ValueError(f"{where}: member {name!r} has codes outside [0, {size}) (range {codes.min()}..{codes.max()})")
    return codes


def _decode_columns(data: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    """Column arrays from the ``.npz`` members written by :func:`_encode_columns`."""
    plain = ("image_size", "box", "joints_2d", "joints_3d_cam", "joints_vis", "subaction", "frame")
    required = [*plain, "image_path_utf8", "image_path_len", "cam_table", "cam_index"]
    for name in _CATEGORY_FIELDS:
        required += [f"{name}_values_utf8", f"{name}_values_len", f"{name}_codes"]
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"{where}: records file lacks member(s) {missing}")
    cols = {k: data[k] for k in plain}
    cols["image_path"] = decode_strings(data["image_path_utf8"], data["image_path_len"], f"{where}: image_path")
    n = int(cols["image_path"].shape[0])
    for name in _OPTIONAL_FLOAT_FIELDS:  # absent from files written before the column existed: unknown
        col = data.get(name)
        if col is None:
            cols[name] = np.full(n, np.nan, dtype=np.float32)
        elif col.dtype != np.float32 or col.shape != (n,):
            raise ValueError(f"{where}: member {name!r} must be ({n},) float32, got {col.dtype} {col.shape}")
        else:
            cols[name] = col
    for name in _CATEGORY_FIELDS:
        values = decode_strings(data[f"{name}_values_utf8"], data[f"{name}_values_len"], f"{where}: {name} values")
        cols[name] = values[_codes(data, f"{name}_codes", len(values), n, where)]
    table = data["cam_table"]
    if table.dtype != np.float32 or table.ndim != 2 or table.shape[1] != _CAMERA_WIDTH:
        raise ValueError(
            f"{where}: member 'cam_table' must be (C, {_CAMERA_WIDTH}) float32, got {table.dtype} {table.shape}"
        )
    index = _codes(data, "cam_index", table.shape[0], n, where)
    col = 0
    for name in _CAMERA_FIELDS:
        width = _width(name)
        cols[name] = np.ascontiguousarray(table[:, col : col + width])[index].reshape(n, *_FLOAT_FIELDS[name])
        col += width
    return cols


def _compressible(arr: np.ndarray) -> bool:
    """Whether deflate is worth it: a leading sample of the bytes shrinks to at most :data:`_STORE_RATIO`."""
    flat = arr.reshape(-1)
    sample = flat[: max(1, _SAMPLE_BYTES // max(arr.itemsize, 1))].tobytes()
    if len(sample) < 4096:
        return True
    return len(zlib.compress(sample, 1)) <= _STORE_RATIO * len(sample)


def _write_npz(fh: Any, members: dict[str, np.ndarray]) -> None:
    """Write ``members`` as ``.npy`` files of a zip archive readable by ``np.load``, deflating only what shrinks."""
    with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
        for name, arr in members.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if _compressible(arr) else zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)

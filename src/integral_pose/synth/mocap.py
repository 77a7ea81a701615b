"""Motion readers and forward kinematics: BVH files and DeepMimic clips (+ their URDF skeleton).

Both readers return a :class:`Kinematics`: a joint tree with rest offsets and, per frame, one local rotation per
joint and a root translation. :func:`forward_kinematics` turns it into world positions for all frames at once
(vectorised over frames, one step per joint in parent-before-child order).

Conventions:

* A joint's world rotation is ``R_world[j] = R_world[parent] @ R_local[j]``; its world position is
  ``p[j] = p[parent] + R_world[parent] @ offset[j]``. The root's position is ``offset[root] + root_pos``.
* BVH: ``OFFSET`` is the rest offset from the parent in the parent's frame; rotation channels are Euler angles
  in **degrees**, composed in the order declared (``Zrotation Yrotation Xrotation`` → ``Rz @ Ry @ Rx``);
  position channels translate the joint (added to its offset). ``End Site`` blocks become extra joints named
  ``<parent>_end`` with no channels. Units are the file's (CMU files: ×0.056444 to metres).
* DeepMimic: each frame is ``[dt, root_pos(3), root_quat(4), chest(4), neck(4), r_hip(4), r_knee(1),
  r_ankle(4), r_shoulder(4), r_elbow(1), l_hip(4), l_knee(1), l_ankle(4), l_shoulder(4), l_elbow(1)]``
  (44 numbers); quaternions are ``w, x, y, z`` relative to the parent, hinges are angles in radians about the
  URDF joint axis. Offsets are the URDF joint origins times ``scale`` (0.25: the clips drive the humanoid at
  ``globalScaling = 0.25``), so positions come out in metres. Both sources are y-up.

Example:
    >>> from integral_pose.synth.mocap import read_bvh, forward_kinematics
    >>> kin = read_bvh("walk.bvh")  # doctest: +SKIP
    >>> forward_kinematics(kin).shape  # doctest: +SKIP
    (994, 38, 3)

Length: just over 600 lines because both readers share :class:`Kinematics`, the rotation helpers and forward
kinematics; each reader on its own is a few screens, and the BVH parser is split into hierarchy, motion block and
per-joint motion.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

__all__ = [
    "DEEPMIMIC_JOINTS",
    "DEEPMIMIC_SCALE",
    "Kinematics",
    "add_sites",
    "euler_to_matrix",
    "forward_kinematics",
    "quat_to_matrix",
    "read_bvh",
    "read_deepmimic",
    "read_urdf_joints",
]

DEEPMIMIC_SCALE = 0.25
"""URDF length units → metres for the DeepMimic humanoid (the clips are played at ``globalScaling=0.25``)."""

# (URDF joint name, number of values in a DeepMimic frame: 4 = quaternion w,x,y,z, 1 = hinge angle)
DEEPMIMIC_JOINTS: tuple[tuple[str, int], ...] = (
    ("chest", 4),
    ("neck", 4),
    ("right_hip", 4),
    ("right_knee", 1),
    ("right_ankle", 4),
    ("right_shoulder", 4),
    ("right_elbow", 1),
    ("left_hip", 4),
    ("left_knee", 1),
    ("left_ankle", 4),
    ("left_shoulder", 4),
    ("left_elbow", 1),
)
_DEEPMIMIC_FRAME_LEN = 1 + 3 + 4 + sum(n for _, n in DEEPMIMIC_JOINTS)  # 44

_AXES = {"X": 0, "Y": 1, "Z": 2}
_CHANNELS = {
    "Xposition": ("pos", 0),
    "Yposition": ("pos", 1),
    "Zposition": ("pos", 2),
    "Xrotation": ("rot", 0),
    "Yrotation": ("rot", 1),
    "Zrotation": ("rot", 2),
}


@dataclass
class Kinematics:
    """A posed joint tree.

    Attributes:
        names: (J,) joint names, parents before children.
        parents: (J,) int64 parent index, -1 for the root (index 0).
        offsets: (J, 3) rest offset of each joint from its parent, in the parent's frame (source units).
        local_rot: (F, J, 3, 3) rotation of each joint relative to its parent, per frame.
        root_pos: (F, 3) root translation per frame (source units), added to ``offsets[0]``.
        frame_time: seconds per frame.
        name: clip name (e.g. ``"131_01"``, ``"walk"``).
        source: ``"bvh"`` or ``"deepmimic"``.
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    local_rot: np.ndarray
    root_pos: np.ndarray
    frame_time: float
    name: str = ""
    source: str = ""
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        j = len(self.names)
        if self.parents.shape != (j,) or self.offsets.shape != (j, 3):
            raise ValueError(
                f"Kinematics {self.name!r}: parents {self.parents.shape} / offsets {self.offsets.shape} "
                f"do not match {j} joint names"
            )
        if self.local_rot.ndim != 4 or self.local_rot.shape[1:] != (j, 3, 3):
            raise ValueError(f"Kinematics {self.name!r}: local_rot expected (F, {j}, 3, 3), got {self.local_rot.shape}")
        if self.root_pos.shape != (self.local_rot.shape[0], 3):
            raise ValueError(
                f"Kinematics {self.name!r}: root_pos expected ({self.local_rot.shape[0]}, 3), got {self.root_pos.shape}"
            )
        for i, p in enumerate(self.parents):
            if (i == 0) != (p < 0) or p >= i:
                raise ValueError(f"Kinematics {self.name!r}: joint {i} has parent {p}; parents must precede children")
        self._index = {n: i for i, n in enumerate(self.names)}

    @property
    def num_frames(self) -> int:
        """Number of frames F."""
        return int(self.local_rot.shape[0])

    @property
    def num_joints(self) -> int:
        """Number of joints J (end sites included)."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Index of joint ``name``; ``KeyError`` lists the known names."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"joint {name!r} not in clip {self.name!r}; known: {list(self.names)}") from None

    def frames(self, idx: np.ndarray | slice | int) -> Kinematics:
        """A copy restricted to the frames ``idx``."""
        idx = np.atleast_1d(np.arange(self.num_frames)[idx])
        return replace(self, local_rot=self.local_rot[idx], root_pos=self.root_pos[idx], _index={})


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices from Euler angles composed in ``order``.

    Args:
        angles_deg: (..., 3) angles in degrees, the k-th about axis ``order[k]``.
        order: three letters from ``XYZ`` (e.g. ``"ZYX"`` → ``Rz(a0) @ Ry(a1) @ Rx(a2)``).

    Returns:
        (..., 3, 3) float64 rotation matrices.
    """
    if len(order) != 3 or any(a not in _AXES for a in order):
        raise ValueError(f"order: expected three letters from 'XYZ', got {order!r}")
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), (*angles.shape[:-1], 3, 3)).copy()
    for k, axis in enumerate(order):
        out = out @ _axis_rotation(angles[..., k], _AXES[axis])
    return out


def _axis_rotation(theta: np.ndarray, axis: int) -> np.ndarray:
    """(..., 3, 3) right-handed rotation by ``theta`` radians about coordinate axis ``axis``."""
    c, s = np.cos(theta), np.sin(theta)
    m = np.zeros((*np.shape(theta), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[..., axis, axis] = 1.0
    m[..., i, i] = c
    m[..., j, j] = c
    m[..., i, j] = -s
    m[..., j, i] = s
    return m


def quat_to_matrix(q_wxyz: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions ``w, x, y, z`` (normalised here) → (..., 3, 3) rotation matrices."""
    q = np.asarray(q_wxyz, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if (norm < 1e-8).any():
        raise ValueError("q_wxyz: zero-length quaternion")
    w, x, y, z = np.moveaxis(q / norm, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def _axis_angle_to_matrix(axis: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(3,) unit axis, (F,) angles in radians → (F, 3, 3) (Rodrigues)."""
    kx = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    return np.eye(3) + s * kx + (1 - c) * (kx @ kx)


def forward_kinematics(kin: Kinematics, offsets: np.ndarray | None = None, root_scale: float = 1.0) -> np.ndarray:
    """World positions of every joint in every frame.

    Args:
        kin: the posed tree.
        offsets: (J, 3) replacement rest offsets (e.g. bone-length-jittered ones); ``kin.offsets`` when ``None``.
        root_scale: factor applied to the root translation (use the skeleton's scale so the feet stay grounded).

    Returns:
        (F, J, 3) float64 positions in the source's units and axes.
    """
    off = kin.offsets if offsets is None else np.asarray(offsets, dtype=np.float64)
    if off.shape != kin.offsets.shape:
        raise ValueError(f"offsets: expected shape {kin.offsets.shape}, got {off.shape}")
    f, j = kin.num_frames, kin.num_joints
    pos = np.empty((f, j, 3))
    rot = np.empty((f, j, 3, 3))
    pos[:, 0] = off[0] + root_scale * kin.root_pos
    rot[:, 0] = kin.local_rot[:, 0]
    for i in range(1, j):
        p = kin.parents[i]
        pos[:, i] = pos[:, p] + rot[:, p] @ off[i]
        rot[:, i] = rot[:, p] @ kin.local_rot[:, i]
    return pos


def add_sites(kin: Kinematics, sites: dict[str, tuple[str, tuple[float, float, float]]]) -> Kinematics:
    """Append fixed points ("sites") rigidly attached to existing joints.

    Args:
        kin: the tree.
        sites: ``{new_name: (parent_joint_name, offset in the parent's frame, source units)}``.

    Returns:
        A new :class:`Kinematics` with the sites as extra joints (identity local rotation).
    """
    names = list(kin.names)
    parents = list(kin.parents)
    offsets = list(kin.offsets)
    for name, (parent, off) in sites.items():
        if name in names:
            raise ValueError(f"sites: joint {name!r} already exists in clip {kin.name!r}")
        parents.append(kin.index(parent))
        offsets.append(np.asarray(off, dtype=np.float64))
        names.append(name)
    extra = np.broadcast_to(np.eye(3), (kin.num_frames, len(sites), 3, 3))
    return Kinematics(
        names=tuple(names),
        parents=np.asarray(parents, dtype=np.int64),
        offsets=np.asarray(offsets, dtype=np.float64),
        local_rot=np.concatenate([kin.local_rot, extra], axis=1),
        root_pos=kin.root_pos,
        frame_time=kin.frame_time,
        name=kin.name,
        source=kin.source,
    )


# ---------------------------------------------------------------------------------------------------- BVH
_BvhChannels = list[list[tuple[str, int]]]  # per joint: (kind "pos"/"rot", axis 0/1/2)


def _bvh_hierarchy(path: Path, tokens: list[tuple[str, int]], motion_line: int
                   ) -> tuple[list[str], list[int], list[list[float]], _BvhChannels]:  # fmt: skip
    """Parse the HIERARCHY words (``(word, line)``, after ``HIERARCHY``) into names, parents, offsets, channels."""
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: _BvhChannels = []
    stack: list[int] = []
    pos = 1  # tokens[0] is HIERARCHY
    pending: int | None = None  # joint declared, waiting for '{'

    def take(k: int) -> list[tuple[str, int]]:
        nonlocal pos
        if pos + k > len(tokens):
            last = tokens[-1][1] if tokens else 1
            raise ValueError(f"{path}:{last}: hierarchy ends unexpectedly")
        out = tokens[pos : pos + k]
        pos += k
        return out

    while pos < len(tokens):
        ((word, ln),) = take(1)
        key = word.upper()
        if key in ("ROOT", "JOINT"):
            ((jname, _),) = take(1)
            if key == "ROOT" and names:
                raise ValueError(f"{path}:{ln}: a second ROOT is not supported")
            if key == "JOINT" and not stack:
                raise ValueError(f"{path}:{ln}: JOINT {jname!r} outside of a ROOT block")
            parents.append(stack[-1] if stack else -1)
            names.append(jname)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            pending = len(names) - 1
        elif key == "END":
            ((site, _),) = take(1)
            if site.upper() != "SITE" or not stack:
                raise ValueError(f"{path}:{ln}: expected 'End Site' inside a joint block")
            parents.append(stack[-1])
            names.append(f"{names[stack[-1]]}_end")
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            pending = len(names) - 1
        elif word == "{":
            if pending is None:
                raise ValueError(f"{path}:{ln}: '{{' without a ROOT/JOINT/End Site before it")
            stack.append(pending)
            pending = None
        elif word == "}":
            if not stack:
                raise ValueError(f"{path}:{ln}: unbalanced '}}'")
            stack.pop()
        elif key == "OFFSET":
            vals = take(3)
            if not stack:
                raise ValueError(f"{path}:{ln}: OFFSET outside a joint block")
            try:
                offsets[stack[-1]] = [float(v) for v, _ in vals]
            except ValueError:
                raise ValueError(f"{path}:{ln}: OFFSET expects 3 numbers, got {[v for v, _ in vals]}") from None
        elif key == "CHANNELS":
            ((count_s, _),) = take(1)
            if not stack:
                raise ValueError(f"{path}:{ln}: CHANNELS outside a joint block")
            try:
                count = int(count_s)
            except ValueError:
                raise ValueError(f"{path}:{ln}: CHANNELS count {count_s!r} is not an integer") from None
            # the declared count must match the channel names on the line
            on_line = [t for t, tl in tokens[pos:] if tl == ln]
            if count != len(on_line) or count not in (0, 3, 6):
                raise ValueError(
                    f"{path}:{ln}: CHANNELS declares {count} channel(s) but lists {len(on_line)} "
                    f"(expected 3 or 6 matching names)"
                )
            chans = []
            for cname, cl in take(count):
                if cname not in _CHANNELS:
                    raise ValueError(
                        f"{path}:{cl}: unknown channel name {cname!r}; expected one of {sorted(_CHANNELS)}"
                    )
                chans.append(_CHANNELS[cname])
            channels[stack[-1]] = chans
        else:
            raise ValueError(f"{path}:{ln}: unexpected word {word!r} in HIERARCHY")
    if stack:
        raise ValueError(f"{path}:{motion_line}: {len(stack)} unclosed '{{' before MOTION")
    if not names:
        raise ValueError(f"{path}: HIERARCHY declares no joints")

    return names, parents, offsets, channels


def _bvh_motion(path: Path, lines: list[str], motion_line: int, n_ch: int) -> tuple[np.ndarray, float]:
    """Parse the MOTION block (from the 1-based line ``motion_line``): (F, n_ch) channel values, frame time in s."""
    rest = lines[motion_line:]
    frames_n, frame_time, body_start = None, None, None
    for k, text in enumerate(rest):
        m = re.match(r"\s*Frames:\s*(\S+)", text, re.IGNORECASE)
        if m:
            try:
                frames_n = int(m.group(1))
            except ValueError:
                raise ValueError(f"{path}:{motion_line + k + 1}: 'Frames:' expects an integer") from None
            continue
        m = re.match(r"\s*Frame Time:\s*(\S+)", text, re.IGNORECASE)
        if m:
            try:
                frame_time = float(m.group(1))
            except ValueError:
                raise ValueError(f"{path}:{motion_line + k + 1}: 'Frame Time:' expects a number") from None
            body_start = k + 1
            break
    if frames_n is None or frame_time is None or body_start is None:
        raise ValueError(f"{path}:{motion_line}: MOTION must be followed by 'Frames: N' and 'Frame Time: t'")
    if frames_n <= 0 or not frame_time > 0:
        raise ValueError(f"{path}:{motion_line}: expected Frames > 0 and Frame Time > 0, got {frames_n}, {frame_time}")
    body = [(motion_line + body_start + k + 1, t) for k, t in enumerate(rest[body_start:]) if t.strip()]
    if len(body) < frames_n:
        last = body[-1][0] if body else motion_line + body_start
        raise ValueError(
            f"{path}:{last}: motion block truncated: 'Frames: {frames_n}' but only {len(body)} frame line(s)"
        )
    data = np.empty((frames_n, n_ch))
    for row, (ln, text) in enumerate(body[:frames_n]):
        parts = text.split()
        if len(parts) != n_ch:
            raise ValueError(f"{path}:{ln}: frame {row} has {len(parts)} values, expected {n_ch} (sum of CHANNELS)")
        try:
            data[row] = [float(v) for v in parts]
        except ValueError:
            raise ValueError(f"{path}:{ln}: frame {row} contains a non-numeric value") from None

    return data, float(frame_time)


def _bvh_joint_motion(path: Path, names: list[str], channels: _BvhChannels, data: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-frame local rotations (F, J, 3, 3) and root positions (F, 3) from the channel values (F, C)."""
    frames_n = data.shape[0]
    j = len(names)
    local_rot = np.broadcast_to(np.eye(3), (frames_n, j, 3, 3)).copy()
    root_pos = np.zeros((frames_n, 3))
    col = 0
    for i, chans in enumerate(channels):
        rot_cols, rot_axes = [], []
        for kind, axis in chans:
            if kind == "pos":
                if i != 0:
                    # translation of a non-root joint: fold it into a constant offset is wrong; not supported
                    raise ValueError(f"{path}: joint {names[i]!r} has position channels; only the root may")
                root_pos[:, axis] = data[:, col]
            else:
                rot_cols.append(col)
                rot_axes.append("XYZ"[axis])
            col += 1
        if rot_cols:
            if len(rot_cols) != 3:
                raise ValueError(f"{path}: joint {names[i]!r} has {len(rot_cols)} rotation channels, expected 3")
            local_rot[:, i] = euler_to_matrix(data[:, rot_cols], "".join(rot_axes))
    return local_rot, root_pos


def read_bvh(path: str | os.PathLike[str], name: str | None = None) -> Kinematics:
    """Read a BVH file (hierarchy + motion) into a :class:`Kinematics`.

    Args:
        path: the ``.bvh`` file.
        name: clip name; the file stem when ``None``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: malformed content; the message names the file and the line (unknown channel, bad channel
            count, missing braces, truncated motion block, wrong number of values in a frame line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BVH file not found: {path}")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    tokens: list[tuple[str, int]] = []
    motion_line = -1
    for ln, text in enumerate(lines, start=1):
        if text.strip().upper().startswith("MOTION"):
            motion_line = ln
            break
        tokens.extend((t, ln) for t in text.split())
    if motion_line < 0:
        raise ValueError(f"{path}: no MOTION section found")
    if not tokens or tokens[0][0].upper() != "HIERARCHY":
        raise ValueError(f"{path}:1: expected 'HIERARCHY' as the first word")

    names, parents, offsets, channels = _bvh_hierarchy(path, tokens, motion_line)
    data, frame_time = _bvh_motion(path, lines, motion_line, sum(len(c) for c in channels))
    local_rot, root_pos = _bvh_joint_motion(path, names, channels, data)
    return Kinematics(
        names=tuple(names),
        parents=np.asarray(parents, dtype=np.int64),
        offsets=np.asarray(offsets, dtype=np.float64),
        local_rot=local_rot,
        root_pos=root_pos,
        frame_time=frame_time,
        name=name if name is not None else path.stem,
        source="bvh",
    )


# ---------------------------------------------------------------------------------------------------- DeepMimic
@dataclass(frozen=True)
class UrdfJoint:
    """One URDF joint: ``name``, ``parent``/``child`` link names, ``origin`` xyz (URDF units), ``axis``, ``type``."""

    name: str
    type: str
    parent: str
    child: str
    origin: tuple[float, float, float]
    axis: tuple[float, float, float]


def read_urdf_joints(path: str | os.PathLike[str]) -> dict[str, UrdfJoint]:
    """Read the joints of a URDF file (origins must have zero ``rpy``, as in the DeepMimic humanoid).

    Raises:
        FileNotFoundError: missing file.
        ValueError: not XML, a joint without parent/child/origin, or a non-zero ``rpy``; names file and joint.
    """

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"URDF file not found: {path}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{path}: not valid XML ({exc})") from None
    out: dict[str, UrdfJoint] = {}
    for el in root.iter("joint"):
        jname = el.get("name", "")
        parent, child, origin = el.find("parent"), el.find("child"), el.find("origin")
        if parent is None or child is None or origin is None:
            raise ValueError(f"{path}: joint {jname!r} lacks a parent, child or origin element")
        try:
            xyz = tuple(float(v) for v in origin.get("xyz", "0 0 0").split())
            rpy = tuple(float(v) for v in origin.get("rpy", "0 0 0").split())
            ax_el = el.find("axis")
            axis = tuple(float(v) for v in (ax_el.get("xyz", "0 0 1") if ax_el is not None else "0 0 1").split())
        except ValueError:
            raise ValueError(f"{path}: joint {jname!r} has a non-numeric origin/axis") from None
        if len(xyz) != 3 or len(rpy) != 3 or len(axis) != 3:
            raise ValueError(f"{path}: joint {jname!r}: origin xyz/rpy and axis need 3 numbers each")
        if any(abs(v) > 1e-9 for v in rpy):
            raise ValueError(f"{path}: joint {jname!r} has a non-zero origin rpy {rpy}; not supported")
        out[jname] = UrdfJoint(
            name=jname,
            type=el.get("type", ""),
            parent=parent.get("link", ""),
            child=child.get("link", ""),
            origin=(xyz[0], xyz[1], xyz[2]),
            axis=(axis[0], axis[1], axis[2]),
        )
    return out


def read_deepmimic(
    clip_path: str | os.PathLike[str],
    urdf_path: str | os.PathLike[str],
    scale: float = DEEPMIMIC_SCALE,
    name: str | None = None,
) -> Kinematics:
    """Read a DeepMimic motion clip driving the humanoid of ``urdf_path``.

    The tree is: ``root`` (pelvis; rotation = the frame's root quaternion, translation = root position), then the
    URDF joints ``chest, neck, right_hip, right_knee, right_ankle, right_shoulder, right_elbow, right_wrist,
    left_…`` (wrists are fixed joints). Offsets are URDF origins × ``scale`` (metres for 0.25).

    Args:
        clip_path: the clip JSON (``{"Loop": ..., "Frames": [[44 numbers], ...]}``).
        urdf_path: the humanoid URDF.
        scale: URDF units → output units.
        name: clip name; the file stem without ``humanoid3d_`` when ``None``.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: invalid JSON, no ``Frames``, a frame of the wrong length (names the frame index) or
            non-numeric values, a URDF lacking one of the needed joints.
    """
    clip_path = Path(clip_path)
    if not clip_path.is_file():
        raise FileNotFoundError(f"DeepMimic clip not found: {clip_path}")
    try:
        doc = json.loads(clip_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{clip_path}: not valid JSON ({exc})") from None
    frames = doc.get("Frames") if isinstance(doc, dict) else None
    if not isinstance(frames, list) or not frames:
        raise ValueError(f"{clip_path}: expected a non-empty 'Frames' list")
    for i, fr in enumerate(frames):
        if not isinstance(fr, list) or len(fr) != _DEEPMIMIC_FRAME_LEN:
            got = len(fr) if isinstance(fr, list) else type(fr).__name__
            raise ValueError(f"{clip_path}: Frames[{i}] has {got} values, expected {_DEEPMIMIC_FRAME_LEN}")
    try:
        data = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{clip_path}: 'Frames' contains non-numeric values") from None
    if not np.isfinite(data).all():
        raise ValueError(f"{clip_path}: 'Frames' contains non-finite values")
    urdf = read_urdf_joints(urdf_path)
    needed = [n for n, _ in DEEPMIMIC_JOINTS] + ["right_wrist", "left_wrist"]
    missing = [n for n in needed if n not in urdf]
    if missing:
        raise ValueError(f"{urdf_path}: URDF lacks joint(s) {missing} needed by DeepMimic clips")
    link_owner = {"root": 0}  # link name → joint index whose frame the link is
    names = ["root"]
    parents = [-1]
    offsets = [np.zeros(3)]
    order = [
        "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow", "right_wrist",
        "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist",
    ]  # fmt: skip
    for jn in order:
        uj = urdf[jn]
        if uj.parent not in link_owner:
            raise ValueError(f"{urdf_path}: joint {jn!r} has parent link {uj.parent!r} that is not yet defined")
        parents.append(link_owner[uj.parent])
        offsets.append(np.asarray(uj.origin) * scale)
        names.append(jn)
        link_owner[uj.child] = len(names) - 1
    nf = data.shape[0]
    local_rot = np.broadcast_to(np.eye(3), (nf, len(names), 3, 3)).copy()
    local_rot[:, 0] = quat_to_matrix(data[:, 4:8])
    col = 8
    for jn, width in DEEPMIMIC_JOINTS:
        ji = names.index(jn)
        if width == 4:
            local_rot[:, ji] = quat_to_matrix(data[:, col : col + 4])
        else:
            axis = np.asarray(urdf[jn].axis, dtype=np.float64)
            axis = axis / np.linalg.norm(axis)
            local_rot[:, ji] = _axis_angle_to_matrix(axis, data[:, col])
        col += width
    dt = float(np.median(data[:, 0])) if nf else 0.0
    stem = clip_path.stem
    return Kinematics(
        names=tuple(names),
        parents=np.asarray(parents, dtype=np.int64),
        offsets=np.asarray(offsets),
        local_rot=local_rot,
        root_pos=data[:, 1:4].copy(),
        frame_time=dt if dt > 0 else 1.0 / 30.0,
        name=name if name is not None else (stem[len("humanoid3d_") :] if stem.startswith("humanoid3d_") else stem),
        source="deepmimic",
    )

"""Retarget the shipped motion clips to Human3.6M-18 joints (plus a few body points for rendering).

Each clip is wrapped in a :class:`Rig`: its :class:`~integral_pose.synth.mocap.Kinematics` with "sites" added
(fixed points such as the nose and the toe tips), a rule mapping the tree's joints to the 23 **body points**
(:data:`BODY_POINTS`: the 18 joints of ``H36M_18`` in DESIGN §3 order, then ``l_toe, r_toe, l_hand, r_hand,
head_center``) and a bone group per offset used for length jitter.

Mapping (source joint → Human3.6M joint):

* CMU (BVH): pelvis = mean of ``LeftHip``/``RightHip`` (the hip joint centres; the BVH root sits ~9 cm above
  them), hips/knees/ankles/shoulders/elbows/wrists by name, torso = ``Chest``, neck = ``Neck``, head = the
  crown (a site 16 cm above ``Head``: the file's own ``Head`` end site is only 9 cm up), nose = a site 5 cm up
  and 8.5 cm in front of ``Head``. Units × 0.056444 → metres.
* DeepMimic: pelvis = ``root``, torso = ``chest``, neck = ``neck``, head = top of the URDF head sphere, nose = a
  site on the front of it; limbs by name. URDF units × 0.25 → metres.
* thorax (joint 17) = mean of the two shoulders, as in the original system.

World frame: both sources are y-up; they are turned into a z-up frame like Human3.6M's world by
``(x, y, z) → (x, −z, y)`` (a proper rotation), and converted to millimetres. The floor is at z = 0.

Variety (:class:`BodyParams`): a global scale (0.9–1.1) and a per-bone-group factor (±5 %, the same on the left
and right) multiply the rest offsets, then forward kinematics is re-run, so every sample is a valid skeleton.
The root translation is multiplied by the global scale times the mean leg factor so the feet stay on the floor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from integral_pose.skeletons import H36M_18
from integral_pose.synth.mocap import (
    DEEPMIMIC_SCALE,
    Kinematics,
    add_sites,
    forward_kinematics,
    read_bvh,
    read_deepmimic,
)

__all__ = [
    "BODY_POINTS",
    "BONE_GROUPS",
    "CMU_ACTIONS",
    "CMU_CLIPS",
    "CMU_UNIT_M",
    "DEEPMIMIC_CLIPS",
    "BodyParams",
    "Clip",
    "Rig",
    "assets_dir",
    "cmu_rig",
    "deepmimic_rig",
    "load_clip_library",
    "pose_world_mm",
    "sample_body_params",
    "yup_to_zup",
]

CMU_UNIT_M = 0.056444
"""CMU BVH length unit in metres (CMU FAQ: (1 / 0.45) inch)."""

BODY_POINTS: tuple[str, ...] = (*H36M_18.joint_names, "l_toe", "r_toe", "l_hand", "r_hand", "head_center")
"""The 18 Human3.6M joints (DESIGN §3 order) followed by 5 extra points used only by the renderer."""

BONE_GROUPS: tuple[str, ...] = (
    "pelvis", "spine", "neck", "head", "clavicle", "upper_arm", "forearm", "hand", "thigh", "shin", "foot",
)  # fmt: skip
"""Bone-length jitter groups (one factor per group, shared by left and right)."""

_YUP_TO_ZUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def yup_to_zup(points: np.ndarray) -> np.ndarray:
    """(…, 3) y-up coordinates → z-up: ``(x, y, z) → (x, −z, y)`` (rotation of +90° about x)."""
    return np.asarray(points, dtype=np.float64) @ _YUP_TO_ZUP.T


def assets_dir() -> Path:
    """Folder of the shipped data (mocap clips, cameras, photos)."""
    return Path(str(resources.files("integral_pose") / "assets"))


@dataclass
class Rig:
    """A clip ready to be posed as body points.

    Attributes:
        kin: the tree with sites added (source units, y-up).
        unit_m: source unit in metres.
        point_sources: for each of the 23 body points, the tree joint indices averaged to make it.
        offset_group: (J,) bone-group index into :data:`BONE_GROUPS` for each joint's offset (-1 = not jittered).
    """

    kin: Kinematics
    unit_m: float
    point_sources: tuple[tuple[int, ...], ...]
    offset_group: np.ndarray

    def body_points(self, positions: np.ndarray) -> np.ndarray:
        """Tree positions (F, J, 3) → body points (F, 23, 3) by the mapping rule (thorax = mean of shoulders)."""
        pts = np.stack([positions[:, list(src)].mean(axis=1) for src in self.point_sources], axis=1)
        return pts


@dataclass(frozen=True)
class Clip:
    """A named motion.

    Attributes:
        name: readable motion name, the records' ``action`` (``"cmu_walk_1"``, ``"cartwheel"``, …).
        source: ``"cmu"`` or ``"deepmimic"``.
        rig: the skeleton and its frames.
        clip_id: the source's own id of the clip: the CMU file id (``"131_01"``) or the DeepMimic motion name.
        file: the clip's file relative to the assets folder (``"cmu_mocap/131_01.bvh"``).
    """

    name: str
    source: str
    rig: Rig
    clip_id: str
    file: str

    @property
    def trial(self) -> int:
        """The CMU trial number (``131_02`` → 2; the records' ``subaction``), 0 for a DeepMimic clip."""
        return int(self.clip_id.split("_")[1]) if self.source == "cmu" else 0

    @property
    def num_frames(self) -> int:
        """Number of frames in the clip."""
        return self.rig.kin.num_frames


def _make_rig(kin: Kinematics, unit_m: float, mapping: dict[str, Sequence[str]], groups: dict[str, str]) -> Rig:
    sources = []
    for point in BODY_POINTS:
        if point == "thorax":
            sources.append(tuple(kin.index(n) for n in (*mapping["l_shoulder"], *mapping["r_shoulder"])))
        else:
            sources.append(tuple(kin.index(n) for n in mapping[point]))
    group = np.full(kin.num_joints, -1, dtype=np.int64)
    for jname, gname in groups.items():
        group[kin.index(jname)] = BONE_GROUPS.index(gname)
    return Rig(kin=kin, unit_m=unit_m, point_sources=tuple(sources), offset_group=group)


def cmu_rig(kin: Kinematics) -> Rig:
    """Rig for the CMU BVH skeleton (3ds-Max-friendly conversion, joints named ``LeftHip``, ``Chest`` …)."""
    # The BVH's Head end site is only 9 cm above Head (the skull base); the crown, the head centre and the nose are
    # sites placed from head proportions (crown 16 cm above Head; nose 5 cm up, 8.5 cm forward).
    kin = add_sites(
        kin,
        {
            "head_top_site": ("Head", (0.0, 2.9, 0.3)),
            "head_center_site": ("Head", (0.0, 1.4, 0.4)),
            "nose_site": ("Head", (0.0, 0.9, 1.5)),
        },
    )
    mapping = {
        "pelvis": ("LeftHip", "RightHip"),
        "r_hip": ("RightHip",), "r_knee": ("RightKnee",), "r_ankle": ("RightAnkle",),
        "l_hip": ("LeftHip",), "l_knee": ("LeftKnee",), "l_ankle": ("LeftAnkle",),
        "torso": ("Chest",), "neck": ("Neck",), "nose": ("nose_site",), "head": ("head_top_site",),
        "l_shoulder": ("LeftShoulder",), "l_elbow": ("LeftElbow",), "l_wrist": ("LeftWrist",),
        "r_shoulder": ("RightShoulder",), "r_elbow": ("RightElbow",), "r_wrist": ("RightWrist",),
        "l_toe": ("LeftToe_end",), "r_toe": ("RightToe_end",),
        "l_hand": ("LFingers_end",), "r_hand": ("RFingers_end",), "head_center": ("head_center_site",),
    }  # fmt: skip
    groups = {}
    for side in ("Left", "Right"):
        s = side[0]
        groups.update({
            f"{side}Hip": "pelvis", f"{side}Knee": "thigh", f"{side}Ankle": "shin", f"{side}Toe": "foot",
            f"{side}Toe_end": "foot", f"{side}Shoulder": "clavicle", f"{side}Elbow": "upper_arm",
            f"{side}Wrist": "forearm", f"{s}Fingers": "hand", f"{s}Fingers_end": "hand", f"{s}Thumb": "hand",
        })  # fmt: skip
    groups.update({"Chest": "spine", "Chest2": "spine", "Neck": "neck", "Head": "neck", "Head_end": "head",
                   "head_top_site": "head", "nose_site": "head", "head_center_site": "head"})  # fmt: skip
    groups = {k: v for k, v in groups.items() if k in kin.names}
    return _make_rig(kin, CMU_UNIT_M, mapping, groups)


def deepmimic_rig(kin: Kinematics) -> Rig:
    """Rig for the DeepMimic humanoid (offsets already in metres when read with the default scale)."""
    u = DEEPMIMIC_SCALE  # URDF link geometry below is in URDF units
    kin = add_sites(
        kin,
        {
            "head_top": ("neck", (0.0, 1.11 * u, 0.0)),
            "head_center_site": ("neck", (0.0, 0.70 * u, 0.0)),
            "nose_site": ("neck", (0.36 * u, 0.62 * u, 0.0)),
            "right_toe": ("right_ankle", (0.50 * u, -0.15 * u, 0.0)),
            "left_toe": ("left_ankle", (0.50 * u, -0.15 * u, 0.0)),
            "right_hand": ("right_wrist", (0.0, -0.34 * u, 0.0)),
            "left_hand": ("left_wrist", (0.0, -0.34 * u, 0.0)),
        },
    )
    mapping = {
        "pelvis": ("root",),
        "r_hip": ("right_hip",), "r_knee": ("right_knee",), "r_ankle": ("right_ankle",),
        "l_hip": ("left_hip",), "l_knee": ("left_knee",), "l_ankle": ("left_ankle",),
        "torso": ("chest",), "neck": ("neck",), "nose": ("nose_site",), "head": ("head_top",),
        "l_shoulder": ("left_shoulder",), "l_elbow": ("left_elbow",), "l_wrist": ("left_wrist",),
        "r_shoulder": ("right_shoulder",), "r_elbow": ("right_elbow",), "r_wrist": ("right_wrist",),
        "l_toe": ("left_toe",), "r_toe": ("right_toe",),
        "l_hand": ("left_hand",), "r_hand": ("right_hand",), "head_center": ("head_center_site",),
    }  # fmt: skip
    groups = {"chest": "spine", "neck": "neck", "head_top": "head", "head_center_site": "head", "nose_site": "head"}
    for side in ("left", "right"):
        groups.update({
            f"{side}_hip": "pelvis", f"{side}_knee": "thigh", f"{side}_ankle": "shin", f"{side}_toe": "foot",
            f"{side}_shoulder": "clavicle", f"{side}_elbow": "upper_arm", f"{side}_wrist": "forearm",
            f"{side}_hand": "hand",
        })  # fmt: skip
    return _make_rig(kin, 1.0, mapping, groups)


@dataclass(frozen=True)
class BodyParams:
    """Body-shape variation: ``scale`` (global) and ``bone`` (len(BONE_GROUPS),) length factors."""

    scale: float = 1.0
    bone: tuple[float, ...] = (1.0,) * len(BONE_GROUPS)


def sample_body_params(
    rng: np.random.Generator, scale_range: tuple[float, float] = (0.9, 1.1), bone_jitter: float = 0.05
) -> BodyParams:
    """Random global scale in ``scale_range`` and per-group factors in ``1 ± bone_jitter``."""
    return BodyParams(
        scale=float(rng.uniform(*scale_range)),
        bone=tuple(float(v) for v in rng.uniform(1 - bone_jitter, 1 + bone_jitter, size=len(BONE_GROUPS))),
    )


def pose_world_mm(rig: Rig, frames: np.ndarray | Sequence[int] | int, body: BodyParams | None = None) -> np.ndarray:
    """Body points of ``frames`` in a z-up world, millimetres, the floor at z = 0.

    Args:
        rig: the clip's rig.
        frames: frame index or indices.
        body: shape variation; none when ``None``.

    Returns:
        (F, 23, 3) float64 positions (:data:`BODY_POINTS` order), horizontal position as in the source clip.
    """
    body = body or BodyParams()
    kin = rig.kin.frames(np.atleast_1d(np.asarray(frames, dtype=np.int64)))
    factors = np.ones(kin.num_joints)
    jittered = rig.offset_group >= 0
    factors[jittered] = np.asarray(body.bone)[rig.offset_group[jittered]]
    offsets = kin.offsets * (factors * body.scale)[:, None]
    leg = 0.5 * (body.bone[BONE_GROUPS.index("thigh")] + body.bone[BONE_GROUPS.index("shin")])
    pos = forward_kinematics(kin, offsets=offsets, root_scale=body.scale)
    # vertical root translation follows the leg length so the feet stay on the floor (horizontal unchanged)
    pos[..., 1] += (leg - 1.0) * body.scale * (kin.root_pos[:, None, 1] + kin.offsets[0, 1])
    pts = rig.body_points(pos) * (rig.unit_m * 1000.0)
    return yup_to_zup(pts)


CMU_CLIPS = ("131_01", "131_02", "131_03")
# readable action names of the CMU clips (subject 131: trials 1 and 2 "Start Walk Stop", trial 3 "Start Hop Stop")
CMU_ACTIONS: dict[str, str] = {"131_01": "cmu_walk_1", "131_02": "cmu_walk_2", "131_03": "cmu_hop"}
DEEPMIMIC_CLIPS = (
    "backflip", "cartwheel", "crawl", "dance_a", "dance_b", "getup_facedown", "getup_faceup", "jump", "kick",
    "punch", "roll", "run", "spin", "spinkick", "walk",
)  # fmt: skip


def load_clip_library(root: str | Path | None = None) -> dict[str, Clip]:
    """Read every shipped clip (3 CMU BVH + 15 DeepMimic) into ``{name: Clip}``, keyed by the readable name
    (:data:`CMU_ACTIONS` for the CMU clips, the motion name for DeepMimic).

    Args:
        root: the assets folder; the package's own when ``None``.
    """
    base = Path(root) if root is not None else assets_dir()
    out: dict[str, Clip] = {}
    for clip_id in CMU_CLIPS:
        file = f"cmu_mocap/{clip_id}.bvh"
        out[CMU_ACTIONS[clip_id]] = Clip(CMU_ACTIONS[clip_id], "cmu", cmu_rig(read_bvh(base / file)), clip_id, file)
    urdf = base / "deepmimic" / "humanoid.urdf"
    for name in DEEPMIMIC_CLIPS:
        kin = read_deepmimic(base / "deepmimic" / f"humanoid3d_{name}.txt", urdf, name=name)
        out[name] = Clip(name, "deepmimic", deepmimic_rig(kin), name, f"deepmimic/humanoid3d_{name}.txt")
    return out

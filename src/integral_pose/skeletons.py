"""Joint sets: names, kinematic parents, left/right flip pairs, drawing edges and mappings between sets.

Four sets are defined:

* ``H36M_18`` — the training/evaluation set of the original system: the 17 standard Human3.6M joints plus
  ``thorax`` (mean of the shoulders) as joint 17. Parents are the original's ``s_36_parent_ids`` (root = -1 here),
  which the challenge bone-length rescale relies on.
* ``H36M_17`` — the 17 standard Human3.6M joints (the usual evaluation set).
* ``MPII_16`` and ``COCO_17`` — 2D sets that map into ``H36M_18``; joints a set lacks map to index -1 and get
  weight 0 (:func:`map_joints`).

Example:
    >>> from integral_pose.skeletons import H36M_18, MPII_16, map_joints
    >>> H36M_18.index("thorax")
    17
    >>> H36M_18.flip_permutation[:4].tolist()
    [0, 4, 5, 6]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "COCO_17",
    "H36M_17",
    "H36M_18",
    "H36M_GROUPS",
    "MPII_16",
    "SKELETONS",
    "Skeleton",
    "flip_permutation",
    "get_skeleton",
    "map_joints",
    "mapping",
]


def flip_permutation(num_joints: int, flip_pairs: Iterable[Sequence[int]]) -> np.ndarray:
    """The (J,) int64 permutation that swaps the joints of every ``(left, right)`` pair (an involution).

    Args:
        num_joints: J.
        flip_pairs: ``(left, right)`` joint index pairs; joints in no pair map to themselves.

    Example:
        >>> flip_permutation(5, [(1, 3)]).tolist()
        [0, 3, 2, 1, 4]
    """
    perm = np.arange(num_joints, dtype=np.int64)
    for a, b in flip_pairs:
        perm[a], perm[b] = b, a
    return perm


@dataclass(frozen=True)
class Skeleton:
    """A joint set.

    Attributes:
        name: identifier, e.g. ``"h36m18"``.
        joint_names: one name per joint, in array order.
        parents: parent index per joint, ``-1`` for the root; the parents form a tree.
        flip_pairs: ``(left, right)`` index pairs swapped by a horizontal flip.
        edges: ``(a, b)`` index pairs drawn as bones.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    edges: tuple[tuple[int, int], ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.parents) != len(self.joint_names):
            raise ValueError(
                f"Skeleton {self.name!r}: parents has {len(self.parents)} entries, "
                f"expected {len(self.joint_names)} (one per joint)"
            )
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.joint_names)})

    @property
    def num_joints(self) -> int:
        """Number of joints J."""
        return len(self.joint_names)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``; raises ``KeyError`` listing the valid names."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(
                f"joint {name!r} is not in skeleton {self.name!r}; expected one of {list(self.joint_names)}"
            ) from None

    @property
    def flip_permutation(self) -> np.ndarray:
        """(J,) int64 permutation that swaps left and right joints (an involution; :func:`flip_permutation`)."""
        return flip_permutation(self.num_joints, self.flip_pairs)

    @property
    def root(self) -> int:
        """Index of the root joint (the one whose parent is -1)."""
        return self.parents.index(-1)

    def side(self, j: int) -> str:
        """``"left"``, ``"right"`` or ``"center"`` for joint ``j`` (from the flip pairs; left comes first)."""
        for a, b in self.flip_pairs:
            if j == a:
                return "left" if self.joint_names[a].startswith("l_") else "right"
            if j == b:
                return "left" if self.joint_names[b].startswith("l_") else "right"
        return "center"

    def bone_lengths(self, joints: np.ndarray) -> np.ndarray:
        """Length of every bone (joint → parent) of ``joints`` (..., J, D); the root gets 0. Returns (..., J)."""
        joints = np.asarray(joints)
        if joints.ndim < 2 or joints.shape[-2] != self.num_joints:
            raise ValueError(
                f"joints: expected shape (..., {self.num_joints}, D) for skeleton {self.name!r}, got {joints.shape}"
            )
        par = np.array([p if p >= 0 else i for i, p in enumerate(self.parents)])
        return np.linalg.norm(joints - joints[..., par, :], axis=-1)


def _pairs_from_parents(parents: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((p, i) for i, p in enumerate(parents) if p >= 0)


_H36M18_NAMES = (
    "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "torso", "neck", "nose", "head",
    "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist", "thorax",
)  # fmt: skip
# The original system's s_36_parent_ids with the root's self-reference written as -1.
_H36M18_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 17, 17, 8, 17, 11, 12, 17, 14, 15, 0)
_H36M_FLIP = ((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16))

H36M_18 = Skeleton(
    name="h36m18",
    joint_names=_H36M18_NAMES,
    parents=_H36M18_PARENTS,
    flip_pairs=_H36M_FLIP,
    edges=(
        (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 17), (17, 8), (8, 9), (9, 10),
        (17, 11), (11, 12), (12, 13), (17, 14), (14, 15), (15, 16),
    ),
)  # fmt: skip

_H36M17_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
H36M_17 = Skeleton(
    name="h36m17",
    joint_names=_H36M18_NAMES[:17],
    parents=_H36M17_PARENTS,
    flip_pairs=_H36M_FLIP,
    edges=_pairs_from_parents(_H36M17_PARENTS),
)

_MPII_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax", "upper_neck", "head_top",
    "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)  # fmt: skip
_MPII_PARENTS = (1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 7, 7, 13, 14)
MPII_16 = Skeleton(
    name="mpii16",
    joint_names=_MPII_NAMES,
    parents=_MPII_PARENTS,
    flip_pairs=((5, 0), (4, 1), (3, 2), (15, 10), (14, 11), (13, 12)),
    edges=_pairs_from_parents(_MPII_PARENTS),
)

_COCO_NAMES = (
    "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
    "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle",
)  # fmt: skip
_COCO_PARENTS = (-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
COCO_17 = Skeleton(
    name="coco17",
    joint_names=_COCO_NAMES,
    parents=_COCO_PARENTS,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    # COCO's published drawing skeleton (0-based).
    edges=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
        (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ),
)  # fmt: skip

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (H36M_18, H36M_17, MPII_16, COCO_17)}

# For each target joint, the source joint index (-1 = the source lacks it). Keys: (source, target).
_MAPPINGS: dict[tuple[str, str], tuple[int, ...]] = {
    ("mpii16", "h36m18"): (6, 2, 1, 0, 3, 4, 5, -1, 8, -1, 9, 13, 14, 15, 12, 11, 10, 7),
    ("coco17", "h36m18"): (-1, 12, 14, 16, 11, 13, 15, -1, -1, 0, -1, 5, 7, 9, 6, 8, 10, -1),
    ("h36m17", "h36m18"): (*range(17), -1),
    ("h36m18", "h36m17"): tuple(range(17)),
    ("h36m18", "h36m18"): tuple(range(18)),
    ("h36m17", "h36m17"): tuple(range(17)),
    ("mpii16", "mpii16"): tuple(range(16)),
    ("coco17", "coco17"): tuple(range(17)),
}

# Joint groups reported by the Human3.6M evaluation (indices into H36M_18).
H36M_GROUPS: dict[str, tuple[int, ...]] = {
    "root": (0,),
    "hip": (1, 4),
    "knee": (2, 5),
    "ankle": (3, 6),
    "torso": (7,),
    "neck": (8,),
    "nose": (9,),
    "head": (10,),
    "shoulder": (11, 14),
    "elbow": (12, 15),
    "wrist": (13, 16),
}


def get_skeleton(name: str) -> Skeleton:
    """Look up a skeleton by name (``h36m18``, ``h36m17``, ``mpii16``, ``coco17``)."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise ValueError(f"skeleton: unknown name {name!r}; expected one of {sorted(SKELETONS)}") from None


def mapping(source: str, target: str) -> np.ndarray:
    """Index table (J_target,) int64: for each target joint, the source joint index or -1 when missing."""
    try:
        return np.asarray(_MAPPINGS[(source, target)], dtype=np.int64)
    except KeyError:
        known = sorted(f"{s}->{t}" for s, t in _MAPPINGS)
        raise ValueError(f"mapping: no mapping from {source!r} to {target!r}; known: {known}") from None


def map_joints(joints: np.ndarray, vis: np.ndarray | None, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Re-order ``joints`` (..., J_src, D) from ``source`` into ``target``.

    Missing joints are filled with zeros and get visibility 0.

    Args:
        joints: (..., J_src, D) coordinates in any unit.
        vis: (..., J_src) visibility/weights, or ``None`` for all ones.
        source: source skeleton name.
        target: target skeleton name.

    Returns:
        ``(joints_t (..., J_tgt, D), vis_t (..., J_tgt))``.
    """
    src = get_skeleton(source)
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2] != src.num_joints:
        raise ValueError(
            f"joints: expected shape (..., {src.num_joints}, D) for skeleton {source!r}, got {joints.shape}"
        )
    if vis is None:
        vis = np.ones(joints.shape[:-1], dtype=np.float32)
    vis = np.asarray(vis)
    if vis.shape != joints.shape[:-1]:
        raise ValueError(f"vis: expected shape {joints.shape[:-1]}, got {vis.shape}")
    table = mapping(source, target)
    valid = table >= 0
    safe = np.where(valid, table, 0)
    out = np.where(valid[:, None], joints[..., safe, :], 0).astype(joints.dtype)
    out_vis = np.where(valid, vis[..., safe], 0).astype(vis.dtype)
    return out, out_vis

from __future__ import annotations

import numpy as np
import pytest

from integral_pose import skeletons as sk


@pytest.mark.parametrize("skel", list(sk.SKELETONS.values()), ids=lambda s: s.name)
def test_parents_form_a_tree(skel: sk.Skeleton) -> None:
    roots = [i for i, p in enumerate(skel.parents) if p == -1]
    assert len(roots) == 1
    for j in range(skel.num_joints):
        seen = set()
        k = j
        while k != -1:
            assert k not in seen, f"cycle through joint {k} in {skel.name}"
            seen.add(k)
            k = skel.parents[k]
        assert roots[0] in seen


@pytest.mark.parametrize("skel", list(sk.SKELETONS.values()), ids=lambda s: s.name)
def test_flip_pairs_symmetric_involution(skel: sk.Skeleton) -> None:
    perm = skel.flip_permutation
    np.testing.assert_array_equal(perm[perm], np.arange(skel.num_joints))
    for a, b in skel.flip_pairs:
        na, nb = skel.joint_names[a], skel.joint_names[b]
        assert {na[:2], nb[:2]} == {"l_", "r_"}
        assert na[2:] == nb[2:]
        assert skel.side(a) != skel.side(b)
    flat = [j for pair in skel.flip_pairs for j in pair]
    assert len(flat) == len(set(flat))
    # every l_/r_ joint is in a pair
    sided = {i for i, n in enumerate(skel.joint_names) if n.startswith(("l_", "r_"))}
    assert sided == set(flat)


def test_flip_permutation_function_matches_hand_case_and_skeletons() -> None:
    np.testing.assert_array_equal(sk.flip_permutation(6, [(1, 4), (2, 5)]), [0, 4, 5, 3, 1, 2])
    assert sk.flip_permutation(3, []).dtype == np.int64
    np.testing.assert_array_equal(sk.flip_permutation(3, []), [0, 1, 2])
    for skel in sk.SKELETONS.values():
        lists = [list(p) for p in skel.flip_pairs]  # pairs as a JSON round trip gives them
        np.testing.assert_array_equal(sk.flip_permutation(skel.num_joints, lists), skel.flip_permutation)


@pytest.mark.parametrize("skel", list(sk.SKELETONS.values()), ids=lambda s: s.name)
def test_edges_valid(skel: sk.Skeleton) -> None:
    for a, b in skel.edges:
        assert 0 <= a < skel.num_joints and 0 <= b < skel.num_joints and a != b


def test_h36m18_order_and_parents() -> None:
    assert sk.H36M_18.joint_names[:4] == ("pelvis", "r_hip", "r_knee", "r_ankle")
    assert sk.H36M_18.index("thorax") == 17
    assert sk.H36M_18.index("l_shoulder") == 11
    assert sk.H36M_18.parents[8] == 17
    assert sk.H36M_17.num_joints == 17


MPII_EXPECT = {
    "pelvis": "pelvis", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_ankle", "l_hip": "l_hip",
    "l_knee": "l_knee", "l_ankle": "l_ankle", "thorax": "thorax", "neck": "upper_neck", "head": "head_top",
    "l_shoulder": "l_shoulder", "r_shoulder": "r_shoulder", "l_elbow": "l_elbow", "r_elbow": "r_elbow",
    "l_wrist": "l_wrist", "r_wrist": "r_wrist",
}  # fmt: skip
COCO_EXPECT = {
    "nose": "nose", "r_hip": "r_hip", "l_hip": "l_hip", "r_knee": "r_knee", "l_knee": "l_knee",
    "r_ankle": "r_ankle", "l_ankle": "l_ankle", "l_shoulder": "l_shoulder", "r_shoulder": "r_shoulder",
    "l_elbow": "l_elbow", "r_elbow": "r_elbow", "l_wrist": "l_wrist", "r_wrist": "r_wrist",
}  # fmt: skip


@pytest.mark.parametrize(("source", "expect"), [("mpii16", MPII_EXPECT), ("coco17", COCO_EXPECT)], ids=["mpii", "coco"])
def test_mappings_hit_right_names(source: str, expect: dict[str, str]) -> None:
    src = sk.get_skeleton(source)
    table = sk.mapping(source, "h36m18")
    for j, name in enumerate(sk.H36M_18.joint_names):
        if name in expect:
            assert src.joint_names[table[j]] == expect[name]
        else:
            assert table[j] == -1, f"{name} should be missing from {source}"


def test_map_joints_missing_weight_zero() -> None:
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 16, 2))
    out, vis = sk.map_joints(joints, None, "mpii16", "h36m18")
    assert out.shape == (5, 18, 2)
    assert vis[:, 7].sum() == 0 and vis[:, 9].sum() == 0
    np.testing.assert_array_equal(out[:, 0], joints[:, 6])
    np.testing.assert_array_equal(out[:, 7], 0)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="joints"):
        sk.map_joints(np.zeros((3, 17, 2)), None, "mpii16", "h36m18")
    with pytest.raises(ValueError, match="unknown name"):
        sk.get_skeleton("smpl24")
    with pytest.raises(ValueError, match="no mapping"):
        sk.mapping("coco17", "mpii16")
    with pytest.raises(KeyError, match="not in skeleton"):
        sk.H36M_18.index("tail")

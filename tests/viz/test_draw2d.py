"""2D overlay: side colours at the joints, confidence blending, low-score joints hollow, input untouched."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.viz.draw2d import (
    GREY_RGB,
    LEFT_RGB,
    RIGHT_RGB,
    bone_side,
    draw_boxes,
    draw_poses_2d,
    hstack_images,
    joint_side,
    side_color,
)

NAMES = ("pelvis", "l_hip", "r_hip")
EDGES = ((0, 1), (0, 2))


def test_sides_from_names() -> None:
    assert [joint_side(n) for n in ("l_wrist", "r_knee", "neck", "left_eye", "RIGHT_EAR")] == [
        "left", "right", "center", "left", "right",
    ]  # fmt: skip
    assert bone_side("center", "left") == "left" and bone_side("left", "right") == "center"


def test_side_color_blends_to_grey_by_score() -> None:
    assert side_color("left", 1.0) == LEFT_RGB
    assert side_color("right", 0.0) == GREY_RGB
    half = side_color("left", 0.5)
    assert half == tuple(round(0.5 * a + 0.5 * b) for a, b in zip(LEFT_RGB, GREY_RGB))
    with pytest.raises(ValueError, match="side"):
        side_color("up")


def test_joint_pixels_carry_side_colours() -> None:
    img = np.zeros((200, 200, 3), np.uint8)
    kp = np.array([[100.0, 100.0], [40.0, 160.0], [160.0, 160.0]])
    out = draw_poses_2d(img, kp, EDGES, NAMES, scores=np.array([1.0, 1.0, 1.0]))
    assert tuple(out[160, 40]) == LEFT_RGB
    assert tuple(out[160, 160]) == RIGHT_RGB
    assert not img.any()  # input untouched
    # a joint below min_score is a hollow grey ring: its centre stays background
    big = np.zeros((800, 800, 3), np.uint8)  # radius 8 px here
    low = draw_poses_2d(big, 4 * kp, EDGES, NAMES, scores=np.array([1.0, 0.05, 1.0]), min_score=0.2)
    assert tuple(low[643, 157]) == (0, 0, 0)  # inside the ring, away from the bone
    ring = low[630:651, 150:171].reshape(-1, 3)
    assert (ring == GREY_RGB).all(axis=1).any()
    assert not (ring == LEFT_RGB).all(axis=1).any()


def test_nan_joints_are_skipped_and_bad_input_rejected() -> None:
    img = np.zeros((50, 50, 3), np.uint8)
    kp = np.full((1, 3, 2), np.nan)
    assert not draw_poses_2d(img, kp, EDGES, NAMES).any()
    with pytest.raises(ValueError, match="keypoints"):
        draw_poses_2d(img, np.zeros((4, 2)), EDGES, NAMES)
    with pytest.raises(ValueError, match="edges"):
        draw_poses_2d(img, np.zeros((3, 2)), ((0, 5),), NAMES)
    with pytest.raises(TypeError, match="uint8"):
        draw_poses_2d(img.astype(np.float32), np.zeros((3, 2)), EDGES, NAMES)


def test_boxes_and_hstack() -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    boxed = draw_boxes(img, np.array([[10.0, 5.0, 20.0, 30.0]]))
    assert boxed[5, 20].any() and not boxed[20, 20].any()  # edge drawn, inside empty
    both = hstack_images(img, np.zeros((80, 80, 3), np.uint8))
    assert both.shape == (40, 100, 3)

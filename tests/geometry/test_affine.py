"""Crop affine: agreement with OpenCV, closed form, round trips, warpAffine consistency, bad input."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from integral_pose.geometry.affine import (
    affine_from_points,
    apply_affine,
    box_to_center_size,
    crop_affine,
    extend_box_to_aspect,
    flip_points_x,
    invert_affine,
)

RNG = np.random.default_rng(11)


def _three_points(center, size, patch, s, rot):
    """The original construction's three correspondences, written independently of the module."""
    c = np.asarray(center, dtype=np.float64)
    bw, bh = size[0] * s, size[1] * s
    th = math.radians(rot)
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    src = np.stack([c, c + R @ [0.0, bh / 2], c + R @ [bw / 2, 0.0]])
    pw, ph = patch
    dst = np.array([[pw / 2, ph / 2], [pw / 2, ph], [pw, ph / 2]])
    return src, dst


@pytest.mark.parametrize("rot", [0.0, 17.0, -45.0, 90.0])
@pytest.mark.parametrize("s", [0.8, 1.0, 1.25])
def test_agrees_with_cv2_get_affine_transform(rot, s):
    center, size, patch = (312.5, 207.25), (180.0, 240.0), (192, 256)
    src, dst = _three_points(center, size, patch, s, rot)
    T = crop_affine(center, size, patch, scale=s, rot_deg=rot)
    np.testing.assert_allclose(T, cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32)), atol=1e-4)
    Tinv = crop_affine(center, size, patch, scale=s, rot_deg=rot, inv=True)
    np.testing.assert_allclose(Tinv, cv2.getAffineTransform(dst.astype(np.float32), src.astype(np.float32)), atol=1e-4)
    # float64 agreement with the generic three-point solve
    np.testing.assert_allclose(T, affine_from_points(src, dst), atol=1e-12)


def test_closed_form_of_the_reference():
    # p = patch_centre + diag(W_p/(s·bw), H_p/(s·bh)) · R(−θ) · (x − c)
    center, size, patch, s, rot = np.array([100.0, 80.0]), (50.0, 70.0), (64, 96), 1.1, 30.0
    T = crop_affine(center, size, patch, scale=s, rot_deg=rot)
    th = math.radians(-rot)
    Rm = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    x = RNG.uniform(0, 200, size=(20, 2))
    expected = np.array([32.0, 48.0]) + (np.diag([64 / (s * 50), 96 / (s * 70)]) @ Rm @ (x - center).T).T
    np.testing.assert_allclose(apply_affine(x, T), expected, atol=1e-9)


def test_inverse_round_trip_below_1e_6_px():
    for _ in range(20):
        center = RNG.uniform(0, 1000, 2)
        size = RNG.uniform(20, 500, 2)
        T = crop_affine(center, size, (288, 384), scale=RNG.uniform(0.75, 1.25), rot_deg=RNG.uniform(-60, 60))
        pts = RNG.uniform(-100, 1100, size=(50, 2))
        back = apply_affine(apply_affine(pts, T), invert_affine(T))
        assert np.abs(back - pts).max() < 1e-6
        Tinv = crop_affine(center, size, (288, 384), scale=1.0, rot_deg=0.0, inv=True)
        T0 = crop_affine(center, size, (288, 384))
        assert np.abs(apply_affine(apply_affine(pts, T0), Tinv) - pts).max() < 1e-6


def test_rotation_then_minus_rotation_is_identity():
    # box = patch (no scaling) and centred on the patch centre: T(r) is a pure rotation about that centre
    center, size = (32.0, 32.0), (64.0, 64.0)
    pts = RNG.uniform(0, 64, size=(30, 2))
    for r in (10.0, 45.0, 123.0):
        Tr = crop_affine(center, size, (64, 64), rot_deg=r)
        Tm = crop_affine(center, size, (64, 64), rot_deg=-r)
        np.testing.assert_allclose(apply_affine(apply_affine(pts, Tr), Tm), pts, atol=1e-9)
        np.testing.assert_allclose(np.linalg.det(Tr[:, :2]), 1.0, atol=1e-12)
    # the rotation part of T(r) composed with T(−r) is the identity for any box
    Ta = crop_affine((100.0, 50.0), (40.0, 40.0), (40, 40), rot_deg=25.0)
    Tb = crop_affine((100.0, 50.0), (40.0, 40.0), (40, 40), rot_deg=-25.0)
    np.testing.assert_allclose(Ta[:, :2] @ Tb[:, :2], np.eye(2), atol=1e-12)


@pytest.mark.parametrize(("rot", "patch_scale"), [(0.0, 1), (90.0, 1), (0.0, 2), (180.0, 2)])
def test_warp_affine_of_a_one_hot_image_lands_where_apply_affine_says(rot, patch_scale):
    img = np.zeros((60, 80), np.float32)
    src = np.array([37.0, 21.0])
    img[int(src[1]), int(src[0])] = 1.0
    box = (40.0, 30.0)
    patch = (int(box[0] * patch_scale), int(box[1] * patch_scale))  # integer zoom, so pixels map to pixels
    T = crop_affine((40.0, 30.0), box, patch, rot_deg=rot)
    out = cv2.warpAffine(img, T, patch, flags=cv2.INTER_LINEAR)
    expected = apply_affine(src[None], T)[0]
    np.testing.assert_allclose(expected, np.round(expected), atol=1e-9)  # an integer pixel by construction
    peak = np.unravel_index(np.argmax(out), out.shape)
    assert (peak[1], peak[0]) == tuple(int(v) for v in np.round(expected))
    assert out.max() == pytest.approx(1.0, abs=1e-5)


def test_extend_box_and_flip():
    box = np.array([[10.0, 20.0, 100.0, 50.0], [0.0, 0.0, 30.0, 90.0]])
    ext = extend_box_to_aspect(box, 0.75)
    np.testing.assert_allclose(ext[:, 2] / ext[:, 3], 0.75)
    c0, _ = box_to_center_size(box)
    c1, s1 = box_to_center_size(ext)
    np.testing.assert_allclose(c0, c1)
    assert (s1 >= box[:, 2:]).all()  # never shrinks
    np.testing.assert_allclose(ext[0], [10.0, 20 + 25 - 100 / 0.75 / 2, 100.0, 100 / 0.75])
    pts = np.array([[0.0, 5.0], [99.0, 1.0], [49.5, 2.0]])
    flipped = flip_points_x(pts, 100)
    np.testing.assert_allclose(flipped[:, 0], [99.0, 0.0, 49.5])
    np.testing.assert_allclose(flip_points_x(flipped, 100), pts)


def test_bad_input():
    with pytest.raises(ValueError, match="collinear"):
        affine_from_points(np.array([[0, 0], [1, 1], [2, 2]]), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"src/dst: expected shape \(3, 2\)"):
        affine_from_points(np.zeros((4, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="size: expected positive box width and height"):
        crop_affine((0, 0), (0.0, 10.0), (64, 64))
    with pytest.raises(ValueError, match="patch_size: expected positive"):
        crop_affine((0, 0), (10.0, 10.0), (0, 64))
    with pytest.raises(ValueError, match="scale: expected a finite value > 0"):
        crop_affine((0, 0), (10.0, 10.0), (64, 64), scale=0.0)
    with pytest.raises(ValueError, match="rot_deg: expected a finite value"):
        crop_affine((0, 0), (10.0, 10.0), (64, 64), rot_deg=float("nan"))
    with pytest.raises(ValueError, match="center: expected finite values"):
        crop_affine((np.nan, 0), (10.0, 10.0), (64, 64))
    with pytest.raises(ValueError, match="center: expected 2 numbers"):
        crop_affine((1.0, 2.0, 3.0), (10.0, 10.0), (64, 64))
    with pytest.raises(ValueError, match="singular affine"):
        invert_affine(np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0]]))
    with pytest.raises(ValueError, match=r"T: expected shape \(2, 3\)"):
        apply_affine(np.zeros((3, 2)), np.eye(3))
    with pytest.raises(ValueError, match=r"points: expected shape \(..., 2\)"):
        apply_affine(np.zeros((3, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="aspect"):
        extend_box_to_aspect(np.array([0, 0, 10.0, 10.0]), 0.0)
    with pytest.raises(ValueError, match="box_xywh: expected positive width and height"):
        extend_box_to_aspect(np.array([0, 0, 0.0, 10.0]), 1.0)
    with pytest.raises(ValueError, match=r"box_xywh: expected shape \(..., 4\)"):
        box_to_center_size(np.zeros(3))

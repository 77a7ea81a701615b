"""Camera model: OpenCV agreement, the Human3.6M tangential formula, shipped calibrations, root solve, bad input."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from integral_pose.data.sources.h36m import load_h36m_cameras
from integral_pose.geometry.camera import Camera, solve_root_translation

RNG = np.random.default_rng(0)


def _random_points(n: int, depth: float = 4500.0, spread: float = 600.0) -> np.ndarray:
    pts = RNG.normal(size=(n, 3)) * spread
    pts[:, 2] += depth
    return pts


def _h36m_format_projection(X: np.ndarray, f, c, k, p) -> np.ndarray:
    """Literal transcription of the `_format.projection` string of h36m_cameras.json, one point at a time."""
    out = []
    for P in X:
        x = P[:2] / P[2]
        r2 = float(x @ x)
        radial = 1 + k[0] * r2 + k[1] * r2**2 + k[2] * r2**3
        tan = p[0] * x[1] + p[1] * x[0]
        x_d = x * (radial + tan) + r2 * np.array([p[1], p[0]])
        out.append(np.asarray(f) * x_d + np.asarray(c))
    return np.array(out)


@pytest.fixture(scope="module")
def cams() -> dict[str, list[Camera]]:
    return load_h36m_cameras()


def test_projection_equals_opencv_without_tangential(cams):
    X = _random_points(50)
    for cam in (cams["S1"][0], cams["S11"][3]):
        radial_only = Camera(f=cam.f, c=cam.c, k=cam.k)
        ref, _ = cv2.projectPoints(
            X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), radial_only.K, np.array([*cam.k[:2], 0.0, 0.0, cam.k[2]])
        )
        np.testing.assert_allclose(radial_only.project(X), ref.reshape(-1, 2), atol=1e-6)
        # and the undistorted projection equals OpenCV with zero distortion
        ref0, _ = cv2.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), cam.K, np.zeros(5))
        np.testing.assert_allclose(cam.project(X, distort=False), ref0.reshape(-1, 2), atol=1e-6)


def test_projection_reproduces_the_h36m_tangential_formula(cams):
    X = _random_points(40)
    for cam in (cams["S5"][1], cams["S9"][3]):
        assert np.any(cam.p != 0)
        expected = _h36m_format_projection(X, cam.f, cam.c, cam.k, cam.p)
        np.testing.assert_allclose(cam.project(X), expected, atol=1e-9)
    # with exaggerated tangential terms Human3.6M's model differs from OpenCV's (p1/p2 roles differ)
    cam = Camera(f=(1000, 1000), c=(500, 500), p=(0.05, -0.03))
    ocv, _ = cv2.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), cam.K, np.array([0, 0, 0.05, -0.03, 0]))
    assert np.abs(cam.project(X) - ocv.reshape(-1, 2)).max() > 1.0
    np.testing.assert_allclose(cam.project(X), _h36m_format_projection(X, cam.f, cam.c, cam.k, cam.p), atol=1e-9)


def test_shipped_calibrations_see_a_person_4_to_5_m_in_front(cams):
    height = np.linspace(0.0, 1800.0, 10)  # a vertical 1.8 m "person"
    for subject, entries in cams.items():
        for cam in entries:
            w, h = cam.resolution
            for dist in (4000.0, 5000.0):
                ahead = cam.T + dist * cam.R[:, 2]  # R's third column: the optical axis in the world
                person = np.tile(ahead, (len(height), 1))
                person[:, 2] = ahead[2] - 900.0 + height  # vertical, its middle on the optical axis
                uv = cam.project_world(person)
                assert np.isfinite(uv).all(), (subject, cam.camera_id)
                assert (uv[:, 0] >= 0).all() and (uv[:, 0] < w).all(), (subject, cam.camera_id, uv)
                assert (uv[:, 1] >= 0).all() and (uv[:, 1] < h).all(), (subject, cam.camera_id, uv)
                # world z is up: the head (last point) is above the feet in the image
                assert uv[-1, 1] < uv[0, 1]
            # the floor centre (world origin) is in view, in front of the camera
            assert cam.world_to_camera(np.zeros(3))[2] > 3000.0
            u, v = cam.project_world(np.zeros(3))
            assert 0 <= u < w and 0 <= v < h


def test_world_camera_round_trip_and_convention(cams):
    cam = cams["S7"][2]
    Xw = _random_points(30) + 1000.0
    np.testing.assert_allclose(cam.camera_to_world(cam.world_to_camera(Xw)), Xw, atol=1e-9)
    np.testing.assert_allclose(cam.camera_to_world(np.zeros(3)), cam.T, atol=1e-9)  # T is the camera centre
    np.testing.assert_allclose(cam.world_to_camera(Xw), (Xw - cam.T) @ cam.R, atol=1e-9)
    np.testing.assert_allclose(cam.world_to_camera(cam.T + cam.R[:, 2] * 1000.0), [0, 0, 1000.0], atol=1e-9)


def test_backproject_inverts_project(cams):
    cam = cams["S6"][0]
    X = _random_points(100)
    np.testing.assert_allclose(cam.backproject(cam.project(X, distort=False), X[:, 2]), X, atol=1e-8)
    np.testing.assert_allclose(cam.backproject(cam.project(X), X[:, 2], distorted=True), X, atol=1e-6)
    # batched shapes and scalar depth broadcast
    uv = cam.project(X.reshape(10, 10, 3), distort=False)
    assert cam.backproject(uv, 5000.0).shape == (10, 10, 3)
    assert (cam.backproject(uv, 5000.0)[..., 2] == 5000.0).all()


def test_project_hand_case_and_points_behind():
    cam = Camera(f=(1000.0, 800.0), c=(320.0, 240.0))
    np.testing.assert_allclose(cam.project(np.array([100.0, 200.0, 2000.0])), [370.0, 320.0])
    uv = cam.project(np.array([[0.0, 0.0, -10.0], [0.0, 0.0, 0.0], [1.0, 1.0, 10.0]]))
    assert np.isnan(uv[:2]).all() and np.isfinite(uv[2]).all()


def test_from_fov_and_K():
    cam = Camera.from_fov(90.0, (640, 480))
    assert cam.resolution == (640, 480)
    np.testing.assert_allclose(cam.f, [320.0, 320.0])
    np.testing.assert_allclose(cam.c, [319.5, 239.5])
    # a ray at half the field of view lands on the outer edge of the border pixel (x = W − 0.5)
    half = math.radians(45.0)
    np.testing.assert_allclose(cam.project(np.array([math.tan(half), 0.0, 1.0])), [639.5, 239.5])
    vert = Camera.from_fov(60.0, (640, 480), axis="vertical")
    np.testing.assert_allclose(vert.f[1], 240.0 / math.tan(math.radians(30.0)))
    K = np.array([[1100.0, 0.0, 500.0], [0.0, 1090.0, 510.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(Camera.from_K(K).K, K)


def test_undistort_inverts_distort(cams):
    cam = cams["S11"][1]
    xy = RNG.uniform(-0.4, 0.4, size=(200, 2))
    np.testing.assert_allclose(cam.undistort_normalized(cam.distort_normalized(xy)), xy, atol=1e-10)


# ------------------------------------------------------------------------------------------ root translation
def _pose_and_projection(cam: Camera, n: int = 20):
    rel = RNG.normal(size=(n, 17, 3)) * np.array([250.0, 450.0, 200.0])
    rel -= rel[:, :1]
    t_true = np.stack([RNG.uniform(-800, 800, n), RNG.uniform(-500, 500, n), RNG.uniform(3500, 6500, n)], -1)
    uv = cam.project(rel + t_true[:, None], distort=False)
    return rel, t_true, uv


def test_root_solve_exact_on_noise_free_data(cams):
    cam = cams["S9"][0]
    rel, t_true, uv = _pose_and_projection(cam)
    np.testing.assert_allclose(solve_root_translation(uv, rel, cam.K), t_true, atol=1e-6)
    # unbatched call and per-frame K
    np.testing.assert_allclose(solve_root_translation(uv[0], rel[0], cam.K), t_true[0], atol=1e-6)
    Ks = np.broadcast_to(cam.K, (len(uv), 3, 3))
    np.testing.assert_allclose(solve_root_translation(uv, rel, Ks), t_true, atol=1e-6)


def test_root_solve_with_2px_noise_within_tolerance(cams):
    from scipy.optimize import least_squares

    cam = cams["S11"][2]
    rel, t_true, uv = _pose_and_projection(cam, n=200)
    noisy = uv + RNG.normal(size=uv.shape) * 2.0
    t = solve_root_translation(noisy, rel, cam.K)
    err = np.abs(t - t_true)
    # stated tolerance (3.5–6.5 m away, 17 joints, σ = 2 px): mean |Δx|,|Δy| < 5 mm and |Δz| < 30 mm,
    # worst case |Δx|,|Δy| < 25 mm and |Δz| < 150 mm
    assert err[:, :2].mean() < 5.0 and err[:, 2].mean() < 30.0, err.mean(0)
    assert err[:, :2].max() < 25.0 and err[:, 2].max() < 150.0, err.max(0)

    # near-optimal: the reprojection error is within 1 % of a nonlinear least-squares optimum
    def residual(tt: np.ndarray, i: int) -> np.ndarray:
        return (cam.project(rel[i] + tt, distort=False) - noisy[i]).ravel()

    for i in range(10):
        best = least_squares(residual, t_true[i], args=(i,)).x
        assert np.sum(residual(t[i], i) ** 2) <= 1.01 * np.sum(residual(best, i) ** 2)


def test_root_solve_weights_ignore_corrupted_joints(cams):
    cam = cams["S1"][1]
    rel, t_true, uv = _pose_and_projection(cam, n=5)
    bad = uv.copy()
    bad[:, 3] += 300.0
    w = np.ones(uv.shape[:2])
    w[:, 3] = 0.0
    np.testing.assert_allclose(solve_root_translation(bad, rel, cam.K, weights=w), t_true, atol=1e-6)
    assert np.abs(solve_root_translation(bad, rel, cam.K) - t_true).max() > 1.0
    w1 = np.zeros(uv.shape[:2])
    w1[:, 0] = 1.0  # a single joint cannot fix the depth
    assert np.isnan(solve_root_translation(uv, rel, cam.K, weights=w1)).all()


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"f": (0.0, 100.0), "c": (1, 1)}, "f: expected focal lengths > 0"),
        ({"f": (-5.0, 100.0), "c": (1, 1)}, "f: expected focal lengths > 0"),
        ({"f": (100.0,), "c": (1, 1)}, "f: expected 2 numbers"),
        ({"f": (100.0, 100.0), "c": (np.nan, 1)}, "c: expected finite"),
        ({"f": (100.0, 100.0), "c": (1, 1), "k": (0.1, 0.2)}, "k: expected 3 numbers"),
        ({"f": (100.0, 100.0), "c": (1, 1), "R": np.diag([1.0, 1.0, -1.0])}, "R: expected a rotation"),
        ({"f": (100.0, 100.0), "c": (1, 1), "R": np.eye(3) * 2}, "R: expected a rotation"),
        ({"f": (100.0, 100.0), "c": (1, 1), "R": np.eye(2)}, r"R: expected shape \(3, 3\)"),
        ({"f": (100.0, 100.0), "c": (1, 1), "T": (1, 2)}, "T: expected 3 numbers"),
        ({"f": (100.0, 100.0), "c": (1, 1), "resolution": (0, 10)}, "resolution"),
    ],
)
def test_camera_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Camera(**kwargs)


def test_bad_input_to_methods(tmp_path):
    cam = Camera(f=(100.0, 100.0), c=(50.0, 50.0))
    with pytest.raises(ValueError, match=r"points_cam_mm: expected shape \(..., 3\)"):
        cam.project(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="points_cam_mm: expected no NaN"):
        cam.project(np.array([np.nan, 0.0, 1.0]))
    with pytest.raises(TypeError, match="points_cam_mm"):
        cam.project("abc")
    with pytest.raises(ValueError, match="depth_mm: expected a shape broadcastable"):
        cam.backproject(np.zeros((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="uv: expected shape"):
        cam.backproject(np.zeros((4, 3)), 1.0)
    with pytest.raises(ValueError, match="fov_deg"):
        Camera.from_fov(180.0, (100, 100))
    with pytest.raises(ValueError, match="image_size"):
        Camera.from_fov(60.0, (0, 100))
    with pytest.raises(ValueError, match="axis"):
        Camera.from_fov(60.0, (100, 100), axis="diagonal")
    with pytest.raises(ValueError, match="K: expected"):
        Camera.from_K(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"entry: missing key\(s\) \['R', 'T'\]"):
        Camera.from_h36m_json({"f": [1, 1], "c": [0, 0], "k": [0, 0, 0], "p": [0, 0]})
    with pytest.raises(TypeError, match="entry: expected a dict"):
        Camera.from_h36m_json([1, 2])


def test_root_solve_bad_input():
    K = np.array([[1000.0, 0, 500], [0, 1000.0, 500], [0, 0, 1]])
    uv, rel = np.zeros((2, 17, 2)), np.zeros((2, 17, 3))
    with pytest.raises(ValueError, match="joints_3d_rel: expected shape"):
        solve_root_translation(uv, np.zeros((2, 16, 3)), K)
    with pytest.raises(ValueError, match="joints_2d: expected shape"):
        solve_root_translation(np.zeros((2, 2, 17, 2)), np.zeros((2, 2, 17, 3)), K)
    with pytest.raises(ValueError, match="K: expected shape"):
        solve_root_translation(uv, rel, np.eye(4))
    with pytest.raises(ValueError, match="K: expected focal lengths > 0"):
        solve_root_translation(uv, rel, np.diag([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="weights: expected shape"):
        solve_root_translation(uv, rel, K, weights=np.ones((2, 16)))
    with pytest.raises(ValueError, match="weights: expected finite non-negative"):
        solve_root_translation(uv, rel, K, weights=-np.ones((2, 17)))
    with pytest.raises(ValueError, match="joints_2d: expected no NaN"):
        solve_root_translation(np.full((2, 17, 2), np.nan), rel, K)

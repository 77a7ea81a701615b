"""The ray-caster: exact rays through the lens model, analytic silhouettes, depth order, labels on the body."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.data.sources.h36m import load_h36m_cameras
from integral_pose.geometry.camera import Camera
from integral_pose.synth.render import (
    BodyStyle,
    Capsule,
    Ellipsoid,
    RayGrid,
    body_primitives,
    render_body,
    sample_scene,
    scaled_camera,
)
from integral_pose.synth.retarget import load_clip_library


def _flat_style(**kw: object) -> BodyStyle:
    base = dict(skin=(1.0, 1.0, 1.0), shirt=(1.0, 1.0, 1.0), trousers=(1.0, 1.0, 1.0), shoes=(1.0, 1.0, 1.0),
                girth=1.0, long_sleeves=True, shorts=False, stripes=0.0, light=(0.0, 0.0, -1.0), ambient=1.0,
                diffuse=0.0)  # fmt: skip
    base.update(kw)
    return BodyStyle(**base)  # type: ignore[arg-type]


def _pinhole(size: int = 128, f: float = 500.0) -> tuple[Camera, RayGrid]:
    cam = Camera(f=(f, f), c=((size - 1) / 2, (size - 1) / 2), resolution=(size, size))
    return cam, RayGrid(cam, size, size)


@pytest.mark.parametrize("size", [None, 512])
def test_ray_grid_reprojects_to_its_pixels(size: int | None) -> None:
    native = load_h36m_cameras()["S9"][1]
    cam, (w, h) = scaled_camera(native, size)
    grid = RayGrid(cam, w, h)
    xy = grid.rays(0, 0, w, h)  # (h, w, 2)
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, h, 400), rng.integers(0, w, 400)
    rays = np.concatenate([xy[ys, xs], np.ones((400, 1))], -1)
    uv = cam.project(rays)  # the camera's own distorting projection is the oracle
    np.testing.assert_allclose(uv, np.stack([xs, ys], -1), atol=0.01)


def test_scaled_camera_scales_pixels() -> None:
    native = load_h36m_cameras()["S1"][0]
    cam, (w, h) = scaled_camera(native, 500)
    assert (w, h) == (500, 501)
    pts = np.array([[100.0, -300.0, 4000.0], [-900.0, 700.0, 3500.0]])
    np.testing.assert_allclose(cam.project(pts), 0.5 * native.project(pts), atol=1e-9)


def test_sphere_silhouette_area_is_analytic() -> None:
    cam, grid = _pinhole()
    r, z = 500.0, 5000.0
    ell = Ellipsoid(np.array([0.0, 0.0, z]), np.eye(3) * r, (1.0, 1.0, 1.0))
    img = render_body(np.zeros((128, 128, 3), np.uint8), cam, [ell], _flat_style(), grid)
    area = img[..., 0].astype(np.float64).sum() / 255.0
    radius_px = 500.0 * r / np.sqrt(z * z - r * r)  # image of the tangent cone
    assert area == pytest.approx(np.pi * radius_px**2, rel=0.005)
    # a capsule of zero length is the same sphere
    cap = Capsule(np.array([0.0, 0.0, z]), np.array([0.0, 0.0, z]), r, (1.0, 1.0, 1.0))
    img2 = render_body(np.zeros((128, 128, 3), np.uint8), cam, [cap], _flat_style(), grid)
    assert np.abs(img2.astype(int) - img.astype(int)).max() <= 2


def test_capsule_area_matches_its_outline() -> None:
    cam, grid = _pinhole(size=128, f=2000.0)
    z, r, half = 20000.0, 200.0, 400.0  # far away: nearly orthographic, 1 mm = 0.1 px
    cap = Capsule(np.array([-half, 0.0, z]), np.array([half, 0.0, z]), r, (1.0, 1.0, 1.0))
    img = render_body(np.zeros((128, 128, 3), np.uint8), cam, [cap], _flat_style(), grid)
    area = img[..., 0].astype(np.float64).sum() / 255.0
    s = 2000.0 / z
    assert area == pytest.approx((2 * r * 2 * half + np.pi * r * r) * s * s, rel=0.01)


def test_depth_order_not_draw_order() -> None:
    cam, grid = _pinhole()
    near = Capsule(np.array([-800.0, 0.0, 5000.0]), np.array([800.0, 0.0, 5000.0]), 150.0, (1.0, 0.0, 0.0))
    far = Capsule(np.array([0.0, -800.0, 5200.0]), np.array([0.0, 800.0, 5200.0]), 150.0, (0.0, 1.0, 0.0))
    bg = np.zeros((128, 128, 3), np.uint8)
    a = render_body(bg, cam, [near, far], _flat_style(), grid)
    b = render_body(bg, cam, [far, near], _flat_style(), grid)
    np.testing.assert_array_equal(a[64, 64], [255, 0, 0])  # the nearer (blue in BGR order: channel 0) wins
    np.testing.assert_array_equal(b[64, 64], [255, 0, 0])
    diff = np.abs(a.astype(int) - b.astype(int)).max(-1)
    assert (diff > 8).mean() < 0.01  # only a few anti-aliased edge pixels may differ


def test_labels_sit_on_the_rendered_body() -> None:
    lib = load_clip_library()
    cams = [(f"{s}:{c.camera_id}", c) for s, lst in load_h36m_cameras().items() for c in lst]
    clips = list(lib.values())
    for i in range(12):
        rng = np.random.default_rng([7, i])
        scene = sample_scene(rng, clips, cams, 256)
        w, h = scene.size
        grid = RayGrid(scene.camera, w, h)
        prims = body_primitives(scene.points_cam, scene.style, scene.body.scale)
        img = render_body(np.zeros((h, w, 3), np.uint8), scene.camera, prims, scene.style, grid)
        body = img.max(-1) > 0
        grown = body.copy()  # one pixel of tolerance for joints on the silhouette (the crown)
        grown[1:] |= body[:-1]
        grown[:-1] |= body[1:]
        grown[:, 1:] |= body[:, :-1]
        grown[:, :-1] |= body[:, 1:]
        uv = scene.camera.project(scene.points_cam[:18])
        px = np.round(uv).astype(int)
        inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
        assert inside.sum() >= 12
        on_body = grown[px[inside, 1], px[inside, 0]]
        assert on_body.all(), (scene.clip.name, np.flatnonzero(inside)[~on_body])


def test_background_is_unchanged_outside_the_body() -> None:
    cam, grid = _pinhole()
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, size=(128, 128, 3), dtype=np.uint8)
    ell = Ellipsoid(np.array([0.0, 0.0, 5000.0]), np.eye(3) * 200.0, (0.5, 0.5, 0.5))
    img = render_body(bg, cam, [ell], _flat_style(), grid)
    yy, xx = np.mgrid[:128, :128]
    far = (xx - 63.5) ** 2 + (yy - 63.5) ** 2 > 25.0**2
    np.testing.assert_array_equal(img[far], bg[far])


def test_grid_size_mismatch_is_an_error() -> None:
    cam, grid = _pinhole()
    with pytest.raises(ValueError, match="grid: built for 128×128"):
        render_body(np.zeros((64, 64, 3), np.uint8), cam, [], _flat_style(), grid)


def _facing(front_z: float, pattern: str) -> np.ndarray:
    """A flat-lit unit-colour sphere at 5 m whose front axis points to the camera (-1) or away (+1)."""
    cam, grid = _pinhole()
    r = 400.0
    axes = np.stack([np.array([-front_z, 0.0, 0.0]), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, front_z])], 1)
    ell = Ellipsoid(np.array([0.0, 0.0, 5000.0]), axes * r, (1.0, 1.0, 1.0), 0.0, pattern, (0.0, 0.0, 0.0))
    return render_body(np.full((128, 128, 3), 128, np.uint8), cam, [ell], _flat_style(), grid)


def test_hair_covers_the_back_and_crown_of_the_head() -> None:
    toward, away = _facing(-1.0, "hair"), _facing(1.0, "hair")
    # 400 mm at 5 m with f = 500 px → radius 40 px around the centre pixel (63.5, 63.5)
    assert toward[64, 64].min() == 255  # the face, seen from the front, is skin
    assert away[64, 64].max() == 0  # the back of the head is hair
    assert toward[64 - 36, 64].max() == 0 and away[64 - 36, 64].max() == 0  # the crown is hair either way


def test_jacket_band_is_on_the_front_only() -> None:
    toward, away = _facing(-1.0, "band"), _facing(1.0, "band")
    assert toward[64, 64].max() == 0  # band (colour2) down the middle of the front
    assert toward[64, 64 + 20].min() == 255  # |side| = 0.5 > 0.3: jacket colour
    assert away[64, 64].min() == 255  # no band on the back


def test_unknown_pattern_is_an_error() -> None:
    with pytest.raises(ValueError, match="pattern"):
        _facing(-1.0, "tartan")


def test_head_and_torso_fronts_point_where_the_person_faces() -> None:
    lib = load_clip_library()
    cams = [(f"{s}:{c.camera_id}", c) for s, lst in load_h36m_cameras().items() for c in lst]
    from integral_pose.synth.retarget import BODY_POINTS

    idx = {n: i for i, n in enumerate(BODY_POINTS)}
    for i in range(6):
        scene = sample_scene(np.random.default_rng([3, i]), list(lib.values()), cams, 256)
        pts = scene.points_cam
        prims = body_primitives(pts, scene.style, scene.body.scale)
        head = next(p for p in prims if isinstance(p, Ellipsoid) and p.pattern == "hair")
        chest = next(p for p in prims if isinstance(p, Ellipsoid) and p.pattern == "band")
        nose_dir = pts[idx["nose"]] - pts[idx["head_center"]]
        assert float(head.axes[:, 2] @ nose_dir) > 0  # the face is on the nose's side
        # the chest's front is the person's forward direction: left shoulder × up
        side = pts[idx["l_shoulder"]] - pts[idx["r_shoulder"]]
        up = pts[idx["thorax"]] - pts[idx["pelvis"]]
        assert float(chest.axes[:, 2] @ np.cross(side, up)) > 0
        assert float(head.axes[:, 0] @ side) > 0  # both frames put ``side`` on the person's left

"""Scene sampling and a small numpy ray-caster for SynthMocap images.

The body is a set of primitives built from the 23 body points of :mod:`integral_pose.synth.retarget`: capsules
for the limbs, the neck, the shoulder and hip girdles, ellipsoids for the chest, the abdomen and the head. Every
primitive is ray-cast over its own screen bounding box only (vectorised numpy), and merged with a per-pixel depth
buffer, so limbs crossing each other occlude correctly. Edges are anti-aliased from an analytic coverage (the
distance between the pixel's ray and the primitive's silhouette, in pixels). Shading is Lambertian with a random
light, with per-part colours and optional stripes. The body has a front and a back, as a person does: hair covers
the back and the crown of the head (the face is skin) and the shirt is an open jacket over an undershirt, visible as
a vertical band down the front of the chest and belly. Without these cues a depth-mirrored pose (facing away, left
and right swapped) would render to almost the same image, and its labels could not be learned.

Rays go through the **distorted** Human3.6M lens model: each pixel's normalised ray is the undistortion of its
pixel coordinate (:class:`RayGrid`, computed with :meth:`Camera.undistort_normalized` on a grid every
``RayGrid.STEP`` pixels and interpolated bilinearly — error below 0.01 px). So the 2D labels, which are the
distorted projections :meth:`Camera.project` of the 3D joints, land exactly on the rendered joints.

Pixel ``i`` has coordinate ``i`` (pixel centres at integers), as everywhere in the project.

Length: over 600 lines because the scene sampler, the ray grid and the primitives' ray casts share one depth buffer
and one coverage model; split apart, each piece would only be read together with the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from integral_pose.geometry.camera import Camera
from integral_pose.synth.retarget import BODY_POINTS, BodyParams, Clip, pose_world_mm, sample_body_params

__all__ = [
    "Background",
    "BodyStyle",
    "PoseVariety",
    "RayGrid",
    "Scene",
    "body_primitives",
    "render_body",
    "sample_scene",
    "sample_style",
    "scaled_camera",
]

_P = {name: i for i, name in enumerate(BODY_POINTS)}


# ---------------------------------------------------------------------------------------------------- cameras
def scaled_camera(camera: Camera, size: int | None) -> tuple[Camera, tuple[int, int]]:
    """The camera for images ``size`` pixels wide (``None``: the camera's own resolution).

    The intrinsics are multiplied by ``s = size / res_w`` (distortion acts on normalised coordinates, unchanged);
    the image is ``size × round(res_h · s)``.

    Returns:
        ``(camera, (width, height))``.
    """
    if camera.resolution is None:
        raise ValueError(f"camera {camera.camera_id!r}: resolution unknown; cannot size the image")
    res_w, res_h = camera.resolution
    if size is None:
        return camera, (res_w, res_h)
    s = size / res_w
    cam = Camera(
        f=camera.f * s,
        c=camera.c * s,
        k=camera.k,
        p=camera.p,
        R=camera.R,
        T=camera.T,
        camera_id=camera.camera_id,
        resolution=(int(size), round(res_h * s)),
        name=camera.name,
    )
    assert cam.resolution is not None
    return cam, cam.resolution


class RayGrid:
    """Undistorted normalised ray coordinates ``(x, y)`` (ray = ``(x, y, 1)``) for every pixel of a camera.

    The exact inverse of the lens model is computed once on a coarse grid (every :attr:`STEP` px, with a margin
    around the image) and interpolated bilinearly per request.
    """

    STEP = 8
    MARGIN = 64

    def __init__(self, camera: Camera, width: int, height: int, margin: int | None = None) -> None:
        """``margin``: px of grid outside the image (default :attr:`MARGIN`; a multiple of :attr:`STEP` keeps
        the same lattice, so the rays inside the image do not change)."""
        self.width, self.height = width, height
        s, m = self.STEP, (self.MARGIN if margin is None else int(margin))
        self.x0 = -m
        self.y0 = -m
        xs = np.arange(-m, width + m + s, s, dtype=np.float64)
        ys = np.arange(-m, height + m + s, s, dtype=np.float64)
        uv = np.stack(np.meshgrid(xs, ys), -1)  # (gh, gw, 2)
        xy_d = (uv - camera.c) / camera.f
        self.grid = camera.undistort_normalized(xy_d)  # (gh, gw, 2)

    def rays(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """(y1 − y0, x1 − x0, 2) normalised ray coordinates of pixels ``[x0, x1) × [y0, y1)`` (image coords)."""
        s = self.STEP
        gx = (np.arange(x0, x1, dtype=np.float64) - self.x0) / s
        gy = (np.arange(y0, y1, dtype=np.float64) - self.y0) / s
        ix = np.clip(np.floor(gx).astype(np.int64), 0, self.grid.shape[1] - 2)
        iy = np.clip(np.floor(gy).astype(np.int64), 0, self.grid.shape[0] - 2)
        fx = (gx - ix)[None, :, None]
        fy = (gy - iy)[:, None, None]
        g = self.grid
        top = g[iy][:, ix] * (1 - fx) + g[iy][:, ix + 1] * fx
        bot = g[iy + 1][:, ix] * (1 - fx) + g[iy + 1][:, ix + 1] * fx
        return top * (1 - fy) + bot * fy


# ---------------------------------------------------------------------------------------------------- body
@dataclass(frozen=True)
class BodyStyle:
    """Appearance of one rendered person (colours are BGR in [0, 1]).

    Attributes:
        skin, shirt, trousers, shoes: part colours.
        hair: colour of the back and top of the head.
        undershirt: colour of the band down the front of the torso (the jacket is ``shirt``).
        girth: multiplies every primitive's thickness.
        long_sleeves: forearms take the shirt colour (else skin).
        shorts: shins take the skin colour (else trousers).
        stripes: period of shirt stripes in mm (0 = plain).
        light: (3,) unit vector towards the light, camera frame.
        ambient, diffuse: shading weights.
    """

    skin: tuple[float, float, float]
    shirt: tuple[float, float, float]
    trousers: tuple[float, float, float]
    shoes: tuple[float, float, float]
    girth: float
    long_sleeves: bool
    shorts: bool
    stripes: float
    light: tuple[float, float, float]
    ambient: float
    diffuse: float
    hair: tuple[float, float, float] = (0.1, 0.1, 0.1)
    undershirt: tuple[float, float, float] = (0.9, 0.9, 0.9)


_HAIR = ((0.05, 0.05, 0.06), (0.08, 0.14, 0.22), (0.15, 0.25, 0.40), (0.35, 0.62, 0.80), (0.6, 0.6, 0.62))
_SKIN = ((0.55, 0.67, 0.85), (0.45, 0.56, 0.76), (0.33, 0.43, 0.60), (0.22, 0.30, 0.45), (0.62, 0.74, 0.92))


def sample_style(rng: np.random.Generator) -> BodyStyle:
    """Random clothes, skin tone, thickness and light."""
    skin = np.asarray(_SKIN[int(rng.integers(len(_SKIN)))]) * rng.uniform(0.9, 1.1)
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-1.0, 0.1), -1.0])
    light /= np.linalg.norm(light)

    def colour() -> tuple[float, float, float]:
        c = rng.uniform(0.05, 0.95, size=3)
        return (float(c[0]), float(c[1]), float(c[2]))

    shirt = colour()
    under = colour()
    if sum(abs(a - b) for a, b in zip(shirt, under)) < 0.6:  # keep the front band visible
        under = (1.0 - shirt[0], 1.0 - shirt[1], 1.0 - shirt[2])
    hair = np.asarray(_HAIR[int(rng.integers(len(_HAIR)))]) * rng.uniform(0.85, 1.15)
    return BodyStyle(
        skin=(float(min(skin[0], 1)), float(min(skin[1], 1)), float(min(skin[2], 1))),
        shirt=shirt,
        trousers=colour(),
        shoes=(float(rng.uniform(0.05, 0.4)),) * 3,
        hair=(float(min(hair[0], 1)), float(min(hair[1], 1)), float(min(hair[2], 1))),
        undershirt=under,
        girth=float(rng.uniform(0.85, 1.2)),
        long_sleeves=bool(rng.random() < 0.5),
        shorts=bool(rng.random() < 0.25),
        stripes=float(rng.uniform(40.0, 90.0)) if rng.random() < 0.3 else 0.0,
        light=(float(light[0]), float(light[1]), float(light[2])),
        ambient=float(rng.uniform(0.3, 0.5)),
        diffuse=float(rng.uniform(0.5, 0.75)),
    )


@dataclass(frozen=True)
class Capsule:
    """Segment ``p0 → p1`` (camera frame, mm) swept by a ball of radius ``r`` mm."""

    p0: np.ndarray
    p1: np.ndarray
    r: float
    colour: tuple[float, float, float]
    stripes: float = 0.0


@dataclass(frozen=True)
class Ellipsoid:
    """Centre ``c`` (mm) and ``axes`` (3, 3) whose columns are the semi-axes (direction × radius, mm).

    The columns are read as (side, up, front). ``pattern`` paints part of the surface with ``colour2``:
    ``"hair"`` — the back half and the crown (up > 0.45) of the unit-sphere frame; ``"band"`` — the front strip
    |side| < 0.3, front > 0 (an open jacket's undershirt). ``""`` = one colour.
    """

    c: np.ndarray
    axes: np.ndarray
    colour: tuple[float, float, float]
    stripes: float = 0.0
    pattern: str = ""
    colour2: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else fallback


def _frame(up: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orthonormal (side, up, front) from an up direction and an approximate side direction."""
    u = _unit(up, np.array([0.0, -1.0, 0.0]))
    s = side - np.dot(side, u) * u
    s = _unit(s, _unit(np.cross(u, np.array([0.0, 0.0, 1.0])), np.array([1.0, 0.0, 0.0])))
    f = np.cross(s, u)
    return s, u, f


def body_primitives(points_cam: np.ndarray, style: BodyStyle, scale: float = 1.0) -> list[Capsule | Ellipsoid]:
    """Capsules and ellipsoids of a body from its 23 points (camera frame, mm).

    Args:
        points_cam: (23, 3) body points (:data:`~integral_pose.synth.retarget.BODY_POINTS`), mm.
        style: colours and thickness.
        scale: the body's global scale (thickness follows it).

    Returns:
        The primitives, in no particular order (depth is resolved per pixel).
    """
    P = np.asarray(points_cam, dtype=np.float64)
    if P.shape != (len(BODY_POINTS), 3):
        raise ValueError(f"points_cam: expected shape ({len(BODY_POINTS)}, 3), got {P.shape}")
    g = style.girth * scale

    def p(name: str) -> np.ndarray:
        return P[_P[name]]

    forearm = style.shirt if style.long_sleeves else style.skin
    shin = style.skin if style.shorts else style.trousers
    prims: list[Capsule | Ellipsoid] = []
    for s in ("l", "r"):
        prims += [
            Capsule(p(f"{s}_hip"), p(f"{s}_knee"), 68 * g, style.trousers),
            Capsule(p(f"{s}_knee"), p(f"{s}_ankle"), 50 * g, shin),
            Capsule(p(f"{s}_ankle"), p(f"{s}_toe"), 40 * g, style.shoes),
            Capsule(p(f"{s}_shoulder"), p(f"{s}_elbow"), 45 * g, style.shirt),
            Capsule(p(f"{s}_elbow"), p(f"{s}_wrist"), 37 * g, forearm),
            Capsule(p(f"{s}_wrist"), p(f"{s}_hand"), 30 * g, style.skin),
        ]
    prims.append(Capsule(p("l_shoulder"), p("r_shoulder"), 52 * g, style.shirt))
    prims.append(Capsule(p("l_hip"), p("r_hip"), 75 * g, style.trousers))
    prims.append(Capsule(p("neck"), p("head_center"), 45 * g, style.skin))
    # chest and abdomen ellipsoids, oriented by the spine and the shoulder/hip lines
    side, up, front = _frame(p("thorax") - p("pelvis"), p("l_shoulder") - p("r_shoulder"))
    half_sh = 0.5 * float(np.linalg.norm(p("l_shoulder") - p("r_shoulder")))
    chest_c = 0.5 * (p("thorax") + p("torso"))
    chest_h = 0.5 * float(np.linalg.norm(p("thorax") - p("torso"))) + 60 * scale
    prims.append(Ellipsoid(chest_c, np.stack([side * (half_sh + 10 * g), up * chest_h, front * 105 * g], 1),
                           style.shirt, style.stripes, "band", style.undershirt))  # fmt: skip
    side_h, up_h, front_h = _frame(p("torso") - p("pelvis"), p("l_hip") - p("r_hip"))
    half_hip = 0.5 * float(np.linalg.norm(p("l_hip") - p("r_hip")))
    abd_c = 0.45 * p("torso") + 0.55 * p("pelvis")
    abd_h = 0.5 * float(np.linalg.norm(p("torso") - p("pelvis"))) + 75 * scale
    prims.append(Ellipsoid(abd_c, np.stack([side_h * (half_hip + 55 * g), up_h * abd_h, front_h * 95 * g], 1),
                           style.shirt, style.stripes, "band", style.undershirt))  # fmt: skip
    # head: vertical semi-axis reaches the crown
    head_side = np.cross(p("head") - p("neck"), p("nose") - p("head_center"))  # → the person's left, like ``side``
    hside, hup, hfront = _frame(p("head") - p("head_center"), head_side)
    head_r = float(np.linalg.norm(p("head") - p("head_center")))
    prims.append(Ellipsoid(p("head_center"), np.stack([hside * 0.78 * head_r, hup * head_r, hfront * 0.9 * head_r], 1),
                           style.skin, 0.0, "hair", style.hair))  # fmt: skip
    return prims


# ---------------------------------------------------------------------------------------------------- ray casting
@dataclass
class _Layer:
    colour: np.ndarray  # (H, W, 3) premultiplied
    alpha: np.ndarray  # (H, W)
    depth: np.ndarray  # (H, W) mm, inf = empty
    light: np.ndarray
    ambient: float
    diffuse: float
    fmean: float
    origin: tuple[int, int]  # image coordinates (x, y) of the layer's top-left pixel
    dirs: np.ndarray  # (H, W, 3) unit ray directions of the layer's pixels (camera frame)
    dlen: np.ndarray  # (H, W) length of (x, y, 1) for each ray: Z = range / dlen

    def rays(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Unit directions (h, w, 3) and ``dlen`` (h, w) of the pixels of ``box`` (image coordinates)."""
        x0, y0, x1, y1 = box
        ox, oy = self.origin
        sl = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        return self.dirs[sl], self.dlen[sl]


def _bbox(cam: Camera, pts: np.ndarray, radius: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Pixel bounds [x0, x1) × [y0, y1) covering spheres of ``radius`` around ``pts`` (camera frame)."""
    if (pts[:, 2] < radius + 50.0).any():
        return None  # too close to / behind the camera: skip the primitive
    uv = cam.project(pts)
    rad = 1.15 * radius * float(cam.f.max()) / pts[:, 2].min() + 3.0
    x0 = max(int(np.floor(uv[:, 0].min() - rad)), 0)
    x1 = min(int(np.ceil(uv[:, 0].max() + rad)) + 1, width)
    y0 = max(int(np.floor(uv[:, 1].min() - rad)), 0)
    y1 = min(int(np.ceil(uv[:, 1].max() + rad)) + 1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _composite(
    layer: _Layer, box: tuple[int, int, int, int], alpha: np.ndarray, depth: np.ndarray, colour: np.ndarray
) -> None:
    """Merge a primitive's (h, w) coverage, depth (mm) and shaded colour (h, w, 3) into the layer."""
    x0, y0, x1, y1 = box
    ox, oy = layer.origin
    sl = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
    a = alpha
    m = a > 0
    if not m.any():
        return
    C, A, Z = layer.colour[sl], layer.alpha[sl], layer.depth[sl]
    front = (depth < Z) & m
    back = ~front & m
    af = a[front][:, None]
    C[front] = af * colour[front] + (1 - af) * C[front]
    A[front] = a[front] + (1 - a[front]) * A[front]
    if back.any():
        w = ((1 - A[back]) * a[back])[:, None]
        C[back] = C[back] + w * colour[back]
        A[back] = A[back] + w[:, 0]
    Z[m] = np.minimum(Z[m], depth[m])


def _shade(layer: _Layer, normal: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    lam = np.clip(normal @ layer.light, 0.0, None)
    return albedo * (layer.ambient + layer.diffuse * lam)[..., None]


def _capsule_box(cam: Camera, cap: Capsule, width: int, height: int) -> tuple[int, int, int, int] | None:
    return _bbox(cam, np.stack([cap.p0, cap.p1]), cap.r, width, height)


def _ellipsoid_box(cam: Camera, ell: Ellipsoid, width: int, height: int) -> tuple[int, int, int, int] | None:
    return _bbox(cam, ell.c[None], float(np.linalg.norm(ell.axes, axis=0).max()), width, height)


def _draw_capsule(layer: _Layer, cap: Capsule, box: tuple[int, int, int, int]) -> None:
    dn, dlen = layer.rays(box)  # (h, w, 3) unit rays from the camera centre, (h, w)
    p0, ba, r = cap.p0, cap.p1 - cap.p0, cap.r
    e = float(ba @ ba)
    b = dn @ ba
    d0 = dn @ p0
    p0ba = float(p0 @ ba)
    # closest approach between each ray and the segment (for coverage)
    denom = np.maximum(e - b * b, 1e-9)
    s = np.clip((b * d0 - p0ba) / denom, 0.0, 1.0) if e > 0 else np.zeros_like(b)
    S = p0 + s[..., None] * ba
    t = np.einsum("hwk,hwk->hw", dn, S)
    dist = np.sqrt(np.maximum(np.einsum("hwk,hwk->hw", S, S) - t * t, 0.0))
    pix = t / (dlen * layer.fmean)  # world size of one pixel at that range
    alpha = np.clip(0.5 + (r - dist) / np.maximum(pix, 1e-9), 0.0, 1.0)
    m = alpha > 0
    if not m.any():
        return
    # exact entry point of hits: infinite cylinder, then the end-cap spheres
    dnm, bm, d0m, tm = dn[m], b[m], d0[m], t[m]
    baoa, oaoa = -p0ba, float(p0 @ p0)
    a_ = np.maximum(e - bm * bm, 1e-12)
    bq = e * (-d0m) - baoa * bm
    cq = e * oaoa - baoa * baoa - r * r * e
    hq = bq * bq - a_ * cq
    thit = np.full(bm.shape, np.inf)
    ok = hq >= 0
    t1 = (-bq[ok] - np.sqrt(hq[ok])) / a_[ok]
    y = baoa + t1 * bm[ok]
    body = (y > 0) & (y < e)
    idx = np.flatnonzero(ok)
    thit[idx[body]] = t1[body]
    for end in (cap.p0, cap.p1):
        bc = -(dnm @ end)
        hc = bc * bc - (float(end @ end) - r * r)
        okc = hc >= 0
        tc = np.where(okc, -bc - np.sqrt(np.where(okc, hc, 0.0)), np.inf)
        thit = np.minimum(thit, tc)
    hit = np.isfinite(thit)
    tuse = np.where(hit, thit, tm)
    pts = dnm * tuse[:, None]
    hh = np.clip(((pts - p0) @ ba) / max(e, 1e-9), 0.0, 1.0)
    axis_pt = p0 + hh[:, None] * ba
    normal = pts - axis_pt
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    albedo = np.broadcast_to(np.asarray(cap.colour), normal.shape)
    col = _shade(layer, normal, albedo)
    full_c = np.zeros((*alpha.shape, 3))
    full_z = np.full(alpha.shape, np.inf)
    full_c[m] = col
    full_z[m] = pts[:, 2]
    _composite(layer, box, alpha, full_z, full_c)


def _pattern_mask(pattern: str, local: np.ndarray) -> np.ndarray:
    """Which surface points (n, 3), in the ellipsoid's unit-sphere frame (side, up, front), take ``colour2``."""
    if pattern == "hair":
        return (local[:, 2] < 0.15) | (local[:, 1] > 0.45)
    if pattern == "band":
        return (local[:, 2] > 0) & (np.abs(local[:, 0]) < 0.3)
    raise ValueError(f"Ellipsoid.pattern: expected '', 'hair' or 'band', got {pattern!r}")


def _draw_ellipsoid(layer: _Layer, ell: Ellipsoid, box: tuple[int, int, int, int]) -> None:
    dn, dlen = layer.rays(box)
    minv = np.linalg.inv(ell.axes)
    o = -(minv @ ell.c)  # camera centre in the unit-sphere frame
    dl = dn @ minv.T  # (h, w, 3) ray directions in the unit-sphere frame
    a = np.einsum("hwk,hwk->hw", dl, dl)
    b = dl @ o
    c = float(o @ o) - 1.0
    tc = -b / a
    closest = o + tc[..., None] * dl  # nearest point of the local ray to the centre
    dloc = np.linalg.norm(closest, axis=-1)
    perp = closest / np.maximum(dloc, 1e-9)[..., None]
    r_eff = np.linalg.norm(perp @ ell.axes.T, axis=-1)  # world length of a unit local step along perp
    pix = tc / (dlen * layer.fmean)
    alpha = np.clip(0.5 + (1.0 - dloc) * r_eff / np.maximum(pix, 1e-9), 0.0, 1.0)
    m = alpha > 0
    if not m.any():
        return
    hq = b[m] ** 2 - a[m] * c
    okh = hq >= 0
    thit = np.where(okh, (-b[m] - np.sqrt(np.where(okh, hq, 0.0))) / a[m], tc[m])
    local = o + thit[:, None] * dl[m]
    local = np.where(okh[:, None], local, perp[m])
    normal = local @ minv  # = (minvᵀ · local)ᵀ: the gradient of the implicit function
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    albedo = np.broadcast_to(np.asarray(ell.colour), normal.shape).copy()
    if ell.stripes > 0:
        height = (local @ ell.axes.T - 0.0) @ _unit(ell.axes[:, 1], np.array([0.0, -1.0, 0.0]))
        albedo *= np.where(np.sin(2 * np.pi * height / ell.stripes) > 0, 1.0, 0.6)[:, None]
    if ell.pattern:
        albedo[_pattern_mask(ell.pattern, local)] = ell.colour2
    col = _shade(layer, normal, albedo)
    full_c = np.zeros((*alpha.shape, 3))
    full_z = np.full(alpha.shape, np.inf)
    full_c[m] = col
    full_z[m] = (dn[m] * thit[:, None])[:, 2]
    _composite(layer, box, alpha, full_z, full_c)


def render_body(
    background: np.ndarray, camera: Camera, prims: list[Capsule | Ellipsoid], style: BodyStyle, grid: RayGrid
) -> np.ndarray:
    """Ray-cast ``prims`` over ``background``.

    Only the union of the primitives' screen boxes is touched; the rest of the background is copied.

    Args:
        background: (H, W, 3) uint8 BGR image.
        camera: the (scaled) camera the primitives are expressed in (camera frame, mm).
        prims: from :func:`body_primitives`.
        style: light and shading weights.
        grid: the camera's :class:`RayGrid` (built for the same image size).

    Returns:
        (H, W, 3) uint8 BGR image.
    """
    h, w = background.shape[:2]
    if (grid.width, grid.height) != (w, h):
        raise ValueError(f"grid: built for {grid.width}×{grid.height}, background is {w}×{h}")
    boxes = []
    for prim in prims:
        box = _capsule_box(camera, prim, w, h) if isinstance(prim, Capsule) else _ellipsoid_box(camera, prim, w, h)
        if box is not None:
            boxes.append((prim, box))
    out = background.copy()
    if not boxes:
        return out
    ux0, uy0 = min(b[0] for _, b in boxes), min(b[1] for _, b in boxes)
    ux1, uy1 = max(b[2] for _, b in boxes), max(b[3] for _, b in boxes)
    lh, lw = uy1 - uy0, ux1 - ux0
    xy = grid.rays(ux0, uy0, ux1, uy1)
    d = np.concatenate([xy, np.ones((lh, lw, 1))], -1)
    dlen = np.sqrt(np.einsum("hwk,hwk->hw", d, d))
    layer = _Layer(
        colour=np.zeros((lh, lw, 3)),
        alpha=np.zeros((lh, lw)),
        depth=np.full((lh, lw), np.inf),
        light=np.asarray(style.light),
        ambient=style.ambient,
        diffuse=style.diffuse,
        fmean=float(np.sqrt(camera.f[0] * camera.f[1])),
        origin=(ux0, uy0),
        dirs=d / dlen[..., None],
        dlen=dlen,
    )
    for prim, box in boxes:
        if isinstance(prim, Capsule):
            _draw_capsule(layer, prim, box)
        else:
            _draw_ellipsoid(layer, prim, box)
    region = out[uy0:uy1, ux0:ux1].astype(np.float64)
    region = layer.colour * 255.0 + (1.0 - layer.alpha[..., None]) * region
    out[uy0:uy1, ux0:ux1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------------------------------------------- backgrounds
class Background:
    """Random backgrounds: crops, flips and colour shifts of photos, blended with smooth procedural noise.

    Args:
        photos: list of (h, w, 3) uint8 BGR images.
    """

    def __init__(self, photos: list[np.ndarray]) -> None:
        if not photos:
            raise ValueError("photos: expected at least one background image, got none")
        self.photos = photos

    def sample(self, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 BGR background."""

        noise_lo = rng.normal(0.0, 1.0, size=(int(rng.integers(3, 9)), int(rng.integers(3, 9)), 3)).astype(np.float32)
        # smooth noise: cubic up to 1/8 resolution, then linear to full size (cheap)
        mid = cv2.resize(noise_lo, (max(width // 8, 2), max(height // 8, 2)), interpolation=cv2.INTER_CUBIC)
        noise = cv2.resize(mid, (width, height), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.15:  # fully procedural: smooth colour field
            base = rng.uniform(40, 215, size=3).astype(np.float32)
            field = noise * np.float32(rng.uniform(15, 45)) + base
            return np.clip(field + 0.5, 0, 255).astype(np.uint8)
        photo = self.photos[int(rng.integers(len(self.photos)))]
        ph, pw = photo.shape[:2]
        aspect = width / height
        frac = rng.uniform(0.35, 1.0)
        ch = frac * min(ph, pw / aspect)
        cw = ch * aspect
        cx0 = rng.uniform(0, pw - cw)
        cy0 = rng.uniform(0, ph - ch)
        # crop + resize as one affine (sub-pixel crop box), optionally mirrored
        sx, sy = width / cw, height / ch
        mat = np.array([[sx, 0, -cx0 * sx], [0, sy, -cy0 * sy]], dtype=np.float64)
        if rng.random() < 0.5:
            mat = np.array([[-1, 0, width - 1], [0, 1, 0]]) @ np.vstack([mat, [0, 0, 1]])
        img = cv2.warpAffine(photo, mat, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gain = rng.uniform(0.7, 1.3, size=3)
        offset = rng.uniform(-25, 25)
        lut = np.clip(np.arange(256.0)[:, None] * gain + offset + 0.5, 0, 255).astype(np.uint8)[None]  # (1, 256, 3)
        img = cv2.LUT(img, lut)
        return cv2.add(img, noise * np.float32(rng.uniform(0, 20)), dtype=cv2.CV_8U)


# ---------------------------------------------------------------------------------------------------- scenes
@dataclass
class Scene:
    """One sampled sample: clip/frame, camera, body points (world and camera, mm), shape and style."""

    clip: Clip
    frame: int
    camera_key: str
    camera: Camera
    size: tuple[int, int]
    points_world: np.ndarray  # (23, 3) mm (before any camera pitch of ``PoseVariety``)
    points_cam: np.ndarray  # (23, 3) mm (the rendered and labelled points)
    body: BodyParams
    style: BodyStyle
    in_view: int  # number of the 18 joints inside the image


@dataclass(frozen=True)
class PoseVariety:
    """Pose and viewpoint variety beyond the clips, for on-the-fly training samples.

    Attributes:
        mirror_prob: probability of mirroring the clip frame (world x → −x with left and right swapped: a
            plausible motion the clip does not contain).
        pitch_deg: the camera is pitched by U(−pitch_deg, pitch_deg) about its own x axis (the subject is seen
            from higher or lower than the Human3.6M cameras do; its yaw around the subject is already uniform).
        scale_range: global body scale range.
        bone_jitter: per-bone-group length factors in ``1 ± bone_jitter``.
        limb_jitter: a further independent factor in ``1 ± limb_jitter`` for each of the eight limb segments
            (left and right upper arm, forearm, thigh, shin), applied by moving the segment's distal joints.
    """

    mirror_prob: float = 0.5
    pitch_deg: float = 20.0
    scale_range: tuple[float, float] = (0.85, 1.15)
    bone_jitter: float = 0.08
    limb_jitter: float = 0.06

    def __post_init__(self) -> None:
        if not 0.0 <= self.mirror_prob <= 1.0:
            raise ValueError(f"mirror_prob: expected a probability in [0, 1], got {self.mirror_prob}")
        if not 0.0 <= self.pitch_deg < 60.0:
            raise ValueError(f"pitch_deg: expected degrees in [0, 60), got {self.pitch_deg}")
        lo, hi = self.scale_range
        if not 0.0 < lo <= hi:
            raise ValueError(f"scale_range: expected 0 < low <= high, got {self.scale_range}")
        for name in ("bone_jitter", "limb_jitter"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{name}: expected a fraction in [0, 0.5), got {getattr(self, name)}")


# body point → its mirror image (left ↔ right), for the 23 :data:`BODY_POINTS`
_MIRROR = np.array([_P[n.replace("l_", "#").replace("r_", "l_").replace("#", "r_")] for n in BODY_POINTS])
# limb segments (proximal, distal, points that move with the distal end) for the per-limb length jitter
_LIMBS: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    seg
    for s in ("l", "r")
    for seg in (
        (f"{s}_shoulder", f"{s}_elbow", (f"{s}_elbow", f"{s}_wrist", f"{s}_hand")),
        (f"{s}_elbow", f"{s}_wrist", (f"{s}_wrist", f"{s}_hand")),
        (f"{s}_hip", f"{s}_knee", (f"{s}_knee", f"{s}_ankle", f"{s}_toe")),
        (f"{s}_knee", f"{s}_ankle", (f"{s}_ankle", f"{s}_toe")),
    )
)


def mirror_points(points: np.ndarray) -> np.ndarray:
    """(23, 3) z-up world body points → the mirrored body (x → −x, left and right points swapped)."""
    return points[_MIRROR] * np.array([-1.0, 1.0, 1.0])


def jitter_limbs(points: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Scale the eight limb segments of (23, 3) body points by ``factors`` (8,), moving the distal joints.

    Segments are processed proximal first, so a longer upper arm carries the forearm and hand with it.
    """
    out = np.array(points, dtype=np.float64, copy=True)
    for (a, b, moved), f in zip(_LIMBS, factors):
        delta = (f - 1.0) * (out[_P[b]] - out[_P[a]])
        for name in moved:
            out[_P[name]] += delta
    return out


def pitch_rotation(deg: float) -> np.ndarray:
    """(3, 3) rotation of camera-frame points about the camera's x axis by ``deg`` (a camera pitch of −deg)."""
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def sample_scene(
    rng: np.random.Generator,
    clips: list[Clip],
    cameras: list[tuple[str, Camera]],
    size: int | None,
    distance_mm: tuple[float, float] = (3000.0, 6000.0),
    min_in_view: int = 16,
    tries: int = 30,
    variety: PoseVariety | None = None,
) -> Scene:
    """Pick a clip frame, a body shape, a camera and a placement 3–6 m in front of it.

    The person stands on the floor (world z = 0) at a horizontal distance in ``distance_mm`` along the camera's
    horizontal viewing direction, shifted sideways within the field of view, with a random yaw. Placements are
    re-drawn (at most ``tries`` times) until at least ``min_in_view`` of the 18 joints project inside the image
    and the pelvis does; the last draw is kept otherwise (some truncation is realistic).

    Args:
        rng: the sample's generator.
        clips: candidate motions (uniform choice, then a uniform frame).
        cameras: candidate ``(key, native camera)`` pairs.
        size: output width in px, or ``None`` for the native resolution.
        distance_mm: horizontal distance range from the camera, mm.
        min_in_view: joints that must be inside the image.
        tries: placement attempts.
        variety: extra pose/viewpoint variety (mirroring, camera pitch, wider shape ranges); ``None`` keeps the
            fixed files' distribution (and their random draws) unchanged. With a pitch, the body is rotated about
            the camera centre after placement (the image need not contain it: on-the-fly samples render only the
            window around the person).
    """
    clip = clips[int(rng.integers(len(clips)))]
    frame = int(rng.integers(clip.num_frames))
    if variety is None:
        body = sample_body_params(rng)
    else:
        body = sample_body_params(rng, variety.scale_range, variety.bone_jitter)
    pts = pose_world_mm(clip.rig, [frame], body)[0]
    pitch = None
    if variety is not None:
        if rng.random() < variety.mirror_prob:
            pts = mirror_points(pts)
        pts = jitter_limbs(pts, rng.uniform(1 - variety.limb_jitter, 1 + variety.limb_jitter, size=len(_LIMBS)))
        pitch = pitch_rotation(float(rng.uniform(-variety.pitch_deg, variety.pitch_deg)))
    key, native = cameras[int(rng.integers(len(cameras)))]
    cam, (w, h) = scaled_camera(native, size)
    style = sample_style(rng)
    fwd = cam.R[:, 2].copy()
    fwd[2] = 0.0
    fwd = _unit(fwd, np.array([1.0, 0.0, 0.0]))
    right = np.array([-fwd[1], fwd[0], 0.0])
    if float(cam.R[:, 0] @ right) < 0:
        right = -right
    pelvis = _P["pelvis"]
    centred = pts - np.array([pts[pelvis, 0], pts[pelvis, 1], 0.0])
    best = None
    for _ in range(tries):
        yaw = rng.uniform(0.0, 2 * np.pi)
        cz, sz = np.cos(yaw), np.sin(yaw)
        rot = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
        dist = rng.uniform(*distance_mm)
        lateral = rng.uniform(-0.33, 0.33) * dist
        ground = cam.T + dist * fwd + lateral * right
        world = centred @ rot.T + np.array([ground[0], ground[1], 0.0])
        pc = cam.world_to_camera(world)
        if (pc[:, 2] < 500.0).any():
            continue
        uv = cam.project(pc[:18])
        inside = (uv[:, 0] >= 0) & (uv[:, 0] <= w - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= h - 1)
        n_in = int(inside.sum())
        best = (world, pc, n_in)
        if n_in >= min_in_view and inside[pelvis]:
            break
    if best is None:
        raise ValueError(f"sample_scene: could not place clip {clip.name!r} in front of camera {key!r}")
    world, pc, n_in = best
    if pitch is not None:
        pc = pc @ pitch.T
    return Scene(clip=clip, frame=frame, camera_key=key, camera=cam, size=(w, h), points_world=world,
                 points_cam=pc, body=body, style=style, in_view=n_in)  # fmt: skip

"""Pinhole cameras with Human3.6M distortion, world ↔ camera transforms and the root-translation solve.

Conventions (the ``_format`` block of the shipped ``h36m_cameras.json``):

* World → camera: ``X_cam = Rᵀ · (X_world − T)`` for column vectors, i.e. ``X_cam_row = (X_row − T) @ R``.
  ``R``'s columns are the camera axes expressed in the world, ``T`` is the camera centre in the world.
  Here ``T`` is in **millimetres** (the JSON stores metres; :meth:`Camera.from_h36m_json` converts).
* Camera frame: x right, y down, z forward (depth), millimetres.
* Projection (Human3.6M / 3d-pose-baseline model, *not* OpenCV's tangential model)::

      x = X[:2] / Z;  r2 = |x|²;  radial = 1 + k1·r2 + k2·r2² + k3·r2³
      tan = p1·x[1] + p2·x[0];  x_d = x·(radial + tan) + r2·[p2, p1];  u = f·x_d + c

  With ``p = (0, 0)`` this equals OpenCV's model with coefficients ``(k1, k2, 0, 0, k3)``.
* Pixels: pixel ``i`` has coordinate ``i`` (no half-pixel offset), the same as :mod:`.affine`.

All functions take NumPy arrays (or anything ``np.asarray`` accepts), compute in float64 and return float64.

Example:
    >>> import numpy as np
    >>> cam = Camera(f=(1000.0, 1000.0), c=(500.0, 500.0))
    >>> cam.project(np.array([100.0, -50.0, 5000.0])).tolist()
    [520.0, 490.0]
    >>> cam.backproject(np.array([520.0, 490.0]), 5000.0).tolist()
    [100.0, -50.0, 5000.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "Camera",
    "solve_root_translation",
]

_ArrayLike = Sequence[float] | np.ndarray


def _vec(x: _ArrayLike | float, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} numbers, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: expected finite values, got {arr.tolist()}")
    return arr


def _points(x: Any, last: int, name: str) -> np.ndarray:
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{name}: expected a numeric array of shape (..., {last}), got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim < 1 or arr.shape[-1] != last:
        raise ValueError(f"{name}: expected shape (..., {last}), got {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name}: expected no NaN values, got {int(np.isnan(arr).sum())} NaN entries")
    return arr


class Camera:
    """A calibrated camera: intrinsics, Human3.6M distortion and the world ↔ camera transform.

    Args:
        f: focal lengths (fx, fy) in px, both > 0.
        c: principal point (cx, cy) in px.
        k: radial distortion (k1, k2, k3).
        p: tangential distortion (p1, p2) in Human3.6M order (see module docstring).
        R: (3, 3) rotation whose columns are the camera axes in world coordinates; identity when ``None``.
        T: (3,) camera centre in world coordinates, mm; zero when ``None``.
        camera_id: identifier (e.g. ``"54138969"``); empty when unknown.
        resolution: image (width, height) in px, or ``None`` when unknown.
        name: human-readable name (e.g. ``"camera1"``).

    Raises:
        ValueError: non-positive or non-finite focal length, wrong shapes, non-finite values, or an ``R`` that
            is not a rotation (orthonormal with determinant +1, tolerance 1e-4).
    """

    def __init__(
        self,
        f: _ArrayLike,
        c: _ArrayLike,
        k: _ArrayLike = (0.0, 0.0, 0.0),
        p: _ArrayLike = (0.0, 0.0),
        R: _ArrayLike | None = None,
        T: _ArrayLike | None = None,
        *,
        camera_id: str = "",
        resolution: tuple[int, int] | None = None,
        name: str = "",
    ) -> None:
        self.f = _vec(f, 2, "f")
        if (self.f <= 0).any():
            raise ValueError(f"f: expected focal lengths > 0 px, got {self.f.tolist()}")
        self.c = _vec(c, 2, "c")
        self.k = _vec(k, 3, "k")
        self.p = _vec(p, 2, "p")
        if R is None:
            self.R = np.eye(3)
        else:
            Rm = np.asarray(R, dtype=np.float64)
            if Rm.shape != (3, 3):
                raise ValueError(f"R: expected shape (3, 3), got {Rm.shape}")
            if not np.isfinite(Rm).all():
                raise ValueError("R: expected finite values, got NaN/inf")
            err = float(np.abs(Rm.T @ Rm - np.eye(3)).max())
            det = float(np.linalg.det(Rm))
            if err > 1e-4 or abs(det - 1.0) > 1e-4:
                raise ValueError(
                    f"R: expected a rotation matrix (RᵀR = I, det = +1), got max|RᵀR − I| = {err:.3g}, det = {det:.6g}"
                )
            self.R = Rm
        self.T = np.zeros(3) if T is None else _vec(T, 3, "T")
        if not isinstance(camera_id, str):
            raise TypeError(f"camera_id: expected str, got {type(camera_id).__name__}")
        self.camera_id = camera_id
        if resolution is not None:
            res = tuple(int(v) for v in resolution)
            if len(res) != 2 or min(res) <= 0:
                raise ValueError(f"resolution: expected (width, height) > 0 px, got {resolution}")
            self.resolution: tuple[int, int] | None = (res[0], res[1])
        else:
            self.resolution = None
        self.name = name

    def __repr__(self) -> str:
        ident = f"id={self.camera_id!r}, " if self.camera_id else ""
        return f"Camera({ident}f={self.f.tolist()}, c={self.c.tolist()}, resolution={self.resolution})"

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_K(
        cls,
        K: _ArrayLike,
        k: _ArrayLike = (0.0, 0.0, 0.0),
        p: _ArrayLike = (0.0, 0.0),
        R: _ArrayLike | None = None,
        T: _ArrayLike | None = None,
        **kwargs: Any,
    ) -> Camera:
        """Build from a 3×3 intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (skew must be 0)."""
        Km = np.asarray(K, dtype=np.float64)
        if Km.shape != (3, 3):
            raise ValueError(f"K: expected shape (3, 3), got {Km.shape}")
        if abs(Km[0, 1]) > 1e-9 or np.abs(Km[2] - [0.0, 0.0, 1.0]).max() > 1e-9 or abs(Km[1, 0]) > 1e-9:
            raise ValueError(f"K: expected [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got {Km.tolist()}")
        return cls(f=(Km[0, 0], Km[1, 1]), c=(Km[0, 2], Km[1, 2]), k=k, p=p, R=R, T=T, **kwargs)

    @classmethod
    def from_fov(cls, fov_deg: float, image_size: tuple[int, int], axis: str = "horizontal", **kwargs: Any) -> Camera:
        """A distortion-free camera from a field of view and an image size.

        Args:
            fov_deg: full field of view in degrees along ``axis``, in (0, 180).
            image_size: (width, height) in px.
            axis: ``"horizontal"`` (fov spans the width) or ``"vertical"`` (spans the height).
            **kwargs: passed to :class:`Camera` (``R``, ``T``, ``camera_id``, ``name``).

        Returns:
            A camera with square pixels (fx = fy = (extent / 2) / tan(fov / 2)), principal point at the image centre
            ((W − 1) / 2, (H − 1) / 2) and ``resolution = image_size``.
        """
        if not (isinstance(fov_deg, int | float) and math.isfinite(fov_deg) and 0.0 < fov_deg < 180.0):
            raise ValueError(f"fov_deg: expected a value in (0, 180) degrees, got {fov_deg!r}")
        size = np.asarray(image_size, dtype=np.float64)
        if size.shape != (2,) or not np.isfinite(size).all() or (size <= 0).any():
            raise ValueError(f"image_size: expected (width, height) > 0 px, got {image_size!r}")
        if axis not in ("horizontal", "vertical"):
            raise ValueError(f"axis: expected 'horizontal' or 'vertical', got {axis!r}")
        extent = size[0] if axis == "horizontal" else size[1]
        focal = 0.5 * extent / math.tan(math.radians(fov_deg) / 2.0)
        res = (int(np.rint(size[0])), int(np.rint(size[1])))
        return cls(f=(focal, focal), c=((size[0] - 1) / 2, (size[1] - 1) / 2), resolution=res, **kwargs)

    @classmethod
    def from_h36m_json(cls, entry: dict[str, Any]) -> Camera:
        """Build from one camera entry of ``h36m_cameras.json`` (``T`` in metres there, converted to mm)."""
        if not isinstance(entry, dict):
            raise TypeError(f"entry: expected a dict, got {type(entry).__name__}")
        missing = [key for key in ("f", "c", "k", "p", "R", "T") if key not in entry]
        if missing:
            raise ValueError(f"entry: missing key(s) {missing}; expected f, c, k, p, R, T (got {sorted(entry)})")
        res = None
        if "res_w" in entry and "res_h" in entry:
            res = (int(entry["res_w"]), int(entry["res_h"]))
        return cls(
            f=entry["f"],
            c=entry["c"],
            k=entry["k"],
            p=entry["p"],
            R=entry["R"],
            T=np.asarray(entry["T"], dtype=np.float64) * 1000.0,
            camera_id=str(entry.get("id", "")),
            resolution=res,
            name=str(entry.get("name", "")),
        )

    # ------------------------------------------------------------------ matrices
    @property
    def K(self) -> np.ndarray:
        """(3, 3) intrinsic matrix."""
        return np.array([[self.f[0], 0.0, self.c[0]], [0.0, self.f[1], self.c[1]], [0.0, 0.0, 1.0]])

    @property
    def has_distortion(self) -> bool:
        """Whether any distortion coefficient is non-zero."""
        return bool(np.any(self.k != 0) or np.any(self.p != 0))

    # ------------------------------------------------------------------ frames
    def world_to_camera(self, points_world_mm: np.ndarray) -> np.ndarray:
        """World points (..., 3) mm → camera frame (..., 3) mm: ``(X − T) @ R``."""
        pts = _points(points_world_mm, 3, "points_world_mm")
        return (pts - self.T) @ self.R

    def camera_to_world(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) mm → world (..., 3) mm: ``X @ Rᵀ + T``."""
        pts = _points(points_cam_mm, 3, "points_cam_mm")
        return pts @ self.R.T + self.T

    # ------------------------------------------------------------------ distortion
    def distort_normalized(self, xy: np.ndarray) -> np.ndarray:
        """Apply the Human3.6M distortion to normalised image coordinates (..., 2) (``X/Z, Y/Z``)."""
        xy = _points(xy, 2, "xy")
        return self._distort(xy)

    def _distort(self, xy: np.ndarray) -> np.ndarray:
        k1, k2, k3 = self.k
        p1, p2 = self.p
        r2 = (xy * xy).sum(axis=-1, keepdims=True)
        radial = 1.0 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        tan = p1 * xy[..., 1:2] + p2 * xy[..., 0:1]
        return xy * (radial + tan) + r2 * np.array([p2, p1])

    def undistort_normalized(self, xy_d: np.ndarray, iterations: int = 30) -> np.ndarray:
        """Invert :meth:`distort_normalized` (..., 2) by Newton iterations (exact to ~1e-12 for real lenses).

        Raises:
            ValueError: when the iteration does not converge to 1e-9 (distortion not invertible there).
        """
        xy_d = _points(xy_d, 2, "xy_d")
        if not self.has_distortion:
            return xy_d.copy()
        xy = xy_d.copy()
        eps = 1e-7
        ex, ey = np.array([eps, 0.0]), np.array([0.0, eps])
        for _ in range(iterations):
            res = self._distort(xy) - xy_d
            if np.abs(res).max(initial=0.0) < 1e-13:
                break
            # 2×2 Jacobian by central differences, solved in closed form per point
            jx = (self._distort(xy + ex) - self._distort(xy - ex)) / (2 * eps)
            jy = (self._distort(xy + ey) - self._distort(xy - ey)) / (2 * eps)
            a, b, c, d = jx[..., 0], jy[..., 0], jx[..., 1], jy[..., 1]
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            xy = xy - np.stack(
                [(d * res[..., 0] - b * res[..., 1]) / det, (a * res[..., 1] - c * res[..., 0]) / det], -1
            )
        final = np.abs(self._distort(xy) - xy_d).max(initial=0.0)
        if not final < 1e-9:
            raise ValueError(
                f"xy_d: undistortion did not converge (residual {final:.3g}); points outside the lens model"
            )
        return xy

    # ------------------------------------------------------------------ projection
    def project(self, points_cam_mm: np.ndarray, distort: bool = True) -> np.ndarray:
        """Project camera-frame points (..., 3) mm to pixels (..., 2).

        Args:
            points_cam_mm: points in the camera frame, mm; depth ``Z`` must be > 0 to be meaningful.
            distort: apply the lens distortion (ignored when all coefficients are zero).

        Returns:
            (..., 2) float64 pixel coordinates ``(u, v)``; NaN for points with ``Z <= 0`` (at or behind the camera).
        """
        pts = _points(points_cam_mm, 3, "points_cam_mm")
        z = pts[..., 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            xy = np.where(z > 0, pts[..., :2] / np.where(z > 0, z, 1.0), np.nan)
        if distort and self.has_distortion:
            xy = self._distort(xy)
        return xy * self.f + self.c

    def project_world(self, points_world_mm: np.ndarray, distort: bool = True) -> np.ndarray:
        """World points (..., 3) mm → pixels (..., 2): :meth:`world_to_camera` then :meth:`project`."""
        return self.project(self.world_to_camera(points_world_mm), distort=distort)

    def backproject(self, uv: np.ndarray, depth_mm: np.ndarray | float, distorted: bool = False) -> np.ndarray:
        """Lift pixels (..., 2) at depths (...) mm to camera-frame points (..., 3) mm.

        Args:
            uv: pixel coordinates (..., 2).
            depth_mm: depth ``Z`` per point, broadcastable to ``uv.shape[:-1]``.
            distorted: ``uv`` came from a distorting projection; undistort before lifting. The default (False)
                treats ``uv`` as pinhole coordinates, as the original evaluation does.

        Returns:
            (..., 3) float64 ``(X, Y, Z)`` with ``X = (u − cx) / fx · Z`` (after undistortion when requested).
        """
        uv = _points(uv, 2, "uv")
        depth = np.asarray(depth_mm, dtype=np.float64)
        if np.isnan(depth).any():
            raise ValueError("depth_mm: expected no NaN values")
        try:
            depth = np.broadcast_to(depth, uv.shape[:-1])
        except ValueError:
            raise ValueError(
                f"depth_mm: expected a shape broadcastable to {uv.shape[:-1]}, got {depth.shape}"
            ) from None
        xy = (uv - self.c) / self.f
        if distorted and self.has_distortion:
            xy = self.undistort_normalized(xy)
        return np.concatenate([xy * depth[..., None], depth[..., None]], axis=-1)


def _weak_perspective_guess(uv: np.ndarray, X: np.ndarray, w: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Translation (N, 3) from a weak-perspective fit: scale from the 2D/3D spreads, depth = f / scale."""
    wsum = w.sum(-1, keepdims=True)  # (N, 1)
    wn = w / np.where(wsum > 0, wsum, 1.0)
    mu2 = (wn[..., None] * uv).sum(-2)  # (N, 2)
    mu3 = (wn[..., None] * X).sum(-2)  # (N, 3)
    spread2 = (wn * ((uv - mu2[:, None]) ** 2).sum(-1)).sum(-1)
    spread3 = (wn * ((X[..., :2] - mu3[:, None, :2]) ** 2).sum(-1)).sum(-1)
    fm = np.sqrt(f[:, 0] * f[:, 1])  # (N,)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(spread2 / spread3)  # px per mm at the mean depth
        tz = fm / scale - mu3[:, 2]
        txy = (mu2 - c) / f * (tz + mu3[:, 2])[:, None] - mu3[:, :2]
    return np.concatenate([txy, tz[:, None]], axis=-1)


def solve_root_translation(
    joints_2d: np.ndarray,
    joints_3d_rel: np.ndarray,
    K: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The camera-frame translation that makes a root-relative metric pose project onto given 2D joints.

    Solves ``min_t Σ_j w_j ‖π(X_j + t) − u_j‖²`` approximately: a weak-perspective fit gives an initial depth,
    then the full-perspective equations ``fx·(X + tx) − (u − cx)·(Z + tz) = 0`` (and likewise for y), which are
    linear in ``t``, are solved by weighted least squares with each row divided by the current depth estimate
    (so residuals are close to pixel errors); this is repeated twice. On noise-free data the solution is exact.

    Args:
        joints_2d: (N, J, 2) or (J, 2) pixel coordinates (undistorted).
        joints_3d_rel: (N, J, 3) or (J, 3) camera-frame pose relative to any origin (e.g. the root), mm.
        K: (3, 3) intrinsics, or (N, 3, 3) per frame.
        weights: (N, J) or (J,) non-negative joint weights (e.g. visibility); all ones when ``None``.

    Returns:
        (N, 3) (or (3,) for unbatched input) translation in mm such that ``joints_3d_rel + t`` is the absolute
        camera-frame pose. Frames with fewer than two joints of positive weight get NaN.
    """
    uv = _points(joints_2d, 2, "joints_2d")
    X = _points(joints_3d_rel, 3, "joints_3d_rel")
    single = uv.ndim == 2
    if uv.ndim not in (2, 3):
        raise ValueError(f"joints_2d: expected shape (N, J, 2) or (J, 2), got {uv.shape}")
    if X.shape[:-1] != uv.shape[:-1]:
        raise ValueError(f"joints_3d_rel: expected shape {(*uv.shape[:-1], 3)} to match joints_2d, got {X.shape}")
    if single:
        uv, X = uv[None], X[None]
    n, j = uv.shape[:2]
    Km = np.asarray(K, dtype=np.float64)
    if Km.shape == (3, 3):
        Km = np.broadcast_to(Km, (n, 3, 3))
    if Km.shape != (n, 3, 3):
        raise ValueError(f"K: expected shape (3, 3) or ({n}, 3, 3), got {np.asarray(K).shape}")
    if not np.isfinite(Km).all():
        raise ValueError("K: expected finite values")
    f = np.stack([Km[:, 0, 0], Km[:, 1, 1]], -1)  # (N, 2)
    c = np.stack([Km[:, 0, 2], Km[:, 1, 2]], -1)
    if (f <= 0).any():
        raise ValueError(f"K: expected focal lengths > 0 px, got min {float(f.min())}")
    if weights is None:
        w = np.ones((n, j))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if single:
            w = w[None]
        if w.shape != (n, j):
            raise ValueError(
                f"weights: expected shape {(n, j) if not single else (j,)}, got {np.asarray(weights).shape}"
            )
        if np.isnan(w).any() or (w < 0).any():
            raise ValueError("weights: expected finite non-negative values")
    if not (np.isfinite(uv).all() and np.isfinite(X).all()):
        raise ValueError("joints_2d/joints_3d_rel: expected finite values")
    ok = (w > 0).sum(-1) >= 2
    # the equations only need joints with positive weight; zero-weight joints contribute nothing
    fpos = np.where(ok[:, None], 1.0, 0.0)
    t = np.zeros((n, 3))
    if ok.any():
        uvo, Xo, wo, fo, co = uv[ok], X[ok], w[ok], f[ok], c[ok]
        tz_guess = _weak_perspective_guess(uvo, Xo, wo, fo, co)[:, 2]
        d = uvo - co[:, None]  # (M, J, 2) centred pixels
        for _ in range(2):
            depth = Xo[..., 2] + tz_guess[:, None]  # (M, J)
            depth = np.where(np.isfinite(depth) & (np.abs(depth) > 1e-6), np.abs(depth), 1.0)
            sw = np.sqrt(wo) / depth  # row scale
            # rows for x: [fx, 0, -du] · t = du·Z − fx·X ; rows for y: [0, fy, -dv] · t = dv·Z − fy·Y
            m = Xo.shape[0]
            A = np.zeros((m, j, 2, 3))
            A[..., 0, 0] = fo[:, None, 0]
            A[..., 1, 1] = fo[:, None, 1]
            A[..., 0, 2] = -d[..., 0]
            A[..., 1, 2] = -d[..., 1]
            b = d * Xo[..., 2:3] - fo[:, None] * Xo[..., :2]  # (M, J, 2)
            A = A * sw[..., None, None]
            b = b * sw[..., None]
            A = A.reshape(m, 2 * j, 3)
            b = b.reshape(m, 2 * j)
            AtA = np.einsum("mri,mrk->mik", A, A)
            Atb = np.einsum("mri,mr->mi", A, b)
            try:
                tz_sol = np.linalg.solve(AtA, Atb[..., None])[..., 0]
            except np.linalg.LinAlgError:  # degenerate pose (e.g. all joints coincide): minimum-norm solution
                tz_sol = (np.linalg.pinv(AtA) @ Atb[..., None])[..., 0]
            tz_guess = tz_sol[:, 2]
        t[ok] = tz_sol
    t = np.where(fpos > 0, t, np.nan)
    return t[0] if single else t

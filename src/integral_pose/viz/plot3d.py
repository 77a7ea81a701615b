"""3D skeleton plots with matplotlib (the ``viz`` extra), equal axis scaling, millimetres.

Camera-frame poses (x right, y down, z forward, mm) are shown upright: the plot's horizontal axes are the camera
x and the depth z, its vertical axis is −y (up). All three axes get the same scale, so limb lengths look right.
matplotlib is imported only when a function here is called, and no pyplot/GUI backend is used (an Agg canvas
renders images), so plotting works headless and in threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from integral_pose.viz.draw2d import CENTER_RGB, LEFT_RGB, RIGHT_RGB, bone_side, joint_side

__all__ = ["equal_axis_limits", "plot_poses_3d", "render_poses_3d", "to_plot_axes"]

_SIDE_RGB = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}


def _require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "3D plots need matplotlib: install the 'viz' extra (pip install 'integral-pose[viz]')"
        ) from None
    return matplotlib


def to_plot_axes(points_cam_mm: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) (x right, y down, z forward) → plot axes (..., 3) = (x, z, −y)."""
    p = np.asarray(points_cam_mm, dtype=np.float64)
    if p.shape[-1:] != (3,):
        raise ValueError(f"points_cam_mm: expected shape (..., 3), got {p.shape}")
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def equal_axis_limits(points: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Limits (3, 2) giving every axis the same range, centred on the finite ``points`` (..., 3).

    The common half-range is half the largest extent times ``1 + margin`` (at least 100 mm so a single point
    still gets a readable plot).
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    p = p[np.isfinite(p).all(axis=1)]
    if p.shape[0] == 0:
        return np.array([[-1000.0, 1000.0]] * 3)
    lo, hi = p.min(axis=0), p.max(axis=0)
    centre = 0.5 * (lo + hi)
    half = max(0.5 * float((hi - lo).max()) * (1.0 + margin), 100.0)
    return np.stack([centre - half, centre + half], axis=1)


def plot_poses_3d(
    keypoints_3d: np.ndarray,
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    ax: Any = None,
    title: str = "",
    elev: float = 12.0,
    azim: float = -75.0,
    size_px: tuple[int, int] = (480, 480),
    legend: bool = True,
) -> Any:
    """Draw (N, J, 3) or (J, 3) camera-frame poses (mm) as 3D skeletons.

    Args:
        keypoints_3d: poses in mm; NaN joints are skipped.
        edges: bones as (a, b) joint index pairs.
        joint_names: J names (``l_``/``r_`` prefixes choose the colours).
        ax: an existing 3D axes to draw into; a new figure (no pyplot) is made when ``None``.
        title: axes title.
        elev, azim: view angles in degrees.
        size_px: figure size in pixels at 100 dpi when a new figure is made.
        legend: add a key of the side colours (the person's left / right, centre) present in the skeleton.

    Returns:
        The matplotlib ``Figure``.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    kp = np.asarray(keypoints_3d, dtype=np.float64)
    if kp.ndim == 2:
        kp = kp[None]
    j = len(joint_names)
    if kp.ndim != 3 or kp.shape[1:] != (j, 3):
        raise ValueError(f"keypoints_3d: expected shape (N, {j}, 3), got {np.shape(keypoints_3d)}")
    if ax is None:
        fig = Figure(figsize=(size_px[0] / 100.0, size_px[1] / 100.0), dpi=100)
        fig.subplots_adjust(left=0.0, right=0.95, bottom=0.02, top=0.95)
        ax = fig.add_subplot(projection="3d")
    else:
        fig = ax.get_figure()
    pts = to_plot_axes(kp)
    sides = [joint_side(n) for n in joint_names]
    for person in pts:
        for a, b in edges:
            seg = person[[a, b]]
            if np.isfinite(seg).all():
                rgb = np.asarray(_SIDE_RGB[bone_side(sides[a], sides[b])]) / 255.0
                ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=rgb, linewidth=2.0)
        ok = np.isfinite(person).all(axis=1)
        colours = np.asarray([_SIDE_RGB[s] for s in sides], dtype=np.float64)[ok] / 255.0
        ax.scatter(person[ok, 0], person[ok, 1], person[ok, 2], c=colours, s=10, depthshade=False)
    lim = equal_axis_limits(pts)
    ax.set_xlim(*lim[0])
    ax.set_ylim(*lim[1])
    ax.set_zlim(*lim[2])
    ax.set_box_aspect((1.0, 1.0, 1.0))
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
        axis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=7)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("z depth (mm)")
    ax.set_zlabel("-y up (mm)")
    ax.view_init(elev=elev, azim=azim)
    if title:
        ax.set_title(title)
    if legend:
        _side_legend(ax, sides)
    return fig


_SIDE_LABEL = {"left": "person's left", "right": "person's right", "center": "centre"}


def _side_legend(ax: Any, sides: Sequence[str]) -> None:
    """A small key of the side colours present in ``sides`` (left, right, centre order)."""
    from matplotlib.lines import Line2D

    present = [s for s in ("left", "right", "center") if s in set(sides)]
    handles = [Line2D([], [], color=np.asarray(_SIDE_RGB[s]) / 255.0, linewidth=2.0, label=_SIDE_LABEL[s])
               for s in present]  # fmt: skip
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize=7, frameon=False)


def render_poses_3d(
    keypoints_3d: np.ndarray,
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    size_px: tuple[int, int] = (480, 480),
    title: str = "",
    **kwargs: Any,
) -> np.ndarray:
    """:func:`plot_poses_3d` rendered off-screen to an (H, W, 3) uint8 RGB image of ``size_px`` = (W, H)."""
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_poses_3d(keypoints_3d, edges, joint_names, title=title, size_px=size_px, **kwargs)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])

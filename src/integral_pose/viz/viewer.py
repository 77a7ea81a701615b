"""A self-contained HTML 3D viewer (plotly, the ``viz`` extra) with a frame slider.

The file embeds plotly's offline JavaScript bundle, so it opens without a network connection. Each frame shows the
3D skeletons of all people in that frame (camera frame, mm, drawn upright as x, depth z, −y like
:mod:`integral_pose.viz.plot3d`); a slider and play/pause buttons step through the frames. Axis ranges are fixed
over all frames and equal on all three axes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.fileio import atomic_write_bytes
from integral_pose.viz.draw2d import CENTER_RGB, LEFT_RGB, RIGHT_RGB, bone_side, joint_side
from integral_pose.viz.plot3d import equal_axis_limits, to_plot_axes

__all__ = ["viewer_figure", "write_viewer_html"]

_SIDES = ("left", "right", "center")

# Layout in paper fractions (0 = bottom/left of the plot area, 1 = top/right). The slider and the play/pause
# buttons sit in a band below the 3D scene, so neither the slider labels nor the axis titles are drawn over; the
# slider ends short of the right edge so that the last frame's label, centred on its tick, fits.
SCENE_BOTTOM = 0.2
"""Bottom of the 3D scene's domain; the controls live below it."""
SLIDER_X = 0.18
"""Left end of the slider (the play/pause buttons are to its left)."""
SLIDER_LEN = 0.74
"""Slider length; ``SLIDER_X + SLIDER_LEN`` leaves room for half of the last label."""
CONTROLS_Y = 0.16
"""Top of the slider and the buttons."""
MARGIN_PX = {"l": 30, "r": 30, "t": 50, "b": 30}
"""Figure margins in px (the title needs the top one; the slider labels the bottom one)."""
_SIDE_RGB = {"left": LEFT_RGB, "right": RIGHT_RGB, "center": CENTER_RGB}


def _require_plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "the HTML viewer needs plotly: install the 'viz' extra (pip install 'integral-pose[viz]')"
        ) from None
    return go


def _frame_traces(go: Any, poses: np.ndarray, edges: Sequence[tuple[int, int]], sides: list[str]) -> list[Any]:
    """Four traces for one frame: bones per side (left, right, centre) and all joints; (N, J, 3) plot-axis points."""
    traces = []
    for side in _SIDES:
        xs: list[float | None] = []
        ys: list[float | None] = []
        zs: list[float | None] = []
        for person in poses:
            for a, b in edges:
                if bone_side(sides[a], sides[b]) != side or not np.isfinite(person[[a, b]]).all():
                    continue
                xs += [float(person[a, 0]), float(person[b, 0]), None]
                ys += [float(person[a, 1]), float(person[b, 1]), None]
                zs += [float(person[a, 2]), float(person[b, 2]), None]
        r, g, b_ = _SIDE_RGB[side]
        traces.append(
            go.Scatter3d(
                x=xs, y=ys, z=zs, mode="lines", name=f"{side} bones", line={"color": f"rgb({r},{g},{b_})", "width": 6}
            )
        )
    flat = poses.reshape(-1, 3) if poses.size else np.zeros((0, 3))
    ok = np.isfinite(flat).all(axis=1)
    colours = [f"rgb{_SIDE_RGB[sides[i % len(sides)]]}" for i in range(flat.shape[0])]
    traces.append(
        go.Scatter3d(
            x=flat[ok, 0].tolist(),
            y=flat[ok, 1].tolist(),
            z=flat[ok, 2].tolist(),
            mode="markers",
            name="joints",
            marker={"size": 3, "color": [c for c, k in zip(colours, ok) if k]},
        )
    )
    return traces


def viewer_figure(
    poses: Sequence[np.ndarray],
    joint_names: Sequence[str],
    edges: Sequence[tuple[int, int]],
    frame_names: Sequence[str] | None = None,
    title: str = "integral-pose 3D viewer",
) -> Any:
    """The plotly ``Figure`` of :func:`write_viewer_html` (see there for the arguments)."""
    go = _require_plotly()
    j = len(joint_names)
    frames_pts = []
    for t, p in enumerate(poses):
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.size == 0:
            arr = np.zeros((0, j, 3))
        if arr.ndim != 3 or arr.shape[1:] != (j, 3):
            raise ValueError(f"poses[{t}]: expected shape (N, {j}, 3) mm, got {np.shape(p)}")
        frames_pts.append(to_plot_axes(arr))
    if not frames_pts:
        raise ValueError("poses: expected at least one frame, got none")
    names = [str(i) for i in range(len(frames_pts))] if frame_names is None else [str(n) for n in frame_names]
    if len(names) != len(frames_pts):
        raise ValueError(f"frame_names: expected {len(frames_pts)} names (one per frame), got {len(names)}")
    sides = [joint_side(n) for n in joint_names]
    all_pts = np.concatenate([f.reshape(-1, 3) for f in frames_pts], axis=0)
    lim = equal_axis_limits(all_pts)
    fig = go.Figure(data=_frame_traces(go, frames_pts[0], edges, sides))
    if len(frames_pts) > 1:
        fig.frames = [
            go.Frame(data=_frame_traces(go, f, edges, sides), name=name) for f, name in zip(frames_pts, names)
        ]
        steps = [
            {
                "method": "animate",
                "label": name,
                "args": [[name], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}],
            }
            for name in names
        ]
        fig.update_layout(
            sliders=[
                {
                    "active": 0,
                    "steps": steps,
                    "x": SLIDER_X,
                    "len": SLIDER_LEN,
                    "y": CONTROLS_Y,
                    "yanchor": "top",
                    "currentvalue": {"prefix": "frame: "},
                    "pad": {"t": 10, "b": 10},
                }
            ],
            updatemenus=[
                {
                    "type": "buttons",
                    "showactive": False,
                    "direction": "left",
                    "x": 0.0,
                    "xanchor": "left",
                    "y": CONTROLS_Y,
                    "yanchor": "top",
                    "pad": {"t": 40},
                    "buttons": [
                        {
                            "label": "play",
                            "method": "animate",
                            "args": [None, {"frame": {"duration": 40, "redraw": True}, "fromcurrent": True}],
                        },
                        {
                            "label": "pause",
                            "method": "animate",
                            "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}}],
                        },
                    ],
                }
            ],
        )
    axis = {"showbackground": True}
    fig.update_layout(
        title={"text": title},
        showlegend=False,
        margin=MARGIN_PX,
        scene={
            "domain": {"x": [0.0, 1.0], "y": [SCENE_BOTTOM if len(frames_pts) > 1 else 0.0, 1.0]},
            "xaxis": {**axis, "title": {"text": "x (mm)"}, "range": lim[0].tolist()},
            "yaxis": {**axis, "title": {"text": "z depth (mm)"}, "range": lim[1].tolist()},
            "zaxis": {**axis, "title": {"text": "-y up (mm)"}, "range": lim[2].tolist()},
            "aspectmode": "cube",
            "camera": {"eye": {"x": 0.4, "y": -2.1, "z": 0.5}, "center": {"x": 0.0, "y": 0.0, "z": -0.15}},
        },
    )
    return fig


def write_viewer_html(
    path: str | os.PathLike[str],
    poses: Sequence[np.ndarray],
    joint_names: Sequence[str],
    edges: Sequence[tuple[int, int]],
    frame_names: Sequence[str] | None = None,
    title: str = "integral-pose 3D viewer",
) -> Path:
    """Write a self-contained HTML viewer (plotly bundle inlined, no network needed); atomic.

    Args:
        path: output ``.html`` file.
        poses: one (N_t, J, 3) array (or (J, 3)) per frame, camera-frame mm; frames may have different N_t
            (including 0).
        joint_names: J names (colours by ``l_``/``r_`` prefix).
        edges: bones as (a, b) joint index pairs.
        frame_names: slider label per frame (default: the frame index).
        title: page and plot title.

    Returns:
        The written path.
    """
    fig = viewer_figure(poses, joint_names, edges, frame_names, title)
    html = fig.to_html(
        include_plotlyjs=True,
        full_html=True,
        include_mathjax=False,
        config={"displaylogo": False},
        default_height="95vh",
    )
    return atomic_write_bytes(path, html.encode("utf-8"))

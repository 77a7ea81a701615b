"""3D plot: camera → plot axes, equal limits on all axes in mm, off-screen rendering."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.skeletons import H36M_18
from integral_pose.viz.plot3d import equal_axis_limits, plot_poses_3d, render_poses_3d, to_plot_axes


def test_axes_mapping() -> None:
    np.testing.assert_allclose(to_plot_axes(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, -2.0])
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        to_plot_axes(np.zeros((2, 2)))


def test_equal_limits_hand_computed() -> None:
    pts = np.array([[0.0, 0.0, 0.0], [1000.0, 200.0, 100.0], [np.nan, 0, 0]])
    lim = equal_axis_limits(pts, margin=0.0)
    np.testing.assert_allclose(lim, [[0, 1000], [-400, 600], [-450, 550]])


def test_plot_has_equal_axes_in_mm() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(0, [200, 600, 100], (18, 3)) + np.array([0, 0, 3000])
    fig = plot_poses_3d(pose, H36M_18.edges, H36M_18.joint_names)
    ax = fig.axes[0]
    spans = [np.diff(ax.get_xlim())[0], np.diff(ax.get_ylim())[0], np.diff(ax.get_zlim())[0]]
    np.testing.assert_allclose(spans, spans[0])
    assert "mm" in ax.get_xlabel() and "mm" in ax.get_zlabel()
    assert len(ax.lines) == len(H36M_18.edges)


def test_render_is_an_rgb_image_of_the_requested_size() -> None:
    pose = np.random.default_rng(1).normal(0, 300, (2, 18, 3))
    img = render_poses_3d(pose, H36M_18.edges, H36M_18.joint_names, size_px=(320, 240))
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 10


def test_legend_names_the_side_colours() -> None:
    from integral_pose.viz.draw2d import LEFT_RGB, RIGHT_RGB

    pose = np.random.default_rng(2).normal(0, 300, (18, 3)) + np.array([0, 0, 3000])
    ax = plot_poses_3d(pose, H36M_18.edges, H36M_18.joint_names).axes[0]
    leg = ax.get_legend()
    assert leg is not None
    labels = [t.get_text() for t in leg.get_texts()]
    assert labels == ["person's left", "person's right", "centre"]
    colours = [tuple(np.round(np.asarray(h.get_color()) * 255).astype(int)) for h in leg.legend_handles]
    assert colours[0] == LEFT_RGB and colours[1] == RIGHT_RGB
    assert len(ax.lines) == len(H36M_18.edges)  # the key adds no bones
    assert plot_poses_3d(pose, H36M_18.edges, H36M_18.joint_names, legend=False).axes[0].get_legend() is None

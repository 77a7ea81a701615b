"""HTML viewer: self-contained file, frames + slider, and it renders in headless Chromium without console errors."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.skeletons import H36M_18
from integral_pose.viz import viewer
from integral_pose.viz.draw2d import LEFT_RGB, RIGHT_RGB
from integral_pose.viz.viewer import viewer_figure, write_viewer_html

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=800,600",
    "--virtual-time-budget=4000",
]

# Recorded before plotly loads: every console.error and uncaught error, then a summary in the page title.
_PROBE = """<script>
window.__iprErrors = [];
window.addEventListener("error", function (e) { window.__iprErrors.push("error: " + e.message); });
(function () {
  var orig = console.error;
  console.error = function () {
    window.__iprErrors.push(Array.prototype.map.call(arguments, String).join(" "));
    return orig.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  setTimeout(function () {
    document.title = "IPR:" + JSON.stringify({
      errors: window.__iprErrors,
      gl: document.querySelectorAll(".gl-container canvas").length,
      plots: document.querySelectorAll(".js-plotly-plot").length,
      sliders: document.querySelectorAll(".slider-container").length
    });
  }, 500);
});
</script>"""


def _poses(frames: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(0, 300, (2, 18, 3)) + np.array([0.0, 0.0, 4000.0]) for _ in range(frames)]


def test_figure_has_one_frame_per_image_and_equal_ranges() -> None:
    fig = viewer_figure(_poses(3), H36M_18.joint_names, H36M_18.edges, frame_names=["a", "b", "c"])
    assert [f.name for f in fig.frames] == ["a", "b", "c"]
    assert [s["label"] for s in fig.layout.sliders[0].steps] == ["a", "b", "c"]
    spans = [np.diff(getattr(fig.layout.scene, ax).range)[0] for ax in ("xaxis", "yaxis", "zaxis")]
    np.testing.assert_allclose(spans, spans[0])
    with pytest.raises(ValueError, match="frame_names"):
        viewer_figure(_poses(2), H36M_18.joint_names, H36M_18.edges, frame_names=["a"])
    with pytest.raises(ValueError, match="poses"):
        viewer_figure([], H36M_18.joint_names, H36M_18.edges)
    with pytest.raises(ValueError, match=r"poses\[0\]"):
        viewer_figure([np.zeros((1, 17, 3))], H36M_18.joint_names, H36M_18.edges)
    empty = viewer_figure([np.zeros((0, 18, 3)), _poses(1)[0]], H36M_18.joint_names, H36M_18.edges)
    assert len(empty.frames) == 2


def test_html_is_self_contained(tmp_path: Path) -> None:
    path = write_viewer_html(tmp_path / "v.html", _poses(2), H36M_18.joint_names, H36M_18.edges)
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)  # no external script: plotly's bundle is inlined
    assert "Plotly" in text and len(text) > 1_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["v.html"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium'); the viewer rendering test cannot run")
    return exe


def test_viewer_renders_in_headless_chromium(tmp_path: Path) -> None:
    exe = _chromium()
    path = write_viewer_html(tmp_path / "viewer.html", _poses(3), H36M_18.joint_names, H36M_18.edges)
    probed = tmp_path / "probed.html"
    probed.write_text(path.read_text(encoding="utf-8").replace("<head>", "<head>" + _PROBE, 1), encoding="utf-8")
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=60)
    title = re.search(r"<title>IPR:(.*?)</title>", dom.stdout, re.S)
    assert title, f"the page did not finish loading; stderr: {dom.stderr[-2000:]}"
    status = json.loads(html.unescape(title.group(1)))
    assert status["errors"] == [], status
    assert status["plots"] == 1 and status["gl"] >= 1 and status["sliders"] == 1, status

    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", path.as_uri()], capture_output=True, timeout=60, check=True)
    img = cv2.imread(str(shot))[:, :, ::-1].astype(np.int32)
    assert img.std() > 5.0  # not blank
    for rgb in (LEFT_RGB, RIGHT_RGB):  # bones of both sides drawn by WebGL
        near = (np.abs(img - np.array(rgb)).max(axis=2) < 40).sum()
        assert near > 30, f"too few pixels of colour {rgb} in the screenshot ({near})"


def test_controls_sit_below_the_scene_and_the_last_label_fits(tmp_path: Path) -> None:
    """The slider ended at the right edge with no margin (its last label, centred on the tick, was cut off) and
    overlapped the bottom of the 3D scene (the x-axis title was hidden)."""
    fig = viewer_figure(_poses(12), H36M_18.joint_names, H36M_18.edges,
                        frame_names=[f"clip_{i:06d}" for i in range(12)])  # fmt: skip
    lay = fig.layout
    slider = lay.sliders[0]
    width_px = 800 - lay.margin.l - lay.margin.r  # the plot area of an 800 px wide window
    half_label_px = 0.5 * 7 * len("clip_000011")  # about 7 px per character at plotly's default 12 px font
    assert (1.0 - (slider.x + slider.len)) * width_px + lay.margin.r >= half_label_px
    assert slider.x * width_px + lay.margin.l >= half_label_px  # the first label clear of the left edge
    assert slider.y <= lay.scene.domain.y[0] and slider.yanchor == "top"  # below the scene, not over it
    assert lay.updatemenus[0].y == slider.y and lay.updatemenus[0].x + 0.15 <= slider.x  # buttons left of it
    assert lay.scene.domain.y[0] == viewer.SCENE_BOTTOM > 0.1
    assert lay.margin.b >= 20 and lay.margin.r >= 20
    single = viewer_figure(_poses(1), H36M_18.joint_names, H36M_18.edges)
    assert single.layout.scene.domain.y[0] == 0.0 and not single.layout.sliders  # no controls: the full height
    path = write_viewer_html(tmp_path / "v.html", _poses(3), H36M_18.joint_names, H36M_18.edges)
    text = path.read_text(encoding="utf-8").replace(" ", "")
    assert f'"len":{viewer.SLIDER_LEN}' in text and f'"y":[{viewer.SCENE_BOTTOM},1.0]' in text  # in the file

"""``ipr predict`` end to end: shipped photos with every output, a SynthMocap video with intrinsics on ONNX, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.cli.main import main
from integral_pose.inference.person_detector import onnxruntime_available
from integral_pose.inference.results import PoseResult


def test_predict_on_the_shipped_photos(
    tiny_checkpoint: Path, assets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main([
        "predict", "--checkpoint", str(tiny_checkpoint), "--source", str(assets_dir / "images"),
        "--save-json", str(out / "json"), "--save-vis", str(out / "vis"), "--save-video", str(out / "v.mp4"),
        "--viewer", str(out / "v.html"), "--flip-test", "--no-progress",
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "3 frame(s)" in printed and "FOV 55 deg guess" in printed
    names = sorted(p.stem for p in (out / "json").glob("*.json"))
    assert names == ["astronaut", "camera", "grace_hopper"]
    for name in names:
        data = json.loads((out / "json" / f"{name}.json").read_text())
        r = PoseResult.from_dict(data)
        # the default "auto" detector: SSDLite finds each person; HOG (without onnxruntime) misses some
        hog = ("hog", "full (fallback: hog found no person)")
        assert r.box_source in (("ssdlite",) if onnxruntime_available() else hog)
        assert r.root_from == "fov_guess" and r.flip_test and data["units"]["keypoints_3d"].startswith("mm")
        assert data["camera"]["model"] == "pinhole" and len(data["joint_names"]) == 18
        img = cv2.imread(str(assets_dir / "images" / f"{name}.{'jpg' if name == 'grace_hopper' else 'png'}"))
        vis = cv2.imread(str(out / "vis" / f"{name}.png"))
        assert vis.shape[0] == img.shape[0] and vis.shape[1] > img.shape[1]  # overlay + 3D view side by side
    cap = cv2.VideoCapture(str(out / "v.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == 3
    html = (out / "v.html").read_text(encoding="utf-8")
    assert "grace_hopper" in html and "Plotly" in html


def _synth_video(root: Path) -> tuple[Path, np.ndarray]:
    """Render 4 SynthMocap frames and write them as an mp4; returns the video and the camera matrix (px)."""
    from integral_pose.data.records import load_records
    from integral_pose.data.sources.synthmocap import generate_synthmocap

    paths = generate_synthmocap(root / "synth", frames_train=1, frames_test=4, size=128, progress=False)
    rec = load_records(paths["test"])
    video = root / "clip.mp4"
    first = cv2.imread(str(paths["test"].parent / str(rec.image_path[0])))
    h, w = first.shape[:2]
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (w, h))
    assert writer.isOpened()
    for rel in rec.image_path:
        writer.write(cv2.resize(cv2.imread(str(paths["test"].parent / str(rel))), (w, h)))
    writer.release()
    f, c = np.asarray(rec.cam_f[0], float), np.asarray(rec.cam_c[0], float)
    return video, np.array([[f[0], 0.0, c[0]], [0.0, f[1], c[1]], [0.0, 0.0, 1.0]])


def test_predict_on_a_synthmocap_video_with_intrinsics_on_onnx(
    tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, K = _synth_video(tmp_path)
    (tmp_path / "K.json").write_text(json.dumps({"K": K.tolist()}))
    code = main([
        "predict", "--checkpoint", str(tiny_onnx), "--backend", "onnx", "--source", str(video),
        "--detector", "full", "--intrinsics", str(tmp_path / "K.json"), "--save-json", str(tmp_path / "json"),
        "--viewer", str(tmp_path / "v.html"), "--no-progress", "--batch-frames", "3",
    ])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "4 frame(s)" in capsys.readouterr().out
    files = sorted((tmp_path / "json").glob("*.json"))
    assert [f.stem for f in files] == [f"clip_{i:06d}" for i in range(4)]
    for f in files:
        r = PoseResult.from_dict(json.loads(f.read_text()))
        assert r.box_source == "full" and r.root_from == "intrinsics" and r.num_people == 1
        np.testing.assert_allclose(r.K, K, atol=1e-5)
    assert (tmp_path / "v.html").stat().st_size > 1_000_000


def test_predict_user_boxes_and_errors(
    tiny_checkpoint: Path, assets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(assets_dir / "images" / "astronaut.png", src / "a.png")
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"format": "xyxy", "boxes": {"a": [[100, 50, 400, 500]]}}))
    base = ["predict", "--checkpoint", str(tiny_checkpoint), "--no-progress"]
    assert main([*base, "--source", str(src), "--boxes", str(boxes), "--save-json", str(tmp_path / "j")]) == 0
    r = PoseResult.from_dict(json.loads((tmp_path / "j" / "a.json").read_text()))
    assert r.box_source == "user"
    np.testing.assert_allclose(r.boxes, [[100, 50, 300, 450]], atol=1e-3)
    capsys.readouterr()

    boxes.write_text(json.dumps({"format": "xywh", "boxes": {"other": [[0, 0, 10, 10]]}}))
    assert main([*base, "--source", str(src), "--boxes", str(boxes)]) == 2
    assert "no entry for frame 'a'" in capsys.readouterr().err
    assert main([*base, "--source", str(tmp_path / "nothing")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([*base, "--source", str(src), "--box-format", "xyxy"]) == 2
    assert "--box-format" in capsys.readouterr().err
    assert main([*base, "--source", str(src), "--save-video", str(tmp_path / "v.avi")]) == 2
    assert ".mp4" in capsys.readouterr().err
    assert main([*base, "--source", "webcam:63"]) == 2
    assert "webcam 63" in capsys.readouterr().err

"""``ipr predict``: unreadable files of a folder are skipped and listed; an empty box list means nobody there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.cli.main import main
from integral_pose.inference.results import PoseResult


def _photos(root: Path, assets_dir: Path, broken: tuple[str, ...]) -> Path:
    src = root / "photos"
    src.mkdir()
    shutil.copy(assets_dir / "images" / "astronaut.png", src / "a.png")
    shutil.copy(assets_dir / "images" / "grace_hopper.jpg", src / "c.jpg")
    for name in broken:
        (src / name).write_bytes(b"\xff\xd8 cut off here")
    return src


def test_unreadable_files_are_skipped_and_listed(
    tiny_checkpoint: Path, assets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photos(tmp_path, assets_dir, ("b.jpg", "d.png"))
    code = main([
        "predict", "--checkpoint", str(tiny_checkpoint), "--source", str(src), "--detector", "full",
        "--save-json", str(tmp_path / "json"), "--no-progress",
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == ["a.json", "c.json"]
    assert "2 frame(s)" in out and "skipped 2 unreadable item(s)" in out
    listed = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert [line.split(":")[0] for line in listed] == [str(src / "b.jpg"), str(src / "d.png")]


def test_nothing_readable_is_an_error(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("x.jpg", "y.png"):
        (src / name).write_bytes(b"junk")
    base = ["predict", "--checkpoint", str(tiny_checkpoint), "--no-progress", "--detector", "full"]
    code = main([*base, "--source", str(src), "--save-json", str(tmp_path / "json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "none of the 2 image file(s)" in err and "readable image" in err and "x.jpg" in err
    assert not (tmp_path / "json").exists()
    code = main([*base, "--source", str(src / "y.png")])  # a single image is never skipped
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not a decodable image" in err and "y.png" in err


def test_empty_box_list_means_nobody_in_that_frame(
    tiny_checkpoint: Path, assets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _photos(tmp_path, assets_dir, ())
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"format": "xywh", "boxes": {"a": [], "c": [[20, 10, 150, 300]]}}))
    out = tmp_path / "out"
    code = main([
        "predict", "--checkpoint", str(tiny_checkpoint), "--source", str(src), "--boxes", str(boxes),
        "--save-json", str(out / "json"), "--save-vis", str(out / "vis"), "--save-video", str(out / "v.mp4"),
        "--viewer", str(out / "v.html"), "--no-progress",
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "2 frame(s), 1 person(s)" in printed
    empty = PoseResult.from_dict(json.loads((out / "json" / "a.json").read_text()))
    assert empty.num_people == 0 and empty.box_source == "user"
    assert empty.keypoints_3d.shape == (0, 18, 3) and empty.scores.shape == (0, 18)
    one = PoseResult.from_dict(json.loads((out / "json" / "c.json").read_text()))
    assert one.num_people == 1
    np.testing.assert_allclose(one.boxes, [[20, 10, 150, 300]])
    photo = cv2.imread(str(src / "a.png"))
    vis = cv2.imread(str(out / "vis" / "a.png"))
    assert vis.shape[0] == photo.shape[0] and vis.shape[1] > photo.shape[1]
    np.testing.assert_array_equal(vis[:, : photo.shape[1]], photo)  # nobody: the overlay is the untouched photo
    assert (out / "v.mp4").stat().st_size > 0 and (out / "v.html").stat().st_size > 0

"""Frame sources: image, recursive sorted folder, video file, webcam; typed errors for bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.inference.sources import FrameSource, list_images, open_source, read_image


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[:, :, ::-1])


def _solid(r: int, g: int, b: int, h: int = 12, w: int = 16) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (r, g, b)
    return img


def test_read_image_returns_rgb(tmp_path: Path) -> None:
    _write_png(tmp_path / "a.png", _solid(200, 10, 30))
    img = read_image(tmp_path / "a.png")
    assert img.dtype == np.uint8 and img.shape == (12, 16, 3)
    assert img[0, 0].tolist() == [200, 10, 30]


def test_shipped_photo_reads(assets_dir: Path) -> None:
    img = read_image(assets_dir / "images" / "grace_hopper.jpg")
    assert img.ndim == 3 and img.shape[2] == 3 and img.shape[0] > 100


def test_folder_is_recursive_and_sorted(tmp_path: Path) -> None:
    _write_png(tmp_path / "b.png", _solid(1, 0, 0))
    _write_png(tmp_path / "a" / "z.png", _solid(2, 0, 0))
    _write_png(tmp_path / "a" / "c.jpg", _solid(3, 0, 0))
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(tmp_path)
    assert src.kind == "folder" and len(src) == 3
    names = [f.name for f in src]
    assert names == ["a/c", "a/z", "b"]
    assert [p.name for p in list_images(tmp_path)] == ["c.jpg", "z.png", "b.png"]


def test_single_image_source(tmp_path: Path) -> None:
    _write_png(tmp_path / "photo.png", _solid(5, 6, 7))
    frames = list(open_source(tmp_path / "photo.png"))
    assert len(frames) == 1 and frames[0].name == "photo" and frames[0].image[0, 0].tolist() == [5, 6, 7]


def test_video_frames_stream_in_order(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    assert writer.isOpened()
    for i in range(5):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    src = open_source(path)
    assert src.kind == "video" and src.fps == pytest.approx(10.0)
    frames = list(src)
    assert [f.name for f in frames] == [f"clip_{i:06d}" for i in range(5)]
    means = [float(f.image.mean()) for f in frames]
    assert means == sorted(means) and abs(means[4] - 160) < 8
    it = iter(src)  # streaming: a generator, not a list held in memory
    assert next(it).index == 0


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        FrameSource(tmp_path / "nothing.png")


def test_unreadable_image(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match="cannot decode"):
        list(open_source(bad))
    with pytest.raises(ValueError, match="cannot decode"):
        read_image(bad)


def test_unreadable_video(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(ValueError, match="video"):
        open_source(bad)


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files"):
        open_source(tmp_path)


def test_unknown_extension(tmp_path: Path) -> None:
    f = tmp_path / "data.xyz"
    f.write_text("x")
    with pytest.raises(ValueError, match="extension"):
        open_source(f)


def test_webcam_spec_errors() -> None:
    with pytest.raises(ValueError, match="webcam:N"):
        open_source("webcam:front")
    src = open_source("webcam:63")  # no such device in a test machine
    assert src.kind == "webcam" and src.length is None
    with pytest.raises(TypeError, match="no length"):
        len(src)
    with pytest.raises(ValueError, match="webcam 63"):
        next(iter(src))


def test_folder_skips_unreadable_files_when_asked(tmp_path: Path) -> None:
    _write_png(tmp_path / "a.png", _solid(1, 0, 0))
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    (tmp_path / "c.png").write_bytes(b"")
    _write_png(tmp_path / "d.png", _solid(4, 0, 0))
    src = open_source(tmp_path, skip_unreadable=True)
    frames = list(src)
    assert [(f.name, f.index, int(f.image[0, 0, 0])) for f in frames] == [("a", 0, 1), ("d", 3, 4)]
    assert [Path(what).name for what, _ in src.skipped] == ["b.jpg", "c.png"]
    assert all("cannot decode" in why for _, why in src.skipped)
    assert [f.name for f in src] == ["a", "d"] and len(src.skipped) == 2  # a second pass starts a fresh list
    strict = open_source(tmp_path)
    it = iter(strict)
    assert next(it).name == "a"
    with pytest.raises(ValueError, match=r"b\.jpg"):
        next(it)


def test_single_unreadable_image_still_raises_when_skipping(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png"):
        list(open_source(bad, skip_unreadable=True))
    with pytest.raises(TypeError, match="skip_unreadable"):
        open_source(bad, skip_unreadable="yes")  # type: ignore[arg-type]


def _mjpeg_with_broken_frame(path: Path, frames: int, broken: int) -> None:
    """An MJPEG AVI whose frame ``broken`` has all its JPEG bytes zeroed (the other frames decode)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((24, 32, 3), 40 * i, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]
    assert len(starts) == frames and broken < frames - 1
    end = data.index(b"\xff\xd9", starts[broken]) + 2  # the frame's end-of-image marker
    data[starts[broken] : end] = bytes(end - starts[broken])
    path.write_bytes(bytes(data))


def test_video_goes_on_after_a_broken_frame(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    _mjpeg_with_broken_frame(path, 5, 2)
    src = open_source(path, skip_unreadable=True)
    frames = list(src)
    assert [f.index for f in frames] == [0, 1, 3, 4]
    assert [f.name for f in frames][2] == "clip_000003"
    np.testing.assert_allclose([f.image.mean() for f in frames], [0, 40, 120, 160], atol=3)
    assert src.skipped == [(f"{path} frame 2", "cannot decode")]
    with pytest.raises(ValueError, match="frame 2 cannot be decoded"):
        list(open_source(path))

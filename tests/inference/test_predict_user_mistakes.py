"""``ipr predict`` / ``ipr export`` with the mistakes a first-time user makes: one line, exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integral_pose.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.mark.parametrize("verb", ["predict", "export"])
def test_text_file_as_checkpoint(
    verb: str, tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "model.pt"
    fake.write_text("hello, this is not a checkpoint\n")  # the weights-only unpickler raised a bare KeyError here
    argv = [verb, "--checkpoint", str(fake), "--no-progress"]
    if verb == "predict":
        argv += ["--source", str(assets_dir / "images" / "camera.png")]
    code, err = _run(capsys, argv)
    _one_line_error(code, err, "model.pt", "not a PyTorch checkpoint")


def test_truncated_checkpoint_message_is_short(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.pt"
    cut.write_bytes(tiny_checkpoint.read_bytes()[:1000])
    code, err = _run(capsys, ["export", "--checkpoint", str(cut), "--no-progress"])
    _one_line_error(code, err, "cut.pt", "not a readable PyTorch checkpoint")
    assert len(err) < 300, err  # PyTorch's several-sentence explanation is cut to its first sentence


def test_folder_as_checkpoint_says_folder(tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, ["predict", "--checkpoint", str(tmp_path), "--source", str(assets_dir / "images")])
    _one_line_error(code, err, "checkpoint", "expected a file, got the folder")


def test_folders_as_boxes_and_intrinsics(
    tiny_checkpoint: Path, tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = str(assets_dir / "images" / "camera.png")
    for flag in ("--boxes", "--intrinsics"):
        argv = ["predict", "--checkpoint", str(tiny_checkpoint), "--source", image, flag, str(tmp_path)]
        code, err = _run(capsys, argv)
        _one_line_error(code, err, flag.lstrip("-"), "expected a file, got the folder")


def test_output_folder_that_is_a_file(
    tiny_checkpoint: Path, tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "notes.json"
    existing.write_text("{}")
    image = str(assets_dir / "images" / "camera.png")
    for flag in ("--save-json", "--save-vis"):
        argv = ["predict", "--checkpoint", str(tiny_checkpoint), "--source", image, flag, str(existing)]
        code, err = _run(capsys, argv)
        _one_line_error(code, err, flag, "expected a folder")
    code, err = _run(capsys, ["predict", "--checkpoint", str(tiny_checkpoint), "--source", image,
                              "--viewer", str(tmp_path)])  # fmt: skip
    _one_line_error(code, err, "--viewer", "expected a file name")


@pytest.mark.parametrize("value", ["-0.1", "2"])
def test_min_score_outside_unit_interval(
    value: str, tiny_checkpoint: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["predict", "--checkpoint", str(tiny_checkpoint), "--source", str(assets_dir / "images"), "--min-score",
            value]  # fmt: skip
    code, err = _run(capsys, argv)
    _one_line_error(code, err, "--min-score", "[0, 1]", value.lstrip("-"))


def test_pt2_archive_is_refused_with_advice(
    tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "model.pt2"
    archive.write_bytes(b"PK\x03\x04")
    code, err = _run(capsys, ["predict", "--checkpoint", str(archive), "--source", str(assets_dir / "images")])
    _one_line_error(code, err, "model.pt2", ".onnx")


def test_onnx_file_runs_without_naming_the_backend(
    tiny_onnx: Path, assets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "json"
    code = main(["predict", "--checkpoint", str(tiny_onnx), "--source", str(assets_dir / "images" / "camera.png"),
                 "--detector", "full", "--save-json", str(out), "--no-progress"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "backend onnx" in printed.out
    data = json.loads((out / "camera.json").read_text())
    assert data["box_source"] == "full" and len(data["keypoints_3d"]) == 1


def test_run_without_outputs_says_how_to_save(
    tiny_checkpoint: Path, assets_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["predict", "--checkpoint", str(tiny_checkpoint), "--source", str(assets_dir / "images" / "camera.png"),
                 "--detector", "full"])  # fmt: skip
    assert code == 0
    assert "nothing saved: add --save-json DIR" in capsys.readouterr().out


def test_missing_frame_in_boxes_file_lists_each_tried_key_once(tmp_path: Path) -> None:
    from integral_pose.inference.detector import UserBoxes

    f = tmp_path / "b.json"
    f.write_text(json.dumps({"format": "xywh", "boxes": {"other.jpg": [[0, 0, 5, 5]]}}))
    boxes = UserBoxes.from_json(f)
    with pytest.raises(KeyError) as info:
        boxes.lookup("photo", tmp_path / "photo.jpg", 0)  # name == stem: listed once
    assert "tried keys ['photo', 'photo.jpg', '0']" in str(info.value)

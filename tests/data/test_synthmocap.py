"""The SynthMocap generator: records that match their pixels, held-out splits, idempotence, determinism."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from integral_pose.cli.main import main as ipr_main
from integral_pose.data.records import load_records
from integral_pose.data.sources.synthmocap import (
    KEY_HEIGHT,
    SIDE_COLOURS_BGR,
    TEST_CAMERA_IDS,
    TEST_CLIPS,
    clip_sources,
    generate_synthmocap,
)
from integral_pose.geometry.camera import Camera

SMALL = {"frames_train": 8, "frames_test": 4, "size": 96, "seed": 3, "progress": False}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "set"
    generate_synthmocap(out, workers=1, preview=True, **SMALL)  # type: ignore[arg-type]
    return out


def test_records_are_consistent(dataset: Path) -> None:
    import cv2

    train, test = load_records(dataset / "train.npz"), load_records(dataset / "test.npz")
    assert (len(train), len(test)) == (8, 4)
    for rec in (train, test):
        assert rec.header.dataset == "synthmocap" and rec.header.joint_set == "h36m18" and rec.header.has_3d
        for i in range(len(rec)):
            img = cv2.imread(str(rec.image_file(i)))
            assert img is not None and (img.shape[1], img.shape[0]) == tuple(rec.image_size[i])
            cam = Camera(rec.cam_f[i], rec.cam_c[i], rec.cam_k[i], rec.cam_p[i], rec.cam_R[i], rec.cam_T[i])
            # 2D labels are the distorted projection of the 3D camera-frame joints
            np.testing.assert_allclose(cam.project(rec.joints_3d_cam[i]), rec.joints_2d[i], atol=2e-3)
            assert np.abs(cam.project(rec.joints_3d_cam[i], distort=False) - rec.joints_2d[i]).max() > 1e-3
            depth = rec.joints_3d_cam[i, 0, 2]
            assert 2500.0 < depth < 7000.0  # 3–6 m in front of the camera (plus the body's extent)
            assert np.linalg.norm(rec.cam_T[i]) > 1000.0  # camera centre in mm, not metres
            j3d = rec.joints_3d_cam[i]
            np.testing.assert_allclose(j3d[17], 0.5 * (j3d[11] + j3d[14]), atol=1e-3)
            x, y, w, h = rec.box[i]
            uv = rec.joints_2d[i]
            assert (uv[:, 0] >= x).all() and (uv[:, 0] <= x + w).all() and (uv[:, 1] >= y).all()
            assert (uv[:, 1] <= y + h).all()
            inside = (uv[:, 0] >= 0) & (uv[:, 0] <= img.shape[1] - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= img.shape[0] - 1)
            np.testing.assert_array_equal(rec.joints_vis[i], inside.astype(np.float32))
    assert (dataset / "preview.png").stat().st_size > 1000


def test_test_split_holds_out_motions_and_cameras(dataset: Path) -> None:
    train, test = load_records(dataset / "train.npz"), load_records(dataset / "test.npz")
    assert set(test.action) <= set(TEST_CLIPS)
    assert not set(train.action) & set(TEST_CLIPS)
    assert {c.split(":")[1] for c in test.camera_id} <= set(TEST_CAMERA_IDS)
    assert not {c.split(":")[1] for c in train.camera_id} & set(TEST_CAMERA_IDS)
    assert set(train.subject) | set(test.subject) <= {"cmu", "deepmimic"}
    assert sum(1 for c in TEST_CLIPS if not c.startswith("cmu_")) >= 2 and any(c.startswith("cmu_") for c in TEST_CLIPS)


def test_actions_are_readable_and_keep_the_clip_id(dataset: Path, assets_dir: Path) -> None:
    import json

    clips = clip_sources()
    assert {k: v["clip_id"] for k, v in clips.items() if v["source"] == "cmu"} == {
        "cmu_walk_1": "131_01",
        "cmu_walk_2": "131_02",
        "cmu_hop": "131_03",
    }
    assert clips["cartwheel"] == {
        "source": "deepmimic",
        "clip_id": "cartwheel",
        "file": "deepmimic/humanoid3d_cartwheel.txt",
    }
    assert all((assets_dir / v["file"]).is_file() for v in clips.values()) and len(clips) == 18
    manifest = json.loads((dataset / "synthmocap.json").read_text())
    assert manifest["params"]["clips"] == clips
    for split in ("train", "test"):
        rec = load_records(dataset / f"{split}.npz")
        assert rec.header.meta["clips"] == clips
        for action, subject, sub in zip(rec.action, rec.subject, rec.subaction):
            assert not str(action).startswith("131") and clips[str(action)]["source"] == subject
            # subaction = CMU trial number (131_0N -> N), 0 for DeepMimic
            expected = int(clips[str(action)]["clip_id"][-2:]) if subject == "cmu" else 0
            assert int(sub) == expected


def test_preview_has_a_colour_key(dataset: Path) -> None:
    import cv2

    img = cv2.imread(str(dataset / "preview.png"))
    assert img is not None and (img.shape[0] - KEY_HEIGHT) % 256 == 0 and img.shape[1] == 4 * 256
    key = img[-KEY_HEIGHT:].reshape(-1, 3).astype(int)
    for name, colour in SIDE_COLOURS_BGR.items():
        close = np.abs(key - np.asarray(colour)).max(axis=1) <= 10
        assert close.sum() >= 20, name  # a short bone of each colour is drawn in the key
    assert (img[-KEY_HEIGHT:] > 200).all(axis=2).sum() > 50  # white label text


def test_same_arguments_are_a_no_op(dataset: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in dataset.rglob("*") if p.is_file()}
    generate_synthmocap(dataset, workers=2, **SMALL)  # type: ignore[arg-type]
    after = {p: p.stat().st_mtime_ns for p in dataset.rglob("*") if p.is_file()}
    assert before == after


def test_different_arguments_are_refused(dataset: Path) -> None:
    with pytest.raises(ValueError, match=r"different parameters \(seed: existing 3 vs requested 4\)"):
        generate_synthmocap(dataset, **{**SMALL, "seed": 4})  # type: ignore[arg-type]


def test_foreign_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no SynthMocap manifest"):
        generate_synthmocap(tmp_path, **SMALL)  # type: ignore[arg-type]


def test_worker_count_does_not_change_the_output(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "w2"
    generate_synthmocap(out, workers=2, **SMALL)  # type: ignore[arg-type]
    for split in ("train", "test"):
        a, b = load_records(dataset / f"{split}.npz"), load_records(out / f"{split}.npz")
        for key, arr in a.arrays().items():
            np.testing.assert_array_equal(arr, b.arrays()[key], err_msg=key)
        for rel in a.image_path:
            assert (dataset / rel).read_bytes() == (out / rel).read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"frames_train": 0}, ValueError, "frames_train: expected an integer >= 1, got 0"),
        ({"frames_test": -2}, ValueError, "frames_test: expected an integer >= 1, got -2"),
        ({"size": 32}, ValueError, "size: expected an integer >= 64, got 32"),
        ({"workers": 0}, ValueError, "workers: expected an integer >= 1, got 0"),
        ({"size": 96.0}, TypeError, "size: expected an int, got float"),
        ({"frames_train": True}, TypeError, "frames_train: expected an int, got bool"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        generate_synthmocap(tmp_path / "o", **{**SMALL, **kwargs})  # type: ignore[arg-type]
    assert not (tmp_path / "o").exists()


def test_unreadable_background_image(tmp_path: Path, assets_dir: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(assets_dir, assets, ignore=shutil.ignore_patterns("*.png", "*.jpg"))
    for rel in ("images/astronaut.png", "images/camera.png", "images/grace_hopper.jpg", "coco_sample/000000000785.jpg"):
        os.symlink(assets_dir / rel, assets / rel)
    (assets / "images" / "camera.png").unlink()
    (assets / "images" / "camera.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"background image .*camera\.png could not be read"):
        generate_synthmocap(tmp_path / "o", assets=assets, **SMALL)  # type: ignore[arg-type]


def test_cli_runs_and_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert ipr_main(["data", "synthmocap", "--out", str(out), "--frames", "0"]) == 2
    assert "--frames: expected an integer >= 1, got 0" in capsys.readouterr().err  # the option the user typed
    assert ipr_main(["data", "synthmocap", "--out", str(out), "--frames", "2", "--test-frames", "0"]) == 2
    assert "--test-frames: expected an integer >= 1, got 0" in capsys.readouterr().err
    code = ipr_main(["data", "synthmocap", "--out", str(out), "--frames", "3", "--test-frames", "2", "--size", "64"])
    assert code == 0
    assert len(load_records(out / "train.npz")) == 3 and len(load_records(out / "test.npz")) == 2

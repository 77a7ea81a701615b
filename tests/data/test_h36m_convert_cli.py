"""Raw Human3.6M conversion (cdflib CDF + OpenCV video fixtures), `ipr data` commands and the pre-crop cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from cdflib.cdfwrite import CDF

from integral_pose.cli.main import main as ipr
from integral_pose.data.augment import AugmentParams
from integral_pose.data.codec import crop_transform, encode
from integral_pose.data.convert.h36m_raw import convert_raw, plan_jobs, read_cdf_pose
from integral_pose.data.dataset import PoseDataset
from integral_pose.data.precrop import precrop_records
from integral_pose.data.records import PoseRecords, load_records, save_records
from integral_pose.data.sources.h36m import H36M32_TO_17, load_camera, read_original_layout
from integral_pose.geometry.affine import apply_affine

W, H = 64, 48


def _write_cdf(path: Path, frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pose = (np.array([0.0, 0.0, 900.0]) + rng.normal(0, 300, (frames, 32, 3))).reshape(1, frames, 96)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = CDF(str(path))
    spec = {"Variable": "Pose", "Data_Type": CDF.CDF_DOUBLE, "Num_Elements": 1, "Rec_Vary": True,
            "Dim_Sizes": [frames, 96]}  # fmt: skip
    c.write_var(spec, var_attrs={}, var_data=pose)
    c.close()
    return pose.reshape(frames, 32, 3)


def _write_video(path: Path, frames: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 50, (W, H))
    assert w.isOpened()
    for i in range(frames):
        w.write(np.full((H, W, 3), 20 * i, np.uint8))
    w.release()


def _raw(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    src = tmp_path / "raw"
    d3 = src / "S11" / "MyPoseFeatures" / "D3_Positions"
    poses = {
        "Directions": _write_cdf(d3 / "Directions.cdf", 6, 0),
        "Directions 1": _write_cdf(d3 / "Directions 1.cdf", 6, 1),
        "TakingPhoto": _write_cdf(d3 / "TakingPhoto.cdf", 5, 2),
    }
    vids = src / "S11" / "Videos"
    _write_video(vids / "Directions.54138969.mp4", 6)  # the known corrupt one: skipped whatever it holds
    _write_video(vids / "Directions 1.54138969.mp4", 8)  # video longer than the pose: extra frames dropped
    _write_video(vids / "TakingPhoto.55011271.mp4", 5)
    return src, poses


def test_convert_raw_then_read(tmp_path: Path) -> None:
    src, poses = _raw(tmp_path)
    assert read_cdf_pose(src / "S11/MyPoseFeatures/D3_Positions/TakingPhoto.cdf").shape == (5, 32, 3)
    jobs = plan_jobs(src)
    assert len(jobs) == 12 and {j.action for j in jobs} == {2, 12}
    dst = tmp_path / "out"
    s = convert_raw(src, dst, stride=2, progress=False)
    assert sorted(s.converted) == ["s_11_act_02_subact_02_ca_01", "s_11_act_12_subact_01_ca_02"]
    assert "s_11_act_02_subact_01_ca_01" in s.skipped_broken and s.frames_written == 3 + 3
    imgs = sorted(p.name for p in (dst / "images" / "s_11_act_02_subact_02_ca_01").iterdir())
    assert imgs == [f"s_11_act_02_subact_02_ca_01_{k:06d}.jpg" for k in (1, 3, 5)]
    r = read_original_layout(dst, [11], split="test", stride=2)
    assert len(r) == 6 and r.action.tolist().count("Photo") == 3
    cam = load_camera(11, 1)
    world = poses["Directions 1"][4][list(H36M32_TO_17)]
    expected = (world - cam["T"]) @ cam["R"]
    np.testing.assert_allclose(r.joints_3d_cam[2, :17], expected, atol=1e-3)
    assert r.image_size[0].tolist() == [W, H] and r.image_file(0).is_file()
    with pytest.raises(ValueError, match="stride"):
        read_original_layout(dst, [11], stride=3)
    again = convert_raw(src, dst, stride=2, progress=False)  # resumable / idempotent
    assert again.converted == [] and len(again.skipped_done) == 2
    with pytest.raises(ValueError, match="--stride 2"):
        convert_raw(src, dst, stride=5, progress=False)


def test_convert_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        plan_jobs(tmp_path / "nothing")
    d3 = tmp_path / "raw" / "S1" / "MyPoseFeatures" / "D3_Positions"
    d3.mkdir(parents=True)
    (d3 / "Dancing.cdf").write_bytes(b"x")
    with pytest.raises(ValueError, match="Dancing"):
        plan_jobs(tmp_path / "raw")
    (d3 / "Dancing.cdf").unlink()
    (d3 / "Walking.cdf").write_bytes(b"not a cdf")
    with pytest.raises(ValueError, match=r"Walking\.cdf: cannot read variable 'Pose'"):
        read_cdf_pose(d3 / "Walking.cdf")


def test_cli_convert_prepare_and_precrop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, _ = _raw(tmp_path)
    dst = tmp_path / "h36m"
    assert ipr(["data", "h36m-convert", "--src", str(src), "--dst", str(dst), "--stride", "1", "--quiet"]) == 0
    out = tmp_path / "test.npz"
    args = ["data", "prepare", "h36m", "--root", str(dst), "--split", "test", "--protocol", "1", "--stride", "1",
            "--out", str(out)]  # fmt: skip
    assert ipr(args) == 0
    text = capsys.readouterr().out
    assert "frames 11" in text and "S11" in text and "Photo" in text and "with valid 3D: 198" in text
    assert ipr(args) == 0
    assert "up to date" in capsys.readouterr().out
    meta = dst / "annot" / "s_11_act_12_subact_01_ca_02" / "matlab_meta.txt"
    meta.write_text(meta.read_text().replace("\n5\n", "\n5\n", 1) + "\n")  # touch: source changed
    assert ipr(args) == 0
    assert "wrote" in capsys.readouterr().out
    assert ipr(["data", "prepare", "h36m", "--root", str(dst), "--split", "val", "--out", str(out)]) == 2
    assert "--split" in capsys.readouterr().err
    # The fixture video is smaller than the calibrated camera: its square boxes lie outside the image.
    assert ipr(["data", "precrop", "--records", str(out), "--out-dir", str(tmp_path / "pc"), "--quiet"]) == 2
    assert "records.box[0]" in capsys.readouterr().err


def test_cli_precrop(make_table: Callable[..., PoseRecords], tmp_path: Path) -> None:
    src = save_records(make_table(n=2, size=(320, 240)), tmp_path / "in.npz")
    crop_out = tmp_path / "crops.npz"
    assert ipr(["data", "precrop", "--records", str(src), "--out-dir", str(tmp_path / "pc"), "--out", str(crop_out),
                "--max-side", "64", "--quiet"]) == 0  # fmt: skip
    got = load_records(crop_out)
    assert len(got) == 2 and got.image_size.max() <= 64 and got.image_file(1).is_file()


@pytest.mark.parametrize("max_side", [None, 96])
def test_precrop_gives_the_same_samples(
    make_table: Callable[..., PoseRecords], tmp_path: Path, max_side: int | None
) -> None:
    recs = make_table(n=3, size=(640, 480))
    pc = precrop_records(recs, tmp_path / "pc", max_side=max_side)
    assert pc.image_size[:, 0].max() <= (max_side or 640)
    # Intrinsics follow the crop: projecting the 3D joints with the new camera gives the new 2D joints.
    j3 = pc.joints_3d_cam
    proj = j3[..., :2] / j3[..., 2:] * pc.cam_f[:, None] + pc.cam_c[:, None]
    np.testing.assert_allclose(proj, pc.joints_2d, atol=2e-3)
    for params in (AugmentParams(), AugmentParams(scale=1.25, rot_deg=-50.0, flip=True)):
        for i in range(3):
            a_full, _ = crop_transform(
                recs.box[i], (64, 64), recs.image_size[i, 0], params.scale, params.rot_deg, params.flip
            )
            a_crop, _ = crop_transform(
                pc.box[i], (64, 64), pc.image_size[i, 0], params.scale, params.rot_deg, params.flip
            )
            np.testing.assert_allclose(
                apply_affine(recs.joints_2d[i].astype(np.float64), a_full),
                apply_affine(pc.joints_2d[i].astype(np.float64), a_crop),
                atol=2e-3,
            )
            t_full, _ = encode(recs.joints_2d[i], recs.joints_vis[i], recs.joints_3d_cam[i], a_full, (64, 64))
            t_crop, _ = encode(pc.joints_2d[i], pc.joints_vis[i], pc.joints_3d_cam[i], a_crop, (64, 64))
            np.testing.assert_allclose(t_full, t_crop, atol=1e-4)
    full = PoseDataset(recs, (64, 64))[1]["image"]
    cached = PoseDataset(pc, (64, 64))[1]["image"]
    assert (full - cached).abs().mean() < (0.12 if max_side is None else 0.6)  # JPEG re-encode (+ resize)


def test_precrop_scales_the_head_size_with_the_pixels(make_table: Callable[..., PoseRecords], tmp_path: Path) -> None:
    import dataclasses

    recs = make_table(n=2, size=(640, 480))
    recs = dataclasses.replace(recs, head_size=np.array([40.0, np.nan], np.float32))
    pc = precrop_records(recs, tmp_path / "pc", max_side=64)
    k = pc.box[:, 2] / recs.box[:, 2]  # the isotropic pixel scale of each crop
    assert (k < 1).all()
    np.testing.assert_allclose(pc.head_size[0], 40.0 * k[0], rtol=1e-5)
    assert np.isnan(pc.head_size[1])

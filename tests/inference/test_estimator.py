"""PoseEstimator on a tiny random model: shapes, units, reprojection, batching, flip test, ONNX parity, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from integral_pose.inference.estimator import PoseEstimator, check_intrinsics, load_intrinsics_json
from integral_pose.inference.person_detector import onnxruntime_available
from integral_pose.inference.results import PoseResult
from integral_pose.skeletons import H36M_18


@pytest.fixture(scope="module")
def est(tiny_checkpoint: Path) -> PoseEstimator:
    return PoseEstimator.from_checkpoint(tiny_checkpoint, detector="full")


def _image(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_single_image_result(est: PoseEstimator) -> None:
    r = est(_image(), boxes=[[30, 10, 60, 100]])
    assert isinstance(r, PoseResult) and r.num_people == 1
    assert r.keypoints_2d.shape == (1, 18, 2) and r.keypoints_3d.shape == (1, 18, 3)
    assert r.joint_names == H36M_18.joint_names and r.box_source == "user" and r.root_from == "fov_guess"
    assert r.units["keypoints_3d_rel"].startswith("mm")
    assert ((r.scores >= 0) & (r.scores <= 1)).all() and r.scores.std() > 0.01  # a real per-joint confidence
    np.testing.assert_allclose(r.keypoints_3d_rel[:, 0], 0.0, atol=1e-9)  # root-relative
    # the crop of a 60x100 box grown to a square is 100 px wide around the box centre: joints lie inside it
    assert (np.abs(r.keypoints_2d[..., 0] - 60.0) <= 50.0 + 1e-6).all()
    assert (np.abs(r.keypoints_2d[..., 1] - 60.0) <= 50.0 + 1e-6).all()
    # FOV guess: f = (W / 2) / tan(55° / 2), principal point at the centre
    np.testing.assert_allclose(r.K[0, 0], 80.0 / np.tan(np.radians(27.5)))
    np.testing.assert_allclose(r.K[:2, 2], [79.5, 59.5])


def test_absolute_pose_reprojects_onto_the_2d_joints(est: PoseEstimator) -> None:
    K = np.array([[200.0, 0.0, 70.0], [0.0, 210.0, 65.0], [0.0, 0.0, 1.0]])
    r = est(_image(seed=1), boxes=[[30, 10, 60, 100]], intrinsics=K)
    assert r.root_from == "intrinsics" and r.fov_deg is None
    np.testing.assert_allclose(r.K, K)
    p = r.keypoints_3d[0]
    assert (p[:, 2] > 0).all()
    uv = p[:, :2] / p[:, 2:] * [200.0, 210.0] + [70.0, 65.0]
    err = np.linalg.norm(uv - r.keypoints_2d[0], axis=1)
    assert np.median(err) < 0.1 * 100  # weak-perspective pose within the crop: small residual vs a 100 px crop
    np.testing.assert_allclose(r.keypoints_3d - r.keypoints_3d[:, :1], r.keypoints_3d_rel, atol=1e-6)


def test_list_in_list_out_equals_single_calls_and_bgr(est: PoseEstimator) -> None:
    a, b = _image(seed=2), _image(100, 90, seed=3)
    many = est([a, b], boxes=[[[10, 10, 50, 80], [60, 5, 40, 90]], None])
    assert isinstance(many, list) and [m.num_people for m in many] == [2, 1]
    assert many[1].box_source == "full"
    one = est(a, boxes=[[10, 10, 50, 80], [60, 5, 40, 90]])
    np.testing.assert_allclose(many[0].keypoints_2d, one.keypoints_2d, atol=1e-3)
    np.testing.assert_allclose(many[0].scores, one.scores, atol=1e-5)
    bgr = est(np.ascontiguousarray(a[:, :, ::-1]), boxes=[[10, 10, 50, 80], [60, 5, 40, 90]], color="bgr")
    np.testing.assert_allclose(bgr.keypoints_2d, one.keypoints_2d, atol=1e-6)
    empty = est(a, boxes=np.zeros((0, 4)))
    assert empty.num_people == 0 and empty.keypoints_3d.shape == (0, 18, 3)


def test_flip_test_averages_with_the_mirrored_crop(est: PoseEstimator) -> None:
    from integral_pose.data.codec import crop_image, decode, flip_normalized, normalize_patch

    img, box = _image(seed=4), np.array([30.0, 10.0, 60.0, 100.0])
    r = est(img, boxes=[box], flip_test=True)
    assert r.flip_test
    c = est.contract
    patch, _, inv = crop_image(img, box, c.patch_size)
    x = torch.from_numpy(normalize_patch(patch[:, :, ::-1], c.mean, c.std)[None])
    graph = est._backend.graph
    with torch.inference_mode():
        c0, _ = graph(x)
        c1, _ = graph(torch.flip(x, dims=[3]))
    avg = 0.5 * (c0.double().numpy() + flip_normalized(c1.double().numpy(), c.flip_permutation, c.patch_width))
    uv, _ = decode(avg, inv[None], c.patch_size, c.rect_3d_mm)
    np.testing.assert_allclose(r.keypoints_2d, uv, atol=1e-3)
    plain = est(img, boxes=[box])
    assert np.abs(plain.keypoints_2d - r.keypoints_2d).max() > 1e-3


def test_onnx_backend_matches_torch(est: PoseEstimator, tiny_onnx: Path) -> None:
    onnx_est = PoseEstimator.from_checkpoint(tiny_onnx, backend="onnx", detector="full")
    assert onnx_est.backend == "onnx" and onnx_est.joint_names == est.joint_names
    img = _image(seed=5)
    a = est(img, boxes=[[20, 10, 70, 100], [5, 5, 40, 40]], flip_test=True)
    b = onnx_est(img, boxes=[[20, 10, 70, 100], [5, 5, 40, 40]], flip_test=True)
    np.testing.assert_allclose(b.keypoints_2d, a.keypoints_2d, atol=1e-2)
    np.testing.assert_allclose(b.keypoints_3d_rel, a.keypoints_3d_rel, atol=0.5)
    np.testing.assert_allclose(b.scores, a.scores, atol=1e-4)


def test_detector_default_and_provenance(tiny_checkpoint: Path, assets_dir: Path) -> None:
    est = PoseEstimator.from_checkpoint(tiny_checkpoint)  # "auto": SSDLite with onnxruntime, else HOG
    r = est(assets_dir / "coco_sample" / "000000000785.jpg")
    expected = "ssdlite" if onnxruntime_available() else "hog"
    assert r.box_source == expected and r.num_people >= 1 and r.name == "000000000785"
    hog = PoseEstimator.from_checkpoint(tiny_checkpoint, detector="hog")
    assert hog(assets_dir / "coco_sample" / "000000000785.jpg").box_source == "hog"


def test_bad_inputs(est: PoseEstimator, tmp_path: Path) -> None:
    img = _image()
    with pytest.raises(TypeError, match="unexpected keyword"):
        est(img, box=[[0, 0, 10, 10]])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="uint8"):
        est(img.astype(np.float32))
    with pytest.raises(TypeError, match="uint8"):
        est(np.full((10, 10, 3), np.nan))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        est(img[:, :, 0])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        est(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        est(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(TypeError, match="file path"):
        est(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="color"):
        est(img, color="hsv")
    with pytest.raises(ValueError, match="finite"):
        est(img, boxes=[[np.nan, 0, 10, 10]])
    with pytest.raises(ValueError, match="zero or negative area"):
        est(img, boxes=[[10, 10, 0, 10]])
    with pytest.raises(ValueError, match="entirely outside"):
        est(img, boxes=[[500, 10, 20, 20]])
    with pytest.raises(ValueError, match="one per image"):
        est([img, img], boxes=[[[0, 0, 10, 10]]])
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        est(img, intrinsics=np.eye(2))
    with pytest.raises(ValueError, match="focal"):
        est(img, intrinsics=[[-100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    with pytest.raises(ValueError, match="finite"):
        est(img, intrinsics=[[np.nan, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    with pytest.raises(ValueError, match="fov_deg"):
        est(img, fov_deg=0.0)
    with pytest.raises(FileNotFoundError):
        est(tmp_path / "missing.jpg")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot decode"):
        est(bad)


def test_bad_checkpoints(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PoseEstimator.from_checkpoint(tmp_path / "none.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ValueError, match=r"corrupt|not a readable"):
        PoseEstimator.from_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not an integral-pose checkpoint"):
        PoseEstimator.from_checkpoint(foreign)
    with pytest.raises(ValueError, match="backend"):
        PoseEstimator.from_checkpoint(tiny_checkpoint, backend="tensorrt")
    with pytest.raises(ValueError, match="device"):
        PoseEstimator.from_checkpoint(tiny_checkpoint, device="tpu")
    fake_onnx = tmp_path / "m.onnx"
    fake_onnx.write_bytes(b"junk")
    with pytest.raises(ValueError, match="backend='onnx'"):
        PoseEstimator.from_checkpoint(fake_onnx)
    with pytest.raises(ValueError, match="ONNX"):
        PoseEstimator.from_checkpoint(fake_onnx, backend="onnx")


def test_intrinsics_json(tmp_path: Path) -> None:
    K = [[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]]
    for i, content in enumerate(({"K": K}, {"fx": 500.0, "fy": 510.0, "cx": 320.0, "cy": 240.0}, K)):
        f = tmp_path / f"k{i}.json"
        f.write_text(json.dumps(content))
        np.testing.assert_allclose(load_intrinsics_json(f), K)
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"focal": 3}))
    with pytest.raises(ValueError, match="must hold"):
        load_intrinsics_json(f)
    with pytest.raises(ValueError, match=r"skew|expected"):
        check_intrinsics([[500.0, 3.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]])

"""Issue 13 item 5: direct-regression checkpoints in ``ipr predict``, the Python API and ``ipr export``.

A direct model has no heat map, so its per-joint scores are 1.0 (documented in docs/inference.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from integral_pose.build import build_model
from integral_pose.cli.main import main
from integral_pose.config.schema import Config, DataConfig, ModelConfig
from integral_pose.engine.checkpoint import save_checkpoint
from integral_pose.export.onnx import contract_from_onnx
from integral_pose.inference.estimator import PoseEstimator
from integral_pose.skeletons import H36M_18


@pytest.fixture(scope="module")
def direct_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    cfg = Config(
        model=ModelConfig(backbone="resnet18", arch="direct"), data=DataConfig(patch_width=64, patch_height=64)
    )
    model = build_model(cfg.model).eval()
    with torch.no_grad():  # spread the outputs over the patch (a fresh head predicts ~0 for every joint)
        for p in model.head.parameters():
            p.normal_(0.0, 0.05 if p.ndim > 1 else 0.2)
    return save_checkpoint(tmp_path_factory.mktemp("direct") / "direct.pt", model, cfg, H36M_18.joint_names)


def _image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)


def test_python_api_torch_and_onnx(direct_ckpt: Path) -> None:
    box = [[30.0, 10.0, 60.0, 100.0]]
    r = PoseEstimator.from_checkpoint(direct_ckpt, detector="full")(_image(), boxes=box)
    assert r.keypoints_3d.shape == (1, 18, 3) and np.isfinite(r.keypoints_3d).all()
    np.testing.assert_array_equal(r.scores, 1.0)  # no heat map: no confidence
    assert PoseEstimator.from_checkpoint(direct_ckpt).contract.arch == "direct"
    ro = PoseEstimator.from_checkpoint(direct_ckpt, backend="onnx", detector="full")(_image(), boxes=box)
    np.testing.assert_allclose(ro.keypoints_3d_rel, r.keypoints_3d_rel, atol=0.5)  # mm; float32 graph
    np.testing.assert_array_equal(ro.scores, 1.0)


def test_ipr_export_and_predict(direct_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "direct.onnx"
    assert main(["export", "--checkpoint", str(direct_ckpt), "--dynamic-batch", "--out", str(out)]) == 0
    contract = contract_from_onnx(out)
    assert contract.arch == "direct" and contract.pose_codec.heatmap_width == 0
    img = tmp_path / "person.png"
    cv2.imwrite(str(img), _image())
    boxes = tmp_path / "boxes.json"
    boxes.write_text(json.dumps({"format": "xywh", "boxes": [[30, 10, 60, 100]]}))
    for ckpt in (direct_ckpt, out):
        dest = tmp_path / f"json_{ckpt.suffix[1:]}"
        code = main(["predict", "--checkpoint", str(ckpt), "--source", str(img), "--boxes", str(boxes),
                     "--save-json", str(dest)])  # fmt: skip
        assert code == 0
        (result,) = dest.glob("*.json")
        data = json.loads(result.read_text())
        assert np.asarray(data["keypoints_3d"], dtype=float).shape == (1, 18, 3)
        np.testing.assert_array_equal(np.asarray(data["scores"], dtype=float), 1.0)

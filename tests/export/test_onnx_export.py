"""Export: ONNX contract in the metadata, onnxruntime parity, static batch, parity failure, pt2, the graph's numbers."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from integral_pose.cli.main import main
from integral_pose.export import onnx as ex
from integral_pose.skeletons import H36M_18


def test_onnx_metadata_states_the_contract(tiny_onnx: Path) -> None:
    proto = onnx.load(str(tiny_onnx))
    meta = {p.key: p.value for p in proto.metadata_props}
    c = ex.ModelContract.from_json(meta[ex.CONTRACT_KEY])
    assert (c.patch_width, c.patch_height) == (64, 64)
    assert c.channel_order == "RGB" and meta["integral_pose.channel_order"] == "RGB"
    assert json.loads(meta["integral_pose.mean"]) == [123.675, 116.28, 103.53]
    assert json.loads(meta["integral_pose.std"]) == [58.395, 57.12, 57.375]
    assert json.loads(meta["integral_pose.joint_names"]) == list(H36M_18.joint_names)
    assert "x_n = u_patch / patch_w - 0.5" in meta["integral_pose.coordinates"]
    assert c.rect_3d_mm == 2000.0 and c.depth_bins == 16 and (c.heatmap_width, c.heatmap_height) == (16, 16)
    assert c.flip_pairs == H36M_18.flip_pairs and c.root_index == 0
    assert ex.contract_from_onnx(tiny_onnx) == c
    inp = proto.graph.input[0]
    assert inp.name == "crops"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [3, 64, 64]  # dynamic batch
    assert [o.name for o in proto.graph.output] == ["coords", "scores"]


def test_onnxruntime_parity_on_fresh_crops(tiny_checkpoint: Path, tiny_onnx: Path) -> None:
    model, contract = ex.load_pose_model(tiny_checkpoint)
    graph = ex.build_pose_graph(model, contract)
    worst = ex.check_onnx_parity(graph, contract, str(tiny_onnx), batch_sizes=(2, 5), seed=7)
    assert worst <= 1e-4
    session = ex.ort_session(tiny_onnx)
    x = np.random.default_rng(1).standard_normal((4, 3, 64, 64)).astype(np.float32)
    coords, scores = session.run(["coords", "scores"], {"crops": x})
    assert coords.shape == (4, 18, 3) and scores.shape == (4, 18)
    assert (coords >= -0.5).all() and (coords < 0.5).all() and ((scores >= 0) & (scores <= 1)).all()


def test_graph_equals_the_public_integral_op(tiny_checkpoint: Path) -> None:
    from integral_pose.geometry.integral import joint_confidence_3d, soft_argmax_3d_normalized
    from integral_pose.models.posenet import logits_to_volume

    model, contract = ex.load_pose_model(tiny_checkpoint)
    graph = ex.build_pose_graph(model, contract)
    x = torch.randn(3, 3, 64, 64)
    with torch.inference_mode():
        coords, scores = graph(x)
        volume = logits_to_volume(model(x), 18, 16)
        ref_c = soft_argmax_3d_normalized(volume)
        ref_s = joint_confidence_3d(volume)
    torch.testing.assert_close(coords, ref_c, atol=1e-6, rtol=0)
    torch.testing.assert_close(scores, ref_s, atol=1e-6, rtol=0)


def test_parity_failure_is_loud_and_writes_nothing(
    tiny_checkpoint: Path, tiny_onnx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, contract = ex.load_pose_model(tiny_checkpoint)
    with torch.no_grad():  # the PyTorch side now disagrees with the exported file
        bias = next(p for n, p in model.head.named_parameters() if n.endswith("bias") and p.numel() == 288)
        bias.add_(3.0 * torch.randn_like(bias))
    graph = ex.build_pose_graph(model, contract)
    monkeypatch.setattr(ex, "onnx_bytes", lambda *a, **k: tiny_onnx.read_bytes())
    out = tmp_path / "bad.onnx"
    with pytest.raises(ex.ExportParityError, match="not written"):
        ex.export_onnx(graph, contract, out)
    assert list(tmp_path.iterdir()) == []


def test_static_batch_export_and_static_onnx_estimator(tiny_checkpoint: Path, tmp_path: Path) -> None:
    from integral_pose.inference.estimator import PoseEstimator

    out = tmp_path / "static.onnx"
    report = ex.export_checkpoint(tiny_checkpoint, out, fmt="onnx", dynamic_batch=False, batch_size=2)
    assert report.max_abs_diff <= 1e-4 and report.batch_sizes_checked == (2,)
    dims = [d.dim_value for d in onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 3, 64, 64]
    img = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    boxes = [[5, 5, 40, 60], [50, 10, 40, 70], [20, 20, 30, 30]]  # 3 crops through a batch-2 model: padded
    a = PoseEstimator.from_checkpoint(out, backend="onnx", detector="full")(img, boxes=boxes)
    b = PoseEstimator.from_checkpoint(tiny_checkpoint, detector="full")(img, boxes=boxes)
    np.testing.assert_allclose(a.keypoints_2d, b.keypoints_2d, atol=1e-2)


def test_pt2_export_via_cli(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.pt2"
    assert main(["export", "--checkpoint", str(tiny_checkpoint), "--format", "pt2", "--dynamic-batch",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "max |diff|" in capsys.readouterr().out
    program = torch.export.load(str(out)).module()
    x = torch.randn(3, 3, 64, 64)
    model, contract = ex.load_pose_model(tiny_checkpoint)
    with torch.inference_mode():
        got, ref = program(x), ex.build_pose_graph(model, contract)(x)
    torch.testing.assert_close(got[0], ref[0], atol=1e-5, rtol=0)
    with zipfile.ZipFile(out) as zf:
        name = next(n for n in zf.namelist() if n.endswith("integral_pose_contract.json"))
        assert ex.ModelContract.from_json(zf.read(name).decode()) == contract


def test_export_cli_errors(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    assert (
        main(["export", "--checkpoint", str(tiny_checkpoint), "--opset", "11", "--out", str(tmp_path / "a.onnx")]) == 2
    )
    assert "opset" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown keys"):
        ex.ModelContract.from_json(json.dumps({"patch_width": 1, "colour": "x"}))

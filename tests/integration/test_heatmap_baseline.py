"""The heat-map baseline end to end on tiny data: a few training steps (finite heat-map MSE, logged terms), a
checkpoint that rebuilds as ``arch == "heatmap"``, evaluation with the flip test, and a clear refusal by the
integral-only inference path."""

from __future__ import annotations

import math

import pytest

from integral_pose.config.io import load_config
from integral_pose.engine.checkpoint import model_from_checkpoint
from integral_pose.engine.evaluator import evaluate
from integral_pose.engine.logging import read_metrics
from integral_pose.engine.trainer import train
from integral_pose.export.onnx import load_pose_model


def test_heatmap_train_then_eval(tiny_data, tiny_config, tmp_path):
    overrides = ["train.epochs=1", "train.max_steps_per_epoch=3", "data.val=[]", "loss.heatmap_sigma=1.5"]
    cfg = load_config(tiny_config(tiny_data, tmp_path, arch="heatmap"), overrides)
    assert cfg.model.arch == "heatmap" and cfg.model.output_3d
    result = train(cfg, quiet=True)
    assert result.steps == 3 and math.isfinite(result.last_loss) and result.last_loss > 0
    steps = read_metrics(tmp_path / "run" / "metrics.jsonl", kind="step")
    assert steps and all(math.isfinite(s["heatmap_mse"]) and math.isfinite(s["coord"]) for s in steps)
    assert steps[-1]["loss"] == pytest.approx(steps[-1]["heatmap_mse"])

    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    model, _ = model_from_checkpoint(ckpt)
    assert model.arch == "heatmap"
    res = evaluate(cfg, [ckpt], tmp_path / "eval", flip_test=True, report=False)
    assert res["arch"] == "heatmap" and res["flip_test"] is True and res["num_samples"] == 8
    for key in ("mpjpe", "pa_mpjpe"):
        assert math.isfinite(res[key]), key

    with pytest.raises(ValueError, match=r"integral 3D model .* got arch 'heatmap'"):
        load_pose_model(ckpt)

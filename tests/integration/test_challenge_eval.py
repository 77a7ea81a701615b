"""Issue 13: ``ipr eval`` end to end on records read from the ECCV'18 challenge layout (no intrinsics).

A tiny random challenge-recipe model (depth normalised by the box, test-time bone-length rescale) is scored on a
small fixture written in the challenge layout (``Val/IMG/*.jpg``, ``Val/POSE/*.csv`` and a 2D-joint JSON); the
command prints MPJPE with the bone rescale, the original's rigid "align" MPJPE and PA-MPJPE.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from challenge_layout import write_challenge_val

from integral_pose.build import build_model
from integral_pose.cli.main import main
from integral_pose.config.schema import Config, DataConfig, DatasetSpec, EvalConfig, ModelConfig
from integral_pose.engine.checkpoint import save_checkpoint
from integral_pose.skeletons import H36M_18


def test_ipr_eval_on_challenge_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = write_challenge_val(tmp_path / "challenge")
    spec = DatasetSpec(kind="h36m_challenge", records=str(records), box="tight", depth_norm="box")
    cfg = Config(
        model=ModelConfig(backbone="resnet18", depth_bins=16, deconv_filters=8, joint_set="h36m18"),
        data=DataConfig(patch_width=64, patch_height=64, train=(spec,), test=(spec,), num_workers=0),
        eval=EvalConfig(protocol="h36m_p2", flip_test=True, bone_length_rescale=4502.881, batch_size=2),
    )
    torch.manual_seed(0)
    model = build_model(cfg.model)
    with torch.no_grad():  # peaked heat maps, so the joints spread out (a fresh head predicts them all at one spot)
        for p in model.head.parameters():
            p.normal_(0.0, 0.3 if p.ndim > 1 else 2.0)
    ckpt = save_checkpoint(tmp_path / "chall.pt", model, cfg, H36M_18.joint_names)
    out = tmp_path / "eval"
    code = main(["eval", "--checkpoint", str(ckpt), "--protocol", "h36m_challenge", "--out", str(out),
                 "--device", "cpu"])  # fmt: skip
    captured = capsys.readouterr()
    printed = captured.out
    assert code == 0, captured.err
    assert "bone length 4502.881" in printed
    for label in ("MPJPE", "align-MPJPE (rigid, no scale)", "PA-MPJPE"):
        assert f"{label} " in printed
    res = json.loads((out / "eval.json").read_text())
    assert res["num_samples"] == 4 and res["protocol"] == "h36m_challenge"
    for key in ("mpjpe", "align_mpjpe", "pa_mpjpe"):
        assert math.isfinite(res[key]) and res[key] > 0
    # a rigid fit without scale can only lower the error of a root-centred pose; a similarity fit even more
    assert res["pa_mpjpe"] <= res["align_mpjpe"] <= res["mpjpe"] + 1e-6
    assert "solved_root" not in res  # no intrinsics in the challenge layout
    assert (out / "report.png").stat().st_size > 0

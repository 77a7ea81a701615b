"""``ipr pretrain`` on a tiny budget: both heads train on one backbone, files and curves are written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from integral_pose.config.io import load_config
from integral_pose.data.sources.synthmocap import generate_synthmocap
from integral_pose.engine.checkpoint import model_from_checkpoint
from integral_pose.engine.pretrain import StreamSampler, _lr_at, pretrain

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "configs" / "synthmocap" / "r18w25_64_int16_l1_synth_pretrain.yaml"


@pytest.fixture(scope="module")
def test_records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    return generate_synthmocap(out, frames_train=1, frames_test=6, size=96, progress=False)["test"]


def test_pretrain_tiny_run_writes_both_models_and_curves(tmp_path: Path, test_records: Path) -> None:
    cfg = load_config(RECIPE, [
        "model.backbone_width=0.125", "model.deconv_filters=16", "model.depth_bins=8", "train.batch_size=2",
        "data.num_workers=0", "data.train=[{kind: synthmocap_live, size: 10}]", "optim.warmup_steps=0",
        f"data.test=[{{kind: synthmocap, records: '{test_records}'}}]", "eval.batch_size=6",
    ])  # fmt: skip
    summary = pretrain(cfg, tmp_path, steps=4, eval_every=2, quiet=True)
    assert [c["step"] for c in summary["curves"]] == [2, 4]
    for key in ("integral_mpjpe", "direct_mpjpe", "loss_integral", "loss_direct"):
        assert all(torch.isfinite(torch.tensor(c[key])) for c in summary["curves"]), key
    integral, _ = model_from_checkpoint(tmp_path / "integral.pt")
    direct, _ = model_from_checkpoint(tmp_path / "direct.pt")
    assert integral.arch == "integral" and direct.arch == "direct"
    # one backbone: the two saved models carry identical backbone weights
    for k, v in integral.backbone.state_dict().items():
        assert torch.equal(v, direct.backbone.state_dict()[k]), k
    half, _ = model_from_checkpoint(tmp_path / "model_fp16.pt")
    w16 = half.backbone.conv1.weight
    assert torch.allclose(w16.float(), integral.backbone.conv1.weight.half().float())
    assert (tmp_path / "curves.json").is_file() and (tmp_path / "state.pt").is_file()


def test_stream_sampler_and_schedule() -> None:
    assert list(StreamSampler(3, 2, 6)) == [(2, 0), (0, 1), (1, 1), (2, 1)]
    with pytest.raises(ValueError):
        StreamSampler(0, 0, 1)
    cfg = load_config(RECIPE, ["optim.warmup_steps=10"])
    assert _lr_at(0, 100, cfg, 0.1) == pytest.approx(1e-4)
    assert _lr_at(50, 100, cfg, 0.1) == pytest.approx(1e-3)
    assert _lr_at(90, 100, cfg, 0.1) == pytest.approx(1e-4)

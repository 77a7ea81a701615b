"""End to end on tiny data: ``ipr train`` 2 epochs → ``ipr eval`` → files exist and metrics are finite; config
errors exit with code 2 and one line; a fresh run never overwrites another run's checkpoints."""

from __future__ import annotations

import json
import math

import pytest

from integral_pose.config.io import load_config
from integral_pose.engine.checkpoint import load_checkpoint
from integral_pose.engine.logging import read_metrics
from integral_pose.engine.trainer import train


def test_cli_train_then_eval(tiny_data, tiny_config, ipr, tmp_path):
    cfg = tiny_config(tiny_data, tmp_path)
    r = ipr("train", "--config", str(cfg), "--quiet")
    assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "checkpoints/last.pt", "checkpoints/epoch_0002.pt"):
        assert (run / name).is_file(), name
    epochs = read_metrics(run / "metrics.jsonl", kind="epoch")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all(math.isfinite(e["loss"]) and math.isfinite(e["val_mpjpe"]) for e in epochs)
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 2

    r = ipr("eval", "--checkpoint", str(run / "checkpoints" / "last.pt"), "--flip-test", "--root-depth", "solve")
    assert r.returncode == 0, r.stderr
    assert "MPJPE" in r.stdout and "PA-MPJPE" in r.stdout
    res = json.loads((run / "eval" / "eval.json").read_text())
    assert res["num_samples"] == 8 and res["flip_test"] is True
    for key in ("mpjpe", "pa_mpjpe", "n_mpjpe", "auc", "pck150"):
        assert math.isfinite(res[key]), key
    assert res["pa_mpjpe"] <= res["mpjpe"] + 1e-6  # Procrustes can only lower the error
    assert set(res["per_action"]) == {"walk", "jump"}
    assert math.isfinite(res["solved_root"]["mrpe"])
    png = (run / "eval" / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_fast_dev_run_writes_nothing(tiny_data, tiny_config, ipr, tmp_path):
    cfg = tiny_config(tiny_data, tmp_path)
    r = ipr("train", "--config", str(cfg), "--fast-dev-run", "1")
    assert r.returncode == 0, r.stderr
    assert "dry run" in r.stdout
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("optim.lrr=0.1", "did you mean 'lr'"),
        ("train.epochs=two", "train.epochs: expected int"),
        ("optim.milestones=[5,3]", "optim.milestones: expected strictly increasing"),
    ],
)
def test_config_errors_exit_2_with_one_line(tiny_data, tiny_config, ipr, tmp_path, override, needle):
    cfg = tiny_config(tiny_data, tmp_path)
    r = ipr("train", "--config", str(cfg), override)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0]
    assert not (tmp_path / "run").exists()


def test_fresh_run_refuses_existing_checkpoints(tiny_data, tiny_config, tmp_path):
    cfg = load_config(tiny_config(tiny_data, tmp_path), ["train.epochs=1", "train.max_steps_per_epoch=1"])
    train(cfg, quiet=True)
    with pytest.raises(FileExistsError, match="--resume auto"):
        train(cfg, quiet=True)

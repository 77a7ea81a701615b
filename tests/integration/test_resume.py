"""Never lose a run: resume exactness (bit for bit, 0 and 2 workers), SIGKILL mid-epoch, interrupted checkpoint
save, non-finite loss and unreadable-image guard rails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from integral_pose.cli.train import summary
from integral_pose.config.io import load_config
from integral_pose.engine.checkpoint import load_checkpoint
from integral_pose.engine.logging import read_metrics
from integral_pose.engine.trainer import BadImageError, NonFiniteLossError, find_resume_checkpoint, train


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    assert wa.keys() == wb.keys()
    diff = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not diff, f"{len(diff)} of {len(wa)} tensors differ, e.g. {diff[:3]}"


@pytest.fixture(scope="module")
def straight(tiny_data, tiny_config, tmp_path_factory) -> Path:
    """Last checkpoint of an uninterrupted 2-epoch run (num_workers 0)."""
    folder = tmp_path_factory.mktemp("straight")
    train(load_config(tiny_config(tiny_data, folder)), quiet=True)
    return folder / "run" / "checkpoints" / "last.pt"


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_is_bit_exact(tiny_data, tiny_config, tmp_path, straight, workers):
    cfg_path = tiny_config(tiny_data, tmp_path, workers=workers)
    first = train(load_config(cfg_path, ["train.epochs=1"]), quiet=True)
    assert first.epochs == 1
    second = train(load_config(cfg_path), resume="auto", quiet=True)
    assert (second.epochs, second.steps) == (2, 8)
    _assert_same_weights(straight, tmp_path / "run" / "checkpoints" / "last.pt")
    a, b = load_checkpoint(straight), load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    assert all(torch.equal(a["optimizer"]["state"][k]["exp_avg"], b["optimizer"]["state"][k]["exp_avg"])
               for k in a["optimizer"]["state"])  # fmt: skip
    assert [r["kind"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "resume"]


def test_resume_says_where_it_continues_and_a_finished_run_says_so(tiny_data, tiny_config, tmp_path, capsys):
    cfg_path = tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, ["train.epochs=1", "data.val=[]"]), quiet=True)
    capsys.readouterr()
    done = train(load_config(cfg_path, ["train.epochs=1", "data.val=[]"]), resume="auto", quiet=True)
    err = capsys.readouterr().err
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert done.already_complete and done.resumed_from == last and (done.epochs, done.steps) == (1, 4)
    assert done.history == []
    assert f"resume: {last} is epoch 1 of 1 (step 4): the run is already complete" in err
    line = summary(done)
    assert line.startswith("run already complete: 1 epoch(s), 4 steps") and "nan" not in line
    more = train(load_config(cfg_path, ["data.val=[]"]), resume="auto", quiet=True)
    err = capsys.readouterr().err
    assert f"resume: continuing from {last} (epoch 1 of 2 done, step 4)" in err
    assert not more.already_complete and (more.epochs, more.steps) == (2, 8)
    assert "final loss nan" not in summary(more)


def test_sigkill_mid_epoch_resumes_from_last_checkpoint(tiny_data, tiny_config, tmp_path, straight):
    cfg_path = tiny_config(tiny_data, tmp_path)
    metrics = tmp_path / "run" / "metrics.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "integral_pose.cli.main", "train", "--config", str(cfg_path), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:  # wait for the first step of epoch 2
            if metrics.is_file() and any(r.get("epoch") == 2 for r in read_metrics(metrics, kind="step")):
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    assert load_checkpoint(last)["epoch"] == 1, "the kill should land inside epoch 2"
    assert find_resume_checkpoint(tmp_path / "run") == last
    assert not list((tmp_path / "run" / "checkpoints").glob("*.tmp"))
    result = train(load_config(cfg_path), resume="auto", quiet=True)
    assert result.epochs == 2
    _assert_same_weights(straight, last)


def test_interrupted_save_keeps_previous_checkpoint(tiny_data, tiny_config, tmp_path, monkeypatch):
    cfg_path = tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, ["train.epochs=1", "train.max_steps_per_epoch=1"]), quiet=True)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    before = last.read_bytes()
    real_save = torch.save

    def torn_save(obj, fh, *args, **kwargs):  # write part of the file, then die as a crash would
        real_save(obj, fh, *args, **kwargs)
        fh.truncate(100)
        raise KeyboardInterrupt("simulated kill during checkpoint write")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        train(load_config(cfg_path, ["train.max_steps_per_epoch=1"]), resume="auto", quiet=True)
    monkeypatch.setattr(torch, "save", real_save)
    assert last.read_bytes() == before
    assert load_checkpoint(last)["epoch"] == 1
    assert sorted(p.name for p in last.parent.iterdir()) == ["best.pt", "epoch_0001.pt", "last.pt"]  # no partial file


def test_corrupt_last_falls_back_to_periodic(tiny_data, tiny_config, tmp_path):
    cfg_path = tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, ["train.epochs=1", "train.max_steps_per_epoch=1"]), quiet=True)
    ckdir = tmp_path / "run" / "checkpoints"
    (ckdir / "last.pt").write_bytes(b"not a checkpoint")
    assert find_resume_checkpoint(tmp_path / "run") == ckdir / "epoch_0001.pt"


def test_nonfinite_loss_skip_or_stop(tiny_data, tiny_config, tmp_path, monkeypatch):
    import integral_pose.engine.trainer as trainer

    real = trainer.compute_loss
    calls = {"n": 0}

    def flaky(coords, target, weight, output, cfg):
        loss, terms = real(coords, target, weight, output, cfg)
        calls["n"] += 1
        if calls["n"] == 2:
            loss = loss * float("nan")
        return loss, terms

    monkeypatch.setattr(trainer, "compute_loss", flaky)
    cfg_path = tiny_config(tiny_data, tmp_path)
    res = train(load_config(cfg_path, ["train.epochs=1", "train.max_steps_per_epoch=3", "train.val_every=0"]),
                quiet=True)  # fmt: skip
    assert (res.skipped_steps, res.steps) == (1, 2)
    w = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["model"]
    assert all(torch.isfinite(t).all() for t in w.values() if t.is_floating_point())

    calls["n"] = 0
    with pytest.raises(NonFiniteLossError, match=r"step 2 .*coord=.*sample ids \[\d+, \d+, \d+, \d+\]"):
        train(load_config(cfg_path, ["train.epochs=1", "train.skip_nonfinite=false", "train.val_every=0",
                                     "train.out_dir=" + str(tmp_path / "run2")]), quiet=True)  # fmt: skip


def test_unreadable_images_are_skipped_then_bounded(tiny_data, tiny_config, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_data["train"].parent, data_dir)
    broken = sorted((data_dir / "images" / "train").iterdir())
    broken[0].write_bytes(b"\x89PNG broken")
    broken[1].unlink()
    data = {"train": data_dir / "train.npz", "test": data_dir / "test.npz"}
    cfg_path = tiny_config(data, tmp_path)
    res = train(load_config(cfg_path, ["train.epochs=1", "train.val_every=0", "train.max_bad_image_fraction=0.2"]),
                quiet=True)  # fmt: skip
    assert res.bad_images == 2 and res.epochs == 1
    with pytest.raises(BadImageError, match="2 of ~16 images"):
        train(load_config(cfg_path, ["train.epochs=1", "train.val_every=0", "train.max_bad_image_fraction=0.05",
                                     "train.out_dir=" + str(tmp_path / "run2")]), quiet=True)  # fmt: skip

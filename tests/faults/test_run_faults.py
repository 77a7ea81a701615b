"""Faults around a training run: a second run into the same folder, resume with a changed config, divergence,
kill -9 during training and during a checkpoint write (real subprocesses, real signals), stale temporaries and
the metrics log after resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from integral_pose.config.io import load_config
from integral_pose.engine.checkpoint import load_checkpoint
from integral_pose.engine.logging import read_metrics
from integral_pose.engine.runlock import LOCK_NAME, RunLock, RunLockedError
from integral_pose.engine.trainer import DivergenceError, NonFiniteLossError, train

pytestmark = pytest.mark.faults

QUICK = ["train.epochs=1", "train.max_steps_per_epoch=2", "train.val_every=0"]


def _same_weights(a: Path, b: Path) -> None:
    wa, wb = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    diff = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert wa.keys() == wb.keys() and not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"


# ------------------------------------------------------------------------------------------------ 1. run lock
def test_second_run_into_a_locked_folder_stops_naming_the_owner(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    with RunLock(tmp_path / "run"):  # this (live) process owns the folder
        res = helpers.run_ipr("train", "--config", str(cfg_path), "--quiet")
        with pytest.raises(RunLockedError, match=rf"in use by another run \(pid {os.getpid()} on host"):
            train(load_config(cfg_path, QUICK), quiet=True)
    helpers.assert_one_line_error(res.returncode, res.stderr, str(tmp_path / "run"), f"pid {os.getpid()}")
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "config.yaml").exists()


def test_stale_lock_of_a_dead_run_is_taken_over_and_released(tiny_data, tmp_path, capfd, helpers):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text('{"pid": 999999, "host": "gone", "started": 0}\n')  # left by a killed run
    train(load_config(helpers.write_tiny_config(tiny_data, tmp_path), QUICK), quiet=True)
    assert "stale lock of pid 999999" in capfd.readouterr().err
    assert not (run / LOCK_NAME).exists()  # released on exit
    with RunLock(run) as lock:  # free again
        assert lock.held


# ------------------------------------------------------------------------------------------------ 2. resume + changes
def test_resume_applies_a_changed_lr_and_saves_what_it_uses(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, QUICK), quiet=True)
    train(load_config(cfg_path, ["train.epochs=2", "train.max_steps_per_epoch=2", "train.val_every=0",
                                 "optim.lr=0.25"]), resume="auto", quiet=True)  # fmt: skip
    ck = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert ck["config"]["optim"]["lr"] == 0.25
    assert ck["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.25 * 0.5)  # milestone 2 decays by 0.5
    assert ck["scheduler"]["multistep"]["base_lrs"] == [0.25]
    changes = read_metrics(tmp_path / "run" / "metrics.jsonl", kind="config_change")
    assert [(c["key"], c["checkpoint"], c["now"]) for c in changes] == [("optim.lr", 0.001, 0.25),
                                                                         ("train.epochs", 1, 2)]  # fmt: skip


def test_resume_refuses_a_change_that_cannot_happen_mid_run(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, QUICK), quiet=True)
    with pytest.raises(ValueError, match=r"cannot change mid-run: model\.depth_bins: 8 in the checkpoint, 4 now; "
                                         r"train\.batch_size: 4 in the checkpoint, 8 now"):  # fmt: skip
        train(load_config(cfg_path, [*QUICK, "model.depth_bins=4", "train.batch_size=8"]), resume="auto", quiet=True)


# ------------------------------------------------------------------------------------------------ 3. divergence
def test_sgd_at_absurd_lr_stops_with_exit_1_before_the_integral_op_check(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    res = helpers.run_ipr("train", "--config", str(cfg_path), "--quiet", "optim.name=sgd", "optim.lr=1e30",
                  "train.val_every=0", "train.max_skipped_steps=2")  # fmt: skip
    helpers.assert_one_line_error(res.returncode, res.stderr, "ipr train: stopped:", "sample ids", expected_code=1)
    assert "expected finite logits" not in res.stderr
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()  # nothing non-finite was saved


def test_adam_at_lr_1e3_is_detected_as_divergence(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"(weight norm .* x its start value|non-finite).*sample ids"):
        train(load_config(cfg_path, ["optim.lr=1e3", "train.val_every=0", "train.divergence_patience=2"]),
              quiet=True)  # fmt: skip
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()


def test_divergence_keeps_the_last_good_checkpoint(tiny_data, tmp_path, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    train(load_config(cfg_path, QUICK), quiet=True)
    good = (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(DivergenceError, match=r"last good checkpoint is kept \(.*last\.pt\)"):
        train(load_config(cfg_path, ["train.epochs=2", "train.max_steps_per_epoch=2", "train.val_every=0",
                                     "optim.lr=1e3", "train.divergence_patience=1"]),
              resume="auto", quiet=True)  # fmt: skip
    assert (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes() == good
    assert read_metrics(tmp_path / "run" / "metrics.jsonl", kind="diverge")


# ------------------------------------------------------------------------------------------------ kill -9
def _popen_train(cfg_path: Path, prelude: str = "") -> subprocess.Popen:
    code = f"import sys{prelude}\nfrom integral_pose.cli.main import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "train", "--config", str(cfg_path), "--quiet", "--resume", "auto"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip


def _epoch_records(run: Path) -> list[int]:
    return [r["epoch"] for r in read_metrics(run / "metrics.jsonl", kind="epoch")]


def test_kill9_mid_epoch_twice_then_resume_is_bit_exact_with_a_clean_log(tiny_data, tmp_path, straight, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    run = tmp_path / "run"
    for _ in range(2):  # killed twice inside epoch 2: the log must not repeat epoch 1 or hold epoch-2 steps
        proc = _popen_train(cfg_path)
        deadline = time.monotonic() + 90
        try:
            while time.monotonic() < deadline:
                recs = read_metrics(run / "metrics.jsonl", kind="step") if (run / "metrics.jsonl").is_file() else []
                if any(r.get("epoch") == 2 for r in recs):
                    break
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL
    assert (run / LOCK_NAME).exists()  # left behind by the kill: stale, taken over below
    res = helpers.run_ipr("train", "--config", str(cfg_path), "--quiet", "--resume", "auto")
    assert res.returncode == 0, res.stderr
    _same_weights(straight / "checkpoints" / "last.pt", run / "checkpoints" / "last.pt")
    assert _epoch_records(run) == _epoch_records(straight) == [1, 2]
    steps = [r["step"] for r in read_metrics(run / "metrics.jsonl", kind="step")]
    assert steps == [r["step"] for r in read_metrics(straight / "metrics.jsonl", kind="step")]


def test_kill9_during_a_checkpoint_write_leaves_no_orphan_and_resumes_bit_exact(tiny_data, tmp_path, straight, helpers):
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    run = tmp_path / "run"
    # kill the process from inside torch.save of epoch 2's last.pt (4th save: last, epoch_0001, best, last)
    prelude = (
        "\nimport os, signal, torch\n_real, _n = torch.save, [0]\n"
        "def _save(*a, **k):\n    _n[0] += 1\n    _real(*a, **k)\n"
        "    if _n[0] == 4:\n        os.kill(os.getpid(), signal.SIGKILL)\n"
        "torch.save = _save"
    )
    proc = _popen_train(cfg_path, prelude)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    orphans = list((run / "checkpoints").glob(".last.pt.*.tmp"))
    assert orphans, "the kill should leave a temporary file behind"
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1
    res = helpers.run_ipr("train", "--config", str(cfg_path), "--quiet", "--resume", "auto")
    assert res.returncode == 0, res.stderr
    assert not list((run / "checkpoints").glob("*.tmp")), "stale temporaries must be removed on resume"
    _same_weights(straight / "checkpoints" / "last.pt", run / "checkpoints" / "last.pt")
    assert _epoch_records(run) == [1, 2]

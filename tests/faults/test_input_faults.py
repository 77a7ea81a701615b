"""Bad inputs and environment faults at the ``ipr`` boundary: each gives one clear line (exit 2, or 1 for a guard
rail), never a traceback, never a silent wrong result. Disk faults use an ``OSError``-raising shim (the suite may
run as root, where permissions do not bite)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import integral_pose.config.io as config_io
import integral_pose.engine.evaluator as evaluator
import integral_pose.fileio as fileio
from integral_pose.config.io import load_config, read_yaml
from integral_pose.config.schema import ConfigError
from integral_pose.data.dataset import PoseDataset
from integral_pose.data.io import ImageReadError
from integral_pose.data.records import load_records
from integral_pose.engine.checkpoint import CHECKPOINT_FORMAT
from integral_pose.engine.trainer import train
from integral_pose.fileio import atomic_write_bytes, check_writable_dir

pytestmark = pytest.mark.faults


class _Evil:
    def __reduce__(self) -> tuple:
        return (print, ("PAYLOAD RAN",))


def _broken_copy(tiny_data: dict[str, Path], dst: Path) -> dict[str, Path]:
    """A copy of the tiny data whose train images 0..4 are: missing, zero bytes, truncated, text, 1x1 px."""
    shutil.copytree(tiny_data["train"].parent, dst)
    imgs = sorted((dst / "images" / "train").iterdir())
    imgs[0].unlink()
    imgs[1].write_bytes(b"")
    imgs[2].write_bytes(imgs[2].read_bytes()[:60])
    imgs[3].write_text("this is not an image\n")
    cv2.imwrite(str(imgs[4]), np.zeros((1, 1, 3), np.uint8))  # the records say 96x96
    return {"train": dst / "train.npz", "test": dst / "test.npz"}


# ------------------------------------------------------------------------------------------------ 4. image size
def test_image_smaller_than_its_records_is_a_bad_image(tiny_data, tmp_path):
    data = _broken_copy(tiny_data, tmp_path / "data")
    ds = PoseDataset(load_records(data["train"]), (64, 64), on_bad_image="raise")
    with pytest.raises(ImageReadError, match=r"decoded size 1x1 px differs from the records' image_size 96x96"):
        ds[4]


def test_bad_images_of_every_kind_are_counted_skipped_and_bounded(tiny_data, tmp_path, helpers):
    data = _broken_copy(tiny_data, tmp_path / "data")
    cfg_path = helpers.write_tiny_config(data, tmp_path)
    res = train(load_config(cfg_path, ["train.epochs=1", "train.val_every=0", "train.max_bad_image_fraction=0.4"]),
                quiet=True)  # fmt: skip
    assert res.bad_images == 5  # missing, empty, truncated, text, wrong size: none trained on
    out = helpers.run_ipr("train", "--config", str(cfg_path), "--quiet", "train.epochs=1", "train.val_every=0",
                          f"train.out_dir={tmp_path / 'run2'}")  # fmt: skip
    helpers.assert_one_line_error(out.returncode, out.stderr, "stopped", "5 of ~16 images", expected_code=1)


# ------------------------------------------------------------------------------------------------ 8. YAML + overrides
def test_duplicate_yaml_key_is_rejected_with_both_lines(tmp_path, cli):
    path = tmp_path / "dup.yaml"
    path.write_text("model:\n  backbone: resnet18\noptim:\n  lr: 0.1\n  lr: 0.2\n")
    with pytest.raises(ConfigError, match=r"duplicate key 'lr' on line 5 \(first on line 4\)"):
        read_yaml(path)
    code, err = cli("train", "--config", str(path))
    assert code == 2 and "Traceback" not in err and "line 5 (first on line 4)" in err
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        load_config(None, ["eval={a: 1, a: 2}"])


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("optim.lr=abc", "optim.lr"),
        ("optim.lrr=1", "optim.lr"),
        ("train.epochs=-1", "train.epochs"),
        ("no_equals_sign", "KEY=VALUE"),
        ("model.backbone=resnet7", "model.backbone"),
        ("data.train.5.ratio=1", "data.train"),
    ],
)
def test_bad_overrides_give_one_line(tiny_data, tmp_path, cli, helpers, override, needle):
    code, err = cli("train", "--config", str(helpers.write_tiny_config(tiny_data, tmp_path)), override)
    helpers.assert_one_line_error(code, err, needle)


@pytest.mark.parametrize(
    ("text", "needle"),
    [("model: [unclosed\n", "YAML syntax error"), ("- a list\n", "mapping"), ("model: {nope: 1}\n", "model.nope")],
)
def test_bad_yaml_files_give_one_line(tmp_path, cli, helpers, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, err = cli("train", "--config", str(path))
    helpers.assert_one_line_error(code, err, needle)


# ------------------------------------------------------------------------------------------------ records
def test_truncated_and_nan_records_give_one_line(tiny_data, tmp_path, cli, helpers):
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(tiny_data["train"].read_bytes()[:300])
    arrays = dict(np.load(tiny_data["train"], allow_pickle=False))
    arrays["box"] = arrays["box"].copy()
    arrays["box"][3, 0] = np.nan
    nan = tmp_path / "nan.npz"
    np.savez(nan, **arrays)
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    for bad, needle in ((trunc, "trunc.npz"), (nan, "record 3"), (tmp_path / "absent.npz", "absent.npz")):
        code, err = cli("train", "--config", str(cfg_path), f"data.train.0.records={bad}")
        helpers.assert_one_line_error(code, err, needle)


# ------------------------------------------------------------------------------------------------ checkpoints, boxes
@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_checkpoints_and_box_files_give_one_line(straight, tmp_path, cli, helpers, capsys):
    good = straight / "checkpoints" / "last.pt"
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[:1000])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "payload": _Evil()}, evil)
    for ck, needle in ((trunc, "not a readable checkpoint"), (foreign, "not an integral-pose checkpoint"),
                       (evil, "cannot be read safely")):  # fmt: skip
        code, err = cli("eval", "--checkpoint", str(ck), "--out", str(tmp_path / "ev"))
        helpers.assert_one_line_error(code, err, needle)
    assert "PAYLOAD RAN" not in capsys.readouterr().out
    boxes = tmp_path / "boxes.json"
    boxes.write_text("[[1, 2, 3]]")
    code, err = cli("eval", "--checkpoint", str(good), "--boxes", str(boxes), "--out", str(tmp_path / "ev"))
    helpers.assert_one_line_error(code, err, "--boxes", "expected (8, 4)")


def test_truncated_video_gives_one_line(straight, tmp_path, cli, helpers):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40)
    code, err = cli("predict", "--checkpoint", str(straight / "checkpoints" / "last.pt"), "--source", str(video),
                    "--boxes", "full", "--no-progress")  # fmt: skip
    helpers.assert_one_line_error(code, err, "clip.mp4")


# ------------------------------------------------------------------------------------------------ 5. OSError
def _erofs(*args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system")


def test_read_only_output_folders_are_refused_before_work_starts(tiny_data, tmp_path, cli, helpers, monkeypatch,
                                                                  straight):  # fmt: skip
    cfg_path = helpers.write_tiny_config(tiny_data, tmp_path)
    monkeypatch.setattr(fileio.tempfile, "mkstemp", _erofs)
    code, err = cli("train", "--config", str(cfg_path))
    helpers.assert_one_line_error(code, err, "train.out_dir", "not writable", "Read-only file system",
                                  str(tmp_path / "run"))  # fmt: skip

    def must_not_run(*a, **k):
        raise AssertionError("evaluation started although its output folder is not writable")

    monkeypatch.setattr(evaluator, "evaluate", must_not_run)
    code, err = cli("eval", "--checkpoint", str(straight / "checkpoints" / "last.pt"), "--out", str(tmp_path / "ev"))
    helpers.assert_one_line_error(code, err, "--out", "not writable", str(tmp_path / "ev"))
    code, err = cli("data", "synthmocap", "--out", str(tmp_path / "synth"), "--frames", "1")
    helpers.assert_one_line_error(code, err, "--out", "not writable")


def test_disk_full_and_too_many_open_files_give_one_line_naming_the_path(tmp_path, cli, helpers, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(fileio.os, "fsync", full)
        with pytest.raises(OSError, match="No space left") as info:
            atomic_write_bytes(tmp_path / "out.bin", b"x")
    assert info.value.filename == str(tmp_path / "out.bin")
    assert not list(tmp_path.iterdir())  # no partial file, no temporary left

    def emfile(path):
        raise OSError(errno.EMFILE, "Too many open files", str(path))

    monkeypatch.setattr(config_io, "read_yaml", emfile)
    (tmp_path / "x.yaml").write_text("{}\n")
    code, err = cli("train", "--config", str(tmp_path / "x.yaml"))
    helpers.assert_one_line_error(code, err, "Too many open files", "x.yaml")


def test_output_folder_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="--out: expected a folder"):
        check_writable_dir(tmp_path / "f", "--out")

"""Our checkpoint format: round trip, prefix stripping, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from integral_pose.build import build_model
from integral_pose.config import Config, ModelConfig, config_to_dict
from integral_pose.engine import checkpoint as ck
from integral_pose.engine.checkpoint import (
    load_checkpoint,
    model_from_checkpoint,
    restore_model,
    save_checkpoint,
    strip_prefixes,
)
from integral_pose.skeletons import H36M_18

NAMES = list(H36M_18.joint_names)


def _tiny_config() -> Config:
    return Config(model=ModelConfig(backbone="resnet18", depth_bins=2, deconv_filters=8),
                  data={"patch_width": 64, "patch_height": 64})  # fmt: skip


def test_round_trip_with_training_state(tmp_path: Path) -> None:
    cfg = _tiny_config()
    model = build_model(cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 64, 64)).mean().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [269, 289])
    scaler = torch.amp.GradScaler("cpu", enabled=True)
    rng = {"torch": torch.get_rng_state(), "python": [3, (1, 2)], "numpy": torch.from_numpy(np.arange(4))}
    wrapped = nn.DataParallel(model)  # "module." keys
    path = save_checkpoint(tmp_path / "run" / "last.pt", wrapped, cfg, NAMES, optimizer=opt, scheduler=sched,
                           scaler=scaler, rng_state=rng, epoch=4, step=123, extra={"best": 0.5})  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temporary file left behind
    got = load_checkpoint(path)
    assert got["version"] == ck.CHECKPOINT_VERSION and got["epoch"] == 4 and got["step"] == 123
    assert got["joint_names"] == NAMES and got["extra"] == {"best": 0.5}
    assert got["config"] == config_to_dict(cfg)
    assert not any(k.startswith("module.") for k in got["model"])
    assert torch.equal(got["rng_state"]["torch"], torch.get_rng_state())
    opt2 = torch.optim.Adam(build_model(cfg.model).parameters(), lr=1e-3)
    opt2.load_state_dict(got["optimizer"])
    assert got["scheduler"]["milestones"] == {269: 1, 289: 1}

    model2, ckpt = model_from_checkpoint(path)
    x = torch.randn(1, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model2(x), model(x), rtol=0, atol=0)
    assert ckpt["epoch"] == 4


def test_strip_prefixes() -> None:
    t = torch.zeros(1)
    assert list(strip_prefixes({"module._orig_mod.a.b": t, "_orig_mod.module.c": t, "d": t})) == ["a.b", "c", "d"]
    with pytest.raises(ValueError, match=r"both map to 'a'"):
        strip_prefixes({"module.a": t, "a": t})


def test_interrupted_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = nn.Linear(2, 2)
    path = tmp_path / "last.pt"
    save_checkpoint(path, model, {"name": "a"}, ["x", "y"], epoch=1)
    before = path.read_bytes()

    def broken_save(obj: object, fh: object, *args: object, **kwargs: object) -> None:
        fh.write(b"partial bytes")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, {"name": "a"}, ["x", "y"], epoch=2)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]
    assert load_checkpoint(path)["epoch"] == 1


def test_non_plain_values_are_rejected_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'rng_state.numpy'.*numpy.*torch.from_numpy"):
        save_checkpoint(tmp_path / "a.pt", nn.Linear(1, 1), {}, ["x"], rng_state={"numpy": np.zeros(3)})
    with pytest.raises(TypeError, match=r"'extra.fn'"):
        save_checkpoint(tmp_path / "a.pt", nn.Linear(1, 1), {}, ["x"], extra={"fn": print})
    assert not (tmp_path / "a.pt").exists()


def test_joint_names_must_match_model(tmp_path: Path) -> None:
    model = build_model(_tiny_config().model)
    with pytest.raises(ValueError, match=r"predicts 18 joints, got 17 names"):
        save_checkpoint(tmp_path / "a.pt", model, {}, NAMES[:17])


def test_corrupt_and_truncated_files(tmp_path: Path) -> None:
    good = save_checkpoint(tmp_path / "good.pt", nn.Linear(4, 4), {}, ["a"])
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ValueError, match=r"truncated\.pt: not a readable checkpoint"):
        load_checkpoint(truncated)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(64))
    with pytest.raises(ValueError, match=r"garbage.pt"):
        load_checkpoint(garbage)
    with pytest.raises(FileNotFoundError, match=r"absent.pt"):
        load_checkpoint(tmp_path / "absent.pt")


class _Evil:
    def __reduce__(self) -> tuple:
        return (print, ("this must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_foreign_and_unsafe_files(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"format": ck.CHECKPOINT_FORMAT, "payload": _Evil()}, unsafe)
    with pytest.raises(ValueError, match=r"cannot be read safely"):
        load_checkpoint(unsafe)
    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match=r"plain.pkl"):
        load_checkpoint(plain_pickle)
    original = tmp_path / "model_epoch300.pth.tar"
    torch.save({"epoch": 300, "network": {"module.backbone.conv1.weight": torch.zeros(1)}}, original)
    with pytest.raises(ValueError, match=r"original-system checkpoint.*load_original_checkpoint"):
        load_checkpoint(original)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(ValueError, match=r"not an integral-pose checkpoint"):
        load_checkpoint(other)


def test_unknown_version_and_missing_fields(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", nn.Linear(1, 1), {}, ["a"])
    obj = torch.load(path, weights_only=True)
    obj["version"] = ck.CHECKPOINT_VERSION + 1
    torch.save(obj, path)
    with pytest.raises(ValueError, match=r"unsupported checkpoint version 2"):
        load_checkpoint(path)
    obj["version"] = 1
    del obj["joint_names"]
    torch.save(obj, path)
    with pytest.raises(ValueError, match=r"missing the fields \['joint_names'\]"):
        load_checkpoint(path)


def test_checkpoint_of_another_joint_count_or_model(tmp_path: Path) -> None:
    cfg = _tiny_config()
    model = build_model(cfg.model)
    path = save_checkpoint(tmp_path / "m.pt", model, cfg, NAMES)
    ckpt = load_checkpoint(path)
    ckpt17 = dict(ckpt, joint_names=NAMES[:17])
    with pytest.raises(ValueError, match=r"checkpoint predicts 17 joints .* model predicts 18"):
        restore_model(build_model(cfg.model), ckpt17)
    other = build_model(ModelConfig(backbone="resnet18", depth_bins=3, deconv_filters=8))
    with pytest.raises(ValueError, match=r"mis-shaped keys \(2\): head.features.9.weight expected \[54, 8, 1, 1\]"):
        restore_model(other, ckpt)

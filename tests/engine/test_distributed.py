"""Distributed helpers in a world of one, environment parsing and the global-batch rule."""

from __future__ import annotations

import pytest
import torch

from integral_pose.engine.distributed import (
    DistInfo,
    all_reduce_mean,
    check_global_batch,
    env_world,
    init_distributed,
    resolve_device,
    teardown,
)


def test_single_process_world(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    info = init_distributed("cpu")
    assert info == DistInfo(0, 1, 0, "cpu", "")
    assert info.is_main and not info.distributed
    x = torch.tensor([1.0, 2.0])
    assert all_reduce_mean(x, info) is x
    teardown(info)


def test_env_world_parses_and_checks(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert env_world() == (1, 2, 1)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK"):
        env_world()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        env_world()


def test_global_batch_rule():
    assert check_global_batch(8, 2) == 4
    with pytest.raises(ValueError, match=r"train.batch_size.*not divisible by the world size 3"):
        check_global_batch(8, 3)
    with pytest.raises(ValueError, match="batch_size"):
        check_global_batch(0, 1)


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == "cpu"
        with pytest.raises(ValueError, match="cuda"):
            resolve_device("cuda")

"""``integral_pose.build``: the 1-based learning-rate milestones, the optimiser and the model from the config."""

from __future__ import annotations

import pytest
import torch

from integral_pose.build import build_model, build_optimizer, build_schedulers, zero_based_milestones
from integral_pose.config.schema import ModelConfig, OptimConfig


def _lr_per_epoch(optim_cfg: OptimConfig, epochs: int) -> list[float]:
    """Learning rate in force during each 1-based epoch, stepping the decay after each epoch as the trainer does."""
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], optim_cfg)
    multistep, warmup = build_schedulers(opt, optim_cfg, steps_per_epoch=1)
    assert warmup is None
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        multistep.step()
    return out


def test_milestone_is_the_first_epoch_at_the_decayed_rate():
    # milestone 3 (1-based): epochs 1 and 2 at lr, epoch 3 on at lr x factor; milestone 5 decays again
    lrs = _lr_per_epoch(OptimConfig(lr=1.0, milestones=(3, 5), factor=0.1), epochs=6)
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_milestone_two_leaves_only_the_first_epoch_at_the_base_rate():
    assert _lr_per_epoch(OptimConfig(lr=2.0, milestones=(2,), factor=0.5), epochs=3) == pytest.approx([2.0, 1.0, 1.0])


def test_zero_based_milestones():
    assert zero_based_milestones([270, 90]) == [89, 269]


def test_build_model_loads_no_file_without_pretrained_and_names_a_missing_one():
    net = build_model(ModelConfig(backbone="resnet18", depth_bins=4, deconv_filters=8))
    assert net.arch == "integral" and net.num_joints == 18
    with pytest.raises(FileNotFoundError):
        build_model(ModelConfig(backbone="resnet18", depth_bins=4, pretrained="no_such_file.pth"))

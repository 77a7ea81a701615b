"""Config schema: defaults, plain constructors, type and value validation with key paths, cross-field checks."""

from __future__ import annotations

import dataclasses

import pytest

from integral_pose.config import (
    Config,
    ConfigError,
    ConfigTypeError,
    DataConfig,
    DatasetSpec,
    EpochLengthConfig,
    ModelConfig,
    OptimConfig,
    check_world_size,
    config_from_dict,
    config_to_dict,
)


def test_defaults_are_the_original_recipe() -> None:
    cfg = Config()
    assert cfg.model.backbone == "resnet50" and cfg.model.depth_bins == 64 and cfg.model.num_joints == 18
    assert cfg.data.mean == (123.675, 116.28, 103.53) and cfg.data.std == (58.395, 57.12, 57.375)
    assert cfg.augment.rot_prob == 0.6 and cfg.augment.flip_prob == 0.5 and cfg.augment.scale_factor == 0.25
    assert cfg.optim.milestones == (270, 290) and cfg.optim.factor == 0.1
    assert cfg.heatmap_size == (64, 64)
    assert cfg.model.out_channels == 18 * 64


def test_heatmap_size_for_288x384_and_fewer_deconvs() -> None:
    cfg = Config(data=DataConfig(patch_width=288, patch_height=384))
    assert cfg.heatmap_size == (96, 72)  # (H, W): 384/4, 288/4
    cfg2 = Config(model=ModelConfig(deconv_layers=2), data={"patch_width": 64, "patch_height": 128})
    assert cfg2.model.heatmap_stride == 8 and cfg2.heatmap_size == (16, 8)


def test_plain_constructor_normalises_lists_and_numbers() -> None:
    d = DataConfig(mean=[1, 2, 3], std=[1.0, 1.0, 1.0], train=[{"kind": "mpii", "records": "m.npz"}])
    assert d.mean == (1.0, 2.0, 3.0) and isinstance(d.mean[0], float)
    assert isinstance(d.train, tuple) and isinstance(d.train[0], DatasetSpec) and d.train[0].ratio == 1.0
    assert OptimConfig(lr="1e-4").lr == pytest.approx(1e-4)  # YAML 1.1 reads 1e-4 as text


def test_round_trip_dict() -> None:
    cfg = Config(
        name="x",
        model=ModelConfig(backbone="resnet152", depth_bins=72),
        data=DataConfig(
            patch_width=288,
            patch_height=384,
            train=(DatasetSpec("mpii", "a.npz"), DatasetSpec("h36m_challenge", "b.npz", 2.0, box="tight")),
            epoch_length=EpochLengthConfig(rule="fixed", num_samples=10),
        ),
    )
    d = config_to_dict(cfg)
    assert d["data"]["train"][1] == {
        "kind": "h36m_challenge",
        "records": "b.npz",
        "ratio": 2.0,
        "box": "tight",
        "depth_norm": "rect3d",
        "size": None,
        "box_aspect": "extend",
    }
    assert config_from_dict(d) == cfg


@pytest.mark.parametrize(
    ("values", "path", "needle", "exc"),
    [
        ({"modle": {}}, "modle", "did you mean 'model'", ConfigError),
        ({"optim": {"lrr": 1}}, "optim.lrr", "did you mean 'lr'", ConfigError),
        ({"model": {"backbone": "resnet51"}}, "model.backbone", "resnet152", ConfigError),
        ({"model": {"depth_bins": "64"}}, "model.depth_bins", "expected int, got str", ConfigTypeError),
        ({"model": {"output_3d": 1}}, "model.output_3d", "expected bool", ConfigTypeError),
        ({"train": {"batch_size": 3.5}}, "train.batch_size", "expected int, got float", ConfigTypeError),
        (
            {"data": {"train": [{"kind": "mpi", "records": "a"}]}},
            "data.train[0].kind",
            "did you mean 'mpii'",
            ConfigError,
        ),
        (
            {"data": {"train": [{"kind": "mpii", "records": "a", "ratio": 0}]}},
            "data.train[0].ratio",
            "> 0",
            ConfigError,
        ),
        ({"data": {"train": [{"kind": "mpii"}]}}, "data.train[0].records", "needs a path", ConfigError),
        (
            {"data": {"train": [{"kind": "synthmocap_live", "records": "a.npz"}]}},
            "data.train[0].records",
            "renders its samples",
            ConfigError,
        ),
        (
            {"data": {"train": [{"kind": "mpii", "records": "a.npz", "size": 5}]}},
            "data.train[0].size",
            "only used",
            ConfigError,
        ),
        ({"data": {"patch_width": 250}}, "data.patch_width", "multiple of 32", ConfigError),
        ({"data": {"mean": [1, 2]}}, "data.mean", "3 ×", ConfigError),
        ({"optim": {"milestones": [290, 270]}}, "optim.milestones", "increasing", ConfigError),
        ({"optim": {"name": "adamw"}}, "optim.name", "did you mean 'adam'", ConfigError),
        ({"model": {"num_joints": 17}}, "model.num_joints", "18 joints", ConfigError),
        ({"train": {"amp": "fp8"}}, "train.amp", "'bf16'", ConfigError),
        ({"augment": {"flip_prob": 1.5}}, "augment.flip_prob", "[0, 1]", ConfigError),
        ({"data": {"epoch_length": {"rule": "fixed"}}}, "data.epoch_length.num_samples", "'fixed'", ConfigError),
        ({"optim": {"warmup_epochs": 1, "warmup_steps": 10}}, "optim.warmup_steps", "not both", ConfigError),
        ({"model": {"arch": "direct"}, "loss": {"heatmap_reg": 0.1}}, "loss.heatmap_reg", "direct", ConfigError),
        ({"model": {"output_3d": False}, "eval": {"protocol": "h36m_p1"}}, "eval.protocol", "3D", ConfigError),
        ({"model": []}, "model", "mapping", ConfigTypeError),
    ],
)
def test_bad_values_name_the_key(values: dict, path: str, needle: str, exc: type) -> None:
    with pytest.raises(exc) as info:
        config_from_dict(values)
    text = str(info.value)
    if isinstance(info.value, ConfigError):
        assert info.value.path == path, text
        assert text.startswith(path + ":")
    assert needle in text, text


def test_type_error_is_both_typeerror_and_valueerror() -> None:
    with pytest.raises(TypeError):
        ModelConfig(depth_bins=[64])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ModelConfig(depth_bins=[64])  # type: ignore[arg-type]


def test_unknown_backbone_lists_all_names() -> None:
    with pytest.raises(ConfigError) as info:
        ModelConfig(backbone="vgg16")
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        assert name in str(info.value)


def test_frozen() -> None:
    cfg = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model.backbone = "resnet18"  # type: ignore[misc]


def test_world_size_check() -> None:
    cfg = Config(train={"batch_size": 48})
    assert check_world_size(cfg, 4) == 12
    with pytest.raises(ConfigError, match=r"train\.batch_size.*48.*world size 5"):
        check_world_size(cfg, 5)


def test_epoch_length_rules() -> None:
    first = EpochLengthConfig()
    assert first.num_samples_for([100, 5000], [1.0, 1.0]) == 200  # original 1:1 → 2·N_mpii
    assert first.num_samples_for([100, 5000, 9000], [1.0, 1.0, 1.0]) == 300  # 1:1:1 → 3·N_mpii
    assert EpochLengthConfig(k=1.5).num_samples_for([100, 7], [1.0, 1.0]) == 150
    assert EpochLengthConfig(rule="fixed", num_samples=64).num_samples_for([100], [1.0]) == 64


def test_box_for_falls_back_to_data_default() -> None:
    d = DataConfig(
        box_source="tight", train=[{"kind": "h36m", "records": "h.npz"}, {"kind": "mpii", "records": "m", "box": "gt"}]
    )
    assert d.box_for(d.train[0]) == "tight" and d.box_for(d.train[1]) == "gt"

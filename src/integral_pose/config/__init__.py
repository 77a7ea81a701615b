"""Run configuration: frozen dataclass sections, YAML recipes with dotted overrides, validation up front.

Example:
    >>> from integral_pose.config import Config, config_to_dict
    >>> Config().model.backbone
    'resnet50'
"""

from integral_pose.config.io import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    config_to_yaml,
    load_config,
    save_config,
)
from integral_pose.config.schema import (
    AugmentConfig,
    Config,
    ConfigError,
    ConfigTypeError,
    DataConfig,
    DatasetSpec,
    EpochLengthConfig,
    EvalConfig,
    LossConfig,
    ModelConfig,
    OptimConfig,
    TrainConfig,
    check_world_size,
)

__all__ = [
    "AugmentConfig",
    "Config",
    "ConfigError",
    "ConfigTypeError",
    "DataConfig",
    "DatasetSpec",
    "EpochLengthConfig",
    "EvalConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "apply_overrides",
    "check_world_size",
    "config_from_dict",
    "config_to_dict",
    "config_to_yaml",
    "load_config",
    "save_config",
]

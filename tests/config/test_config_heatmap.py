"""Config of the heat-map baseline: ``model.arch: heatmap``, ``loss.heatmap_sigma`` and the cross-section checks."""

from __future__ import annotations

import pytest

from integral_pose.config.io import config_from_dict
from integral_pose.config.schema import ConfigError, ConfigTypeError, LossConfig, ModelConfig


def test_heatmap_arch_and_sigma_are_accepted() -> None:
    cfg = config_from_dict(
        {
            "model": {"arch": "heatmap", "backbone": "resnet18", "depth_bins": 16},
            "data": {"patch_width": 64, "patch_height": 64},
            "loss": {"heatmap_sigma": 2},
        }
    )
    assert cfg.model.arch == "heatmap" and cfg.loss.heatmap_sigma == 2.0
    assert cfg.model.out_channels == 18 * 16 and cfg.heatmap_size == (16, 16)
    assert ModelConfig(arch="heatmap", output_3d=False).out_channels == 18
    assert LossConfig().heatmap_sigma == 1.0


@pytest.mark.parametrize(
    ("values", "path", "needle", "exc"),
    [
        ({"loss": {"heatmap_sigma": 0}}, "loss.heatmap_sigma", "> 0", ConfigError),
        ({"loss": {"heatmap_sigma": -1.5}}, "loss.heatmap_sigma", "> 0", ConfigError),
        ({"loss": {"heatmap_sigma": float("inf")}}, "loss.heatmap_sigma", "finite", ConfigError),
        ({"loss": {"heatmap_sigma": "wide"}}, "loss.heatmap_sigma", "expected float", ConfigTypeError),
        ({"loss": {"heatmap_sigm": 1.0}}, "loss.heatmap_sigm", "did you mean 'heatmap_sigma'", ConfigError),
        ({"model": {"arch": "heatmaps"}}, "model.arch", "did you mean 'heatmap'", ConfigError),
        ({"model": {"arch": "heatmap"}, "loss": {"heatmap_reg": 0.1}}, "loss.heatmap_reg", "'heatmap'", ConfigError),
        (
            {"model": {"arch": "heatmap", "output_3d": False}, "eval": {"protocol": "h36m_p2"}},
            "eval.protocol",
            "3D",
            ConfigError,
        ),
    ],
)
def test_bad_heatmap_values_name_the_key(values: dict, path: str, needle: str, exc: type) -> None:
    with pytest.raises(exc) as info:
        config_from_dict(values)
    assert info.value.path == path, str(info.value)
    assert needle in str(info.value), str(info.value)

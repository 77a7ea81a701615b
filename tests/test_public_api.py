"""The public names promised to users (issue contracts, README, docs) exist under their exact import paths and
accept the documented arguments. Renaming any of them breaks users; this test fails first."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

PROMISED = [
    ("integral_pose.geometry.integral", "soft_argmax_3d"),
    ("integral_pose.geometry.integral", "soft_argmax_2d"),
    ("integral_pose.geometry.camera", "Camera"),
    ("integral_pose.geometry.camera", "solve_root_translation"),
    ("integral_pose.eval.metrics", "mpjpe"),
    ("integral_pose.eval.metrics", "pa_mpjpe"),
    ("integral_pose.eval.metrics", "n_mpjpe"),
    ("integral_pose.models.resnet", "resnet18"),
    ("integral_pose.models.resnet", "resnet34"),
    ("integral_pose.models.resnet", "resnet50"),
    ("integral_pose.models.resnet", "resnet101"),
    ("integral_pose.models.resnet", "resnet152"),
    ("integral_pose.models", "build_network"),
    ("integral_pose.build", "build_model"),
    ("integral_pose.models.weights", "load_imagenet"),
    ("integral_pose.models.weights", "load_original_checkpoint"),
    ("integral_pose.config", "load_config"),
    ("integral_pose.inference", "PoseEstimator"),
    ("integral_pose.inference", "PoseResult"),
]


@pytest.mark.parametrize(("module", "name"), PROMISED, ids=[f"{m}.{n}" for m, n in PROMISED])
def test_promised_name_is_importable_and_callable(module: str, name: str) -> None:
    obj = getattr(importlib.import_module(module), name)
    assert callable(obj), f"{module}.{name} is not callable"


def _params(fn: object) -> list[str]:
    return list(inspect.signature(fn).parameters)  # type: ignore[arg-type]


def test_documented_argument_names() -> None:
    from integral_pose.config import load_config
    from integral_pose.geometry.camera import Camera
    from integral_pose.geometry.integral import soft_argmax_2d, soft_argmax_3d
    from integral_pose.inference import PoseEstimator
    from integral_pose.models.weights import load_imagenet, load_original_checkpoint

    assert _params(soft_argmax_3d)[:3] == ["logits", "beta", "debias"]
    assert _params(soft_argmax_2d)[:3] == ["logits", "beta", "debias"]
    assert _params(Camera)[:6] == ["f", "c", "k", "p", "R", "T"]
    for method in ("project", "backproject", "from_fov"):
        assert callable(getattr(Camera, method))
    assert _params(load_config)[:2] == ["path", "overrides"]
    assert _params(load_imagenet)[:2] == ["model", "path"]
    assert _params(load_original_checkpoint)[0] == "path"
    assert {"path", "device", "backend"} <= set(_params(PoseEstimator.from_checkpoint))
    assert {"image", "boxes", "intrinsics", "fov_deg", "flip_test"} <= set(_params(PoseEstimator.__call__))


def test_metrics_take_pred_gt_and_return_per_frame_errors() -> None:
    from integral_pose.eval.metrics import mpjpe, n_mpjpe, pa_mpjpe

    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 5, 3)) * 100.0
    pred = gt + np.array([0.0, 0.0, 10.0])  # a constant offset: zero after root alignment / Procrustes
    for fn in (mpjpe, pa_mpjpe, n_mpjpe):
        err = fn(pred, gt)
        assert np.shape(err) == (4,), fn.__name__
        np.testing.assert_allclose(err, 0.0, atol=1e-6)


def test_resnet_constructors_build_backbones_with_torchvision_names() -> None:
    from integral_pose.models.resnet import resnet18

    keys = set(resnet18().state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer4.1.bn2.weight"} <= keys


def test_skeletons_module_is_public() -> None:
    skeletons = importlib.import_module("integral_pose.skeletons")
    assert skeletons.H36M_18.joint_names[0] == "pelvis"

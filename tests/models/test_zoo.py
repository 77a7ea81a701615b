"""The shipped ``synthmocap-small`` model: loadable by name everywhere, and it has learned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from integral_pose.config.validation import ConfigError
from integral_pose.data.records import load_records
from integral_pose.data.sources.synthmocap import generate_synthmocap
from integral_pose.engine.checkpoint import load_checkpoint, model_from_checkpoint
from integral_pose.eval.metrics import joint_errors
from integral_pose.inference import PoseEstimator
from integral_pose.models.zoo import MODELS, is_model_name, models_dir, recipe_config, resolve_model_file


def test_names_resolve_to_shipped_files_with_cards() -> None:
    for name, entry in MODELS.items():
        path = resolve_model_file(name)
        assert path.is_file() and path.parent == models_dir()
        assert (models_dir() / entry.card).is_file()
        assert path.stat().st_size < 25 * 2**20  # the budget for shipped weights
    assert resolve_model_file("some/file.pt") == Path("some/file.pt")
    assert not is_model_name("no-such-model")


def test_missing_shipped_file_names_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("integral_pose.models.zoo.models_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match=r"synthmocap_small\.pt"):
        resolve_model_file("synthmocap-small")


def test_loads_by_name_as_checkpoint_and_as_backbone() -> None:
    ck = load_checkpoint("synthmocap-small")
    assert ck["config"]["model"]["backbone_width"] == 0.25
    model, _ = model_from_checkpoint("synthmocap-small")
    assert model.arch == "integral"
    from integral_pose.build import build_model
    from integral_pose.config.schema import ModelConfig

    fresh = build_model(ModelConfig(arch="direct", backbone="resnet18", backbone_width=0.25,
                                    pretrained="synthmocap-small"))  # fmt: skip
    for k, v in fresh.backbone.state_dict().items():
        assert np.allclose(v.float().numpy(), model.backbone.state_dict()[k].float().numpy()), k


def test_shipped_model_beats_the_mean_pose_on_held_out_images(tmp_path: Path) -> None:
    """On held-out SynthMocap images (unseen clips, unseen camera) with the ground-truth box and the camera's
    intrinsics, the shipped model's 3D pose shape (PA-MPJPE: error after a similarity fit) is well below that of
    the image-free mean pose, and its 2D joints land within a few pixels."""
    paths = generate_synthmocap(tmp_path, frames_train=200, frames_test=24, size=192, progress=False)
    tr, te = load_records(paths["train"]), load_records(paths["test"])
    est = PoseEstimator.from_checkpoint("synthmocap-small")
    errs, prior, px = [], [], []
    mean = (tr.joints_3d_cam[:, :17] - tr.joints_3d_cam[:, :1]).mean(0)
    for i in range(len(te)):
        f, c = te.cam_f[i], te.cam_c[i]
        K = np.array([[f[0], 0.0, c[0]], [0.0, f[1], c[1]], [0.0, 0.0, 1.0]])
        res = est(str(te.image_file(i)), boxes=te.box[i][None], intrinsics=K)
        px.append(np.linalg.norm(res.keypoints_2d[0, :17] - te.joints_2d[i, :17], axis=-1).mean())
        gt = te.joints_3d_cam[i, :17] - te.joints_3d_cam[i, :1]
        errs.append(joint_errors(res.keypoints_3d_rel[0, :17][None], gt[None], "procrustes").mean())
        prior.append(joint_errors(mean[None], gt[None], "procrustes").mean())
    assert np.mean(errs) < 0.75 * np.mean(prior), (np.mean(errs), np.mean(prior))
    assert np.mean(px) < 0.2 * te.box[:, 2].mean(), (np.mean(px), te.box[:, 2].mean())  # box width ≈ 37 px


def test_override_of_a_built_in_recipe_is_named_as_the_culprit() -> None:
    cfg = recipe_config("h36m-r50-256", ["model.backbone=resnet18"])
    assert cfg.model.backbone == "resnet18" and cfg.name == "h36m-r50-256"
    with pytest.raises(ConfigError, match=r"did you mean 'backbone'.*from the override 'model\.backbon=resnet18'"):
        recipe_config("h36m-r50-256", ["model.backbon=resnet18"])

"""Issue 13 item 1: a challenge-recipe (``box``) model and a ``rect3d`` model decode to the right millimetres.

The network output is constructed directly: the logits of every joint are a discretised Gaussian (σ = 1 bin) in
the D × H × W volume, so the soft-argmax lands on a known position (to ~1e-8 bins). The metric truth is a known
root-relative pose; through :class:`PoseEstimator` (PyTorch graph) and through an exported ONNX file the decoded
root-relative 3D must be within 1 mm of it. For the ``box`` model the truth is the original challenge system's
bone-length rescale of the patch pose (the true pose has total bone length 4502.881 mm).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from integral_pose.build import build_model
from integral_pose.config.schema import Config, DataConfig, DatasetSpec, ModelConfig
from integral_pose.conventions import MEAN_SKELETON_LENGTH_MM
from integral_pose.data.codec import PoseCodec, codec_from_checkpoint, codec_from_config
from integral_pose.engine.checkpoint import load_checkpoint, save_checkpoint
from integral_pose.export.onnx import build_pose_graph, contract_from_onnx, export_onnx, load_pose_model
from integral_pose.inference.estimator import PoseEstimator, _TorchBackend
from integral_pose.skeletons import H36M_18

PATCH = (96, 128)  # (w, h): a non-square patch, as the challenge's 288×384
BOX = [40.0, 20.0, 96.0, 128.0]  # a box with the patch aspect (the crop is the box itself)


def _config(depth_norm: str) -> Config:
    kind = "h36m_challenge" if depth_norm == "box" else "h36m"
    spec = DatasetSpec(kind=kind, records="unused.npz", depth_norm=depth_norm)
    return Config(
        model=ModelConfig(backbone="resnet18", depth_bins=24, deconv_filters=8, joint_set="h36m18"),
        data=DataConfig(patch_width=PATCH[0], patch_height=PATCH[1], train=(spec,), test=(spec,)),
    )


def _checkpoint(tmp_path: Path, depth_norm: str) -> Path:
    torch.manual_seed(0)
    cfg = _config(depth_norm)
    return save_checkpoint(tmp_path / f"{depth_norm}.pt", build_model(cfg.model), cfg, H36M_18.joint_names)


def _true_pose(seed: int) -> np.ndarray:
    """(18, 3) root-relative mm, thorax = mean of the shoulders, total bone length 4502.881 mm."""
    p = np.random.default_rng(seed).uniform(-350.0, 350.0, (18, 3))
    p[17] = 0.5 * (p[11] + p[14])
    p -= p[0]
    return p * (MEAN_SKELETON_LENGTH_MM / H36M_18.bone_lengths(p).sum())


def _normalised_for(codec: PoseCodec, pose_mm: np.ndarray) -> np.ndarray:
    """(J, 3) normalised coordinates whose decode is ``pose_mm`` (root at the patch centre)."""
    pw, ph = codec.patch_size
    if codec.depth_norm == "box":  # patch pose = k · pose (px), depth in patch px; root at the centre
        k = 0.04
        return np.stack([k * pose_mm[:, 0] / pw, k * pose_mm[:, 1] / ph, k * pose_mm[:, 2] / pw], axis=-1)
    r = codec.rect_3d_mm
    return np.stack([pose_mm[:, 0] / r, pose_mm[:, 1] / (r * ph / pw), pose_mm[:, 2] / r], axis=-1)


class _FixedLogits(nn.Module):
    """A 'network' whose output is the given (J·D, H, W) logits for every crop."""

    def __init__(self, logits: torch.Tensor, num_joints: int, depth_bins: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits, requires_grad=False)
        self.num_joints, self.depth_bins, self.arch, self.output_3d = num_joints, depth_bins, "integral", True

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.logits.unsqueeze(0) + 0.0 * crops[:, :1, :1, :1]


def _gaussian_logits(norm: np.ndarray, codec: PoseCodec, sigma: float = 1.0) -> torch.Tensor:
    """(J·D, H, W) logits: a σ-bin Gaussian per joint centred where the soft-argmax must land."""
    w, h, d = codec.heatmap_width, codec.heatmap_height, codec.depth_bins
    mu = (norm + 0.5) * np.array([w, h, d])  # (J, 3) bins, bin i at coordinate i
    assert (mu >= 4).all() and (mu <= np.array([w, h, d]) - 5).all(), "peaks must stay clear of the border"
    zz, yy, xx = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    logits = [
        -((xx - m[0]) ** 2 + (yy - m[1]) ** 2 + (zz - m[2]) ** 2) / (2.0 * sigma**2) for m in mu
    ]  # each (D, H, W)
    return torch.from_numpy(np.concatenate(logits).astype(np.float32))  # (J·D, H, W), channel j·D + d


def _fixed_graph(ckpt: Path, pose_mm: np.ndarray) -> tuple[nn.Module, object]:
    _, contract = load_pose_model(ckpt)
    codec = contract.pose_codec
    net = _FixedLogits(_gaussian_logits(_normalised_for(codec, pose_mm), codec), codec.num_joints, codec.depth_bins)
    return build_pose_graph(net, contract), contract


@pytest.mark.parametrize("depth_norm", ["box", "rect3d"])
def test_estimator_and_onnx_return_true_millimetres(tmp_path: Path, depth_norm: str) -> None:
    ckpt = _checkpoint(tmp_path, depth_norm)
    truth = _true_pose(seed=1)
    graph, contract = _fixed_graph(ckpt, truth)
    assert contract.pose_codec.depth_norm == depth_norm
    image = np.zeros((200, 240, 3), dtype=np.uint8)

    est = PoseEstimator(_TorchBackend(graph, "cpu"), contract, detector="full")
    rel = est(image, boxes=[BOX]).keypoints_3d_rel[0]
    assert np.abs(rel - truth).max() < 1.0  # mm

    onnx_path = export_onnx(graph, contract, tmp_path / f"{depth_norm}.onnx").path
    assert contract_from_onnx(onnx_path).pose_codec == contract.pose_codec  # the codec travels in the file
    est_onnx = PoseEstimator.from_checkpoint(onnx_path, backend="onnx", detector="full")
    rel_onnx = est_onnx(image, boxes=[BOX]).keypoints_3d_rel[0]
    assert np.abs(rel_onnx - truth).max() < 1.0  # mm


def test_box_model_decodes_by_bone_rescale_not_rect3d(tmp_path: Path) -> None:
    """The failure the issue measured: a box model decoded with rect_3d_mm is off by a large factor."""
    codec = codec_from_checkpoint(load_checkpoint(_checkpoint(tmp_path, "box")))
    truth = _true_pose(seed=2)
    norm = _normalised_for(codec, truth)[None]
    np.testing.assert_allclose(codec.root_relative_mm(norm)[0], truth, atol=1e-6)
    rect = PoseCodec(**{**codec.to_dict(), "depth_norm": "rect3d", "parents": codec.parents,
                        "flip_pairs": codec.flip_pairs, "mean": codec.mean, "std": codec.std})  # fmt: skip
    assert np.abs(rect.root_relative_mm(norm)[0] - truth).max() > 20.0  # mm: the wrong convention is far off


def test_checkpoint_stores_codec_and_old_checkpoints_rebuild_it(tmp_path: Path) -> None:
    ckpt = load_checkpoint(_checkpoint(tmp_path, "box"))
    assert isinstance(ckpt["codec"], dict) and ckpt["codec"]["depth_norm"] == "box"
    stored = codec_from_checkpoint(ckpt)
    assert stored == codec_from_config(_config("box"))
    old = {k: v for k, v in ckpt.items() if k != "codec"}  # a checkpoint written before the codec existed
    assert codec_from_checkpoint(old) == stored
    assert (stored.heatmap_width, stored.heatmap_height, stored.depth_bins) == (24, 32, 24)


def test_codec_dict_round_trip_and_errors() -> None:
    codec = codec_from_config(_config("rect3d"))
    assert PoseCodec.from_dict(codec.to_dict()) == codec
    with pytest.raises(ValueError, match="unknown keys \\['bogus'\\]"):
        PoseCodec.from_dict({**codec.to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="depth_norm"):
        PoseCodec.from_dict({**codec.to_dict(), "depth_norm": "cube"})
    box = codec_from_config(_config("box"))
    with pytest.raises(ValueError, match="depth_norm_mm"):
        box.decode(np.zeros((1, 18, 3)), np.zeros((1, 2, 3)))


def test_codec_encode_decode_round_trip() -> None:
    codec = codec_from_config(_config("rect3d"))
    rng = np.random.default_rng(0)
    j2 = rng.uniform(50, 120, (18, 2))
    j3 = np.concatenate([rng.uniform(-300, 300, (18, 2)), rng.uniform(4000, 4600, (18, 1))], axis=1)
    from integral_pose.data.codec import crop_transform

    a, inv = crop_transform(BOX, codec.patch_size, image_width=240)
    target, _ = codec.encode(j2, np.ones(18), j3, a)
    uv, z = codec.decode(target[None].astype(np.float64), inv[None])
    np.testing.assert_allclose(uv[0], j2, atol=1e-3)
    np.testing.assert_allclose(z[0], j3[:, 2] - j3[0, 2], atol=1e-3)


def test_version_1_contract_reads_as_rect3d_integral(tmp_path: Path) -> None:
    import json

    from integral_pose.export.onnx import ModelContract

    _, contract = load_pose_model(_checkpoint(tmp_path, "rect3d"))
    data = json.loads(contract.to_json())
    for key in ("codec", "arch"):
        del data[key]
    data["contract_version"] = 1
    old = ModelContract.from_json(json.dumps(data))
    assert old.arch == "integral" and old.pose_codec == contract.pose_codec

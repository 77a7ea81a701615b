"""Shared by the inference and export tests: a tiny random integral model saved with the checkpoint API, and its
ONNX export made once per test session through ``ipr export`` (files under the session's base temp folder)."""

from __future__ import annotations

from pathlib import Path


def make_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """ResNet-18, 64×64 crops, 16 depth bins, H36M-18; head weights scaled up so heat maps are peaked."""
    import torch

    from integral_pose.build import build_model
    from integral_pose.config.schema import Config, DataConfig, ModelConfig
    from integral_pose.engine.checkpoint import save_checkpoint
    from integral_pose.skeletons import H36M_18

    torch.manual_seed(seed)
    cfg = Config(
        model=ModelConfig(backbone="resnet18", depth_bins=16, deconv_filters=32, joint_set="h36m18"),
        data=DataConfig(patch_width=64, patch_height=64),
    )
    model = build_model(cfg.model).eval()
    with torch.no_grad():
        for name, p in model.head.named_parameters():
            if p.ndim > 1:
                p.normal_(0.0, 0.15)
            elif name.endswith("bias") and p.numel() == 18 * 16:
                p.normal_(0.0, 2.0)
    return save_checkpoint(path, model, cfg, H36M_18.joint_names)


def tiny_checkpoint_in(base: Path) -> Path:
    """The session's tiny checkpoint (created on first use)."""
    path = base / "tiny_model" / "tiny.pt"
    if not path.exists():
        make_tiny_checkpoint(path)
    return path


def tiny_onnx_in(base: Path) -> Path:
    """The session's ONNX export of the tiny checkpoint, made with ``ipr export --dynamic-batch``."""
    from integral_pose.cli.main import main

    ckpt = tiny_checkpoint_in(base)
    out = ckpt.with_suffix(".onnx")
    if not out.exists():
        code = main(["export", "--checkpoint", str(ckpt), "--format", "onnx", "--dynamic-batch", "--out", str(out)])
        assert code == 0 and out.exists()
    return out

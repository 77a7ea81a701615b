"""What training optimises: model output → normalised coordinates, and the loss on them.

Shared by the training loop, validation, evaluation and pre-training, so all of them decode a model's output
the same way. Coordinates are normalised patch coordinates (B, J, 3) in [−0.5, 0.5) (x, y over the patch,
z = root-relative depth over the depth normaliser).
"""

from __future__ import annotations

import torch

from integral_pose.config.schema import Config, ModelConfig
from integral_pose.geometry.integral import logits_to_volume
from integral_pose.losses import coordinate_loss, heatmap_js_loss, heatmap_mse_loss
from integral_pose.models.posenet import predict_coords

__all__ = ["compute_loss", "outputs_to_coords"]


def outputs_to_coords(output: torch.Tensor, model_cfg: ModelConfig) -> torch.Tensor:
    """Model output → normalised coordinates (B, J, 3) in float32 (x, y, z ∈ [−0.5, 0.5)).

    Integral models: soft-argmax of the (D, H, W) volume (2D heat maps: z = 0); heat-map baseline: argmax with
    the quarter-cell shift (no gradient); direct: the (B, J·3) output reshaped
    (:func:`integral_pose.models.predict_coords`). The integral op runs in float32 even under autocast.
    """
    coords = predict_coords(
        output,
        num_joints=model_cfg.num_joints,
        depth_bins=model_cfg.depth_bins,
        arch=model_cfg.arch,
        output_3d=model_cfg.output_3d,
    )
    return coords.float()


def compute_loss(
    coords: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, output: torch.Tensor, cfg: Config
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training loss and its terms: coordinate L1/L2 (+ the optional heat-map JS regulariser).

    For ``model.arch: heatmap`` (the detection-based baseline) the trained loss is the heat-map MSE against
    Gaussian targets (:func:`integral_pose.losses.heatmap_mse_loss`, ``loss.heatmap_sigma``), logged as
    ``heatmap_mse``; the coordinate loss of the argmax-decoded ``coords`` is still computed and logged as
    ``coord`` for monitoring but carries no gradient (the argmax is not differentiable).

    Args:
        coords: (B, J, 3) predicted normalised coordinates.
        target: (B, J, 3) targets. weight: (B, J, 3) per-coordinate weights.
        output: the raw model output (logits, for the regulariser and the heat-map loss).
        cfg: the run config (``loss`` and ``model`` sections).

    Returns:
        ``(loss, {"coord": …, "heatmap_js": …})`` (scalar tensors; the JS term only when enabled), or
        ``(loss, {"coord": …, "heatmap_mse": …})`` for the heat-map baseline.
    """
    lc, mc = cfg.loss, cfg.model
    if mc.arch == "heatmap":
        coord = coordinate_loss(coords.detach(), target, weight, lc.type, lc.normalisation)  # monitoring only
        maps = logits_to_volume(output, mc.num_joints, mc.depth_bins) if mc.output_3d else output  # (B, J, D, H, W)
        mse = heatmap_mse_loss(maps.float(), target, weight, lc.heatmap_sigma, lc.normalisation)
        return mse, {"coord": coord.detach(), "heatmap_mse": mse.detach()}
    coord = coordinate_loss(coords, target, weight, lc.type, lc.normalisation)
    terms = {"coord": coord.detach()}
    loss = coord
    if lc.heatmap_reg > 0 and mc.arch == "integral":
        logits = logits_to_volume(output, mc.num_joints, mc.depth_bins) if mc.output_3d else output
        js = heatmap_js_loss(logits.float(), target, weight, lc.heatmap_reg_sigma, lc.normalisation)
        terms["heatmap_js"] = js.detach()
        loss = loss + lc.heatmap_reg * js
    return loss, terms

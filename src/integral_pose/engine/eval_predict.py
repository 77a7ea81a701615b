"""Evaluation, step 1 of 3 (predict → score → report): run models over a test-time dataset and decode.

The output is a dict of arrays over the evaluated samples: normalised coordinates, the codec's decode to image
px and root-relative mm, and the dataset fields scoring needs (ground truth, intrinsics, boxes). Scoring is
:mod:`integral_pose.engine.eval_score_3d` / :mod:`integral_pose.engine.eval_score_2d`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from integral_pose.build import build_codec
from integral_pose.config.schema import Config
from integral_pose.data.codec import flip_normalized
from integral_pose.engine.objective import outputs_to_coords
from integral_pose.skeletons import get_skeleton

__all__ = ["eval_workers", "predict"]


def eval_workers(requested: int, num_samples: int, batch_size: int, cpus: int | None = None) -> int:
    """Loader processes for an evaluation: the requested number, but no more than CPUs or batches.

    Evaluation is deterministic whatever the number of workers, so the cap changes speed only: a worker beyond the
    CPU count competes with the model for a core, and one beyond the number of batches has nothing to load.
    """
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    batches = -(-num_samples // max(batch_size, 1))
    return max(0, min(requested, cpus, batches))


def predict(
    models: Sequence[torch.nn.Module],
    dataset: Any,
    cfg: Config,
    device: str = "cpu",
    flip_test: bool = False,
    max_batches: int | None = None,
    batch_size: int | None = None,
    num_workers: int | None = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Run one or several models over a test-time dataset and decode the predictions.

    Flip test (as the original system): each model also sees the mirrored crop; its prediction is mirrored back
    (x ← −x − 1/W_p in normalised units, which is u ← W_p − 1 − u in patch px) with left/right swapped, and the
    two are averaged, depth included. Ensemble: the (flip-merged) predictions of all models are averaged. The
    crop-to-image decode is affine per sample, so averaging normalised coordinates equals averaging decoded ones.

    Args:
        models: networks in the same label space (one for a plain evaluation).
        dataset: a test-time :class:`integral_pose.data.dataset.PoseDataset` / ``ConcatPoseDataset``.
        cfg: the run config (``model``, ``data``, ``eval`` sections).
        device: torch device string.
        flip_test: enable the flip test.
        max_batches: stop after this many batches (quick checks).
        batch_size: default ``cfg.eval.batch_size``. num_workers: default ``cfg.data.num_workers``; capped by
            :func:`eval_workers`.
        progress: show a progress bar over the batches on stderr.

    Returns:
        Arrays over the N evaluated samples: ``coords`` (N, J, 3) normalised, ``uv`` (N, J, 2) image px,
        ``z_rel_mm`` (N, J), and the dataset fields ``index``, ``source``, ``inv_affine``, ``box``, ``joints_2d``,
        ``joints_vis``, ``joints_3d_cam``, ``root_depth_mm``, ``cam_f``, ``cam_c``.
    """
    if not models:
        raise ValueError("models: expected at least one model, got none")
    patch = cfg.data.patch_size
    perm = torch.as_tensor(get_skeleton(cfg.model.joint_set).flip_permutation, dtype=torch.long)
    batch = batch_size or cfg.eval.batch_size
    requested = cfg.data.num_workers if num_workers is None else num_workers
    loader = DataLoader(
        dataset,
        batch_size=batch,
        shuffle=False,
        num_workers=eval_workers(requested, len(dataset), batch),
        generator=torch.Generator().manual_seed(0),
    )
    keys = ("index", "source", "inv_affine", "box", "joints_2d", "joints_vis", "joints_3d_cam", "root_depth_mm",
            "cam_f", "cam_c", "depth_norm_mm")  # fmt: skip
    acc: dict[str, list[np.ndarray]] = {k: [] for k in (*keys, "coords")}
    was_training = [m.training for m in models]
    for m in models:
        m.eval()
    try:
        with torch.inference_mode():
            total = len(loader) if max_batches is None else min(len(loader), max_batches)
            bar = tqdm(loader, total=total, desc="eval: predict", unit="batch", disable=not progress)
            for bi, batch in enumerate(bar):
                if max_batches is not None and bi >= max_batches:
                    break
                images = batch["image"].to(device)
                preds = []
                for m in models:
                    c = outputs_to_coords(m(images), cfg.model)
                    if flip_test:
                        cf = outputs_to_coords(m(torch.flip(images, dims=[3])), cfg.model)
                        c = 0.5 * (c + flip_normalized(cf, perm.to(cf.device), patch[0]))
                    preds.append(c.double().cpu())
                acc["coords"].append(torch.stack(preds).mean(0).numpy())
                for k in keys:
                    acc[k].append(batch[k].numpy())
    finally:
        for m, t in zip(models, was_training):
            m.train(t)
    if not acc["coords"]:
        raise ValueError("predict: the dataset yielded no samples")
    out = {k: np.concatenate(v) for k, v in acc.items()}
    # Per-sample depth normaliser: rect_3d_mm, or the box width for recipes with data.*.depth_norm = "box".
    uv, z = build_codec(cfg).decode(out["coords"], out["inv_affine"], out["depth_norm_mm"].astype(np.float64))
    out["uv"] = np.asarray(uv, dtype=np.float64)
    out["z_rel_mm"] = np.asarray(z, dtype=np.float64)
    return out

"""``ipr eval``: predict → score → report for one checkpoint or an ensemble.

:func:`evaluate` composes the three steps, each its own module:

1. :mod:`integral_pose.engine.eval_predict` — run the models over the test-time dataset
   (:func:`integral_pose.build.build_test_dataset`) and decode through the codec;
2. :mod:`integral_pose.engine.eval_score_3d` (MPJPE, align-MPJPE, PA-MPJPE, N-MPJPE, PCK, AUC in camera space) or
   :mod:`integral_pose.engine.eval_score_2d` (MPII PCKh, COCO AP in image px);
3. :mod:`integral_pose.engine.eval_report` — ``report.png`` and the text table.

The names of those modules most callers need are re-exported here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from integral_pose.build import build_test_dataset
from integral_pose.config.io import config_from_dict
from integral_pose.config.schema import Config, ModelConfig
from integral_pose.engine.eval_predict import predict
from integral_pose.engine.eval_report import format_result, write_report_2d, write_report_3d
from integral_pose.engine.eval_score_2d import COCO_RESULTS_FILE, score_2d
from integral_pose.engine.eval_score_3d import align_joint_errors, score_3d
from integral_pose.engine.original import Recipe, load_pose_checkpoint
from integral_pose.eval.protocols import get_protocol
from integral_pose.fileio import atomic_write_json

__all__ = [
    "COCO_RESULTS_FILE",
    "align_joint_errors",
    "build_test_dataset",
    "evaluate",
    "format_result",
    "predict",
    "score_2d",
    "score_3d",
    "write_json_atomic",
]


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (temporary file + fsync + rename)."""
    return atomic_write_json(path, data)


def _load_models(checkpoints: Sequence[str | os.PathLike[str]], cfg: Config, device: str,
                 recipe: Recipe | None = None) -> tuple[list[torch.nn.Module], ModelConfig]:  # fmt: skip
    """The checkpoints' models (each rebuilt from its own config) and the model config they share."""
    models, archs = [], set()
    model_cfg = cfg.model
    for path in checkpoints:
        model, ck = load_pose_checkpoint(path, recipe, map_location=device)
        model_cfg = config_from_dict(ck["config"]).model
        if model_cfg.joint_set != cfg.model.joint_set:
            raise ValueError(
                f"{path}: joint set {model_cfg.joint_set!r} differs from the config's {cfg.model.joint_set!r}"
            )
        archs.add(model_cfg.arch)
        models.append(model.to(device))
    if len(archs) > 1:
        raise ValueError("--ensemble: all checkpoints must share the architecture (integral, direct or heatmap)")
    return models, model_cfg


def evaluate(
    cfg: Config,
    checkpoints: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None,
    split: str = "test",
    protocol: str | None = None,
    flip_test: bool | None = None,
    boxes: str | None = None,
    device: str = "cpu",
    max_samples: int | None = None,
    report: bool = True,
    title: str = "",
    recipe: Recipe | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Evaluate one checkpoint (or an ensemble) and write ``eval.json`` and ``report.png`` into ``out_dir``.

    3D protocols are scored in camera space (:func:`score_3d`); the 2D protocols ``mpii_pckh`` and ``coco_ap``
    in the original image's pixels (:func:`score_2d`, which also writes :data:`COCO_RESULTS_FILE` for COCO).

    Args:
        cfg: the config whose ``data``/``eval`` sections say what to evaluate on (the model is rebuilt from each
            checkpoint's own config).
        checkpoints: one path, or several for an ensemble (coordinates averaged).
        out_dir: output folder, or ``None`` to write nothing.
        split: ``"test"`` or ``"val"``.
        protocol: overrides ``cfg.eval.protocol``.
        flip_test: overrides ``cfg.eval.flip_test``.
        boxes: box source overriding the config's (see :func:`integral_pose.build.build_test_dataset`); ``None``
            = the config's.
        device: torch device string.
        max_samples: evaluate at most this many samples per dataset.
        report: draw the PNG report (needs matplotlib).
        title: report title.
        recipe: for original-system checkpoints (``*.pth.tar``), the recipe they were trained with (a name of
            ``models.zoo.ORIGINAL_RECIPES``, a YAML file or a Config; :mod:`integral_pose.engine.original`).
        progress: called with a short description at the start of each stage (loading, predicting, scoring);
            when given, the prediction also shows a progress bar over the test batches on stderr.

    Returns:
        The result dict (also written to ``eval.json``): headline metrics in mm, per-action/joint/group tables,
        the solved-root figures and the settings used.
    """
    if not checkpoints:
        raise ValueError("checkpoints: expected at least one checkpoint path")
    proto = get_protocol(protocol or cfg.eval.protocol)
    flip = cfg.eval.flip_test if flip_test is None else bool(flip_test)
    if proto.bone_rescale_mm and cfg.eval.bone_length_rescale is None:
        cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, bone_length_rescale=proto.bone_rescale_mm))
    if progress is not None:
        progress(f"loading {len(checkpoints)} checkpoint(s)")
    models, model_cfg = _load_models(checkpoints, cfg, device, recipe)
    cfg = dataclasses.replace(cfg, model=model_cfg)
    dataset = build_test_dataset(cfg, split, proto.name, boxes, max_samples)
    if progress is not None:
        progress(f"{proto.title}: {len(dataset)} samples, flip test {'on' if flip else 'off'}, on {device}")
    pred = predict(models, dataset, cfg, device=device, flip_test=flip, progress=progress is not None)
    if progress is not None:
        progress("scoring" + (" and drawing the report" if report and out_dir is not None else ""))
    split = "test" if split == "test" else "val"
    specs = cfg.data.test if split == "test" else cfg.data.val
    box_sources = [boxes if boxes is not None else cfg.data.box_for(s) for s in specs]
    settings = {
        "protocol": proto.name,
        "protocol_title": proto.title,
        "headline": proto.headline,
        "flip_test": flip,
        "checkpoints": [str(p) for p in checkpoints],
        "arch": model_cfg.arch,
        "split": split,
        "boxes": box_sources[0] if len(set(box_sources)) == 1 else box_sources,
    }
    if proto.kind == "2d":
        res = {**settings, "kind": "2d", "joint_set": cfg.model.joint_set,
               **score_2d(pred, dataset, cfg, proto.name, specs, split, out_dir)}  # fmt: skip
        write = write_report_2d
    else:
        rescale = cfg.eval.bone_length_rescale
        camera = ("ground-truth root depth (the paper's protocol)" if rescale is None
                  else f"root-centred, rescaled to total bone length {rescale} mm")  # fmt: skip
        res = {**settings, "camera_space": camera, **score_3d(pred, dataset, cfg, detail=True)}
        write = write_report_3d
    if out_dir is not None:
        out = Path(out_dir)
        write_json_atomic(out / "eval.json", res)
        if report:
            write(out / "report.png", dataset, pred, res, cfg, title)
    return res

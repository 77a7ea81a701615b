"""Evaluation, step 3 of 3: the PNG reports (best / median / worst samples) and the text table of a result.

The reports need matplotlib (the ``viz`` extra); :func:`format_result` needs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.config.schema import Config
from integral_pose.data.codec import IMAGENET_MEAN, normalized_to_patch
from integral_pose.engine.eval_score_2d import map_gt, to_joint_set
from integral_pose.engine.eval_score_3d import camera_space_pose, scored_joints
from integral_pose.geometry.affine import apply_affine
from integral_pose.skeletons import get_skeleton
from integral_pose.viz.report import ReportSample, pick_best_median_worst, write_eval_report, write_eval_report_2d

__all__ = ["format_result", "write_report_2d", "write_report_3d"]


def _patch_image(item: dict[str, Any], cfg: Config) -> np.ndarray:
    """The dataset item's crop as an (H, W, 3) uint8 image (normalisation undone)."""
    mean = np.asarray(cfg.data.mean or IMAGENET_MEAN, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(cfg.data.std, dtype=np.float32).reshape(3, 1, 1)
    img = (item["image"].numpy() * std + mean).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
    return np.ascontiguousarray(img)


def _report_samples(dataset: Any, pred: dict[str, np.ndarray], res: dict[str, Any], cfg: Config) -> list[ReportSample]:
    samples = res.get("samples")
    if not samples:
        return []
    lookup = {(int(s), int(i)): k for k, (s, i) in enumerate(zip(pred["source"], pred["index"]))}
    out = []
    for label, pos in pick_best_median_worst(samples["mpjpe"]):
        src, idx = int(samples["source"][pos]), int(samples["index"][pos])
        k = lookup[(src, idx)]
        item = dataset.datasets[src][idx]
        gt2 = apply_affine(item["joints_2d"].numpy().astype(np.float64), item["affine"].numpy())
        pr2 = normalized_to_patch(pred["coords"][k], cfg.data.patch_size)
        pr3, g3 = camera_space_pose(pred, np.arange(k, k + 1), cfg)
        out.append(ReportSample(f"{label}: MPJPE {samples['mpjpe'][pos]:.1f} mm", _patch_image(item, cfg),
                                np.asarray(pr2), gt2, pr3[0], g3[0]))  # fmt: skip
    return out


def write_report_3d(path: Path, dataset: Any, pred: dict[str, np.ndarray], res: dict[str, Any], cfg: Config,
                    title: str) -> None:  # fmt: skip
    """The 3D report: per-joint / per-action bars and the best / median / worst samples (scored joints only)."""
    sk = get_skeleton(cfg.model.joint_set)
    sel = scored_joints(sk.name, sk.num_joints)
    edges = [(a, b) for a, b in sk.edges if a in sel and b in sel]
    samples = _report_samples(dataset, pred, res, cfg)
    for s in samples:
        s.pred_2d, s.gt_2d, s.pred_3d, s.gt_3d = s.pred_2d[sel], s.gt_2d[sel], s.pred_3d[sel], s.gt_3d[sel]
    write_eval_report(path, res, samples, edges, [sk.joint_names[j] for j in sel], title)


def write_report_2d(path: Path, dataset: Any, pred: dict[str, np.ndarray], res: dict[str, Any], cfg: Config,
                     title: str) -> None:  # fmt: skip
    """The 2D report: per-joint bars and the best / median / worst samples with the 2D overlay."""
    target = "mpii16" if res["protocol"] == "mpii_pckh" else "coco17"
    sk = get_skeleton(target)
    parts = getattr(dataset, "datasets", [dataset])
    scores = np.asarray(res["samples"]["score"], dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(scores))
    patch = cfg.data.patch_size
    samples = []
    if finite.size:
        unit = "PCKh@0.5" if target == "mpii16" else "OKS"
        shown: set[int] = set()
        for label, pos in pick_best_median_worst(1.0 - scores[finite]):
            k = int(finite[pos])
            if k in shown:  # fewer than three samples
                continue
            shown.add(k)
            src, idx = int(pred["source"][k]), int(pred["index"][k])
            item = parts[src][idx]
            gt_patch = apply_affine(item["joints_2d"].numpy().astype(np.float64), item["affine"].numpy())
            gt2, gv = map_gt(gt_patch, item["joints_vis"].numpy(), parts[src].records.header.joint_set, target)
            gt2 = np.where(gv[:, None] > 0, gt2, np.nan)
            pr2, _ = to_joint_set(normalized_to_patch(pred["coords"][k], patch), cfg.model.joint_set, target)
            samples.append(ReportSample(f"{label}: {unit} {scores[k]:.2f}", _patch_image(item, cfg), pr2, gt2,
                                        np.zeros((0, 3)), np.zeros((0, 3))))  # fmt: skip
    write_eval_report_2d(path, res, samples, sk.edges, sk.joint_names, title)


def format_result(res: dict[str, Any]) -> str:
    """A short text table of an :func:`evaluate` result."""
    if res.get("kind") == "2d":
        return _format_result_2d(res)
    lines = [
        f"{res['protocol_title']}: {res['num_samples']} samples, flip test {'on' if res['flip_test'] else 'off'}",
        f"  camera space: {res['camera_space']}",
        f"  MPJPE {res['mpjpe']:.1f} mm | align-MPJPE (rigid, no scale) {res['align_mpjpe']:.1f} mm | "
        f"PA-MPJPE {res['pa_mpjpe']:.1f} mm | N-MPJPE {res['n_mpjpe']:.1f} mm | "
        f"3DPCK@150 {100 * res['pck150']:.1f} % | AUC {100 * res['auc']:.1f} %",
    ]
    if "solved_root" in res:
        s = res["solved_root"]
        lines.append(f"  root solved from intrinsics: MRPE {s['mrpe']:.1f} mm, absolute MPJPE {s['abs_mpjpe']:.1f} mm")
    if res.get("per_action"):
        width = max(len(a) for a in res["per_action"])
        lines.append(f"  {'action'.ljust(width)}  MPJPE  PA-MPJPE")
        for a, v in res["per_action"].items():
            lines.append(f"  {a.ljust(width)}  {v:5.1f}  {res['per_action_pa'][a]:8.1f}")
    return "\n".join(lines)


def _format_result_2d(res: dict[str, Any]) -> str:
    lines = [f"{res['protocol_title']}: {res['num_samples']} samples, flip test {'on' if res['flip_test'] else 'off'}"]
    if res["protocol"] == "mpii_pckh":
        lines.append(f"  PCKh@0.5 {100 * res['pckh']:.1f} % | PCKh@0.1 {100 * res['pckh_0.1']:.1f} % "
                     "(mean without pelvis and thorax)")  # fmt: skip
        names = list(res["groups"])
        lines.append("  " + " ".join(f"{n:>8}" for n in names))
        lines.append("  " + " ".join(f"{100 * res['groups'][n]:8.1f}" for n in names))
    else:
        c = res["coco"]
        cells = [
            f"{k} {100 * c[k]:.1f}" if c[k] >= 0 else f"{k} n/a" for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")
        ]
        lines.append("  " + " | ".join(cells))
        lines.append(f"  mean OKS {res['mean_oks']:.3f}; person score: {res['score_rule']}")
    if res.get("missing_joints"):
        lines.append(f"  joints the model does not predict: {', '.join(res['missing_joints'])}")
    return "\n".join(lines)

"""Evaluation report images (PNG): per-action bars, per-joint errors, best / median / worst samples.

:func:`write_eval_report` draws one figure from the ``eval.json`` content of ``ipr eval`` and a few samples;
:func:`write_eval_report_2d` does the same for the 2D protocols (MPII PCKh, COCO AP: no 3D panels);
:func:`write_comparison_report` puts several models side by side (the demo's integral vs direct regression);
:func:`write_learning_curves` plots held-out error against updates; :func:`write_prediction_overlays` draws
several models' 2D predictions on the same held-out images.
Figures are drawn off-screen with matplotlib's Agg canvas (no pyplot, no display) and written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.fileio import atomic_write
from integral_pose.viz.draw2d import GREY_RGB, bone_side, joint_side, side_color

__all__ = [
    "ReportSample",
    "pick_best_median_worst",
    "write_comparison_report",
    "write_eval_report",
    "write_eval_report_2d",
    "write_learning_curves",
    "write_prediction_overlays",
]

_GT_RGB = tuple(v / 255.0 for v in GREY_RGB)


@dataclass
class ReportSample:
    """One sample shown in the report grid.

    Attributes:
        label: caption (e.g. ``"best: 23.1 mm"``).
        image_rgb: (H, W, 3) uint8 RGB image (the test crop or the full image).
        pred_2d: (J, 2) predicted joints in ``image_rgb`` px.
        gt_2d: (J, 2) ground-truth joints in ``image_rgb`` px.
        pred_3d: (J, 3) predicted camera-frame joints, mm (root-aligned to the ground truth for display).
        gt_3d: (J, 3) ground-truth camera-frame joints, mm.
    """

    label: str
    image_rgb: np.ndarray
    pred_2d: np.ndarray
    gt_2d: np.ndarray
    pred_3d: np.ndarray
    gt_3d: np.ndarray


def pick_best_median_worst(errors: Sequence[float] | np.ndarray) -> list[tuple[str, int]]:
    """Positions of the lowest, median and highest error: ``[("best", i), ("median", j), ("worst", k)]``."""
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"errors: expected a non-empty (N,) array, got shape {e.shape}")
    order = np.argsort(e, kind="stable")
    return [("best", int(order[0])), ("median", int(order[len(order) // 2])), ("worst", int(order[-1]))]


def _require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the PNG report needs matplotlib: pip install 'integral-pose[viz]'") from None
    return matplotlib


def _save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=fig.dpi)
    return Path(path)


def _side_rgb(name_a: str, name_b: str) -> tuple[float, ...]:
    """Matplotlib colour (0–1 RGB) of the bone between two joints, the same colours as the 2D overlays."""
    return tuple(v / 255.0 for v in side_color(bone_side(joint_side(name_a), joint_side(name_b))))


def _bars(ax: Any, table: Mapping[str, Mapping[str, float]], title: str, ylabel: str) -> None:
    """Grouped bars: ``table[series][category] = value``."""
    series = list(table)
    cats = list(dict.fromkeys(c for s in series for c in table[s]))
    x = np.arange(len(cats))
    width = 0.8 / max(len(series), 1)
    for k, s in enumerate(series):
        vals = [table[s].get(c, np.nan) for c in cats]
        ax.bar(x + (k - (len(series) - 1) / 2) * width, vals, width, label=s)
    ax.set_xticks(x)
    ax.set_xticklabels(cats, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)


def _draw_sample(fig: Any, spec: Any, sample: ReportSample, edges: Sequence[tuple[int, int]],
                 names: Sequence[str]) -> None:  # fmt: skip
    ax = fig.add_subplot(spec[0])
    ax.imshow(sample.image_rgb)
    for a, b in edges:
        ax.plot(sample.gt_2d[[a, b], 0], sample.gt_2d[[a, b], 1], color=_GT_RGB, linewidth=2.5, alpha=0.8)
        ax.plot(sample.pred_2d[[a, b], 0], sample.pred_2d[[a, b], 1], color=_side_rgb(names[a], names[b]),
                linewidth=1.5)  # fmt: skip
    ax.set_title(sample.label, fontsize=8)
    ax.axis("off")
    ax3 = fig.add_subplot(spec[1], projection="3d")
    gt = sample.gt_3d - sample.gt_3d[:1]
    pr = sample.pred_3d - sample.pred_3d[:1]
    for pose, style in ((gt, "gt"), (pr, "pred")):
        # camera frame (x right, y down, z forward) → plot (x, z, −y) so "up" is up
        p = np.stack([pose[:, 0], pose[:, 2], -pose[:, 1]], axis=-1)
        for a, b in edges:
            colour = _GT_RGB if style == "gt" else _side_rgb(names[a], names[b])
            ax3.plot(p[[a, b], 0], p[[a, b], 1], p[[a, b], 2], color=colour, linewidth=2.5 if style == "gt" else 1.5,
                     linestyle="--" if style == "gt" else "-")  # fmt: skip
    both = np.concatenate([gt, pr])
    both = np.stack([both[:, 0], both[:, 2], -both[:, 1]], axis=-1)
    centre = 0.5 * (np.nanmax(both, 0) + np.nanmin(both, 0))
    half = 0.55 * float(np.nanmax(np.nanmax(both, 0) - np.nanmin(both, 0))) + 1.0
    for setter, cval in zip((ax3.set_xlim, ax3.set_ylim, ax3.set_zlim), centre):
        setter(cval - half, cval + half)
    ax3.set_box_aspect((1.0, 1.0, 1.0))
    ax3.set_xticklabels([])
    ax3.set_yticklabels([])
    ax3.set_zticklabels([])
    ax3.view_init(elev=12.0, azim=-75.0)
    ax3.set_title("3D: prediction (colour) vs truth (grey)", fontsize=7)


def write_eval_report(
    path: str | os.PathLike[str],
    result: Mapping[str, Any],
    samples: Sequence[ReportSample],
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    title: str = "",
) -> Path:
    """Write the evaluation report PNG.

    Args:
        path: output ``.png``.
        result: metrics with ``mpjpe``, ``pa_mpjpe`` and optionally ``per_action``, ``per_action_pa`` and
            ``per_joint`` tables (mm), as written to ``eval.json``.
        samples: samples for the grid (usually best / median / worst), may be empty.
        edges: skeleton bones (joint index pairs) of the sample poses.
        joint_names: names of the sample poses' joints.
        title: figure title.

    Returns:
        The written path.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    rows = 1 + len(samples)
    fig = Figure(figsize=(12, 3.6 * rows), dpi=90)
    grid = fig.add_gridspec(rows, 4)
    head = f"{title}  " if title else ""
    fig.suptitle(f"{head}MPJPE {result['mpjpe']:.1f} mm · PA-MPJPE {result['pa_mpjpe']:.1f} mm "
                 f"({result.get('num_samples', '?')} samples)", fontsize=11)  # fmt: skip
    if result.get("per_action"):
        table = {"MPJPE": dict(result["per_action"])}
        if result.get("per_action_pa"):
            table["PA-MPJPE"] = dict(result["per_action_pa"])
        _bars(fig.add_subplot(grid[0, :2]), table, "error per action", "mm")
    if result.get("per_joint"):
        _bars(fig.add_subplot(grid[0, 2:]), {"MPJPE": dict(result["per_joint"])}, "error per joint", "mm")
    for r, sample in enumerate(samples, start=1):
        _draw_sample(fig, (grid[r, :2], grid[r, 2:]), sample, edges, joint_names)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _save_figure(fig, path)


def _draw_sample_2d(ax: Any, sample: ReportSample, edges: Sequence[tuple[int, int]], names: Sequence[str]) -> None:
    """Image with the ground truth (grey) and the prediction (coloured by side); NaN joints are left out."""
    ax.imshow(sample.image_rgb)
    for a, b in edges:
        ax.plot(sample.gt_2d[[a, b], 0], sample.gt_2d[[a, b], 1], color=_GT_RGB, linewidth=2.5, alpha=0.8)
        ax.plot(sample.pred_2d[[a, b], 0], sample.pred_2d[[a, b], 1], color=_side_rgb(names[a], names[b]),
                linewidth=1.5)  # fmt: skip
    ax.set_title(sample.label, fontsize=8)
    ax.axis("off")


def write_eval_report_2d(
    path: str | os.PathLike[str],
    result: Mapping[str, Any],
    samples: Sequence[ReportSample],
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    title: str = "",
) -> Path:
    """Write the report PNG of a 2D protocol: headline, group/summary bars, per-joint bars, sample overlays.

    Args:
        path: output ``.png``.
        result: the ``eval.json`` content of a 2D protocol: ``protocol`` (``mpii_pckh`` or ``coco_ap``), with
            ``pckh``, ``pckh_0.1``, ``groups`` (, ``groups_0.1``) and ``per_joint`` (fractions) for MPII, or
            ``coco`` (COCOeval numbers) and ``per_joint`` (mean OKS term per keypoint) for COCO.
        samples: samples for the grid (``pred_2d``/``gt_2d`` in the sample image's px; 3D fields unused).
        edges: skeleton bones of the sample poses.
        joint_names: names of the sample poses' joints.
        title: figure title.

    Returns:
        The written path.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    mpii = result.get("protocol") == "mpii_pckh"
    if mpii and not {"pckh", "pckh_0.1", "groups"} <= set(result):
        raise ValueError("result: an mpii_pckh result needs 'pckh', 'pckh_0.1' and 'groups'")
    if not mpii and "coco" not in result:
        raise ValueError("result: expected protocol 'mpii_pckh' or a coco_ap result with 'coco'")
    rows = 2 if samples else 1
    cols = max(3, len(samples))
    fig = Figure(figsize=(12, 3.8 * rows), dpi=90)
    grid = fig.add_gridspec(rows, 2 * cols)
    head = f"{title}  " if title else ""
    n = result.get("num_samples", "?")
    if mpii:
        fig.suptitle(f"{head}PCKh@0.5 {100 * result['pckh']:.1f} % · PCKh@0.1 {100 * result['pckh_0.1']:.1f} % "
                     f"({n} samples)", fontsize=11)  # fmt: skip
        table = {"PCKh@0.5": {k: 100 * v for k, v in result["groups"].items()}}
        if result.get("groups_0.1"):
            table["PCKh@0.1"] = {k: 100 * v for k, v in result["groups_0.1"].items()}
        _bars(fig.add_subplot(grid[0, :cols]), table, "PCKh per joint group", "%")
        joint_title, joint_unit = "PCKh@0.5 per joint", "%"
    else:
        c = result["coco"]
        fig.suptitle(f"{head}COCO AP {100 * c['AP']:.1f} · AP50 {100 * c['AP50']:.1f} · AP75 {100 * c['AP75']:.1f} "
                     f"({n} people)", fontsize=11)  # fmt: skip
        stats = {k: 100 * float(v) if float(v) >= 0 else np.nan for k, v in c.items()}  # −1 = no such GT: no bar
        _bars(fig.add_subplot(grid[0, :cols]), {"COCOeval": stats}, "COCO keypoint AP / AR", "%")
        joint_title, joint_unit = "mean OKS term per keypoint", "%"
    if result.get("per_joint"):
        _bars(fig.add_subplot(grid[0, cols:]), {"": {k: 100 * v for k, v in result["per_joint"].items()}},
              joint_title, joint_unit)  # fmt: skip
    for k, sample in enumerate(samples):
        _draw_sample_2d(fig.add_subplot(grid[1, 2 * k : 2 * k + 2]), sample, edges, joint_names)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save_figure(fig, path)


def write_comparison_report(
    path: str | os.PathLike[str], results: Mapping[str, Mapping[str, Any]], title: str = ""
) -> Path:
    """Side-by-side bars of several models' headline metrics and per-joint errors.

    Args:
        path: output ``.png``.
        results: ``{model name: eval result}`` (each with ``mpjpe``, ``pa_mpjpe``, optional ``per_joint``).
        title: figure title.

    Returns:
        The written path.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    if not results:
        raise ValueError("results: expected at least one model's metrics, got none")
    fig = Figure(figsize=(12, 4.2), dpi=90)
    grid = fig.add_gridspec(1, 3)
    head = {name: {"MPJPE": float(r["mpjpe"]), "PA-MPJPE": float(r["pa_mpjpe"])} for name, r in results.items()}
    _bars(fig.add_subplot(grid[0, 0]), head, "headline error (lower is better)", "mm")
    per_joint = {name: dict(r["per_joint"]) for name, r in results.items() if r.get("per_joint")}
    if per_joint:
        _bars(fig.add_subplot(grid[0, 1:]), per_joint, "MPJPE per joint", "mm")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.94 if title else 1))
    return _save_figure(fig, path)


def write_learning_curves(
    path: str | os.PathLike[str],
    curves: Mapping[str, Sequence[Mapping[str, Sequence[float]]]],
    baseline: float | None = None,
    baseline_label: str = "mean training pose",
    title: str = "",
    ylabel: str = "held-out MPJPE (mm)",
) -> Path:
    """Held-out error against updates for several models, one line per run (seeds) and their mean.

    Args:
        path: output ``.png``.
        curves: ``{model name: [{"steps": [...], "error": [...]}, … one per seed]}``.
        baseline: a horizontal reference line (e.g. the mean-pose error), or ``None``.
        baseline_label: legend text of the reference line.
        title: figure title. ylabel: y-axis label.

    Returns:
        The written path.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("curves: expected at least one model's curve, got none")
    fig = Figure(figsize=(7.5, 4.5), dpi=90)
    ax = fig.add_subplot(1, 1, 1)
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
    for i, (name, runs) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        if not runs:
            raise ValueError(f"curves[{name!r}]: expected at least one run, got none")
        for run in runs:
            if len(run["steps"]) != len(run["error"]):
                raise ValueError(f"curves[{name!r}]: steps and error differ in length")
            ax.plot(run["steps"], run["error"], color=colour, alpha=0.35, linewidth=1)
        n = min(len(r["steps"]) for r in runs)
        mean = np.mean([np.asarray(r["error"][:n], dtype=np.float64) for r in runs], axis=0)
        label = f"{name} ({len(runs)} seed{'s' if len(runs) > 1 else ''})"
        ax.plot(runs[0]["steps"][:n], mean, color=colour, linewidth=2.2, marker="o", markersize=3, label=label)
    if baseline is not None:
        ax.axhline(float(baseline), color="0.4", linestyle="--", linewidth=1.2, label=baseline_label)
    ax.set_xlabel("updates")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save_figure(fig, path)


def write_prediction_overlays(
    path: str | os.PathLike[str],
    images_rgb: Sequence[np.ndarray],
    predictions: Mapping[str, np.ndarray],
    edges: Sequence[tuple[int, int]],
    joint_names: Sequence[str],
    ground_truth: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """A grid of images (columns) × models (rows) with each model's 2D skeleton drawn over the image.

    Args:
        path: output ``.png``.
        images_rgb: N (H, W, 3) uint8 RGB images (e.g. the test crops).
        predictions: ``{model name: (N, J, 2) joints in image px}``.
        edges: bones as (a, b) joint index pairs. joint_names: J names (sides choose the colours).
        ground_truth: (N, J, 2) px drawn as a first row, or ``None``.
        title: figure title.

    Returns:
        The written path.
    """
    _require_matplotlib()
    from matplotlib.figure import Figure

    rows = ([("ground truth", ground_truth)] if ground_truth is not None else []) + list(predictions.items())
    n = len(images_rgb)
    if n == 0 or not rows:
        raise ValueError("write_prediction_overlays: expected at least one image and one model")
    for name, kp in rows:
        if np.asarray(kp).shape[:2] != (n, len(joint_names)):
            raise ValueError(f"{name}: expected ({n}, {len(joint_names)}, 2) joints, got {np.asarray(kp).shape}")
    fig = Figure(figsize=(1.6 * n, 1.7 * len(rows) + (0.3 if title else 0.0)), dpi=90)
    grid = fig.add_gridspec(len(rows), n)
    for r, (name, kp) in enumerate(rows):
        for c in range(n):
            ax = fig.add_subplot(grid[r, c])
            img = images_rgb[c]
            ax.imshow(img)
            pts = np.asarray(kp[c], dtype=np.float64)
            for a, b in edges:
                if np.isfinite(pts[[a, b]]).all():
                    ax.plot(pts[[a, b], 0], pts[[a, b], 1], color=_side_rgb(joint_names[a], joint_names[b]),
                            linewidth=1.5)  # fmt: skip
            ax.set_xlim(-0.5, img.shape[1] - 0.5)
            ax.set_ylim(img.shape[0] - 0.5, -0.5)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95 if title else 1))
    return _save_figure(fig, path)

"""Backbone pretraining on SynthMocap with two heads at once: a start that favours neither head.

The paper starts every model from an ImageNet backbone. We cannot ship ImageNet weights, so the project makes its
own starting point: one backbone trained with **both** the integral head (deconvolution volume + soft-argmax) and
the direct-regression head (global pool + linear) attached, on on-the-fly SynthMocap samples
(:class:`~integral_pose.data.sources.synthmocap_live.SynthMocapStream`). The loss is the sum of the two heads'
coordinate losses, so the backbone learns features that serve both, and the comparison of fresh heads trained from
it (``ipr demo``) starts level.

The run is one call of :func:`pretrain` (``ipr pretrain``): a fixed number of steps, the learning rate decayed
×``optim.factor`` for the last ``decay_fraction`` of them, both heads scored on the fixed test split every
``eval_every`` steps (learning curves in ``curves.json``), and a resumable ``state.pt`` written atomically at
each evaluation. At the end it writes the two models as ordinary checkpoints (``integral.pt``, ``direct.pt``, fp32)
and ``model_fp16.pt`` — the integral model in half precision, the file shipped in the package
(:mod:`integral_pose.models.zoo`).

Sample ``k`` of the run is ``(k mod size, k div size)`` of the stream, so the data depend only on the seed and the
step, never on the number of loader workers, and a resumed run sees the samples an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from integral_pose.build import build_eval_dataset, build_model, build_train_dataset
from integral_pose.config.io import config_to_dict
from integral_pose.config.schema import Config
from integral_pose.engine.checkpoint import save_checkpoint
from integral_pose.engine.eval_predict import predict
from integral_pose.engine.eval_score_3d import score_3d
from integral_pose.engine.objective import compute_loss, outputs_to_coords
from integral_pose.fileio import atomic_write, atomic_write_json
from integral_pose.models.heads import DirectHead
from integral_pose.models.posenet import PoseNet
from integral_pose.skeletons import get_skeleton

__all__ = ["StreamSampler", "direct_config", "pretrain"]


class StreamSampler(torch.utils.data.Sampler):
    """Keys ``(k mod size, k div size)`` for run positions ``k = start, start + 1, …, stop − 1``."""

    def __init__(self, size: int, start: int, stop: int) -> None:
        if size < 1 or not 0 <= start <= stop:
            raise ValueError(f"StreamSampler: expected size >= 1 and 0 <= start <= stop, got {size}, {start}, {stop}")
        self.size, self.start, self.stop = int(size), int(start), int(stop)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for k in range(self.start, self.stop):
            yield (k % self.size, k // self.size)

    def __len__(self) -> int:
        return self.stop - self.start


def direct_config(cfg: Config) -> Config:
    """``cfg`` with ``model.arch`` set to ``direct`` (same backbone, width, joints, data and schedule)."""
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, arch="direct"))


def _lr_at(step: int, steps: int, cfg: Config, decay_fraction: float) -> float:
    """Learning rate of ``step`` (0-based): linear warm-up, constant, ×factor for the last ``decay_fraction``."""
    base = cfg.optim.lr
    warm = cfg.optim.warmup_steps
    if warm > 0 and step < warm:
        return base * (step + 1) / warm
    if step >= math.ceil(steps * (1.0 - decay_fraction)):
        return base * cfg.optim.factor
    return base


def _evaluate(models: dict[str, nn.Module], cfgs: dict[str, Config], test_set: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, model in models.items():
        model.eval()
        res = score_3d(predict([model], test_set, cfgs[name], device="cpu", flip_test=False), test_set, cfgs[name])
        model.train()
        out[f"{name}_mpjpe"] = float(res["mpjpe"])
        out[f"{name}_pa_mpjpe"] = float(res["pa_mpjpe"])
    return out


@dataclasses.dataclass
class _Joint:
    """The jointly trained pair: the integral network and a direct head on the same backbone, one optimiser."""

    integral: PoseNet
    direct_head: DirectHead
    direct: PoseNet
    optimizer: torch.optim.Optimizer

    def state(self, step: int, wall_s: float, curves: list[dict[str, float]]) -> dict[str, Any]:
        """Everything a resume needs (``state.pt``)."""
        return {
            "integral": self.integral.state_dict(),
            "direct_head": self.direct_head.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": step,
            "wall_s": wall_s,
            "curves": json.dumps(curves),
            "torch_rng": torch.get_rng_state(),
        }

    def load(self, state: dict[str, Any]) -> tuple[int, float, list[dict[str, float]]]:
        """Restore :meth:`state`; returns (step, wall_s, curves)."""
        self.integral.load_state_dict(state["integral"])
        self.direct_head.load_state_dict(state["direct_head"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"]), float(state["wall_s"]), json.loads(state["curves"])


def _check_pretrain_args(cfg: Config, steps: int, eval_every: int, decay_fraction: float) -> None:
    if cfg.model.arch != "integral":
        raise ValueError(f"model.arch: pretraining starts from the integral recipe, got {cfg.model.arch!r}")
    if steps < 1 or eval_every < 1:
        raise ValueError(f"steps and eval_every: expected >= 1, got {steps}, {eval_every}")
    if not 0.0 <= decay_fraction < 1.0:
        raise ValueError(f"decay_fraction: expected a fraction in [0, 1), got {decay_fraction}")


def _build_joint(cfg: Config) -> _Joint:
    integral = build_model(cfg.model)
    direct_head = DirectHead(integral.backbone.out_channels, cfg.model.num_joints)
    direct = PoseNet(integral.backbone, direct_head, cfg.model.num_joints, cfg.model.depth_bins)  # shared backbone
    params = [*integral.parameters(), *direct_head.parameters()]
    optimizer = torch.optim.Adam(params, lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=cfg.optim.weight_decay)
    return _Joint(integral, direct_head, direct, optimizer)


def _joint_step(
    joint: _Joint, item: dict[str, torch.Tensor], cfgs: dict[str, Config], step: int
) -> tuple[float, float]:
    """One optimiser step on the sum of both heads' losses; returns (integral loss, direct loss)."""
    images, target, weight = item["image"], item["target"], item["target_weight"]
    feat = joint.integral.backbone.forward_features(images)
    out_i = joint.integral.head(feat)
    out_d = joint.direct_head(feat)
    loss_i, _ = compute_loss(outputs_to_coords(out_i, cfgs["integral"].model), target, weight, out_i, cfgs["integral"])
    loss_d, _ = compute_loss(outputs_to_coords(out_d, cfgs["direct"].model), target, weight, out_d, cfgs["direct"])
    loss = loss_i + loss_d
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"pretrain: non-finite loss at step {step + 1} (integral {float(loss_i)}, direct {float(loss_d)})"
        )
    joint.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    joint.optimizer.step()
    return float(loss_i.detach()), float(loss_d.detach())


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` through a temporary file in the same folder, then an atomic rename."""
    with atomic_write(path) as f:
        torch.save(state, f)


def _print_point(point: dict[str, float], steps: int, batch: int) -> None:
    step, wall = int(point["step"]), point["wall_s"]
    print(
        f"step {step}/{steps}: loss int {point['loss_integral']:.3f} dir {point['loss_direct']:.3f}, "
        f"test MPJPE int {point['integral_mpjpe']:.1f} dir {point['direct_mpjpe']:.1f} mm, "
        f"{step * batch / max(wall, 1e-9):.0f} img/s overall, {wall / 60:.1f} min",
        flush=True,
    )


def _write_outputs(out: Path, joint: _Joint, cfgs: dict[str, Config], step: int, curves: list[dict[str, float]]
                   ) -> dict[str, str]:  # fmt: skip
    """The three checkpoints of a pretraining run: integral, direct (same backbone) and the fp16 integral."""
    joint.integral.eval()
    joint.direct.eval()
    joint_names = list(get_skeleton(cfgs["integral"].model.joint_set).joint_names)
    extra = {"pretrain": {"steps": step, "curves": curves[-1:] if curves else []}}
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in joint.integral.state_dict().items()}
    files = {}
    for key, name, net, c in (("integral", "integral.pt", joint.integral, cfgs["integral"]),
                              ("direct", "direct.pt", joint.direct, cfgs["direct"]),
                              ("integral_fp16", "model_fp16.pt", half, cfgs["integral"])):  # fmt: skip
        files[key] = str(save_checkpoint(out / name, net, config_to_dict(c), joint_names, step=step, extra=extra))
    return files


def pretrain(
    cfg: Config,
    out_dir: str | Path,
    *,
    steps: int,
    eval_every: int,
    decay_fraction: float = 0.1,
    resume: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train one backbone with the integral and the direct head jointly (see the module docstring).

    Args:
        cfg: the integral model's recipe (``model`` = the integral network; ``data.train`` = a
            ``synthmocap_live`` stream; ``data.test`` = fixed SynthMocap records; ``optim`` and ``train``).
        out_dir: run folder.
        steps: optimiser steps.
        eval_every: steps between evaluations / resumable states.
        decay_fraction: share of the steps (at the end) run at ``optim.lr · optim.factor``.
        resume: continue from ``out_dir/state.pt``.
        quiet: no progress lines.

    Returns:
        ``{"steps", "wall_s", "images_per_s", "curves": [...], "final": {...}, "files": {...}}``.
    """
    _check_pretrain_args(cfg, steps, eval_every, decay_fraction)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.train.seed)
    cfgs = {"integral": cfg, "direct": direct_config(cfg)}
    joint = _build_joint(cfg)
    curves: list[dict[str, float]] = []
    start, wall_before = 0, 0.0
    state_path = out / "state.pt"
    if resume and state_path.is_file():
        start, wall_before, curves = joint.load(torch.load(state_path, map_location="cpu", weights_only=True))
    dataset, _, _, _ = build_train_dataset(cfg)
    test_set = build_eval_dataset(cfg, "test")
    batch = cfg.train.batch_size
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        sampler=StreamSampler(len(dataset), start * batch, steps * batch),
        num_workers=cfg.data.num_workers,
        drop_last=False,
        persistent_workers=False,
    )
    models = {"integral": joint.integral, "direct": joint.direct}
    joint.integral.train()
    joint.direct_head.train()
    t0 = time.perf_counter()
    step = start
    run_loss = [0.0, 0.0]
    n_run = 0
    for item in loader:
        lr = _lr_at(step, steps, cfg, decay_fraction)
        for g in joint.optimizer.param_groups:
            g["lr"] = lr
        losses = _joint_step(joint, item, cfgs, step)
        step += 1
        run_loss = [run_loss[0] + losses[0], run_loss[1] + losses[1]]
        n_run += 1
        if step % eval_every == 0 or step == steps:
            wall = wall_before + time.perf_counter() - t0
            point = {"step": step, "images": step * batch, "wall_s": wall, "lr": lr,
                     "loss_integral": run_loss[0] / n_run, "loss_direct": run_loss[1] / n_run}  # fmt: skip
            point.update(_evaluate(models, cfgs, test_set))
            curves.append(point)
            run_loss, n_run = [0.0, 0.0], 0
            _save_state(state_path, joint.state(step, wall, curves))
            atomic_write_json(out / "curves.json", {"curves": curves})
            if not quiet:
                _print_point(point, steps, batch)
    wall = wall_before + time.perf_counter() - t0
    files = _write_outputs(out, joint, cfgs, step, curves)
    summary = {"steps": step, "wall_s": wall, "images_per_s": step * batch / max(wall, 1e-9), "curves": curves,
               "final": curves[-1] if curves else {}, "files": files}  # fmt: skip
    atomic_write_json(out / "summary.json", summary)
    return summary

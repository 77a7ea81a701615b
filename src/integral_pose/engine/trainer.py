"""The training loop: data, model, loss and optimiser built from a validated :class:`Config`, run to completion.

One call, :func:`train`, does the whole run; its pieces are the functions below it, in the order they run
(run folder and resume decision → build → restore → epochs → validation and checkpoints):

* **Distributed** when launched by ``torchrun`` (DDP; gloo on CPU, nccl on CUDA; SyncBatchNorm only on CUDA).
  ``train.batch_size`` is global and must divide by the world size; every rank sees a disjoint slice of each
  epoch (:class:`integral_pose.data.sampling.MixedSampler`); only rank 0 logs and saves.
* **Schedule** in PyTorch's order: ``optimizer.step()`` every batch, the optional linear warm-up stepped after
  each optimiser step, and the multi-step decay stepped after each epoch. ``optim.milestones`` are 1-based
  epochs: milestone 270 means epochs 270, 271, … run at the decayed rate (the original's schedule).
* **Precision**: AMP in bf16 (CPU or CUDA) or fp16 (CUDA, with a gradient scaler); the integral op always runs
  in float32. Optional ``torch.compile`` and channels-last.
* **Checkpoints** (atomic): ``last.pt`` every epoch, ``epoch_NNNN.pt`` every ``train.checkpoint_every`` epochs
  and at the end, ``best.pt`` on the best validation MPJPE. A checkpoint restores model, optimiser, schedulers,
  scaler, epoch, step, sampler position and every RNG state, so a resumed run is bit-identical on CPU
  (:mod:`integral_pose.engine.resume`).
* **Guard rails** (:mod:`integral_pose.engine.guards`): non-finite outputs, loss or gradients skip the step and
  are counted (``train.skip_nonfinite``); after ``train.max_skipped_steps`` such steps in a row, when the update
  itself made the weights non-finite, or at once with ``skip_nonfinite: false``, the run stops (exit 1) naming
  the step and the sample ids, and the last good checkpoint is kept (a non-finite model is never saved). A step
  whose loss exceeds ``train.divergence_factor`` × its running level, or whose global weight norm exceeds that
  multiple of its value at the start of the run, is warned about; ``train.divergence_patience`` such steps in a
  row stop the run the same way. Unreadable images (and images whose decoded size differs from the records'
  ``image_size``) are skipped, counted and listed at the end of the epoch, and the run aborts past
  ``train.max_bad_image_fraction``.
* **One run per folder**: rank 0 holds an exclusive lock on the run folder (:class:`RunLock`); a second run
  into the same folder stops at once naming the owner. On start and resume, stale temporaries of interrupted
  checkpoint writes are removed and ``metrics.jsonl`` is trimmed back to the checkpoint's step.
* **Resume honours changes**: the resolved config is compared with the checkpoint's. Keys that may change
  mid-run (:data:`RESUME_MUTABLE_KEYS`) are applied to the restored optimiser/scheduler and logged; any other
  difference is an error. A resumed run prints where it continues from; ``--resume auto`` on a finished run says
  so and trains nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from integral_pose.build import (
    build_eval_dataset,
    build_model,
    build_optimizer,
    build_sampler,
    build_schedulers,
    build_train_dataset,
)
from integral_pose.config.io import config_to_dict, save_config
from integral_pose.config.schema import Config
from integral_pose.engine.checkpoint import load_checkpoint, save_checkpoint
from integral_pose.engine.distributed import (
    DistInfo,
    barrier,
    broadcast_object,
    check_global_batch,
    init_distributed,
    teardown,
)
from integral_pose.engine.eval_predict import predict
from integral_pose.engine.eval_score_3d import score_3d
from integral_pose.engine.guards import (
    BadImageError,
    DivergenceError,
    GuardedDataset,
    NonFiniteLossError,
    StepGuard,
    check_bad_images,
    check_weights_finite,
    collate_guarded,
    grads_finite,
    weight_norm,
)
from integral_pose.engine.logging import MetricsWriter, Progress, RunPaths, remove_stale_temporaries, trim_metrics
from integral_pose.engine.objective import compute_loss, outputs_to_coords
from integral_pose.engine.resume import (
    RESUME_MUTABLE_KEYS,
    find_resume_checkpoint,
    restore_training_state,
    resume_config_changes,
)
from integral_pose.engine.runlock import RunLock
from integral_pose.engine.seeding import capture_rng_state, seed_everything
from integral_pose.fileio import check_writable_dir
from integral_pose.models.weights import unwrap_model
from integral_pose.skeletons import get_skeleton

__all__ = [
    "RESUME_MUTABLE_KEYS",
    "BadImageError",
    "DivergenceError",
    "NonFiniteLossError",
    "TrainResult",
    "find_resume_checkpoint",
    "train",
]


@dataclass
class TrainResult:
    """Summary of a finished (or resumed-and-finished) run.

    Attributes:
        run_dir: the run folder.
        epochs: epochs completed in total.
        steps: optimiser steps in total.
        last_loss: mean training loss of the final epoch trained by this call (NaN when none was).
        best_val_mpjpe: best validation MPJPE in mm (NaN when never validated).
        images_per_s: training throughput of the last epoch (all ranks together; NaN when none was trained).
        wall_s: seconds spent in this call.
        skipped_steps: steps skipped for non-finite loss/gradients (this call).
        bad_images: unreadable images skipped (this call).
        history: one record per epoch trained by this call.
        resumed_from: the checkpoint this call continued from (``None`` for a fresh run).
        already_complete: the checkpoint resumed from had finished ``train.epochs``; nothing was trained.
    """

    run_dir: Path
    epochs: int
    steps: int
    last_loss: float
    best_val_mpjpe: float
    images_per_s: float
    wall_s: float
    skipped_steps: int = 0
    bad_images: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: Path | None = None
    already_complete: bool = False


@dataclass
class _State:
    epoch: int = 0  # finished epochs
    step: int = 0  # optimiser steps taken
    best: float = math.inf
    skipped: int = 0
    bad: int = 0


@dataclass
class _Run:
    """Everything one ``train`` call works with, built once by :func:`_build_run`."""

    cfg: Config
    info: DistInfo
    device: str
    paths: RunPaths
    write: bool  # rank 0 of a real run: logs and checkpoints are written
    dry: bool  # fast_dev_run
    loader: DataLoader
    sampler: Any
    steps_per_epoch: int
    val_set: Any
    raw_model: torch.nn.Module  # the network itself
    model: torch.nn.Module  # the network as trained: possibly wrapped (DDP, compile)
    optimizer: torch.optim.Optimizer
    multistep: Any
    warmup: Any
    scaler: torch.amp.GradScaler
    total_epochs: int
    state: _State = field(default_factory=_State)
    writer: MetricsWriter | None = None
    verbose: bool = False
    progress_tty: bool | None = None

    @property
    def trainable(self) -> list[torch.nn.Parameter]:
        return [p for p in self.raw_model.parameters() if p.requires_grad]

    def last_good(self) -> str:
        """``" (<path>)"`` naming the checkpoint a stopped run leaves, or ``" (none was written yet)"``."""
        if not self.write:
            return ""
        found = find_resume_checkpoint(self.paths.root) if self.paths.checkpoints.is_dir() else None
        return f" ({found})" if found is not None else " (none was written yet)"


def train(
    cfg: Config,
    resume: str | None = None,
    fast_dev_run: int = 0,
    run_dir: str | os.PathLike[str] | None = None,
    quiet: bool = False,
    progress_tty: bool | None = None,
) -> TrainResult:
    """Train a model as ``cfg`` says.

    Args:
        cfg: validated :class:`integral_pose.config.schema.Config`.
        resume: ``None`` (fresh run; refuses a run folder that already has checkpoints), ``"auto"`` (continue from
            the last good checkpoint of the run folder, fresh start when there is none) or a checkpoint path.
        fast_dev_run: when > 0, run only this many steps of one epoch and one validation batch, write nothing.
        run_dir: run folder (default ``cfg.train.out_dir``).
        quiet: no progress display (metrics are still written).
        progress_tty: force the tqdm bar (True) or plain lines (False); default: decided by the terminal.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: bad configuration for this launch (e.g. batch not divisible by the world size, fp16 on CPU),
            or a resume whose config changes a key that cannot change mid-run.
        FileExistsError: fresh run into a folder that already has checkpoints, or the folder is locked by another
            run (:class:`~integral_pose.engine.runlock.RunLockedError`).
        OSError: the run folder is not writable (named).
        NonFiniteLossError, DivergenceError, BadImageError: guard rails (see module docstring).
    """
    t_start = time.perf_counter()
    dev_pref = cfg.train.device
    info = init_distributed("cuda" if dev_pref.startswith("cuda") else dev_pref)
    failed = True
    lock: RunLock | None = None
    try:
        device = dev_pref if dev_pref.startswith("cuda:") and not info.distributed else info.device
        if cfg.train.amp == "fp16" and not device.startswith("cuda"):
            raise ValueError("train.amp: 'fp16' needs CUDA; use 'bf16' or 'off' on CPU")
        per_rank = check_global_batch(cfg.train.batch_size, info.world_size)
        paths = RunPaths(run_dir if run_dir is not None else cfg.train.out_dir)
        dry = fast_dev_run > 0
        lock, setup_error = _lock_run_folder(paths, info.is_main and not dry)
        source = _resume_source(paths, resume, dry, info, setup_error)
        ckpt = load_checkpoint(source) if source is not None else None
        # before anything is built: a change that cannot happen mid-run is reported as such, not as a shape error
        changes = resume_config_changes(ckpt["config"], cfg, str(source)) if ckpt is not None else {}

        seed_everything(cfg.train.seed)
        run = _build_run(cfg, info, device, paths, per_rank, fast_dev_run)
        run.verbose, run.progress_tty = info.is_main and not quiet, progress_tty
        if ckpt is not None:
            _restore(run, ckpt, str(source), changes)
        _wrap_model(run)
        run.writer = _open_log(run, ckpt is not None, source, changes)
        complete = ckpt is not None and not dry and run.state.epoch >= run.total_epochs
        if ckpt is not None and info.is_main:
            _print_resume(run, source, complete)
        history = [] if complete else _run_epochs(run, resumed=ckpt is not None)
        state = run.state
        run.writer.log("end", state.step, epochs=state.epoch, skipped_steps=state.skipped, bad_images=state.bad)
        run.writer.close()
        failed = False
        last = history[-1] if history else {}
        return TrainResult(
            run_dir=paths.root, epochs=state.epoch, steps=state.step, last_loss=last.get("loss", math.nan),
            best_val_mpjpe=state.best if math.isfinite(state.best) else math.nan,
            images_per_s=last.get("img_s", math.nan), wall_s=time.perf_counter() - t_start,
            skipped_steps=state.skipped, bad_images=state.bad, history=history,
            resumed_from=Path(source) if source is not None else None, already_complete=complete,
        )  # fmt: skip
    finally:
        if lock is not None:
            lock.release()
        teardown(info, failed=failed)


# ------------------------------------------------------------------------------------------------ run folder, resume
def _lock_run_folder(paths: RunPaths, write: bool) -> tuple[RunLock | None, OSError | None]:
    """Rank 0 of a real run: check the folder is writable, lock it, remove stale temporaries.

    Returns ``(lock, error)``; the error is raised by the caller after the other ranks have heard of it.
    """
    if not write:
        return None, None
    try:
        check_writable_dir(paths.root, "train.out_dir")
        lock = RunLock(paths.root).acquire()
    except OSError as exc:  # DDP: the other ranks learn of it through the broadcast
        return None, exc
    for f in remove_stale_temporaries(paths):
        print(f"removed stale temporary file {f}", file=sys.stderr)
    return lock, None


def _resume_source(paths: RunPaths, resume: str | None, dry: bool, info: DistInfo,
                   setup_error: OSError | None) -> str | None:  # fmt: skip
    """The checkpoint to continue from (``None``: fresh run), decided by rank 0 and broadcast to all ranks.

    Raises:
        OSError: the run folder could not be set up (``setup_error``).
        FileExistsError: a fresh run into a folder that already holds checkpoints.
    """
    decision: tuple[str, str] = ("error", str(setup_error)) if setup_error is not None else ("fresh", "")
    if info.is_main and decision[0] != "error":
        if resume not in (None, "auto"):
            decision = ("resume", str(resume))
        elif resume == "auto":
            found = find_resume_checkpoint(paths.root)
            decision = ("resume", str(found)) if found is not None else ("fresh", "")
        elif not dry and paths.last.exists():
            decision = ("error", f"train.out_dir: {paths.root} already holds checkpoints; pass --resume auto to "
                        "continue that run or choose another train.out_dir")  # fmt: skip
    decision = broadcast_object(decision, info)
    if setup_error is not None:
        raise setup_error
    if decision[0] == "error":
        raise FileExistsError(decision[1])
    return decision[1] if decision[0] == "resume" else None


def _restore(run: _Run, ckpt: dict[str, Any], source: str, changes: dict[str, tuple[Any, Any]]) -> None:
    """Load the checkpoint's training state into the freshly built run."""
    optim_changed = any(k.startswith("optim.") for k in changes)
    point = restore_training_state(ckpt, source, run.raw_model, run.optimizer, (run.multistep, run.warmup), run.scaler,
                                   run.sampler, run.cfg, optim_changed)  # fmt: skip
    run.state = _State(epoch=point.epoch, step=point.step, best=point.best)


def _print_resume(run: _Run, source: str | None, complete: bool) -> None:
    """One line on stderr: what the run continues from, or that it had already finished."""
    s = run.state
    if complete:
        print(f"resume: {source} is epoch {s.epoch} of {run.total_epochs} (step {s.step}): the run is already "
              "complete; nothing to train (raise train.epochs to continue it)", file=sys.stderr)  # fmt: skip
    else:
        print(f"resume: continuing from {source} (epoch {s.epoch} of {run.total_epochs} done, step {s.step})",
              file=sys.stderr)  # fmt: skip


# ------------------------------------------------------------------------------------------------ build
def _build_run(cfg: Config, info: DistInfo, device: str, paths: RunPaths, per_rank: int,
               fast_dev_run: int) -> _Run:  # fmt: skip
    """Data, loader, validation set, model, optimiser and schedules, in a fixed order (the RNG sees the same
    sequence of draws in a fresh run and in the run it is resumed into)."""
    dry = fast_dev_run > 0
    dataset, sizes, ratios, epoch_len = build_train_dataset(cfg)
    sampler = build_sampler(cfg, sizes, ratios, epoch_len, world_size=info.world_size, rank=info.rank)
    loader = DataLoader(
        GuardedDataset(dataset),
        batch_size=per_rank,
        sampler=sampler,
        num_workers=cfg.data.num_workers,
        collate_fn=collate_guarded,
        pin_memory=device.startswith("cuda"),
        drop_last=False,
        generator=torch.Generator().manual_seed(cfg.train.seed),
        persistent_workers=False,
    )
    val_set = build_eval_dataset(cfg, "val") if cfg.data.val and cfg.train.val_every > 0 else None
    model = build_model(cfg.model).to(device)
    if cfg.train.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if info.distributed and device.startswith("cuda"):
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    steps_per_epoch = len(loader)
    if cfg.train.max_steps_per_epoch is not None:
        steps_per_epoch = min(steps_per_epoch, cfg.train.max_steps_per_epoch)
    if dry:
        steps_per_epoch = min(steps_per_epoch, fast_dev_run)
    optimizer = build_optimizer(model.parameters(), cfg.optim)
    multistep, warmup = build_schedulers(optimizer, cfg.optim, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.train.amp == "fp16")
    return _Run(cfg=cfg, info=info, device=device, paths=paths, write=info.is_main and not dry, dry=dry,
                loader=loader, sampler=sampler, steps_per_epoch=steps_per_epoch, val_set=val_set, raw_model=model,
                model=model,
                optimizer=optimizer, multistep=multistep, warmup=warmup, scaler=scaler,
                total_epochs=1 if dry else cfg.train.epochs)  # fmt: skip


def _wrap_model(run: _Run) -> None:
    """DDP across ranks and ``torch.compile`` as configured (after the weights are restored)."""
    if run.info.distributed:
        ddp_kw: dict[str, Any] = (
            {"device_ids": [torch.device(run.device).index]} if run.device.startswith("cuda") else {}
        )
        run.model = torch.nn.parallel.DistributedDataParallel(run.model, **ddp_kw)
    if run.cfg.train.compile:
        run.model = torch.compile(run.model)


def _open_log(run: _Run, resumed: bool, source: str | None, changes: dict[str, tuple[Any, Any]]) -> MetricsWriter:
    """Save the resolved config, trim ``metrics.jsonl`` back to the checkpoint's step and open it for appending."""
    s, paths = run.state, run.paths
    if run.write:
        paths.make()
        save_config(run.cfg, paths.config)
        trim_metrics(paths.metrics, s.step if resumed else 0, s.epoch)
    writer = MetricsWriter(paths.metrics, enabled=run.write, tensorboard_dir=paths.tb if run.write else None)
    if resumed and run.write:
        writer.log("resume", s.step, epoch=s.epoch, from_checkpoint=str(source))
        for key, (was, now) in changes.items():
            writer.log("config_change", s.step, key=key, checkpoint=was, now=now)
            if run.info.is_main:
                print(f"resume: {key} changed from {was!r} (checkpoint) to {now!r}; applied", file=sys.stderr)
    return writer


# ------------------------------------------------------------------------------------------------ epochs
@dataclass
class _EpochStats:
    sum_loss: torch.Tensor = field(default_factory=lambda: torch.zeros((), dtype=torch.float64))
    n_loss: int = 0
    n_img: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def _run_epochs(run: _Run, resumed: bool) -> list[dict[str, float]]:
    """Train the remaining epochs; one history record per epoch."""
    history: list[dict[str, float]] = []
    guard = StepGuard(run.cfg.train, ref_norm=weight_norm(run.trainable))
    start_epoch = run.state.epoch if not run.dry else 0
    for epoch in range(start_epoch, run.total_epochs):
        start_in_epoch = run.sampler.start if resumed and epoch == start_epoch else 0
        run.sampler.set_epoch(epoch, start_in_epoch)
        run.model.train()
        t0 = time.perf_counter()
        stats = _train_epoch(run, guard, epoch, t0)
        elapsed = time.perf_counter() - t0
        run.state.bad += check_bad_images(stats.bad, epoch, run.steps_per_epoch, run.cfg.train, run.info)
        record = _end_epoch(run, epoch, stats, elapsed)
        history.append(record)
        improved = "val_mpjpe" in record and record["val_mpjpe"] < run.state.best
        if improved:
            run.state.best = record["val_mpjpe"]
        _save_epoch(run, epoch, record, improved, diverging=guard.diverging > 0)
        if run.info.distributed:
            barrier(run.info)
    return history


def _train_epoch(run: _Run, guard: StepGuard, epoch: int, t0: float) -> _EpochStats:
    """One pass over this epoch's batches (at most ``steps_per_epoch``)."""
    progress = Progress(run.steps_per_epoch, f"epoch {epoch + 1}/{run.total_epochs}", enabled=run.verbose,
                        tty=run.progress_tty)  # fmt: skip
    stats = _EpochStats()
    for i, (batch, bad) in enumerate(run.loader):
        if i >= run.steps_per_epoch:
            break
        stats.bad.extend(bad)
        if batch is None:
            if run.info.distributed:
                raise BadImageError(f"every image of a batch failed to load on rank {run.info.rank}: {bad}")
            continue
        loss, terms = _train_step(run, guard, batch, epoch, i)
        if loss is None:
            progress.update(loss=float("nan"))
            continue
        stats.n_img += int(batch["image"].shape[0]) * run.info.world_size
        stats.sum_loss += loss.detach().double().cpu()
        stats.n_loss += 1
        lr = run.optimizer.param_groups[0]["lr"]
        rate = stats.n_img / max(time.perf_counter() - t0, 1e-9)
        if run.state.step % run.cfg.train.log_every == 0:
            run.writer.log("step", run.state.step, epoch=epoch + 1, loss=float(loss.detach()), lr=lr, img_s=rate,
                           **{k: float(v) for k, v in terms.items()})  # fmt: skip
        progress.update(loss=float(loss.detach()), lr=lr, img_s=rate)
    progress.close()
    return stats


def _forward_backward(run: _Run, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any], bool, bool]:
    """Forward, loss, backward and gradient clipping: ``(loss, terms, output finite, loss and grads finite)``."""
    cfg = run.cfg
    images = batch["image"].to(run.device, non_blocking=True)
    if cfg.train.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    target = batch["target"].to(run.device)
    weight = batch["target_weight"].to(run.device)
    with _autocast(run.device, cfg.train.amp):
        output = run.model(images)
    # the guard sees non-finite outputs before the integral op's input check would reject them
    out_finite = bool(torch.isfinite(output.detach()).all()) or cfg.train.amp == "fp16"
    if not out_finite:
        return torch.tensor(math.nan), {}, False, False
    coords = outputs_to_coords(output, cfg.model)
    loss, terms = compute_loss(coords, target, weight, output, cfg)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.optimizer)
    trainable = run.trainable
    if cfg.optim.clip_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(trainable, cfg.optim.clip_grad_norm)
    return loss, terms, True, bool(torch.isfinite(loss.detach())) and grads_finite(trainable)


def _train_step(run: _Run, guard: StepGuard, batch: dict[str, Any], epoch: int,
                i: int) -> tuple[torch.Tensor | None, dict[str, Any]]:  # fmt: skip
    """One optimiser step with its guard rails; ``(None, {})`` when the step was skipped as non-finite."""
    cfg, state = run.cfg, run.state
    ids = batch["index"].tolist()
    where = f"step {state.step + 1} (epoch {epoch + 1}, batch {i})"
    loss, terms, out_finite, finite = _forward_backward(run, batch)
    if not finite and cfg.train.amp != "fp16":
        what = "model output" if not out_finite else "loss/gradient"
        term_text = ", ".join(f"{k}={float(v):.6g}" for k, v in terms.items())
        detail = f"non-finite {what} at {where}: loss={float(loss.detach()):.6g} [{term_text}]"
        if not cfg.train.skip_nonfinite:
            raise NonFiniteLossError(f"{detail}; sample ids {ids}")
        state.skipped += 1
        run.optimizer.zero_grad(set_to_none=True)
        run.writer.log("skip", state.step, epoch=epoch + 1, loss=float(loss.detach()), sample_ids=ids)
        guard.nonfinite(detail, ids, run.last_good)
        return None, {}
    run.scaler.step(run.optimizer)
    run.scaler.update()
    norm = weight_norm(run.trainable)
    loss_value = float(loss.detach())
    check_weights_finite(norm, where, loss_value, run.optimizer.param_groups[0]["lr"], ids, run.last_good)
    why = guard.check_update(loss_value, norm)
    if why is not None:
        run.writer.log("diverge", state.step + 1, epoch=epoch + 1, loss=loss_value, weight_norm=norm, reason=why)
        if run.info.is_main:
            print(f"warning: divergence at {where}: {why}", file=sys.stderr)
        guard.check_patience(where, why, ids, run.last_good)
    if run.warmup is not None and state.step < run.warmup.total_iters:
        run.warmup.step()
    state.step += 1
    return loss, terms


def _end_epoch(run: _Run, epoch: int, stats: _EpochStats, elapsed: float) -> dict[str, float]:
    """Mean loss over all ranks, the decay step, validation and the epoch's log line."""
    loss_t = torch.stack([stats.sum_loss, torch.tensor(float(stats.n_loss), dtype=torch.float64)])
    if run.info.distributed:
        torch.distributed.all_reduce(loss_t)
    last_loss = float(loss_t[0] / max(loss_t[1].item(), 1.0))
    if not run.dry:
        run.multistep.step()
    run.state.epoch = epoch + 1
    img_s = stats.n_img / max(elapsed, 1e-9)
    record: dict[str, float] = {"epoch": epoch + 1, "loss": last_loss, "img_s": img_s,
                                "lr": run.optimizer.param_groups[0]["lr"], "seconds": elapsed}  # fmt: skip
    every = run.cfg.train.val_every
    if run.val_set is not None and ((epoch + 1) % every == 0 or epoch + 1 == run.total_epochs):
        record.update(_validate(run))
    run.writer.log("epoch", run.state.step, **record)
    if run.verbose:
        extra = f" val MPJPE {record['val_mpjpe']:.1f} mm" if "val_mpjpe" in record else ""
        print(f"epoch {epoch + 1}/{run.total_epochs}: loss {last_loss:.4f}, {img_s:.1f} img/s,"
              f" {elapsed:.1f} s{extra}", flush=True)  # fmt: skip
    return record


def _validate(run: _Run) -> dict[str, float]:
    """Validation MPJPE and PA-MPJPE in mm (rank 0; the others wait at a barrier and return ``{}``)."""
    out: dict[str, float] = {}
    if run.info.is_main:
        pred = predict([unwrap_model(run.model)], run.val_set, run.cfg, device=run.device, flip_test=False,
                       max_batches=1 if run.dry else None)  # fmt: skip
        val = score_3d(pred, run.val_set, run.cfg)
        out = {"val_mpjpe": val["mpjpe"], "val_pa_mpjpe": val["pa_mpjpe"]}
    if run.info.distributed:
        barrier(run.info)
    return out


def _save_epoch(run: _Run, epoch: int, record: dict[str, float], improved: bool, diverging: bool) -> None:
    """``last.pt``, the periodic ``epoch_NNNN.pt`` and ``best.pt`` (rank 0; never while diverging)."""
    if not run.write:
        return
    if diverging:
        print(f"warning: epoch {epoch + 1} ends while training is diverging; its checkpoint is not saved, "
              "the last one saved is kept", file=sys.stderr)  # fmt: skip
        return
    s = run.state
    run.sampler.set_epoch(epoch + 1, 0)
    ck_kw: dict[str, Any] = {
        "optimizer": run.optimizer,
        "scheduler": {
            "multistep": run.multistep.state_dict(),
            "warmup": run.warmup.state_dict() if run.warmup is not None else None,
        },
        "scaler": run.scaler.state_dict() if run.scaler.is_enabled() else None,
        "rng_state": capture_rng_state(),
        "epoch": s.epoch,
        "step": s.step,
        "extra": {
            "best": s.best if math.isfinite(s.best) else None,
            "sampler": run.sampler.state_dict(),
            "world_size": run.info.world_size,
            "val_mpjpe": record.get("val_mpjpe"),
            "loss": record["loss"],
        },
    }
    cfg_dict = config_to_dict(run.cfg)
    model = unwrap_model(run.model)
    joint_names = list(get_skeleton(run.cfg.model.joint_set).joint_names)
    save_checkpoint(run.paths.last, model, cfg_dict, joint_names, **ck_kw)
    if s.epoch % run.cfg.train.checkpoint_every == 0 or s.epoch == run.total_epochs:
        save_checkpoint(run.paths.periodic(s.epoch), model, cfg_dict, joint_names, **ck_kw)
    if improved:
        save_checkpoint(run.paths.best, model, cfg_dict, joint_names, **ck_kw)


def _autocast(device: str, amp: str) -> Any:
    if amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=dtype)

"""Run folders, ``metrics.jsonl``, progress display and optional TensorBoard events.

Run-folder layout (one folder per run, e.g. ``runs/<name>/``)::

    config.yaml            resolved configuration of the run
    metrics.jsonl          one JSON object per line: {"kind": "step"|"epoch"|"eval"|..., "epoch", "step", ...}
    checkpoints/last.pt    newest checkpoint (every epoch)
    checkpoints/epoch_0010.pt   periodic checkpoints (every ``train.save_every`` epochs)
    checkpoints/best.pt    best on validation
    tb/                    TensorBoard events (when the ``tb`` extra is installed and enabled)
    eval/                  ``eval.json`` and report PNGs written by ``ipr eval``

Only rank 0 writes; other ranks get disabled writers (:class:`MetricsWriter` with ``enabled=False``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from integral_pose.fileio import atomic_write_text

__all__ = [
    "MetricsWriter",
    "Progress",
    "RunPaths",
    "format_rate",
    "read_metrics",
    "remove_stale_temporaries",
    "trim_metrics",
]


class RunPaths:
    """File names inside one run folder (see the module docstring for the layout)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    def periodic(self, epoch: int) -> Path:
        """Checkpoint saved at the end of ``epoch`` (1-based count of finished epochs)."""
        return self.checkpoints / f"epoch_{epoch:04d}.pt"

    @property
    def tb(self) -> Path:
        return self.root / "tb"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def make(self) -> None:
        """Create the run folder and its ``checkpoints/`` sub-folder."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: tensors/NumPy scalars to floats, non-finite floats to strings."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class MetricsWriter:
    """Append-only ``metrics.jsonl`` writer with optional TensorBoard scalars.

    Each call to :meth:`log` writes one JSON line and flushes, so a killed run keeps every line written before.

    Args:
        path: the ``metrics.jsonl`` file.
        enabled: ``False`` on non-zero ranks (every call becomes a no-op).
        tensorboard_dir: folder for TensorBoard events, or ``None``; silently skipped when ``tensorboard`` is
            not installed.
    """

    def __init__(
        self, path: str | os.PathLike[str], enabled: bool = True, tensorboard_dir: str | os.PathLike[str] | None = None
    ) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._fh: TextIO | None = None
        self._tb: Any = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self._tb = None
            else:
                self._tb = SummaryWriter(log_dir=str(tensorboard_dir))

    @property
    def tensorboard(self) -> bool:
        """True when TensorBoard events are being written."""
        return self._tb is not None

    def log(self, kind: str, step: int, **values: Any) -> None:
        """Write one record ``{"kind": kind, "step": step, "time": unix seconds, **values}``."""
        if not self.enabled or self._fh is None:
            return
        rec = {"kind": kind, "step": int(step), "time": round(time.time(), 3), **_clean(values)}
        self._fh.write(json.dumps(rec, sort_keys=False) + "\n")
        self._fh.flush()
        if self._tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v)):
                    self._tb.add_scalar(f"{kind}/{k}", float(v), int(step))

    def close(self) -> None:
        """Flush and close the files."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | os.PathLike[str], kind: str | None = None) -> list[dict[str, Any]]:
    """Read a ``metrics.jsonl`` file (skipping a torn last line), optionally only records of ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics file not found: {path}")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill
            if kind is None or rec.get("kind") == kind:
                out.append(rec)
    return out


def trim_metrics(path: str | os.PathLike[str], step: int, epoch: int) -> int:
    """Drop the records a resumed run will write again: keep only what an uninterrupted run had logged by then.

    Kept: records with ``step`` below the checkpoint's, and those at its step whose ``epoch`` (when present) is
    at most the checkpoint's; ``end`` records past or at the checkpoint and torn lines are dropped. The file is
    rewritten atomically; with ``step == 0`` (a fresh start) every record goes.

    Args:
        path: the ``metrics.jsonl`` file (nothing happens when it does not exist).
        step: optimiser steps done at the checkpoint resumed from (0 for a fresh start).
        epoch: epochs finished at that checkpoint.

    Returns:
        The number of records (and torn lines) dropped.
    """
    p = Path(path)
    if not p.is_file():
        return 0
    kept: list[str] = []
    dropped = 0
    with open(p, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                dropped += 1
                continue
            r_step = rec.get("step", 0) if isinstance(rec, dict) else None
            r_epoch = rec.get("epoch", 0) if isinstance(rec, dict) else None
            ok = (
                isinstance(r_step, int)
                and step > 0
                and (r_step < step or (r_step == step and (not isinstance(r_epoch, int) or r_epoch <= epoch)))
                and not (rec.get("kind") == "end" and r_step >= step)
            )
            if ok:
                kept.append(line if line.endswith("\n") else line + "\n")
            else:
                dropped += 1
    if dropped:
        atomic_write_text(p, "".join(kept))
    return dropped


def remove_stale_temporaries(paths: RunPaths) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left in a run folder.

    Only the hidden ``.<name>.<random>.tmp`` files of the run's own files (``last.pt``, ``best.pt``,
    ``epoch_*.pt``, ``config.yaml``, ``metrics.jsonl``) are removed. Call it only while holding the run lock
    (:class:`integral_pose.engine.runlock.RunLock`), when no other writer can be using them.

    Returns:
        The removed files.
    """
    removed: list[Path] = []
    owned = ("last.pt", "best.pt", "epoch_", "config.yaml", "metrics.jsonl")
    for folder in (paths.root, paths.checkpoints):
        if not folder.is_dir():
            continue
        for f in folder.glob(".*.tmp"):
            if f.is_file() and f.name[1:].startswith(owned):
                try:
                    f.unlink()
                except FileNotFoundError:
                    continue
                removed.append(f)
    return removed


def format_rate(seconds: float) -> str:
    """``h:mm:ss`` for a duration in seconds (``?`` when unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """One epoch's progress: a tqdm bar on a terminal, plain periodic lines otherwise.

    Args:
        total: steps in the epoch.
        desc: label, e.g. ``"epoch 3/10"``.
        enabled: ``False`` on non-zero ranks or when quiet.
        every_s: minimum seconds between plain lines.
        stream: output stream (default ``sys.stderr``).
        tty: force bar (``True``) or plain lines (``False``); default: ``stream.isatty()``.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        enabled: bool = True,
        every_s: float = 10.0,
        stream: TextIO | None = None,
        tty: bool | None = None,
    ) -> None:
        self.total = int(total)
        self.desc = desc
        self.enabled = enabled
        self.every_s = every_s
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty) if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.count = 0
        self._t0 = time.perf_counter()
        self._last = self._t0
        self._bar: Any = None
        if enabled and self.tty:
            self._bar = tqdm(total=self.total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True)

    def update(self, n: int = 1, **fields: float) -> None:
        """Advance by ``n`` steps and show ``fields`` (e.g. loss, lr, img_s)."""
        self.count += n
        if not self.enabled:
            return
        text = {k: (f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in fields.items()}
        if self._bar is not None:
            self._bar.update(n)
            self._bar.set_postfix(text, refresh=False)
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s or self.count >= self.total:
            self._last = now
            elapsed = now - self._t0
            eta = elapsed / self.count * (self.total - self.count) if self.count else float("nan")
            body = " ".join(f"{k}={v}" for k, v in text.items())
            print(f"{self.desc} {self.count}/{self.total} {body} eta={format_rate(eta)}", file=self.stream, flush=True)

    def close(self) -> None:
        """Remove the bar (plain mode prints nothing more)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

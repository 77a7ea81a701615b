"""``ipr bench op``: the original-style integral op vs the memory-lean one, time and peak memory.

For each device and size, two rows are measured in the same process on the same logits (float32, requiring
grad, as a network output would):

* ``forward``: the op with its autograd graph built (what training pays before backward);
* ``fwd+bwd``: the op and the gradient with respect to the logits.

``original`` is the straightforward implementation, the public ``soft_argmax_3d_reference`` (softmax over D·H·W,
three marginals, expectations, plain autograd); ``ours`` is ``soft_argmax_3d`` (memory-lean autograd function).
Both are the public functions as a caller uses them, input checks included (the reference checks the logits with
an extra max-reduction over the volume; ours gets its maxima from the softmax pass). Time is the median of
``repeats`` runs after one warm-up, the two ops timed alternately. Peak memory is the highest amount allocated
above what existed before the call (the logits themselves are not counted; the returned gradient is): on CUDA
from the allocator's peak statistics, on CPU from the profiler's allocation events. Ratios are
``ours / original``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from integral_pose.errors import CliError
from integral_pose.geometry.integral import soft_argmax_3d, soft_argmax_3d_reference

__all__ = ["DEFAULT_SIZES", "format_table", "main", "measure"]

#: (B, J, D, H, W) of the paper's Human3.6M model and of the challenge model.
DEFAULT_SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "paper 8x18x64^3": (8, 18, 64, 64, 64),
    "challenge 4x18x72x96x72": (4, 18, 72, 96, 72),
}


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the profiler's native start/stop lines (written straight to file descriptor 2)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _cpu_peak_bytes(fn: Callable[[], Any]) -> int:

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
        del result
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]  # type: ignore[union-attr]
    events = [e for e in events if e.device_type() == torch.autograd.DeviceType.CPU]
    events.sort(key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return peak


def _cuda_peak_bytes(fn: Callable[[], Any], device: Any) -> int:

    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    result = fn()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del result
    return peak


def _median_seconds_pair(
    fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeats: int, sync: Callable[[], None]
) -> tuple[float, float]:
    """Median seconds of two callables timed alternately (a, b, a, b, …) after one warm-up each.

    Alternating keeps slow drifts of a shared machine from favouring either side.
    """
    for fn in (fn_a, fn_b):
        fn()
        sync()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((fn_a, times[0]), (fn_b, times[1])):
            t0 = time.perf_counter()
            result = fn()
            sync()
            bucket.append(time.perf_counter() - t0)
            del result
    return statistics.median(times[0]), statistics.median(times[1])


def measure(size: tuple[int, int, int, int, int], device: str, repeats: int) -> list[dict[str, Any]]:
    """Rows ``{"pass", "original_s", "ours_s", "original_bytes", "ours_bytes"}`` for one size on one device."""

    dev = torch.device(device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    logits = (torch.randn(size, generator=gen) * 2.0).to(dev).requires_grad_()
    weight = torch.randn(size[0], size[1], 3, generator=gen).to(dev)

    def original() -> torch.Tensor:
        return soft_argmax_3d_reference(logits)

    def ours() -> torch.Tensor:
        return soft_argmax_3d(logits)

    def with_backward(op: Callable[[], torch.Tensor]) -> Callable[[], Any]:
        def run() -> Any:
            out = op()
            (grad,) = torch.autograd.grad(out, logits, grad_outputs=weight)
            return out, grad

        return run

    if dev.type == "cuda":

        def sync() -> None:
            torch.cuda.synchronize(dev)

        def peak(fn: Callable[[], Any]) -> int:
            return _cuda_peak_bytes(fn, dev)
    else:

        def sync() -> None:
            return None

        peak = _cpu_peak_bytes

    rows = []
    for name, make in (("forward", lambda op: op), ("fwd+bwd", with_backward)):
        fn_orig, fn_ours = make(original), make(ours)
        t_orig, t_ours = _median_seconds_pair(fn_orig, fn_ours, repeats, sync)
        rows.append(
            {
                "pass": name,
                "original_s": t_orig,
                "ours_s": t_ours,
                "original_bytes": peak(fn_orig),
                "ours_bytes": peak(fn_ours),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Render measured rows (with ``device`` and ``size`` keys added) as a fixed-width table."""
    header = (
        f"{'device':<6} {'size':<24} {'pass':<8} {'orig ms':>9} {'ours ms':>9} {'time x':>7} "
        f"{'orig MiB':>9} {'ours MiB':>9} {'mem x':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        t_ratio = r["ours_s"] / r["original_s"] if r["original_s"] > 0 else float("nan")
        m_ratio = r["ours_bytes"] / r["original_bytes"] if r["original_bytes"] > 0 else float("nan")
        lines.append(
            f"{r['device']:<6} {r['size']:<24} {r['pass']:<8} {1e3 * r['original_s']:>9.1f} {1e3 * r['ours_s']:>9.1f} "
            f"{t_ratio:>7.2f} {r['original_bytes'] / 2**20:>9.1f} {r['ours_bytes'] / 2**20:>9.1f} {m_ratio:>6.2f}"
        )
    return "\n".join(lines)


def main(
    repeats: int = 5,
    device: str = "auto",
    sizes: Mapping[str, tuple[int, int, int, int, int]] | None = None,
) -> int:
    """Measure and print the table; returns 0.

    Args:
        repeats: timed runs per row (median reported), ≥ 1.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CPU, plus CUDA when present).
        sizes: ``{label: (B, J, D, H, W)}``; :data:`DEFAULT_SIZES` when ``None``.
    """

    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise CliError(f"--repeats: expected an int >= 1, got {repeats!r}")
    if device not in ("cpu", "cuda", "auto"):
        raise CliError(f"--device: expected cpu, cuda or auto, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise CliError("--device: cuda requested but no CUDA device is available")
    devices = ["cpu"] if device == "cpu" else ["cuda"] if device == "cuda" else ["cpu"]
    if device == "auto" and torch.cuda.is_available():
        devices.append("cuda")
    sizes = DEFAULT_SIZES if sizes is None else sizes
    for label, shape in sizes.items():
        if len(shape) != 5 or any(int(s) <= 0 for s in shape):
            raise CliError(f"sizes[{label!r}]: expected (B, J, D, H, W) > 0, got {shape}")
    print(
        f"integral op, float32 logits; original = straightforward autograd, ours = memory-lean; "
        f"ratios ours/original; median of {repeats}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    print(format_table([]), flush=True)  # header; rows are printed as they are measured
    for dev in devices:
        for label, shape in sizes.items():
            for r in measure(tuple(int(s) for s in shape), dev, repeats):  # type: ignore[arg-type]
                print(format_table([{"device": dev, "size": label, **r}]).splitlines()[-1], flush=True)
    return 0

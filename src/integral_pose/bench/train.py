"""``ipr bench train``: training throughput (images/s) of a training step, model + loss + optimiser.

Rows are measured in one process on random input of the right shape (data loading excluded: ``ipr bench
loader`` measures that), each after ``warmup`` untimed steps; a step is forward, integral op, L1 loss,
backward and an Adam step (for the heat-map baseline: forward, argmax decode, Gaussian targets and heat-map MSE,
backward, Adam). Presets:

* ``demo``: the ``ipr demo`` integral model (ResNet-18, 64×64, 16×16×16 volume, 128 deconv filters), its
  direct-regression twin and its heat-map (argmax) twin.
* ``paper``: the paper's model (ResNet-50, 256×256, 64×64×64 volume, 3 × 256 deconvolutions), its
  direct-regression twin and its heat-map (argmax) twin.
* ``slim``: the CPU-sized networks: ResNet-18 at width 0.25 (``model.backbone_width``, the
  ``ipr pretrain`` backbone, 0.7 M parameters) and 0.5, 64×64, 16×16×16 volume, 64 deconv filters; integral,
  direct and heat-map rows at each width.

Each preset's first row (integral, float32) is the baseline; ``ratio`` is throughput / baseline throughput.
On CUDA the rows add bf16 autocast, channels-last and ``torch.compile`` variants of the baseline; on CPU they are
skipped (a note says so).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from typing import Any

import torch

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.engine.distributed import resolve_device
from integral_pose.engine.objective import outputs_to_coords
from integral_pose.geometry.integral import logits_to_volume
from integral_pose.losses import coordinate_l1, heatmap_mse_loss

__all__ = ["CPU_NOTE", "PRESETS", "Row", "format_table", "main", "measure"]


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    label: str
    arch: str
    backbone: str
    patch: int
    depth_bins: int
    deconv_filters: int
    amp: str = "off"
    channels_last: bool = False
    compile: bool = False
    width: float = 1.0


PRESETS: dict[str, list[Row]] = {
    "demo": [
        Row("demo integral r18 64 fp32", "integral", "resnet18", 64, 16, 128),
        Row("demo direct r18 64 fp32", "direct", "resnet18", 64, 16, 128),
        Row("demo heatmap r18 64 fp32", "heatmap", "resnet18", 64, 16, 128),
    ],
    "paper": [
        Row("paper integral r50 256 fp32", "integral", "resnet50", 256, 64, 256),
        Row("paper direct r50 256 fp32", "direct", "resnet50", 256, 64, 256),
        Row("paper heatmap r50 256 fp32", "heatmap", "resnet50", 256, 64, 256),
    ],
    "slim": [
        Row(f"slim {arch} r18 w{width:g} 64 fp32", arch, "resnet18", 64, 16, 64, width=width)
        for width in (0.25, 0.5)
        for arch in ("integral", "direct", "heatmap")
    ],
}

#: printed instead of the CUDA-only rows when the benchmark runs on a CPU
CPU_NOTE = "note: the CUDA-only rows (bf16 autocast, +channels_last, +compile) are skipped on {device}"

_CUDA_VARIANTS = (
    ("bf16", False, False),
    ("bf16", True, False),
    ("bf16", True, True),
)


def _rows(preset: str, device: str) -> list[Row]:
    """The preset's rows, plus the CUDA variants of its first (baseline) row on a CUDA device."""
    rows = list(PRESETS[preset])
    if device.startswith("cuda"):
        base = rows[0]
        for amp, cl, comp in _CUDA_VARIANTS:
            tag = f"{amp}" + (" +channels_last" if cl else "") + (" +compile" if comp else "")
            rows.append(replace(base, label=base.label.replace("fp32", tag), amp=amp, channels_last=cl, compile=comp))
    return rows


def measure(row: Row, batch: int, steps: int, warmup: int, device: str) -> float:
    """Images per second of ``steps`` timed training steps of ``row`` (after ``warmup`` untimed ones)."""
    mc = ModelConfig(arch=row.arch, backbone=row.backbone, backbone_width=row.width, depth_bins=row.depth_bins,
                     deconv_filters=row.deconv_filters)  # fmt: skip
    model: Any = build_model(mc).to(device)
    if row.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    if row.compile:
        model = torch.compile(model)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, row.patch, row.patch, generator=gen).to(device)
    if row.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = (torch.rand(batch, mc.num_joints, 3, generator=gen) - 0.5).to(device)
    weight = torch.ones_like(target)
    dev_type = "cuda" if device.startswith("cuda") else "cpu"
    ctx = torch.autocast(dev_type, dtype=torch.bfloat16) if row.amp == "bf16" else contextlib.nullcontext

    def step() -> None:
        with ctx() if row.amp != "off" else contextlib.nullcontext():
            out = model(x)
        coords = outputs_to_coords(out, mc)
        if row.arch == "heatmap":  # the argmax decode runs (and is timed) but the loss is on the heat maps
            volume = logits_to_volume(out, mc.num_joints, mc.depth_bins).float()
            loss = heatmap_mse_loss(volume, target, weight)
        else:
            loss = coordinate_l1(coords, target, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if dev_type == "cuda":
            torch.cuda.synchronize()

    for _ in range(warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return batch * steps / (time.perf_counter() - t0)


def format_table(results: list[tuple[Row, float]], device: str, batch: int) -> str:
    """Table with label, images/s and ratio to the first row."""
    base = results[0][1]
    width = max([44, *(len(row.label) for row, _ in results)])
    lines = [f"training step throughput on {device}, batch {batch} (data loading excluded)",
             f"{'configuration':<{width}} {'img/s':>9} {'ratio':>7}"]  # fmt: skip
    for row, ips in results:
        lines.append(f"{row.label:<{width}} {ips:9.1f} {ips / base:7.2f}")
    return "\n".join(lines)


def main(preset: str = "demo", batch: int = 32, steps: int = 5, warmup: int = 1, device: str = "cpu",
         threads: int | None = None) -> int:  # fmt: skip
    """Run the benchmark and print the table; return the exit code."""
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    for name, v in (("batch", batch), ("steps", steps)):
        if v < 1:
            raise ValueError(f"--{name}: expected an int >= 1, got {v}")
    if warmup < 0:
        raise ValueError(f"--warmup: expected an int >= 0, got {warmup}")
    if threads is not None:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    results = []
    for row in _rows(preset, dev):
        results.append((row, measure(row, batch, steps, warmup, dev)))
        print(f"  measured {row.label}: {results[-1][1]:.1f} img/s", flush=True)
    print(format_table(results, dev, batch))
    if not dev.startswith("cuda"):
        print(CPU_NOTE.format(device=dev))
    return 0

"""``ipr bench infer``: per-crop latency and throughput of the pose graph, PyTorch eager vs onnxruntime.

The same graph (network + integral op + confidence, :func:`integral_pose.export.onnx.build_pose_graph`) runs in
eager PyTorch (``torch.inference_mode``) and, exported in memory to ONNX, in onnxruntime on the CPU (or CUDA), on
the same random normalised crops, at each batch size. Both get the same number of intra-op threads. Times are the
median of ``repeats`` runs after one warm-up. Ratios are ``onnxruntime / eager`` (below 1: onnxruntime is faster).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from integral_pose.build import build_codec, build_model
from integral_pose.config.schema import Config, ModelConfig
from integral_pose.conventions import DEFAULT_PATCH_SIZE
from integral_pose.export.onnx import (
    ModelContract,
    _max_diff,
    build_pose_graph,
    contract_from_codec,
    load_pose_model,
    onnx_bytes,
)
from integral_pose.skeletons import get_skeleton

__all__ = ["format_table", "main", "measure"]


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _random_model(backbone: str, patch: int, depth_bins: int) -> tuple[torch.nn.Module, ModelContract]:
    """A randomly initialised 3D integral model of the default recipe on ``patch``² crops, and its contract."""
    torch.manual_seed(0)
    cfg = Config(
        model=ModelConfig(backbone=backbone, depth_bins=depth_bins),
        data={"patch_width": patch, "patch_height": patch},
    )
    model = build_model(cfg.model).eval()
    contract = contract_from_codec(build_codec(cfg), get_skeleton(cfg.model.joint_set).joint_names, backbone=backbone)
    return model, contract


def measure(
    model: Any,
    contract: Any,
    batch_sizes: Sequence[int],
    repeats: int,
    threads: int,
    device: str = "cpu",
) -> tuple[list[dict[str, Any]], float]:
    """Rows ``{"batch", "eager_s", "onnx_s"}`` (median seconds per batch) and the max |diff| between backends."""

    torch.set_num_threads(threads)
    graph = build_pose_graph(model.to(device), contract)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((b, 3, contract.patch_height, contract.patch_width)).astype(np.float32)
              for b in batch_sizes]  # fmt: skip

    def eager(x: np.ndarray) -> Any:
        with torch.inference_mode():
            out = graph(torch.from_numpy(x).to(device))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return out

    # eager first: the exporter's tracing must not touch the eager timings
    eager_s = [_median_seconds(lambda x=x: eager(x), repeats) for x in inputs]
    data = onnx_bytes(graph, contract, dynamic_batch=True)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.startswith("cuda") else None
    session = ort.InferenceSession(data, sess_options=opts, providers=providers or ["CPUExecutionProvider"])
    rows, worst = [], 0.0
    for b, x, e in zip(batch_sizes, inputs, eager_s):

        def onnx(x: np.ndarray = x) -> Any:
            return session.run(["coords", "scores"], {"crops": x})

        ref = eager(x)
        worst = max(worst, _max_diff((ref[0].cpu().numpy(), ref[1].cpu().numpy()), onnx()))
        rows.append({"batch": b, "eager_s": e, "onnx_s": _median_seconds(onnx, repeats)})
    return rows, worst


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: per-crop latency (ms), throughput (crops/s) and the onnxruntime / eager ratio."""
    head = (
        f"{'batch':>5}  {'eager ms/batch':>14}  {'ort ms/batch':>12}  {'eager ms/crop':>13}  {'ort ms/crop':>11}  "
        f"{'eager crops/s':>13}  {'ort crops/s':>11}  {'ort/eager':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        b, e, o = r["batch"], r["eager_s"], r["onnx_s"]
        lines.append(
            f"{b:>5}  {1e3 * e:>14.1f}  {1e3 * o:>12.1f}  {1e3 * e / b:>13.2f}  {1e3 * o / b:>11.2f}  "
            f"{b / e:>13.1f}  {b / o:>11.1f}  {o / e:>9.2f}"
        )
    return "\n".join(lines)


def main(
    checkpoint: str | None = None,
    backbone: str = "resnet50",
    patch: int = DEFAULT_PATCH_SIZE[0],
    depth_bins: int = 64,
    batch_sizes: Sequence[int] = (1, 8),
    repeats: int = 5,
    threads: int = 0,
    device: str = "cpu",
) -> int:
    """Run the benchmark and print the table; returns 0."""
    if repeats < 1 or any(b < 1 for b in batch_sizes):
        raise ValueError(f"repeats and batch sizes must be >= 1, got {repeats} and {list(batch_sizes)}")

    threads = threads or torch.get_num_threads()
    if checkpoint:
        model, contract = load_pose_model(checkpoint, device)
        what = f"checkpoint {checkpoint}"
    else:
        model, contract = _random_model(backbone, patch, depth_bins)
        what = f"random {backbone}"
    import onnxruntime

    rows, worst = measure(model, contract, batch_sizes, repeats, threads, device)
    print(
        f"pose graph ({what}, {contract.patch_width}x{contract.patch_height} crops, J={contract.num_joints}, "
        f"D={contract.depth_bins}, heat map {contract.heatmap_width}x{contract.heatmap_height}) on {device}, "
        f"{threads} thread(s); torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; "
        f"median of {repeats}"
    )
    print(format_table(rows))
    print(f"max |eager - onnxruntime| = {worst:.2e} (normalised units)")
    return 0

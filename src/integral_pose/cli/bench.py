"""``ipr bench {op,render,loader,train,infer,detector}``: benchmarks printed as ratios against a same-run baseline."""

from __future__ import annotations

import argparse

from integral_pose.bench.detector import main as bench_detector
from integral_pose.bench.infer import main as bench_infer
from integral_pose.bench.loader import main as bench_loader
from integral_pose.bench.op import main as bench_op
from integral_pose.bench.render import main as bench_render
from integral_pose.bench.train import main as bench_train


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr bench`` and its sub-benchmarks."""
    p = sub.add_parser("bench", help="run a benchmark and print a table with same-run ratios")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH")
    for name, help_text, register in _BENCHES:
        register(bsub.add_parser(name, help=help_text, description=help_text))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _register_op(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions per row (median is reported; default 5)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto = both when CUDA is present)")

    def run(args: argparse.Namespace) -> int:

        return bench_op(repeats=args.repeats, device=args.device)

    p.set_defaults(func=run)


def _register_render(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 512], help="image widths in px (default 1000 512)")
    p.add_argument("--count", type=int, default=20, help="images timed per row (default 20)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--stream", type=int, nargs="*", default=[64], metavar="PATCH",
                   help="also time the on-the-fly training stream at these patch sizes against the slim model's "
                   "training step (default 64; none to skip)")  # fmt: skip

    def run(args: argparse.Namespace) -> int:

        return bench_render(sizes=args.sizes, count=args.count, seed=args.seed, stream_patches=args.stream)

    p.set_defaults(func=run)


def _register_loader(p: argparse.ArgumentParser) -> None:
    p.add_argument("--images", type=int, default=40, help="JPEGs per row (default 40)")
    p.add_argument("--patch", type=int, nargs="+", default=[256, 128], help="patch sides in px (default 256 128)")
    p.add_argument("--repeats", type=int, default=3, help="passes per row (best is reported; default 3)")
    p.add_argument("--size", type=int, default=1000, help="image side in px (default 1000)")

    def run(args: argparse.Namespace) -> int:

        return bench_loader(images=args.images, patches=tuple(args.patch), repeats=args.repeats, size=args.size)

    p.set_defaults(func=run)


def _register_infer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="benchmark this checkpoint (default: a random model of --backbone)")
    p.add_argument("--backbone", default="resnet50", help="backbone of the random model (default resnet50)")
    p.add_argument("--patch", type=int, default=256, help="crop size in px of the random model (default 256)")
    p.add_argument("--depth-bins", type=int, default=64, help="depth bins of the random model (default 64)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8], help="batch sizes (default 1 8)")
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions per row (median is reported; default 5)")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads for both backends (0: torch's default)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")

    def run(args: argparse.Namespace) -> int:

        return bench_infer(
            checkpoint=args.checkpoint,
            backbone=args.backbone,
            patch=args.patch,
            depth_bins=args.depth_bins,
            batch_sizes=args.batch_sizes,
            repeats=args.repeats,
            threads=args.threads,
            device=args.device,
        )

    p.set_defaults(func=run)


def _register_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=("demo", "paper", "slim"), default="demo",
                   help="demo: the ipr demo models (R-18, 64 px); paper: R-50, 256 px; slim: the CPU-sized "
                   "R-18 at width 0.25 and 0.5, 64 px (default demo)")  # fmt: skip
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per row (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per row (default 1)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")

    def run(args: argparse.Namespace) -> int:
        return bench_train(preset=args.preset, batch=args.batch, steps=args.steps, warmup=args.warmup,
                           device=args.device, threads=args.threads)  # fmt: skip

    p.set_defaults(func=run)


def _register_detector(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=5, help="timed passes over the photos (median reported; default 5)")
    p.add_argument("--threads", type=int, default=2, help="threads for each detector (default 2)")

    def run(args: argparse.Namespace) -> int:
        return bench_detector(repeats=args.repeats, threads=args.threads)

    p.set_defaults(func=run)


_BENCHES = [
    ("op", "integral op: original-style vs memory-lean, time and peak memory", _register_op),
    ("render", "SynthMocap renderer: images/s per core at 1000 and 512 px wide vs a background+JPEG baseline",
     _register_render),
    ("loader", "data loader: samples/s per worker, plain vs reduced JPEG decode vs pre-cropped", _register_loader),
    ("infer", "pose graph: per-crop latency and throughput, torch eager vs onnxruntime, batch 1 and 8",
     _register_infer),
    ("train", "training step: images/s of the demo, paper and slim models, integral vs direct vs heat map",
     _register_train),
    ("detector", "person detectors: ms per image of the bundled SSDLite vs OpenCV's HOG on the shipped photos",
     _register_detector),
]  # fmt: skip

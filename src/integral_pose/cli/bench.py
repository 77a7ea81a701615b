"""``ipr bench {op,render,loader,train,infer}``: benchmarks printed as ratios against a same-run baseline."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr bench`` and its sub-benchmarks."""
    p = sub.add_parser("bench", help="run a benchmark and print a table with same-run ratios")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH")
    for name, help_text, register in _BENCHES:
        register(bsub.add_parser(name, help=help_text))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _register_op(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=5, help="timed repetitions per row (median is reported)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (both when CUDA is present)")

    def run(args: argparse.Namespace) -> int:
        from integral_pose.bench.op import main as bench_op

        return bench_op(repeats=args.repeats, device=args.device)

    p.set_defaults(func=run)


_BENCHES = [("op", "integral op: original-style vs memory-lean, time and peak memory", _register_op)]

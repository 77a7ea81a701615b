"""``ipr data …``: build and convert datasets into canonical pose records.

Each sub-command is one ``(name, help, register)`` entry of :data:`_COMMANDS`; ``register(parser)`` adds the
arguments and sets ``func``. Adding a sub-command is a one-line addition to that list.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from integral_pose.cli import data_prepare
from integral_pose.data.sources.synthmocap import generate_synthmocap
from integral_pose.errors import CliError
from integral_pose.fileio import check_writable_dir


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr data`` and its sub-commands."""
    p = sub.add_parser("data", help="build or convert datasets (synthmocap, …) into pose records")
    dsub = p.add_subparsers(dest="data_command", metavar="COMMAND")
    for name, help_text, register in _COMMANDS:
        register(dsub.add_parser(name, help=help_text, description=help_text))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _register_synthmocap(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (train.npz, test.npz, images/)")
    p.add_argument("--frames", type=int, default=2000, help="number of train images (default 2000)")
    p.add_argument("--test-frames", type=int, default=None, help="number of test images (default: frames / 4)")
    p.add_argument("--size", type=int, default=None,
                   help="image width in px (default: the cameras' own 1000×1000 / 1000×1002)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1; the output does not depend on it)")  # fmt: skip
    p.add_argument("--preview", action="store_true", help="also write preview.png with the skeletons drawn")

    def run(args: argparse.Namespace) -> int:

        test_frames = args.test_frames if args.test_frames is not None else max(1, args.frames // 4)
        check_writable_dir(args.out, "--out")
        try:
            paths = generate_synthmocap(
                args.out,
                frames_train=args.frames,
                frames_test=test_frames,
                size=args.size,
                seed=args.seed,
                workers=args.workers,
                preview=args.preview,
            )
        except (ValueError, TypeError) as exc:
            raise CliError(_as_flags(str(exc), _SYNTH_FLAGS)) from None
        for key, path in paths.items():
            print(f"{key}: {path}")
        return 0

    p.set_defaults(func=run)


#: generate_synthmocap's argument names → the ``ipr data synthmocap`` options a user typed
_SYNTH_FLAGS = {"frames_train": "--frames", "frames_test": "--test-frames", "size": "--size", "workers": "--workers",
                "out_dir": "--out", "seed": "--seed"}  # fmt: skip


def _as_flags(message: str, flags: dict[str, str]) -> str:
    """Rename a leading ``argument:`` of a library error to the CLI option it came from."""
    head, sep, rest = message.partition(": ")
    return f"{flags[head]}: {rest}" if sep and head in flags else message


_COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None]]] = [
    ("synthmocap", "render the embedded SynthMocap dataset (real mocap through real Human3.6M cameras)",
     _register_synthmocap),
    *data_prepare.COMMANDS,
]  # fmt: skip

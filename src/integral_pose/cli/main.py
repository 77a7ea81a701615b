"""Entry point of the ``ipr`` command.

Each verb lives in its own module exposing ``add_parser(subparsers) -> None``; the parser it adds sets
``func`` (a callable ``(argparse.Namespace) -> int``) as its default. Verbs are listed explicitly below.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from integral_pose import __version__
from integral_pose.cli import verbs
from integral_pose.errors import CliError


def _os_error_text(exc: OSError) -> str:
    """``OSError: <reason>: '<path>'`` (the path when the error carries one)."""
    reason = exc.strerror or str(exc)
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(repr(str(p)) for p in paths)
    return f"{type(exc).__name__}: {reason}" + (f": {where}" if where else "")


def _warning_printer(verb: str) -> Callable[..., None]:
    """``warnings.showwarning`` that prints the package's own warnings as one ``ipr VERB: warning: …`` line."""
    default = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if category.__module__.startswith("integral_pose."):
            print(f"ipr {verb}: warning: {message}", file=sys.stderr, flush=True)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``ipr`` argument parser with every verb registered."""

    parser = argparse.ArgumentParser(
        prog="ipr",
        description="integral-pose: 3D human pose by integral regression (train, evaluate, predict, export).",
    )
    parser.add_argument("--version", action="version", version=f"integral-pose {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full Python traceback of an error")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for add_parser in verbs.ALL:
        add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ipr`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0 if args.verb is None else 2
    if getattr(args, "debug", False):
        return int(args.func(args) or 0)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(args.verb)
        return _run_verb(args)


def _run_verb(args: argparse.Namespace) -> int:
    """Run the verb; typed user errors become one ``ipr VERB: error: …`` line and exit code 2."""
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"ipr {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, FileNotFoundError, KeyError, PermissionError, IsADirectoryError,
            NotADirectoryError) as exc:  # fmt: skip
        # Typed errors from the library carry a readable message naming the argument/file/key; the OS errors
        # name the file (unreadable, a folder where a file is expected, or the other way round).
        print(f"ipr {args.verb}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # Environment faults (read-only file system, disk full, too many open files …): one line naming the path.
        print(f"ipr {args.verb}: error: {_os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ipr {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    # Run the package's own module, not this ``__main__`` copy, so the verbs' ``CliError`` is the one caught.
    from integral_pose.cli.main import main as _package_main

    sys.exit(_package_main())

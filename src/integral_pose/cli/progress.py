"""Stage lines for verbs that work for a while without a natural progress bar (``ipr eval``, ``ipr export``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["stage_printer"]


def stage_printer(verb: str, enabled: bool = True) -> Callable[[str], None]:
    """A ``progress`` callback printing ``ipr VERB: <stage> (elapsed N s)`` lines on stderr, flushed at once.

    Example:
        >>> stage = stage_printer("export", enabled=False)
        >>> stage("loading the checkpoint")  # prints nothing when disabled
    """
    start = time.perf_counter()

    def stage(text: str) -> None:
        if enabled:
            print(f"ipr {verb}: {text} (elapsed {time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)

    return stage

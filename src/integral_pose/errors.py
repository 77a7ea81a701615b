"""Error types shared across the package.

``CliError`` lives here, below the command-line layer, so library code (benchmarks, builders) can raise the
one-line user error without importing the CLI.
"""

from __future__ import annotations


class CliError(Exception):
    """An error the CLI reports as one line on stderr with exit code 2."""

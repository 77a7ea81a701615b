"""The registered ``ipr`` verbs, in help order. Add a verb by importing its ``add_parser`` here."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from integral_pose.cli import bench

AddParser = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

ALL: tuple[AddParser, ...] = (bench.add_parser,)

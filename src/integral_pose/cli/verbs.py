"""The registered ``ipr`` verbs, in help order. Add a verb by importing its ``add_parser`` here."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from integral_pose.cli import bench
from integral_pose.cli import config as config_verb
from integral_pose.cli import convert as convert_verb
from integral_pose.cli import data as data_verb
from integral_pose.cli import demo as demo_verb
from integral_pose.cli import eval as eval_verb
from integral_pose.cli import export as export_verb
from integral_pose.cli import predict as predict_verb
from integral_pose.cli import pretrain as pretrain_verb
from integral_pose.cli import train as train_verb

AddParser = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

ALL: tuple[AddParser, ...] = (
    bench.add_parser,
    config_verb.add_parser,
    data_verb.add_parser,
    demo_verb.add_parser,
    train_verb.add_parser,
    pretrain_verb.add_parser,
    eval_verb.add_parser,
    predict_verb.add_parser,
    export_verb.add_parser,
    convert_verb.add_parser,
)

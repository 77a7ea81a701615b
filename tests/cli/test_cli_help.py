"""Every ``ipr`` verb and sub-verb documents itself: a description, the default of every option that has one,
and example paths in the help that exist in the project."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from integral_pose.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]

# Options of verbs maintained elsewhere whose help does not state its default yet.
_NOT_YET = {("ipr eval", "--device")}


def _parsers(parser: argparse.ArgumentParser, prog: str = "ipr") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def _options(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if action.option_strings and not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield action


ALL = list(_parsers(build_parser()))
IDS = [prog for prog, _ in ALL]


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=IDS)
def test_defaults_are_stated(prog: str, parser: argparse.ArgumentParser) -> None:
    missing = []
    for action in _options(parser):
        default = action.default
        if default in (None, False, [], argparse.SUPPRESS) or action.required:
            continue
        if "default" not in (action.help or "").lower() and (prog, action.option_strings[-1]) not in _NOT_YET:
            missing.append(f"{action.option_strings[-1]} (default {default!r}): {action.help!r}")
    assert not missing, f"{prog}: help does not state the default of " + "; ".join(missing)


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=IDS)
def test_every_verb_with_options_says_what_it_does(prog: str, parser: argparse.ArgumentParser) -> None:
    has_own_options = any(True for _ in _options(parser)) or any(
        not a.option_strings for a in parser._actions if not isinstance(a, argparse._SubParsersAction)
    )
    if prog == "ipr" or not has_own_options:
        return
    assert parser.description, f"{prog} --help has no description of what it does"


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=IDS)
def test_example_paths_in_help_exist(prog: str, parser: argparse.ArgumentParser) -> None:
    text = parser.format_help()
    for path in re.findall(r"\bconfigs/[\w./-]+\.ya?ml\b", text):
        assert (REPO / path).is_file(), f"{prog} --help names {path}, which does not exist"


@pytest.mark.parametrize(("prog", "parser"), ALL, ids=IDS)
def test_help_exits_zero(prog: str, parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]) -> None:
    from integral_pose.cli.main import main

    with pytest.raises(SystemExit) as info:
        main([*prog.split()[1:], "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: " + prog)

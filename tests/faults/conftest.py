"""Fixtures of the fault-injection suite: the tiny datasets and recipes of ``tests/integration`` (shared, not
copied), a straight 2-epoch reference run, and helpers that run ``ipr`` in-process or as a real subprocess."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tiny_data import make_tiny_split, run_ipr, write_tiny_config

from integral_pose.cli.main import main
from integral_pose.config.io import load_config
from integral_pose.engine.trainer import train


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Records of a 16-sample train split and an 8-sample test split (session-wide, read-only)."""
    folder = tmp_path_factory.mktemp("faults_data")
    return {"train": make_tiny_split(folder, "train", 16, seed=1), "test": make_tiny_split(folder, "test", 8, seed=2)}


@pytest.fixture(scope="session")
def straight(tiny_data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run folder of an uninterrupted 2-epoch run (the bit-exact reference)."""
    folder = tmp_path_factory.mktemp("faults_straight")
    train(load_config(write_tiny_config(tiny_data, folder)), quiet=True)
    return folder / "run"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run ``ipr ARGS`` in-process; return ``(exit code, stderr)``."""

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        return code, capsys.readouterr().err

    return run


def assert_one_line_error(code: int, err: str, *needles: str, expected_code: int = 2) -> None:
    """Exit code ``expected_code``, no traceback, and a last stderr line naming every needle."""
    assert code == expected_code, err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, f"{needle!r} not in {last!r}"


@pytest.fixture(scope="session")
def helpers() -> object:
    """``helpers.run_ipr``, ``helpers.write_tiny_config``, ``helpers.assert_one_line_error``."""

    class _Helpers:
        pass

    h = _Helpers()
    h.run_ipr = run_ipr  # type: ignore[attr-defined]
    h.write_tiny_config = write_tiny_config  # type: ignore[attr-defined]
    h.assert_one_line_error = assert_one_line_error  # type: ignore[attr-defined]
    return h

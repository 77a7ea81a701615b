"""Fixtures of the end-to-end runs; the datasets and recipes come from ``tests/support/tiny_data.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_data import make_tiny_split, run_ipr, write_tiny_config


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Records of a 16-sample train split and an 8-sample test split (session-wide, read-only)."""
    folder = tmp_path_factory.mktemp("tiny_data")
    return {
        "train": make_tiny_split(folder, "train", 16, seed=1),
        "test": make_tiny_split(folder, "test", 8, seed=2),
    }


@pytest.fixture(scope="session")
def tiny_config():
    """The :func:`write_tiny_config` helper."""
    return write_tiny_config


@pytest.fixture(scope="session")
def ipr():
    """The :func:`run_ipr` helper."""
    return run_ipr

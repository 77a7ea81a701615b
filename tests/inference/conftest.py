"""Fixtures: the tiny random model (checkpoint and ONNX export), shared with the export tests for the session."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ipr_tiny_model", Path(__file__).with_name("tiny_model.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _helpers().tiny_checkpoint_in(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _helpers().tiny_onnx_in(tmp_path_factory.getbasetemp())

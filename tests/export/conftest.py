"""Fixtures: the tiny random model and its ONNX export (built once per session, see tests/inference/tiny_model.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _helpers() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "inference" / "tiny_model.py"
    spec = importlib.util.spec_from_file_location("ipr_tiny_model", path)
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

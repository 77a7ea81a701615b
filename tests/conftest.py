"""Shared test configuration: deterministic, single-threaded torch for stable CPU timings."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "src" / "integral_pose" / "assets"


@pytest.fixture(autouse=True)
def _seed_torch():
    import torch

    torch.manual_seed(0)
    yield


@pytest.fixture
def assets_dir() -> Path:
    """The shipped data folder (mocap, cameras, photos, COCO sample)."""
    return ASSETS


def _tiny_model_helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ipr_tiny_model", REPO / "tests" / "inference" / "tiny_model.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small randomly initialised model saved with the checkpoint API (built once per session)."""
    return _tiny_model_helpers().tiny_checkpoint_in(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX export of :func:`tiny_checkpoint` (built once per session)."""
    return _tiny_model_helpers().tiny_onnx_in(tmp_path_factory.getbasetemp())

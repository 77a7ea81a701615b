"""Shared test configuration: deterministic, single-threaded torch for stable CPU timings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_model import tiny_checkpoint_in, tiny_onnx_in

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


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small randomly initialised model saved with the checkpoint API (built once per session)."""
    return tiny_checkpoint_in(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ONNX export of :func:`tiny_checkpoint` (built once per session)."""
    return tiny_onnx_in(tmp_path_factory.getbasetemp())

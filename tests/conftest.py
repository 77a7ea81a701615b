"""Shared test configuration: deterministic, single-threaded torch for stable CPU timings."""

from __future__ import annotations

import os
from pathlib import Path

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

"""Fixtures for the data tests: tiny record tables with real JPEG files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from integral_pose.data.records import PoseRecords, RecordsHeader


def _make_table(
    root: Path,
    n: int = 4,
    size: tuple[int, int] = (200, 160),
    seed: int = 0,
    dot_joint: int | None = None,
    ext: str = ".jpg",
) -> PoseRecords:
    """n images (W×H = ``size``) with a textured background; H36M-18 joints inside a central box.

    With ``dot_joint`` set, that joint is drawn as a bright white disc on a dark image so tests can find it.
    """
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    paths, j2d, j3d = [], [], []
    for i in range(n):
        joints = np.stack([rng.uniform(0.3 * w, 0.7 * w, 18), rng.uniform(0.25 * h, 0.75 * h, 18)], axis=1)
        if dot_joint is None:
            img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            img = cv2.GaussianBlur(img, (5, 5), 0)
        else:
            img = np.full((h, w, 3), 10, dtype=np.uint8)
            cx, cy = joints[dot_joint]
            cv2.circle(img, (round(cx), round(cy)), 4, (255, 255, 255), -1)
            joints[dot_joint] = (round(cx), round(cy))
        name = f"img_{i:03d}{ext}"
        cv2.imwrite(str(root / name), img)
        paths.append(name)
        j2d.append(joints)
        z = 4000.0 + rng.normal(0, 200, 18)
        xyz = np.stack([(joints[:, 0] - w / 2) * z / 500, (joints[:, 1] - h / 2) * z / 500, z], axis=1)
        j3d.append(xyz)
    header = RecordsHeader(dataset="unit", split="train", joint_set="h36m18", root=str(root), has_3d=True)
    return PoseRecords.create(
        header,
        image_path=paths,
        image_size=np.tile([w, h], (n, 1)),
        box=np.tile([0.25 * w, 0.2 * h, 0.5 * w, 0.6 * h], (n, 1)),
        joints_2d=np.asarray(j2d),
        joints_3d_cam=np.asarray(j3d),
        cam_f=np.full((n, 2), 500.0),
        cam_c=np.tile([w / 2, h / 2], (n, 1)),
        subject=["S1"] * n,
        action=["Walking"] * n,
        frame=np.arange(n),
    )


@pytest.fixture
def make_table(tmp_path: Path) -> Callable[..., PoseRecords]:
    """Factory ``make_table(n=4, size=(W, H), seed=0, dot_joint=None, sub="a")`` writing images under tmp_path."""

    def factory(sub: str = "a", **kw: object) -> PoseRecords:
        root = tmp_path / sub
        root.mkdir(parents=True, exist_ok=True)
        return _make_table(root, **kw)  # type: ignore[arg-type]

    return factory

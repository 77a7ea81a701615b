"""Tiny on-disk datasets and configs for end-to-end runs (train → resume → eval) that finish in seconds.

Shared by ``tests/integration``, ``tests/faults`` and ``tests/cli`` (``tests/support`` is on the test path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from integral_pose.data.records import PoseRecords, RecordsHeader, save_records

# A rest pose of Human3.6M-18 in mm (x right, y down, z forward), pelvis at the origin.
REST_POSE_MM = np.array(
    [
        [0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0], [130, 450, 0], [130, 880, 0],
        [0, -230, 0], [0, -480, 0], [0, -560, -60], [0, -650, 0], [170, -420, 0], [190, -150, 0], [200, 100, 0],
        [-170, -420, 0], [-190, -150, 0], [-200, 100, 0], [0, -420, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
_EDGES = ((0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 17), (17, 8), (8, 10),
          (17, 11), (11, 12), (12, 13), (17, 14), (14, 15), (15, 16))  # fmt: skip


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def make_tiny_split(folder: Path, split: str, n: int, seed: int, size: int = 96) -> Path:
    """Write ``n`` rendered stick figures (PNG) and their records ``<split>.npz``; return the records path."""
    import cv2

    rng = np.random.default_rng(seed)
    img_dir = folder / "images" / split
    img_dir.mkdir(parents=True, exist_ok=True)
    f = np.array([110.0, 110.0])
    c = np.array([size / 2, size / 2])
    paths, j2d, j3d, boxes = [], [], [], []
    for i in range(n):
        pose = REST_POSE_MM + rng.normal(0, 40, REST_POSE_MM.shape)
        pose[17] = 0.5 * (pose[11] + pose[14])
        pose = pose @ _rot_y(rng.uniform(-np.pi, np.pi)).T
        root = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100), rng.uniform(3800, 4400)])
        cam = pose + root
        uv = cam[:, :2] / cam[:, 2:3] * f + c
        img = np.full((size, size, 3), 40, np.uint8)
        img += rng.integers(0, 20, img.shape, dtype=np.uint8)
        for k, (a, b) in enumerate(_EDGES):
            color = (int(60 + 12 * k), int(255 - 10 * k), int(100 + (k % 3) * 60))
            pa, pb = tuple(int(v) for v in np.rint(uv[a])), tuple(int(v) for v in np.rint(uv[b]))
            cv2.line(img, pa, pb, color, 2, cv2.LINE_AA)
        name = f"{split}_{i:04d}.png"
        cv2.imwrite(str(img_dir / name), img)
        half = 1000.0 * f[0] / root[2]  # the 2000 mm square at root depth, in px
        ctr = root[:2] / root[2] * f + c
        boxes.append([ctr[0] - half, ctr[1] - half, 2 * half, 2 * half])
        paths.append(f"images/{split}/{name}")
        j2d.append(uv)
        j3d.append(cam)
    header = RecordsHeader(dataset="synthmocap", split=split, joint_set="h36m18", root=".")
    records = PoseRecords.create(
        header,
        image_path=paths,
        image_size=np.tile([size, size], (n, 1)),
        box=np.asarray(boxes),
        joints_2d=np.asarray(j2d),
        joints_3d_cam=np.asarray(j3d),
        cam_f=np.tile(f, (n, 1)),
        cam_c=np.tile(c, (n, 1)),
        subject=["T1"] * n,
        action=[("walk", "jump")[i % 2] for i in range(n)],
        frame=np.arange(n),
    )
    return save_records(records, folder / f"{split}.npz")


def tiny_config_text(data: dict[str, Path], out_dir: Path, arch: str = "integral", workers: int = 0) -> str:
    """A complete YAML recipe: resnet18, 64×64 patch, 16×16×8 volume, batch 4, 2 epochs, Adam 1e-3."""
    return f"""
model: {{arch: {arch}, backbone: resnet18, depth_bins: 8, deconv_filters: 32}}
data:
  patch_width: 64
  patch_height: 64
  num_workers: {workers}
  train: [{{kind: synthmocap, records: "{data["train"]}"}}]
  val: [{{kind: synthmocap, records: "{data["test"]}"}}]
  test: [{{kind: synthmocap, records: "{data["test"]}"}}]
optim: {{lr: 0.001, milestones: [2], factor: 0.5}}
train: {{epochs: 2, batch_size: 4, seed: 3, out_dir: "{out_dir}", log_every: 1, device: cpu}}
eval: {{protocol: synthmocap, batch_size: 8}}
"""


def write_tiny_config(data: dict[str, Path], folder: Path, name: str = "tiny.yaml", **kw: object) -> Path:
    """Write :func:`tiny_config_text` to ``folder/name`` with the run folder ``folder/run``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(tiny_config_text(data, folder / "run", **kw))  # type: ignore[arg-type]
    return path


def run_ipr(*args: str, timeout: float = 120.0, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m integral_pose.cli.main ARGS`` in a fresh process, single-threaded."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "integral_pose.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )

"""``ipr bench render``: SynthMocap rendering speed per core, against a same-run baseline.

For each image size, two rows are timed in this process (one core):

* ``baseline``: a random photo background and the JPEG encoding only (the work any image generator pays);
* ``render``: the full sample — scene sampling, the body ray-cast, the background and the JPEG encoding.

Ray grids of the cameras are built before timing (a worker builds each once). The ratio column is
``render time / baseline time`` for the same size. Times are CPU seconds of this process
(``time.process_time``), so images/s/core stays meaningful on a busy machine.

With ``stream_patches``, a second table times the on-the-fly training stream
(:class:`~integral_pose.data.sources.synthmocap_live.SynthMocapStream`: render only the patch window, crop,
normalise, encode) against the slim integral model's own training step (ResNet-18 at ¼ width, batch 32) on the
same single thread, and prints how many loader cores keep one training core busy.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from integral_pose.build import build_model
from integral_pose.config.schema import ModelConfig
from integral_pose.data.augment import AugmentConfig
from integral_pose.data.sources.synthmocap import JPEG_QUALITY, _Worker
from integral_pose.data.sources.synthmocap_live import SynthMocapStream
from integral_pose.losses import coordinate_l1
from integral_pose.models import predict_coords
from integral_pose.synth.render import RayGrid, scaled_camera

__all__ = ["main", "measure", "measure_stream"]


def measure(size: int | None, count: int, seed: int = 0) -> dict[str, float]:
    """Seconds per image for the baseline and the full render at width ``size`` (``None`` = native)."""

    cv2.setNumThreads(1)
    worker = _Worker(Path(tempfile.gettempdir()), size, seed, None)
    worker.setup()
    assert worker.cameras is not None and worker.grids is not None
    for key, cam in worker.cameras:
        scam, wh = scaled_camera(cam, size)
        worker.grids[key] = RayGrid(scam, *wh)
    _, (w, h) = scaled_camera(worker.cameras[0][1], size)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    worker.make("train", 0)  # warm-up
    rng = np.random.default_rng(seed)
    t0 = time.process_time()
    for _ in range(count):
        cv2.imencode(".jpg", worker.background.sample(rng, w, h), params)
    t_base = (time.process_time() - t0) / count
    t0 = time.process_time()
    for i in range(count):
        img, _ = worker.make("train", i + 1)
        cv2.imencode(".jpg", img, params)
    t_full = (time.process_time() - t0) / count
    return {"baseline": t_base, "render": t_full}


def measure_stream(patch: int, count: int, seed: int = 0) -> dict[str, float]:
    """CPU seconds per image of the on-the-fly stream and of the slim integral model's training step."""

    aug = AugmentConfig(scale_factor=0.15, rot_factor=15.0, rot_prob=0.3, flip=True, flip_prob=0.5, color_factor=0.2)
    stream = SynthMocapStream((patch, patch), 1_000_000, seed=seed, augment=aug)
    stream[(0, 0)]  # warm-up: clips, cameras, photos
    t0 = time.process_time()
    for i in range(count):
        stream[(i + 1, 0)]
    t_stream = (time.process_time() - t0) / count
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mc = ModelConfig(backbone="resnet18", backbone_width=0.25, depth_bins=16, deconv_filters=64)
        model = build_model(mc)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.randn(32, 3, patch, patch)
        target = torch.rand(32, 18, 3) - 0.5
        weight = torch.ones(32, 18, 3)
        steps = 4
        for k in range(steps + 1):
            if k == 1:
                t0 = time.process_time()
            out = model(x)
            loss = coordinate_l1(predict_coords(out, num_joints=18, depth_bins=16), target, weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
        t_train = (time.process_time() - t0) / (steps * 32)
    finally:
        torch.set_num_threads(threads)
    return {"stream": t_stream, "train": t_train}


def main(
    sizes: Sequence[int | None] = (None, 512), count: int = 20, seed: int = 0, stream_patches: Sequence[int] = ()
) -> int:
    """Print the table; returns 0."""
    if count < 1:
        raise ValueError(f"count: expected >= 1, got {count}")
    bad = [s for s in sizes if s is not None and s < 64]
    if bad:
        raise ValueError(f"sizes: expected image widths >= 64 px, got {list(sizes)}")
    print(
        f"SynthMocap render, {count} image(s) per row, one core (CPU time); baseline = random photo background + "
        "JPEG encode only; ratio = ms/img / baseline ms/img of the same size (higher = slower)"
    )
    print(f"{'size':>10} {'row':>9} {'ms/img':>9} {'img/s/core':>11} {'ratio':>7}")
    for size in sizes:
        res = measure(size, count, seed)
        label = "native" if size is None else f"{size}w"
        for row in ("baseline", "render"):
            t = res[row]
            print(f"{label:>10} {row:>9} {t * 1e3:9.1f} {1.0 / t:11.1f} {t / res['baseline']:7.2f}")
    if stream_patches:
        print(
            f"\non-the-fly stream vs the slim integral model's training step (R-18 ×0.25, batch 32), one thread, "
            f"{count} image(s); ratio = stream ms/img / train ms/img (loader cores needed per training core)"
        )
        print(f"{'patch':>6} {'row':>7} {'ms/img':>9} {'img/s/core':>11} {'ratio':>7}")
        for patch in stream_patches:
            res = measure_stream(patch, count, seed)
            for row in ("train", "stream"):
                t = res[row]
                print(f"{patch:>6} {row:>7} {t * 1e3:9.2f} {1.0 / t:11.1f} {t / res['train']:7.2f}")
    return 0

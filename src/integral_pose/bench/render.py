"""``ipr bench render``: SynthMocap rendering speed per core, against a same-run baseline.

For each image size, two rows are timed in this process (one core):

* ``baseline``: a random photo background and the JPEG encoding only (the work any image generator pays);
* ``render``: the full sample — scene sampling, the body ray-cast, the background and the JPEG encoding.

Ray grids of the cameras are built before timing (a worker builds each once). The ratio column is
``render time / baseline time`` for the same size. Times are CPU seconds of this process
(``time.process_time``), so images/s/core stays meaningful on a busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

__all__ = ["main", "measure"]


def measure(size: int | None, count: int, seed: int = 0) -> dict[str, float]:
    """Seconds per image for the baseline and the full render at width ``size`` (``None`` = native)."""
    import tempfile
    from pathlib import Path

    import cv2

    from integral_pose.data.sources.synthmocap import JPEG_QUALITY, _Worker
    from integral_pose.synth.render import RayGrid, scaled_camera

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


def main(sizes: Sequence[int | None] = (None, 512), count: int = 20, seed: int = 0) -> int:
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
    return 0

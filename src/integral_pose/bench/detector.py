"""``ipr bench detector``: cost per image of the person detectors, the bundled SSDLite vs OpenCV's HOG.

Both detectors run in the same process on the same images: the shipped photos (``assets/images``: astronaut,
camera, grace_hopper) and the COCO sample (``assets/coco_sample``), decoded to RGB once before timing. Each gets
the same number of threads (onnxruntime intra-op threads for SSDLite, OpenCV's thread count for HOG). A pass runs
a detector once on every image; times are the median over ``repeats`` passes after one warm-up pass, divided by
the number of images. The ratio is ``hog / ssdlite`` (above 1: SSDLite is cheaper). The 1-minute load average
is printed before and after, since both numbers move with the machine's load.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from integral_pose.errors import CliError
from integral_pose.inference.boxes import Detections
from integral_pose.inference.detector import HogPeopleDetector
from integral_pose.inference.person_detector import SsdLitePersonDetector
from integral_pose.inference.sources import read_image

__all__ = ["format_table", "main", "measure", "shipped_photos"]


def shipped_photos() -> list[tuple[str, np.ndarray]]:
    """``(name, RGB image)`` of the shipped photos and the COCO sample, in a fixed order."""
    assets = Path(__file__).resolve().parents[1] / "assets"
    files = sorted((assets / "images").glob("*.*")) + sorted((assets / "coco_sample").glob("*.jpg"))
    if not files:
        raise FileNotFoundError(f"bench detector: no photos under {assets}; reinstall integral-pose")
    return [(p.stem, read_image(p)) for p in files]


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # not available on this platform
        return "n/a"


def measure(
    detectors: Sequence[Callable[[np.ndarray], Detections]], images: Sequence[np.ndarray], repeats: int
) -> list[dict[str, Any]]:
    """Rows ``{"name", "seconds_per_image", "sources"}``, one per detector (``sources``: the box source per image).

    The detectors are timed alternately, pass by pass, so a change of load affects all of them alike.
    """
    if repeats < 1 or not images:
        raise ValueError(f"repeats must be >= 1 and images non-empty, got {repeats} and {len(images)} image(s)")
    sources = [[det(im).source for im in images] for det in detectors]  # warm-up pass
    times: list[list[float]] = [[] for _ in detectors]
    for _ in range(repeats):
        for k, det in enumerate(detectors):
            t0 = time.perf_counter()
            for im in images:
                det(im)
            times[k].append((time.perf_counter() - t0) / len(images))
    return [
        {"name": str(getattr(det, "name", type(det).__name__)), "seconds_per_image": statistics.median(t), "sources": s}
        for det, t, s in zip(detectors, times, sources)
    ]


def format_table(rows: Sequence[dict[str, Any]], baseline: str = "hog") -> str:
    """A plain-text table: ms per image, images per second, and ``baseline / row`` (the speed-up over it)."""
    base = next((r["seconds_per_image"] for r in rows if r["name"] == baseline), None)
    head = f"{'detector':<10}  {'ms/img':>8}  {'img/s':>7}  {baseline + '/this':>9}  box source per image"
    lines = [head, "-" * len(head)]
    for r in rows:
        s = r["seconds_per_image"]
        ratio = f"{base / s:>9.2f}" if base is not None else f"{'n/a':>9}"
        found = ", ".join("full" if src.startswith("full") else src for src in r["sources"])
        lines.append(f"{r['name']:<10}  {1e3 * s:>8.1f}  {1.0 / s:>7.1f}  {ratio}  {found}")
    return "\n".join(lines)


def main(repeats: int = 5, threads: int = 2) -> int:
    """Run the benchmark and print the table; returns 0.

    Raises:
        CliError: onnxruntime is not installed (the SSDLite detector needs the ``detect`` extra).
        ValueError: ``repeats`` or ``threads`` below 1.
    """
    if repeats < 1 or threads < 1:
        raise ValueError(f"repeats and threads must be >= 1, got {repeats} and {threads}")
    try:
        ssdlite = SsdLitePersonDetector(threads=threads)
    except ImportError as exc:
        raise CliError(str(exc)) from None
    import onnxruntime

    photos = shipped_photos()
    images = [im for _, im in photos]
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    load_before = _load_average()
    try:
        rows = measure([ssdlite, HogPeopleDetector()], images, repeats)
    finally:
        cv2.setNumThreads(cv_threads)
    sizes = ", ".join(f"{name} {im.shape[1]}x{im.shape[0]}" for name, im in photos)
    print(
        f"person detectors on {len(images)} photos ({sizes}), {threads} thread(s) each; median of {repeats} "
        f"passes; onnxruntime {onnxruntime.__version__}, OpenCV {cv2.__version__}, {os.cpu_count()} CPU(s), "
        f"load average {load_before} before, {_load_average()} after"
    )
    print(format_table(rows))
    return 0

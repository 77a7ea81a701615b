"""``ipr bench detector``: the table is computed from the measured rows, and the command runs on the photos."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.bench.detector import format_table, main, measure, shipped_photos
from integral_pose.cli.main import main as ipr
from integral_pose.inference.boxes import Detections


def test_table_values_are_derived_from_the_rows() -> None:
    rows = [
        {"name": "ssdlite", "seconds_per_image": 0.02, "sources": ["ssdlite", "full (fallback: ssdlite found nobody)"]},
        {"name": "hog", "seconds_per_image": 0.3, "sources": ["hog", "hog"]},
    ]
    lines = format_table(rows).splitlines()
    assert lines[2].split() == ["ssdlite", "20.0", "50.0", "15.00", "ssdlite,", "full"]
    assert lines[3].split() == ["hog", "300.0", "3.3", "1.00", "hog,", "hog"]


def test_measure_runs_every_detector_on_every_image() -> None:
    calls: list[tuple[str, int]] = []

    class Fake:
        def __init__(self, name: str) -> None:
            self.name = name

        def __call__(self, image: np.ndarray) -> Detections:
            calls.append((self.name, int(image[0, 0, 0])))
            return Detections(np.zeros((0, 4)), np.zeros(0), self.name)

    images = [np.full((4, 4, 3), i, np.uint8) for i in range(3)]
    rows = measure([Fake("a"), Fake("b")], images, repeats=2)
    assert [r["name"] for r in rows] == ["a", "b"] and rows[0]["sources"] == ["a", "a", "a"]
    assert all(r["seconds_per_image"] > 0 for r in rows)
    assert sorted(calls) == sorted([(n, i) for n in "ab" for i in range(3)] * 3)  # warm-up + 2 passes
    with pytest.raises(ValueError, match="repeats"):
        measure([Fake("a")], images, repeats=0)


def test_shipped_photos_are_rgb_images() -> None:
    photos = shipped_photos()
    assert [n for n, _ in photos] == ["astronaut", "camera", "grace_hopper", "000000000785"]
    assert all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for _, im in photos)


def test_bench_detector_cli(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    assert ipr(["bench", "detector", "--repeats", "1", "--threads", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("person detectors on 4 photos") and "load average" in out[0]
    assert out[3].split()[0] == "ssdlite" and out[3].split()[-4:] == ["ssdlite,", "ssdlite,", "ssdlite,", "ssdlite"]
    assert out[4].split()[0] == "hog" and out[4].split()[3] == "1.00"
    with pytest.raises(ValueError, match="threads"):
        main(repeats=1, threads=0)

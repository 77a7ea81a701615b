"""``ipr bench render`` runs end to end on tiny images (no timing is asserted)."""

from __future__ import annotations

import pytest

from integral_pose.bench.render import main as bench_render
from integral_pose.cli.main import main as ipr_main


def test_bench_render_prints_both_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_render(sizes=[64], count=2) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "baseline = random photo background + JPEG encode only" in lines[0] and "ratio = " in lines[0]
    assert lines[1].split() == ["size", "row", "ms/img", "img/s/core", "ratio"]
    rows = [ln.split() for ln in lines[2:]]
    assert [r[:2] for r in rows] == [["64w", "baseline"], ["64w", "render"]]
    assert float(rows[0][4]) == 1.0 and float(rows[1][3]) > 0


def test_bench_render_rejects_bad_count_and_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="count: expected >= 1, got 0"):
        bench_render(sizes=[64], count=0)
    with pytest.raises(ValueError, match=r"sizes: expected image widths >= 64 px, got \[0\]"):
        bench_render(sizes=[0], count=1)
    assert capsys.readouterr().out == ""  # refused before the table starts


def test_bench_render_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    assert ipr_main(["bench", "render", "--sizes", "64", "--count", "1"]) == 0
    assert "render" in capsys.readouterr().out


def test_bench_render_stream_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_render(sizes=[64], count=1, stream_patches=[64]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("on-the-fly stream"))
    assert lines[i + 1].split() == ["patch", "row", "ms/img", "img/s/core", "ratio"]
    rows = [ln.split() for ln in lines[i + 2 :]]
    assert [r[:2] for r in rows] == [["64", "train"], ["64", "stream"]]
    assert float(rows[0][4]) == 1.0 and float(rows[1][3]) > 0

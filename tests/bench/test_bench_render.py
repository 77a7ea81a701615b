"""``ipr bench render`` runs end to end on tiny images (no timing is asserted)."""

from __future__ import annotations

import pytest

from integral_pose.bench.render import main as bench_render
from integral_pose.cli.main import main as ipr_main


def test_bench_render_prints_both_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_render(sizes=[64], count=2) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["size", "row", "ms/img", "img/s/core", "ratio"]
    rows = [ln.split() for ln in lines[1:]]
    assert [r[:2] for r in rows] == [["64w", "baseline"], ["64w", "render"]]
    assert float(rows[0][4]) == 1.0 and float(rows[1][3]) > 0


def test_bench_render_rejects_bad_count() -> None:
    with pytest.raises(ValueError, match="count: expected >= 1, got 0"):
        bench_render(sizes=[64], count=0)


def test_bench_render_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    assert ipr_main(["bench", "render", "--sizes", "64", "--count", "1"]) == 0
    assert "render" in capsys.readouterr().out

"""`ipr bench loader` runs end to end on a tiny setting and prints its table (no timing asserted)."""

from __future__ import annotations

import pytest

from integral_pose.cli.main import main as ipr


def test_bench_loader_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert ipr(["bench", "loader", "--images", "2", "--repeats", "1", "--patch", "32", "--size", "200"]) == 0
    out = capsys.readouterr().out
    assert "baseline = plain decode" in out.splitlines()[0]
    for row in ("plain decode", "reduced decode", "pre-cropped", "1.00x"):
        assert row in out

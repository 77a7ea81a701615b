"""``ipr demo`` on a tiny budget: three models from one start, the table, the curves and the figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integral_pose.cli.demo import _NOMINAL_UPDATES_PER_S, _Eta, _parse_models, _spread, busy_cores, default_threads
from integral_pose.cli.main import main
from integral_pose.errors import CliError


def test_tiny_demo_trains_all_three_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "--frames", "32", "--test-frames", "8", "--updates", "4",
               "--curve-points", "2", "--start", "scratch", "--threads", "1", "--quiet"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    for label in ("integral regression", "direct regression", "heat-map argmax", "mean training pose (no image)"):
        assert label in text
    assert "[1/5] render" in text and "[5/5] comparison" in text and "whole demo ETA" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["start"] == "scratch" and summary["updates"] == 4
    assert set(summary["models"]) == {"integral regression", "direct regression", "heat-map argmax"}
    for m in summary["models"].values():
        assert m["curves"][0]["steps"] == [2, 4]
        assert len(m["curves"][0]["error"]) == 2
        ratio = m["mpjpe_mean"] / summary["mean_pose_baseline"]["mpjpe"]
        assert m["ratio_to_mean_pose"] == pytest.approx(ratio)
    assert sorted(summary["ordering"]) == sorted(summary["models"])
    for name in ("learning_curves.png", "comparison.png", "overlays.png"):
        assert (out / name).stat().st_size > 1000
    # every model ran the same number of updates from the same (random) start
    for arch_dir in ("r18w25_64_int16_l1_synth_demo", "r18w25_64_dir_l1_synth_demo", "r18w25_64_hm16_mse_synth_demo"):
        lines = (out / "seed0" / arch_dir / "metrics.jsonl").read_text().splitlines()
        end = [json.loads(x) for x in lines if '"end"' in x][-1]
        assert end["step"] == 4


def test_demo_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CliError, match="--models"):
        _parse_models("integral,unknown")
    assert [a for a, _ in _parse_models("direct,integral")] == ["integral", "direct"]
    assert main(["demo", "--start", "/nonexistent/weights.pt", "--frames", "1"]) == 2
    assert "--start: expected 'scratch'" in capsys.readouterr().err
    assert main(["demo", "--updates", "2", "--curve-points", "3"]) == 2
    assert "--curve-points (3) cannot exceed --updates (2)" in capsys.readouterr().err


def test_spread_eta_and_threads() -> None:
    assert _spread([100.0]) == "100.0"
    assert _spread([100.0, 110.0]) == "105.0 (100.0–110.0)"
    eta = _Eta(10.0, [("integral", 100), ("direct", 100)], 5.0)
    assert eta.remaining() == pytest.approx(10.0 + 2 * (100 / _NOMINAL_UPDATES_PER_S + 5.0))
    eta.measured["integral"] = 0.1
    assert eta.remaining() == pytest.approx(10.0 + 2 * (100 * 0.1 + 5.0))  # unmeasured archs use the measured mean
    assert default_threads() >= 1
    assert default_threads(busy=0.0, loader_workers=0) >= default_threads(busy=0.0, loader_workers=1) >= 1
    assert default_threads(busy=64.0) == 1  # a saturated machine gets one thread
    assert 0.0 <= busy_cores(0.05) <= 64

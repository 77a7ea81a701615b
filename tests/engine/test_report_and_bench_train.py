"""The PNG report writers and the training-throughput benchmark (tiny sizes)."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.bench.train import Row, format_table, measure
from integral_pose.skeletons import H36M_17
from integral_pose.viz.report import (
    ReportSample,
    pick_best_median_worst,
    write_comparison_report,
    write_eval_report,
)


def test_pick_best_median_worst():
    assert pick_best_median_worst([5.0, 1.0, 9.0, 3.0, 7.0]) == [("best", 1), ("median", 0), ("worst", 2)]
    with pytest.raises(ValueError, match="non-empty"):
        pick_best_median_worst([])


def test_reports_are_png(tmp_path):
    rng = np.random.default_rng(0)
    j = H36M_17.num_joints
    gt3 = rng.normal(0, 300, (j, 3)) + np.array([0, 0, 4000])
    sample = ReportSample("best: 10 mm", np.zeros((64, 64, 3), np.uint8), rng.uniform(0, 64, (j, 2)),
                          rng.uniform(0, 64, (j, 2)), gt3 + 10, gt3)  # fmt: skip
    res = {
        "mpjpe": 50.0,
        "pa_mpjpe": 40.0,
        "num_samples": 3,
        "per_action": {"walk": 50.0, "jump": 60.0},
        "per_action_pa": {"walk": 40.0, "jump": 45.0},
        "per_joint": dict.fromkeys(H36M_17.joint_names, 5.0),
    }
    p = write_eval_report(tmp_path / "r.png", res, [sample], H36M_17.edges, H36M_17.joint_names, "t")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    q = write_comparison_report(tmp_path / "c.png", {"integral": res, "direct": {**res, "mpjpe": 80.0}})
    assert q.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="at least one"):
        write_comparison_report(tmp_path / "x.png", {})


def test_bench_train_measures_and_formats():
    import torch

    torch.set_num_threads(1)
    rows = [Row("a", "integral", "resnet18", 32, 4, 16), Row("b", "direct", "resnet18", 32, 4, 16)]
    results = [(r, measure(r, batch=2, steps=1, warmup=0, device="cpu")) for r in rows]
    assert all(v > 0 for _, v in results)
    table = format_table(results, "cpu", 2).splitlines()
    assert table[2].split()[-1] == "1.00"
    assert float(table[3].split()[-1]) == pytest.approx(results[1][1] / results[0][1], abs=0.006)

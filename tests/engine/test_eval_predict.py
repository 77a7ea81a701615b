"""Evaluation's loader processes: as configured, capped by the CPUs and by the number of batches."""

from __future__ import annotations

import pytest

from integral_pose.engine.eval_predict import eval_workers


@pytest.mark.parametrize(
    ("requested", "samples", "batch", "cpus", "expected"),
    [
        (4, 1000, 32, 16, 4),  # enough of everything: as configured
        (4, 1000, 32, 2, 2),  # two cores: two workers
        (4, 2, 32, 16, 1),  # one batch: one worker has all the work
        (4, 65, 32, 16, 3),  # 65 samples in batches of 32 = 3 batches
        (0, 1000, 32, 16, 0),  # in-process loading stays in-process
        (4, 0, 32, 16, 0),  # nothing to load
    ],
)
def test_eval_workers(requested: int, samples: int, batch: int, cpus: int, expected: int) -> None:
    assert eval_workers(requested, samples, batch, cpus=cpus) == expected

"""``ipr bench infer`` table: per-crop latency, throughput and ratio computed from the measured seconds."""

from __future__ import annotations

import pytest

from integral_pose.bench.infer import format_table, main


def test_table_values_are_derived_from_the_rows() -> None:
    table = format_table([{"batch": 8, "eager_s": 0.4, "onnx_s": 0.2}])
    row = table.splitlines()[-1].split()
    # batch, eager ms/batch, ort ms/batch, eager ms/crop, ort ms/crop, eager crops/s, ort crops/s, ratio
    assert row == ["8", "400.0", "200.0", "50.00", "25.00", "20.0", "40.0", "0.50"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="batch sizes"):
        main(batch_sizes=(0,), repeats=1)

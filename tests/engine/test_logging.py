"""metrics.jsonl writer, torn-line tolerant reader, plain progress lines, run-folder names."""

from __future__ import annotations

import io
import json

import pytest

from integral_pose.engine.logging import MetricsWriter, Progress, RunPaths, format_rate, read_metrics


def test_metrics_round_trip_and_torn_line(tmp_path):
    path = tmp_path / "run" / "metrics.jsonl"
    with MetricsWriter(path) as w:
        w.log("step", 1, loss=0.5, lr=1e-3)
        w.log("epoch", 1, loss=float("nan"), epoch=1)
    with open(path, "a") as fh:
        fh.write('{"kind": "step", "st')  # torn by a kill
    recs = read_metrics(path)
    assert [r["kind"] for r in recs] == ["step", "epoch"]
    assert recs[0]["loss"] == 0.5 and recs[0]["step"] == 1
    assert recs[1]["loss"] == "nan"
    assert [r["step"] for r in read_metrics(path, kind="epoch")] == [1]


def test_disabled_writer_writes_nothing(tmp_path):
    w = MetricsWriter(tmp_path / "m.jsonl", enabled=False)
    w.log("step", 1, loss=1.0)
    w.close()
    assert not (tmp_path / "m.jsonl").exists()


def test_read_metrics_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="metrics"):
        read_metrics(tmp_path / "nope.jsonl")


def test_plain_progress_lines():
    out = io.StringIO()
    p = Progress(3, "epoch 1/2", stream=out, tty=False, every_s=0.0)
    for _ in range(3):
        p.update(loss=0.25, lr=0.001)
    p.close()
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("epoch 1/2 3/3 loss=0.25 lr=0.001")
    assert "eta=0:00:00" in lines[-1]


def test_run_paths_and_format():
    rp = RunPaths("/x/run")
    assert rp.periodic(7).name == "epoch_0007.pt"
    assert rp.last.parent.name == "checkpoints"
    assert format_rate(3725) == "1:02:05"
    assert format_rate(float("nan")) == "?"


def test_metrics_lines_are_strict_json_with_non_finite_values_as_strings(tmp_path):
    """Each line parses as strict JSON (no bare NaN/Infinity, which other readers reject)."""
    path = tmp_path / "metrics.jsonl"
    with MetricsWriter(path) as w:
        w.log("step", 3, loss=float("nan"), lr=float("inf"), img_s=12.5)

    def reject(name: str) -> None:
        raise AssertionError(f"bare {name} in metrics.jsonl")

    lines = path.read_text().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0], parse_constant=reject)
    assert (rec["kind"], rec["step"], rec["loss"], rec["lr"], rec["img_s"]) == ("step", 3, "nan", "inf", 12.5)

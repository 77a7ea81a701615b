"""``ipr bench train --preset slim``: the CPU-sized rows run end to end at one step (no timing asserted)."""

from __future__ import annotations

import pytest

from integral_pose.bench.train import CPU_NOTE, PRESETS, _rows
from integral_pose.cli.main import main as ipr


def test_slim_preset_rows() -> None:
    rows = PRESETS["slim"]
    assert [(r.width, r.arch) for r in rows] == [(w, a) for w in (0.25, 0.5) for a in ("integral", "direct", "heatmap")]
    assert {(r.backbone, r.patch, r.depth_bins, r.deconv_filters, r.amp) for r in rows} == {
        ("resnet18", 64, 16, 64, "off")
    }
    assert rows[0].label == "slim integral r18 w0.25 64 fp32"


def test_cuda_variants_are_added_to_the_baseline_only_on_cuda() -> None:
    assert _rows("slim", "cpu") == PRESETS["slim"]
    cuda = _rows("slim", "cuda:0")[len(PRESETS["slim"]) :]
    assert [(r.amp, r.channels_last, r.compile, r.width, r.arch) for r in cuda] == [
        ("bf16", False, False, 0.25, "integral"),
        ("bf16", True, False, 0.25, "integral"),
        ("bf16", True, True, 0.25, "integral"),
    ]
    assert cuda[-1].label == "slim integral r18 w0.25 64 bf16 +channels_last +compile"


def test_bench_train_slim_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "train", "--preset", "slim", "--batch", "2", "--steps", "1", "--warmup", "0", "--threads", "1"]
    assert ipr(argv) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index(next(line for line in out if line.startswith("training step throughput on cpu")))
    table = out[start + 2 : start + 2 + len(PRESETS["slim"])]
    assert [line.rsplit(None, 2)[0].strip() for line in table] == [r.label for r in PRESETS["slim"]]
    assert table[0].split()[-1] == "1.00"
    assert all(float(line.split()[-2]) > 0 for line in table)
    assert out[-1] == CPU_NOTE.format(device="cpu")

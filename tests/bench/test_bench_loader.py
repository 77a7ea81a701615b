"""`ipr bench loader` runs end to end on a tiny setting and prints its table (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integral_pose.cli.main import main as ipr


def test_bench_loader_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert ipr(["bench", "loader", "--images", "2", "--repeats", "1", "--patch", "32", "--size", "200"]) == 0
    out = capsys.readouterr().out
    assert "baseline = plain decode" in out.splitlines()[0]
    for row in ("plain decode", "reduced decode", "pre-cropped", "1.00x", "decode", "1/1 x2"):
        assert row in out


def test_decode_summary_counts_each_factor() -> None:
    from integral_pose.bench.loader import decode_summary

    assert decode_summary([1, 1, 1]) == "1/1 x3"
    assert decode_summary([1, 2, 4, 2, 2]) == "1/4 x1, 1/2 x3, 1/1 x1"


def test_reduction_used_at_the_default_image_size(tmp_path: Path) -> None:
    """1000 px images, boxes 300-600 px, scale >= 0.75: never reduced for 256 px patches, reduced for 64 px."""
    from integral_pose.bench.loader import make_jpeg_records
    from integral_pose.data.augment import AugmentConfig
    from integral_pose.data.dataset import PoseDataset

    recs = make_jpeg_records(tmp_path, 4, size=1000)
    aug = AugmentConfig()
    big = PoseDataset(recs, (256, 256), augment=aug, reduced_decode=True)
    small = PoseDataset(recs, (64, 64), augment=aug, reduced_decode=True)
    assert [big.decode_reduction(i) for i in range(4)] == [1, 1, 1, 1]
    # box side b px at 64 px patches: largest r in (1, 2, 4, 8) with r <= b * 0.75 / 64, i.e. 2 or 4 for 300-600 px
    expected = [max(r for r in (1, 2, 4, 8) if r <= recs.box[i, 2] * aug.min_scale / 64) for i in range(4)]
    assert [small.decode_reduction(i) for i in range(4)] == expected and min(expected) >= 2
    plain = PoseDataset(recs, (64, 64), augment=aug)
    assert [plain.decode_reduction(i) for i in range(4)] == [1, 1, 1, 1]
    assert small[0]["image"].shape == plain[0]["image"].shape

"""Mixed sampler: ratios, epoch length, coverage across epochs, disjoint shards, resume."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.data.sampling import MixedSampler, split_counts


def test_split_counts() -> None:
    np.testing.assert_array_equal(split_counts(10, [1, 1]), [5, 5])
    np.testing.assert_array_equal(split_counts(10, [1, 1, 1]), [4, 3, 3])
    np.testing.assert_array_equal(split_counts(7, [2, 1, 0]), [5, 2, 0])
    assert split_counts(1001, [0.3, 0.7]).sum() == 1001
    with pytest.raises(ValueError, match="ratios"):
        split_counts(10, [0, 0])


def test_original_epoch_definition_and_ratios() -> None:
    s = MixedSampler([10, 100], ratios=[1, 1], seed=3, with_epoch=False)  # 1:1 MPII:H36M
    idx = np.array(list(s))
    assert idx.size == 20 and len(s) == 20
    assert np.sort(idx[idx < 10]).tolist() == list(range(10))  # all of dataset 0 once
    assert (idx >= 10).sum() == 10 and np.unique(idx[idx >= 10]).size == 10
    s3 = MixedSampler([10, 20, 100], ratios=[1, 1, 1], with_epoch=False)  # 1:1:1 MPII:COCO:H36M
    idx3 = np.array(list(s3))
    assert idx3.size == 30
    assert [(idx3 < 10).sum(), ((idx3 >= 10) & (idx3 < 30)).sum(), (idx3 >= 30).sum()] == [10, 10, 10]
    s4 = MixedSampler([10, 100], ratios=[1, 3], num_samples=40, with_epoch=False)
    idx4 = np.array(list(s4))
    assert idx4.size == 40 and (idx4 < 10).sum() == 10


def test_large_dataset_covered_across_epochs_without_repeats() -> None:
    s = MixedSampler([5, 50], ratios=[1, 1], seed=1, with_epoch=False)
    seen = []
    for ep in range(10):
        s.set_epoch(ep)
        seen.extend(i for i in s if i >= 5)
    assert sorted(seen) == list(range(5, 55))  # 10 epochs x 5 = one full pass, no repeats
    s.set_epoch(0)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first


def test_distributed_shards_are_disjoint_and_cover_the_epoch() -> None:
    world = 3
    shards = [
        MixedSampler([7, 40], ratios=[1, 1], seed=5, world_size=world, rank=r, with_epoch=False) for r in range(world)
    ]
    for s in shards:
        s.set_epoch(4)
    parts = [list(s) for s in shards]
    assert all(len(p) == len(shards[0]) == 5 for p in parts)  # 14 padded to 15
    full = shards[0].epoch_indices(4)
    joined = np.concatenate(parts)
    assert set(joined.tolist()) == set(full.tolist())
    assert joined[:14].tolist() == full.tolist()  # contiguous slices in epoch order, padding at the tail
    dl = [MixedSampler([7, 40], world_size=world, rank=r, drop_last=True, with_epoch=False) for r in range(world)]
    got = [list(s) for s in dl]
    assert sum(len(g) for g in got) == 12 and len({i for g in got for i in g}) == 12


def test_yields_epoch_and_resumes_mid_epoch() -> None:
    s = MixedSampler([6, 9], seed=2)
    s.set_epoch(3)
    items = list(s)
    assert all(ep == 3 for _, ep in items)
    state = s.state_dict(consumed=5)
    s2 = MixedSampler([6, 9], seed=2)
    s2.load_state_dict(state)
    assert list(s2) == items[5:] and len(s2) == len(items) - 5
    with pytest.raises(ValueError, match="seed"):
        MixedSampler([6, 9], seed=9).load_state_dict(state)
    with pytest.raises(ValueError, match="missing key"):
        s2.load_state_dict({"epoch": 1})


def test_eval_order_without_shuffle() -> None:
    s = MixedSampler([4], shuffle=False, world_size=2, rank=1, with_epoch=False)
    assert list(s) == [2, 3]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="sizes"):
        MixedSampler([0, 5])
    with pytest.raises(ValueError, match="ratios"):
        MixedSampler([5, 5], ratios=[1])
    with pytest.raises(ValueError, match="rank"):
        MixedSampler([5], world_size=2, rank=2)
    with pytest.raises(ValueError, match="num_samples"):
        MixedSampler([5], num_samples=0)

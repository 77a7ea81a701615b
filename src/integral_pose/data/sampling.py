"""Mixed sampling over several datasets with ratios, epoch length, distributed sharding and resume.

An epoch of :class:`MixedSampler` holds ``count_i`` samples of dataset ``i`` with ``count_i ∝ ratio_i`` and
``Σ count_i = epoch_length``. The epoch length is either defined by dataset 0 as the original system did — dataset 0
is seen ``length_factor`` times per epoch, so ``epoch_length = length_factor × len(dataset 0) × Σ ratios / ratios[0]``
(1:1 MPII:H36M with factor 1 gives 2 × |MPII|, 1:1:1 MPII:COCO:H36M gives 3 × |MPII|) — or an explicit
``num_samples``.

Each dataset is walked along its own endless stream of seeded permutations (permutation ``k`` of dataset ``i``
is drawn from ``(seed, i, k)``), ``count_i`` items per epoch, so successive epochs see *new* samples of a large
dataset and every sample before any repeats (the original redrew one random subset per process, which in
practice repeated the same subset each epoch). The epoch's items are then shuffled with ``(seed, epoch)``.

Distributed: the epoch list is padded (with its own first items) to a multiple of ``world_size`` unless
``drop_last``; rank ``r`` takes the contiguous slice ``[r·m, (r+1)·m)`` — slices are disjoint. The sampler
yields ``(global_index, epoch)`` pairs that :class:`integral_pose.data.dataset.ConcatPoseDataset` accepts, so
augmentation stays in step even with persistent workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["MixedSampler", "split_counts"]


def split_counts(total: int, ratios: Sequence[float]) -> np.ndarray:
    """Integer counts ∝ ``ratios`` summing to ``total`` (largest-remainder rounding, ties to the earlier dataset)."""
    r = np.asarray(ratios, dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or (r < 0).any() or not np.isfinite(r).all() or r.sum() <= 0:
        raise ValueError(f"ratios: expected non-negative finite numbers with a positive sum, got {list(ratios)}")
    if total < 0:
        raise ValueError(f"total: expected >= 0, got {total}")
    exact = total * r / r.sum()
    counts = np.floor(exact).astype(np.int64)
    rest = int(total - counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:rest]] += 1
    return counts


class MixedSampler:
    """Sampler of ``(global_index, epoch)`` over datasets concatenated in order (``ConcatPoseDataset``).

    Args:
        sizes: number of samples of each dataset (all > 0).
        ratios: relative share of each dataset per epoch (default: all equal).
        length_factor: passes over dataset 0 per epoch (used when ``num_samples`` is None).
        num_samples: explicit epoch length (overrides ``length_factor``).
        shuffle: draw permutations and shuffle the epoch; ``False`` walks datasets in order (evaluation).
        seed: base seed.
        world_size, rank: distributed sharding.
        drop_last: drop the tail instead of padding it to a multiple of ``world_size``.
        with_epoch: yield ``(index, epoch)`` pairs (default) or plain indices.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        ratios: Sequence[float] | None = None,
        length_factor: float = 1.0,
        num_samples: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        world_size: int = 1,
        rank: int = 0,
        drop_last: bool = False,
        with_epoch: bool = True,
    ) -> None:
        sizes_arr = np.asarray(sizes, dtype=np.int64)
        if sizes_arr.ndim != 1 or sizes_arr.size == 0 or (sizes_arr <= 0).any():
            raise ValueError(f"sizes: expected one positive size per dataset, got {list(sizes)}")
        if ratios is None:
            ratios = [1.0] * sizes_arr.size
        if len(ratios) != sizes_arr.size:
            raise ValueError(f"ratios: expected {sizes_arr.size} values (one per dataset), got {len(ratios)}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"rank/world_size: expected 0 <= rank < world_size, got rank={rank}, world_size={world_size}"
            )
        if num_samples is None:
            if not length_factor > 0:
                raise ValueError(f"length_factor: expected > 0, got {length_factor}")
            if ratios[0] <= 0:
                raise ValueError("length_factor: needs ratios[0] > 0 (the epoch is defined by dataset 0)")
            total = round(float(length_factor) * int(sizes_arr[0]) * sum(ratios) / ratios[0])
        else:
            total = int(num_samples)
        if total <= 0:
            raise ValueError(f"num_samples: the epoch length must be > 0, got {total}")
        self.sizes = sizes_arr
        self.offsets = np.concatenate([[0], np.cumsum(sizes_arr)])[:-1]
        self.ratios = [float(r) for r in ratios]
        self.counts = split_counts(total, self.ratios)
        self.total = total
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.world_size = int(world_size)
        self.rank = int(rank)
        self.drop_last = bool(drop_last)
        self.with_epoch = bool(with_epoch)
        self.epoch = 0
        self.start = 0

    # ------------------------------------------------------------------ epoch content
    def _stream(self, part: int, begin: int, count: int) -> np.ndarray:
        """Items ``begin … begin+count−1`` of dataset ``part``'s endless stream of permutations (local indices)."""
        n = int(self.sizes[part])
        pos = np.arange(begin, begin + count, dtype=np.int64)
        if not self.shuffle:
            return pos % n
        out = np.empty(count, dtype=np.int64)
        cycles = pos // n
        for k in np.unique(cycles):
            perm = np.random.default_rng(np.random.SeedSequence([self.seed, part, int(k)])).permutation(n)
            sel = cycles == k
            out[sel] = perm[pos[sel] % n]
        return out

    def epoch_indices(self, epoch: int | None = None) -> np.ndarray:
        """All global indices of ``epoch`` (before sharding), in iteration order."""
        ep = self.epoch if epoch is None else int(epoch)
        parts = [self.offsets[i] + self._stream(i, ep * int(c), int(c)) for i, c in enumerate(self.counts) if c > 0]
        idx = np.concatenate(parts)
        if self.shuffle:
            idx = idx[np.random.default_rng(np.random.SeedSequence([self.seed, 1_000_003, ep])).permutation(idx.size)]
        return idx

    def shard(self, epoch: int | None = None) -> np.ndarray:
        """This rank's global indices of ``epoch`` (padded or truncated to equal lengths across ranks)."""
        idx = self.epoch_indices(epoch)
        w = self.world_size
        if self.drop_last:
            idx = idx[: (idx.size // w) * w]
        elif idx.size % w:
            pad = w - idx.size % w
            idx = np.concatenate([idx, np.resize(idx, pad)])
        m = idx.size // w
        return idx[self.rank * m : (self.rank + 1) * m]

    # ------------------------------------------------------------------ sampler protocol
    def __len__(self) -> int:
        w = self.world_size
        per_rank = self.total // w if self.drop_last else -(-self.total // w)
        return max(per_rank - self.start, 0)

    def __iter__(self) -> Iterator[Any]:
        idx = self.shard()[self.start :]
        ep = self.epoch
        for i in idx.tolist():
            yield (i, ep) if self.with_epoch else i

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Select the epoch; ``start`` skips this rank's first ``start`` samples (mid-epoch resume)."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative integer, got {epoch!r}")
        if start < 0:
            raise ValueError(f"start: expected >= 0, got {start}")
        self.epoch = int(epoch)
        self.start = int(start)

    def state_dict(self, consumed: int | None = None) -> dict[str, int]:
        """Resume state; ``consumed`` = samples of this epoch this rank has already trained on."""
        return {"epoch": self.epoch, "start": self.start if consumed is None else int(consumed), "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore :meth:`state_dict` (the seed must match the one this sampler was built with)."""
        for k in ("epoch", "start", "seed"):
            if k not in state:
                raise ValueError(f"sampler state: missing key {k!r}; got keys {sorted(state)}")
        if int(state["seed"]) != self.seed:
            raise ValueError(f"sampler state: seed {state['seed']} differs from this sampler's seed {self.seed}")
        self.set_epoch(int(state["epoch"]), int(state["start"]))

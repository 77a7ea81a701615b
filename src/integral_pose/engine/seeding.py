"""Reproducible randomness: global seeding, per-sample generators and full RNG-state capture/restore.

Two kinds of randomness exist in a training run:

* **Per-sample augmentation** is drawn from a generator derived from ``(seed, epoch, sample index)`` only
  (:func:`sample_rng`), so the crop a sample gets does not depend on which DataLoader worker (or which rank)
  loads it, nor on how many workers there are.
* **Everything else** (weight init, shuffling order, dropout) uses the global generators of Python, NumPy and
  torch. :func:`capture_rng_state` / :func:`restore_rng_state` save and restore all of them as checkpoint-safe
  values (tensors and plain Python types, loadable with ``torch.load(weights_only=True)``).

Example:
    >>> g1 = sample_rng(seed=7, epoch=2, index=11)
    >>> g2 = sample_rng(seed=7, epoch=2, index=11)
    >>> float(g1.random()) == float(g2.random())
    True
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = [
    "capture_rng_state",
    "epoch_permutation",
    "restore_rng_state",
    "sample_rng",
    "sample_seed",
    "seed_everything",
]

_MASK32 = 0xFFFFFFFF


def _check_nonneg_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected a non-negative int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative int, got {value}")
    return int(value)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and torch (CPU and every CUDA device).

    Args:
        seed: non-negative integer seed.
    """
    seed = _check_nonneg_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed & _MASK32)  # noqa: NPY002 - the legacy global generator is what we seed
    torch.manual_seed(seed)  # also seeds every CUDA device


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 64-bit integer seed that depends only on ``(seed, epoch, index)``.

    Uses NumPy's ``SeedSequence`` so nearby triples give statistically independent streams.

    Args:
        seed: run seed (>= 0).
        epoch: epoch number (>= 0).
        index: sample index in the dataset (>= 0).

    Returns:
        An int in ``[0, 2**64)``.
    """
    entropy = [_check_nonneg_int(seed, "seed"), _check_nonneg_int(epoch, "epoch"), _check_nonneg_int(index, "index")]
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(state[0]) | (int(state[1]) << 32)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """A fresh NumPy generator for one sample's augmentation, determined by ``(seed, epoch, index)`` only."""
    entropy = [_check_nonneg_int(seed, "seed"), _check_nonneg_int(epoch, "epoch"), _check_nonneg_int(index, "index")]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffling order of an epoch: a permutation of ``range(n)`` from ``(seed, epoch)`` only (int64)."""
    n = _check_nonneg_int(n, "n")
    entropy = [_check_nonneg_int(seed, "seed"), _check_nonneg_int(epoch, "epoch"), 0x5EED]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    return rng.permutation(n).astype(np.int64)


def capture_rng_state() -> dict[str, Any]:
    """Every global RNG state as checkpoint-safe values.

    Returns:
        ``{"python": [version, [625 ints], gauss], "numpy": [name, [624 ints], pos, has_gauss, cached],
        "torch": ByteTensor, "cuda": [ByteTensor per device]}`` (``cuda`` empty without CUDA).
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # noqa: NPY002
    cuda: list[Any] = []
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return {
        "python": [int(version), [int(v) for v in internal], gauss],
        "numpy": [str(name), [int(v) for v in keys], int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().clone(),
        "cuda": cuda,
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by :func:`capture_rng_state`.

    Args:
        state: the dict returned by :func:`capture_rng_state` (after a checkpoint round trip).

    Raises:
        ValueError: a key is missing or malformed.
    """
    if not isinstance(state, dict):
        raise TypeError(f"rng_state: expected a dict, got {type(state).__name__}")
    missing = [k for k in ("python", "numpy", "torch") if k not in state]
    if missing:
        raise ValueError(f"rng_state: missing key(s) {missing}; expected python, numpy, torch[, cuda]")
    try:
        version, internal, gauss = state["python"]
        random.setstate((int(version), tuple(int(v) for v in internal), gauss))
        name, keys, pos, has_gauss, cached = state["numpy"]
        legacy = (str(name), np.asarray(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached))
        np.random.set_state(legacy)  # noqa: NPY002
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rng_state: malformed python/numpy state ({exc})") from None
    t = state["torch"]
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"rng_state.torch: expected a ByteTensor, got {type(t).__name__}")
    torch.set_rng_state(t.to(torch.uint8).cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        n = min(len(cuda), torch.cuda.device_count())
        torch.cuda.set_rng_state_all([c.to(torch.uint8).cpu() for c in cuda[:n]])

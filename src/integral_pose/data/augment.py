"""Training augmentation: the original system's distributions, drawn from an explicit, reproducible generator.

One sample's parameters depend only on ``(seed, epoch, index)`` (:func:`sample_rng`), never on worker count or
process, so a run reproduces with 0 or N loader workers.

Distributions (``AugmentConfig`` defaults = the original's):

* scale ``s = 1 + scale_factor · clip(N(0, 1), −1, 1)`` — always applied; s > 1 zooms out.
* rotation ``r = rot_factor · clip(N(0, 1), −2, 2)`` degrees with probability ``rot_prob``, else 0.
* horizontal flip with probability ``flip_prob`` (when ``flip``), swapping left/right joints.
* colour gain per RGB channel ``U[1 − color_factor, 1 + color_factor]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["IDENTITY", "AugmentConfig", "AugmentParams", "sample_augment", "sample_rng"]


@dataclass(frozen=True)
class AugmentParams:
    """Augmentation of one sample.

    Attributes:
        scale: box scale s (> 0); the crop covers ``box · s``; depth labels are divided by s.
        rot_deg: rotation in degrees (the crop affine's convention).
        flip: mirror the image horizontally and swap left/right joints.
        color_gain: per-channel gain in **RGB** order applied before normalisation.
    """

    scale: float = 1.0
    rot_deg: float = 0.0
    flip: bool = False
    color_gain: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"AugmentParams.scale: expected a finite value > 0, got {self.scale}")
        if not math.isfinite(self.rot_deg):
            raise ValueError(f"AugmentParams.rot_deg: expected a finite value, got {self.rot_deg}")
        if len(self.color_gain) != 3 or not all(math.isfinite(g) and g >= 0 for g in self.color_gain):
            raise ValueError(f"AugmentParams.color_gain: expected 3 finite values >= 0, got {self.color_gain}")


IDENTITY = AugmentParams()


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation distribution parameters (defaults are the original system's)."""

    scale_factor: float = 0.25
    rot_factor: float = 30.0
    rot_prob: float = 0.6
    flip: bool = True
    flip_prob: float = 0.5
    color_factor: float = 0.2

    def __post_init__(self) -> None:
        checks = {
            "scale_factor": 0 <= self.scale_factor < 1,
            "rot_factor": 0 <= self.rot_factor <= 180,
            "rot_prob": 0 <= self.rot_prob <= 1,
            "flip_prob": 0 <= self.flip_prob <= 1,
            "color_factor": 0 <= self.color_factor < 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"AugmentConfig.{name}: value {getattr(self, name)!r} is out of range")

    @property
    def min_scale(self) -> float:
        """Smallest scale this config can draw (used to choose a reduced decode factor)."""
        return 1.0 - self.scale_factor

    @property
    def max_scale(self) -> float:
        """Largest scale this config can draw."""
        return 1.0 + self.scale_factor


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """A generator that depends only on ``(seed, epoch, index)`` (all non-negative integers)."""
    for name, v in (("seed", seed), ("epoch", epoch), ("index", index)):
        if int(v) != v or v < 0:
            raise ValueError(f"sample_rng: {name} must be a non-negative integer, got {v!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))


def sample_augment(rng: np.random.Generator, config: AugmentConfig) -> AugmentParams:
    """Draw one sample's :class:`AugmentParams` from ``rng`` with the distributions of ``config``.

    The draw order is fixed (scale, rotation gate, rotation, flip gate, colour) so results are stable.
    """
    s = 1.0 + config.scale_factor * float(np.clip(rng.standard_normal(), -1.0, 1.0))
    gate = float(rng.random())
    r_raw = float(np.clip(rng.standard_normal(), -2.0, 2.0))
    rot = config.rot_factor * r_raw if gate <= config.rot_prob and config.rot_prob > 0 else 0.0
    flip_draw = float(rng.random())
    flip = bool(config.flip and config.flip_prob > 0 and flip_draw <= config.flip_prob)
    c = config.color_factor
    gain = rng.uniform(1.0 - c, 1.0 + c, size=3)
    return AugmentParams(scale=s, rot_deg=rot, flip=flip, color_gain=(float(gain[0]), float(gain[1]), float(gain[2])))

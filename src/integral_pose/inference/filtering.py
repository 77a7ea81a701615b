"""Temporal smoothing of keypoints: the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012).

The One-Euro filter is a first-order low-pass filter whose cutoff frequency rises with the signal's speed: slow
motion is smoothed hard (little jitter), fast motion is followed closely (little lag). For a sample ``x_i`` at time
``t_i`` (seconds) with ``Te = t_i - t_{i-1}``:

* ``alpha(fc) = 1 / (1 + tau / Te)`` with ``tau = 1 / (2 pi fc)`` (:func:`smoothing_factor`);
* the speed ``dx_i = (x_i - x̂_{i-1}) / Te`` is smoothed with a fixed cutoff ``d_cutoff``: ``dx̂_i``;
* the cutoff ``fc = min_cutoff + beta * |dx̂_i|`` and ``x̂_i = x̂_{i-1} + alpha(fc) (x_i - x̂_{i-1})``.

With ``beta = 0`` it is a plain exponential smoother of cutoff ``min_cutoff``; a step of height ``h`` is then
reached to within ``h (1 - alpha)^n`` after ``n`` samples.

Defaults (documented in ``docs/inference.md``): ``min_cutoff = 1.0`` Hz, ``d_cutoff = 1.0`` Hz, and ``beta`` per
unit of the signal: ``0.02`` per px/s for image keypoints, ``0.005`` per mm/s for 3D keypoints. Lower
``min_cutoff`` smooths more (more lag when still); higher ``beta`` reduces lag in fast motion (more jitter).

Example:
    >>> f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    >>> [round(float(f(x, t)), 3) for t, x in enumerate([0.0, 1.0, 1.0])]
    [0.0, 0.863, 0.981]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BETA_MM",
    "BETA_PX",
    "D_CUTOFF",
    "MIN_CUTOFF",
    "OneEuroFilter",
    "OneEuroParams",
    "smoothing_factor",
]

MIN_CUTOFF = 1.0  # Hz
D_CUTOFF = 1.0  # Hz
BETA_PX = 0.02  # 1/(px/s): image keypoints
BETA_MM = 0.005  # 1/(mm/s): 3D keypoints


def smoothing_factor(dt: float | np.ndarray, cutoff: float | np.ndarray) -> np.ndarray:
    """The exponential smoothing factor ``alpha = 1 / (1 + 1 / (2 pi cutoff dt))`` of a first-order low-pass.

    Args:
        dt: sampling period in seconds (> 0).
        cutoff: cutoff frequency in Hz (> 0), a scalar or an array (one per value).

    Returns:
        alpha in (0, 1), broadcast over ``dt`` and ``cutoff``.
    """
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / np.asarray(dt, dtype=np.float64))


@dataclass(frozen=True)
class OneEuroParams:
    """Parameters of a :class:`OneEuroFilter`.

    Attributes:
        min_cutoff: cutoff in Hz when the signal is still (lower: smoother, more lag).
        beta: how fast the cutoff rises with speed, in 1 / (signal unit per second) (higher: less lag).
        d_cutoff: cutoff in Hz of the speed estimate.
    """

    min_cutoff: float = MIN_CUTOFF
    beta: float = BETA_PX
    d_cutoff: float = D_CUTOFF

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name}: expected a frequency > 0 Hz, got {v!r}")
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta: expected a number >= 0, got {self.beta!r}")


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape, each value filtered independently.

    Non-finite input values (NaN for an unknown joint) pass through unchanged and leave that value's state as it
    was. A sample whose time does not advance (``t <= previous t``) is returned as the current estimate.

    Args:
        min_cutoff: cutoff in Hz when still.
        beta: speed coefficient, 1 / (unit/s).
        d_cutoff: cutoff in Hz of the speed.
    """

    def __init__(self, min_cutoff: float = MIN_CUTOFF, beta: float = BETA_PX, d_cutoff: float = D_CUTOFF) -> None:
        self.params = OneEuroParams(float(min_cutoff), float(beta), float(d_cutoff))
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        """Forget the state: the next sample is returned unchanged."""
        self._x = self._dx = None
        self._t = None

    def __call__(self, x: float | np.ndarray, t: float) -> np.ndarray:
        """Filter one sample ``x`` taken at time ``t`` (seconds); returns the estimate, same shape as ``x``."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        assert self._dx is not None and self._t is not None
        dt = float(t) - self._t
        if not dt > 0:
            return np.where(np.isfinite(x), self._x, x)
        p = self.params
        prev = np.where(np.isfinite(self._x), self._x, x)  # a value first seen now starts from itself
        ok = np.isfinite(x)
        dx = np.where(ok, (x - prev) / dt, 0.0)
        dx_hat = self._dx + smoothing_factor(dt, p.d_cutoff) * (dx - self._dx)
        cutoff = p.min_cutoff + p.beta * np.abs(dx_hat)
        x_hat = prev + smoothing_factor(dt, cutoff) * (np.where(ok, x, prev) - prev)
        self._x = np.where(ok, x_hat, self._x)
        self._dx = np.where(ok, dx_hat, self._dx)
        self._t = float(t)
        return np.where(ok, x_hat, x)

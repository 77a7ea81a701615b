"""Augmentation: the original's distributions from a (seed, epoch, index)-seeded generator."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.data.augment import AugmentConfig, AugmentParams, sample_augment, sample_rng


def test_same_key_same_params_different_key_different() -> None:
    cfg = AugmentConfig()
    a = sample_augment(sample_rng(7, 2, 11), cfg)
    b = sample_augment(sample_rng(7, 2, 11), cfg)
    assert a == b
    others = {sample_augment(sample_rng(7, e, i), cfg) for e, i in ((3, 11), (2, 12), (2, 10))}
    others |= {sample_augment(sample_rng(8, 2, 11), cfg)}
    assert a not in others


def test_distributions_match_the_original() -> None:
    cfg = AugmentConfig()
    draws = [sample_augment(sample_rng(0, 0, i), cfg) for i in range(4000)]
    s = np.array([d.scale for d in draws])
    r = np.array([d.rot_deg for d in draws])
    f = np.array([d.flip for d in draws])
    g = np.array([d.color_gain for d in draws])
    assert s.min() >= 0.75 and s.max() <= 1.25
    # clip(N(0,1), -1, 1): P(|z| >= 1) = 0.3173 -> that mass sits exactly on the bounds.
    assert abs(np.mean(np.isclose(np.abs(s - 1), 0.25)) - 0.3173) < 0.03
    assert np.abs(r).max() <= 60.0 + 1e-9
    assert abs(np.mean(r != 0) - 0.6) < 0.03
    assert abs(f.mean() - 0.5) < 0.03
    assert g.min() >= 0.8 and g.max() <= 1.2 and abs(g.mean() - 1.0) < 0.01
    # Channels are independent draws.
    assert abs(np.corrcoef(g[:, 0], g[:, 1])[0, 1]) < 0.06


def test_disabled_parts() -> None:
    cfg = AugmentConfig(scale_factor=0.0, rot_factor=0.0, flip=False, color_factor=0.0)
    for i in range(50):
        p = sample_augment(sample_rng(1, 0, i), cfg)
        assert p == AugmentParams()


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="scale_factor"):
        AugmentConfig(scale_factor=1.5)
    with pytest.raises(ValueError, match="rot_prob"):
        AugmentConfig(rot_prob=2.0)
    with pytest.raises(ValueError, match="epoch"):
        sample_rng(0, -1, 0)
    with pytest.raises(ValueError, match="scale"):
        AugmentParams(scale=0.0)
    with pytest.raises(ValueError, match="color_gain"):
        AugmentParams(color_gain=(1.0, 1.0))  # type: ignore[arg-type]

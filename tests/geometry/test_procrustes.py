"""Procrustes alignment against scipy oracles; reflections excluded; weights; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from integral_pose.geometry.procrustes import (
    align_rigid,
    align_scale,
    align_similarity,
    apply_similarity,
    fit_similarity,
)

RNG = np.random.default_rng(3)


def _random_similarity(n: int):
    s = RNG.uniform(0.5, 2.0, n)
    R = Rotation.random(n, random_state=4).as_matrix()
    t = RNG.normal(size=(n, 3)) * 500
    return s, R, t


def test_recovers_a_known_similarity():
    X = RNG.normal(size=(20, 17, 3)) * 300
    s, R, t = _random_similarity(20)
    Y = apply_similarity(X, s, R, t)
    s2, R2, t2 = fit_similarity(X, Y)
    np.testing.assert_allclose(s2, s, rtol=1e-9)
    np.testing.assert_allclose(R2, R, atol=1e-9)
    np.testing.assert_allclose(t2, t, atol=1e-6)
    np.testing.assert_allclose(align_similarity(X, Y), Y, atol=1e-6)
    np.testing.assert_allclose(np.linalg.det(R2), 1.0)


def test_matches_scipy_orthogonal_procrustes_oracle():
    X = RNG.normal(size=(10, 17, 3)) * 300
    Y = X + RNG.normal(size=X.shape) * 40
    aligned = align_similarity(X, Y)
    for n in range(10):
        a = X[n] - X[n].mean(0)
        b = Y[n] - Y[n].mean(0)
        Rt, sv = orthogonal_procrustes(a, b)  # minimises ‖a Rt − b‖
        scale = sv / (a * a).sum()
        expected = scale * a @ Rt + Y[n].mean(0)
        np.testing.assert_allclose(aligned[n], expected, atol=1e-8)
    rigid = align_rigid(X, Y)
    for n in range(3):
        a = X[n] - X[n].mean(0)
        Rt, _ = orthogonal_procrustes(a, Y[n] - Y[n].mean(0))
        np.testing.assert_allclose(rigid[n], a @ Rt + Y[n].mean(0), atol=1e-8)


def test_reflections_are_excluded():
    X = RNG.normal(size=(5, 10, 3)) * 100
    mirrored = X * np.array([-1.0, 1.0, 1.0])
    _, R, _ = fit_similarity(X, mirrored)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    assert np.abs(align_similarity(X, mirrored) - mirrored).max() > 1.0  # a mirror image is not reachable


def test_weights_ignore_an_outlier_and_rigid_keeps_scale():
    X = RNG.normal(size=(4, 12, 3)) * 200
    s, R, t = _random_similarity(4)
    Y = apply_similarity(X, s, R, t)
    Y_bad = Y.copy()
    Y_bad[:, 5] += 1000.0
    w = np.ones(12)
    w[5] = 0
    np.testing.assert_allclose(fit_similarity(X, Y_bad, weights=w)[0], s, rtol=1e-9)
    assert np.abs(fit_similarity(X, Y_bad)[0] - s).max() > 1e-3
    s_rigid, R_rigid, _ = fit_similarity(X, Y, scale=False)
    np.testing.assert_array_equal(s_rigid, 1.0)
    np.testing.assert_allclose(R_rigid, R, atol=1e-9)  # rotation is scale-independent


def test_align_scale_least_squares():
    G = RNG.normal(size=(6, 17, 3)) * 300
    P = 0.7 * (G - G[:, :1]) + 50.0  # scaled and shifted
    np.testing.assert_allclose(align_scale(P, G), G, atol=1e-9)
    # the fitted scale minimises ‖sP − G‖: perturbing it increases the error
    noisy = P + RNG.normal(size=P.shape) * 20
    best = np.linalg.norm(align_scale(noisy, G) - G)
    Pc = noisy - noisy[:, :1]
    for f in (0.98, 1.02):
        s = (Pc * (G - G[:, :1])).sum((1, 2)) / (Pc * Pc).sum((1, 2))
        worse = np.linalg.norm(f * s[:, None, None] * Pc + G[:, :1] - G)
        assert worse > best


def test_chunked_processing_equals_single_batch(monkeypatch):
    import integral_pose.geometry.procrustes as mod

    X = RNG.normal(size=(25, 8, 3))
    Y = RNG.normal(size=(25, 8, 3))
    whole = align_similarity(X, Y)
    monkeypatch.setattr(mod, "_CHUNK", 7)
    np.testing.assert_allclose(align_similarity(X, Y), whole, atol=1e-12)


@pytest.mark.parametrize(
    ("src", "dst", "kwargs", "exc", "match"),
    [
        (np.zeros((2, 5, 2)), np.zeros((2, 5, 2)), {}, ValueError, r"src: expected shape \(N, J, 3\)"),
        (np.zeros((5, 3)), np.zeros((5, 3)), {}, ValueError, r"src: expected shape \(N, J, 3\)"),
        (np.zeros((2, 5, 3)), np.zeros((2, 4, 3)), {}, ValueError, "dst: expected the shape of src"),
        (np.full((1, 5, 3), np.nan), np.zeros((1, 5, 3)), {}, ValueError, "src: expected no NaN"),
        ("abc", np.zeros((1, 5, 3)), {}, TypeError, "src: expected a numeric array"),
        (np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), {"weights": np.ones(4)}, ValueError, "weights: expected shape"),
        (np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), {"weights": np.zeros(5)}, ValueError, "positive total weight"),
        (np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), {"weights": -np.ones(5)}, ValueError, "non-negative"),
    ],
)
def test_bad_input(src, dst, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit_similarity(src, dst, **kwargs)


def test_bad_root():
    with pytest.raises(ValueError, match=r"root: expected a joint index in \[0, 5\)"):
        align_scale(np.zeros((1, 5, 3)), np.zeros((1, 5, 3)), root=7)

"""The integral operation: exact cases, oracle agreement (reference op, kornia), gradients, memory, bad input."""

from __future__ import annotations

import pytest
import torch

from integral_pose.geometry.integral import (
    DEBIAS_MAX_BACKGROUND,
    SoftArgmax3d,
    joint_confidence_2d,
    joint_confidence_3d,
    logits_to_volume,
    soft_argmax_2d,
    soft_argmax_3d,
    soft_argmax_3d_normalized,
    soft_argmax_3d_reference,
)


def _one_hot(shape: tuple[int, ...], positions: list[tuple[int, ...]], low: float = -1e4) -> torch.Tensor:
    logits = torch.full(shape, low)
    j = shape[1]
    for n, pos in enumerate(positions):
        logits[(n // j, n % j, *pos)] = 0.0
    return logits


def test_one_hot_peak_returns_its_bin_index():
    shape = (2, 3, 5, 6, 7)  # B, J, D, H, W
    gen = torch.Generator().manual_seed(1)
    pos = [
        (
            int(torch.randint(5, (1,), generator=gen)),
            int(torch.randint(6, (1,), generator=gen)),
            int(torch.randint(7, (1,), generator=gen)),
        )
        for _ in range(6)
    ]
    out = soft_argmax_3d(_one_hot(shape, pos))
    expected = torch.tensor([[p[2], p[1], p[0]] for p in pos], dtype=torch.float32).reshape(2, 3, 3)
    assert torch.equal(out, expected)  # (x, y, z) = (w, h, d), exact
    norm = soft_argmax_3d_normalized(_one_hot(shape, pos))
    torch.testing.assert_close(norm, expected / torch.tensor([7.0, 6.0, 5.0]) - 0.5)
    # corners: first and last bins
    corner = soft_argmax_3d(_one_hot((1, 2, 5, 6, 7), [(0, 0, 0), (4, 5, 6)]))
    assert corner.tolist() == [[[0.0, 0.0, 0.0], [6.0, 5.0, 4.0]]]
    hm = _one_hot((1, 2, 6, 7), [(5, 0), (2, 6)])
    assert soft_argmax_2d(hm).tolist() == [[[0.0, 5.0], [6.0, 2.0]]]


def test_uniform_logits_return_the_centre_and_normalised_range():
    out = soft_argmax_3d(torch.full((1, 2, 4, 6, 8), 3.7))
    torch.testing.assert_close(out, torch.tensor([3.5, 2.5, 1.5]).expand(1, 2, 3))
    norm = soft_argmax_3d(torch.zeros(1, 1, 4, 6, 8), normalized=True)
    torch.testing.assert_close(norm, torch.tensor([[[3.5 / 8 - 0.5, 2.5 / 6 - 0.5, 1.5 / 4 - 0.5]]]))
    # the normalised range is [-0.5, 0.5 - 1/N]
    lo = soft_argmax_3d(_one_hot((1, 1, 4, 6, 8), [(0, 0, 0)]), normalized=True)
    hi = soft_argmax_3d(_one_hot((1, 1, 4, 6, 8), [(3, 5, 7)]), normalized=True)
    torch.testing.assert_close(lo, torch.full((1, 1, 3), -0.5))
    torch.testing.assert_close(hi, torch.tensor([[[0.5 - 1 / 8, 0.5 - 1 / 6, 0.5 - 1 / 4]]]))


def test_extreme_logits_give_finite_values_and_gradients():
    x = (torch.randint(0, 2, (2, 3, 4, 5, 6)).float() * 2e4 - 1e4).requires_grad_()
    for fn in (soft_argmax_3d, soft_argmax_3d_reference):
        out = fn(x, debias=True)
        (g,) = torch.autograd.grad(out.sum(), x)
        assert torch.isfinite(out).all() and torch.isfinite(g).all()
        assert (out >= 0).all() and (out <= torch.tensor([5.0, 4.0, 3.0])).all()


@pytest.mark.parametrize("beta", [1.0, 2.5])
@pytest.mark.parametrize("debias", [False, True])
def test_memory_lean_matches_reference_values_and_gradients(beta, debias):
    x = (torch.randn(2, 4, 6, 8, 7) * 3).requires_grad_()
    ours = soft_argmax_3d(x, beta=beta, debias=debias)
    ref = soft_argmax_3d_reference(x, beta=beta, debias=debias)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    weight = torch.randn_like(ours)
    (g_ours,) = torch.autograd.grad((ours * weight).sum(), x)
    (g_ref,) = torch.autograd.grad((ref * weight).sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=0, atol=1e-5)


def test_gradcheck_float64():
    x = torch.randn(2, 2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_argmax_3d(t), (x,))
    assert torch.autograd.gradcheck(lambda t: soft_argmax_3d(t, beta=1.7, normalized=True), (x,))
    assert torch.autograd.gradcheck(lambda t: soft_argmax_3d(t * 4.0 + 2.0, debias=True), (x,))
    h = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_argmax_2d(t, beta=0.7), (h,))
    assert torch.autograd.gradgradcheck(lambda t: soft_argmax_3d_reference(t), (x,))


def test_2d_matches_kornia():
    kornia_subpix = pytest.importorskip("kornia.geometry.subpix")
    h = torch.randn(3, 5, 9, 11) * 2
    expected = kornia_subpix.spatial_soft_argmax2d(h, temperature=torch.tensor(1.0), normalized_coordinates=False)
    torch.testing.assert_close(soft_argmax_2d(h), expected, rtol=0, atol=1e-5)
    # kornia divides the logits by its temperature: beta = 1 / temperature
    expected_t = kornia_subpix.spatial_soft_argmax2d(h, temperature=torch.tensor(0.5), normalized_coordinates=False)
    torch.testing.assert_close(soft_argmax_2d(h, beta=2.0), expected_t, rtol=0, atol=1e-5)
    # 2D equals 3D with one depth bin
    torch.testing.assert_close(soft_argmax_2d(h), soft_argmax_3d(h[:, :, None])[..., :2])


def test_batch_and_joint_independence():
    x = torch.randn(3, 4, 5, 6, 7)
    full = soft_argmax_3d(x)
    for b in range(3):
        torch.testing.assert_close(soft_argmax_3d(x[b : b + 1]), full[b : b + 1])
    y = x.clone()
    y[1, 2] += torch.randn(5, 6, 7) * 5
    changed = soft_argmax_3d(y)
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1, 2] = False
    torch.testing.assert_close(changed[mask], full[mask])
    assert not torch.allclose(changed[1, 2], full[1, 2])
    # gradient of one joint's output touches only that joint's logits
    x.requires_grad_()
    (g,) = torch.autograd.grad(soft_argmax_3d(x)[0, 1].sum(), x)
    assert g[0, 1].abs().sum() > 0
    g[0, 1] = 0
    assert g.abs().sum() == 0


def test_beta_sharpens():
    x = torch.randn(1, 1, 6, 6, 6)
    peak = torch.tensor([float(i) for i in reversed(torch.unravel_index(x.argmax(), x.shape[2:]))])
    err = [(soft_argmax_3d(x, beta=b)[0, 0] - peak).abs().max().item() for b in (1.0, 10.0, 100.0)]
    assert err[2] < 1e-3 and err[0] > err[2]


def test_debias_recovers_a_weak_peak_on_zero_background():
    # background 0, a single peak of height L: C = N − 1 + e^L; debias returns the peak exactly (Gu et al.)
    d, h, w = 6, 7, 8
    for height in (2.0, 4.0, 8.0):
        x = torch.zeros(1, 1, d, h, w, dtype=torch.float64)
        x[0, 0, 1, 5, 6] = height
        plain = soft_argmax_3d(x)
        fixed = soft_argmax_3d(x, debias=True)
        n = d * h * w
        c = n - 1 + torch.exp(torch.tensor(height, dtype=torch.float64))
        if n / c <= DEBIAS_MAX_BACKGROUND:
            torch.testing.assert_close(fixed, torch.tensor([[[6.0, 5.0, 1.0]]], dtype=torch.float64))
            assert (plain - fixed).abs().max() > 0.1  # the plain expectation is pulled to the centre
        else:
            torch.testing.assert_close(fixed, plain)  # correction skipped when the background dominates
    hm = torch.zeros(1, 1, 9, 9, dtype=torch.float64)
    hm[0, 0, 1, 7] = 6.0
    torch.testing.assert_close(soft_argmax_2d(hm, debias=True), torch.tensor([[[7.0, 1.0]]], dtype=torch.float64))
    # negative background (C < N): no correction
    neg = torch.full((1, 1, 4, 4, 4), -3.0)
    torch.testing.assert_close(soft_argmax_3d(neg, debias=True), soft_argmax_3d(neg))


def test_dtype_policy_and_autocast():
    x32 = torch.randn(2, 3, 4, 5, 6)
    assert soft_argmax_3d(x32).dtype == torch.float32
    assert soft_argmax_3d(x32.double()).dtype == torch.float64
    half = x32.to(torch.bfloat16).requires_grad_()
    out = soft_argmax_3d(half)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, soft_argmax_3d(half.detach().float()))
    (g,) = torch.autograd.grad(out.sum(), half)
    assert g.dtype == torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        conv = torch.nn.Conv3d(3, 3, 1)
        y = conv(x32)  # bfloat16 under autocast
        assert y.dtype == torch.bfloat16
        res = soft_argmax_3d(y)
    assert res.dtype == torch.float32
    torch.testing.assert_close(res, soft_argmax_3d(y.float()), rtol=0, atol=1e-6)


def test_memory_lean_saves_only_the_logits_for_backward():
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    x = torch.randn(2, 3, 16, 16, 16, requires_grad=True)
    volume = x.numel()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        soft_argmax_3d(x, debias=True)
    big = [t for t in saved if t.numel() >= volume]
    # the only volume kept for backward is the caller's logits themselves (same storage), plus tiny tensors
    assert len(big) == 1 and big[0].untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    assert sum(t.numel() for t in saved if t.numel() < volume) <= 16 * 2 * 3
    saved.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        soft_argmax_3d_reference(x)
    big = [t for t in saved if t.numel() >= volume]
    # the straightforward graph keeps the softmax volume, a new allocation
    assert big and all(t.untyped_storage().data_ptr() != x.untyped_storage().data_ptr() for t in big)


def test_joint_confidence():
    peaked = _one_hot((1, 2, 6, 6, 6), [(1, 2, 3), (5, 5, 5)])
    conf = joint_confidence_3d(peaked)
    assert conf.shape == (1, 2)
    torch.testing.assert_close(conf, torch.ones(1, 2))
    uniform = joint_confidence_3d(torch.zeros(1, 1, 10, 10, 10), radius=1)
    torch.testing.assert_close(uniform, torch.tensor([[27 / 1000]]))
    rnd = joint_confidence_3d(torch.randn(3, 4, 5, 6, 7) * 3)
    assert ((rnd >= 0) & (rnd <= 1)).all()
    # two far-apart equal peaks: the expectation lies between them, where little mass is
    two = torch.full((1, 1, 1, 1, 21), -1e4)
    two[..., 0] = 0.0
    two[..., 20] = 0.0
    assert joint_confidence_3d(two).item() < 1e-6
    # joint 1 of this slice is uniform on 6×6: 25 of its 36 bins lie in the 5×5 box
    torch.testing.assert_close(joint_confidence_2d(peaked[:, :, 1]), torch.tensor([[1.0, 25 / 36]]))


def test_logits_to_volume_channel_order_and_module():
    b, j, d, h, w = 2, 3, 4, 5, 6
    flat = torch.arange(b * j * d * h * w, dtype=torch.float32).reshape(b, j * d, h, w)
    vol = logits_to_volume(flat, j)
    assert vol.shape == (b, j, d, h, w)
    assert torch.equal(vol[1, 2, 3], flat[1, 2 * d + 3])  # channel = j·D + d
    module = SoftArgmax3d(beta=2.0)
    x = torch.randn(b, j, d, h, w)
    torch.testing.assert_close(module(x), soft_argmax_3d(x, beta=2.0, normalized=True))
    assert "beta=2.0" in repr(module)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu():
    x = torch.randn(2, 3, 8, 9, 10, requires_grad=True)
    xc = x.detach().cuda().requires_grad_()
    out, out_c = soft_argmax_3d(x, debias=True), soft_argmax_3d(xc, debias=True)
    torch.testing.assert_close(out_c.cpu(), out, rtol=0, atol=1e-5)
    (g,) = torch.autograd.grad(out.sum(), x)
    (gc,) = torch.autograd.grad(out_c.sum(), xc)
    torch.testing.assert_close(gc.cpu(), g, rtol=0, atol=1e-5)
    with torch.autocast("cuda", dtype=torch.float16):
        assert soft_argmax_3d(xc.half()).dtype == torch.float32


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("fn", "arg", "exc", "match"),
    [
        (soft_argmax_3d, [[1.0]], TypeError, "logits: expected a torch.Tensor"),
        (soft_argmax_3d, torch.zeros(1, 1, 2, 2, 2, dtype=torch.int64), TypeError, "floating-point"),
        (soft_argmax_3d, torch.zeros(1, 2, 2, 2), ValueError, r"expected shape \(B, J, D, H, W\)"),
        (soft_argmax_3d, torch.zeros(1, 1, 0, 2, 2), ValueError, "non-empty"),
        (soft_argmax_2d, torch.zeros(1, 1, 2, 2, 2), ValueError, r"expected shape \(B, J, H, W\)"),
        (soft_argmax_3d_reference, torch.zeros(2, 2), ValueError, "5 dims"),
        (joint_confidence_3d, torch.zeros(2, 2, 2, 2), ValueError, "5 dims"),
    ],
)
def test_bad_logits(fn, arg, exc, match):
    with pytest.raises(exc, match=match):
        fn(arg)


@pytest.mark.parametrize("fn", [soft_argmax_3d, soft_argmax_3d_reference])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_logits_rejected(fn, value):
    x = torch.zeros(1, 2, 3, 3, 3)
    x[0, 1, 1, 1, 1] = value
    with pytest.raises(ValueError, match="logits: expected finite logits"):
        fn(x)
    masked = torch.zeros(1, 2, 3, 3, 3)
    masked[0, 0, 0] = float("-inf")  # partial −inf masks are fine
    assert torch.isfinite(fn(masked)).all()
    masked[0, 1] = float("-inf")
    with pytest.raises(ValueError, match="all −inf"):
        fn(masked)


def test_bad_options():
    x = torch.zeros(1, 1, 2, 2, 2)
    with pytest.raises(ValueError, match="beta: expected a finite value > 0"):
        soft_argmax_3d(x, beta=0.0)
    with pytest.raises(TypeError, match="beta: expected a float"):
        soft_argmax_3d(x, beta=True)
    with pytest.raises(ValueError, match="radius"):
        joint_confidence_3d(x, radius=-1)
    with pytest.raises(ValueError, match="not a multiple of num_joints=4"):
        logits_to_volume(torch.zeros(1, 6, 2, 2), 4)
    with pytest.raises(ValueError, match="num_joints"):
        logits_to_volume(torch.zeros(1, 6, 2, 2), 0)

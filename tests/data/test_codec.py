"""Codec: crop affine, flip folding, normalisation, encode/decode round trips (DESIGN §3)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from integral_pose.data.augment import AugmentConfig, sample_augment, sample_rng
from integral_pose.data.codec import (
    crop_image,
    crop_transform,
    decode,
    encode,
    flip_normalized,
    normalize_patch,
    normalized_to_patch,
    patch_to_normalized,
)
from integral_pose.geometry.affine import apply_affine
from integral_pose.skeletons import H36M_18


def test_crop_transform_matches_cv2_three_points() -> None:
    box = np.array([30.0, 40.0, 80.0, 120.0])  # aspect 2:3 -> extended to 1:1 (120 x 120)
    a, inv = crop_transform(box, (64, 64), image_width=300, scale=1.2, rot_deg=25.0)
    c = np.array([70.0, 100.0])
    side = 120.0 * 1.2
    t = np.deg2rad(25.0)
    src = np.float32(
        [c, c + side / 2 * np.array([-np.sin(t), np.cos(t)]), c + side / 2 * np.array([np.cos(t), np.sin(t)])]
    )
    dst = np.float32([[32, 32], [32, 64], [64, 32]])
    oracle = cv2.getAffineTransform(src, dst)
    np.testing.assert_allclose(a, oracle, atol=1e-4)
    np.testing.assert_allclose(apply_affine(apply_affine(np.array([[5.0, 7.0]]), a), inv), [[5.0, 7.0]], atol=1e-9)


def test_flip_folded_into_affine_equals_flip_then_warp() -> None:
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8), (9, 9), 3)
    box = [20.0, 15.0, 50.0, 60.0]
    patch, a, _ = crop_image(img, box, (48, 64), scale=1.1, rot_deg=-12.0, flip=True)
    # The original system: mirror the image, move the centre to W - 1 - cx, then warp without flip.
    flipped = np.ascontiguousarray(img[:, ::-1])
    box_f = [120 - 1 - (box[0] + box[2] / 2) - box[2] / 2, box[1], box[2], box[3]]
    ref, _, _ = crop_image(flipped, box_f, (48, 64), scale=1.1, rot_deg=-12.0, flip=False)
    diff = np.abs(patch.astype(int) - ref.astype(int))
    assert diff.max() <= 2  # same matrix up to warpAffine's 1/32 px fixed-point rounding
    # Joints: x -> W - 1 - x before the warp.
    p = np.array([[33.0, 44.0]])
    a_noflip, _ = crop_transform(box_f, (48, 64), 120, 1.1, -12.0, False)
    np.testing.assert_allclose(
        apply_affine(p, a), apply_affine(np.array([[120 - 1 - 33.0, 44.0]]), a_noflip), atol=1e-9
    )


@pytest.mark.parametrize("seed", range(8))
def test_encode_decode_round_trip_under_augmentation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = sample_augment(sample_rng(seed, 3, seed), AugmentConfig())
    w_img = 640
    j2d = rng.uniform([100, 80], [400, 420], size=(18, 2))
    j3d = np.concatenate([rng.normal(0, 300, (18, 2)), 5000 + rng.normal(0, 250, (18, 1))], axis=1)
    vis = (rng.random(18) > 0.2).astype(np.float32)
    box = [90.0, 70.0, 320.0, 360.0]
    a, inv = crop_transform(box, (192, 256), w_img, params.scale, params.rot_deg, params.flip)
    perm = H36M_18.flip_permutation if params.flip else None
    target, weight = encode(j2d, vis, j3d, a, (192, 256), 2000.0, params.scale, perm, root=0)
    uv, z = decode(target[None].astype(np.float64), inv[None], (192, 256), 2000.0, np.array([params.scale]))
    back = np.arange(18) if perm is None else perm  # perm is an involution
    assert np.abs(uv[0][back] - j2d).max() < 1e-3
    assert np.abs(z[0][back] - (j3d[:, 2] - j3d[0, 2])).max() < 1e-3
    np.testing.assert_array_equal(weight[back][:, 0], vis)
    np.testing.assert_array_equal(weight[back][:, 2], vis)


def test_encode_hand_computed_values_and_z_weight() -> None:
    # Box 100x100 at (0,0), patch 50x50: image px = 2 * patch px.
    a, _ = crop_transform([0, 0, 100, 100], (50, 50), image_width=100)
    j2d = np.array([[50.0, 50.0], [0.0, 100.0]])
    j3d = np.array([[0.0, 0.0, 3000.0], [0.0, 0.0, np.nan]])
    H = np.array([[10.0, 20.0, 3500.0], [0.0, 0.0, 2500.0]])
    t, wt = encode(j2d, np.ones(2), H, a, (50, 50), rect_3d_mm=2000.0, scale=1.25)
    np.testing.assert_allclose(t, [[0.0, 0.0, 0.0], [-0.5, 0.5, -1000.0 / 2500.0]], atol=1e-6)
    _, wt2 = encode(j2d, np.ones(2), j3d, a, (50, 50))
    np.testing.assert_array_equal(wt2[:, 2], [1.0, 0.0])  # unknown 3D joint -> z weight 0
    _, wt3 = encode(j2d, np.array([1.0, 0.0]), None, a, (50, 50))
    np.testing.assert_array_equal(wt3, [[1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(wt[:, 2], [1.0, 1.0])


def test_flip_twice_is_identity_and_matches_patch_mirror() -> None:
    rng = np.random.default_rng(1)
    pred = rng.uniform(-0.5, 0.5, size=(3, 18, 3))
    perm = H36M_18.flip_permutation
    np.testing.assert_allclose(flip_normalized(flip_normalized(pred, perm, 64), perm, 64), pred, atol=1e-12)
    # A joint at patch column u of a mirrored patch sits at column 63 - u of the unmirrored one.
    u = normalized_to_patch(pred, (64, 48))[..., 0]
    back = normalized_to_patch(flip_normalized(pred, perm, 64), (64, 48))[..., 0]
    np.testing.assert_allclose(back, (63.0 - u)[:, perm], atol=1e-9)
    t = torch.from_numpy(pred)
    np.testing.assert_allclose(flip_normalized(t, torch.from_numpy(perm), 64).numpy(), flip_normalized(pred, perm, 64))


def test_decode_torch_matches_numpy_and_2d() -> None:
    rng = np.random.default_rng(2)
    pred = rng.uniform(-0.5, 0.5, size=(2, 18, 3))
    invs = np.stack([crop_transform([10, 20, 100, 150], (64, 64), 300, 1.1, 15.0, f)[1] for f in (False, True)])
    uv_np, z_np = decode(pred, invs, (64, 64), 2000.0, np.array([1.0, 1.1]))
    uv_t, z_t = decode(torch.from_numpy(pred), torch.from_numpy(invs), (64, 64), 2000.0, torch.tensor([1.0, 1.1]))
    np.testing.assert_allclose(uv_t.numpy(), uv_np, atol=1e-9)
    np.testing.assert_allclose(z_t.numpy(), z_np, atol=1e-9)
    uv2, z2 = decode(pred[..., :2], invs, (64, 64))
    np.testing.assert_allclose(uv2, uv_np, atol=1e-9)
    assert z2 is None
    np.testing.assert_allclose(patch_to_normalized(normalized_to_patch(pred, (64, 32)), (64, 32)), pred[..., :2])


def test_normalize_patch_rgb_order_gain_and_clip() -> None:
    patch = np.zeros((2, 3, 3), dtype=np.uint8)
    patch[..., 0] = 10  # B
    patch[..., 1] = 200  # G
    patch[..., 2] = 250  # R
    x = normalize_patch(patch, mean=(1.0, 2.0, 3.0), std=(2.0, 4.0, 5.0), color_gain=(1.1, 1.0, 0.5))
    assert x.shape == (3, 2, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], (255.0 - 1.0) / 2.0)  # R: 250*1.1 clipped to 255
    np.testing.assert_allclose(x[1], (200.0 - 2.0) / 4.0)
    np.testing.assert_allclose(x[2], (5.0 - 3.0) / 5.0)


def test_codec_bad_inputs() -> None:
    with pytest.raises(ValueError, match="patch_size"):
        crop_transform([0, 0, 10, 10], (0, 64), 100)
    with pytest.raises(ValueError, match="box_xywh"):
        crop_transform([0, 0, -10, 10], (64, 64), 100)
    a, inv = crop_transform([0, 0, 10, 10], (64, 64), 100)
    with pytest.raises(ValueError, match="joints_vis"):
        encode(np.zeros((18, 2)), np.ones(17), None, a, (64, 64))
    with pytest.raises(ValueError, match="joints_3d_cam"):
        encode(np.zeros((18, 2)), np.ones(18), np.zeros((17, 3)), a, (64, 64))
    with pytest.raises(ValueError, match="inv_affine"):
        decode(np.zeros((2, 18, 3)), inv[None], (64, 64))
    with pytest.raises(ValueError, match="patch_bgr"):
        normalize_patch(np.zeros((4, 4), dtype=np.uint8))

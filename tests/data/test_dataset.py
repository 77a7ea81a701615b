"""PoseDataset: sample contents agree with the image, flip, determinism across workers, errors, mixing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from integral_pose.data.augment import AugmentConfig
from integral_pose.data.codec import IMAGENET_MEAN, IMAGENET_STD, decode, normalized_to_patch
from integral_pose.data.dataset import ConcatPoseDataset, PoseDataset
from integral_pose.data.io import ImageReadError, MissingImageError
from integral_pose.data.records import PoseRecords
from integral_pose.data.sampling import MixedSampler
from integral_pose.skeletons import H36M_18

Factory = Callable[..., PoseRecords]
KEYS = {
    "image", "target", "target_weight", "index", "source", "affine", "inv_affine", "scale", "depth_norm_mm", "flip",
    "box", "joints_2d", "joints_vis", "joints_3d_cam", "root_depth_mm", "cam_f", "cam_c", "replaced",
}  # fmt: skip


def test_item_shapes_and_test_time_decode(make_table: Factory) -> None:
    recs = make_table(n=3)
    ds = PoseDataset(recs, (48, 64), rect_3d_mm=2000.0)
    item = ds[1]
    assert set(item) == KEYS
    assert item["image"].shape == (3, 64, 48) and item["image"].dtype == torch.float32
    assert item["target"].shape == (18, 3) and item["target_weight"].shape == (18, 3)
    assert item["inv_affine"].shape == (2, 3) and float(item["scale"]) == 1.0 and not bool(item["flip"])
    uv, z = decode(item["target"][None].double(), item["inv_affine"][None], (48, 64), 2000.0)
    np.testing.assert_allclose(uv[0].numpy(), recs.joints_2d[1], atol=1e-3)
    z_ref = recs.joints_3d_cam[1, :, 2] - recs.joints_3d_cam[1, 0, 2]
    np.testing.assert_allclose(z[0].numpy(), z_ref, atol=1e-2)  # float32 target
    assert float(item["root_depth_mm"]) == pytest.approx(float(recs.joints_3d_cam[1, 0, 2]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_target_points_at_the_drawn_joint_under_augmentation(make_table: Factory, seed: int) -> None:
    joint = H36M_18.index("l_wrist")
    recs = make_table(n=2, size=(160, 160), dot_joint=joint, seed=seed)
    ds = PoseDataset(recs, (64, 64), augment=AugmentConfig(rot_prob=1.0, flip_prob=0.5, color_factor=0.0), seed=seed)
    flips = set()
    for ep in range(8):
        item = ds[(0, ep)]
        flipped = bool(item["flip"])
        flips.add(flipped)
        label = H36M_18.flip_permutation[joint] if flipped else joint  # the dot's label moves to r_wrist
        u, v = normalized_to_patch(item["target"][label].numpy(), (64, 64))
        img = item["image"].numpy() * np.array(IMAGENET_STD).reshape(3, 1, 1) + np.array(IMAGENET_MEAN).reshape(3, 1, 1)
        gray = img.mean(0) - 10.0
        mask = gray > 0.5 * gray.max()
        yy, xx = np.nonzero(mask)
        wts = gray[mask]
        if 3 <= u < 61 and 3 <= v < 61:  # the whole disc is inside the patch: its centroid is the joint
            assert abs(np.average(xx, weights=wts) - u) <= 0.5 and abs(np.average(yy, weights=wts) - v) <= 0.5
    assert flips == {False, True}  # flip_prob 0.5 over 8 epochs: both branches ran (seeded, so deterministic)


def test_flip_swaps_left_right_targets(make_table: Factory) -> None:
    recs = make_table(n=1)
    ds = PoseDataset(recs, (64, 64), augment=AugmentConfig(scale_factor=0.0, rot_factor=0.0, flip_prob=1.0))
    plain = PoseDataset(recs, (64, 64))[0]
    flipped = ds[0]
    assert bool(flipped["flip"])
    perm = H36M_18.flip_permutation
    t, tf = plain["target"].numpy(), flipped["target"].numpy()
    # Same box and scale: mirrored x about the patch centre (x_n -> -x_n), labels swapped, y and z kept.
    np.testing.assert_allclose(tf[:, 0], -t[perm, 0], atol=1e-5)
    np.testing.assert_allclose(tf[:, 1:], t[perm, 1:], atol=1e-6)


def test_same_samples_with_0_or_2_workers(make_table: Factory) -> None:
    recs = make_table(n=6)
    ds = PoseDataset(recs, (32, 32), augment=AugmentConfig(), seed=11)
    out = {}
    for workers in (0, 2):
        sampler = MixedSampler([len(ds)], seed=4)
        sampler.set_epoch(2)
        loader = torch.utils.data.DataLoader(ds, batch_size=3, sampler=sampler, num_workers=workers)
        batches = list(loader)
        out[workers] = (torch.cat([b["image"] for b in batches]), torch.cat([b["target"] for b in batches]))
    assert torch.equal(out[0][0], out[2][0]) and torch.equal(out[0][1], out[2][1])
    ds.set_epoch(2)
    again = ds[int(MixedSampler([len(ds)], seed=4, with_epoch=False).shard(2)[0])]
    assert torch.equal(again["target"], out[0][1][0])


def test_reduced_decode_close_to_full(make_table: Factory) -> None:
    recs = make_table(n=2, size=(640, 480))
    full = PoseDataset(recs, (32, 32))[0]
    red = PoseDataset(recs, (32, 32), reduced_decode=True)[0]
    assert torch.equal(full["target"], red["target"])
    assert (full["image"] - red["image"]).abs().mean() < 0.35  # noisy texture; same content, softer resample


def test_missing_and_corrupt_images_name_the_file(make_table: Factory) -> None:
    recs = make_table(n=2)
    recs.image_file(0).unlink()
    recs.image_file(1).write_bytes(recs.image_file(1).read_bytes()[:200])
    ds = PoseDataset(recs, (32, 32))
    with pytest.raises(MissingImageError, match="img_000"):
        ds[0]
    with pytest.raises(ImageReadError, match="img_001"):
        ds[1]
    ok = make_table("ok", n=3)
    ok.image_file(1).unlink()
    train = PoseDataset(ok, (32, 32), on_bad_image="replace")
    got = train[1]
    assert bool(got["replaced"]) and int(got["index"]) == 2 and not bool(train[0]["replaced"])
    with pytest.raises(MissingImageError, match="img_000"):
        PoseDataset(recs, (32, 32), on_bad_image="replace")[0]  # nothing readable: the first error
    with pytest.raises(ValueError, match="on_bad_image"):
        PoseDataset(ok, (32, 32), on_bad_image="skip")


def test_concat_and_bad_inputs(make_table: Factory) -> None:
    a = PoseDataset(make_table("a", n=2), (32, 32))
    b = PoseDataset(make_table("b", n=3), (32, 32))
    cat = ConcatPoseDataset([a, b])
    assert len(cat) == 5 and cat.locate(3) == (1, 1)
    item = cat[(3, 0)]
    assert int(item["source"]) == 1 and int(item["index"]) == 1
    batch = torch.utils.data.default_collate([cat[0], cat[4]])
    assert batch["image"].shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="patch_size"):
        ConcatPoseDataset([a, PoseDataset(make_table("c", n=1), (32, 64))])
    with pytest.raises(ValueError, match="empty"):
        PoseDataset(make_table("d", n=2).subset(slice(0, 0)), (32, 32))
    with pytest.raises(ValueError, match="patch_size"):
        PoseDataset(make_table("e", n=1), (32,))
    with pytest.raises(IndexError):
        a[5]
    with pytest.raises(TypeError, match="key"):
        a["x"]


def test_box_depth_norm_is_box_width_over_pixels_per_mm(make_table: Factory) -> None:
    """``depth_mode="box"``: the normaliser is the aspect-extended box width divided by the 2D/3D scale (px/mm).

    The 3D pose is built so its (x, y) map onto the 2D labels by an exact similarity of 0.04 px/mm; the
    200×160 image's box is 100×96 px, which grows to 100×100 on a square patch: 100 px / 0.04 px/mm = 2500 mm.
    """
    recs = make_table(n=2)
    scale, shift = 0.04, np.array([37.0, -12.0])  # px per mm, px
    j3 = recs.joints_3d_cam.copy()
    j3[..., :2] = (recs.joints_2d - shift) / scale
    recs.joints_3d_cam = j3
    item = PoseDataset(recs, (64, 64), depth_mode="box")[1]
    assert float(item["depth_norm_mm"]) == pytest.approx(2500.0, rel=1e-6)
    z_rel = j3[1, :, 2] - j3[1, 0, 2]
    np.testing.assert_allclose(item["target"][:, 2].numpy(), z_rel / 2500.0, atol=1e-6)

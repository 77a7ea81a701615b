"""On-the-fly SynthMocap: determinism per (seed, epoch, index), worker independence, labels on the pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from integral_pose.data.augment import AugmentConfig
from integral_pose.data.sources.synthmocap_live import SynthMocapStream, window_camera
from integral_pose.engine.pretrain import StreamSampler
from integral_pose.geometry.affine import apply_affine
from integral_pose.geometry.camera import Camera

AUG = AugmentConfig(scale_factor=0.15, rot_factor=15.0, rot_prob=0.5, flip=True, flip_prob=0.5, color_factor=0.2)


@pytest.fixture(scope="module")
def stream() -> SynthMocapStream:
    return SynthMocapStream((64, 64), 50, seed=3, augment=AUG)


def test_same_key_same_sample_new_epoch_new_scene(stream: SynthMocapStream) -> None:
    a, b = stream[(4, 1)], stream[(4, 1)]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["target"], b["target"])
    c = stream[(4, 2)]
    assert not torch.equal(a["target"], c["target"])
    fresh = SynthMocapStream((64, 64), 50, seed=3, augment=AUG)  # a new process state gives the same sample
    assert torch.equal(fresh[(4, 1)]["image"], a["image"])
    other_seed = SynthMocapStream((64, 64), 50, seed=4, augment=AUG)
    assert not torch.equal(other_seed[(4, 1)]["target"], a["target"])


def test_batches_do_not_depend_on_the_worker_count(stream: SynthMocapStream) -> None:
    def batches(workers: int) -> list[dict[str, torch.Tensor]]:
        loader = torch.utils.data.DataLoader(stream, batch_size=4, sampler=StreamSampler(len(stream), 46, 54),
                                             num_workers=workers)  # fmt: skip
        return list(loader)

    b0, b2 = batches(0), batches(2)
    assert len(b0) == len(b2) == 2
    for x, y in zip(b0, b2):
        assert torch.equal(x["image"], y["image"]) and torch.equal(x["target"], y["target"])
    # positions 46..53 of a 50-sample stream cross into the next pass: keys (46, 0) … (49, 0), (0, 1) … (3, 1)
    assert b0[1]["index"].tolist() == [0, 1, 2, 3]


def test_labels_sit_on_the_rendered_body(stream: SynthMocapStream) -> None:
    """Targets are the projected joints mapped by the crop affine (flip: sides swapped), on a 64 px patch."""
    for i in range(6):
        r = stream.render(i, 0)
        uv = apply_affine(r["joints_2d"], r["affine"])  # native px → patch px
        item = stream[(i, 0)]
        xy = (item["target"][:, :2].numpy() + 0.5) * 64.0
        if r["params"].flip:
            uv = uv[stream.flip_perm]
        np.testing.assert_allclose(xy, uv, atol=1e-4)
        assert r["patch"].shape == (64, 64, 3) and r["patch"].dtype == np.uint8
    assert set(item) >= {"image", "target", "target_weight", "affine", "inv_affine", "joints_3d_cam", "cam_f"}


def test_window_camera_is_the_scaled_shifted_native_projection() -> None:
    cam = Camera(f=np.array([1145.0, 1144.0]), c=np.array([512.0, 515.0]), k=np.array([-0.2, 0.24, -0.0015]),
                 p=np.array([-0.0009, -0.0018]), R=np.eye(3), T=np.zeros(3), resolution=(1000, 1002))  # fmt: skip
    pts = np.array([[100.0, -300.0, 4000.0], [-500.0, 400.0, 3500.0]])
    win = window_camera(cam, 0.25, 300.0, 200.0, 90, 120)
    np.testing.assert_allclose(win.project(pts), 0.25 * (cam.project(pts) - [300.0, 200.0]), atol=1e-9)


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="num_samples"):
        SynthMocapStream((64, 64), 0)
    with pytest.raises(ValueError, match="patch_size"):
        SynthMocapStream((64,), 5)
    with pytest.raises(ValueError, match="split"):
        SynthMocapStream((64, 64), 5, split="val")

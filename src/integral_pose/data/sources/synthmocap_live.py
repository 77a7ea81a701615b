"""Unlimited SynthMocap: training samples rendered on the fly, inside the data loader workers.

:class:`SynthMocapStream` is a map-style dataset whose item ``(index, epoch)`` is a new scene — a clip frame of the
training clips (:func:`~integral_pose.data.sources.synthmocap.split_clips_and_cameras`), a body shape, a training
camera, a placement, optional mirroring, camera pitch and limb-length jitter (:class:`PoseVariety`) — drawn from a
generator seeded by ``(seed, epoch, index)`` only. Its output therefore does not depend on the number of loader
workers or on the order in which they ask, and a resumed run sees the same samples as an uninterrupted one.

Rendering happens straight at the training resolution: the crop affine of the sample (box, scale, rotation,
flip) is computed first in the camera's native pixels, and only the window of the native image that the patch
covers is rendered, through a camera whose intrinsics are scaled to patch pixels and shifted to the window
(distortion acts on normalised coordinates, so the window camera's projection is exactly the native projection
scaled and shifted). The window is then warped into the patch with the same affine, so labels and pixels agree to
interpolation accuracy. Items have the keys and meaning of :class:`~integral_pose.data.dataset.PoseDataset`
items (image px are the native camera's), so streams mix with record-backed datasets.

The test split is never streamed: held-out clips and the held-out camera stay in the fixed files written by
:func:`~integral_pose.data.sources.synthmocap.generate_synthmocap`.

Example:
    >>> ds = SynthMocapStream((64, 64), num_samples=1000, seed=0)
    >>> item = ds[(5, 0)]
    >>> tuple(item["image"].shape), tuple(item["target"].shape)
    ((3, 64, 64), (18, 3))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from integral_pose.conventions import DEFAULT_RECT_3D_MM
from integral_pose.data.augment import IDENTITY, AugmentConfig, AugmentParams, sample_augment, sample_rng
from integral_pose.data.codec import IMAGENET_MEAN, IMAGENET_STD, crop_transform, normalize_patch, warp_patch
from integral_pose.data.dataset import sample_item, split_key
from integral_pose.data.sources.synthmocap import _Worker, split_clips_and_cameras
from integral_pose.geometry.affine import apply_affine
from integral_pose.geometry.camera import Camera
from integral_pose.skeletons import H36M_18
from integral_pose.synth.render import PoseVariety, RayGrid, body_primitives, render_body, sample_scene

__all__ = ["STREAM_CODE", "SynthMocapStream", "window_camera"]

STREAM_CODE = 2
"""Stream-specific word of the scene seed (the fixed files use 0 = train and 1 = test)."""
BOX_ENLARGE = 1.25
WINDOW_MARGIN = 2.0  # native-image px (at patch scale) around the patch footprint


def window_camera(camera: Camera, k: float, x0: float, y0: float, width: int, height: int) -> Camera:
    """The camera whose image is the native window ``[x0, x0 + width/k) × [y0, …)`` resampled ×``k``.

    A point projecting to native pixel ``u`` projects to ``k·u − k·(x0, y0)`` in the window image.
    """
    return Camera(
        f=camera.f * k,
        c=camera.c * k - k * np.array([x0, y0]),
        k=camera.k,
        p=camera.p,
        R=camera.R,
        T=camera.T,
        camera_id=camera.camera_id,
        resolution=(int(width), int(height)),
        name=camera.name,
    )


class SynthMocapStream:
    """On-the-fly SynthMocap training samples (see the module docstring).

    Args:
        patch_size: (patch_w, patch_h) network input px.
        num_samples: the dataset's length (samples per pass; every ``(index, epoch)`` is a new scene).
        seed: base seed of scenes and augmentation.
        augment: augmentation distribution (scale, rotation, flip, colour), or ``None``.
        mean, std: RGB input normalisation (0..255 scale).
        rect_3d_mm: depth normaliser of the targets (mm).
        variety: pose/viewpoint variety; ``PoseVariety()`` by default.
        split: the clips and cameras to draw from (``"train"``; ``"test"`` only for diagnostics).
        assets: the assets folder (the package's own when ``None``).
    """

    def __init__(
        self,
        patch_size: Sequence[int],
        num_samples: int,
        *,
        seed: int = 0,
        augment: AugmentConfig | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        rect_3d_mm: float = DEFAULT_RECT_3D_MM,
        variety: PoseVariety | None = None,
        split: str = "train",
        assets: str | Path | None = None,
    ) -> None:
        if len(patch_size) != 2 or any(int(v) != v or v <= 0 for v in patch_size):
            raise ValueError(f"patch_size: expected (width, height) positive integers, got {tuple(patch_size)}")
        if isinstance(num_samples, bool) or int(num_samples) != num_samples or num_samples < 1:
            raise ValueError(f"num_samples: expected an integer >= 1, got {num_samples!r}")
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        if split not in ("train", "test"):
            raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
        if not rect_3d_mm > 0:
            raise ValueError(f"rect_3d_mm: expected > 0, got {rect_3d_mm}")
        self.patch_size = (int(patch_size[0]), int(patch_size[1]))
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.augment = augment
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.rect_3d_mm = float(rect_3d_mm)
        self.variety = variety if variety is not None else PoseVariety()
        self.split = split
        self.assets = Path(assets) if assets is not None else None
        self.skeleton = H36M_18
        self.root = H36M_18.root
        self.flip_perm = H36M_18.flip_permutation
        self.has_3d = True
        self.epoch = 0
        self._state: Any = None  # per-process clips, cameras and photos (built on first use in each worker)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch of plain integer keys."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_state"] = None  # workers rebuild their own
        return state

    def _assets(self) -> Any:
        if self._state is None:
            worker = _Worker(Path("."), None, self.seed, self.assets)
            worker.setup()
            self._state = worker
        return self._state

    def augment_params(self, index: int, epoch: int) -> AugmentParams:
        """The augmentation of sample ``index`` at ``epoch`` (identity without ``augment``)."""
        if self.augment is None:
            return IDENTITY
        return sample_augment(sample_rng(self.seed, epoch, index), self.augment)

    def render(self, index: int, epoch: int) -> dict[str, Any]:
        """Render sample ``(index, epoch)``: the patch (BGR uint8) and its labels in native camera px / mm.

        Returns:
            ``{"patch", "joints_2d", "joints_3d_cam", "box", "affine", "inv_affine", "params", "camera",
            "action", "image_size"}``.
        """

        worker = self._assets()
        clip_names, cam_ids = split_clips_and_cameras(self.split)
        clips = [worker.clips[n] for n in clip_names]
        cams = [(key, c) for key, c in worker.cameras if c.camera_id in cam_ids]
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, STREAM_CODE, int(epoch), int(index)]))
        scene = sample_scene(rng, clips, cams, None, variety=self.variety)
        cam, (w_img, h_img) = scene.camera, scene.size
        j3 = scene.points_cam[:18]
        uv = cam.project(j3)
        lo, hi = uv.min(0), uv.max(0)
        centre, extent = 0.5 * (lo + hi), np.maximum(hi - lo, 1.0) * BOX_ENLARGE
        box = np.array([*(centre - 0.5 * extent), *extent])
        params = self.augment_params(index, epoch)
        affine, inv = crop_transform(box, self.patch_size, float(w_img), params.scale, params.rot_deg, params.flip)
        pw, ph = self.patch_size
        k = float(np.hypot(affine[0, 0], affine[1, 0]))  # patch px per native px
        m = WINDOW_MARGIN
        corners = apply_affine(np.array([[-m, -m], [pw - 1 + m, -m], [-m, ph - 1 + m], [pw - 1 + m, ph - 1 + m]]), inv)
        x0, y0 = corners.min(0)
        x1, y1 = corners.max(0)
        ww, wh = max(math.ceil((x1 - x0) * k) + 1, 2), max(math.ceil((y1 - y0) * k) + 1, 2)
        wcam = window_camera(cam, k, x0, y0, ww, wh)
        # native px → window px: u_w = k·u − k·(x0, y0); so patch = affine ∘ (window → native)
        to_native = np.array([[1.0 / k, 0.0, x0], [0.0, 1.0 / k, y0], [0.0, 0.0, 1.0]])
        warp = np.vstack([affine, [0.0, 0.0, 1.0]]) @ to_native
        background = worker.background.sample(rng, ww, wh)
        prims = body_primitives(scene.points_cam, scene.style, scene.body.scale)
        image = render_body(background, wcam, prims, scene.style, RayGrid(wcam, ww, wh, margin=RayGrid.STEP))
        patch = warp_patch(image, warp[:2], self.patch_size)
        return {
            "patch": patch,
            "joints_2d": uv,
            "joints_3d_cam": j3,
            "box": box,
            "affine": affine,
            "inv_affine": inv,
            "params": params,
            "camera": cam,
            "action": scene.clip.name,
            "image_size": (w_img, h_img),
        }

    def __getitem__(self, key: Any) -> dict[str, Any]:
        index, epoch = split_key(key)
        if not -self.num_samples <= index < self.num_samples:
            raise IndexError(f"index {index} out of range for a stream of {self.num_samples} samples")
        index %= self.num_samples
        ep = self.epoch if epoch is None else epoch
        r = self.render(index, ep)
        x = normalize_patch(r["patch"], self.mean, self.std, r["params"].color_gain)
        cam = r["camera"]
        return sample_item(
            x,
            index=index,
            box=r["box"],
            joints_2d=r["joints_2d"],
            joints_vis=np.ones(len(r["joints_2d"]), dtype=np.float32),
            joints_3d_cam=r["joints_3d_cam"],
            cam_f=cam.f,
            cam_c=cam.c,
            affine=r["affine"],
            inv_affine=r["inv_affine"],
            params=r["params"],
            patch_size=self.patch_size,
            depth_norm_mm=self.rect_3d_mm,
            flip_perm=self.flip_perm,
            root=self.root,
        )

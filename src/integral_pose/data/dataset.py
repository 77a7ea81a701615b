"""``PoseDataset``: canonical records → network samples (crop tensor, normalised target, weights, eval fields).

Each item is a dict of tensors (the same keys for every source, so mixed batches collate):

===============  ==============  ================================================================
key              shape / dtype   meaning
===============  ==============  ================================================================
image            (3, H, W) f32   normalised RGB crop (patch_h × patch_w)
target           (J, 3) f32      normalised (x_n, y_n, z_n) (:func:`integral_pose.data.codec.encode`)
target_weight    (J, 3) f32      per-coordinate weights (z 0 where 3D is unknown)
index            () int64        record index in this dataset
source           () int64        dataset number inside a :class:`ConcatPoseDataset` (0 otherwise)
affine           (2, 3) f64      original image px → patch px (flip folded in)
inv_affine       (2, 3) f64      patch px → original image px
scale            () f32          scale augmentation s (1 at test)
depth_norm_mm    () f32          depth normaliser: ``z_rel_mm = z_n · depth_norm_mm · s`` (rect_3d_mm by default)
flip             () bool         whether the sample was mirrored
box              (4,) f32        record box x, y, w, h px
joints_2d        (J, 2) f32      record joints, image px (unflipped)
joints_vis       (J,) f32        record joint validity
joints_3d_cam    (J, 3) f32      record camera-frame joints mm (NaN = unknown)
root_depth_mm    () f32          camera depth of the root joint mm (NaN = unknown)
cam_f, cam_c     (2,) f32        focal length / principal point px (0 = unknown)
replaced         () bool         the record's image was unreadable and the next one was used (``on_bad_image``)
===============  ==============  ================================================================

Augmentation parameters come from :func:`integral_pose.data.augment.sample_rng` ``(seed, epoch, index)``. The
epoch is either set with :meth:`PoseDataset.set_epoch` or passed with the key: ``dataset[(index, epoch)]``
(what :class:`integral_pose.data.sampling.MixedSampler` yields, so persistent workers stay in step).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from integral_pose.conventions import DEFAULT_RECT_3D_MM
from integral_pose.data.augment import IDENTITY, AugmentConfig, AugmentParams, sample_augment, sample_rng
from integral_pose.data.codec import IMAGENET_MEAN, IMAGENET_STD, crop_transform, encode, normalize_patch, warp_patch
from integral_pose.data.io import ImageReadError, adjust_affine_for_reduction, choose_reduction, read_image_bgr
from integral_pose.data.records import PoseRecords
from integral_pose.data.sources.h36m_challenge import pixels_per_mm
from integral_pose.skeletons import get_skeleton

__all__ = ["ConcatPoseDataset", "PoseDataset", "check_decoded_size", "sample_item", "split_key"]

_MAX_REPLACEMENTS = 10


def torch_bool(value: bool) -> Any:
    """A 0-d bool tensor."""

    return torch.tensor(bool(value))


def check_decoded_size(image: np.ndarray, image_size: Any, reduction: int, path: Any) -> None:
    """Raise :class:`ImageReadError` unless a decoded image has the records' size.

    Args:
        image: the decoded (H, W, 3) image.
        image_size: the records' (W, H) in px at full resolution (a non-positive entry means unknown: no check).
        reduction: the decode factor (1, 2, 4, 8); a reduced image has ``ceil(W / r)`` × ``ceil(H / r)`` px
            (one px of slack either way for the decoder's rounding).
        path: the image file, for the error.
    """
    w, h = (int(v) for v in np.asarray(image_size).reshape(-1)[:2])
    if w <= 0 or h <= 0:
        return
    got_h, got_w = int(image.shape[0]), int(image.shape[1])
    exp_w, exp_h = -(-w // reduction), -(-h // reduction)
    if abs(got_w - exp_w) > (reduction > 1) or abs(got_h - exp_h) > (reduction > 1):
        at = f" at 1/{reduction} resolution" if reduction > 1 else ""
        raise ImageReadError(
            path,
            f"decoded size {got_w}x{got_h} px{at} differs from the records' image_size {w}x{h} "
            f"(expected {exp_w}x{exp_h})",
        )


def split_key(key: Any) -> tuple[int, int | None]:
    """``index`` or ``(index, epoch)`` → ``(index, epoch or None)``."""
    if isinstance(key, (tuple, list)):
        if len(key) != 2:
            raise TypeError(f"dataset key: expected an int or (index, epoch), got {key!r}")
        return int(key[0]), int(key[1])
    if isinstance(key, (int, np.integer)):
        return int(key), None
    if hasattr(key, "item"):
        return int(key.item()), None
    raise TypeError(f"dataset key: expected an int or (index, epoch), got {type(key).__name__}")


class PoseDataset:
    """Map-style dataset over a :class:`PoseRecords` table (usable with ``torch.utils.data.DataLoader``).

    Args:
        records: the table.
        patch_size: (patch_w, patch_h) network input px.
        rect_3d_mm: depth normaliser of the targets (mm).
        mean, std: RGB input normalisation (0..255 scale).
        augment: augmentation distribution, or ``None`` for test-time crops (s = 1, no rotation/flip/colour).
        seed: base seed of the augmentation draws.
        reduced_decode: decode JPEGs at 1/2, 1/4 or 1/8 resolution when the box is large enough that the patch
            still gets at least one source pixel per patch pixel (affine adjusted exactly).
        root: root joint index for depth (default: the skeleton's root).
        depth_mode: ``"rect3d"`` — ``z_n = z_rel_mm / (rect_3d_mm · s)`` (DESIGN §3); ``"box"`` — the original's
            challenge labels ("depth in image"): ``z_n = z_rel_mm · k / (box_w · s)`` with k the px/mm factor of
            the sample's 2D/3D similarity (:func:`integral_pose.data.sources.h36m_challenge.pixels_per_mm`) and
            ``box_w`` the aspect-extended box width. Items carry the per-sample normaliser as ``depth_norm_mm``.
        on_bad_image: ``"raise"`` (evaluation: a missing/corrupt image raises :class:`ImageReadError` naming the
            file) or ``"replace"`` (training: the next readable sample is returned with ``replaced=True`` so the
            trainer can count skips; up to 10 tries, then the first error is raised).
        box_aspect: ``"extend"`` (grow boxes to the patch aspect) or ``"keep"`` (map the box's w and h onto the
            patch: the original's Human3.6M crop; :func:`~integral_pose.data.codec.crop_transform`).
    """

    def __init__(
        self,
        records: PoseRecords,
        patch_size: Sequence[int],
        rect_3d_mm: float = DEFAULT_RECT_3D_MM,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        reduced_decode: bool = False,
        root: int | None = None,
        depth_mode: str = "rect3d",
        on_bad_image: str = "raise",
        box_aspect: str = "extend",
    ) -> None:
        if not isinstance(records, PoseRecords):
            raise TypeError(f"records: expected PoseRecords, got {type(records).__name__}")
        if len(records) == 0:
            raise ValueError(f"records: the split {records.header.dataset}/{records.header.split} is empty (0 samples)")
        if len(patch_size) != 2 or any(int(v) != v or v <= 0 for v in patch_size):
            raise ValueError(f"patch_size: expected (width, height) positive integers, got {tuple(patch_size)}")
        if not rect_3d_mm > 0:
            raise ValueError(f"rect_3d_mm: expected > 0, got {rect_3d_mm}")
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        self.records = records
        self.patch_size = (int(patch_size[0]), int(patch_size[1]))
        self.rect_3d_mm = float(rect_3d_mm)
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.augment = augment
        self.seed = int(seed)
        self.reduced_decode = bool(reduced_decode)
        self.skeleton = get_skeleton(records.header.joint_set)
        self.root = self.skeleton.root if root is None else int(root)
        self.flip_perm = self.skeleton.flip_permutation
        self.has_3d = bool(records.header.has_3d)
        if depth_mode not in ("rect3d", "box"):
            raise ValueError(f"depth_mode: expected 'rect3d' or 'box', got {depth_mode!r}")
        self.depth_mode = depth_mode
        if on_bad_image not in ("raise", "replace"):
            raise ValueError(f"on_bad_image: expected 'raise' or 'replace', got {on_bad_image!r}")
        self.on_bad_image = on_bad_image
        if box_aspect not in ("extend", "keep"):
            raise ValueError(f"box_aspect: expected 'extend' or 'keep', got {box_aspect!r}")
        self.box_aspect = box_aspect
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch used for augmentation draws of plain integer keys."""
        if int(epoch) != epoch or epoch < 0:
            raise ValueError(f"epoch: expected a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def augment_params(self, index: int, epoch: int | None = None) -> AugmentParams:
        """The augmentation of sample ``index`` at ``epoch`` (identity when ``augment`` is ``None``)."""
        if self.augment is None:
            return IDENTITY
        ep = self.epoch if epoch is None else epoch
        return sample_augment(sample_rng(self.seed, ep, index), self.augment)

    def __getitem__(self, key: Any) -> dict[str, Any]:
        index, epoch = split_key(key)
        n = len(self.records)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} samples")
        index %= n
        if self.on_bad_image == "raise":
            return self._load(index, epoch)
        first_error: ImageReadError | None = None
        for k in range(min(n, _MAX_REPLACEMENTS + 1)):
            try:
                item = self._load((index + k) % n, epoch)
            except ImageReadError as exc:
                first_error = first_error or exc
                continue
            item["replaced"] = torch_bool(k > 0)
            return item
        assert first_error is not None
        raise first_error

    def decode_reduction(self, index: int) -> int:
        """The JPEG decode factor (1, 2, 4 or 8) sample ``index`` is read at: always 1 without ``reduced_decode``;
        with it, the largest factor that keeps one source px per patch px at the smallest augmentation scale."""
        if not self.reduced_decode:
            return 1
        rec = self.records
        box_side = max(float(rec.box[index, 2]) / self.patch_size[0], float(rec.box[index, 3]) / self.patch_size[1])
        min_s = self.augment.min_scale if self.augment is not None else 1.0
        return choose_reduction(box_side, 1.0, min_scale=min_s)

    def _load(self, index: int, epoch: int | None) -> dict[str, Any]:
        params = self.augment_params(index, epoch)
        rec = self.records
        w_img = float(rec.image_size[index, 0])
        affine, inv = crop_transform(rec.box[index], self.patch_size, w_img, params.scale, params.rot_deg, params.flip,
                                     keep_aspect=self.box_aspect == "keep")  # fmt: skip
        reduction = self.decode_reduction(index)
        image = read_image_bgr(rec.image_file(index), reduction=reduction)
        check_decoded_size(image, rec.image_size[index], reduction, rec.image_file(index))
        warp = adjust_affine_for_reduction(affine, reduction) if reduction > 1 else affine
        patch = warp_patch(image, warp, self.patch_size)
        x = normalize_patch(patch, self.mean, self.std, params.color_gain)
        j3 = rec.joints_3d_cam[index] if self.has_3d else None
        depth_norm = self.rect_3d_mm
        if self.depth_mode == "box" and j3 is not None and np.isfinite(j3).all():
            ext_w = max(float(rec.box[index, 2]), float(rec.box[index, 3]) * self.patch_size[0] / self.patch_size[1])
            depth_norm = ext_w / pixels_per_mm(rec.joints_2d[index], j3, rec.joints_vis[index])
        return sample_item(
            x,
            index=index,
            box=rec.box[index],
            joints_2d=rec.joints_2d[index],
            joints_vis=rec.joints_vis[index],
            joints_3d_cam=rec.joints_3d_cam[index],
            cam_f=rec.cam_f[index],
            cam_c=rec.cam_c[index],
            affine=affine,
            inv_affine=inv,
            params=params,
            patch_size=self.patch_size,
            depth_norm_mm=depth_norm,
            flip_perm=self.flip_perm,
            root=self.root,
            has_3d=self.has_3d,
        )


def sample_item(
    image: np.ndarray,
    *,
    index: int,
    box: np.ndarray,
    joints_2d: np.ndarray,
    joints_vis: np.ndarray,
    joints_3d_cam: np.ndarray,
    cam_f: np.ndarray,
    cam_c: np.ndarray,
    affine: np.ndarray,
    inv_affine: np.ndarray,
    params: AugmentParams,
    patch_size: tuple[int, int],
    depth_norm_mm: float,
    flip_perm: Sequence[int] | np.ndarray,
    root: int,
    has_3d: bool = True,
) -> dict[str, Any]:
    """One network sample (the dict of the module docstring) from a normalised crop and its record fields.

    The one place that turns a crop and a record's labels into targets (:func:`integral_pose.data.codec.encode`),
    shared by :class:`PoseDataset` (records on disk) and the on-the-fly SynthMocap stream.

    Args:
        image: (3, patch_h, patch_w) float32 normalised crop.
        index: the sample's index in its dataset.
        box: (4,) record box x, y, w, h px. joints_2d: (J, 2) image px. joints_vis: (J,).
        joints_3d_cam: (J, 3) camera-frame mm (NaN = unknown). cam_f, cam_c: (2,) px (0 = unknown).
        affine, inv_affine: (2, 3) original image px ↔ patch px (flip folded in).
        params: the augmentation drawn for the sample. patch_size: (patch_w, patch_h).
        depth_norm_mm: depth normaliser of the target (mm). flip_perm: (J,) left/right permutation.
        root: root joint index. has_3d: whether the source has 3D labels.
    """

    j3 = joints_3d_cam if has_3d else None
    target, weight = encode(
        joints_2d, joints_vis, j3, affine, patch_size, depth_norm_mm, params.scale,
        flip_perm if params.flip else None, root,
    )  # fmt: skip
    return {
        "image": torch.from_numpy(image),
        "target": torch.from_numpy(target),
        "target_weight": torch.from_numpy(weight),
        "index": torch.tensor(index, dtype=torch.int64),
        "source": torch.tensor(0, dtype=torch.int64),
        "affine": torch.from_numpy(affine),
        "inv_affine": torch.from_numpy(inv_affine),
        "scale": torch.tensor(params.scale, dtype=torch.float32),
        "depth_norm_mm": torch.tensor(depth_norm_mm, dtype=torch.float32),
        "flip": torch.tensor(params.flip),
        "box": torch.from_numpy(np.asarray(box, dtype=np.float32)),
        "joints_2d": torch.from_numpy(np.asarray(joints_2d, dtype=np.float32)),
        "joints_vis": torch.from_numpy(np.asarray(joints_vis, dtype=np.float32)),
        "joints_3d_cam": torch.from_numpy(np.asarray(joints_3d_cam, dtype=np.float32)),
        "root_depth_mm": torch.tensor(float(joints_3d_cam[root, 2]), dtype=torch.float32),
        "cam_f": torch.from_numpy(np.asarray(cam_f, dtype=np.float32)),
        "cam_c": torch.from_numpy(np.asarray(cam_c, dtype=np.float32)),
        "replaced": torch.tensor(False),
    }


class ConcatPoseDataset:
    """Several :class:`PoseDataset` end to end (global index = offset + local index), for mixed training.

    All parts must share the joint set and patch size. Items carry ``source`` = the part number. A part may also
    be any dataset with the same item keys and the attributes ``skeleton``, ``patch_size`` and ``set_epoch``
    (the on-the-fly :class:`~integral_pose.data.sources.synthmocap_live.SynthMocapStream`).
    """

    def __init__(self, datasets: Sequence[Any]) -> None:
        if not datasets:
            raise ValueError("datasets: expected at least one PoseDataset, got none")
        first = datasets[0]
        for i, d in enumerate(datasets):
            if not all(hasattr(d, a) for a in ("skeleton", "patch_size", "set_epoch", "__getitem__", "__len__")):
                raise TypeError(f"datasets[{i}]: expected PoseDataset, got {type(d).__name__}")
            if d.skeleton.name != first.skeleton.name:
                raise ValueError(
                    f"datasets[{i}]: joint set {d.skeleton.name!r} differs from datasets[0] {first.skeleton.name!r}"
                )
            if d.patch_size != first.patch_size:
                raise ValueError(f"datasets[{i}]: patch_size {d.patch_size} differs from {first.patch_size}")
        self.datasets = list(datasets)
        self.sizes = [len(d) for d in self.datasets]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def set_epoch(self, epoch: int) -> None:
        """Forward :meth:`PoseDataset.set_epoch` to every part."""
        for d in self.datasets:
            d.set_epoch(epoch)

    def locate(self, index: int) -> tuple[int, int]:
        """Global index → (part, local index)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        part = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return part, int(index - self.offsets[part])

    def __getitem__(self, key: Any) -> dict[str, Any]:

        index, epoch = split_key(key)
        part, local = self.locate(index)
        item = self.datasets[part][(local, epoch) if epoch is not None else local]
        item["source"] = torch.tensor(part, dtype=torch.int64)
        return item

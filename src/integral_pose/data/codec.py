"""The codec: image crop, input normalisation, training targets and their exact inverse (DESIGN §3).

Everything about coordinates between an image and the network lives here and is tested as round trips.

* **Crop** — :func:`crop_transform` builds one 2×3 affine from *original image px* to *patch px*. The box is
  first grown to the patch aspect ratio; a flip is folded into the same matrix (image x → W − 1 − x, which moves
  the box centre and the joints alike), so ``cv2.warpAffine`` of the unflipped image with it equals the original
  system's "flip the image, then warp". Left/right joint identities are swapped by the skeleton's
  ``flip_permutation`` in :func:`encode`.
* **Input** — :func:`normalize_patch`: BGR → RGB, per-channel colour gain, clip to 0..255, ``(x − mean) / std``,
  CHW float32.
* **Targets** — :func:`encode`: ``x_n = u_patch / patch_w − 0.5``, ``y_n = v_patch / patch_h − 0.5``,
  ``z_n = (Z_j − Z_root) / (rect_3d_mm · s)`` (root-relative camera depth in mm); weights (J, 3) are the joint
  visibility, with the z weight 0 where the 3D joint or root is unknown.
* **Decode** — :func:`decode`: normalised predictions (N, J, 3) → image px (N, J, 2) through the inverse crop
  affine, and root-relative depth mm (N, J) = ``z_n · rect_3d_mm · s``.
* **The codec object** — :class:`PoseCodec` carries all of these conventions' parameters (patch and heat-map size,
  depth bins, depth normalisation and its constant, joints, flip pairs, root, mean/std); it is built from a config
  by :func:`codec_from_config` only, saved in every checkpoint (``"codec"``) and in the ONNX contract, and is what
  inference, evaluation and export decode with. :meth:`PoseCodec.root_relative_mm` turns predictions into metric
  root-relative 3D without ground truth: ``rect3d`` models by the weak perspective of the ``rect_3d_mm`` crop,
  ``box`` models by the original challenge system's bone-length rescale (docs/conventions.md).

Example:
    >>> import numpy as np
    >>> A, Ainv = crop_transform([10.0, 20.0, 100.0, 100.0], (64, 64), image_width=200)
    >>> apply_affine(np.array([[60.0, 70.0]]), A).round(6).tolist()  # box centre -> patch centre
    [[32.0, 32.0]]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from integral_pose.config.io import config_from_dict
from integral_pose.conventions import DEFAULT_RECT_3D_MM, MEAN_SKELETON_LENGTH_MM
from integral_pose.geometry.affine import apply_affine, crop_affine, extend_box_to_aspect, invert_affine
from integral_pose.skeletons import flip_permutation, get_skeleton

if TYPE_CHECKING:
    from integral_pose.config.schema import Config

__all__ = [
    "DEPTH_NORMS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PoseCodec",
    "bone_rescale",
    "codec_from_checkpoint",
    "codec_from_config",
    "crop_image",
    "crop_transform",
    "decode",
    "encode",
    "flip_normalized",
    "normalize_patch",
    "normalized_to_patch",
    "patch_to_normalized",
    "warp_patch",
]

IMAGENET_MEAN = (123.675, 116.28, 103.53)
"""RGB mean (0..255) of the original system's input normalisation."""
IMAGENET_STD = (58.395, 57.12, 57.375)
"""RGB standard deviation (0..255) of the original system's input normalisation."""


def _patch_wh(patch_size: Sequence[int]) -> tuple[int, int]:
    if len(patch_size) != 2 or any(int(v) != v or v <= 0 for v in patch_size):
        raise ValueError(f"patch_size: expected (width, height) positive integers, got {tuple(patch_size)}")
    return int(patch_size[0]), int(patch_size[1])


def crop_transform(
    box_xywh: Sequence[float] | np.ndarray,
    patch_size: Sequence[int],
    image_width: float,
    scale: float = 1.0,
    rot_deg: float = 0.0,
    flip: bool = False,
    keep_aspect: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The image→patch affine of one sample and its inverse.

    Args:
        box_xywh: person box (x, y, w, h) in original image px (grown here to the patch aspect ratio unless
            ``keep_aspect``).
        patch_size: (patch_w, patch_h) px.
        image_width: width W of the original image in px (needed for the flip x → W − 1 − x).
        scale: scale augmentation s (crop covers the box × s).
        rot_deg: rotation augmentation in degrees.
        flip: mirror horizontally.
        keep_aspect: map the box's own w and h onto the patch (unequal x/y scales when the box does not have the
            patch aspect) — the original system's Human3.6M path, which passes the projected 2000 mm square's w and
            h straight into its crop affine.

    Returns:
        ``(affine, inverse)``, both (2, 3) float64: ``affine`` maps original image px to patch px (flip
        included), ``inverse`` maps patch px back to original image px.
    """
    pw, ph = _patch_wh(patch_size)
    box = np.asarray(box_xywh, dtype=np.float64)
    if not keep_aspect:
        box = extend_box_to_aspect(box, pw / ph)
    center = box[:2] + 0.5 * box[2:]
    if flip:
        center = np.array([image_width - 1.0 - center[0], center[1]])
    a = crop_affine(center, box[2:], (pw, ph), scale=scale, rot_deg=rot_deg)
    if flip:
        mirror = np.array([[-1.0, 0.0, image_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        a = a @ mirror
    return a, invert_affine(a)


def warp_patch(image: np.ndarray, affine: np.ndarray, patch_size: Sequence[int]) -> np.ndarray:
    """Warp ``image`` (H, W, C) into a ``patch_size`` patch with ``cv2.warpAffine`` (bilinear, constant-0 border)."""

    pw, ph = _patch_wh(patch_size)
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (2, 3):
        raise ValueError(f"affine: expected shape (2, 3), got {a.shape}")
    return cv2.warpAffine(image, a, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def crop_image(
    image: np.ndarray,
    box_xywh: Sequence[float] | np.ndarray,
    patch_size: Sequence[int],
    scale: float = 1.0,
    rot_deg: float = 0.0,
    flip: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop a person box out of an image (no records needed; used for user images and flip test).

    Args:
        image: (H, W, C) array (BGR uint8 as read by :func:`integral_pose.data.io.read_image_bgr`).
        box_xywh: box in image px. patch_size: (patch_w, patch_h). scale, rot_deg, flip: as :func:`crop_transform`.

    Returns:
        ``(patch (patch_h, patch_w, C), affine (2, 3) image→patch, inverse (2, 3) patch→image)``.
    """
    if image.ndim < 2:
        raise ValueError(f"image: expected an (H, W[, C]) array, got shape {image.shape}")
    a, inv = crop_transform(box_xywh, patch_size, image.shape[1], scale, rot_deg, flip)
    return warp_patch(image, a, patch_size), a, inv


def normalize_patch(
    patch_bgr: np.ndarray,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    color_gain: Sequence[float] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """BGR uint8 patch (H, W, 3) → normalised RGB float32 (3, H, W).

    ``x_c = (clip(rgb_c · gain_c, 0, 255) − mean_c) / std_c`` with ``mean``, ``std`` and ``color_gain`` in RGB order.
    """
    if patch_bgr.ndim != 3 or patch_bgr.shape[2] != 3:
        raise ValueError(f"patch_bgr: expected shape (H, W, 3), got {patch_bgr.shape}")
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    g = np.asarray(color_gain, dtype=np.float32).reshape(3, 1, 1)
    if m.size != 3 or s.size != 3 or g.size != 3 or (s <= 0).any():
        raise ValueError(f"mean/std/color_gain: expected 3 values each (std > 0), got {mean}, {std}, {color_gain}")
    x = patch_bgr[:, :, ::-1].transpose(2, 0, 1).astype(np.float32)  # (3, H, W) RGB
    if not np.all(g == 1.0):
        x = np.clip(x * g, 0.0, 255.0)
    return np.ascontiguousarray((x - m) / s, dtype=np.float32)


def patch_to_normalized(uv_patch: Any, patch_size: Sequence[int]) -> Any:
    """Patch px (..., 2) → normalised (..., 2): ``u / patch_w − 0.5``, ``v / patch_h − 0.5`` (numpy or torch)."""
    pw, ph = _patch_wh(patch_size)
    out = uv_patch * 1.0
    out[..., 0] = uv_patch[..., 0] / pw - 0.5
    out[..., 1] = uv_patch[..., 1] / ph - 0.5
    return out


def normalized_to_patch(xy_norm: Any, patch_size: Sequence[int]) -> Any:
    """Normalised (..., 2) → patch px (..., 2): ``(x + 0.5) · patch_w``, ``(y + 0.5) · patch_h`` (numpy or torch)."""
    pw, ph = _patch_wh(patch_size)
    out = xy_norm[..., :2] * 1.0
    out[..., 0] = (xy_norm[..., 0] + 0.5) * pw
    out[..., 1] = (xy_norm[..., 1] + 0.5) * ph
    return out


def encode(
    joints_2d: np.ndarray,
    joints_vis: np.ndarray,
    joints_3d_cam: np.ndarray | None,
    affine: np.ndarray,
    patch_size: Sequence[int],
    rect_3d_mm: float = DEFAULT_RECT_3D_MM,
    scale: float = 1.0,
    flip_perm: np.ndarray | None = None,
    root: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Training target and weights of one sample.

    Args:
        joints_2d: (J, 2) joints in original image px.
        joints_vis: (J,) 0/1 validity.
        joints_3d_cam: (J, 3) camera-frame mm (NaN = unknown) or ``None`` (2D-only sample).
        affine: (2, 3) image→patch affine from :func:`crop_transform` (flip already folded in).
        patch_size: (patch_w, patch_h) px.
        rect_3d_mm: depth normaliser (the 3D box side, :data:`DEFAULT_RECT_3D_MM` by default).
        scale: the sample's scale augmentation s (depth labels are divided by it).
        flip_perm: (J,) left/right permutation when the sample is flipped, else ``None``.
        root: root joint index (depth is relative to it).

    Returns:
        ``target`` (J, 3) float32 normalised (x_n, y_n, z_n) and ``weight`` (J, 3) float32. Joints outside the
        patch keep their weight (as the original system does).
    """
    j2 = np.asarray(joints_2d, dtype=np.float64)
    if j2.ndim != 2 or j2.shape[1] != 2:
        raise ValueError(f"joints_2d: expected shape (J, 2), got {j2.shape}")
    n_j = j2.shape[0]
    vis = np.asarray(joints_vis, dtype=np.float32)
    if vis.shape != (n_j,):
        raise ValueError(f"joints_vis: expected shape ({n_j},), got {vis.shape}")
    if not (rect_3d_mm > 0 and scale > 0):
        raise ValueError(f"rect_3d_mm and scale must be > 0, got {rect_3d_mm} and {scale}")
    uv = apply_affine(j2, affine)
    target = np.zeros((n_j, 3), dtype=np.float64)
    target[:, :2] = patch_to_normalized(uv, patch_size)
    weight = np.repeat(vis[:, None], 3, axis=1)
    if joints_3d_cam is None:
        weight[:, 2] = 0.0
    else:
        j3 = np.asarray(joints_3d_cam, dtype=np.float64)
        if j3.shape != (n_j, 3):
            raise ValueError(f"joints_3d_cam: expected shape ({n_j}, 3), got {j3.shape}")
        z_rel = j3[:, 2] - j3[root, 2]
        ok = np.isfinite(z_rel)
        target[:, 2] = np.where(ok, z_rel, 0.0) / (rect_3d_mm * scale)
        weight[:, 2] *= ok
    if flip_perm is not None:
        perm = np.asarray(flip_perm, dtype=np.int64)
        if perm.shape != (n_j,):
            raise ValueError(f"flip_perm: expected shape ({n_j},), got {perm.shape}")
        target = target[perm]
        weight = weight[perm]
    return target.astype(np.float32), weight.astype(np.float32)


def decode(
    pred_norm: Any,
    inv_affine: Any,
    patch_size: Sequence[int],
    rect_3d_mm: Any = DEFAULT_RECT_3D_MM,
    scale: Any = None,
) -> tuple[Any, Any]:
    """Normalised predictions → image px and root-relative depth mm (numpy arrays or torch tensors).

    Args:
        pred_norm: (N, J, 3) normalised (x_n, y_n, z_n) (or (N, J, 2) for 2D models).
        inv_affine: (N, 2, 3) patch→image affines (``inverse`` of :func:`crop_transform`).
        patch_size: (patch_w, patch_h) px.
        rect_3d_mm: depth normaliser used in :func:`encode` (a number, or (N,) per sample, e.g. the dataset's
            ``depth_norm_mm``).
        scale: (N,) scale s of each sample, or ``None`` for 1 (test time).

    Returns:
        ``(uv (N, J, 2) image px, z_rel_mm (N, J))``; ``z_rel_mm`` is ``None`` for 2D input.
    """
    if pred_norm.ndim != 3 or pred_norm.shape[-1] not in (2, 3):
        raise ValueError(f"pred_norm: expected shape (N, J, 3), got {tuple(pred_norm.shape)}")
    n = pred_norm.shape[0]
    if tuple(inv_affine.shape) != (n, 2, 3):
        raise ValueError(f"inv_affine: expected shape ({n}, 2, 3), got {tuple(inv_affine.shape)}")
    uv_p = normalized_to_patch(pred_norm, patch_size)  # (N, J, 2) patch px
    a = inv_affine
    if hasattr(pred_norm, "detach"):  # torch: bring the affine to the prediction's dtype/device
        a = torch.as_tensor(inv_affine).to(device=pred_norm.device, dtype=pred_norm.dtype)
    else:
        a = np.asarray(inv_affine, dtype=np.float64)
        uv_p = uv_p.astype(np.float64)
    uv = uv_p @ a[:, :, :2].transpose(1, 2) if hasattr(a, "detach") else uv_p @ a[:, :, :2].transpose(0, 2, 1)
    uv = uv + a[:, None, :, 2]
    if pred_norm.shape[-1] == 2:
        return uv, None
    if np.ndim(rect_3d_mm) == 0:
        z = pred_norm[..., 2] * float(rect_3d_mm)
    else:  # per-sample depth normaliser (N,)
        d = torch.as_tensor(rect_3d_mm).to(uv) if hasattr(uv, "detach") else np.asarray(rect_3d_mm, np.float64)
        z = pred_norm[..., 2] * d.reshape(-1, 1)
    if scale is not None:
        s = torch.as_tensor(scale).to(z) if hasattr(z, "detach") else np.asarray(scale, dtype=np.float64)
        z = z * s.reshape(-1, 1)
    return uv, z


def flip_normalized(pred_norm: Any, flip_perm: Any, patch_width: int) -> Any:
    """Map predictions made on a horizontally flipped patch back to the unflipped patch (flip test).

    In patch px the original mirrors ``u → patch_w − 1 − u`` and swaps left/right joints; in normalised
    coordinates that is ``x_n → −x_n − 1/patch_w``. ``pred_norm`` is (N, J, 2|3), numpy or torch; y and z are kept.
    """
    out = pred_norm * 1.0
    out[..., 0] = -pred_norm[..., 0] - 1.0 / float(patch_width)
    return out[:, flip_perm]


# ------------------------------------------------------------------------------------------------ the codec object
DEPTH_NORMS = ("rect3d", "box")
"""Depth normalisations: ``rect3d`` — ``z_n = z_rel_mm / (rect_3d_mm · s)`` (the integral project); ``box`` —
``z_n = z_rel / (box_w · s)`` with ``box_w`` the (aspect-extended) box width in the same unit as ``z_rel``
(the challenge project's ``depth_in_image``)."""

_TWO_D_KINDS = ("mpii", "coco")


def bone_rescale(
    pose: np.ndarray, parents: Sequence[int], total_length_mm: float = MEAN_SKELETON_LENGTH_MM, root: int = 0
) -> np.ndarray:
    """Root-centre a pose and scale it so its total bone length equals ``total_length_mm``.

    The original challenge system's ``rescale_pose_from_patch_to_camera``: ``P' = P − P_root``,
    ``L = Σ_j ‖P'_j − P'_parent(j)‖`` over all non-root joints (17 bones for Human3.6M-18, thorax included),
    ``P_out = (total / L) · P'``. No intrinsics are used.

    Args:
        pose: (N, J, 3) joints (any consistent unit; patch px + depth in patch px in the original).
        parents: (J,) parent index per joint, ``-1`` (or itself) for the root.
        total_length_mm: target total bone length (:data:`~integral_pose.conventions.MEAN_SKELETON_LENGTH_MM`).
        root: root joint index.

    Returns:
        (N, J, 3) float64 root-centred, rescaled pose in mm.

    Raises:
        ValueError: wrong shapes, a non-positive target, or a pose with zero total bone length.
    """
    p = np.asarray(pose, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 3:
        raise ValueError(f"pose: expected shape (N, J, 3), got {p.shape}")
    par = np.asarray(parents, dtype=np.int64)
    if par.shape != (p.shape[1],):
        raise ValueError(f"parents: expected {p.shape[1]} entries, got {par.shape}")
    if not total_length_mm > 0:
        raise ValueError(f"total_length_mm: expected > 0, got {total_length_mm}")
    rel = p - p[:, root : root + 1]
    par = np.where(par < 0, np.arange(par.shape[0]), par)
    length = np.linalg.norm(rel - rel[:, par], axis=-1).sum(-1)  # (N,) the root's self-term is 0
    if (length <= 0).any():
        raise ValueError("bone_rescale: a pose has zero total bone length")
    return rel * (total_length_mm / length)[:, None, None]


@dataclass(frozen=True)
class PoseCodec:
    """All target conventions of one model, from training labels to decoded millimetres (DESIGN §2.2, §3).

    Attributes:
        patch_width, patch_height: network input crop (px).
        heatmap_width, heatmap_height: heat-map size W × H in cells (0 for direct regression).
        depth_bins: D, depth bins of the heat-map volume (0 for direct regression and 2D models).
        depth_norm: one of :data:`DEPTH_NORMS`.
        rect_3d_mm: depth normaliser of ``rect3d`` (mm); also the metric width of a crop at inference.
        joint_set: skeleton name (``"h36m18"`` …).
        parents: (J,) parent per joint, ``-1`` for the root (bone-length rescale).
        flip_pairs: (left, right) joint pairs swapped by a horizontal flip.
        root: root joint index (depth origin).
        mean, std: RGB input normalisation on 0..255 pixels.
        bone_length_mm: total bone length a ``box`` model's patch-space pose is rescaled to at inference.
    """

    patch_width: int
    patch_height: int
    heatmap_width: int
    heatmap_height: int
    depth_bins: int
    depth_norm: str
    rect_3d_mm: float
    joint_set: str
    parents: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    root: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    bone_length_mm: float = MEAN_SKELETON_LENGTH_MM

    def __post_init__(self) -> None:
        _patch_wh(self.patch_size)
        if self.depth_norm not in DEPTH_NORMS:
            raise ValueError(f"depth_norm: expected one of {DEPTH_NORMS}, got {self.depth_norm!r}")
        for name in ("rect_3d_mm", "bone_length_mm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected > 0 mm, got {getattr(self, name)!r}")
        if min(self.heatmap_width, self.heatmap_height, self.depth_bins) < 0:
            raise ValueError("heatmap_width, heatmap_height, depth_bins: expected >= 0")
        if not 0 <= self.root < len(self.parents):
            raise ValueError(f"root: expected an index into {len(self.parents)} joints, got {self.root}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean/std: expected 3 values each (std > 0), got {self.mean}, {self.std}")

    # -- properties
    @property
    def patch_size(self) -> tuple[int, int]:
        """(patch_w, patch_h) px."""
        return (self.patch_width, self.patch_height)

    @property
    def num_joints(self) -> int:
        """J."""
        return len(self.parents)

    @property
    def flip_permutation(self) -> np.ndarray:
        """(J,) permutation swapping left and right joints."""
        return flip_permutation(self.num_joints, self.flip_pairs)

    # -- encode / decode
    def _depth_normaliser(self, depth_norm_mm: Any) -> Any:
        if depth_norm_mm is not None:
            return depth_norm_mm
        if self.depth_norm == "box":
            raise ValueError(
                "depth_norm_mm: a 'box' codec needs the per-sample box width in mm (from ground truth); "
                "without ground truth use PoseCodec.root_relative_mm"
            )
        return self.rect_3d_mm

    def encode(
        self,
        joints_2d: np.ndarray,
        joints_vis: np.ndarray,
        joints_3d_cam: np.ndarray | None,
        affine: np.ndarray,
        scale: float = 1.0,
        flip: bool = False,
        depth_norm_mm: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training target (J, 3) and weights (J, 3) of one sample (:func:`encode` with this codec's constants).

        Args:
            joints_2d: (J, 2) image px. joints_vis: (J,) 0/1. joints_3d_cam: (J, 3) camera mm or ``None``.
            affine: (2, 3) image→patch affine (flip folded in). scale: scale augmentation s.
            flip: the sample is mirrored (left/right joints are swapped).
            depth_norm_mm: the sample's depth normaliser in mm; ``None`` = ``rect_3d_mm`` (required for ``box``).
        """
        perm = self.flip_permutation if flip else None
        d = float(self._depth_normaliser(depth_norm_mm))
        return encode(joints_2d, joints_vis, joints_3d_cam, affine, self.patch_size, d, scale, perm, self.root)

    def decode(self, pred_norm: Any, inv_affine: Any, depth_norm_mm: Any = None, scale: Any = None) -> tuple[Any, Any]:
        """Normalised (N, J, 2|3) → ``(uv (N, J, 2) image px, z_rel_mm (N, J) or None)`` (:func:`decode`).

        Args:
            pred_norm: (N, J, 3) normalised predictions (or (N, J, 2): image px only).
            inv_affine: (N, 2, 3) patch→image affines.
            depth_norm_mm: number or (N,) per-sample normaliser in mm; ``None`` = ``rect_3d_mm`` (required for
                ``box`` codecs with 3D input).
            scale: (N,) scale s per sample, ``None`` for 1.
        """
        if pred_norm.shape[-1] == 2:
            return decode(pred_norm, inv_affine, self.patch_size)
        return decode(pred_norm, inv_affine, self.patch_size, self._depth_normaliser(depth_norm_mm), scale)

    def patch_pose(self, pred_norm: Any) -> np.ndarray:
        """Normalised (N, J, 3) → patch-space pose (N, J, 3) float64: u, v px and depth ``z_n · patch_w`` px."""
        p = np.asarray(pred_norm, dtype=np.float64)
        if p.ndim != 3 or p.shape[-1] != 3:
            raise ValueError(f"pred_norm: expected shape (N, J, 3), got {p.shape}")
        return np.concatenate([normalized_to_patch(p, self.patch_size), p[..., 2:] * self.patch_width], axis=-1)

    def root_relative_mm(self, pred_norm: Any) -> np.ndarray:
        """Metric root-relative 3D (N, J, 3) float64 mm (camera axes) without ground truth.

        * ``rect3d``: the crop spans ``rect_3d_mm`` across its width at the person's depth (weak perspective):
          ``x = Δx_n · rect``, ``y = Δy_n · rect · patch_h / patch_w``, ``z = Δz_n · rect`` (Δ = minus the root).
        * ``box``: the original challenge system's convention — the patch-space pose (:meth:`patch_pose`) scaled
          so that its bone lengths sum to ``bone_length_mm`` (:func:`bone_rescale`).
        """
        p = np.asarray(pred_norm, dtype=np.float64)
        if p.ndim != 3 or p.shape[-1] != 3 or p.shape[1] != self.num_joints:
            raise ValueError(f"pred_norm: expected shape (N, {self.num_joints}, 3), got {p.shape}")
        if self.depth_norm == "box":
            return bone_rescale(self.patch_pose(p), self.parents, self.bone_length_mm, self.root)
        rel = (p - p[:, self.root : self.root + 1]) * self.rect_3d_mm
        rel[..., 1] *= self.patch_height / self.patch_width
        return rel

    # -- plain-data form (checkpoints, ONNX contract)
    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists for tuples): safe in a ``weights_only`` checkpoint and in JSON."""
        d = dataclasses.asdict(self)
        return {k: [list(v) for v in val] if k == "flip_pairs" else list(val) if isinstance(val, tuple) else val
                for k, val in d.items()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "codec") -> PoseCodec:
        """Inverse of :meth:`to_dict`; ``ValueError`` naming ``where`` and the missing/unknown keys."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if unknown or missing:
            raise ValueError(f"{where}: unknown keys {unknown}, missing keys {missing}")
        d = dict(data)
        for k in ("parents", "mean", "std"):
            if k in d:
                d[k] = tuple(d[k])
        d["flip_pairs"] = tuple((int(a), int(b)) for a, b in d["flip_pairs"])
        try:
            return cls(**d)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None


def _model_depth_norm(cfg: Config) -> str:
    """The depth normalisation the model is trained with: that of the 3D training datasets (else test, val)."""
    for where, specs in (("data.train", cfg.data.train), ("data.test", cfg.data.test), ("data.val", cfg.data.val)):
        modes = {s.depth_norm for s in specs if s.kind not in _TWO_D_KINDS}
        if len(modes) > 1:
            raise ValueError(f"{where}: the 3D datasets mix depth_norm values {sorted(modes)}; use one per model")
        if modes:
            return modes.pop()
    return "rect3d"


def codec_from_config(cfg: Config) -> PoseCodec:
    """The one mapping from a :class:`~integral_pose.config.schema.Config` to the model's :class:`PoseCodec`.

    Raises:
        ValueError: the 3D datasets of one split mix ``depth_norm`` values; an unknown joint set.
    """
    m, d = cfg.model, cfg.data
    skel = get_skeleton(m.joint_set)
    heat = m.arch != "direct"
    hh, hw = cfg.heatmap_size if heat else (0, 0)
    bone = cfg.eval.bone_length_rescale or MEAN_SKELETON_LENGTH_MM
    return PoseCodec(
        patch_width=d.patch_width,
        patch_height=d.patch_height,
        heatmap_width=hw,
        heatmap_height=hh,
        depth_bins=m.depth_bins if heat and m.output_3d else 0,
        depth_norm=_model_depth_norm(cfg),
        rect_3d_mm=float(d.rect_3d_mm),
        joint_set=skel.name,
        parents=tuple(skel.parents),
        flip_pairs=tuple((int(a), int(b)) for a, b in skel.flip_pairs),
        root=skel.root,
        mean=tuple(float(v) for v in d.mean),  # type: ignore[arg-type]
        std=tuple(float(v) for v in d.std),  # type: ignore[arg-type]
        bone_length_mm=float(bone),
    )


def codec_from_checkpoint(checkpoint: Mapping[str, Any], where: str = "checkpoint") -> PoseCodec:
    """The codec stored in a checkpoint dict (``"codec"``), or rebuilt from its config (older checkpoints).

    Raises:
        ValueError: a malformed stored codec or an invalid stored config (named by ``where``).
    """
    stored = checkpoint.get("codec")
    if stored is not None:
        return PoseCodec.from_dict(stored, where=f"{where}: codec")
    try:
        return codec_from_config(config_from_dict(checkpoint["config"]))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{where}: cannot rebuild the codec from the stored config: {exc}") from None

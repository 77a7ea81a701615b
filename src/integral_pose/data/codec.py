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

Example:
    >>> import numpy as np
    >>> A, Ainv = crop_transform([10.0, 20.0, 100.0, 100.0], (64, 64), image_width=200)
    >>> apply_affine(np.array([[60.0, 70.0]]), A).round(6).tolist()  # box centre -> patch centre
    [[32.0, 32.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from integral_pose.geometry.affine import apply_affine, crop_affine, extend_box_to_aspect, invert_affine

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
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
) -> tuple[np.ndarray, np.ndarray]:
    """The image→patch affine of one sample and its inverse.

    Args:
        box_xywh: person box (x, y, w, h) in original image px (grown here to the patch aspect ratio).
        patch_size: (patch_w, patch_h) px.
        image_width: width W of the original image in px (needed for the flip x → W − 1 − x).
        scale: scale augmentation s (crop covers the box × s).
        rot_deg: rotation augmentation in degrees.
        flip: mirror horizontally.

    Returns:
        ``(affine, inverse)``, both (2, 3) float64: ``affine`` maps original image px to patch px (flip
        included), ``inverse`` maps patch px back to original image px.
    """
    pw, ph = _patch_wh(patch_size)
    box = extend_box_to_aspect(np.asarray(box_xywh, dtype=np.float64), pw / ph)
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
    import cv2

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
        image: (H, W, C) array (BGR uint8 as read by :func:`integral_pose.data.io.read_image`).
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
    rect_3d_mm: float = 2000.0,
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
        rect_3d_mm: depth normaliser (the 3D box side, 2000 mm by default).
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
    rect_3d_mm: Any = 2000.0,
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
        import torch

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

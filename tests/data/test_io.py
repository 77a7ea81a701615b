"""Image reading: typed errors, truncated JPEGs, reduced decode with the affine adjusted; in-memory image checks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.data.codec import crop_transform, warp_patch
from integral_pose.data.io import (
    ImageReadError,
    MissingImageError,
    adjust_affine_for_reduction,
    check_image_u8,
    choose_reduction,
    read_image_bgr,
    reduced_to_full,
    write_image_atomic,
)


def _smooth_image(h: int = 400, w: int = 480) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([128 + 100 * np.sin(xx / 23.0), 128 + 100 * np.cos(yy / 31.0), (xx + yy) * 255 / (h + w)], -1)
    return img.astype(np.uint8)


def test_read_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(MissingImageError, match=r"nope\.jpg") as ei:
        read_image_bgr(tmp_path / "nope.jpg")
    assert isinstance(ei.value, FileNotFoundError) and ei.value.path.endswith("nope.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match=r"bad\.jpg"):
        read_image_bgr(bad)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image_bgr(empty)
    with pytest.raises(ValueError, match="reduction"):
        read_image_bgr(bad, reduction=3)


def test_truncated_jpeg(tmp_path: Path) -> None:
    ok, enc = cv2.imencode(".jpg", _smooth_image())
    assert ok
    p = tmp_path / "cut.jpg"
    p.write_bytes(enc.tobytes()[: enc.size // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image_bgr(p)
    full = tmp_path / "full.jpg"
    write_image_atomic(full, _smooth_image())
    assert read_image_bgr(full).shape == (400, 480, 3)


@pytest.mark.parametrize("r", [2, 4])
def test_reduced_decode_with_adjusted_affine_matches_full(tmp_path: Path, r: int) -> None:
    img = _smooth_image()
    p = tmp_path / "smooth.png"  # lossless: the reduced read is an area resize of exactly this image
    write_image_atomic(p, img)
    full = read_image_bgr(p)
    red = read_image_bgr(p, reduction=r)
    assert red.shape[:2] == (-(-400 // r), -(-480 // r))
    a, _ = crop_transform([100, 50, 300, 300], (64, 64), 480, 1.0, 10.0, False)
    ref = warp_patch(full, a, (64, 64)).astype(np.float64)
    got = warp_patch(red, adjust_affine_for_reduction(a, r), (64, 64)).astype(np.float64)
    inner = (slice(4, -4), slice(4, -4))
    assert np.abs(ref[inner] - got[inner]).mean() < 3.0  # smooth image: only the resampling blur differs
    # The map x_full = r * x_red + (r - 1) / 2 sends reduced pixel 0 to the centre of its full-res block.
    np.testing.assert_allclose(reduced_to_full(r) @ [0.0, 0.0, 1.0], [(r - 1) / 2] * 2)


def test_reduced_decode_jpeg(tmp_path: Path) -> None:
    p = tmp_path / "j.jpg"
    write_image_atomic(p, _smooth_image(), jpeg_quality=98)
    red = read_image_bgr(p, reduction=8)
    assert red.shape == (50, 60, 3)
    a, _ = crop_transform([0, 0, 480, 400], (48, 40), 480)
    ref = warp_patch(read_image_bgr(p), a, (48, 40)).astype(float)
    got = warp_patch(red, adjust_affine_for_reduction(a, 8), (48, 40)).astype(float)
    assert np.abs(ref - got)[2:-2, 2:-2].mean() < 6.0


def test_choose_reduction() -> None:
    assert choose_reduction(256, 256) == 1
    assert choose_reduction(600, 256) == 2
    assert choose_reduction(1100, 256) == 4
    assert choose_reduction(1100, 256, min_scale=0.75) == 2
    assert choose_reduction(5000, 64) == 8
    with pytest.raises(ValueError, match="box_size"):
        choose_reduction(0, 256)


def test_check_image_u8_returns_width_height() -> None:
    assert check_image_u8(np.zeros((7, 5, 3), np.uint8)) == (5, 7)
    assert check_image_u8(np.zeros((3, 9, 3), np.uint8)[:, ::2]) == (5, 3)  # a strided view passes


@pytest.mark.parametrize(
    ("image", "error", "pattern"),
    [
        ([[[0, 0, 0]]], TypeError, r"^left: expected a numpy array, got list$"),
        (np.zeros((4, 4, 3), np.float32), TypeError, r"^left: expected dtype uint8, got float32$"),
        (np.zeros((4, 4), np.uint8), ValueError, r"^left: expected shape \(H, W, 3\) .*got \(4, 4\)$"),
        (np.zeros((4, 4, 4), np.uint8), ValueError, r"^left: .*got \(4, 4, 4\)$"),
        (np.zeros((0, 4, 3), np.uint8), ValueError, r"^left: .*H, W > 0, got \(0, 4, 3\)$"),
    ],
)
def test_check_image_u8_errors_name_the_argument(image: object, error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        check_image_u8(image, "left")  # type: ignore[arg-type]

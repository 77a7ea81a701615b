"""Frame sources for inference: one image, a folder of images, a video file or a webcam, streamed.

A source spec is a string: a path to an image, a folder (searched recursively, files in sorted order of their
relative path), a video file, or ``webcam:N`` for camera ``N``. Frames are read one at a time, so memory stays
constant whatever the length of the source. Every frame is an RGB ``uint8`` array of shape (H, W, 3).

A source opened with ``skip_unreadable=True`` passes over what cannot be read — files of a folder that are corrupt,
truncated or not images, frames of a video file that fail to decode before the end the container states — and lists
them in :attr:`FrameSource.skipped`; without it the first such file or frame raises ``ValueError``. A single image is
always read strictly.

Example:
    >>> src = open_source("photos/")  # doctest: +SKIP
    >>> for frame in src:  # doctest: +SKIP
    ...     print(frame.name, frame.image.shape)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Frame",
    "FrameSource",
    "list_images",
    "open_source",
    "read_image",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})

# a video whose reads keep failing this many times in a row has ended, whatever frame count its container states
_MAX_CONSECUTIVE_BAD_FRAMES = 30


@dataclass(frozen=True)
class Frame:
    """One image of a source.

    Attributes:
        image: (H, W, 3) uint8 RGB pixels.
        name: a stable name for outputs: the relative path without extension for images in a folder, the file
            stem for a single image, ``<stem>_<index:06d>`` for video frames, ``webcam<N>_<index:06d>`` for a
            camera.
        index: position of the frame in the source, from 0.
        path: the file the frame came from (``None`` for a webcam).
    """

    image: np.ndarray
    name: str
    index: int
    path: Path | None


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB (EXIF orientation applied, alpha dropped, grey expanded).

    Raises:
        FileNotFoundError: ``path`` does not exist or is not a file.
        ValueError: the file exists but cannot be decoded as an image.
    """

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image: file not found: {str(p)!r}")
    data = np.fromfile(str(p), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None or bgr.size == 0:
        raise ValueError(f"image: cannot decode {str(p)!r} as an image (unreadable or not an image file)")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """All image files under ``folder`` (recursive), sorted by their path relative to ``folder``."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"folder: not a directory: {str(root)!r}")
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


class FrameSource:
    """An iterable of :class:`Frame` built from a source spec (see the module docstring).

    Attributes:
        spec: the spec as given.
        kind: ``"image"``, ``"folder"``, ``"video"`` or ``"webcam"``.
        length: number of frames when known in advance (``None`` for a webcam; the container's frame count,
            which may be approximate, for a video).
        fps: frames per second of a video or camera (``None`` for images).
        skip_unreadable: pass over unreadable files of a folder / undecodable frames of a video instead of raising.
        skipped: ``(what, reason)`` of everything passed over by the current iteration: a file path, or
            ``"<video> frame <i>"`` for a video frame (only a source opened with ``skip_unreadable=True`` adds to it).
    """

    def __init__(self, spec: str | os.PathLike[str], skip_unreadable: bool = False) -> None:
        if not isinstance(skip_unreadable, bool):
            raise TypeError(f"skip_unreadable: expected a bool, got {type(skip_unreadable).__name__}")
        self.spec = str(spec)
        self.skip_unreadable = skip_unreadable
        self.skipped: list[tuple[str, str]] = []
        self.fps: float | None = None
        self._files: list[Path] = []
        self._root: Path | None = None
        self._camera: int | None = None
        if self.spec.startswith("webcam:"):
            tail = self.spec[len("webcam:") :]
            if not tail.isdigit():
                raise ValueError(f"source: expected 'webcam:N' with N a camera index >= 0, got {self.spec!r}")
            self.kind = "webcam"
            self._camera = int(tail)
            self.length: int | None = None
            return
        path = Path(self.spec)
        if not path.exists():
            raise FileNotFoundError(f"source: no such file or folder: {self.spec!r}")
        if path.is_dir():
            self._files = list_images(path)
            if not self._files:
                raise ValueError(
                    f"source: folder {self.spec!r} contains no image files "
                    f"(looked recursively for {sorted(IMAGE_EXTENSIONS)})"
                )
            self.kind = "folder"
            self._root = path
            self.length = len(self._files)
        elif path.suffix.lower() in VIDEO_EXTENSIONS:
            self.kind = "video"
            self._files = [path]
            self.length, self.fps = _probe_video(path)
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            self.kind = "image"
            self._files = [path]
            self.length = 1
        else:
            raise ValueError(
                f"source: {self.spec!r} has extension {path.suffix!r}; expected an image "
                f"{sorted(IMAGE_EXTENSIONS)}, a video {sorted(VIDEO_EXTENSIONS)}, a folder or 'webcam:N'"
            )

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"source {self.spec!r} ({self.kind}) has no length known in advance")
        return self.length

    def __iter__(self) -> Iterator[Frame]:
        self.skipped = []
        if self.kind == "image":
            p = self._files[0]
            yield Frame(read_image(p), p.stem, 0, p)
        elif self.kind == "folder":
            assert self._root is not None
            for i, p in enumerate(self._files):
                name = p.relative_to(self._root).with_suffix("").as_posix()
                try:
                    image = read_image(p)
                except (ValueError, OSError) as exc:  # OSError: vanished or unreadable file (permissions, I/O)
                    if not self.skip_unreadable:
                        raise
                    self.skipped.append((str(p), str(exc)))
                    continue
                yield Frame(image, name, i, p)
        elif self.kind == "video":
            p = self._files[0]
            skipped = self.skipped if self.skip_unreadable else None
            yield from _iter_capture(p, f"video {self.spec!r}", p.stem, p, self.length, skipped)
        else:
            assert self._camera is not None
            yield from _iter_capture(self._camera, f"webcam {self._camera}", f"webcam{self._camera}", None, None, None)


def open_source(spec: str | os.PathLike[str], skip_unreadable: bool = False) -> FrameSource:
    """Open a source spec (image, folder, video file or ``webcam:N``); see :class:`FrameSource`.

    Args:
        spec: the source spec.
        skip_unreadable: for a folder, pass over unreadable files (listed in ``source.skipped``) instead of raising.
    """
    return FrameSource(spec, skip_unreadable)


def _probe_video(path: Path) -> tuple[int | None, float | None]:

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ValueError(f"source: cannot open video {str(path)!r} (unreadable or unsupported container/codec)")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise ValueError(f"source: video {str(path)!r} has no decodable frames")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    return (count if count > 0 else None), (fps if fps > 0 else None)


def _iter_capture(
    target: int | Path,
    what: str,
    stem: str,
    path: Path | None,
    stated_length: int | None,
    skipped: list[tuple[str, str]] | None,
) -> Iterator[Frame]:
    """Frames of a capture. A failed read before ``stated_length`` (a video's container frame count) is retried on
    the next frame, so one broken frame does not end the video; the broken frames are appended to ``skipped`` when
    a later frame decodes (or raise ``ValueError`` when ``skipped`` is ``None``). Failures with no decodable frame
    after them are the end of the stream. A frame keeps its position in the stream as its index and name."""

    cap = cv2.VideoCapture(target if isinstance(target, int) else str(target))
    try:
        if not cap.isOpened():
            raise ValueError(f"source: cannot open {what} (no such device, unreadable file or unsupported codec)")
        index, delivered = 0, 0
        failed: list[int] = []  # positions of the current run of failed reads
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                failed.append(index)
                index += 1
                if stated_length is None or index >= stated_length or len(failed) > _MAX_CONSECUTIVE_BAD_FRAMES:
                    break
                continue
            if failed:
                if skipped is None:
                    raise ValueError(
                        f"source: {what} frame {failed[0]} cannot be decoded (frames after it can); "
                        "pass over broken frames to go on"
                    )
                skipped.extend((f"{path if path is not None else what} frame {i}", "cannot decode") for i in failed)
                failed = []
            yield Frame(np.ascontiguousarray(bgr[:, :, ::-1]), f"{stem}_{index:06d}", index, path)
            index += 1
            delivered += 1
        if delivered == 0:
            raise ValueError(f"source: {what} delivered no frames")
    finally:
        cap.release()

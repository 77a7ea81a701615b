"""Cheap input checks that run before a model loads, so a wrong path or a file that is not an image fails in
milliseconds with one line naming it, not after the network has been built.

``ipr predict`` checks its ``--source`` (a single image must decode; a folder must hold at least one file that
starts like an image); ``ipr eval`` checks the records of the split it scores (each file readable, its image
folder present, its first image decodable). ``ipr config check`` uses the same helpers for every file a recipe
names, and the CLI's ``--checkpoint`` check (``cli/checkpoint_args.py``) uses :func:`readable_file`.

Example:
    >>> from pathlib import Path
    >>> readable_file(Path("no/such/model.pt"), "--checkpoint")
    Traceback (most recent call last):
        ...
    FileNotFoundError: --checkpoint: file not found: 'no/such/model.pt'
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from integral_pose.config.schema import Config
from integral_pose.data.records import RecordsHeader, peek_records

__all__ = [
    "RecordsInfo",
    "check_image_decodes",
    "check_records_inputs",
    "check_source",
    "peek_records_file",
    "readable_file",
]


def readable_file(path: Path, what: str) -> None:
    """Raise a one-line error when ``path`` is missing, a folder or not readable by this user."""
    if path.is_dir():
        raise IsADirectoryError(f"{what}: expected a file, got the folder {str(path)!r}")
    if not path.is_file():
        raise FileNotFoundError(f"{what}: file not found: {str(path)!r}")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{what}: file is not readable (permissions): {str(path)!r}")


def check_image_decodes(path: str | os.PathLike[str], what: str = "image") -> None:
    """The file decodes as an image (decoded at 1/8 size in grey, so a large photo costs a few milliseconds).

    Raises:
        FileNotFoundError / IsADirectoryError / PermissionError: missing, a folder, unreadable.
        ValueError: the file exists but is not a decodable image (e.g. a text file named ``.jpg``).
    """
    p = Path(path)
    readable_file(p, what)
    data = np.fromfile(p, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8) if data.size else None
    if image is None or image.size == 0:
        reason = "the file is empty" if data.size == 0 else "not a decodable image (corrupt, or not an image file)"
        raise ValueError(f"{what}: {str(p)!r}: {reason}")


def _named_as_image(path: Path) -> bool:
    """The file name says image (``image/*`` MIME type by extension)."""
    kind = mimetypes.guess_type(path.name)[0]
    return kind is not None and kind.startswith("image/")


def check_source(spec: str | os.PathLike[str], what: str = "--source") -> None:
    """Cheap checks of an ``ipr predict`` source before the model loads.

    A single image must decode; in a folder, at least one of the files named as images must start like an image
    OpenCV reads (the others are skipped later and listed). Videos and webcams are opened by
    :func:`~integral_pose.inference.sources.open_source` itself, which fails fast.

    Raises:
        FileNotFoundError / ValueError: one line naming ``what`` and the file or folder.
    """
    text = os.fspath(spec)
    if text.startswith("webcam:"):
        return
    p = Path(text)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and _named_as_image(f))
        if files and not any(cv2.haveImageReader(str(f)) for f in files):
            raise ValueError(
                f"{what}: none of the {len(files)} image file(s) in {text!r} is a readable image, "
                f"e.g. {str(files[0])!r}"
            )
    elif _named_as_image(p):
        check_image_decodes(p, what)


def peek_records_file(path: str | os.PathLike[str], what: str = "records") -> tuple[RecordsHeader, Path, Path | None]:
    """:func:`~integral_pose.data.records.peek_records` with errors that start with ``what``.

    Raises:
        FileNotFoundError / IsADirectoryError / PermissionError: missing, a folder, unreadable.
        ValueError: not a records file, or a header that cannot be parsed.
    """
    p = Path(path)
    readable_file(p, what)
    try:
        return peek_records(p)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class RecordsInfo:
    """What :func:`check_records_inputs` learned about one ``data.<split>[i]`` entry."""

    where: str
    path: Path
    kind: str
    header: RecordsHeader


def check_records_inputs(cfg: Config, split: str = "test", images: bool = True) -> list[RecordsInfo]:
    """Each records file of ``data.<split>`` is readable, its image folder exists and (``images``) its first image
    decodes; cheap (headers and one image), so it runs before the model loads.

    Returns:
        One :class:`RecordsInfo` per entry that has a records file (``synthmocap_live`` entries have none).

    Raises:
        FileNotFoundError / ValueError: one line naming ``data.<split>[i]`` and the file or folder.
    """
    out = []
    for i, spec in enumerate(getattr(cfg.data, split)):
        if spec.records is None:
            continue
        where = f"data.{split}[{i}].records"
        path = Path(spec.records)
        header, root, first = peek_records_file(path, where)
        if not root.is_dir():
            raise FileNotFoundError(f"{where}: the image folder of {str(path)!r} does not exist: {str(root)!r}")
        if images and first is not None:
            check_image_decodes(first, f"{where}: first image")
        out.append(RecordsInfo(where, path, spec.kind, header))
    return out

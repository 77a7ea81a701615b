"""Atomic file writes (a reader never sees a half-written file, a crash leaves the previous file intact) and a
JSON reader with typed errors.

Every file a user keeps (checkpoints, records, configs, results, reports) is written through :func:`atomic_write`:
a temporary file in the target folder, ``flush`` + ``fsync``, then ``os.replace`` onto the target and a best-effort
``fsync`` of the folder so the rename itself is durable. The file gets the permissions a plain ``open()`` would
give it (``0o666`` minus the process umask), not the private ``0o600`` of a bare temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_writable_dir",
    "read_json",
    "temp_file_next_to",
]


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where the platform allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_file_next_to(path: str | os.PathLike[str], suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a hidden temporary file in ``path``'s folder (created if needed) for a later ``os.replace``.

    Unlike a bare :func:`tempfile.mkstemp` (mode ``0o600``), the file gets the permissions a plain ``open()``
    would give, so the final file is as readable as any other file the user writes.

    Args:
        path: the final target file.
        suffix: name suffix of the temporary file (some writers pick the format from it, e.g. ``".onnx"``).

    Returns:
        ``(fd, tmp_path)``: an open OS-level descriptor (the caller closes it) and the temporary path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
    except OSError:  # e.g. a file system without POSIX modes: keep mkstemp's
        pass
    return fd, Path(tmp)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Context manager yielding a file handle whose content replaces ``path`` only if the block succeeds.

    Args:
        path: target file; its folder is created if needed.
        mode: ``"wb"`` (binary) or ``"w"`` (text).
        encoding: text encoding for ``mode="w"`` (default UTF-8).

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_write(target, "w") as fh:
        ...     _ = fh.write("hello")
        >>> target.read_text()
        'hello'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode: expected 'wb' or 'w', got {mode!r}")
    target = Path(path)
    fd, tmp = temp_file_next_to(target)
    try:
        kwargs: dict[str, Any] = {} if mode == "wb" else {"encoding": encoding or "utf-8"}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if exc.filename is None and exc.errno is not None:  # e.g. ENOSPC from write/fsync: name the target
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from None
        raise
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON (with a final newline) atomically; return the path."""
    with atomic_write(path, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=sort_keys, allow_nan=True)
        fh.write("\n")
    return Path(path)


def check_writable_dir(folder: str | os.PathLike[str], what: str, keep: bool = True) -> Path:
    """Create ``folder`` if needed and prove that a file can be written in it, before any long work starts.

    A small temporary file is created, written, fsync-ed and removed. With ``keep=False`` the folders this check
    had to create are removed again (for outputs written only once there is something to write, so a command
    that stops early leaves no empty folder behind).

    Args:
        folder: the output folder.
        what: the option or config key that named it (``--out``, ``train.out_dir`` …); errors start with it.
        keep: keep the folders the check created (default) or remove them again.

    Returns:
        The folder as a :class:`~pathlib.Path`.

    Raises:
        NotADirectoryError: ``folder`` (or a parent) is a file.
        PermissionError / OSError: the folder cannot be created or written (read-only file system, no space,
            no permission); the message names the folder.
    """
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f"{what}: expected a folder, got the file {str(p)!r}")
    created = [d for d in (p, *p.parents) if not d.exists()]
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=p)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(tmp)
        if not keep:
            for d in created:  # deepest first
                d.rmdir()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        cls = PermissionError if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else OSError
        err = cls(exc.errno, f"{what}: the output folder is not writable ({reason})", str(p))
        raise err from None
    return p


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """Read a UTF-8 JSON file, with errors that name the file and what it was meant to hold.

    Args:
        path: the file.
        what: the thing the file holds, or the option that named it (``"boxes"``, ``"intrinsics"`` …); every
            error message starts with it.

    Returns:
        The decoded JSON value.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        FileNotFoundError: ``path`` does not exist.
        ValueError: the content is not UTF-8 or not valid JSON.
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{what}: expected a file, got the folder {str(p)!r}")
    if not p.is_file():
        raise FileNotFoundError(f"{what}: file not found: {str(p)!r}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what}: {str(p)!r} is not valid JSON: {exc}") from None

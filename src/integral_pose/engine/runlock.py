"""An exclusive lock on a run folder, so that two training runs never write into the same folder.

The lock is the file ``<run folder>/.lock``, held with ``fcntl.flock`` for the life of the run and holding one
JSON line ``{"pid", "host", "started"}`` that names the owner. The kernel drops a ``flock`` when its process dies
(even by ``SIGKILL``), so a lock file left behind by a killed run is recognised as stale, reported and taken over.
Under DDP only rank 0 takes the lock; the other ranks write nothing into the folder and share it.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with RunLock(folder) as lock:
    ...     lock.held
    True
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["LOCK_NAME", "RunLock", "RunLockedError"]

LOCK_NAME = ".lock"


class RunLockedError(FileExistsError):
    """Another live process holds the run folder's lock."""


def _owner_text(info: dict[str, Any]) -> str:
    started = info.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}, started {when}"


def _read_owner(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class RunLock:
    """Exclusive, process-lifetime lock on a run folder (see the module docstring).

    Args:
        folder: the run folder (created if needed).
        what: the option that named the folder, for errors (default ``train.out_dir``).
    """

    def __init__(self, folder: str | os.PathLike[str], what: str = "train.out_dir") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self._fd: int | None = None
        self.stale_owner: dict[str, Any] | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock or raise.

        Raises:
            RunLockedError: another live process holds it (the message names the folder and the owner).
            OSError: the folder or the lock file cannot be created (read-only file system …).
        """
        if self._fd is not None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # retry when the holder removed the file between our open and our flock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                owner = _read_owner(self.path)
                raise RunLockedError(
                    f"{self.what}: the run folder {str(self.folder)!r} is in use by another run "
                    f"({_owner_text(owner)}); wait for it to finish or choose another {self.what}"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read_owner(self.path)
            if previous:
                self.stale_owner = previous
                print(f"run lock: taking over the stale lock of {_owner_text(previous)} on {self.folder}",
                      file=sys.stderr)  # fmt: skip
            info = {"pid": os.getpid(), "host": socket.gethostname(), "started": round(time.time(), 3)}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            self._fd = fd
            return self
        raise RunLockedError(f"{self.what}: could not take the lock {self.path} (it keeps being replaced)")

    def release(self) -> None:
        """Remove the lock file and drop the lock (no-op when not held)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

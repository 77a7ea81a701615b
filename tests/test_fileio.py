"""Atomic writes give files the permissions a plain ``open()`` gives (not a temporary file's private 0o600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from integral_pose.fileio import atomic_write_bytes, atomic_write_json, atomic_write_text, temp_file_next_to

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_writes_follow_the_umask_like_open(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        written = [
            atomic_write_bytes(tmp_path / "a.bin", b"abc"),
            atomic_write_text(tmp_path / "b.txt", "abc"),
            atomic_write_json(tmp_path / "sub" / "c.json", {"a": 1}),
        ]
    finally:
        os.umask(old)
    assert _mode(plain) == 0o666 & ~umask
    for path in written:
        assert _mode(path) == _mode(plain), path.name
    assert written[1].read_text() == "abc"
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()], "temporary files left behind"


def test_temp_file_next_to_keeps_the_suffix_and_folder(tmp_path: Path) -> None:
    fd, tmp = temp_file_next_to(tmp_path / "deep" / "model.onnx", ".onnx")
    os.close(fd)
    assert tmp.parent == tmp_path / "deep" and tmp.suffix == ".onnx" and tmp.name.startswith(".model.onnx.")


def test_user_outputs_of_other_writers_are_readable(tmp_path: Path) -> None:
    """The PNG/JSON writer of the inference results and the SynthMocap preview share the same permissions."""
    from integral_pose.inference.results import atomic_write_bytes as results_write

    old = os.umask(0o022)
    try:
        path = results_write(tmp_path / "r.png", b"\x89PNG")
    finally:
        os.umask(old)
    assert _mode(path) == 0o644

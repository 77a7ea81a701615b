"""Atomic writes give files the permissions a plain ``open()`` gives (not a temporary file's private 0o600);
``read_json`` raises typed errors naming the file and what it holds."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from integral_pose.fileio import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_json,
    temp_file_next_to,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
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


@posix_only
def test_temp_file_next_to_keeps_the_suffix_and_folder(tmp_path: Path) -> None:
    fd, tmp = temp_file_next_to(tmp_path / "deep" / "model.onnx", ".onnx")
    os.close(fd)
    assert tmp.parent == tmp_path / "deep" and tmp.suffix == ".onnx" and tmp.name.startswith(".model.onnx.")


@posix_only
def test_user_outputs_of_other_writers_are_readable(tmp_path: Path) -> None:
    """The PNG/JSON writer of the inference results and the SynthMocap preview share the same permissions."""
    from integral_pose.inference.results import atomic_write_bytes as results_write

    old = os.umask(0o022)
    try:
        path = results_write(tmp_path / "r.png", b"\x89PNG")
    finally:
        os.umask(old)
    assert _mode(path) == 0o644


def test_read_json_round_trips_a_written_file(tmp_path: Path) -> None:
    data = {"K": [[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]], "name": "caméra", "n": None}
    path = atomic_write_json(tmp_path / "k.json", data)
    assert read_json(path, "intrinsics") == data
    assert read_json(str(path), "intrinsics") == data  # a plain string path too
    (tmp_path / "list.json").write_text("[1, 2.5, true]", encoding="utf-8")
    assert read_json(tmp_path / "list.json", "boxes") == [1, 2.5, True]


def test_read_json_folder_is_a_directory_error(tmp_path: Path) -> None:
    expected = rf"^boxes: expected a file, got the folder '{re.escape(str(tmp_path))}'$"
    with pytest.raises(IsADirectoryError, match=expected):
        read_json(tmp_path, "boxes")


def test_read_json_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match=rf"^detector box file: file not found: '{re.escape(str(missing))}'$"):
        read_json(missing, "detector box file")
    assert not missing.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"{not json", "Expecting property name"), (b"[1, 2", "Expecting"), (b"", "Expecting value"),
     (b"\xff\xfe{}", "codec can't decode")],
)  # fmt: skip
def test_read_json_bad_content_is_a_value_error(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    expected = rf"^intrinsics: '{re.escape(str(bad))}' is not valid JSON: .*{reason}"
    with pytest.raises(ValueError, match=expected) as info:
        read_json(bad, "intrinsics")
    assert not isinstance(info.value, json.JSONDecodeError), "the decoder's own error type leaks out"

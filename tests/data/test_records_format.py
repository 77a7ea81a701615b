"""Records file format 2: compact string/camera/visibility encoding, round trips and version errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from integral_pose.data.records import (
    FORMAT_VERSION,
    STRING_DTYPE,
    PoseRecords,
    RecordsHeader,
    concat_records,
    decode_strings,
    encode_strings,
    load_records,
    peek_records,
    save_records,
)

PATHS = [
    "s_09_act_02_subact_01_ca_01/s_09_act_02_subact_01_ca_01_000123.jpg",
    "données/ß_übung/日本語_001.jpg",
    "",
    "emoji/🙂 face.png",
    "s_09_act_02_subact_01_ca_02/s_09_act_02_subact_01_ca_02_000123.jpg",
]


def _table(n: int = 5, seed: int = 0) -> PoseRecords:
    rng = np.random.default_rng(seed)
    j = 18
    cams = rng.normal(size=(3, 21)).astype(np.float32)
    cams[1, 0] = -0.0  # the sign of zero survives
    cam_of_row = np.arange(n) % 3
    j3 = rng.normal(0, 300, (n, j, 3)).astype(np.float32)
    if n:
        j3[0, 4] = np.nan
    header = RecordsHeader(dataset="unit", split="train", joint_set="h36m18", root="imgs", meta={"k": [1, "é"]})
    return PoseRecords.create(
        header,
        image_path=[PATHS[i % len(PATHS)] + ("" if i < len(PATHS) else f"#{i}") for i in range(n)],
        image_size=rng.integers(100, 2000, (n, 2)),
        box=np.abs(rng.normal(50, 10, (n, 4))) + 1,
        joints_2d=rng.normal(500, 100, (n, j, 2)),
        joints_vis=rng.integers(0, 2, (n, j)).astype(np.float32),
        joints_3d_cam=j3,
        cam_f=cams[cam_of_row, 0:2],
        cam_c=cams[cam_of_row, 2:4],
        cam_k=cams[cam_of_row, 4:7],
        cam_p=cams[cam_of_row, 7:9],
        cam_R=cams[cam_of_row, 9:18].reshape(n, 3, 3),
        cam_T=cams[cam_of_row, 18:21],
        subject=[["S9", "S11", "Ä"][i % 3] for i in range(n)],
        action=[["Walking", "", "Sitting Down"][i // 2 % 3] for i in range(n)],
        subaction=rng.integers(1, 3, n),
        camera_id=[["54138969", "55011271"][i % 2] for i in range(n)],
        frame=np.arange(n) * 5,
    )


def _assert_same(a: PoseRecords, b: PoseRecords) -> None:
    assert a.header.to_json() == b.header.to_json()
    for name, arr in a.arrays().items():
        other = b.arrays()[name]
        assert other.dtype == arr.dtype and other.shape == arr.shape, name
        if arr.dtype.kind == "f":  # bit-exact, NaN and -0.0 included
            np.testing.assert_array_equal(arr.view(np.uint32), other.view(np.uint32), err_msg=name)
        else:
            assert arr.tolist() == other.tolist(), name


def test_round_trip_every_column(tmp_path: Path) -> None:
    rec = _table(12)
    assert rec.image_path.dtype == STRING_DTYPE and rec.subject.dtype == STRING_DTYPE
    assert rec.joints_vis.dtype == np.uint8
    path = save_records(rec, tmp_path / "t.npz")
    back = load_records(path)
    _assert_same(rec, back)
    assert back.base_dir == str(tmp_path) and back.root_dir == tmp_path / "imgs"
    assert back.image_path[1] == "données/ß_übung/日本語_001.jpg" and str(back.image_path[3]) == "emoji/🙂 face.png"
    assert back.image_path[2] == "" and back.image_path[7] == PATHS[2] + "#7"
    assert np.signbit(back.cam_f[1, 0]) and back.cam_f[1, 0] == 0
    assert back.header.meta == {"k": [1, "é"]} and back.header.format_version == FORMAT_VERSION


def test_round_trip_empty_table(tmp_path: Path) -> None:
    rec = _table(0)
    back = load_records(save_records(rec, tmp_path / "empty.npz"))
    assert len(back) == 0 and back.num_joints == 18
    _assert_same(rec, back)


def test_peek_reads_header_root_and_first_image_like_load(tmp_path: Path) -> None:
    path = save_records(_table(), tmp_path / "sub" / "t.npz")
    full = load_records(path)
    header, root, first = peek_records(path)
    assert header == full.header and root == full.root_dir and first == full.image_file(0)
    assert str(first).endswith(PATHS[0])
    _, _, none = peek_records(save_records(_table(0), tmp_path / "empty.npz"))
    assert none is None
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match=r"other\.npz.*'__header__'"):
        peek_records(other)
    text = tmp_path / "notes.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match=r"notes\.npz: not a readable records \.npz"):
        peek_records(text)


def test_layout_cameras_once_codes_small_and_joints_stored(tmp_path: Path) -> None:
    rec = _table(300)
    path = save_records(rec, tmp_path / "t.npz")
    with np.load(path, allow_pickle=False) as z:
        table, index = z["cam_table"], z["cam_index"]
        assert table.shape == (3, 21) and table.dtype == np.float32 and index.dtype == np.uint8
        np.testing.assert_array_equal(table[index][:, 9:18].reshape(-1, 3, 3), rec.cam_R)
        values = decode_strings(z["subject_values_utf8"], z["subject_values_len"])
        assert sorted(values.tolist()) == ["S11", "S9", "Ä"] and z["subject_codes"].dtype == np.uint8
        assert values[z["subject_codes"]].tolist() == rec.subject.tolist()
        assert z["joints_vis"].dtype == np.uint8 and "image_path" not in z.files
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("joints_2d.npy").compress_type == zipfile.ZIP_STORED  # random floats do not deflate
        assert zf.getinfo("image_path_utf8.npy").compress_type == zipfile.ZIP_DEFLATED


def test_unknown_3d_is_deflated(tmp_path: Path) -> None:
    rec = _table(300)
    rec.joints_3d_cam[:] = np.nan
    path = save_records(rec, tmp_path / "t.npz")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("joints_3d_cam.npy")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size < info.file_size / 20
    assert np.isnan(load_records(path).joints_3d_cam).all()


def test_encode_strings_hand_computed() -> None:
    data, lengths = encode_strings(np.asarray(["a", "é", "", "日"], dtype=STRING_DTYPE))
    assert data.tobytes() == b"a\xc3\xa9\xe6\x97\xa5" and lengths.tolist() == [1, 2, 0, 3]
    back = decode_strings(data, lengths)
    assert back.dtype == STRING_DTYPE and back.tolist() == ["a", "é", "", "日"]


def test_decode_strings_rejects_corrupt_data() -> None:
    data, lengths = encode_strings(np.asarray(["ab", "é"], dtype=STRING_DTYPE))
    with pytest.raises(ValueError, match=r"paths: string lengths add up to 3 bytes, the data holds 4"):
        decode_strings(data, np.asarray([2, 1]), "paths")
    with pytest.raises(ValueError, match="paths: invalid UTF-8"):
        decode_strings(data, np.asarray([3, 1]), "paths")  # cuts 'é' in half
    with pytest.raises(ValueError, match="uint8"):
        decode_strings(data.astype(np.int16), lengths, "paths")


def _rewrite(path: Path, out: Path, **changes: np.ndarray) -> Path:
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del data[k]
    np.savez(out, **data)
    return out


def test_old_and_new_versions_refused_clearly(tmp_path: Path) -> None:
    rec = _table(4)
    old_header = json.loads(rec.header.to_json()) | {"format_version": 1}
    cols = {k: (np.asarray(v.tolist()) if v.dtype == STRING_DTYPE else v) for k, v in rec.arrays().items()}
    cols["joints_vis"] = rec.joints_vis.astype(np.float32)
    old = tmp_path / "v1.npz"
    np.savez_compressed(old, __header__=np.asarray(json.dumps(old_header)), **cols)  # the format-1 layout
    with pytest.raises(ValueError, match=r"v1\.npz: records format_version 1 is not supported; expected 2 .*older"):
        load_records(old)
    good = save_records(rec, tmp_path / "good.npz")
    newer = json.loads(rec.header.to_json()) | {"format_version": FORMAT_VERSION + 1}
    path = _rewrite(good, tmp_path / "v3.npz", __header__=np.asarray(json.dumps(newer)))
    with pytest.raises(ValueError, match=r"format_version 3 is not supported.*newer integral-pose"):
        load_records(path)


def test_corrupt_members_name_the_file_and_member(tmp_path: Path) -> None:
    good = save_records(_table(6), tmp_path / "good.npz")
    bad = _rewrite(good, tmp_path / "a.npz", cam_index=np.full(6, 7, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"a\.npz: member 'cam_index' has codes outside \[0, 3\)"):
        load_records(bad)
    bad = _rewrite(good, tmp_path / "b.npz", action_codes=None)
    with pytest.raises(ValueError, match=r"b\.npz: records file lacks member\(s\) \['action_codes'\]"):
        load_records(bad)
    bad = _rewrite(good, tmp_path / "c.npz", image_path_len=np.zeros(6, dtype=np.int64))
    with pytest.raises(ValueError, match=r"c\.npz: image_path: string lengths add up to 0 bytes"):
        load_records(bad)
    bad = _rewrite(good, tmp_path / "d.npz", subject_codes=np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"member 'subject_codes' must be \(6,\) integer codes"):
        load_records(bad)


def test_constructor_coerces_str_arrays_and_checks_visibility() -> None:
    rec = _table(3)
    cols = rec.arrays()
    cols.update(image_path=np.asarray(["x.jpg", "y.jpg", "ü.jpg"]), camera_id=np.asarray([b"1", b"2", b"3"]))
    made = PoseRecords(header=rec.header, **cols)
    assert made.image_path.dtype == STRING_DTYPE and made.image_path.tolist() == ["x.jpg", "y.jpg", "ü.jpg"]
    assert made.camera_id.tolist() == ["1", "2", "3"]
    cols = rec.arrays()
    cols["joints_vis"] = np.full((3, 18), 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match=r"joints_vis: values must be 0 or 1"):
        PoseRecords(header=rec.header, **cols)
    cols = rec.arrays()
    cols["subject"] = np.arange(3)
    with pytest.raises(TypeError, match=r"records\[unit/train\]\.subject: expected an array of strings, got dtype"):
        PoseRecords(header=rec.header, **cols)


def test_subset_and_concat_keep_compact_dtypes(tmp_path: Path) -> None:
    a, b = _table(5), _table(4, seed=1)
    both = concat_records([a, b.subset(np.asarray([3, 0]))])
    assert len(both) == 7 and both.image_path.dtype == STRING_DTYPE and both.joints_vis.dtype == np.uint8
    assert both.image_path.tolist() == [*a.image_path.tolist(), b.image_path[3], b.image_path[0]]
    assert (both.subject == "S9").tolist() == [s == "S9" for s in both.subject.tolist()]
    _assert_same(both, load_records(save_records(both, tmp_path / "c.npz")))

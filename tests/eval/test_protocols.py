"""Evaluation protocol definitions and sample selection."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.eval.protocols import (
    CHALLENGE_BONE_LENGTH_MM,
    ProtocolMismatchError,
    check_protocol,
    get_protocol,
    protocol_for_dataset,
    resolve_protocol,
    select,
)


def test_h36m_protocols_select_subjects_and_every_64th_frame():
    subject = np.array(["S9", "S9", "S11", "S11", "S1", "S11"])
    frame = np.array([0, 5, 64, 128, 0, 63])
    assert select(get_protocol("h36m_p2"), subject, frame).tolist() == [0, 2, 3]
    assert select(get_protocol("h36m_p1"), subject, frame).tolist() == [2, 3]
    assert select(get_protocol("h36m_p1"), subject, frame, frame_stride=1).tolist() == [2, 3, 5]
    assert get_protocol("h36m_p1").headline == "pa_mpjpe"
    assert get_protocol("h36m_p2").headline == "mpjpe"


def test_defaults_and_constants():
    assert protocol_for_dataset("synthmocap").name == "synthmocap"
    assert get_protocol("h36m_challenge").bone_rescale_mm == CHALLENGE_BONE_LENGTH_MM == 4502.881


def test_unknown_protocol_suggests():
    with pytest.raises(ValueError, match="did you mean 'h36m_p1'"):
        get_protocol("h36m_p11")
    with pytest.raises(ValueError, match="dataset"):
        protocol_for_dataset("kitti")
    with pytest.raises(ValueError, match="frame_stride"):
        select(get_protocol("synthmocap"), np.array(["a"]), np.array([0]), frame_stride=0)


def test_a_protocol_of_another_dataset_is_refused_in_one_line() -> None:
    tables = [("data.test[0].records 'test.npz'", "synthmocap")]
    with pytest.raises(ProtocolMismatchError) as info:
        resolve_protocol("h36m_p1", "synthmocap", tables)
    text = str(info.value)
    assert "\n" not in text
    assert text == (
        "--protocol h36m_p1 (Human3.6M Protocol #1 (PA-MPJPE, S11, every 64th frame)) scores h36m records, but "
        "data.test[0].records 'test.npz' contains synthmocap records; use --protocol synthmocap for synthmocap records"
    )
    check_protocol(get_protocol("synthmocap"), tables)  # matches: no error
    with pytest.raises(ProtocolMismatchError, match="h36m_challenge records"):
        check_protocol(get_protocol("h36m_p2"), [("data.test[0].records 'val.npz'", "h36m_challenge")])


def test_a_configured_protocol_that_does_not_apply_is_replaced_with_a_note() -> None:
    proto, note = resolve_protocol(None, "h36m_p1", [("data.test[0].records 'test.npz'", "synthmocap")])
    assert proto.name == "synthmocap" and note is not None
    assert note.startswith("eval.protocol h36m_p1 (Human3.6M Protocol #1") and "evaluating with synthmocap" in note
    proto, note = resolve_protocol(None, "h36m_p2", [("a", "h36m_challenge")])  # the challenge recipes
    assert proto.name == "h36m_challenge" and note is not None
    assert resolve_protocol(None, "h36m_p2", [("a", "h36m")]) == (get_protocol("h36m_p2"), None)
    with pytest.raises(ProtocolMismatchError, match=r"eval\.protocol h36m_p1"):  # mixed datasets: no single default
        resolve_protocol(None, "h36m_p1", [("a", "synthmocap"), ("b", "mpii")])

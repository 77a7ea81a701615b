"""Evaluation protocol definitions and sample selection."""

from __future__ import annotations

import numpy as np
import pytest

from integral_pose.eval.protocols import CHALLENGE_BONE_LENGTH_MM, get_protocol, protocol_for_dataset, select


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

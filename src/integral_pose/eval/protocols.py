"""Evaluation protocols: which samples are scored, which metric is headline, how the root is placed.

=====================  ==========  =================  ==========================================================
name                   dataset     test subset        headline metric
=====================  ==========  =================  ==========================================================
``h36m_p1``            h36m        S11, every 64th    PA-MPJPE (similarity Procrustes), Human3.6M Protocol #1
``h36m_p2``            h36m        S9 + S11, 64th     MPJPE (root aligned), Human3.6M Protocol #2
``h36m_challenge``     h36m        all frames         MPJPE after bone-length rescale (4502.881 mm)
``mpii_pckh``          mpii        all                PCKh@0.5 (2D)
``coco_ap``            coco        all                COCO keypoint AP (2D)
``synthmocap``         synthmocap  all                MPJPE (root aligned)
=====================  ==========  =================  ==========================================================

Protocol numbers are printed together with the metric name, because other codebases number the Human3.6M
protocols the other way round. A protocol scores only records of its own dataset (the ``dataset`` field of the
records' header): :func:`resolve_protocol` refuses a requested protocol that does not match them, and replaces a
configured one that does not (saying so) by the records' default protocol.

Example:
    >>> p = get_protocol("h36m_p2")
    >>> (p.subjects, p.frame_stride, p.headline)
    (('S9', 'S11'), 64, 'mpjpe')
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from integral_pose.conventions import MEAN_SKELETON_LENGTH_MM

__all__ = [
    "CHALLENGE_BONE_LENGTH_MM",
    "PROTOCOLS",
    "Protocol",
    "ProtocolMismatchError",
    "check_protocol",
    "get_protocol",
    "protocol_for_dataset",
    "resolve_protocol",
    "select",
]

CHALLENGE_BONE_LENGTH_MM = MEAN_SKELETON_LENGTH_MM
"""Mean total bone length (17 bones of Human3.6M-18) over the challenge's train+val sets, in mm."""


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol.

    Attributes:
        name: identifier used on the command line.
        dataset: dataset kind it applies to (``h36m``, ``mpii``, ``coco``, ``synthmocap``, ``h36m_challenge``).
        title: human-readable name printed with the results.
        headline: metric reported first (``mpjpe``, ``pa_mpjpe``, ``pckh``, ``coco_ap``).
        subjects: subjects kept (empty = all).
        frame_stride: keep frames whose index is a multiple of this (1 = all).
        kind: ``"3d"`` or ``"2d"``.
        bone_rescale_mm: rescale the root-centred prediction to this total bone length (0 = off).
    """

    name: str
    dataset: str
    title: str
    headline: str
    subjects: tuple[str, ...] = ()
    frame_stride: int = 1
    kind: str = "3d"
    bone_rescale_mm: float = 0.0


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("h36m_p1", "h36m", "Human3.6M Protocol #1 (PA-MPJPE, S11, every 64th frame)", "pa_mpjpe",
                 ("S11",), 64),
        Protocol("h36m_p2", "h36m", "Human3.6M Protocol #2 (MPJPE, S9+S11, every 64th frame)", "mpjpe",
                 ("S9", "S11"), 64),
        Protocol("h36m_challenge", "h36m_challenge", "Human3.6M ECCV'18 challenge (MPJPE, bone-length rescale)",
                 "mpjpe", (), 1, "3d", CHALLENGE_BONE_LENGTH_MM),
        Protocol("mpii_pckh", "mpii", "MPII PCKh@0.5", "pckh", (), 1, "2d"),
        Protocol("coco_ap", "coco", "COCO keypoint AP", "coco_ap", (), 1, "2d"),
        Protocol("synthmocap", "synthmocap", "SynthMocap test (MPJPE, PA-MPJPE)", "mpjpe"),
    )
}  # fmt: skip

_DEFAULT_FOR_DATASET = {
    "h36m": "h36m_p2",
    "h36m_challenge": "h36m_challenge",
    "mpii": "mpii_pckh",
    "coco": "coco_ap",
    "synthmocap": "synthmocap",
}


def get_protocol(name: str) -> Protocol:
    """Look a protocol up by name.

    Raises:
        ValueError: unknown name (the message suggests the closest one).
    """
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    close = difflib.get_close_matches(name, list(PROTOCOLS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"protocol: unknown name {name!r}{hint} (known: {sorted(PROTOCOLS)})")


def protocol_for_dataset(dataset: str) -> Protocol:
    """The default protocol of a dataset kind.

    Raises:
        ValueError: no protocol is defined for ``dataset``.
    """
    if dataset not in _DEFAULT_FOR_DATASET:
        known = sorted(_DEFAULT_FOR_DATASET)
        raise ValueError(f"protocol: no default protocol for dataset {dataset!r}; known: {known}")
    return PROTOCOLS[_DEFAULT_FOR_DATASET[dataset]]


class ProtocolMismatchError(ValueError):
    """A protocol was asked for records of another dataset (e.g. ``h36m_p1`` on SynthMocap records)."""


def check_protocol(protocol: Protocol, records: Sequence[tuple[str, str]], what: str = "protocol") -> None:
    """Refuse a protocol that does not match the dataset of every records table it would score.

    Args:
        protocol: the protocol.
        records: ``(where, dataset)`` per records table, e.g. ``("data.test[0].records 'test.npz'", "synthmocap")``
            with the dataset from the records' header.
        what: how the protocol was chosen, for the message (``"--protocol"``, ``"eval.protocol"``).

    Raises:
        ProtocolMismatchError: one line naming the protocol, the dataset it expects and what the records contain.
    """
    bad = [(where, dataset) for where, dataset in records if dataset != protocol.dataset]
    if not bad:
        return
    where, dataset = bad[0]
    more = f" (and {len(bad) - 1} more table(s))" if len(bad) > 1 else ""
    hint = (
        f"; use --protocol {_DEFAULT_FOR_DATASET[dataset]} for {dataset} records"
        if dataset in _DEFAULT_FOR_DATASET
        else ""
    )
    raise ProtocolMismatchError(
        f"{what} {protocol.name} ({protocol.title}) scores {protocol.dataset} records, but {where} contains "
        f"{dataset} records{more}{hint}"
    )


def resolve_protocol(
    requested: str | None, configured: str, records: Sequence[tuple[str, str]]
) -> tuple[Protocol, str | None]:
    """The protocol to evaluate ``records`` with, and a note when the configured one was replaced.

    A ``requested`` protocol (``--protocol``) must match the records (else :class:`ProtocolMismatchError`). The
    ``configured`` one (``eval.protocol``, whose default is ``h36m_p1``) is replaced by the records' default
    protocol when it does not match and all tables are of one dataset that has one; the note says so.

    Args:
        requested: protocol name given explicitly, or None.
        configured: the config's ``eval.protocol``.
        records: ``(where, dataset)`` per records table scored (see :func:`check_protocol`).

    Raises:
        ValueError: unknown protocol name. ProtocolMismatchError: no protocol applies as described above.
    """
    if requested is not None:
        protocol = get_protocol(requested)
        check_protocol(protocol, records, "--protocol")
        return protocol, None
    protocol = get_protocol(configured)
    try:
        check_protocol(protocol, records, "eval.protocol")
    except ProtocolMismatchError:
        datasets = {dataset for _, dataset in records}
        if len(datasets) != 1 or next(iter(datasets)) not in _DEFAULT_FOR_DATASET:
            raise
        dataset = datasets.pop()
        used = protocol_for_dataset(dataset)
        note = (
            f"eval.protocol {protocol.name} ({protocol.title}) does not apply to {dataset} records; "
            f"evaluating with {used.name} ({used.title}) instead (choose with --protocol)"
        )
        return used, note
    return protocol, None


def select(protocol: Protocol, subject: np.ndarray, frame: np.ndarray, frame_stride: int | None = None) -> np.ndarray:
    """Indices of the samples the protocol scores.

    Args:
        protocol: the protocol.
        subject: (N,) subject id per sample.
        frame: (N,) frame index per sample (0-based).
        frame_stride: overrides ``protocol.frame_stride`` when given (e.g. 1 for every frame).

    Returns:
        (M,) int64 sorted indices.
    """
    subject = np.asarray(subject)
    frame = np.asarray(frame)
    if subject.shape != frame.shape or subject.ndim != 1:
        raise ValueError(f"select: subject and frame must be (N,) arrays, got {subject.shape} and {frame.shape}")
    stride = protocol.frame_stride if frame_stride is None else int(frame_stride)
    if stride < 1:
        raise ValueError(f"select: frame_stride must be >= 1, got {stride}")
    keep = np.ones(subject.shape[0], dtype=bool)
    if protocol.subjects:
        keep &= np.isin(subject.astype(np.dtypes.StringDType()), np.asarray(protocol.subjects))
    if stride > 1:
        keep &= frame.astype(np.int64) % stride == 0
    return np.flatnonzero(keep).astype(np.int64)

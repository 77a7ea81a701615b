"""Official Human3.6M release → the original layout (JPEG frames + ``matlab_meta.txt``), resumable.

Input (``src``)::

    S{N}/Videos/<Action>[ <n>].<camera id>.mp4
    S{N}/MyPoseFeatures/D3_Positions/<Action>[ <n>].cdf     (variable ``Pose``: (1, F, 96) world mm, 32 joints)

Output (``dst``, read by :func:`integral_pose.data.sources.h36m.read_original_layout`)::

    images/s_SS_act_AA_subact_BB_ca_CC/s_SS_act_AA_subact_BB_ca_CC_FFFFFF.jpg   (every ``stride``-th frame)
    annot/s_SS_act_AA_subact_BB_ca_CC/matlab_meta.txt                           (all decoded frames' poses)
    convert_info.json                                                           (stride, skipped videos)

Cameras come from the shipped official calibration (``h36m_cameras.json``). Naming quirks: ``TakingPhoto`` and
``WalkingDog`` are the same actions as ``Photo``/``WalkDog``; of the two files of an action the un-numbered name is
subaction 1 and the numbered one subaction 2 (sorted by name); the known corrupt video S11 ``Directions.54138969``
is skipped, as is any video OpenCV cannot decode (listed in the summary). Frames are decoded with OpenCV and
the video's extra frames beyond the pose count are dropped. A video whose ``matlab_meta.txt`` exists is complete
(the annotation is written last, atomically) and is skipped on a re-run, so the conversion is resumable and
idempotent.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from integral_pose.data.io import write_image_atomic
from integral_pose.data.sources.h36m import (
    CAMERA_IDS,
    H36M32_TO_17,
    MatlabMeta,
    action_id,
    folder_name,
    load_camera,
    parse_subjects,
    write_matlab_meta,
)
from integral_pose.fileio import atomic_write_json

__all__ = ["KNOWN_BROKEN", "ConvertJob", "ConvertSummary", "convert_raw", "plan_jobs", "read_cdf_pose"]

KNOWN_BROKEN = {(11, "Directions", "54138969")}
_NAME_RE = re.compile(r"^(?P<action>[A-Za-z]+)(?: (?P<num>\d+))?$")


@dataclass(frozen=True)
class ConvertJob:
    """One video to convert."""

    subject: int
    action: int
    subaction: int
    camera: int
    cdf: str
    video: str

    @property
    def folder(self) -> str:
        """Output folder name of this video."""
        return folder_name(self.subject, self.action, self.subaction, self.camera)


@dataclass
class ConvertSummary:
    """What a conversion did."""

    converted: list[str] = field(default_factory=list)
    skipped_done: list[str] = field(default_factory=list)
    skipped_broken: list[str] = field(default_factory=list)
    frames_written: int = 0


def read_cdf_pose(path: str | os.PathLike[str]) -> np.ndarray:
    """``Pose`` of a D3_Positions CDF → (F, 32, 3) float64 world mm (needs the ``h36m`` extra: cdflib)."""
    try:
        import cdflib
    except ImportError:  # pragma: no cover - cdflib is an extra
        raise ValueError("reading Human3.6M CDF files needs cdflib (pip install 'integral-pose[h36m]')") from None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"CDF file not found: {p}")
    try:
        pose = np.asarray(cdflib.CDF(str(p)).varget("Pose"), dtype=np.float64)
    except Exception as exc:  # cdflib raises several types for bad files
        raise ValueError(f"{p}: cannot read variable 'Pose' ({type(exc).__name__}: {exc})") from None
    if pose.size % 96 or pose.shape[-1] != 96:
        raise ValueError(f"{p}: variable 'Pose' has shape {pose.shape}, expected (1, F, 96)")
    return pose.reshape(-1, 32, 3)


def plan_jobs(src: str | os.PathLike[str], subjects: Sequence[int] | None = None) -> list[ConvertJob]:
    """List every (subject, action, subaction, camera) video of the raw release under ``src``."""
    root = Path(src)
    if not root.is_dir():
        raise FileNotFoundError(f"raw Human3.6M folder not found: {root}")
    subj_dirs = sorted(d for d in root.iterdir() if d.is_dir() and re.fullmatch(r"S\d+", d.name))
    wanted = parse_subjects(subjects) if subjects else None
    jobs: list[ConvertJob] = []
    for sd in subj_dirs:
        s = parse_subjects([sd.name])[0]
        if wanted is not None and s not in wanted:
            continue
        d3 = sd / "MyPoseFeatures" / "D3_Positions"
        if not d3.is_dir():
            raise FileNotFoundError(f"raw Human3.6M: folder not found: {d3}")
        by_action: dict[int, list[tuple[int, str]]] = {}
        for cdf in sorted(d3.glob("*.cdf")):
            m = _NAME_RE.match(cdf.stem)
            if m is None:
                raise ValueError(f"{cdf}: unexpected file name (expected '<Action>[ <n>].cdf')")
            a = action_id(m.group("action"))
            num = int(m.group("num")) if m.group("num") else -1
            by_action.setdefault(a, []).append((num, cdf.stem))
        for a, names in sorted(by_action.items()):
            if len(names) > 2:
                raise ValueError(f"{d3}: action {a} has {len(names)} pose files, expected at most 2: {names}")
            for sub, (_, stem) in enumerate(sorted(names), start=1):
                for c, cam_id in enumerate(CAMERA_IDS, start=1):
                    video = sd / "Videos" / f"{stem}.{cam_id}.mp4"
                    jobs.append(ConvertJob(s, a, sub, c, str(d3 / f"{stem}.cdf"), str(video)))
    if not jobs:
        raise ValueError(f"raw Human3.6M: no pose files found under {root} for subjects {subjects or 'all'}")
    return jobs


def _convert_one(job: ConvertJob, dst: str, stride: int, jpeg_quality: int) -> tuple[str, str, int]:
    """Convert one video; returns (folder, status, frames written) with status 'done'|'skipped'|'broken'."""

    out = Path(dst)
    meta_path = out / "annot" / job.folder / "matlab_meta.txt"
    if meta_path.is_file():
        return job.folder, "skipped", 0
    stem = Path(job.video).name.rsplit(".", 2)[0]
    cam_id = CAMERA_IDS[job.camera - 1]
    if (job.subject, stem, cam_id) in KNOWN_BROKEN or not Path(job.video).is_file():
        return job.folder, "broken", 0
    pose = read_cdf_pose(job.cdf)
    cap = cv2.VideoCapture(job.video)
    written = 0
    n = 0
    size = (0, 0)
    try:
        while n < len(pose):
            ok, frame = cap.read()
            if not ok:
                break
            size = (frame.shape[1], frame.shape[0])
            if n % stride == 0:
                name = f"{job.folder}_{n + 1:06d}.jpg"
                write_image_atomic(out / "images" / job.folder / name, frame, jpeg_quality)
                written += 1
            n += 1
    finally:
        cap.release()
    if n == 0:
        return job.folder, "broken", 0
    cam = load_camera(job.subject, job.camera)
    meta = MatlabMeta(
        num_frames=n,
        width=size[0],
        height=size[1],
        R=cam["R"],
        T=cam["T"],
        f=cam["f"],
        c=cam["c"],
        k=cam["k"],
        p=cam["p"],
        joint_index=np.asarray(H36M32_TO_17),
        joints_world=pose[:n],
    )
    write_matlab_meta(meta_path, meta)
    return job.folder, "done", written


def _star(args: tuple[ConvertJob, str, int, int]) -> tuple[str, str, int]:
    return _convert_one(*args)


def convert_raw(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    stride: int = 5,
    workers: int = 1,
    subjects: Sequence[int] | None = None,
    jpeg_quality: int = 95,
    progress: bool = True,
    on_result: Callable[[str, str], None] | None = None,
) -> ConvertSummary:
    """Convert the raw release under ``src`` into the original layout under ``dst``.

    Args:
        src: folder with ``S1/``, ``S5/`` …; dst: output folder.
        stride: keep every ``stride``-th video frame as JPEG (the annotation keeps every frame's pose).
        workers: parallel processes (videos are independent).
        subjects: restrict to these subjects.
        jpeg_quality: JPEG quality of the frames.
        progress: show a progress bar.
        on_result: optional callback ``(folder, status)`` per video.

    Raises:
        ValueError: ``dst`` was converted before with another stride.
    """
    if stride < 1 or workers < 1:
        raise ValueError(f"stride and workers must be >= 1, got {stride} and {workers}")
    out = Path(dst)
    out.mkdir(parents=True, exist_ok=True)
    info_path = out / "convert_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if info and int(info.get("stride", stride)) != stride:
        raise ValueError(f"stride: {out} was converted with --stride {info['stride']}, got {stride}; use a new --dst")
    jobs = plan_jobs(src, subjects)
    summary = ConvertSummary()
    args = [(j, str(out), stride, jpeg_quality) for j in jobs]

    bar = tqdm(total=len(jobs), desc="h36m-convert", unit="video", disable=not progress)
    try:
        if workers == 1:
            results = map(_star, args)
            pool = None
        else:
            pool = mp.get_context("spawn").Pool(workers)
            results = pool.imap_unordered(_star, args)
        for folder, status, frames in results:
            {"done": summary.converted, "skipped": summary.skipped_done, "broken": summary.skipped_broken}[
                status
            ].append(folder)
            summary.frames_written += frames
            if on_result is not None:
                on_result(folder, status)
            bar.update(1)
        if pool is not None:
            pool.close()
            pool.join()
    finally:
        bar.close()
    broken = sorted(set(info.get("skipped_broken", [])) | set(summary.skipped_broken))
    info = {"stride": stride, "skipped_broken": broken}
    atomic_write_json(info_path, info)
    return summary

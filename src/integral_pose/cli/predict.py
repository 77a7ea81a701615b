"""``ipr predict``: 3D poses on an image, a folder, a video or a webcam, with JSON, pictures, video and a viewer."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from integral_pose.cli.checkpoint_args import add_recipe_argument, check_checkpoint_args
from integral_pose.data.checks import check_source
from integral_pose.errors import CliError
from integral_pose.fileio import atomic_write_bytes, check_writable_dir
from integral_pose.inference.detector import UserBoxes, make_detector
from integral_pose.inference.display import LiveView, display_unavailable
from integral_pose.inference.estimator import PoseEstimator, load_intrinsics_json
from integral_pose.inference.filtering import BETA_MM, BETA_PX, D_CUTOFF, MIN_CUTOFF
from integral_pose.inference.sources import open_source
from integral_pose.inference.tracking import PoseSmoother
from integral_pose.viz.draw2d import hstack_images
from integral_pose.viz.plot3d import render_poses_3d
from integral_pose.viz.viewer import write_viewer_html

_DEFAULT_FPS = 30.0  # frame rate assumed for smoothing when a source does not state one

_DETECTOR_HELP = (
    "person boxes when --boxes is not given: 'auto' (default: 'ssdlite' when onnxruntime is installed, else 'hog'), "
    "'ssdlite' (the bundled SSDLite-MobileNetV2 person detector, offline; needs the [detect] extra), 'hog' (OpenCV's "
    "HOG people detector), 'full' (the whole image) or 'onnx:PATH' (your ONNX detector, see --detector-layout); "
    "'ssdlite' and 'hog' use the full image when they find nobody"
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ipr predict``."""
    p = sub.add_parser(
        "predict",
        help="estimate 3D poses on images, folders, videos or a webcam",
        description="Estimate 3D human poses. Every output states its units (px, mm), the joint names, where the "
        "person boxes came from and how the camera was modelled.",
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="integral-pose checkpoint (.pt), a shipped model's name, an exported .onnx file, or a checkpoint of the "
        "original system (*.pth.tar, with --recipe)",
    )
    add_recipe_argument(p)
    p.add_argument(
        "--source",
        required=True,
        help="an image, a folder (recursive, sorted), a video file or webcam:N; unreadable files of a folder and "
        "broken frames of a video are skipped and listed at the end",
    )
    g = p.add_argument_group("person boxes")
    g.add_argument(
        "--boxes",
        help="JSON file of boxes: {'format': 'xywh'|'xyxy', 'boxes': [[...]] or {frame: [...]}}; an empty list "
        "[] for a frame means nobody is there",
    )
    g.add_argument("--box-format", choices=("xywh", "xyxy"), help="box format of --boxes (if the file has none)")
    g.add_argument("--detector", default="auto", help=_DETECTOR_HELP)
    g.add_argument(
        "--detector-layout",
        default="xyxy_score",
        help="output columns of an ONNX detector: xyxy_score, xywh_score, cxcywh_score, xyxy_score_class, "
        "xywh_score_class (default xyxy_score)",
    )
    g.add_argument("--detector-threshold", type=float, default=0.5,
                   help="minimum box score of ssdlite and ONNX detectors (default 0.5; HOG ignores it)")  # fmt: skip
    g.add_argument("--detector-normalized", action="store_true", help="the ONNX detector outputs coordinates in [0, 1]")
    c = p.add_argument_group("camera").add_mutually_exclusive_group()
    c.add_argument("--intrinsics", help="JSON with the 3x3 camera matrix K in px ({'K': ...} or fx, fy, cx, cy)")
    c.add_argument(
        "--fov",
        type=float,
        default=55.0,
        help="horizontal field of view in degrees assumed without --intrinsics (default 55; flagged as a guess)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default=None,
        help="PyTorch eager or onnxruntime (default: onnx for an .onnx --checkpoint, else torch; onnx with a .pt "
        "checkpoint exports it in memory first)",
    )
    m.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    m.add_argument("--flip-test", action="store_true", help="average with the mirrored crop (about 2x slower)")
    m.add_argument("--batch-frames", type=int, default=8, help="frames processed together (default 8)")
    o = p.add_argument_group("outputs")
    o.add_argument("--save-json", metavar="DIR", help="one JSON per image/frame (units, joints, box source, camera)")
    o.add_argument("--save-vis", metavar="DIR", help="one PNG per image/frame: 2D overlay and 3D view side by side")
    o.add_argument("--save-video", metavar="OUT.mp4", help="an mp4 of the side-by-side pictures")
    o.add_argument("--viewer", metavar="OUT.html", help="a self-contained HTML 3D viewer with a frame slider")
    o.add_argument(
        "--min-score",
        type=float,
        default=0.2,
        help="joints whose confidence (0 to 1) is below this are drawn hollow (default 0.2)",
    )
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    v = p.add_argument_group("video (and webcam)")
    v.add_argument(
        "--smooth",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="track people across frames (IoU) and smooth each one's keypoints with a One-Euro filter (default: "
        "on for a video or webcam, off for images; --smooth on a folder treats it as a sequence)",
    )
    v.add_argument(
        "--smooth-min-cutoff",
        type=float,
        default=MIN_CUTOFF,
        help=f"One-Euro cutoff in Hz when still; lower is smoother (default {MIN_CUTOFF:g})",
    )
    v.add_argument(
        "--smooth-beta-px",
        type=float,
        default=BETA_PX,
        help=f"One-Euro speed coefficient of 2D keypoints, 1/(px/s); higher lags less (default {BETA_PX:g})",
    )
    v.add_argument(
        "--smooth-beta-mm",
        type=float,
        default=BETA_MM,
        help=f"One-Euro speed coefficient of 3D keypoints, 1/(mm/s) (default {BETA_MM:g})",
    )
    v.add_argument(
        "--smooth-d-cutoff",
        type=float,
        default=D_CUTOFF,
        help=f"One-Euro cutoff in Hz of the speed estimate (default {D_CUTOFF:g})",
    )
    v.add_argument(
        "--track-iou",
        type=float,
        default=0.3,
        help="minimum IoU to link a person's box to the previous frame's (default 0.3)",
    )
    v.add_argument(
        "--track-max-age",
        type=int,
        default=15,
        help="frames a person may be missed before its track id is retired (default 15)",
    )
    v.add_argument("--show", action="store_true",
                   help="show the frames with their poses live in a window (q or Esc stops); needs a display and "
                   "an OpenCV build with a GUI")  # fmt: skip
    p.set_defaults(func=run)


def _backend_for(checkpoint: str, backend: str | None) -> str:
    """The backend to use: the explicit one, else ``onnx`` for an ``.onnx`` file and ``torch`` otherwise."""
    suffix = Path(checkpoint).suffix.lower()
    if suffix == ".pt2":
        raise CliError(
            f"--checkpoint: {checkpoint!r} is a torch.export archive (.pt2), which predict does not run; "
            "pass the .pt checkpoint it came from, or an .onnx export"
        )
    if backend is not None:
        return backend
    return "onnx" if suffix == ".onnx" else "torch"


def _box_provider(args: argparse.Namespace) -> Any:

    if args.boxes:
        return UserBoxes.from_json(args.boxes, args.box_format)
    if args.box_format:
        raise CliError("--box-format is only meaningful with --boxes")
    return None


def _detector(args: argparse.Namespace) -> Any:
    if args.detector.startswith("onnx:"):
        return make_detector(
            args.detector,
            score_threshold=args.detector_threshold,
            layout=args.detector_layout,
            normalized=args.detector_normalized,
        )
    return make_detector(args.detector, score_threshold=args.detector_threshold)


class _Outputs:
    """Writers for the requested outputs; pictures are made only when an output needs them."""

    def __init__(self, args: argparse.Namespace, fps: float | None) -> None:
        self.json_dir = Path(args.save_json) if args.save_json else None
        self.vis_dir = Path(args.save_vis) if args.save_vis else None
        self.video_path = Path(args.save_video) if args.save_video else None
        self.viewer_path = Path(args.viewer) if args.viewer else None
        self.min_score = float(args.min_score)
        self.fps = fps or 10.0
        self._writer: Any = None
        self._video_tmp: Path | None = None
        self._video_size: tuple[int, int] | None = None
        self.viewer_poses: list[Any] = []
        self.viewer_names: list[str] = []
        for flag, folder in (("--save-json", self.json_dir), ("--save-vis", self.vis_dir)):
            if folder is not None and folder.exists() and not folder.is_dir():
                raise CliError(f"{flag}: expected a folder, got the existing file {str(folder)!r}")
        for flag, file in (("--save-video", self.video_path), ("--viewer", self.viewer_path)):
            if file is not None and file.is_dir():
                raise CliError(f"{flag}: expected a file name, got the existing folder {str(file)!r}")
        if self.video_path is not None and self.video_path.suffix.lower() != ".mp4":
            raise CliError(f"--save-video: expected an .mp4 file name, got {str(self.video_path)!r}")
        if self.viewer_path is not None and self.viewer_path.suffix.lower() not in (".html", ".htm"):
            raise CliError(f"--viewer: expected an .html file name, got {str(self.viewer_path)!r}")
        for flag, folder in (("--save-json", self.json_dir), ("--save-vis", self.vis_dir),
                             ("--save-video", self.video_path.parent if self.video_path else None),
                             ("--viewer", self.viewer_path.parent if self.viewer_path else None)):  # fmt: skip
            if folder is not None:
                check_writable_dir(folder, flag, keep=False)  # before any frame is processed

    @property
    def need_picture(self) -> bool:
        return self.vis_dir is not None or self.video_path is not None

    def add(self, frame: Any, result: Any) -> None:

        if self.json_dir is not None:
            result.save_json(self.json_dir / f"{frame.name}.json")
        if self.viewer_path is not None:
            self.viewer_poses.append(result.keypoints_3d)
            self.viewer_names.append(frame.name)
        if not self.need_picture:
            return

        picture = _side_by_side(frame.image, result, self.min_score)
        if self.vis_dir is not None:
            ok, png = cv2.imencode(".png", picture[:, :, ::-1])
            if not ok:
                raise CliError(f"could not encode the picture of frame {frame.name!r}")
            atomic_write_bytes(self.vis_dir / f"{frame.name}.png", png.tobytes())
        if self.video_path is not None:
            self._write_video_frame(picture)

    def _write_video_frame(self, picture: Any) -> None:

        assert self.video_path is not None
        if self._writer is None:
            self.video_path.parent.mkdir(parents=True, exist_ok=True)
            h, w = picture.shape[:2]
            self._video_size = (w - w % 2, h - h % 2)
            self._video_tmp = self.video_path.with_name(f".{self.video_path.stem}.tmp.mp4")
            self._writer = cv2.VideoWriter(
                str(self._video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._video_size
            )
            if not self._writer.isOpened():
                raise CliError(f"--save-video: OpenCV cannot write an mp4 to {str(self.video_path)!r}")
        assert self._video_size is not None
        if (picture.shape[1], picture.shape[0]) != self._video_size:
            picture = cv2.resize(picture, self._video_size, interpolation=cv2.INTER_AREA)
        self._writer.write(picture[:, :, ::-1].copy())

    def close(self, ok: bool) -> None:
        if self._writer is not None:
            self._writer.release()
            assert self._video_tmp is not None and self.video_path is not None
            if ok:
                with open(self._video_tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(self._video_tmp, self.video_path)
            else:
                self._video_tmp.unlink(missing_ok=True)
        if ok and self.viewer_path is not None and self.viewer_poses:
            write_viewer_html(self.viewer_path, self.viewer_poses, self._joint_names, self._edges, self.viewer_names)

    def set_skeleton(self, joint_names: Any, edges: Any) -> None:
        self._joint_names, self._edges = joint_names, edges


def _side_by_side(image: Any, result: Any, min_score: float) -> Any:
    """2D overlay (left) and a 3D view of the camera-frame poses (right), same height."""

    overlay = result.draw(image, min_score=min_score)
    side = max(240, min(720, overlay.shape[0]))
    title = f"3D, mm ({'intrinsics' if result.root_from == 'intrinsics' else f'FOV {result.fov_deg:g} deg guess'})"
    view = render_poses_3d(result.keypoints_3d, result.edges, result.joint_names, size_px=(side, side), title=title)
    return hstack_images(overlay, view)


def _smoother(args: argparse.Namespace, kind: str) -> PoseSmoother | None:
    """The tracker + One-Euro smoother for a video/webcam (or a folder with --smooth), checked before the model
    loads; ``None`` for single images or with --no-smooth on a folder."""
    if kind == "image" or (kind == "folder" and not args.smooth):
        return None
    if args.track_max_age < 0:
        raise CliError(f"--track-max-age: expected frames >= 0, got {args.track_max_age}")
    if not (0.0 < args.track_iou <= 1.0):
        raise CliError(f"--track-iou: expected a value in (0, 1], got {args.track_iou}")
    try:
        return PoseSmoother(args.smooth_min_cutoff, args.smooth_beta_px, args.smooth_beta_mm, args.smooth_d_cutoff,
                            smooth=args.smooth is not False, iou_threshold=args.track_iou,
                            max_age=args.track_max_age)  # fmt: skip
    except ValueError as exc:
        raise CliError(f"--smooth-*: {exc}") from None


def _live_view(args: argparse.Namespace) -> LiveView | None:
    """A preview window for --show, or ``None`` with a one-line warning when this machine cannot show one."""
    if not args.show:
        return None
    why = display_unavailable()
    if why is not None:
        print(f"warning: --show ignored: {why}", file=sys.stderr)
        return None
    return LiveView(f"ipr predict {args.source}")


def _check_args(args: argparse.Namespace) -> None:
    """Cheap checks of the options and inputs, before the model loads."""
    if args.batch_frames < 1:
        raise CliError(f"--batch-frames: expected >= 1, got {args.batch_frames}")
    if not (0.0 < args.fov < 180.0):
        raise CliError(f"--fov: expected degrees in (0, 180), got {args.fov}")
    if not (0.0 <= args.min_score <= 1.0):
        raise CliError(f"--min-score: expected a confidence in [0, 1], got {args.min_score}")
    check_checkpoint_args(args.checkpoint, args.recipe)
    check_source(args.source)


def _print_summary(args: argparse.Namespace, source: Any, est: PoseEstimator, smoother: PoseSmoother | None,
                   outputs: _Outputs, K: np.ndarray | None, frames_done: int, people: int,
                   sources_used: dict[str, int], secs: float) -> None:  # fmt: skip
    """The closing lines: throughput, box sources, camera, tracking and smoothing, files written, skipped items."""
    camera = f"intrinsics from {args.intrinsics}" if K is not None else f"FOV {args.fov:g} deg guess"
    used = ", ".join(f"{k}: {v}" for k, v in sorted(sources_used.items()))
    print(
        f"{frames_done} frame(s), {people} person(s), {frames_done / secs:.2f} frames/s; boxes: {used}; "
        f"camera: {camera}; backend {est.backend} on {args.device}"
    )
    if smoother is not None:
        smooth = (
            f"One-Euro (min_cutoff {args.smooth_min_cutoff:g} Hz, beta {args.smooth_beta_px:g}/px, "
            f"{args.smooth_beta_mm:g}/mm, d_cutoff {args.smooth_d_cutoff:g} Hz"
            f"{'' if source.fps else f', {_DEFAULT_FPS:g} fps assumed'})"
            if smoother.smooth
            else "off"
        )
        ids = smoother.tracker.tracks_started
        print(f"tracking: {ids} track id(s) (IoU >= {args.track_iou:g}); smoothing: {smooth}")
    written = [(label, path) for label, path in (("json", outputs.json_dir), ("pictures", outputs.vis_dir),
               ("video", outputs.video_path), ("viewer", outputs.viewer_path)) if path is not None]  # fmt: skip
    for label, path in written:
        print(f"{label}: {path}")
    if not written:
        print("nothing saved: add --save-json DIR, --save-vis DIR, --save-video OUT.mp4 or --viewer OUT.html")
    if source.skipped:
        print(f"skipped {len(source.skipped)} unreadable item(s) (no output written for them):")
        for what, why in source.skipped:
            print(f"  {what}: {why}")


def run(args: argparse.Namespace) -> int:
    """Run ``ipr predict``; returns 0 on success."""
    _check_args(args)
    backend = _backend_for(args.checkpoint, args.backend)
    source = open_source(args.source, skip_unreadable=True)
    boxes = _box_provider(args)
    K = load_intrinsics_json(args.intrinsics) if args.intrinsics else None
    outputs = _Outputs(args, source.fps)
    smoother = _smoother(args, source.kind)
    fps = source.fps or _DEFAULT_FPS  # timestamps of the smoother: frame index / fps
    view = _live_view(args)
    try:
        detector = _detector(args)
    except ImportError as exc:
        raise CliError(str(exc)) from None
    est = PoseEstimator.from_checkpoint(args.checkpoint, device=args.device, backend=backend, detector=detector,
                                        recipe=args.recipe)  # fmt: skip
    outputs.set_skeleton(est.joint_names, est.edges)
    bar = tqdm(
        total=source.length,
        unit="frame",
        disable=args.no_progress or source.kind == "image",
        desc=f"predict {source.kind}",
    )
    frames_done, people, sources_used = 0, 0, {}
    start = time.perf_counter()
    ok = False
    try:
        batch: list[Any] = []

        def flush() -> None:
            nonlocal frames_done, people
            if not batch:
                return
            user = [boxes.lookup(f.name, f.path, f.index) if boxes is not None else None for f in batch]
            results = est.estimate([f.image for f in batch], user, [K] * len(batch), args.fov, args.flip_test,
                                   [f.name for f in batch])  # fmt: skip
            for f, r in zip(batch, results):
                if smoother is not None:
                    r = smoother(r, f.index / fps)
                outputs.add(f, r)
                if view is not None and not view.show(r.draw(f.image, min_score=args.min_score)):
                    print("--show: window closed, stopping", file=sys.stderr)
                people += r.num_people
                sources_used[r.box_source] = sources_used.get(r.box_source, 0) + 1
            frames_done += len(batch)
            bar.update(len(batch))
            batch.clear()

        for frame in source:
            batch.append(frame)
            if len(batch) >= (1 if view is not None else args.batch_frames):
                flush()
            if view is not None and view.stopped:
                break
        flush()
        ok = True
    except KeyError as exc:
        raise CliError(str(exc.args[0]) if exc.args else str(exc)) from None
    finally:
        bar.close()
        if view is not None:
            view.close()
        outputs.close(ok and frames_done > 0)
    if frames_done == 0:
        raise CliError(
            f"--source: nothing could be read from {args.source!r}: {len(source.skipped)} unreadable "
            f"item(s), e.g. {source.skipped[0][0]!r} ({source.skipped[0][1]})"
            if source.skipped
            else f"--source: {args.source!r} delivered no frames"
        )
    _print_summary(args, source, est, smoother, outputs, K, frames_done, people, sources_used,
                   time.perf_counter() - start)  # fmt: skip
    return 0

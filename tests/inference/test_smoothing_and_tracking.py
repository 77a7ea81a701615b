"""Video: the One-Euro filter (jitter, step lag, hand-checked first-order numbers), IoU tracking (crossing and
missing people), per-track smoothing of pose results, the --show checks, and ``ipr predict`` on a generated video."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from integral_pose.cli.main import main
from integral_pose.inference.display import LiveView, display_unavailable
from integral_pose.inference.filtering import OneEuroFilter, OneEuroParams, smoothing_factor
from integral_pose.inference.results import PoseResult
from integral_pose.inference.tracking import IouTracker, PoseSmoother

FPS = 30.0


def test_smoothing_factor_matches_the_first_order_formula() -> None:
    # tau = 1 / (2 pi fc); alpha = 1 / (1 + tau / Te): at 30 Hz and 1 Hz, 1 / (1 + 30 / (2 pi)) = 0.173171
    assert float(smoothing_factor(1 / 30, 1.0)) == pytest.approx(0.173171, abs=1e-6)
    assert float(smoothing_factor(1.0, 1.0)) == pytest.approx(2 * math.pi / (2 * math.pi + 1))
    np.testing.assert_allclose(smoothing_factor(0.1, np.array([1.0, 10.0])), [0.385870, 0.862697], atol=1e-6)


def test_beta_zero_is_an_exponential_smoother_with_hand_checked_step_response() -> None:
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    out = [float(f(0.0 if i == 0 else 1.0, i / FPS)) for i in range(11)]
    alpha = 0.173171
    # after n samples of the step, 1 - (1 - alpha)^n: 0.1732, 0.3164, ..., 0.8507 after 10
    for n in range(1, 11):
        assert out[n] == pytest.approx(1 - (1 - alpha) ** n, abs=1e-5)
    assert out[1] == pytest.approx(0.1732, abs=1e-4) and out[10] == pytest.approx(0.8507, abs=1e-4)


def test_speed_term_bounds_the_lag_of_a_step() -> None:
    def samples_to_95(beta: float) -> int:
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        f(np.zeros(2), 0.0)
        for i in range(1, 200):
            if (f(np.full(2, 100.0), i / FPS) >= 95.0).all():
                return i
        raise AssertionError("the step was never reached")

    slow, fast = samples_to_95(0.0), samples_to_95(0.02)  # a 100 px step at 30 fps
    assert slow == 16  # ceil(log(0.05) / log(1 - 0.173171))
    assert fast <= 8 and fast < slow


def test_filter_reduces_jitter_of_a_noisy_slow_signal() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(300) / FPS
    truth = 200 + 30 * np.sin(2 * np.pi * 0.1 * t)  # px, a slow sway (peak speed 19 px/s)
    noisy = truth + rng.normal(0.0, 3.0, t.shape)
    f = OneEuroFilter()  # defaults: 1 Hz, beta 0.02 per px/s
    smooth = np.array([float(f(x, ti)) for x, ti in zip(noisy, t)])
    raw_err, smooth_err = np.sqrt(np.mean((noisy - truth) ** 2)), np.sqrt(np.mean((smooth - truth)[30:] ** 2))
    raw_jitter, smooth_jitter = np.std(np.diff(noisy)), np.std(np.diff(smooth))
    assert smooth_err < 0.6 * raw_err
    assert smooth_jitter < 0.3 * raw_jitter


def test_filter_handles_arrays_nan_and_time_that_does_not_advance() -> None:
    f = OneEuroFilter(beta=0.0)
    first = f(np.array([[1.0, np.nan]]), 0.0)
    np.testing.assert_array_equal(first, [[1.0, np.nan]])
    out = f(np.array([[2.0, 5.0]]), 1.0)  # the NaN value starts from its first finite sample
    assert out[0, 0] == pytest.approx(1 + float(smoothing_factor(1.0, 1.0))) and out[0, 1] == 5.0
    again = f(np.array([[9.0, 9.0]]), 1.0)
    np.testing.assert_allclose(again, out)
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroParams(min_cutoff=0.0)
    with pytest.raises(ValueError, match="beta"):
        OneEuroFilter(beta=-1.0)


def _box(cx: float, cy: float, w: float = 40.0, h: float = 100.0) -> list[float]:
    return [cx - w / 2, cy - h / 2, w, h]


def test_tracker_keeps_ids_when_people_cross_and_go_missing() -> None:
    tracker = IouTracker(iou_threshold=0.3, max_age=3)
    rng = np.random.default_rng(1)
    seen: dict[str, set[int]] = {"a": set(), "b": set()}
    for i in range(30):
        a = _box(50 + 8 * i, 100)  # walks right
        b = _box(290 - 8 * i, 110)  # walks left: they cross around frame 15
        people = [("a", a), ("b", b)]
        if 8 <= i <= 9:
            people = [("b", b)]  # a is missed for two frames
        order = rng.permutation(len(people))  # detectors return people in any order
        people = [people[k] for k in order]
        ids, _ = tracker.update(np.array([p[1] for p in people]))
        for (who, _), tid in zip(people, ids):
            seen[who].add(int(tid))
    assert seen == {"a": {0}, "b": {1}} or seen == {"a": {1}, "b": {0}}
    assert tracker.tracks_started == 2


def test_tracker_retires_a_track_after_max_age_and_never_reuses_ids() -> None:
    tracker = IouTracker(max_age=2)
    assert tracker.update(np.array([_box(50, 50)]))[0].tolist() == [0]
    for _ in range(3):
        assert tracker.update(np.zeros((0, 4)))[0].size == 0
    assert tracker.update(np.array([_box(50, 50)]))[0].tolist() == [1]  # 3 frames missed > max_age 2
    with pytest.raises(ValueError, match="iou_threshold"):
        IouTracker(iou_threshold=0.0)


def _result(boxes: list[list[float]], kp_offset: np.ndarray, root_z: float) -> PoseResult:
    n, j = len(boxes), 3
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    kp2d = np.stack([np.tile(b[i, :2], (j, 1)) + kp_offset[i] for i in range(n)]) if n else np.zeros((0, j, 2))
    rel = np.zeros((n, j, 3))
    rel[:, 1:, 1] = [-200.0, 300.0]
    abs3d = rel + np.array([0.0, 0.0, root_z])
    return PoseResult(
        boxes=b, box_scores=np.ones(n), box_source="user", keypoints_2d=kp2d, keypoints_3d_rel=rel,
        keypoints_3d=abs3d, scores=np.ones((n, j)), joint_names=("root", "head", "foot"), edges=((0, 1), (0, 2)),
        image_size=(400, 300), K=np.eye(3), root_from="fov_guess", fov_deg=55.0,
    )  # fmt: skip


def test_pose_smoother_tracks_and_smooths_each_person_and_keeps_3d_consistent(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    sm = PoseSmoother()
    raw_z, out_z, ids = [], [], []
    for i in range(20):
        boxes = [_box(100, 150), _box(300, 150)][:: 1 if i % 2 else -1]  # order flips every frame
        z = 4000.0 + rng.normal(0, 50.0)
        res = sm(_result(boxes, rng.normal(0, 2.0, (2, 3, 2)), z), i / FPS)
        raw_z.append(z)
        out_z.append(res.keypoints_3d[0, 0, 2])
        by_x = {round(res.boxes[k, 0]): int(res.track_ids[k]) for k in range(2)}
        ids.append((by_x[80], by_x[280]))
        np.testing.assert_allclose(res.keypoints_3d, res.keypoints_3d_rel + res.keypoints_3d[:, :1], atol=1e-9)
        assert res.smoothing["filter"] == "one_euro"
    assert len(set(ids)) == 1  # the person on the left keeps one id, the one on the right another
    assert np.std(np.diff(out_z[5:])) < 0.5 * np.std(np.diff(raw_z[5:]))
    back = PoseResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.track_ids.tolist() == res.track_ids.tolist() and back.smoothing == res.smoothing
    off = PoseSmoother(smooth=False)(_result([_box(100, 150)], np.zeros((1, 3, 2)), 4000.0), 0.0)
    assert off.track_ids.tolist() == [0] and off.smoothing["filter"] == "none"


def test_show_reports_why_no_window_can_be_opened() -> None:
    import sys

    if sys.platform.startswith("linux"):
        assert display_unavailable({}) == "no display ($DISPLAY is not set)"
    gui = [ln for ln in cv2.getBuildInformation().splitlines() if ln.strip().startswith("GUI:")]
    if gui and gui[0].split(":", 1)[1].strip().upper() == "NONE":
        assert "no GUI backend" in (display_unavailable({"DISPLAY": ":0"}) or "")


def test_live_view_shows_frames_until_q(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[int, ...]] = []
    keys = iter([-1, ord("q")])
    monkeypatch.setattr(cv2, "namedWindow", lambda *a: None, raising=False)
    monkeypatch.setattr(cv2, "imshow", lambda title, img: shown.append(img.shape), raising=False)
    monkeypatch.setattr(cv2, "waitKey", lambda ms: next(keys, -1), raising=False)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0, raising=False)
    monkeypatch.setattr(cv2, "destroyWindow", lambda *a: None, raising=False)
    view = LiveView(max_side=100)
    frame = np.zeros((300, 200, 3), np.uint8)
    assert view.show(frame) and not view.show(frame) and view.stopped
    assert shown == [(100, 67, 3), (100, 67, 3)]
    view.close()


def _two_person_video(root: Path, frames: int = 8) -> tuple[Path, Path]:
    """Two textured blobs side by side, still, with noise per frame; boxes per frame in shuffled order."""
    rng = np.random.default_rng(3)
    video, boxes = root / "walk.mp4", {}
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 96))
    assert writer.isOpened()
    base = rng.integers(0, 255, (96, 160, 3), dtype=np.uint8)
    for i in range(frames):
        img = np.clip(base.astype(int) + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
        writer.write(img)
        people = [[8 + i, 10, 56, 80], [96 - i, 8, 56, 82]]
        boxes[f"walk_{i:06d}"] = people[:: 1 if i % 2 else -1]
    writer.release()
    (root / "boxes.json").write_text(json.dumps({"format": "xywh", "boxes": boxes}))
    return video, root / "boxes.json"


def test_predict_on_a_video_smooths_and_keeps_track_ids(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, boxes = _two_person_video(tmp_path)
    runs = {}
    for flag in ("--smooth", "--no-smooth"):
        out = tmp_path / flag.strip("-")
        code = main([
            "predict", "--checkpoint", str(tiny_checkpoint), "--source", str(video), "--boxes", str(boxes),
            "--save-json", str(out), "--no-progress", "--batch-frames", "3", "--show", flag,
        ])  # fmt: skip
        assert code == 0
        printed = capsys.readouterr()
        assert "8 frame(s), 16 person(s)" in printed.out and "tracking: 2 track id(s)" in printed.out
        assert "--show ignored" in printed.err
        runs[flag] = [PoseResult.from_dict(json.loads(p.read_text())) for p in sorted(out.glob("*.json"))]
    for flag, results in runs.items():
        assert len(results) == 8
        left_ids = {int(r.track_ids[np.argmin(r.boxes[:, 0])]) for r in results}
        right_ids = {int(r.track_ids[np.argmax(r.boxes[:, 0])]) for r in results}
        assert len(left_ids) == len(right_ids) == 1 and left_ids != right_ids
        assert results[0].smoothing["filter"] == ("one_euro" if flag == "--smooth" else "none")

    def jitter(results: list[PoseResult], key: str) -> float:
        left = np.stack([getattr(r, key)[np.argmin(r.boxes[:, 0])] for r in results])
        return float(np.abs(np.diff(left, axis=0)).mean())

    # frame-to-frame change of the left person's joints (measured 0.43x in px and 0.68x in mm)
    assert jitter(runs["--smooth"], "keypoints_2d") < 0.6 * jitter(runs["--no-smooth"], "keypoints_2d")
    assert jitter(runs["--smooth"], "keypoints_3d_rel") < 0.85 * jitter(runs["--no-smooth"], "keypoints_3d_rel")


def test_predict_rejects_bad_smoothing_settings(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, _ = _two_person_video(tmp_path, frames=2)
    for extra, needle in ((["--smooth-min-cutoff", "0"], "min_cutoff"), (["--track-max-age", "-1"], "--track-max-age")):
        code = main(["predict", "--checkpoint", str(tiny_checkpoint), "--source", str(video), *extra])
        assert code != 0
        assert needle in capsys.readouterr().err

"""SynthMocap: the embedded dataset — real motion capture rendered through the real Human3.6M cameras.

:func:`generate_synthmocap` writes, under ``out_dir``::

    synthmocap.json          parameters + completion flag (idempotence)
    train.npz, test.npz      canonical records (:mod:`integral_pose.data.records`, joint set ``h36m18``)
    images/train/000000.jpg  one JPEG per record
    images/test/000000.jpg
    preview.png              (``preview=True``) a mosaic with the ground-truth skeletons drawn

Splits (generalisation is measured on unseen motions **and** unseen cameras):

* train: CMU clips ``cmu_walk_1`` (file ``131_01``), ``cmu_hop`` (``131_03``) and 13 DeepMimic clips; the
  calibrations of Human3.6M cameras 1–3 (ids 54138969, 55011271, 58860488) of all 11 subjects (33 cameras).
* test: CMU clip ``cmu_walk_2`` (``131_02``) and DeepMimic ``dance_b`` and ``punch``; the calibrations of camera 4
  (id 60457274) of all 11 subjects (11 cameras).

Record fields: ``image_path`` (relative to the ``.npz`` folder), ``joints_3d_cam`` (mm, camera frame),
``joints_2d`` = the **distorted** projection of the 3D joints (so labels sit on the pixels), the full camera
(f, c, k, p scaled to the image size; R; T in mm), ``joints_vis`` = 1 when the joint projects inside the image,
``box`` = the tight box of the 18 projected joints enlarged ×1.25 about its centre (x, y, w, h px; the loader
may instead build the original system's 2000 mm box from the 3D pelvis), ``subject`` = the motion source
(``"cmu"``/``"deepmimic"``), ``action`` = readable clip name (``cmu_walk_1``, ``cmu_walk_2``, ``cmu_hop``, or the
DeepMimic motion name), ``subaction`` = the CMU trial number (1, 2, 3 for ``131_01``…``131_03``; 0 for DeepMimic),
``camera_id`` = ``"<subject>:<id>"`` of the calibration (e.g. ``"S9:60457274"``), ``frame`` = clip frame index.
The manifest and the records' header ``meta`` map each action to its source clip (``"clips": {"cmu_walk_1":
{"source": "cmu", "clip_id": "131_01", "file": "cmu_mocap/131_01.bvh"}, …}``).

Every sample is drawn from its own generator seeded by ``(seed, split, index)``, so the output does not depend on
the number of worker processes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from integral_pose.data.records import PoseRecords, RecordsHeader, load_records, save_records
from integral_pose.data.sources.h36m import load_h36m_cameras
from integral_pose.fileio import atomic_write_bytes, atomic_write_json
from integral_pose.skeletons import H36M_18
from integral_pose.synth.render import Background, RayGrid, body_primitives, render_body, sample_scene
from integral_pose.synth.retarget import CMU_ACTIONS, CMU_CLIPS, DEEPMIMIC_CLIPS, assets_dir, load_clip_library

__all__ = [
    "GENERATOR_VERSION",
    "MIN_SIZE",
    "TEST_CAMERA_IDS",
    "TEST_CLIPS",
    "clip_sources",
    "generate_synthmocap",
    "make_preview",
    "split_clips_and_cameras",
]

GENERATOR_VERSION = 2  # 2: readable CMU action names, CMU trial number as subaction, clip map in the manifest
MIN_SIZE = 64
TEST_CLIPS: tuple[str, ...] = ("cmu_walk_2", "dance_b", "punch")
TEST_CAMERA_IDS: tuple[str, ...] = ("60457274",)
BOX_ENLARGE = 1.25
JPEG_QUALITY = 92
_SPLIT_CODE = {"train": 0, "test": 1}
# preview colours (BGR) of the bones, by the side of the bone's child joint
SIDE_COLOURS_BGR: dict[str, tuple[int, int, int]] = {"left": (255, 128, 0), "right": (0, 0, 255), "centre": (0, 255, 0)}
KEY_HEIGHT = 24  # px of the colour key strip under the preview mosaic
_PHOTOS = ("images/astronaut.png", "images/camera.png", "images/grace_hopper.jpg", "coco_sample/000000000785.jpg")


def clip_sources() -> dict[str, dict[str, str]]:
    """``{action: {"source", "clip_id", "file"}}`` for every clip: where each records' action comes from."""

    out = {CMU_ACTIONS[c]: {"source": "cmu", "clip_id": c, "file": f"cmu_mocap/{c}.bvh"} for c in CMU_CLIPS}
    for name in DEEPMIMIC_CLIPS:
        out[name] = {"source": "deepmimic", "clip_id": name, "file": f"deepmimic/humanoid3d_{name}.txt"}
    return out


def split_clips_and_cameras(split: str) -> tuple[list[str], list[str]]:
    """Clip (action) names and camera ids of ``split`` (``"train"`` or ``"test"``)."""

    all_clips = [*(CMU_ACTIONS[c] for c in CMU_CLIPS), *DEEPMIMIC_CLIPS]
    all_cams = ["54138969", "55011271", "58860488", "60457274"]
    if split == "train":
        return [c for c in all_clips if c not in TEST_CLIPS], [c for c in all_cams if c not in TEST_CAMERA_IDS]
    if split == "test":
        return list(TEST_CLIPS), list(TEST_CAMERA_IDS)
    raise ValueError(f"split: expected 'train' or 'test', got {split!r}")


# ---------------------------------------------------------------------------------------------------- workers
@dataclass
class _Worker:
    """Per-process state: clips, cameras, photos and ray grids (built lazily, cached)."""

    out_dir: Path
    size: int | None
    seed: int
    assets: Path | None
    clips: dict[str, Any] | None = None
    cameras: list[tuple[str, Any]] | None = None
    background: Any = None
    grids: dict[str, Any] | None = None

    def setup(self) -> None:

        base = self.assets or assets_dir()
        self.clips = load_clip_library(base)
        cams = load_h36m_cameras(base / "h36m_cameras.json")
        self.cameras = [(f"{subj}:{c.camera_id}", c) for subj, lst in cams.items() for c in lst]
        photos = []
        for rel in _PHOTOS:
            path = base / rel
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f"background image {path} could not be read (missing or not an image)")
            photos.append(img)
        self.background = Background(photos)
        self.grids = {}

    def render(self, split: str, index: int) -> dict[str, Any]:
        """Render sample ``index`` of ``split``, write its JPEG and return its record row."""

        img, row = self.make(split, index)
        path = self.out_dir / row["image_path"]
        if not cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
            raise OSError(f"could not write image {path}")
        return row

    def make(self, split: str, index: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Render sample ``index`` of ``split`` in memory: ``(BGR uint8 image, record row)``."""

        if self.clips is None:
            self.setup()
        assert self.clips is not None and self.cameras is not None and self.grids is not None
        clip_names, cam_ids = split_clips_and_cameras(split)
        clips = [self.clips[n] for n in clip_names]
        cams = [(k, c) for k, c in self.cameras if c.camera_id in cam_ids]
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _SPLIT_CODE[split], index]))
        scene = sample_scene(rng, clips, cams, self.size)
        grid = self.grids.get(scene.camera_key)
        if grid is None:
            grid = self.grids[scene.camera_key] = RayGrid(scene.camera, *scene.size)
        bg = self.background.sample(rng, *scene.size)
        prims = body_primitives(scene.points_cam, scene.style, scene.body.scale)
        img = render_body(bg, scene.camera, prims, scene.style, grid)
        rel = f"images/{split}/{index:06d}.jpg"
        j3d = scene.points_cam[:18]
        uv = scene.camera.project(j3d)
        w, h = scene.size
        vis = ((uv[:, 0] >= 0) & (uv[:, 0] <= w - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= h - 1)).astype(np.float32)
        lo, hi = uv.min(0), uv.max(0)
        centre, extent = 0.5 * (lo + hi), np.maximum(hi - lo, 1.0) * BOX_ENLARGE
        cam = scene.camera
        return img, {
            "image_path": rel,
            "image_size": (w, h),
            "box": (*(centre - 0.5 * extent), *extent),
            "joints_2d": uv,
            "joints_3d_cam": j3d,
            "joints_vis": vis,
            "cam_f": cam.f,
            "cam_c": cam.c,
            "cam_k": cam.k,
            "cam_p": cam.p,
            "cam_R": cam.R,
            "cam_T": cam.T,
            "subject": scene.clip.source,
            "action": scene.clip.name,
            "subaction": scene.clip.trial,
            "camera_id": scene.camera_key,
            "frame": scene.frame,
        }


_WORKER: _Worker | None = None


def _init_worker(out_dir: str, size: int | None, seed: int, assets: str | None) -> None:
    global _WORKER
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    cv2.setNumThreads(1)
    _WORKER = _Worker(Path(out_dir), size, seed, Path(assets) if assets else None)


def _render_task(task: tuple[str, int]) -> dict[str, Any]:
    assert _WORKER is not None
    return _WORKER.render(*task)


# ---------------------------------------------------------------------------------------------------- records
def _rows_to_records(rows: list[dict[str, Any]], split: str, meta: dict[str, Any]) -> PoseRecords:
    header = RecordsHeader(
        dataset="synthmocap",
        split=split,
        joint_set=H36M_18.name,
        root=".",
        has_3d=True,
        source_hash=meta["params_hash"],
        meta=meta,
    )

    def col(key: str) -> np.ndarray:
        return np.asarray([r[key] for r in rows])

    return PoseRecords.create(
        header,
        image_path=[r["image_path"] for r in rows],
        image_size=col("image_size"),
        box=col("box"),
        joints_2d=col("joints_2d"),
        joints_vis=col("joints_vis"),
        joints_3d_cam=col("joints_3d_cam"),
        cam_f=col("cam_f"),
        cam_c=col("cam_c"),
        cam_k=col("cam_k"),
        cam_p=col("cam_p"),
        cam_R=col("cam_R"),
        cam_T=col("cam_T"),
        subject=[r["subject"] for r in rows],
        action=[r["action"] for r in rows],
        subaction=np.asarray([r["subaction"] for r in rows], dtype=np.int32),
        camera_id=[r["camera_id"] for r in rows],
        frame=col("frame"),
    )


def _write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    atomic_write_json(path, obj, sort_keys=True)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


# ---------------------------------------------------------------------------------------------------- public
def generate_synthmocap(
    out_dir: str | os.PathLike[str],
    frames_train: int = 2000,
    frames_test: int = 500,
    size: int | None = None,
    seed: int = 0,
    workers: int = 1,
    preview: bool = False,
    progress: bool = True,
    assets: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Render the SynthMocap train and test splits (idempotent).

    Args:
        out_dir: output folder (created). If it already holds a SynthMocap set made with the same parameters,
            nothing is rendered; with other parameters a ``ValueError`` names the differences.
        frames_train: number of train images (≥ 1).
        frames_test: number of test images (≥ 1).
        size: image width in px (≥ :data:`MIN_SIZE`); the height follows the camera's aspect (1000×1002 →
            ``size × round(1.002·size)``). ``None`` keeps the cameras' own 1000×1000 / 1000×1002.
        seed: base seed; sample ``i`` of a split uses ``SeedSequence([seed, split, i])``.
        workers: processes (≥ 1); the output is identical for any value.
        preview: also write ``preview.png`` (a mosaic of samples with their ground-truth skeletons).
        progress: show a progress bar.
        assets: folder with the source data; the package's own when ``None``.

    Returns:
        ``{"train": <train.npz>, "test": <test.npz>, "manifest": <synthmocap.json>}`` plus ``"preview"`` when
        requested.

    Raises:
        TypeError / ValueError: bad arguments (frames ≤ 0, size too small, workers < 1) or a folder holding a
            different SynthMocap set or unrelated files.
    """
    frames_train = _check_int("frames_train", frames_train, 1)
    frames_test = _check_int("frames_test", frames_test, 1)
    if size is not None:
        size = _check_int("size", size, MIN_SIZE)
    seed = _check_int("seed", seed, 0)
    workers = _check_int("workers", workers, 1)
    out = Path(out_dir)
    params = {
        "generator_version": GENERATOR_VERSION,
        "frames_train": frames_train,
        "frames_test": frames_test,
        "size": size,
        "seed": seed,
        "test_clips": list(TEST_CLIPS),
        "test_camera_ids": list(TEST_CAMERA_IDS),
        "clips": clip_sources(),
    }
    manifest = out / "synthmocap.json"
    paths = {"train": out / "train.npz", "test": out / "test.npz", "manifest": manifest}
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir: {out} exists and is not a folder")
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{manifest}: unreadable SynthMocap manifest ({exc}); delete the folder to rebuild"
            ) from None
        old_params = old.get("params", {})
        diff = {k: (old_params.get(k), v) for k, v in params.items() if old_params.get(k) != v}
        if diff:
            text = ", ".join(f"{k}: existing {a!r} vs requested {b!r}" for k, (a, b) in sorted(diff.items()))
            raise ValueError(
                f"out_dir: {out} already holds a SynthMocap set made with different parameters ({text}); "
                "choose another folder or delete this one"
            )
        if old.get("complete") and paths["train"].is_file() and paths["test"].is_file():
            if preview:
                paths["preview"] = make_preview(out)
            return paths
    elif out.is_dir() and any(out.iterdir()):
        raise ValueError(f"out_dir: {out} is not empty and holds no SynthMocap manifest; refusing to write there")

    out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
    _write_json_atomic(manifest, {"params": params, "complete": False})

    params_hash = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    tasks = [("train", i) for i in range(frames_train)] + [("test", i) for i in range(frames_test)]
    rows = _run_tasks(tasks, out, size, seed, workers, progress, assets)
    counts = {"train": frames_train, "test": frames_test}
    start = 0
    for split in ("train", "test"):
        meta = {
            **{k: v for k, v in params.items() if k != "generator_version"},
            "generator_version": GENERATOR_VERSION,
            "params_hash": params_hash,
            "box_rule": f"tight box of the 18 projected joints x{BOX_ENLARGE}",
            "vis_rule": "1 when the joint projects inside the image",
        }
        recs = _rows_to_records(rows[start : start + counts[split]], split, meta)
        save_records(recs, paths[split])
        start += counts[split]
    _write_json_atomic(manifest, {"params": params, "complete": True, "counts": counts})
    if preview:
        paths["preview"] = make_preview(out)
    return paths


def _run_tasks(
    tasks: list[tuple[str, int]],
    out: Path,
    size: int | None,
    seed: int,
    workers: int,
    progress: bool,
    assets: str | os.PathLike[str] | None,
) -> list[dict[str, Any]]:

    init_args = (str(out), size, seed, str(assets) if assets is not None else None)
    bar = tqdm(total=len(tasks), desc="synthmocap", unit="img", disable=not progress)
    rows: list[dict[str, Any]] = []
    try:
        if workers == 1:
            _init_worker(*init_args)
            for t in tasks:
                rows.append(_render_task(t))
                bar.update(1)
        else:
            ctx = mp.get_context("spawn" if os.name == "nt" else "fork")
            chunk = max(1, min(16, len(tasks) // (workers * 8)))
            with ctx.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
                for row in pool.imap(_render_task, tasks, chunksize=chunk):
                    rows.append(row)
                    bar.update(1)
    finally:
        bar.close()
    return rows


def make_preview(out_dir: str | os.PathLike[str], count: int = 16, tile: int = 256) -> Path:
    """Write ``preview.png``: up to ``count`` samples (train first, then test) with their skeletons drawn.

    Joints are drawn from the stored records (left limbs blue, right limbs red, centre green); invisible joints
    as hollow circles. A ``KEY_HEIGHT`` px strip under the tiles is the colour key (left / right / centre /
    outside the image).
    """

    out = Path(out_dir)
    tables = [load_records(out / "train.npz"), load_records(out / "test.npz")]
    n_test = min(len(tables[1]), count // 4)
    picks = [(tables[0], i) for i in range(min(len(tables[0]), count - n_test))]
    picks += [(tables[1], i) for i in range(n_test)]
    tiles = []
    for rec, i in picks:
        img = cv2.imread(str(rec.image_file(i)), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"preview: image {rec.image_file(i)} could not be read")
        # crop a square around the box so the skeleton is large enough to judge
        x, y, w, h = rec.box[i]
        side = max(w, h) * 1.2
        cx, cy = x + w / 2, y + h / 2
        s = tile / side
        mat = np.array([[s, 0, tile / 2 - s * cx], [0, s, tile / 2 - s * cy]])
        crop = cv2.warpAffine(img, mat, (tile, tile), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        uv = rec.joints_2d[i] * s + mat[:, 2]
        for a, b in H36M_18.edges:
            colour = SIDE_COLOURS_BGR[_side(b)]
            cv2.line(crop, _pt(uv[a]), _pt(uv[b]), colour, 1, cv2.LINE_AA, shift=4)
        for j in range(H36M_18.num_joints):
            cv2.circle(crop, _pt(uv[j]), 2 * 16, (255, 255, 255), -1 if rec.joints_vis[i, j] else 1, cv2.LINE_AA, 4)
        label = f"{rec.header.split} {rec.action[i]} {rec.camera_id[i]}"
        cv2.putText(crop, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(crop)
    while len(tiles) % 4:
        tiles.append(np.zeros((tile, tile, 3), dtype=np.uint8))
    mosaic = np.concatenate([np.concatenate(tiles[r : r + 4], 1) for r in range(0, len(tiles), 4)], 0)
    mosaic = np.concatenate([mosaic, _colour_key(mosaic.shape[1])], 0)
    path = out / "preview.png"
    ok, buf = cv2.imencode(".png", mosaic)
    if not ok:
        raise OSError(f"preview: PNG encoding failed for {path}")
    atomic_write_bytes(path, buf.tobytes())
    return path


def _side(joint: int) -> str:
    """``"left"``, ``"right"`` or ``"centre"`` for an H36M-18 joint (the skeleton may say ``"center"``)."""
    side = H36M_18.side(joint)
    return side if side in ("left", "right") else "centre"


def _colour_key(width: int) -> np.ndarray:
    """A (KEY_HEIGHT, width, 3) BGR strip: a short bone in each side colour with its name, and a hollow joint."""

    key = np.zeros((KEY_HEIGHT, width, 3), dtype=np.uint8)
    x, y = 6, KEY_HEIGHT // 2
    for name, colour in SIDE_COLOURS_BGR.items():
        cv2.line(key, (x, y), (x + 24, y), colour, 2, cv2.LINE_AA)
        cv2.putText(key, name, (x + 30, y + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        x += 30 + 8 * len(name) + 20
    cv2.circle(key, (x + 4, y), 3, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(key, "joint outside the image", (x + 14, y + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)  # fmt: skip
    return key


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Sub-pixel point for cv2 drawing with ``shift=4``."""
    return round(float(p[0]) * 16), round(float(p[1]) * 16)

"""``PoseEstimator``: run a trained model on users' images, with boxes, intrinsics and explicit units.

Pipeline per image: person boxes (given, or from the detector — the bundled SSDLite person detector by default, HOG
without onnxruntime) → one crop per box (:func:`integral_pose.data.codec.crop_image`, box grown to the patch aspect
ratio) → normalised crops → the pose graph (network + integral op; PyTorch or onnxruntime) → normalised coordinates and
per-joint scores → image pixels and millimetres, both decoded by the model's
:class:`~integral_pose.data.codec.PoseCodec` (``contract.codec``).

Millimetres (:meth:`~integral_pose.data.codec.PoseCodec.root_relative_mm`): for ``rect3d`` models the crop of a box
spans ``rect_3d_mm`` across its width at the person's depth — the convention of the training crops — so
root-relative coordinates are ``x = (x_n − x_n,root) · rect_3d_mm``, ``y = (y_n − y_n,root) · rect_3d_mm ·
patch_h / patch_w`` and ``z = (z_n − z_n,root) · rect_3d_mm`` (camera axes, weak perspective within the crop); for
``box`` models (the challenge recipes, depth normalised by the box width) the patch-space pose is scaled so its
bone lengths sum to the mean skeleton length 4502.881 mm, as the original challenge system did
(docs/conventions.md). Direct-regression models have no heat map: their scores are 1.0.

The absolute pose adds the root translation that makes this metric pose project
onto the predicted 2D joints through the intrinsics (:func:`integral_pose.geometry.camera.solve_root_translation`);
without intrinsics a pinhole camera with a ``fov_deg`` horizontal field of view and the principal point at the
image centre is assumed, and results say so (``root_from="fov_guess"``).

Example:
    >>> est = PoseEstimator.from_checkpoint("model.pt")  # doctest: +SKIP
    >>> result = est("photo.jpg")  # doctest: +SKIP
    >>> result.keypoints_3d.shape, result.units["keypoints_3d"]  # doctest: +SKIP
    ((1, 18, 3), 'mm, camera frame (x right, y down, z forward)')
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import torch

from integral_pose.data.codec import crop_image, flip_normalized, normalize_patch
from integral_pose.export import onnx as ex
from integral_pose.export.onnx import ModelContract
from integral_pose.fileio import read_json
from integral_pose.geometry.camera import Camera, solve_root_translation
from integral_pose.inference.boxes import BoxDetector, Detections
from integral_pose.inference.detector import make_detector, validate_boxes
from integral_pose.inference.results import PoseResult
from integral_pose.inference.sources import read_image
from integral_pose.models.zoo import resolve_model_file

__all__ = [
    "BACKENDS",
    "MAX_ROOT_DEPTH_MM",
    "PoseEstimator",
    "RootDepthWarning",
    "as_rgb_image",
    "check_intrinsics",
    "load_intrinsics_json",
    "warn_implausible_roots",
]

BACKENDS = ("torch", "onnx")

MAX_ROOT_DEPTH_MM = 50_000.0
"""A solved root farther than this (50 m) from the camera is implausible for a person the model can see; such a
pose (or one behind the camera, z <= 0) is still returned, with a :class:`RootDepthWarning`."""


class RootDepthWarning(UserWarning):
    """A solved root puts a person behind the camera (z <= 0 mm) or beyond :data:`MAX_ROOT_DEPTH_MM`."""


def warn_implausible_roots(root_mm: np.ndarray, image_name: str) -> list[int]:
    """Warn (:class:`RootDepthWarning`) for each person whose solved root depth is <= 0 or > MAX_ROOT_DEPTH_MM.

    Args:
        root_mm: (N, 3) solved root translations, camera frame, mm.
        image_name: the image the people are in, named in the warning.

    Returns:
        The indices of the people warned about.
    """
    z = np.asarray(root_mm, dtype=np.float64).reshape(-1, 3)[:, 2]
    flagged = []
    for i, depth in enumerate(z):
        if depth <= 0:
            why = "is behind the camera (z <= 0)"
        elif depth > MAX_ROOT_DEPTH_MM:
            why = f"is implausibly far (> {MAX_ROOT_DEPTH_MM:.0f} mm)"
        else:
            continue
        flagged.append(i)
        warnings.warn(
            f"{image_name or 'image'}: person {i}: the solved root depth z = {depth:.0f} mm {why}; its camera-frame "
            "3D pose is not plausible (check the person box and the intrinsics / field of view)",
            RootDepthWarning,
            stacklevel=3,
        )
    return flagged


ImageLike = np.ndarray | str | os.PathLike[str]


def as_rgb_image(image: Any, color: str = "rgb", name: str = "image") -> np.ndarray:
    """Validate an image (array or path) and return it as contiguous (H, W, 3) uint8 RGB.

    Raises:
        TypeError: not an array/path, or dtype other than uint8.
        ValueError: wrong shape/channels, empty image, unknown ``color``.
        FileNotFoundError: a path that does not exist.
    """

    if color not in ("rgb", "bgr"):
        raise ValueError(f"color: expected 'rgb' or 'bgr', got {color!r}")
    if isinstance(image, str | os.PathLike):
        return read_image(image)  # files are always decoded to RGB
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name}: expected an (H, W, 3) uint8 array or a file path, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(
            f"{name}: expected dtype uint8 (0..255), got {image.dtype}; convert e.g. with "
            "(np.clip(img, 0, 1) * 255).astype(np.uint8)"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name}: expected shape (H, W, 3) ({color.upper()}), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty (shape {image.shape})")
    out = image[:, :, ::-1] if color == "bgr" else image
    return np.ascontiguousarray(out)


def check_intrinsics(K: Any) -> np.ndarray:
    """Validate a 3×3 intrinsic matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (px) and return it as float64.

    Raises:
        ValueError: not 3×3, non-finite values, non-positive focal length, or a malformed last row / skew.
    """

    try:
        Km = np.asarray(K, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"intrinsics: expected a 3x3 matrix of numbers, got {type(K).__name__}") from None
    if Km.shape != (3, 3):
        raise ValueError(f"intrinsics: expected shape (3, 3), got {Km.shape}")
    if not np.isfinite(Km).all():
        raise ValueError(f"intrinsics: expected finite values, got {Km.tolist()}")
    if Km[0, 0] <= 0 or Km[1, 1] <= 0:
        raise ValueError(f"intrinsics: expected focal lengths fx, fy > 0 px, got {Km[0, 0]:g}, {Km[1, 1]:g}")
    try:
        return Camera.from_K(Km).K
    except ValueError as exc:
        raise ValueError(f"intrinsics: {exc}") from None


class _TorchBackend:
    name = "torch"

    def __init__(self, graph: Any, device: str) -> None:
        self.graph = graph
        self.device = device

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:

        with torch.inference_mode():
            c, s = self.graph(torch.from_numpy(crops).to(self.device))
        return c.cpu().numpy(), s.cpu().numpy()


class _OnnxBackend:
    name = "onnx"

    def __init__(self, session: Any, device: str) -> None:
        self.session = session
        self.device = device
        dim0 = session.get_inputs()[0].shape[0]
        self.static_batch = dim0 if isinstance(dim0, int) else None

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.static_batch is None:
            c, s = self.session.run(["coords", "scores"], {"crops": crops})
            return np.asarray(c), np.asarray(s)
        outs_c, outs_s = [], []
        k = self.static_batch
        for i in range(0, crops.shape[0], k):
            chunk = crops[i : i + k]
            n = chunk.shape[0]
            if n < k:  # pad a static-batch model's last chunk
                chunk = np.concatenate([chunk, np.zeros((k - n, *chunk.shape[1:]), chunk.dtype)])
            c, s = self.session.run(["coords", "scores"], {"crops": chunk})
            outs_c.append(np.asarray(c)[:n])
            outs_s.append(np.asarray(s)[:n])
        return np.concatenate(outs_c), np.concatenate(outs_s)


def _check_device(device: str) -> str:
    if not isinstance(device, str) or not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device: {device!r} requested but CUDA is not available here; use device='cpu'")
    return device


class PoseEstimator:
    """3D human pose from images with a trained integral-pose model.

    Build it with :meth:`from_checkpoint`. Call it on one image (array or path) to get a :class:`PoseResult`, or on
    a list of images to get a list; all crops of a call are batched through the network together.

    Args:
        backend: a runner with ``run(crops) -> (coords, scores)`` (made by :meth:`from_checkpoint`).
        contract: the model's input/output contract.
        detector: box source used when no boxes are given: ``"auto"`` (default: the bundled ``"ssdlite"`` person
            detector when onnxruntime is installed, else ``"hog"``), ``"ssdlite"``, ``"hog"``, ``"full"``,
            ``"onnx:PATH"`` or a :class:`~integral_pose.inference.detector.BoxDetector`.
        batch_size: crops per network call.
    """

    def __init__(
        self,
        backend: _TorchBackend | _OnnxBackend,
        contract: ModelContract,
        detector: str | BoxDetector = "auto",
        batch_size: int = 16,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, got {batch_size!r}")
        self._backend = backend
        self.contract = contract
        self.detector: BoxDetector = make_detector(detector) if isinstance(detector, str) else detector
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        device: str = "cpu",
        backend: str = "torch",
        detector: str | BoxDetector = "auto",
        batch_size: int = 16,
        recipe: str | os.PathLike[str] | None = None,
    ) -> PoseEstimator:
        """Load a model.

        Args:
            path: an integral-pose checkpoint (``.pt``) or the name of a shipped model (``"synthmocap-small"``,
                :mod:`integral_pose.models.zoo`), or, with ``backend="onnx"``, an ONNX file written by
                ``ipr export`` (a checkpoint is exported in memory, with the parity check).
            device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
            backend: ``"torch"`` (eager PyTorch) or ``"onnx"`` (onnxruntime).
            detector: default box source (see the class docstring).
            batch_size: crops per network call.
            recipe: for a checkpoint of the original system (``*.pth.tar``), the recipe it was trained with — a
                name of :data:`integral_pose.models.zoo.ORIGINAL_RECIPES` (``"challenge-r152-288x384"``) or a
                YAML recipe; it sets the crop and decoding (:mod:`integral_pose.engine.original`).

        Raises:
            FileNotFoundError: no such file.
            ValueError: unknown backend/device, a file that is not an integral-pose checkpoint/export, or a
                corrupt file; an original checkpoint without its recipe.
        """

        if backend not in BACKENDS:
            raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
        device = _check_device(device)
        p = resolve_model_file(path)
        if p.is_dir():
            raise IsADirectoryError(f"checkpoint: expected a file, got the folder {str(p)!r}")
        if not p.is_file():
            raise FileNotFoundError(f"checkpoint: file not found: {str(p)!r}")
        is_onnx = p.suffix.lower() == ".onnx"
        if backend == "torch":
            if is_onnx:
                raise ValueError(f"checkpoint: {str(p)!r} is an ONNX file; use backend='onnx' to run it")
            model, contract = ex.load_pose_model(p, device, recipe)
            return cls(_TorchBackend(ex.build_pose_graph(model, contract), device), contract, detector, batch_size)
        if is_onnx:
            if recipe is not None:
                raise ValueError(f"recipe: applies to original-system checkpoints, not to the ONNX file {str(p)!r}")
            contract = ex.contract_from_onnx(p)
            session = ex.ort_session(p, device)
        else:
            model, contract = ex.load_pose_model(p, "cpu", recipe)
            graph = ex.build_pose_graph(model, contract)
            data = ex.onnx_bytes(graph, contract)
            session = ex.ort_session(data, device)
            ex.check_onnx_parity(graph, contract, data)
        return cls(_OnnxBackend(session, device), contract, detector, batch_size)

    @property
    def backend(self) -> str:
        """``"torch"`` or ``"onnx"``."""
        return self._backend.name

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The J joint names of every result."""
        return self.contract.joint_names

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Bones as (a, b) joint index pairs."""
        return self.contract.edges

    @overload
    def __call__(
        self,
        image: ImageLike,
        boxes: Any = None,
        intrinsics: Any = None,
        fov_deg: float = 55.0,
        flip_test: bool = False,
        color: str = "rgb",
        box_format: str = "xywh",
    ) -> PoseResult: ...

    @overload
    def __call__(
        self,
        image: Sequence[ImageLike],
        boxes: Any = None,
        intrinsics: Any = None,
        fov_deg: float = 55.0,
        flip_test: bool = False,
        color: str = "rgb",
        box_format: str = "xywh",
    ) -> list[PoseResult]: ...

    def __call__(
        self,
        image: ImageLike | Sequence[ImageLike],
        boxes: Any = None,
        intrinsics: Any = None,
        fov_deg: float = 55.0,
        flip_test: bool = False,
        color: str = "rgb",
        box_format: str = "xywh",
    ) -> PoseResult | list[PoseResult]:
        """Estimate the poses in one image or a list of images.

        Args:
            image: (H, W, 3) uint8 array — RGB, or BGR with ``color="bgr"`` (e.g. from ``cv2.imread``) — or an image
                path; or a list/tuple of these (then a list of results is returned).
            boxes: person boxes (N, 4) px in ``box_format``; for a list of images, a list with one entry per image
                (each (N_i, 4) or ``None``). ``None`` runs the detector (``"auto"`` by default).
            intrinsics: 3×3 camera matrix in px (or one per image); ``None`` assumes a camera with ``fov_deg``.
            fov_deg: horizontal field of view in degrees used when ``intrinsics`` is ``None``.
            flip_test: also run the mirrored crops and average (about twice the network time).
            color: channel order of array images, ``"rgb"`` or ``"bgr"``.
            box_format: ``"xywh"`` (top-left, size) or ``"xyxy"`` (corners) for ``boxes``.

        Returns:
            One :class:`PoseResult` per image.

        Raises:
            TypeError / ValueError / FileNotFoundError: bad image, boxes, intrinsics or options (see
            :func:`as_rgb_image`, :func:`check_intrinsics`,
            :func:`~integral_pose.inference.detector.validate_boxes`).
        """
        single = not isinstance(image, list | tuple)
        images = [image] if single else list(image)
        n = len(images)
        if boxes is None:
            boxes_list: list[Any] = [None] * n
        elif single:
            boxes_list = [boxes]
        else:
            if not isinstance(boxes, list | tuple) or len(boxes) != n:
                got = f"{type(boxes).__name__} of length {len(boxes)}" if hasattr(boxes, "__len__") else repr(boxes)
                raise ValueError(f"boxes: for {n} images expected a list of {n} entries (one per image), got {got}")
            boxes_list = list(boxes)
        if intrinsics is None or single or (np.asarray(intrinsics, dtype=object).shape == (3, 3)):
            k_list = [intrinsics] * n
        else:
            if len(intrinsics) != n:
                raise ValueError(f"intrinsics: expected one 3x3 matrix or {n} (one per image), got {len(intrinsics)}")
            k_list = list(intrinsics)
        rgb, names = [], []
        for i, im in enumerate(images):
            rgb.append(as_rgb_image(im, color, name="image" if single else f"image[{i}]"))
            names.append(Path(im).stem if isinstance(im, str | os.PathLike) else "")
        results = self.estimate(rgb, boxes_list, k_list, fov_deg, flip_test, names, box_format)
        return results[0] if single else results

    def detect(self, image: np.ndarray, boxes: Any = None, box_format: str = "xywh") -> Detections:
        """Person boxes of one RGB image: validated user boxes, or the detector's."""
        w, h = image.shape[1], image.shape[0]
        if boxes is None:
            det = self.detector(image)
            return Detections(validate_boxes(det.boxes.reshape(-1, 4), None), det.scores, det.source)
        if isinstance(boxes, Detections):
            return boxes
        b = validate_boxes(boxes, (w, h), box_format)
        return Detections(b, np.ones(b.shape[0]), "user")

    def estimate(
        self,
        images: Sequence[np.ndarray],
        boxes: Sequence[Any],
        intrinsics: Sequence[Any],
        fov_deg: float = 55.0,
        flip_test: bool = False,
        names: Sequence[str] | None = None,
        box_format: str = "xywh",
    ) -> list[PoseResult]:
        """Lower-level :meth:`__call__` on already validated RGB arrays, with per-image boxes and intrinsics."""

        c = self.contract
        if not isinstance(flip_test, bool):
            raise TypeError(f"flip_test: expected a bool, got {type(flip_test).__name__}")
        names = list(names) if names is not None else [""] * len(images)
        dets, Ks, root_from = [], [], []
        crops, invs = [], []
        for im, bx, K in zip(images, boxes, intrinsics):
            det = self.detect(im, bx, box_format)
            dets.append(det)
            if K is None:
                Ks.append(Camera.from_fov(float(fov_deg), (im.shape[1], im.shape[0])).K)
                root_from.append("fov_guess")
            else:
                Ks.append(check_intrinsics(K))
                root_from.append("intrinsics")
            for box in det.boxes:
                patch, _, inv = crop_image(im, box, c.patch_size)
                crops.append(normalize_patch(patch[:, :, ::-1], c.mean, c.std))  # codec takes BGR
                invs.append(inv)
        total = len(crops)
        j = c.num_joints
        coords = np.zeros((total, j, 3))
        scores = np.zeros((total, j))
        if total:
            x = np.stack(crops).astype(np.float32)
            coords, scores = self._run(x, flip_test)
        return self._assemble(images, dets, Ks, root_from, coords, scores, np.asarray(invs), fov_deg, flip_test, names)

    def _run(self, x: np.ndarray, flip_test: bool) -> tuple[np.ndarray, np.ndarray]:

        coords, scores = [], []
        for i in range(0, x.shape[0], self.batch_size):
            chunk = x[i : i + self.batch_size]
            if flip_test:
                both = np.concatenate([chunk, np.ascontiguousarray(chunk[..., ::-1])])
                cc, ss = self._backend.run(both)
                m = chunk.shape[0]
                perm = self.contract.flip_permutation
                cf = flip_normalized(np.asarray(cc[m:], np.float64), perm, self.contract.patch_width)
                coords.append(0.5 * (np.asarray(cc[:m], np.float64) + cf))
                scores.append(0.5 * (np.asarray(ss[:m], np.float64) + np.asarray(ss[m:], np.float64)[:, perm]))
            else:
                cc, ss = self._backend.run(chunk)
                coords.append(np.asarray(cc, np.float64))
                scores.append(np.asarray(ss, np.float64))
        return np.concatenate(coords), np.concatenate(scores)

    def _assemble(
        self,
        images: Sequence[np.ndarray],
        dets: list[Detections],
        Ks: list[np.ndarray],
        root_from: list[str],
        coords: np.ndarray,
        scores: np.ndarray,
        invs: np.ndarray,
        fov_deg: float,
        flip_test: bool,
        names: list[str],
    ) -> list[PoseResult]:

        c = self.contract
        codec = c.pose_codec
        j = c.num_joints
        out = []
        start = 0
        for im, det, K, rf, name in zip(images, dets, Ks, root_from, names):
            n = det.boxes.shape[0]
            cn, sc = coords[start : start + n], scores[start : start + n]
            if n:
                uv, _ = codec.decode(cn[..., :2], invs[start : start + n])
                rel = codec.root_relative_mm(cn)
                t = solve_root_translation(uv, rel, K, weights=np.maximum(sc, 1e-3))
                abs3d = rel + t[:, None, :]
                warn_implausible_roots(t, name)
            else:
                uv, rel, abs3d = np.zeros((0, j, 2)), np.zeros((0, j, 3)), np.zeros((0, j, 3))
            start += n
            out.append(
                PoseResult(
                    boxes=det.boxes,
                    box_scores=det.scores,
                    box_source=det.source,
                    keypoints_2d=uv,
                    keypoints_3d_rel=rel,
                    keypoints_3d=abs3d,
                    scores=sc,
                    joint_names=c.joint_names,
                    edges=c.edges,
                    image_size=(im.shape[1], im.shape[0]),
                    K=K,
                    root_from=rf,
                    fov_deg=float(fov_deg) if rf == "fov_guess" else None,
                    name=name,
                    flip_test=flip_test,
                )
            )
        return out


def load_intrinsics_json(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a 3×3 intrinsic matrix (px) from JSON: ``{"K": [[...], [...], [...]]}``, ``{"fx", "fy", "cx", "cy"}``
    or a bare 3×3 list. The result is validated with :func:`check_intrinsics`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: invalid JSON, an unknown layout or an invalid matrix.
    """
    p = Path(path)
    data = read_json(p, "intrinsics")
    if isinstance(data, dict) and "K" in data:
        K = data["K"]
    elif isinstance(data, dict) and {"fx", "fy", "cx", "cy"} <= set(data):
        K = [[data["fx"], 0.0, data["cx"]], [0.0, data["fy"], data["cy"]], [0.0, 0.0, 1.0]]
    elif isinstance(data, list):
        K = data
    else:
        raise ValueError(
            f"intrinsics: {str(p)!r} must hold {{'K': 3x3}}, {{'fx', 'fy', 'cx', 'cy'}} or a 3x3 list; "
            f"got {type(data).__name__} with keys {sorted(data) if isinstance(data, dict) else '-'}"
        )
    return check_intrinsics(K)

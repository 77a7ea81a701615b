"""Export the pose network to ONNX (and ``torch.export`` ``.pt2``) with its input/output contract.

The exported graph maps a batch of **normalised crops** to **normalised coordinates and per-joint scores**; the
integral (soft-argmax) op is inside the graph, the crop and the decode are not (they depend on the image and the
box). What a user must do around the graph is the *contract*, written into the ONNX metadata (and into the
``.pt2`` archive as ``extra/integral_pose_contract.json``) and documented in ``docs/inference.md``:

* input ``crops`` (B, 3, patch_h, patch_w) float32, **RGB** channel order, ``(pixel − mean) / std`` with pixels in
  0..255 and the contract's ``mean``/``std``; the crop is the person box grown to the patch aspect ratio, mapped by
  one affine onto the patch (bilinear, border 0) — see :func:`integral_pose.data.codec.crop_image`.
* output ``coords`` (B, J, 3) float32: ``x_n = u_patch / patch_w − 0.5``, ``y_n = v_patch / patch_h − 0.5``,
  ``z_n = (Z_j − Z_root) / rect_3d_mm`` (root-relative depth) for ``rect3d`` models, or ``z_n = z_patch / patch_w``
  (depth in patch px) for ``box`` models (the challenge recipes); each in ``[−0.5, 0.5)``.
* output ``scores`` (B, J) float32 in [0, 1]: the soft-max mass within ±``confidence_radius`` bins of the
  expectation (:func:`integral_pose.geometry.integral.joint_confidence_3d`); direct-regression models have no heat
  map and return 1.0 for every joint.
* ``codec``: the model's :class:`~integral_pose.data.codec.PoseCodec` (depth normalisation and its constant, bone
  length of the ``box`` rescale, …); decode with :meth:`~integral_pose.data.codec.PoseCodec.decode` (image px) and
  :meth:`~integral_pose.data.codec.PoseCodec.root_relative_mm` (metric root-relative 3D).

Example:
    >>> report = export_checkpoint("model.pt", "model.onnx", fmt="onnx", dynamic_batch=True)  # doctest: +SKIP
    >>> report.max_abs_diff <= 1e-4  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from integral_pose import __version__
from integral_pose.data.codec import PoseCodec, codec_from_checkpoint
from integral_pose.engine.original import Recipe, load_pose_checkpoint
from integral_pose.fileio import temp_file_next_to
from integral_pose.geometry import integral
from integral_pose.geometry.integral import logits_to_volume
from integral_pose.skeletons import SKELETONS, flip_permutation

__all__ = [
    "CONTRACT_KEY",
    "PARITY_ATOL",
    "ExportParityError",
    "ExportReport",
    "ModelContract",
    "build_pose_graph",
    "check_onnx_parity",
    "contract_from_codec",
    "contract_from_onnx",
    "export_checkpoint",
    "export_onnx",
    "export_pt2",
    "load_pose_model",
    "onnx_bytes",
    "ort_session",
]

CONTRACT_KEY = "integral_pose.contract"
"""ONNX metadata key holding the whole contract as JSON (other ``integral_pose.*`` keys repeat parts of it)."""
PARITY_ATOL = 1e-4
"""Maximum absolute difference (normalised units) tolerated between PyTorch and the exported graph."""
CONTRACT_VERSION = 2
"""2 added ``arch`` and ``codec``; version-1 contracts are read as ``rect3d`` integral models."""

COORDINATES_DOC = (
    "coords (B, J, 3): x_n = u_patch / patch_w - 0.5, y_n = v_patch / patch_h - 0.5 (patch pixel i at coordinate i),"
    " z_n = (Z_joint - Z_root) / rect_3d_mm with Z the camera-frame depth in mm (codec.depth_norm 'rect3d'), or"
    " z_n = z_patch / patch_w with depth in patch px (codec.depth_norm 'box': metric 3D by rescaling the patch pose"
    " to codec.bone_length_mm total bone length); scores (B, J): soft-max mass near the expectation, in [0, 1]"
    " (1.0 for direct regression)"
)
INPUT_DOC = (
    "crops (B, 3, patch_h, patch_w) float32, RGB, (pixel - mean) / std with pixel in 0..255; the crop is the person "
    "box grown to the patch aspect ratio and warped with one affine (bilinear, border 0)"
)


class ExportParityError(RuntimeError):
    """The exported graph disagrees with PyTorch by more than the tolerance."""


@dataclass(frozen=True)
class ModelContract:
    """What the exported graph expects and returns (see the module docstring).

    Attributes:
        patch_width, patch_height: crop size in px.
        mean, std: RGB normalisation on 0..255 pixels.
        channel_order: always ``"RGB"``.
        joint_names: J names in output order.
        edges: bones as (a, b) joint index pairs, for drawing.
        flip_pairs: (left, right) joint pairs swapped by a horizontal flip (flip test).
        root_index: index of the root joint (depth origin).
        rect_3d_mm: depth normaliser: z_n · rect_3d_mm = root-relative depth in mm.
        depth_bins, heatmap_width, heatmap_height: the heat-map volume D × H × W.
        beta: soft-max inverse temperature of the integral op.
        confidence_radius: half-width in bins of the box used for the scores.
        joint_set: skeleton name (e.g. ``"h36m18"``).
        backbone: network backbone name.
        library_version: integral-pose version that wrote the export.
        arch: ``"integral"`` or ``"direct"`` (direct regression: no heat map, scores are 1.0).
        codec: the model's :class:`~integral_pose.data.codec.PoseCodec`; ``None`` builds the version-1
            (``rect3d``) codec from the fields above.
    """

    patch_width: int
    patch_height: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    root_index: int
    rect_3d_mm: float
    depth_bins: int
    heatmap_width: int
    heatmap_height: int
    beta: float = 1.0
    confidence_radius: int = 2
    joint_set: str = "h36m18"
    backbone: str = ""
    channel_order: str = "RGB"
    library_version: str = ""
    contract_version: int = CONTRACT_VERSION
    input_layout: str = field(default=INPUT_DOC)
    coordinates: str = field(default=COORDINATES_DOC)
    arch: str = "integral"
    codec: PoseCodec | None = None

    def __post_init__(self) -> None:
        if self.arch not in ("integral", "direct"):
            raise ValueError(f"contract: arch: expected 'integral' or 'direct', got {self.arch!r}")
        if self.codec is None:  # a version-1 contract: rect3d depth, the skeleton's parents when known
            skel = SKELETONS.get(self.joint_set)
            parents = skel.parents if skel is not None and skel.joint_names == self.joint_names else None
            codec = PoseCodec(
                patch_width=self.patch_width,
                patch_height=self.patch_height,
                heatmap_width=self.heatmap_width,
                heatmap_height=self.heatmap_height,
                depth_bins=self.depth_bins,
                depth_norm="rect3d",
                rect_3d_mm=self.rect_3d_mm,
                joint_set=self.joint_set,
                parents=tuple(parents) if parents else tuple(-1 if j == self.root_index else self.root_index
                                                               for j in range(self.num_joints)),
                flip_pairs=self.flip_pairs,
                root=self.root_index,
                mean=self.mean,
                std=self.std,
            )  # fmt: skip
            object.__setattr__(self, "codec", codec)

    @property
    def pose_codec(self) -> PoseCodec:
        """The codec (always set after construction)."""
        assert self.codec is not None
        return self.codec

    @property
    def num_joints(self) -> int:
        """J."""
        return len(self.joint_names)

    @property
    def patch_size(self) -> tuple[int, int]:
        """(patch_w, patch_h) px."""
        return (self.patch_width, self.patch_height)

    @property
    def flip_permutation(self) -> np.ndarray:
        """(J,) permutation swapping left and right joints."""
        return flip_permutation(self.num_joints, self.flip_pairs)

    def to_json(self) -> str:
        """The contract as a JSON object string."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelContract:
        """Parse :meth:`to_json` output; raises ``ValueError`` naming missing or unknown keys."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"contract: not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"contract: expected a JSON object, got {type(data).__name__}")
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"contract: unknown keys {unknown}")
        if data.get("contract_version", 0) > CONTRACT_VERSION:
            raise ValueError(
                f"contract: version {data['contract_version']} is newer than this integral-pose reads "
                f"({CONTRACT_VERSION})"
            )
        try:
            return cls(
                **{
                    **data,
                    "mean": tuple(data["mean"]),
                    "std": tuple(data["std"]),
                    "joint_names": tuple(data["joint_names"]),
                    "edges": tuple(tuple(e) for e in data["edges"]),
                    "flip_pairs": tuple(tuple(e) for e in data["flip_pairs"]),
                    "codec": PoseCodec.from_dict(data["codec"], "contract: codec") if data.get("codec") else None,
                }
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"contract: missing or malformed field ({exc})") from None

    def to_metadata(self) -> dict[str, str]:
        """ONNX ``metadata_props``: the full JSON under :data:`CONTRACT_KEY` plus readable single entries."""
        return {
            CONTRACT_KEY: self.to_json(),
            "integral_pose.patch_size": f"{self.patch_width}x{self.patch_height} (width x height, px)",
            "integral_pose.mean": json.dumps(list(self.mean)),
            "integral_pose.std": json.dumps(list(self.std)),
            "integral_pose.channel_order": self.channel_order,
            "integral_pose.joint_names": json.dumps(list(self.joint_names)),
            "integral_pose.input": self.input_layout,
            "integral_pose.coordinates": self.coordinates,
            "integral_pose.rect_3d_mm": str(self.rect_3d_mm),
            "integral_pose.depth_norm": self.pose_codec.depth_norm,
        }


def contract_from_codec(codec: PoseCodec, joint_names: Sequence[str], arch: str = "integral",
                        backbone: str = "") -> ModelContract:  # fmt: skip
    """The exported contract of a model decoded by ``codec`` (every convention comes from the codec).

    Args:
        codec: the model's :class:`~integral_pose.data.codec.PoseCodec`.
        joint_names: the J output names, in order.
        arch: ``"integral"`` or ``"direct"``.
        backbone: backbone name, for the record.
    """
    names = tuple(str(n) for n in joint_names)
    skel = SKELETONS.get(codec.joint_set)
    edges = skel.edges if skel is not None and skel.joint_names == names else ()  # another set: draw no bones
    return ModelContract(
        patch_width=codec.patch_width,
        patch_height=codec.patch_height,
        mean=codec.mean,
        std=codec.std,
        joint_names=names,
        edges=tuple(edges),
        flip_pairs=codec.flip_pairs,
        root_index=codec.root,
        rect_3d_mm=codec.rect_3d_mm,
        depth_bins=codec.depth_bins,
        heatmap_width=codec.heatmap_width,
        heatmap_height=codec.heatmap_height,
        joint_set=codec.joint_set,
        backbone=backbone,
        library_version=__version__,
        arch=arch,
        codec=codec,
    )


def load_pose_model(
    path: str | os.PathLike[str], device: str = "cpu", recipe: Recipe | None = None
) -> tuple[nn.Module, ModelContract]:
    """Build the network of an integral-pose checkpoint and its contract.

    An original-system checkpoint needs ``recipe``, the recipe it was trained with: a name of
    ``models.zoo.ORIGINAL_RECIPES``, a YAML file or a Config (``engine.original.load_pose_checkpoint``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an integral-pose checkpoint, corrupt, or not a 3D integral or direct-regression model
            (the heat-map baseline is evaluated with ``ipr eval``); an unknown device or CUDA requested where it is
            not available.
    """
    if not isinstance(device, str) or not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available here; use 'cpu'")
    model, ckpt = load_pose_checkpoint(path, recipe, map_location=device)
    arch, output_3d = getattr(model, "arch", None), getattr(model, "output_3d", None)
    if arch not in ("integral", "direct") or not output_3d:
        raise ValueError(
            f"{path}: inference and export need an integral 3D model or a direct-regression model (arch "
            f"'integral' or 'direct', output_3d true), got arch {arch!r}, output_3d {output_3d!r} (the heat-map "
            "baseline is evaluated with ipr eval)"
        )
    codec = codec_from_checkpoint(ckpt, where=str(path))
    backbone = str(ckpt["config"].get("model", {}).get("backbone", ""))
    contract = contract_from_codec(codec, ckpt["joint_names"], arch=str(arch), backbone=backbone)
    return model.to(device).eval(), contract


def build_pose_graph(model: nn.Module, contract: ModelContract) -> nn.Module:
    """The exported computation as a module: crops (B, 3, H, W) → (coords (B, J, 3), scores (B, J)).

    It calls :func:`integral_pose.geometry.integral.soft_argmax_3d` and
    :func:`~integral_pose.geometry.integral.joint_confidence_3d` on the model's logits; under ``torch.export`` those
    take their traceable formulation (same numbers, no host-side value checks). Direct-regression models
    (``contract.arch == "direct"``): the (B, J·3) output reshaped to (B, J, 3), scores all 1.0 (no heat map).
    """

    class PoseGraph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.num_joints = contract.num_joints
            self.depth_bins = contract.depth_bins
            self.beta = float(contract.beta)
            self.radius = int(contract.confidence_radius)
            self.direct = contract.arch == "direct"

        def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if self.direct:  # (B, J·3) ordered x0, y0, z0, x1, …
                coords = self.model(crops).reshape(crops.shape[0], self.num_joints, 3).float()
                return coords, torch.ones_like(coords[..., 0])
            volume = logits_to_volume(self.model(crops), self.num_joints, self.depth_bins)  # (B, J, D, H, W)
            _, _, d, h, w = volume.shape
            coords = integral.soft_argmax_3d(volume, beta=self.beta)  # (B, J, 3) bins, x y z
            scores = integral.joint_confidence_3d(volume, beta=self.beta, radius=self.radius, coords=coords)
            return integral.normalize_coords(coords, (w, h, d)).float(), scores.float()

    return PoseGraph().eval()


@dataclass(frozen=True)
class ExportReport:
    """Result of an export: the file, its format and the parity check against PyTorch."""

    path: Path
    fmt: str
    max_abs_diff: float
    batch_sizes_checked: tuple[int, ...]
    contract: ModelContract


def _atomic_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)


def _tmp_next_to(path: Path, suffix: str) -> Path:

    fd, tmp = temp_file_next_to(path, suffix)
    os.close(fd)
    return tmp


def _parity_inputs(contract: ModelContract, batch_sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shape = (3, contract.patch_height, contract.patch_width)
    return [rng.standard_normal((b, *shape)).astype(np.float32) for b in batch_sizes]


def _eager(graph: nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dev = next(graph.parameters()).device
    with torch.inference_mode():
        c, s = graph(torch.from_numpy(x).to(dev))
    return c.cpu().numpy(), s.cpu().numpy()


def _max_diff(a: tuple[np.ndarray, np.ndarray], b: Sequence[np.ndarray]) -> float:
    return max(float(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)).max()) for x, y in zip(a, b))


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence PyTorch's exporter chatter that says nothing about the user's model: the notice that optional
    torchvision operators are not registered (this project has no torchvision) and an internal deprecation warning
    of PyTorch's own pytree code. Real warnings and errors still show."""

    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def onnx_bytes(graph: nn.Module, contract: ModelContract, opset: int = 18, dynamic_batch: bool = True,
               batch_size: int = 1) -> bytes:  # fmt: skip
    """Export ``graph`` (from :func:`build_pose_graph`) to a serialised ONNX model with the contract as metadata."""

    if not isinstance(opset, int) or opset < 18:
        raise ValueError(f"opset: expected an int >= 18 (the exporter's minimum), got {opset!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
    dev = next(graph.parameters()).device
    example = torch.zeros(2 if dynamic_batch else batch_size, 3, contract.patch_height, contract.patch_width,
                          device=dev)  # fmt: skip
    dyn = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic_batch else None
    with contextlib.redirect_stdout(io.StringIO()), _quiet_exporter():
        program = torch.onnx.export(
            graph.cpu() if dev.type != "cpu" else graph,
            (example.cpu(),),
            None,
            dynamo=True,
            opset_version=opset,
            input_names=["crops"],
            output_names=["coords", "scores"],
            dynamic_shapes=dyn,
            external_data=False,
            verbose=False,
        )
    if dev.type != "cpu":
        graph.to(dev)
    proto = program.model_proto
    proto.doc_string = "integral-pose: normalised crops -> normalised joint coordinates and scores"
    del proto.metadata_props[:]
    for k, v in contract.to_metadata().items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    return proto.SerializeToString()


def ort_session(model: str | os.PathLike[str] | bytes, device: str = "cpu") -> Any:
    """An onnxruntime session on ``device`` (``"cpu"`` or ``"cuda"``); raises ``ValueError`` for unusable files."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError("device: 'cuda' requested but this onnxruntime has no CUDAExecutionProvider")
        providers = ["CUDAExecutionProvider", *providers]
    src = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(src, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        name = "<bytes>" if isinstance(model, bytes) else str(model)
        raise ValueError(f"{name}: not a loadable ONNX model: {str(exc).splitlines()[0][:200]}") from None


def contract_from_onnx(model: str | os.PathLike[str] | bytes) -> ModelContract:
    """Read the :class:`ModelContract` stored in an exported ONNX file's metadata."""
    import onnx

    try:
        proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model))
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{model if not isinstance(model, bytes) else '<bytes>'}: not an ONNX model ({exc})") from None
    meta = {p.key: p.value for p in proto.metadata_props}
    if CONTRACT_KEY not in meta:
        raise ValueError(f"{model if not isinstance(model, bytes) else '<bytes>'}: no {CONTRACT_KEY!r} metadata; "
                         "not exported by integral-pose")  # fmt: skip
    return ModelContract.from_json(meta[CONTRACT_KEY])


def check_onnx_parity(
    graph: nn.Module,
    contract: ModelContract,
    model: bytes | str | os.PathLike[str],
    batch_sizes: Sequence[int] = (1, 3),
    atol: float = PARITY_ATOL,
    seed: int = 0,
) -> float:
    """Run an exported ONNX model and ``graph`` on the same random crops; return the largest |difference|.

    Raises:
        ExportParityError: the difference (coords or scores, normalised units) exceeds ``atol``.
    """
    session = ort_session(model)
    worst = 0.0
    for x in _parity_inputs(contract, batch_sizes, seed):
        worst = max(worst, _max_diff(_eager(graph, x), session.run(["coords", "scores"], {"crops": x})))
    if not worst <= atol:
        raise ExportParityError(f"onnxruntime differs from PyTorch by {worst:.3g} (> {atol:g}) in normalised units")
    return worst


def export_onnx(
    graph: nn.Module,
    contract: ModelContract,
    out_path: str | os.PathLike[str],
    opset: int = 18,
    dynamic_batch: bool = True,
    batch_size: int = 1,
    atol: float = PARITY_ATOL,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export to ONNX, check parity with onnxruntime on random crops, then move the file into place atomically.

    ``progress`` is called with a short description at the start of each stage (the ONNX trace, the parity check).

    Raises:
        ExportParityError: the largest |difference| of coords or scores exceeds ``atol`` (the file is not kept).
    """
    out = Path(out_path)
    if progress is not None:
        progress(f"tracing the network + integral op to ONNX (opset {opset}); the longest stage")
    data = onnx_bytes(graph, contract, opset, dynamic_batch, batch_size)
    sizes = (1, 3) if dynamic_batch else (batch_size,)
    if progress is not None:
        progress(f"checking the ONNX graph against PyTorch with onnxruntime (batch {', '.join(map(str, sizes))})")
    try:
        worst = check_onnx_parity(graph, contract, data, sizes, atol, seed)
    except ExportParityError as exc:
        raise ExportParityError(f"ONNX export of {out.name}: {exc}; the file was not written") from None
    tmp = _tmp_next_to(out, ".onnx.tmp")
    try:
        tmp.write_bytes(data)
        _atomic_replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(out, "onnx", worst, sizes, contract)


def export_pt2(
    graph: nn.Module,
    contract: ModelContract,
    out_path: str | os.PathLike[str],
    dynamic_batch: bool = True,
    batch_size: int = 1,
    atol: float = PARITY_ATOL,
    seed: int = 0,
) -> ExportReport:
    """Export with ``torch.export`` to a ``.pt2`` archive (contract in ``extra/integral_pose_contract.json``).

    The saved program is loaded back with ``torch.export.load`` and compared with eager PyTorch on random crops.

    Raises:
        ExportParityError: difference above ``atol`` (the file is not kept).
    """
    out = Path(out_path)
    dev = next(graph.parameters()).device
    example = torch.zeros(2 if dynamic_batch else batch_size, 3, contract.patch_height, contract.patch_width,
                          device=dev)  # fmt: skip
    dyn = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic_batch else None
    with _quiet_exporter():
        program = torch.export.export(graph, (example,), dynamic_shapes=dyn)
    tmp = _tmp_next_to(out, ".tmp.pt2")  # torch.export wants the .pt2 suffix
    try:
        torch.export.save(program, str(tmp), extra_files={"integral_pose_contract.json": contract.to_json()})
        loaded = torch.export.load(str(tmp)).module()
        sizes = (1, 3) if dynamic_batch else (batch_size,)
        worst = 0.0
        for x in _parity_inputs(contract, sizes, seed):
            with torch.inference_mode():
                c, s = loaded(torch.from_numpy(x).to(dev))
            worst = max(worst, _max_diff(_eager(graph, x), (c.cpu().numpy(), s.cpu().numpy())))
        if not worst <= atol:
            raise ExportParityError(
                f"pt2 export of {out.name}: the saved program differs from eager PyTorch by {worst:.3g} (> {atol:g})"
            )
        _atomic_replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(out, "pt2", worst, sizes, contract)


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    fmt: str = "onnx",
    opset: int = 18,
    dynamic_batch: bool = True,
    batch_size: int = 1,
    device: str = "cpu",
    atol: float = PARITY_ATOL,
    progress: Callable[[str], None] | None = None,
    recipe: Recipe | None = None,
) -> ExportReport:
    """Load a checkpoint and export it as ``fmt`` = ``"onnx"`` or ``"pt2"`` (with the parity check).

    ``progress`` is called with a short description at the start of each stage (load, export, parity check).
    ``recipe``: for an original-system checkpoint, the recipe it was trained with (see :func:`load_pose_model`).
    """
    if fmt not in ("onnx", "pt2"):
        raise ValueError(f"format: expected 'onnx' or 'pt2', got {fmt!r}")
    if progress is not None:
        progress(f"loading the checkpoint {os.fspath(checkpoint)}")
    model, contract = load_pose_model(checkpoint, device, recipe)
    graph = build_pose_graph(model, contract)
    if fmt == "onnx":
        return export_onnx(graph, contract, out_path, opset, dynamic_batch, batch_size, atol, progress=progress)
    if progress is not None:
        progress("exporting with torch.export and checking the saved program against PyTorch")
    return export_pt2(graph, contract, out_path, dynamic_batch, batch_size, atol)

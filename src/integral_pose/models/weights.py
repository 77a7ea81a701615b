"""Weights from files: ImageNet backbones and the original system's released checkpoints.

* :func:`load_imagenet` — a local torchvision/timm ResNet state dict (``.pth``/``.pt``/``.safetensors``) into the
  backbone, strictly, with a report of missing / unexpected / mis-shaped keys (the classifier ``fc.*`` is dropped).
  The value ``"imagenet"`` takes torchvision's published file for the backbone from the torch hub cache
  (:func:`fetch_imagenet`: downloaded once, its sha256 checked) — the only download this package ever makes.
* :func:`load_original_checkpoint` — a checkpoint of the original system (``{'epoch', 'network', 'optimizer',
  …}`` saved through ``DataParallel``, keys ``module.backbone.*`` and ``module.head.features.{0,1,3,4,6,7,9}.*``):
  the layout is recognised, the backbone depth, deconvolution settings and J·D are read off the tensor shapes, and
  the weights are loaded into an equivalent :class:`~integral_pose.models.posenet.PoseNet`. Our module tree uses
  the same names (``backbone.*`` with torchvision names, ``head.features.N`` for the deconvolution head,
  ``head.fc`` for the direct head), so the mapping is the removal of the ``module.`` prefix plus filling in the
  ``num_batches_tracked`` counters that files from PyTorch 0.4.0 lack. See ``docs/checkpoints.md``.
* :func:`original_model_for_recipe` — the same network checked against the recipe it was trained with
  (:func:`integral_pose.models.zoo.recipe_config`), which fixes its codec; ``engine.original`` turns the pair into
  our checkpoint format (in memory for ``--recipe``, or written once by ``ipr convert``).

Length: over 600 lines because every way a weight file enters the package — format sniffing, the weights-only
unpickler and its error messages, strict key comparison — lives here once, and both families of file above share it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import pickle
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from integral_pose.config.io import config_from_dict, config_to_dict
from integral_pose.config.schema import Config, ModelConfig
from integral_pose.models.posenet import build_network
from integral_pose.models.resnet import SPECS, WIDTHS, scaled_channels
from integral_pose.models.zoo import ORIGINAL_RECIPES, resolve_model_file
from integral_pose.skeletons import SKELETONS

__all__ = [
    "IMAGENET_FILES",
    "IMAGENET_URL",
    "StateDictReport",
    "check_torch_file",
    "compare_state_dicts",
    "fetch_imagenet",
    "imagenet_cache_path",
    "is_original_checkpoint",
    "load_imagenet",
    "load_original_checkpoint",
    "load_state_dict_strict",
    "original_model_for_recipe",
    "read_state_dict",
    "read_torch_file",
    "strip_prefixes",
    "unwrap_model",
]

WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
"""Key prefixes added by ``DataParallel``/DDP and ``torch.compile`` wrappers."""


def strip_prefixes(state: Mapping[str, Any], prefixes: Sequence[str] = WRAPPER_PREFIXES) -> dict[str, Any]:
    """Remove wrapper prefixes (``DataParallel``/DDP ``module.``, ``torch.compile`` ``_orig_mod.``) from every key.

    Prefixes are removed repeatedly, in any order, e.g. ``module._orig_mod.conv1.weight`` → ``conv1.weight``.
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        k = key
        changed = True
        while changed:
            changed = False
            for p in prefixes:
                if k.startswith(p):
                    k = k[len(p) :]
                    changed = True
        if k in out:
            raise ValueError(f"state dict: keys {key!r} and another key both map to {k!r} after removing prefixes")
        out[k] = value
    return out


_NBT = "num_batches_tracked"
_MAX_LISTED = 12


class StateDictReport:
    """Differences between the keys/shapes a module expects and those a state dict provides."""

    def __init__(
        self,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        self.missing = missing
        self.unexpected = unexpected
        self.mismatched = mismatched

    @property
    def ok(self) -> bool:
        """True when nothing is missing, unexpected or mis-shaped."""
        return not (self.missing or self.unexpected or self.mismatched)

    def format(self) -> str:
        """A readable multi-line report (the first few keys of each kind and the counts)."""

        def _lst(items: list[str]) -> str:
            more = f", … (+{len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else ""
            return ", ".join(items[:_MAX_LISTED]) + more

        lines = []
        if self.missing:
            lines.append(f"  missing keys ({len(self.missing)}): {_lst(self.missing)}")
        if self.unexpected:
            lines.append(f"  unexpected keys ({len(self.unexpected)}): {_lst(self.unexpected)}")
        if self.mismatched:
            shown = [f"{k} expected {list(e)} got {list(g)}" for k, e, g in self.mismatched]
            lines.append(f"  mis-shaped keys ({len(self.mismatched)}): {_lst(shown)}")
        return "\n".join(lines)


def compare_state_dicts(
    expected: Mapping[str, torch.Tensor], given: Mapping[str, Any], optional_suffixes: Iterable[str] = (_NBT,)
) -> StateDictReport:
    """Compare key sets and shapes; keys ending in ``optional_suffixes`` may be absent from ``given``."""
    suffixes = tuple(optional_suffixes)
    missing = [k for k in expected if k not in given and not k.endswith(suffixes)]
    unexpected = [k for k in given if k not in expected]
    mismatched = []
    for k, v in given.items():
        if k in expected:
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else ()
            if not isinstance(v, torch.Tensor) or got != tuple(expected[k].shape):
                mismatched.append((k, tuple(expected[k].shape), got))
    return StateDictReport(missing, unexpected, mismatched)


def load_state_dict_strict(module: nn.Module, state: Mapping[str, Any], *, source: str = "state dict") -> None:
    """Load ``state`` into ``module`` requiring exactly its keys and shapes (missing BatchNorm counters are zero).

    Raises:
        ValueError: with the full report of missing / unexpected / mis-shaped keys, naming ``source``.
    """
    expected = module.state_dict()
    report = compare_state_dicts(expected, state)
    if not report.ok:
        raise ValueError(f"{source}: weights do not fit the model ({type(module).__name__}):\n{report.format()}")
    full = dict(state)
    for k, v in expected.items():
        if k not in full:  # only num_batches_tracked can be absent here
            full[k] = torch.zeros_like(v)
    module.load_state_dict(full, strict=True)


def _torch_load_weights(path: Path, map_location: Any, trusted: bool) -> Any:
    """Load a ``torch.save`` file without running code; NumPy scalars (common in old files) are allowed."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as first:
        numpy_ok = _numpy_safe_globals()
        if numpy_ok and "numpy" in str(first):
            try:
                with torch.serialization.safe_globals(numpy_ok):
                    return torch.load(path, map_location=map_location, weights_only=True)
            except pickle.UnpicklingError:
                pass
        if trusted:
            return torch.load(path, map_location=map_location, weights_only=False)
        raise ValueError(
            f"{path}: holds Python objects other than tensors and plain values, so it is not loaded by default; "
            "pass trusted=True only if you trust where the file comes from"
        ) from None
    except (RuntimeError, EOFError, OSError, AttributeError, ImportError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable weights file (corrupt or truncated): {type(exc).__name__}") from None


def _numpy_safe_globals() -> list[Any]:
    out: list[Any] = [np.dtype]
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    scalar = getattr(getattr(core, "multiarray", None), "scalar", None)
    if scalar is not None:
        out.append(scalar)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        out += [getattr(dtypes, n) for n in ("Float64DType", "Float32DType", "Int64DType") if hasattr(dtypes, n)]
    return out


def read_state_dict(
    path: str | os.PathLike[str], map_location: Any = "cpu", *, trusted: bool = False
) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a ``torch.save`` file (``.pth``, ``.pt``, ``.pth.tar``, ``.bin``).

    Wrappers ``{"state_dict": …}``, ``{"model": …}`` and ``{"network": …}`` are unwrapped and the ``module.`` /
    ``_orig_mod.`` prefixes removed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file or no tensor mapping inside.
    """
    p = resolve_model_file(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights file not found: {p}")
    if p.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ValueError(f"{p}: reading .safetensors needs the 'safetensors' package") from exc
        try:
            obj: Any = load_file(str(p), device=str(map_location))
        except Exception as exc:  # safetensors raises its own error type for bad headers
            raise ValueError(f"{p}: not a readable safetensors file: {exc}") from None
    else:
        obj = _torch_load_weights(p, map_location, trusted)
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model", "network"):
            if isinstance(obj.get(wrapper), Mapping):
                obj = obj[wrapper]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        what = f"keys {sorted(map(str, obj))[:8]}" if isinstance(obj, Mapping) else type(obj).__name__
        raise ValueError(f"{p}: expected a state dict of tensors, got {what}")
    return strip_prefixes(obj)


def unwrap_model(model: Any) -> Any:
    """The plain module inside DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    inner = getattr(model, "module", model)
    return getattr(inner, "_orig_mod", inner)


def _backbone_of(model: nn.Module) -> nn.Module:
    inner = unwrap_model(model)
    return getattr(inner, "backbone", inner)


# -- ImageNet files (torchvision) ------------------------------------------------------------------------------------

IMAGENET_URL = "https://download.pytorch.org/models/"
"""Where torchvision publishes its ImageNet weights."""

IMAGENET_FILES: dict[str, str] = {
    "resnet18": "resnet18-f37072fd.pth",
    "resnet34": "resnet34-b627a593.pth",
    "resnet50": "resnet50-0676ba61.pth",
    "resnet101": "resnet101-63fe2227.pth",
    "resnet152": "resnet152-394f9c45.pth",
}
"""torchvision's ImageNet ResNet files (``IMAGENET1K_V1``) by backbone; the 8 hex digits in each name are the
first digits of the file's sha256."""

_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,})\.pth$")


def imagenet_cache_path(backbone: str) -> Path:
    """Where :func:`fetch_imagenet` keeps a backbone's file: ``torch.hub.get_dir()/checkpoints/<file>``.

    Raises:
        ValueError: no torchvision file for ``backbone``.
    """
    if backbone not in IMAGENET_FILES:
        raise ValueError(f"imagenet: no torchvision file for backbone {backbone!r}; expected one of "
                         f"{list(IMAGENET_FILES)}")  # fmt: skip
    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILES[backbone]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_imagenet(backbone: str, *, progress: bool = True) -> Path:
    """torchvision's ImageNet file for ``backbone`` from the torch hub cache, downloaded there once if absent.

    The sha256 of the file must start with the digits in its name (``resnet50-0676ba61.pth``): checked on download
    (a file that fails is not kept) and on every use of the cached file. Nothing else is ever downloaded.

    Args:
        backbone: ``resnet18`` … ``resnet152``.
        progress: show a download progress bar.

    Returns:
        The cached file, ``torch.hub.get_dir()/checkpoints/<file>``.

    Raises:
        ValueError: unknown backbone; the downloaded or cached file fails its hash check.
        FileNotFoundError: not cached and the download failed (offline): names the file to place by hand and where.
    """
    dst = imagenet_cache_path(backbone)
    name = dst.name
    m = _HASH_IN_NAME.search(name)
    prefix = m.group(1) if m else None
    if dst.is_file():
        if prefix is not None and not _sha256(dst).startswith(prefix):
            raise ValueError(f"{dst}: fails its sha256 check (expected a hash starting {prefix}, as in its name); "
                             "delete it to download it again")  # fmt: skip
        return dst
    url = IMAGENET_URL + name
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(dst), hash_prefix=prefix, progress=progress)
    except RuntimeError as exc:
        if "hash" not in str(exc):
            raise
        dst.unlink(missing_ok=True)
        raise ValueError(f"{url}: the downloaded file fails its sha256 check (expected a hash starting {prefix}); "
                         f"it was not kept in {dst.parent}") from None  # fmt: skip
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FileNotFoundError(
            f"ImageNet weights {name} are not in the torch hub cache and could not be downloaded from {url} "
            f"({reason}); download that file by hand and place it at {dst}"
        ) from None
    return dst


def _backbone_name(backbone: nn.Module) -> tuple[str, float]:
    state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    return _infer_backbone(state, Path(type(backbone).__name__))


def load_imagenet(model: nn.Module, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ImageNet weights of a torchvision/timm ResNet into the backbone of ``model`` (or into a bare ResNet).

    The classifier (``fc.*``) is dropped; everything else must match exactly (strict, with a report).

    Args:
        model: a :class:`~integral_pose.models.posenet.PoseNet` or a :class:`~integral_pose.models.resnet.ResNet`.
        path: ``.pth`` / ``.pt`` / ``.safetensors`` file, or ``"imagenet"``: torchvision's published file for this
            backbone from the torch hub cache, downloaded once (:func:`fetch_imagenet`).

    Returns:
        ``{"path", "loaded": number of tensors, "dropped": dropped classifier keys}``.

    Raises:
        FileNotFoundError: no such file (for ``"imagenet"``: not cached and not downloadable).
        ValueError: unreadable file, or missing / unexpected / mis-shaped keys (full report); ``"imagenet"`` with
            a slim backbone (the published files are full width).
    """
    backbone = _backbone_of(model)
    if os.fspath(path) == "imagenet":
        name, width = _backbone_name(backbone)
        if width != 1.0:
            raise ValueError(f"pretrained 'imagenet': torchvision's files are full-width ResNets; this {name} has "
                             f"width {width:g} (use model.backbone_width 1 or another starting point)")  # fmt: skip
        path = fetch_imagenet(name)
    state = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state):  # a whole pose model: take its backbone
        state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
    dropped = sorted(k for k in state if k.startswith("fc."))
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    load_state_dict_strict(backbone, state, source=f"ImageNet weights {path}")
    return {"path": str(path), "loaded": len(state), "dropped": dropped}


# -- the original system's checkpoints ------------------------------------------------------------------------------

_BLOCK_KEY = re.compile(r"^backbone\.layer([1-4])\.(\d+)\.")


def _infer_backbone(state: Mapping[str, torch.Tensor], path: Path) -> tuple[str, float]:
    """``(backbone name, width multiplier)`` from the block counts, block type and stem channels."""
    counts = [0, 0, 0, 0]
    for k in state:
        m = _BLOCK_KEY.match(k)
        if m:
            layer, block = int(m.group(1)), int(m.group(2))
            counts[layer - 1] = max(counts[layer - 1], block + 1)
    block_type = "Bottleneck" if "backbone.layer1.0.conv3.weight" in state else "BasicBlock"
    names = [name for name, (bt, layers) in SPECS.items() if bt == block_type and tuple(counts) == layers]
    if not names:
        raise ValueError(
            f"{path}: backbone with {block_type} blocks {counts} per stage is not a known ResNet; expected one of "
            + ", ".join(f"{n} {bt} {list(ls)}" for n, (bt, ls) in SPECS.items())
        )
    stem = int(state["backbone.conv1.weight"].shape[0]) if "backbone.conv1.weight" in state else 64
    widths = [w for w in WIDTHS if scaled_channels(64, w) == stem]
    if not widths:
        raise ValueError(f"{path}: a stem of {stem} channels matches no backbone width {list(WIDTHS)} (64·width)")
    return names[0], widths[-1]


_KNOWN_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ImportError, ValueError,
                      KeyError, IndexError, TypeError)  # fmt: skip

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save since PyTorch 1.6
_PICKLE_MAGIC = b"\x80"  # legacy torch.save (PyTorch 0.4, the original system's files): a pickle, protocol >= 2


def check_torch_file(path: str | os.PathLike[str]) -> str:
    """Cheap check that a file is a ``torch.save`` file, from its first bytes only (nothing is unpickled).

    Returns:
        ``"zip"`` (PyTorch >= 1.6) or ``"legacy"`` (older files such as the original system's).

    Raises:
        FileNotFoundError / IsADirectoryError: no such file / a folder.
        ValueError: one line naming the file and what was expected (text, an image, an ONNX model …).
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"checkpoint: expected a file, got the folder {str(p)!r}")
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    with open(p, "rb") as fh:
        head = fh.read(16)
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_PICKLE_MAGIC):
        return "legacy"
    what = "an empty file" if not head else f"its first bytes are {head!r}"
    raise ValueError(f"{p}: not a PyTorch checkpoint ({what}); expected an integral-pose checkpoint (.pt) or an "
                     "original-system checkpoint (.pth.tar)")  # fmt: skip


def read_torch_file(path: str | os.PathLike[str], *, trusted: bool = False) -> Any:
    """Load a PyTorch file on the CPU after a cheap look at its first bytes (zip archives are memory-mapped).

    Anything that is not a ``torch.save`` file (text, an image, an ONNX model …) is refused from its first bytes,
    before unpickling, with one line naming the file.

    Args:
        path: the file. trusted: allow objects other than tensors and plain values (see
            :func:`load_original_checkpoint`).

    Raises:
        FileNotFoundError / IsADirectoryError: no such file / a folder.
        ValueError: one line naming the file: not a PyTorch file, corrupt or truncated, or holding code objects.
    """
    p = Path(path)
    try:
        if check_torch_file(p) == "zip":
            try:
                return torch.load(p, map_location="cpu", weights_only=True, mmap=True)
            except pickle.UnpicklingError:
                pass  # NumPy scalars of old files, or objects: the careful reader below decides
        return _torch_load_weights(p, "cpu", trusted)
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except ValueError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    except _KNOWN_LOAD_ERRORS as exc:
        raise ValueError(f"{p}: not a readable PyTorch checkpoint (corrupt or truncated): "
                         f"{type(exc).__name__}") from None  # fmt: skip


def is_original_checkpoint(obj: Any) -> bool:
    """Whether a loaded object is an original-system checkpoint: a dict with ``'network'``, or a bare state dict
    with ``backbone.*`` and ``head.*`` keys (``module.`` prefixes allowed)."""
    if not isinstance(obj, Mapping):
        return False
    if "format" in obj:  # our checkpoints say what they are
        return False
    if isinstance(obj.get("network"), Mapping):
        return True
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        keys = [str(k).removeprefix("module.") for k in obj]
        return any(k.startswith("backbone.") for k in keys) and any(k.startswith("head.") for k in keys)
    return False


def _describe(obj: Any) -> str:
    return f"a dict with keys {sorted(map(str, obj))[:8]}" if isinstance(obj, Mapping) else type(obj).__name__


def _original_model(obj: Any, p: Path, num_joints: int, joint_set: str | None) -> tuple[nn.Module, dict[str, Any]]:
    """The PoseNet equivalent to an original-system checkpoint object (see :func:`load_original_checkpoint`)."""
    epoch = None
    if isinstance(obj, Mapping) and isinstance(obj.get("network"), Mapping):
        epoch = obj.get("epoch")
        raw = obj["network"]
    elif isinstance(obj, Mapping) and "format" in obj:
        raise ValueError(f"{p}: this is an integral-pose checkpoint; read it with engine.checkpoint.load_checkpoint")
    elif isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        raw = obj
    else:
        raise ValueError(f"{p}: not an original-system checkpoint (expected a dict with 'network'), got "
                         f"{_describe(obj)[2:] if isinstance(obj, Mapping) else _describe(obj)}")  # fmt: skip
    layout = "dataparallel" if raw and all(str(k).startswith("module.") for k in raw) else "plain"
    state = strip_prefixes(raw)
    if not any(k.startswith("backbone.") for k in state) or not any(k.startswith("head.") for k in state):
        raise ValueError(
            f"{p}: expected keys 'backbone.*' and 'head.*' (after removing 'module.'), got {sorted(state)[:6]}"
        )
    backbone, width = _infer_backbone(state, p)
    in_channels = int(state["backbone.conv1.weight"].shape[1])
    if joint_set is None:
        defaults = {18: "h36m18", 17: "h36m17", 16: "mpii16"}
        if num_joints not in defaults:
            raise ValueError(f"num_joints={num_joints}: pass joint_set= (one of {sorted(SKELETONS)})")
        joint_set = defaults[num_joints]

    if "head.fc.weight" in state:
        out = int(state["head.fc.weight"].shape[0])
        if out != num_joints * 3:
            raise ValueError(f"{p}: direct head predicts {out} values, expected num_joints·3 = {num_joints * 3}")
        mc = ModelConfig(arch="direct", backbone=backbone, backbone_width=width, num_joints=num_joints,
                         joint_set=joint_set, in_channels=in_channels)  # fmt: skip
    else:
        idx = sorted(
            int(m.group(1)) for k in state if (m := re.match(r"^head\.features\.(\d+)\.weight$", k)) is not None
        )
        if not idx:
            raise ValueError(f"{p}: no 'head.features.N.weight' or 'head.fc.weight' keys: unknown head layout")
        final = idx[-1]
        if final % 3 or final == 0:
            raise ValueError(f"{p}: head final layer at features.{final}; expected index 3·N for N deconv layers")
        final_w = state[f"head.features.{final}.weight"]
        deconv_w = state["head.features.0.weight"]
        channels = int(final_w.shape[0])
        if channels % num_joints:
            raise ValueError(
                f"{p}: final convolution has {channels} channels, not a multiple of num_joints={num_joints}"
            )
        output_3d = channels != num_joints
        mc = ModelConfig(
            arch="integral",
            backbone=backbone,
            backbone_width=width,
            num_joints=num_joints,
            joint_set=joint_set,
            depth_bins=channels // num_joints if output_3d else 64,
            deconv_layers=final // 3,
            deconv_filters=int(deconv_w.shape[1]),
            deconv_kernel=int(deconv_w.shape[2]),
            final_conv_kernel=int(final_w.shape[2]),
            output_3d=output_3d,
            in_channels=in_channels,
        )
    model = build_network(mc)
    filled = sum(1 for k in model.state_dict() if k.endswith(_NBT) and k not in state)
    load_state_dict_strict(model, state, source=str(p))
    info = {
        "layout": layout,
        "model_config": mc,
        "backbone": backbone,
        "arch": mc.arch,
        "num_joints": num_joints,
        "depth_bins": mc.depth_bins if mc.arch == "integral" and mc.output_3d else None,
        "epoch": epoch,
        "filled_num_batches_tracked": filled,
    }
    return model.eval(), info


def load_original_checkpoint(
    path: str | os.PathLike[str],
    *,
    num_joints: int = 18,
    joint_set: str | None = None,
    map_location: Any = "cpu",
    trusted: bool = False,
) -> tuple[nn.Module, dict[str, Any]]:
    """Import a checkpoint of the original system (integral or direct-regression model) as a :class:`PoseNet`.

    This gives the network only; :func:`load_pose_checkpoint` with the recipe also gives the codec (how to crop
    and decode), which inference, evaluation and export need.

    Args:
        path: the ``.pth.tar`` file (a dict with ``'network'``, or a bare state dict).
        num_joints: J the model was trained with (18 for all released models); splits the final J·D channels.
        joint_set: skeleton name for J (default: ``h36m18`` for 18, ``h36m17`` for 17, ``mpii16`` for 16).
        map_location: where tensors go.
        trusted: allow full unpickling when the file holds objects other than tensors/plain values (only for
            files from a source you trust).

    Returns:
        ``(model, info)``: the model in eval mode with identical logits to the original network, and ``info`` with
        ``layout`` (``"dataparallel"`` or ``"plain"``), ``model_config`` (a ModelConfig), ``backbone``, ``arch``,
        ``num_joints``, ``depth_bins``, ``epoch`` (or None) and ``filled_num_batches_tracked`` (count).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file, unknown layout, or shapes that do not fit (full report).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    obj = _torch_load_weights(p, map_location, trusted)
    return _original_model(obj, p, num_joints, joint_set)


_IDENTITY_FIELDS = ("arch", "backbone", "num_joints", "joint_set", "output_3d", "depth_bins", "deconv_layers",
                    "in_channels")  # fmt: skip


def original_model_for_recipe(obj: Any, path: str | os.PathLike[str], recipe: Config) -> tuple[nn.Module, Config]:
    """The network of a loaded original-system checkpoint, checked against the recipe it was trained with.

    The file fixes the network (read off its shapes); it must be the recipe's (arch, backbone, joints, joint set,
    depth bins, deconvolution layers, input channels), else the error names each difference and the built-in
    recipes that would fit. Width, deconvolution filters and kernels are taken from the file. The recipe gives
    everything else — above all the codec (patch size, depth normalisation, …) and the test data.

    Args:
        obj: what :func:`read_torch_file` returned. path: the file (for messages). recipe: the recipe's Config.

    Returns:
        ``(model in eval mode, the recipe's Config with the file's model section)``.

    Raises:
        ValueError: not an original checkpoint, or it does not fit the recipe.
    """
    p = Path(path)
    model, info = _original_model(obj, p, recipe.model.num_joints, recipe.model.joint_set)
    file_mc, want = info["model_config"], recipe.model
    no_depth = file_mc.arch == "direct" or not file_mc.output_3d
    fields = [f for f in _IDENTITY_FIELDS if not (f == "depth_bins" and no_depth)]
    wrong = [f"{f} {getattr(file_mc, f)!r} (recipe: {getattr(want, f)!r})" for f in fields
             if getattr(file_mc, f) != getattr(want, f)]  # fmt: skip
    if wrong:
        default = ModelConfig()
        fitting = [
            n
            for n, r in ORIGINAL_RECIPES.items()
            if all(r.settings["model"].get(f, getattr(default, f)) == getattr(file_mc, f) for f in fields)
        ]
        hint = f"; recipes that fit it: {', '.join(fitting)}" if fitting else ""
        raise ValueError(f"{p}: does not fit the recipe {recipe.name or '(unnamed)'!r}: the file holds "
                         + ", ".join(wrong) + hint)  # fmt: skip
    mc = dataclasses.replace(file_mc, pretrained=None)
    config = config_from_dict(config_to_dict(dataclasses.replace(recipe, model=mc)))  # runs the cross-field checks
    return model, config

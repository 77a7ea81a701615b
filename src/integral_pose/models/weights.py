"""Weights from files: ImageNet backbones and the original system's released checkpoints. Nothing is downloaded.

* :func:`load_imagenet` — a local torchvision/timm ResNet state dict (``.pth``/``.pt``/``.safetensors``) into the
  backbone, strictly, with a report of missing / unexpected / mis-shaped keys (the classifier ``fc.*`` is dropped).
* :func:`load_original_checkpoint` — a checkpoint of the original system (``{'epoch', 'network', 'optimizer',
  …}`` saved through ``DataParallel``, keys ``module.backbone.*`` and ``module.head.features.{0,1,3,4,6,7,9}.*``):
  the layout is recognised, the backbone depth, deconvolution settings and J·D are read off the tensor shapes, and
  the weights are loaded into an equivalent :class:`~integral_pose.models.posenet.PoseNet`. Our module tree uses
  the same names (``backbone.*`` with torchvision names, ``head.features.N`` for the deconvolution head,
  ``head.fc`` for the direct head), so the mapping is the removal of the ``module.`` prefix plus filling in the
  ``num_batches_tracked`` counters that files from PyTorch 0.4.0 lack. See ``docs/checkpoints.md``.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from integral_pose.models.zoo import resolve_model_file

__all__ = [
    "StateDictReport",
    "compare_state_dicts",
    "load_imagenet",
    "load_original_checkpoint",
    "load_state_dict_strict",
    "read_state_dict",
]

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
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return []
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
    from integral_pose.engine.checkpoint import strip_prefixes

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


def _backbone_of(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", model)
    inner = getattr(inner, "_orig_mod", inner)
    return getattr(inner, "backbone", inner)


def load_imagenet(model: nn.Module, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ImageNet weights of a torchvision/timm ResNet into the backbone of ``model`` (or into a bare ResNet).

    The classifier (``fc.*``) is dropped; everything else must match exactly (strict, with a report).

    Args:
        model: a :class:`~integral_pose.models.posenet.PoseNet` or a :class:`~integral_pose.models.resnet.ResNet`.
        path: ``.pth`` / ``.pt`` / ``.safetensors`` file.

    Returns:
        ``{"path", "loaded": number of tensors, "dropped": dropped classifier keys}``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file, or missing / unexpected / mis-shaped keys (full report).
    """
    backbone = _backbone_of(model)
    state = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state):  # a whole pose model: take its backbone
        state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
    dropped = sorted(k for k in state if k.startswith("fc."))
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    load_state_dict_strict(backbone, state, source=f"ImageNet weights {path}")
    return {"path": str(path), "loaded": len(state), "dropped": dropped}


_BLOCK_KEY = re.compile(r"^backbone\.layer([1-4])\.(\d+)\.")


def _infer_backbone(state: Mapping[str, torch.Tensor], path: Path) -> str:
    from integral_pose.models.resnet import SPECS

    counts = [0, 0, 0, 0]
    for k in state:
        m = _BLOCK_KEY.match(k)
        if m:
            layer, block = int(m.group(1)), int(m.group(2))
            counts[layer - 1] = max(counts[layer - 1], block + 1)
    block_type = "Bottleneck" if "backbone.layer1.0.conv3.weight" in state else "BasicBlock"
    for name, (bt, layers) in SPECS.items():
        if bt == block_type and tuple(counts) == layers:
            return name
    raise ValueError(
        f"{path}: backbone with {block_type} blocks {counts} per stage is not a known ResNet; expected one of "
        + ", ".join(f"{n} {bt} {list(ls)}" for n, (bt, ls) in SPECS.items())
    )


def load_original_checkpoint(
    path: str | os.PathLike[str],
    *,
    num_joints: int = 18,
    joint_set: str | None = None,
    map_location: Any = "cpu",
    trusted: bool = False,
) -> tuple[nn.Module, dict[str, Any]]:
    """Import a checkpoint of the original system (integral or direct-regression model) as a :class:`PoseNet`.

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
    from integral_pose.config.schema import ModelConfig
    from integral_pose.engine.checkpoint import strip_prefixes
    from integral_pose.models.posenet import build_model
    from integral_pose.skeletons import SKELETONS

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    obj = _torch_load_weights(p, map_location, trusted)
    epoch = None
    if isinstance(obj, Mapping) and isinstance(obj.get("network"), Mapping):
        epoch = obj.get("epoch")
        raw = obj["network"]
    elif isinstance(obj, Mapping) and obj.get("format") == "integral-pose-checkpoint":
        raise ValueError(f"{p}: this is an integral-pose checkpoint; read it with engine.checkpoint.load_checkpoint")
    elif isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        raw = obj
    else:
        what = f"keys {sorted(map(str, obj))[:8]}" if isinstance(obj, Mapping) else type(obj).__name__
        raise ValueError(f"{p}: not an original-system checkpoint (expected a dict with 'network'), got {what}")
    layout = "dataparallel" if raw and all(str(k).startswith("module.") for k in raw) else "plain"
    state = strip_prefixes(raw)
    if not any(k.startswith("backbone.") for k in state) or not any(k.startswith("head.") for k in state):
        raise ValueError(
            f"{p}: expected keys 'backbone.*' and 'head.*' (after removing 'module.'), got {sorted(state)[:6]}"
        )
    backbone = _infer_backbone(state, p)
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
        mc = ModelConfig(arch="direct", backbone=backbone, num_joints=num_joints, joint_set=joint_set,
                         in_channels=in_channels)  # fmt: skip
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
    model = build_model(mc)
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

"""The project's checkpoint format: tensors and plain Python values only, written atomically.

A checkpoint is one ``torch.save`` file holding a dict::

    {"format": "integral-pose-checkpoint", "version": 1, "library_version": "0.1.0",
     "model": {key: tensor},           # state dict, "module." / "_orig_mod." prefixes removed
     "config": {...},                  # the resolved Config as nested dicts (config_to_dict)
     "joint_names": [...],             # J names, in output order
     "codec": {...} | None,            # data.codec.PoseCodec.to_dict() of a full run config (absent in older
                                       # files: codec_from_checkpoint rebuilds it from "config")
     "optimizer": ..., "scheduler": ..., "scaler": ..., "rng_state": ...,   # optional, for resuming
     "epoch": int | None, "step": int | None, "extra": dict | None}

It is written to a temporary file in the same folder, flushed, fsync-ed and renamed over the target
(``os.replace``), so an interrupted save never leaves a truncated checkpoint under the final name. It is read with
``torch.load(weights_only=True)``: no code runs when loading. Only tensors, dicts (incl. ``OrderedDict`` and
``Counter``), lists, tuples, str, int, float, bool and None are accepted when saving; anything else (e.g. NumPy
arrays) is rejected with the key path, so a file that saves always loads.

Example:
    >>> import tempfile, os, torch
    >>> net = torch.nn.Linear(2, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    >>> _ = save_checkpoint(path, net, {"name": "demo"}, ["a", "b"], epoch=3)
    >>> ckpt = load_checkpoint(path)
    >>> ckpt["epoch"], sorted(ckpt["model"])
    (3, ['bias', 'weight'])
"""

from __future__ import annotations

import collections
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from integral_pose import __version__
from integral_pose.config.io import config_from_dict, config_to_dict
from integral_pose.data.codec import codec_from_config
from integral_pose.fileio import atomic_write
from integral_pose.models.posenet import build_network
from integral_pose.models.weights import load_state_dict_strict, strip_prefixes, unwrap_model
from integral_pose.models.zoo import resolve_model_file

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "load_checkpoint",
    "model_from_checkpoint",
    "restore_model",
    "save_checkpoint",
    "strip_prefixes",
]

CHECKPOINT_FORMAT = "integral-pose-checkpoint"
CHECKPOINT_VERSION = 1
_REQUIRED = ("model", "config", "joint_names")


def _check_plain(value: Any, path: str) -> None:
    """Raise TypeError naming ``path`` unless ``value`` is made of tensors and plain Python values."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor, torch.Size, torch.dtype)):
        return
    if isinstance(value, (dict, collections.OrderedDict, collections.Counter)):
        for k, v in value.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"checkpoint field {path!r}: key {k!r} of type {type(k).__name__} is not plain")
            _check_plain(v, f"{path}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{path}[{i}]")
        return
    hint = " (convert NumPy values with torch.from_numpy(...) or .item())" if type(value).__module__ == "numpy" else ""
    raise TypeError(
        f"checkpoint field {path!r}: expected tensors and plain Python values (dict, list, str, int, float, bool, "
        f"None), got {type(value).__module__}.{type(value).__qualname__}{hint}"
    )


def _codec_dict(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The model's :class:`~integral_pose.data.codec.PoseCodec` as plain data, ``None`` for a partial config."""
    try:
        return codec_from_config(config_from_dict(config)).to_dict()
    except ValueError:  # not a full run config (e.g. a test's {"name": ...}): nothing to decode with
        return None


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | Mapping[str, torch.Tensor],
    config: Mapping[str, Any] | Any,
    joint_names: Sequence[str],
    *,
    optimizer: Mapping[str, Any] | Any | None = None,
    scheduler: Mapping[str, Any] | Any | None = None,
    scaler: Mapping[str, Any] | Any | None = None,
    rng_state: Mapping[str, Any] | None = None,
    epoch: int | None = None,
    step: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary file + fsync + ``os.replace``).

    Args:
        path: target file (its folder is created).
        model: module (wrappers such as DDP or ``torch.compile`` are fine) or a state dict.
        config: the resolved config as a dict, or a :class:`~integral_pose.config.schema.Config`.
        joint_names: the J joint names in output order.
        optimizer, scheduler, scaler: objects with ``state_dict()`` or their state dicts (optional).
        rng_state: random-generator states as tensors / plain values (optional).
        epoch: completed epochs (optional).
        step: optimiser steps done (optional).
        extra: any further plain values (metrics, notes).

    Returns:
        The checkpoint path.

    Raises:
        TypeError: a field holds something other than tensors and plain values (named by its key path).
        ValueError: ``joint_names`` does not match the model's ``num_joints``.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else dict(model)
    state = strip_prefixes(state)
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"checkpoint field 'model.{k}': expected a tensor, got {type(v).__name__}")
    if not isinstance(config, Mapping):
        config = config_to_dict(config)
    names = list(joint_names)
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"joint_names: expected a sequence of str, got {names!r}")
    inner = unwrap_model(model)
    expected_j = getattr(inner, "num_joints", None)
    if isinstance(expected_j, int) and expected_j != len(names):
        raise ValueError(f"joint_names: the model predicts {expected_j} joints, got {len(names)} names")

    def _sd(obj: Any) -> Any:
        return obj.state_dict() if hasattr(obj, "state_dict") else obj

    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "library_version": __version__,
        "model": state,
        "config": dict(config),
        "joint_names": names,
        "codec": _codec_dict(config),
        "optimizer": _sd(optimizer),
        "scheduler": _sd(scheduler),
        "scaler": _sd(scaler),
        "rng_state": rng_state,
        "epoch": epoch,
        "step": step,
        "extra": dict(extra) if extra is not None else None,
    }
    for key, value in payload.items():
        if key != "model":
            _check_plain(value, key)

    target = Path(path)
    with atomic_write(target, "wb") as fh:
        torch.save(payload, fh)
    return target


def _torch_load(path: Path, map_location: Any) -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a ValueError naming the file."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{path}: cannot be read safely: it contains Python objects other than tensors and plain values "
            f"({first[:200]}), or it is not a PyTorch file"
        ) from None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except Exception as exc:  # arbitrary bytes can make the unpickler raise anything (KeyError, IndexError, …)
        raise ValueError(
            f"{path}: not a readable checkpoint (corrupt, truncated or not a PyTorch file): {_first_sentence(exc)}"
        ) from None


def _first_sentence(exc: BaseException) -> str:
    """``Type: first sentence of the message`` (PyTorch's loader messages run on for several sentences)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    cut = text.find(". ")
    text = text[: cut + 1] if cut > 0 else text
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def load_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``torch.load(weights_only=True)``).

    Args:
        path: checkpoint file, or the name of a shipped model (:data:`integral_pose.models.zoo.MODELS`).
        map_location: where tensors go (default CPU).

    Returns:
        The checkpoint dict (see module docstring).

    Raises:
        FileNotFoundError: no such file.
        ValueError: corrupt/truncated file, a file of another program (an original-system checkpoint is named as
            such), an unknown format version, or missing fields.
    """
    p = resolve_model_file(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    obj = _torch_load(p, map_location)
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        if isinstance(obj, dict) and ("network" in obj or any(str(k).startswith("module.") for k in obj)):
            raise ValueError(
                f"{p}: this is an original-system checkpoint (keys {sorted(map(str, obj))[:6]}); import it with "
                "integral_pose.models.weights.load_original_checkpoint"
            )
        what = f"a dict with keys {sorted(map(str, obj))[:8]}" if isinstance(obj, dict) else type(obj).__name__
        raise ValueError(f"{p}: not an integral-pose checkpoint (expected 'format': {CHECKPOINT_FORMAT!r}, got {what})")
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= CHECKPOINT_VERSION:
        raise ValueError(
            f"{p}: unsupported checkpoint version {version!r}; this integral-pose reads 1..{CHECKPOINT_VERSION}"
            " (a newer version needs a newer integral-pose)"
        )
    missing = [k for k in _REQUIRED if k not in obj]
    if missing:
        raise ValueError(f"{p}: checkpoint is missing the fields {missing}")
    if not isinstance(obj["model"], dict):
        raise ValueError(f"{p}: field 'model' should be a state dict, got {type(obj['model']).__name__}")
    return obj


def restore_model(model: nn.Module, checkpoint: Mapping[str, Any], *, source: str = "checkpoint") -> None:
    """Load a checkpoint's weights into ``model`` strictly, after checking the joint count.

    Raises:
        ValueError: the checkpoint predicts another number of joints, or keys are missing / unexpected /
            mis-shaped (full report).
    """
    inner = unwrap_model(model)
    names = list(checkpoint.get("joint_names") or [])
    j = getattr(inner, "num_joints", None)
    if isinstance(j, int) and names and j != len(names):
        raise ValueError(
            f"{source}: the checkpoint predicts {len(names)} joints ({', '.join(names[:4])}, …) but the model "
            f"predicts {j}; build the model from the checkpoint's config"
        )
    load_state_dict_strict(inner, strip_prefixes(checkpoint["model"]), source=source)


def model_from_checkpoint(path: str | os.PathLike[str], map_location: Any = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Build the model described by a checkpoint's config and load its weights (no ImageNet file is read).

    Returns:
        ``(model, checkpoint)``; the model is in eval mode.
    """
    ckpt = load_checkpoint(path, map_location)
    try:
        config = config_from_dict(ckpt["config"])
    except ValueError as exc:
        raise ValueError(f"{path}: the stored config is not valid for this integral-pose: {exc}") from None
    model = build_network(config.model)  # the backbone file is not read: the checkpoint holds the weights
    restore_model(model, ckpt, source=str(path))
    return model.eval(), ckpt

"""The original system's checkpoints as ours: in memory with their recipe (``--recipe``), or written once.

A checkpoint of the original system (``*.pth.tar``) holds the network only; how to crop and decode — the codec:
patch size, depth bins, depth normalisation, joint set — lived in the recipe it was trained with. Given that recipe
(a name of :data:`~integral_pose.models.zoo.ORIGINAL_RECIPES`, a YAML file or a Config), :func:`load_pose_checkpoint`
returns the model and a checkpoint dict in our format, so inference, evaluation and export treat it like any of our
checkpoints; :func:`convert_original_checkpoint` writes that dict to a file (``ipr convert``), which then needs no
recipe. See ``docs/checkpoints.md``.

Example:
    >>> sorted(k for k in ("challenge-r152-288x384", "h36m-r50-256") if k in ORIGINAL_RECIPES)
    ['challenge-r152-288x384', 'h36m-r50-256']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torch import nn

from integral_pose import __version__
from integral_pose.config.io import config_to_dict
from integral_pose.config.schema import Config
from integral_pose.data.codec import codec_from_config
from integral_pose.engine.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    model_from_checkpoint,
    save_checkpoint,
    strip_prefixes,
)
from integral_pose.models.weights import is_original_checkpoint, original_model_for_recipe, read_torch_file
from integral_pose.models.zoo import ORIGINAL_RECIPES, recipe_config, resolve_model_file
from integral_pose.skeletons import get_skeleton

__all__ = ["ORIGINAL_RECIPES", "checkpoint_kind", "convert_original_checkpoint", "load_pose_checkpoint"]

Recipe = str | os.PathLike[str] | Config


def _kind(obj: Any) -> str | None:
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return "integral-pose"
    return "original" if is_original_checkpoint(obj) else None


def _not_a_checkpoint(p: Path, obj: Any) -> ValueError:
    what = f"a dict with keys {sorted(map(str, obj))[:6]}" if isinstance(obj, dict) else type(obj).__name__
    return ValueError(f"{p}: not an integral-pose checkpoint nor an original-system one (a dict with 'network'); "
                      f"it holds {what}")  # fmt: skip


def checkpoint_kind(path: str | os.PathLike[str], *, trusted: bool = False) -> str:
    """``"integral-pose"`` or ``"original"``: the kind of a pose checkpoint, found before any model is built.

    Raises:
        FileNotFoundError: no such file.
        ValueError: one line naming the file when it is neither (text, an image, another program's file).
    """
    p = resolve_model_file(path)
    obj = read_torch_file(p, trusted=trusted)
    kind = _kind(obj)
    if kind is None:
        raise _not_a_checkpoint(p, obj)
    return kind


def _as_ours(model: nn.Module, config: Config, source: Path, original_epoch: Any) -> dict[str, Any]:
    """The checkpoint dict :func:`~integral_pose.engine.checkpoint.save_checkpoint` would write for this model."""
    epoch = original_epoch if isinstance(original_epoch, int) and not isinstance(original_epoch, bool) else None
    return {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "library_version": __version__,
        "model": strip_prefixes(model.state_dict()),
        "config": config_to_dict(config),
        "joint_names": list(get_skeleton(config.model.joint_set).joint_names),
        "codec": codec_from_config(config).to_dict(),
        "optimizer": None,
        "scheduler": None,
        "scaler": None,
        "rng_state": None,
        "epoch": None,
        "step": None,
        "extra": {"converted_from": source.name, "original_epoch": epoch, "recipe": config.name},
    }


def load_pose_checkpoint(
    path: str | os.PathLike[str],
    recipe: Recipe | None = None,
    *,
    overrides: Iterable[str] = (),
    map_location: Any = "cpu",
    trusted: bool = False,
) -> tuple[nn.Module, dict[str, Any]]:
    """A pose model and its checkpoint dict (our format) from either kind of checkpoint.

    * Our checkpoint (or a shipped model's name): as saved; ``recipe`` must be ``None``.
    * An original-system checkpoint: ``recipe`` names the recipe it was trained with. The network is read off the
      file and must be the recipe's (:func:`~integral_pose.models.weights.original_model_for_recipe`); the codec
      and the test data come from the recipe.

    The file's first bytes are checked before anything is unpickled or built: a text file, an image or an ONNX
    model gets one line naming it.

    Args:
        path: the checkpoint file.
        recipe: a name of :data:`ORIGINAL_RECIPES`, a YAML recipe file or a Config (original checkpoints only).
        overrides: dotted ``key=value`` overrides of a recipe name or file.
        map_location: where the model goes.
        trusted: allow objects other than tensors and plain values in an original file (a source you trust).

    Returns:
        ``(model in eval mode, checkpoint dict)`` — ``config``, ``joint_names``, ``codec``, ``model``, … as in a
        saved checkpoint; for an original file ``extra`` says where it came from.

    Raises:
        FileNotFoundError: no such file or recipe.
        ValueError: not a pose checkpoint; an original checkpoint without a recipe (the names are listed) or one
            that does not fit its recipe; a recipe given with our own checkpoint.
    """
    p = resolve_model_file(path)
    obj = read_torch_file(p, trusted=trusted)
    kind = _kind(obj)
    if kind == "integral-pose":
        del obj
        if recipe is not None:
            raise ValueError(f"{p}: an integral-pose checkpoint carries its own recipe; a recipe is only for "
                             "original-system checkpoints (*.pth.tar)")  # fmt: skip
        return model_from_checkpoint(p, map_location=map_location)
    if kind is None:
        raise _not_a_checkpoint(p, obj)
    if recipe is None:
        raise ValueError(f"{p}: an original-system checkpoint; name the recipe it was trained with (--recipe): one "
                         f"of {', '.join(ORIGINAL_RECIPES)}, or a YAML recipe file")  # fmt: skip
    config = recipe_config(recipe, overrides)
    model, config = original_model_for_recipe(obj, p, config)
    epoch = obj.get("epoch") if isinstance(obj, dict) else None
    return model.to(map_location).eval(), _as_ours(model, config, p, epoch)


def convert_original_checkpoint(
    path: str | os.PathLike[str],
    recipe: Recipe,
    out: str | os.PathLike[str],
    *,
    overrides: Iterable[str] = (),
    trusted: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Write an original-system checkpoint once as an integral-pose checkpoint (atomically).

    The written file loads everywhere without a recipe and gives the same outputs as the original file with it.

    Returns:
        ``(the written path, the checkpoint dict)``.

    Raises:
        ValueError: ``path`` is our checkpoint already, not a pose checkpoint, does not fit the recipe, or ``out``
            is ``path`` itself.
    """
    src, dst = Path(path), Path(out)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise ValueError(f"out: {dst} is the original checkpoint itself; choose another file name")
    obj = read_torch_file(src, trusted=trusted)
    kind = _kind(obj)
    if kind == "integral-pose":
        raise ValueError(f"{src}: already an integral-pose checkpoint; nothing to convert")
    if kind is None:
        raise _not_a_checkpoint(src, obj)
    config = recipe_config(recipe, overrides)
    model, config = original_model_for_recipe(obj, src, config)
    ckpt = _as_ours(model, config, src, obj.get("epoch") if isinstance(obj, dict) else None)
    written = save_checkpoint(dst, model, ckpt["config"], ckpt["joint_names"], extra=ckpt["extra"])
    return written, ckpt

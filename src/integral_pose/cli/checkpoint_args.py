"""``--checkpoint`` / ``--recipe`` of ``ipr predict``, ``ipr eval``, ``ipr export`` and ``ipr convert``, in one place.

``--checkpoint`` is our checkpoint (``.pt``), a shipped model's name, an ``.onnx`` export (predict only) or a
checkpoint of the original system (``*.pth.tar``). The latter holds the network only, so it needs ``--recipe``:
a built-in name of :data:`~integral_pose.models.zoo.ORIGINAL_RECIPES` or a YAML recipe (``configs/challenge/…``),
which sets the codec (patch size, depth bins, depth normalisation, joint set). :func:`check_checkpoint_args` runs
the cheap checks (the file's first bytes, the recipe's existence) before any model is built; the verbs then pass
``recipe`` to the library (:func:`integral_pose.engine.original.load_pose_checkpoint` loads either kind).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from integral_pose.data.checks import readable_file
from integral_pose.errors import CliError
from integral_pose.models.weights import check_torch_file
from integral_pose.models.zoo import ORIGINAL_RECIPES, is_model_name, resolve_model_file

__all__ = ["RECIPE_HELP", "add_recipe_argument", "check_checkpoint_args"]

RECIPE_HELP = (
    "for a checkpoint of the original system (*.pth.tar): the recipe it was trained with, a built-in name ("
    + ", ".join(ORIGINAL_RECIPES)
    + ") or a YAML recipe (configs/challenge/...); it sets patch size, depth bins, depth normalisation and joint set"
)

_EXPORTS = (".onnx", ".pt2")


def add_recipe_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, required: bool = False) -> None:
    """Add ``--recipe NAME|FILE``."""
    parser.add_argument("--recipe", metavar="NAME|FILE", default=None, required=required, help=RECIPE_HELP)


def _check_recipe(recipe: str) -> None:
    if recipe in ORIGINAL_RECIPES or Path(recipe).is_file():
        return
    if Path(recipe).is_dir():
        raise CliError(f"--recipe: expected a recipe name or a YAML file, got the folder {recipe!r}")
    raise CliError(f"--recipe: {recipe!r} is neither a built-in recipe ({', '.join(ORIGINAL_RECIPES)}) nor an "
                   "existing YAML file")  # fmt: skip


def check_checkpoint_args(checkpoint: str, recipe: str | None, what: str = "--checkpoint") -> None:
    """Cheap checks of ``--checkpoint`` and ``--recipe`` before any model is built (nothing is unpickled).

    A missing file, a folder or an unreadable file is named with ``what`` (``FileNotFoundError`` /
    ``IsADirectoryError`` / ``PermissionError``). A file that is not a PyTorch file (text, an image …) gets one
    line naming it and what was expected; an
    ``.onnx``/``.pt2`` export with ``--recipe``, or a recipe that is neither a built-in name nor a file, likewise.

    Raises:
        CliError: one line naming the argument.
    """
    if recipe is not None:
        _check_recipe(recipe)
    if is_model_name(checkpoint):
        if recipe is not None:
            raise CliError(f"--recipe: the shipped model {checkpoint!r} carries its own recipe; --recipe is only for "
                           "original-system checkpoints (*.pth.tar)")  # fmt: skip
        return
    path = resolve_model_file(checkpoint)
    readable_file(path, what)  # missing, a folder or unreadable: named here, before the format check
    if path.suffix.lower() in _EXPORTS:
        if recipe is not None:
            raise CliError(f"--recipe: {checkpoint!r} is an export that carries its own contract; --recipe is only "
                           "for original-system checkpoints (*.pth.tar)")  # fmt: skip
        return
    try:
        check_torch_file(path)
    except ValueError as exc:
        raise CliError(f"{what}: {exc}") from None

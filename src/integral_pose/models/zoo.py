"""Models shipped inside the package, usable by name wherever a checkpoint or backbone file is expected.

``ipr predict --checkpoint synthmocap-small``, ``PoseEstimator.from_checkpoint("synthmocap-small")``,
``ipr eval``/``ipr export`` and ``model.pretrained: synthmocap-small`` (its backbone as a starting point) all
resolve a name of :data:`MODELS` to the file under ``integral_pose/assets/models/``. Anything else is taken as a
path. Each model has a card (``<name>.md`` beside it) with its data, recipe, command, updates and scores.

Example:
    >>> resolve_model_file("synthmocap-small").name
    'synthmocap_small.pt'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MODELS", "ZooModel", "is_model_name", "resolve_model_file"]


@dataclass(frozen=True)
class ZooModel:
    """One shipped model: its file and card (relative to ``assets/models``) and a one-line description."""

    file: str
    card: str
    description: str


MODELS: dict[str, ZooModel] = {
    "synthmocap-small": ZooModel(
        file="synthmocap_small.pt",
        card="synthmocap_small.md",
        description="integral model, ResNet-18 at 1/4 width, 64x64 input, 16x16x16 volume, trained on SynthMocap "
        "(the demo's starting point)",
    ),
}
"""Shipped models by name."""


def models_dir() -> Path:
    """The folder of the shipped model files."""
    return Path(__file__).resolve().parents[1] / "assets" / "models"


def is_model_name(value: str | os.PathLike[str]) -> bool:
    """Whether ``value`` is the name of a shipped model (and not an existing path)."""
    text = os.fspath(value)
    return isinstance(text, str) and text in MODELS and not Path(text).exists()


def resolve_model_file(value: str | os.PathLike[str]) -> Path:
    """The file a checkpoint argument names: a shipped model's file for a name of :data:`MODELS`, else the path.

    Raises:
        FileNotFoundError: a shipped model's file is missing from this installation (names the expected path).
    """
    if not is_model_name(value):
        return Path(value)
    path = models_dir() / MODELS[os.fspath(value)].file
    if not path.is_file():
        raise FileNotFoundError(
            f"shipped model {value!r}: its file {path} is missing from this installation; reinstall integral-pose"
        )
    return path

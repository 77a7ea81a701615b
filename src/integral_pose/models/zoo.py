"""Models shipped inside the package, usable by name wherever a checkpoint or backbone file is expected.

``ipr predict --checkpoint synthmocap-small``, ``PoseEstimator.from_checkpoint("synthmocap-small")``,
``ipr eval``/``ipr export`` and ``model.pretrained: synthmocap-small`` (its backbone as a starting point) all
resolve a name of :data:`MODELS` to the file under ``integral_pose/assets/models/``. Anything else is taken as a
path. Each model has a card (``<name>.md`` beside it) with its data, recipe, command, updates and scores.

:data:`ORIGINAL_RECIPES` names the recipes of the original system (JimmySuen/integral-human-pose) by a short name,
so that a checkpoint of that system (``*.pth.tar``, downloaded by hand) can be used with ``--recipe NAME``: each
holds the settings that fix the network and its codec (patch size, depth bins, depth normalisation, joint set)
and the test data of the matching recipe under ``configs/``. :func:`recipe_config` turns a name, a YAML file or a
:class:`~integral_pose.config.schema.Config` into the config.

Example:
    >>> resolve_model_file("synthmocap-small").name
    'synthmocap_small.pt'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integral_pose.config.io import config_with_overrides, load_config
from integral_pose.config.schema import Config
from integral_pose.conventions import DEFAULT_PATCH_SIZE, DEFAULT_RECT_3D_MM, MEAN_SKELETON_LENGTH_MM

__all__ = [
    "MODELS",
    "ORIGINAL_RECIPES",
    "OriginalRecipe",
    "ZooModel",
    "is_model_name",
    "recipe_config",
    "resolve_model_file",
]


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


@dataclass(frozen=True)
class OriginalRecipe:
    """A recipe of the original system, usable by name with its checkpoints.

    Attributes:
        description: one line: network, patch, volume, training data.
        recipe_file: the full training recipe in this repository's ``configs/`` (same model and codec).
        released: ``(file name, download page)`` of the models the original README links for this recipe; empty
            when none was released (for checkpoints trained with the original code).
        settings: the config sections that fix the network, its codec and the test data (a recipe mapping).
    """

    description: str
    recipe_file: str
    released: tuple[tuple[str, str], ...]
    settings: Mapping[str, Any]


def _h36m_r50(arch: str) -> dict[str, Any]:
    model: dict[str, Any] = {"arch": arch, "backbone": "resnet50", "num_joints": 18, "joint_set": "h36m18"}
    if arch == "integral":
        model.update(depth_bins=64, deconv_layers=3, deconv_filters=256, deconv_kernel=4, final_conv_kernel=1,
                     output_3d=True)  # fmt: skip
    test = {"kind": "h36m", "records": "data_cache/h36m/test_s9s11_every64.npz", "box_aspect": "keep"}
    return {
        "model": model,
        "data": {
            "patch_width": DEFAULT_PATCH_SIZE[0],
            "patch_height": DEFAULT_PATCH_SIZE[1],
            "rect_3d_mm": DEFAULT_RECT_3D_MM,
            "test": [test],
            "box_source": "gt",
        },
        "eval": {"protocol": "h36m_p2", "flip_test": True, "root_depth": "gt"},
    }


def _challenge_r152(patch_w: int, patch_h: int, depth_bins: int) -> dict[str, Any]:
    test = {"kind": "h36m_challenge", "records": "data_cache/h36m_challenge/val.npz", "box": "tight",
            "depth_norm": "box"}  # fmt: skip
    return {
        "model": {
            "arch": "integral",
            "backbone": "resnet152",
            "num_joints": 18,
            "joint_set": "h36m18",
            "depth_bins": depth_bins,
            "deconv_layers": 3,
            "deconv_filters": 256,
            "deconv_kernel": 4,
            "final_conv_kernel": 1,
            "output_3d": True,
        },
        "data": {
            "patch_width": patch_w,
            "patch_height": patch_h,
            "rect_3d_mm": DEFAULT_RECT_3D_MM,
            "test": [test],
            "box_source": "tight",
        },
        "eval": {
            "protocol": "h36m_p2",
            "flip_test": True,
            "root_depth": "gt",
            "bone_length_rescale": MEAN_SKELETON_LENGTH_MM,
        },
    }


ORIGINAL_RECIPES: dict[str, OriginalRecipe] = {
    "challenge-r152-288x384": OriginalRecipe(
        description="ECCV'18 challenge system: ResNet-152, 288x384 patches, 72x96x72 volume, depth normalised by "
        "the box width, MPII + COCO + Human3.6M-challenge",
        recipe_file="configs/challenge/r152_288x384_int72_l1_mch_e300.yaml",
        released=(
            (
                "model_chall_train_152ft_384x288.pth.tar",
                "https://www.dropbox.com/s/hfz5nkd39uisvbr/model_chall_train_152ft_384x288.pth.tar?dl=0",
            ),
            (
                "model_chall_trainval_152ft_384x288.pth.tar",
                "https://www.dropbox.com/s/o1xhp3vocnvtgu3/model_chall_trainval_152ft_384x288.pth.tar?dl=0",
            ),
        ),
        settings=_challenge_r152(288, 384, 72),
    ),
    "challenge-r152-256": OriginalRecipe(
        description="ECCV'18 challenge system, first variant: ResNet-152, 256x256 patches, 64x64x64 volume, depth "
        "normalised by the box width, MPII + Human3.6M-challenge",
        recipe_file="configs/challenge/r152_256_int64_l1_mhc_e300.yaml",
        released=(),
        settings=_challenge_r152(256, 256, 64),
    ),
    "h36m-r50-256": OriginalRecipe(
        description="the paper's integral model: ResNet-50, 256x256 patches, 64x64x64 volume, depth normalised by "
        "2000 mm, MPII + Human3.6M",
        recipe_file="configs/h36m/r50_256_int64_l1_mh_e300.yaml",
        released=(),
        settings=_h36m_r50("integral"),
    ),
    "h36m-r50-256-direct": OriginalRecipe(
        description="the paper's direct-regression baseline: ResNet-50, 256x256 patches, pooled linear layer to "
        "18x3 coordinates, MPII + Human3.6M",
        recipe_file="configs/h36m/r50_256_dir_l1_mh_e140.yaml",
        released=(),
        settings=_h36m_r50("direct"),
    ),
}
"""The original system's recipes by short name (``--recipe NAME``); its README links released files for
``challenge-r152-288x384`` only (see :attr:`OriginalRecipe.released` and ``docs/checkpoints.md``)."""


def recipe_config(recipe: str | os.PathLike[str] | Config, overrides: Iterable[str] = ()) -> Config:
    """The config a ``--recipe`` names: a name of :data:`ORIGINAL_RECIPES`, a YAML recipe file, or a Config.

    Args:
        recipe: the name, the file, or a :class:`~integral_pose.config.schema.Config` (returned as is).
        overrides: dotted ``key=value`` overrides (names and files only).

    Raises:
        FileNotFoundError: neither a known name nor an existing file (the message lists the names).
        ConfigError: an invalid recipe or override.
    """
    if isinstance(recipe, Config):
        if list(overrides):
            raise ValueError("recipe: overrides apply to a recipe name or file, not to a Config object")
        return recipe
    text = os.fspath(recipe)
    if text in ORIGINAL_RECIPES and not Path(text).exists():
        values = {"name": text, **ORIGINAL_RECIPES[text].settings}
        return config_with_overrides(values, overrides, source=f"the built-in recipe {text!r}")
    if not Path(text).is_file():
        raise FileNotFoundError(
            f"recipe: {text!r} is neither a recipe name ({', '.join(ORIGINAL_RECIPES)}) nor an existing YAML file"
        )
    return load_config(text, overrides)

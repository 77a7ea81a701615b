"""Reading, overriding, converting and saving configurations.

A recipe is a YAML mapping with the sections of :class:`~integral_pose.config.schema.Config`; keys left out take
their defaults. Dotted overrides such as ``optim.lr=1e-4``, ``model.backbone=resnet152`` or
``data.train.0.ratio=2`` are applied to the YAML mapping before validation; the value is parsed as YAML
(``true``, ``null``, ``[270, 290]``, ``{kind: mpii, records: x.npz}``).

Example:
    >>> from integral_pose.config.io import config_from_dict, config_to_dict
    >>> cfg = config_from_dict({"model": {"backbone": "resnet18"}, "optim": {"lr": "1e-4"}})
    >>> cfg.optim.lr, config_to_dict(cfg)["model"]["backbone"]
    (0.0001, 'resnet18')
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from integral_pose.config.schema import Config, ConfigError, ConfigTypeError, build_section
from integral_pose.fileio import atomic_write_text

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "config_to_yaml",
    "config_with_overrides",
    "load_config",
    "parse_override",
    "read_yaml",
    "save_config",
]


def config_from_dict(values: Mapping[str, Any]) -> Config:
    """Build and validate a :class:`Config` from a nested mapping (unknown keys are errors).

    Raises:
        ConfigError: unknown key or bad value, message starting with the dotted key path.
        ConfigTypeError: wrong type (expected vs actual).
    """
    return build_section(Config, values)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def config_to_dict(config: Config) -> dict[str, Any]:
    """The config as plain nested dicts/lists/scalars (YAML- and checkpoint-safe); inverse of ``config_from_dict``."""
    if not isinstance(config, Config):
        raise TypeError(f"config: expected a Config, got {type(config).__name__}")
    return _plain(config)


def config_to_yaml(config: Config) -> str:
    """The config as a YAML document with sections in schema order."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False, default_flow_style=False, width=120)


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A YAML mapping repeats a key (YAML itself would silently keep the last value)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key repeated within one mapping, naming both lines."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                break
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(
                    None, None, f"duplicate key {key!r} on line {line} (first on line {first}); keep one of them",
                    key_node.start_mark,
                )  # fmt: skip
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` that rejects duplicate keys (:class:`DuplicateKeyError`)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: plain values only


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ConfigError: YAML syntax error or a repeated key (with file, line and column), or the top level is not a
            mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        data = _safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError("", f"{where}: YAML syntax error: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigTypeError("", f"{p}: expected a YAML mapping at the top level, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into the key path and the YAML-parsed value.

    Raises:
        ConfigError: no ``=``, an empty key segment, or a value that is not valid YAML.
    """
    if "=" not in text:
        raise ConfigError("", f"override {text!r}: expected KEY=VALUE, e.g. optim.lr=1e-4")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise ConfigError("", f"override {text!r}: empty segment in key {key!r}")
    try:
        value = _safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(key, f"override value {raw!r} is not valid YAML: {exc}") from None
    return parts, value


def _path_text(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def apply_overrides(values: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a deep copy of ``values`` with each ``KEY=VALUE`` override set (list items by integer index).

    Unknown keys are not checked here; :func:`config_from_dict` rejects them with a suggestion.

    Raises:
        ConfigError: malformed override, or a path through a non-mapping / an out-of-range list index.
    """
    out: dict[str, Any] = copy.deepcopy(dict(values))
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = out
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = _path_text(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(where, f"override {text!r}: expected a list index < {len(node)}, got {part!r}")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    if node.get(part) is None:
                        node[part] = {}
                    node = node[part]
            else:
                raise ConfigError(
                    _path_text(parts[:depth]),
                    f"override {text!r}: cannot set a key inside a {type(node).__name__} value {node!r}",
                )
    return out


def load_config(path: str | os.PathLike[str] | None, overrides: Iterable[str] = ()) -> Config:
    """Read a YAML recipe (or start from the defaults when ``path`` is None), apply overrides and validate.

    Args:
        path: YAML file, or None for the schema defaults.
        overrides: ``KEY=VALUE`` strings (dotted keys, YAML values), applied in order.

    Returns:
        The validated, frozen :class:`Config`; ``name`` defaults to the file's stem.

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError / ConfigTypeError: syntax error with line, unknown key with suggestion, wrong type, bad value;
            an error an override caused names the override, not the file.
    """
    base = read_yaml(path) if path is not None else {}
    name = Path(path).stem if path is not None else None
    return config_with_overrides(base, overrides, None if path is None else str(path), default_name=name)


def config_with_overrides(
    values: Mapping[str, Any],
    overrides: Iterable[str] = (),
    source: str | None = None,
    default_name: str | None = None,
) -> Config:
    """Apply ``KEY=VALUE`` overrides to a config mapping (a recipe's, a checkpoint's) and validate the result.

    Args:
        values: the nested mapping the overrides apply to.
        overrides: ``KEY=VALUE`` strings, applied in order.
        source: where ``values`` came from (``"recipe.yaml"``, ``"the config stored in last.pt"``), named in errors
            that are not an override's.
        default_name: ``name`` when neither the values nor an override set one.

    Raises:
        ConfigError / ConfigTypeError: the message ends with ``(from the override 'KEY=VALUE'…)`` when an override
            set the bad key, a key below it or an unknown key it introduced, else with ``(in SOURCE)``.
    """
    overrides = list(overrides)
    base = dict(values)
    out = apply_overrides(base, overrides)
    if default_name is not None and not out.get("name"):
        out["name"] = default_name
    try:
        return config_from_dict(out)
    except ConfigError as exc:
        culprit = _override_setting(exc.path, overrides, base)
        if culprit is not None:
            exc.message = f"{exc.message} (from the override {culprit!r}{_example_hint(culprit, base)})"
            exc.args = (exc._text(),)
        elif source is not None and not exc.message.startswith(source):
            exc.message = f"{exc.message} (in {source})"
            exc.args = (exc._text(),)
        raise


_MISSING = object()


def _lookup(values: Mapping[str, Any], parts: list[str]) -> Any:
    """The value at the key path ``parts`` of the nested mapping/list ``values``, or ``_MISSING``."""
    node: Any = values
    for part in parts:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _has_key(values: Mapping[str, Any], parts: list[str]) -> bool:
    """Whether the nested mapping/list ``values`` has the key path ``parts``."""
    return _lookup(values, parts) is not _MISSING


def _override_setting(key_path: str, overrides: list[str], file_values: Mapping[str, Any]) -> str | None:
    """The override an error at ``key_path`` comes from, or None when the error is the file's.

    That is the last override that set ``key_path`` or a key above it; else the last one whose key lies below
    ``key_path`` when the file lacks ``key_path`` (the override introduced it, e.g. the misspelt section of
    ``optm.lr=1``).
    """
    if not key_path:
        return None
    parsed = [(text, parse_override(text)[0]) for text in reversed(overrides)]
    for text, parts in parsed:
        key = _path_text(parts)
        if key_path == key or key_path.startswith((key + ".", key + "[")):
            return text
    for text, parts in parsed:
        for depth in range(1, len(parts)):
            if _path_text(parts[:depth]) == key_path and not _has_key(file_values, parts[:depth]):
                return text
    return None


def _example_hint(override: str, file_values: Mapping[str, Any]) -> str:
    """``"; e.g. optim.lr=0.001"``: the key with the value it has without the override (file, else default)."""
    parts = parse_override(override)[0]
    for tree in (file_values, config_to_dict(Config())):
        node = _lookup(tree, parts)
        if node is not _MISSING and node is not None and not isinstance(node, Mapping):
            shown = "[" + ", ".join(str(v) for v in node) + "]" if isinstance(node, list | tuple) else str(node)
            if isinstance(node, bool):
                shown = str(node).lower()
            return f"; e.g. {_path_text(parts).replace('[', '.').replace(']', '')}={shown}"
    return ""


def save_config(config: Config, path: str | os.PathLike[str]) -> Path:
    """Write the resolved config as YAML atomically (temporary file + fsync + rename); return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(p, config_to_yaml(config))
    return p

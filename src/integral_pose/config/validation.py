"""Validation machinery of the config sections: typed errors with the key path, type coercion, range checks.

Every section of :mod:`integral_pose.config.schema` is a frozen dataclass deriving from :class:`Section`, which
coerces each field to its annotated type (lists become tuples, ints are accepted for floats, ``Literal`` values
are checked with a ``difflib`` suggestion) and then runs the section's own ``_check``. Errors are
:class:`ConfigError` (a ``ValueError``) or :class:`ConfigTypeError` (also a ``TypeError``) whose message starts
with the dotted key path.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "Section",
    "build_section",
    "check_positive",
    "check_probability",
    "suggest",
]


class ConfigError(ValueError):
    """An invalid configuration value; ``path`` is the dotted key (``"optim.lr"``, ``"data.train[0].kind"``)."""

    def __init__(self, path: str, message: str = "") -> None:
        self.path = path
        self.message = message
        super().__init__(self._text())

    def _text(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def prepend(self, segment: str) -> ConfigError:
        """Prefix the key path with ``segment`` (a field name or ``[i]``) and return ``self``."""
        if not segment:
            return self
        if not self.path:
            self.path = segment
        elif self.path.startswith("["):
            self.path = segment + self.path
        else:
            self.path = f"{segment}.{self.path}"
        self.args = (self._text(),)
        return self

    def __str__(self) -> str:
        return self._text()


class ConfigTypeError(ConfigError, TypeError):
    """A configuration value of the wrong type (expected vs actual type in the message)."""


def suggest(name: str, choices: Sequence[str]) -> str:
    """A ``" (did you mean 'x'?)"`` hint for a misspelt ``name``, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_NUMERIC_STR = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list of {len(args)} × {_type_name(args[0])}"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    return {int: "int", float: "float (number)", bool: "bool", str: "str"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any) -> Any:
    """Check ``value`` against the annotation ``tp`` and return it normalised (list→tuple, int→float, mapping→section).

    Raises:
        ConfigTypeError: wrong type (path relative to the value, e.g. ``"[2]"`` inside a list).
        ConfigError: a bad value nested inside (unknown key, out-of-range value).
    """
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors: list[ConfigError] = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg)
            except ConfigError as exc:
                errors.append(exc)
        # A nested value error (not a type error) is more useful than "expected X or null".
        for exc in errors:
            if not isinstance(exc, ConfigTypeError) or exc.path:
                raise exc
        raise ConfigTypeError("", f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if isinstance(value, str) and value in choices:
            return value
        if not isinstance(value, str):
            raise ConfigTypeError("", f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
        raise ConfigError("", f"expected one of {list(choices)}, got {value!r}{suggest(value, choices)}")
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise ConfigTypeError("", f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item_types = [args[0]] * len(value)
        else:
            item_types = list(args)
            if len(value) != len(args):
                raise ConfigError("", f"expected {_type_name(tp)}, got {len(value)} items {list(value)!r}")
        out = []
        for i, (item, item_tp) in enumerate(zip(value, item_types)):
            try:
                out.append(_coerce(item, item_tp))
            except ConfigError as exc:
                raise exc.prepend(f"[{i}]") from None
        return tuple(out)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return build_section(tp, value)
        raise ConfigTypeError("", f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigTypeError("", f"expected bool (true/false), got {type(value).__name__} {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigTypeError("", f"expected int, got {type(value).__name__} {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads "1e-4" (no dot) as a string; accept plain numeric text for float fields.
        if isinstance(value, str) and _NUMERIC_STR.match(value.strip()):
            return float(value)
        raise ConfigTypeError("", f"expected float (number), got {type(value).__name__} {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigTypeError("", f"expected str, got {type(value).__name__} {value!r}")
    raise TypeError(f"unsupported annotation {tp!r} in the config schema")  # pragma: no cover - schema bug


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def build_section(cls: type, values: Mapping[str, Any]) -> Any:
    """Build the section dataclass ``cls`` from a mapping, rejecting unknown keys with a suggestion.

    Raises:
        ConfigError: an unknown key (path = the key) or any invalid value.
        ConfigTypeError: ``values`` is not a mapping or a value has the wrong type.
    """
    if not isinstance(values, Mapping):
        raise ConfigTypeError("", f"expected a mapping ({cls.__name__}), got {type(values).__name__} {values!r}")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in values:
        if not isinstance(key, str):
            raise ConfigTypeError(str(key), f"keys must be strings, got {type(key).__name__}")
        if key not in names:
            raise ConfigError(key, f"unknown key{suggest(key, names)}; valid keys: {', '.join(names)}")
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in values:
            raise ConfigError(name, f"missing required key ({cls.__name__} needs: {', '.join(required)})")
    return cls(**dict(values))


class Section:
    """Mixin: type-check and normalise every field, then run ``_check`` (value ranges)."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            try:
                value = _coerce(getattr(self, f.name), hints[f.name])
            except ConfigError as exc:
                raise exc.prepend(f.name) from None
            object.__setattr__(self, f.name, value)
        self._check()

    def _check(self) -> None:
        """Range checks of the section; raise :class:`ConfigError` with the field name as path."""


def check_positive(path: str, value: float, *, allow_zero: bool = False) -> None:
    ok = value >= 0 if allow_zero else value > 0
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(path, f"expected a finite number {bound}, got {value!r}")


def check_probability(path: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(path, f"expected a probability in [0, 1], got {value!r}")

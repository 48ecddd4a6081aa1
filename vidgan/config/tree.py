"""The mechanics of a config tree of frozen dataclasses: build one from nested mappings
(unknown keys and wrong types fail with one line naming the field), flatten, compare.
Nothing here knows a vidgan field; the sections are vidgan.config.sections."""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any


class ConfigError(ValueError):
    """A config that cannot be trained; the message names the field."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def choice(value: str, path: str, choices: typing.Iterable[str]) -> None:
    choices = sorted(choices)
    require(value in choices, f"{path}: {value!r} is not one of {', '.join(choices)}")


def build(cls: type, values: typing.Mapping[str, Any], prefix: str):
    if not isinstance(values, typing.Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a section, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"unknown config field(s) {', '.join(prefix + u for u in unknown)}; "
            f"{prefix.rstrip('.') or 'config'} has: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name in names:
        if name not in values:
            continue
        kind, value, path = hints[name], values[name], prefix + name
        if dataclasses.is_dataclass(kind):
            kwargs[name] = build(kind, value, path + ".")
        else:
            kwargs[name] = coerce(kind, value, path)
    return cls(**kwargs)


def coerce(kind: type, value: Any, path: str):
    # bool is an int subclass: check it first, and never accept it as a number.
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    elif kind == tuple[str, ...]:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        kind = type("a list of strings", (), {})
    raise ConfigError(f"{path}: expected {kind.__name__}, got {value!r}")


def flatten(values: typing.Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for key, value in values.items():
        if isinstance(value, typing.Mapping):
            out.update(flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def differences(old: typing.Mapping[str, Any], new: typing.Mapping[str, Any]) -> list[str]:
    """Fields whose values differ, as 'path: old -> new' (floats compared with isclose)."""
    old_flat, new_flat = flatten(old), flatten(new)
    out = []
    for key in sorted(set(old_flat) | set(new_flat)):
        a, b = old_flat.get(key), new_flat.get(key)
        same = a == b or (
            isinstance(a, float) and isinstance(b, float) and math.isclose(a, b)
        )
        if not same:
            out.append(f"{key}: {a!r} -> {b!r}")
    return out

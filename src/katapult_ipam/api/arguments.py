"""Turning a request's raw arguments into typed values, with Apia's errors.

Raw arguments are the query string (``ip_address[id]=ip_x``) deep-merged with
the JSON body (the body wins). An ``ArgumentSet`` parses them in definition
order; a ``LookupArgumentSet`` names one object by exactly one key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from katapult_ipam.api.errors import INVALID_ARGUMENT, MISSING_REQUIRED_ARGUMENT, ApiError
from katapult_ipam.domain.lookups import Lookup

ISSUE_DESCRIPTIONS = {
    "invalid_scalar": (
        "The value provided was not of an appropriate type for the scalar that was "
        "requested. For example, you may have passed a string where an integer was "
        "required etc..."
    ),
    "parse_error": (
        "The value provided could not be parsed into an appropriate value by the server. "
        "For example, if a date was expected and the value could not be interpretted as such."
    ),
    "invalid_enum_value": "The value provided was not one of the options suitable for the enum.",
    "object_expected": "An object was expected for this argument but another type was given.",
    "missing_lookup_value": (
        "A value for a lookup argument set has not been provided but at least one value "
        "is required."
    ),
    "ambiguous_lookup_values": (
        "More than one value has been provided for a lookup argument set. "
        "Only one option may be provided."
    ),
}


@dataclass(frozen=True)
class LookupArgumentSet:
    """An object named by exactly one of ``keys`` (all strings)."""

    name: str
    keys: tuple[str, ...]

    def parse(self, value: Any, argument: Argument, path: list[str]) -> Lookup:
        if not isinstance(value, Mapping):
            raise invalid_argument(argument, path, "object_expected")
        given: list[tuple[str, Any]] = []
        for key in self.keys:
            item = value.get(key)
            if item is None:
                continue
            if not isinstance(item, str):
                raise invalid_argument(
                    Argument(key, self, description=f"The {key} to look up"),
                    [*path, key],
                    "invalid_scalar",
                )
            given.append((key, item))
        if not given:
            raise invalid_argument(argument, path, "missing_lookup_value")
        if len(given) > 1:
            raise invalid_argument(argument, path, "ambiguous_lookup_values")
        key, item = given[0]
        return Lookup(key, item)


@dataclass(frozen=True)
class Argument:
    name: str
    type: LookupArgumentSet
    required: bool = False
    description: str = ""
    owner: str = ""

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.name}" if self.owner else self.name


@dataclass(frozen=True)
class ArgumentSet:
    """The arguments of one endpoint, parsed in the order they are declared."""

    arguments: tuple[Argument, ...]

    def parse(self, raw: Mapping[str, Any], path_values: Mapping[str, str]) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        for argument in self.arguments:
            value = raw.get(argument.name, _MISSING)
            if value is _MISSING and argument.name in path_values:
                # The path segment fills the first key of the lookup.
                value = {argument.type.keys[0]: path_values[argument.name]}
            if value is _MISSING or value is None:
                if argument.required:
                    raise missing_argument(argument)
                continue
            parsed[argument.name] = argument.type.parse(value, argument, [argument.name])
        return parsed


_MISSING: Any = object()


def missing_argument(argument: Argument) -> ApiError:
    return MISSING_REQUIRED_ARGUMENT(
        {
            "path": [argument.name],
            "argument": {"name": argument.name, "description": argument.description},
        },
        description=f"The '{argument.name}' argument is required but has not been provided",
    )


def invalid_argument(
    argument: Argument, path: Sequence[str], issue: str, errors: Sequence[str] = ()
) -> ApiError:
    return INVALID_ARGUMENT(
        {
            "path": list(path),
            "index": None,
            "issue": issue,
            "issue_description": ISSUE_DESCRIPTIONS[issue],
            "errors": list(errors),
            "argument": {
                "id": argument.id,
                "name": argument.name,
                "description": argument.description,
            },
        },
        description=f"The '{'.'.join(path)}' argument is invalid",
    )


def parse_query_string(query: str) -> dict[str, Any]:
    """Rack-style nested parameters: ``a[b]=1&c[]=2`` -> ``{"a": {"b": "1"}, "c": ["2"]}``."""
    result: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        keys = _split_key(name)
        if keys:
            _assign(result, keys, value)
    return result


_KEY = re.compile(r"\A([^\[\]]+)((?:\[[^\[\]]*\])*)\Z")
_SUBKEY = re.compile(r"\[([^\[\]]*)\]")


def _split_key(name: str) -> list[str]:
    match = _KEY.match(name)
    if match is None:
        return [name] if name else []
    return [match.group(1), *_SUBKEY.findall(match.group(2))]


def _assign(target: dict[str, Any], keys: list[str], value: str) -> None:
    if "" in keys[:-1]:
        return  # arrays of objects (``a[][b]=``) name no argument of ours
    is_array = keys[-1] == ""  # ``a[]=1&a[]=2`` -> {"a": ["1", "2"]}, as Rack parses it
    path = keys[:-1] if is_array else keys
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    if not is_array:
        node[path[-1]] = value
        return
    items = node.get(path[-1])
    if not isinstance(items, list):
        items = []
        node[path[-1]] = items
    items.append(value)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``; nested mappings merge, other values replace."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged

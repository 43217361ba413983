"""Arguments and argument sets: declared once, parsed in definition order as Apia does.

``ArgumentSet.parse`` follows ``lib/apia/argument_set.rb`` (``initialize``,
``lookup_value``, ``value_from_route``): each argument is taken from the raw
arguments, else from the path segment of the same name, else from its default;
a required argument that is absent or null is missing; the value is parsed by the
argument's type and then checked by its validations; the first error is raised.
An ``ArgumentSet`` is also a type: an argument holding a nested set (``properties``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from katapult_ipam.api.arguments.issues import invalid_argument, missing_argument

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class ArgumentType(Protocol[T_co]):
    """What an argument's value is: a scalar, an enum, an array or a nested set."""

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None
    ) -> T_co:
        """``value`` (never None) as this type, or raise ``invalid_argument`` for ``argument``."""
        ...

    def from_path(self, segment: str) -> Any:
        """The raw value a path segment gives an argument of this type."""
        ...


@dataclass(frozen=True)
class Validation(Generic[T]):
    """A named rule on a parsed value (Apia's ``validation :name do |v| ... end``)."""

    name: str
    check: Callable[[T], bool]


class Arguments(dict[str, Any]):
    """Parsed arguments by name; read them typed with ``Argument.value`` and ``Argument.get``."""


@dataclass(frozen=True)
class Argument(Generic[T]):
    """One declared argument; its ``id`` is Apia's ``<set id>/<CamelName>Argument``."""

    name: str
    type: ArgumentType[T]
    required: bool = False
    description: str | None = None
    owner: str = ""  # the id of the set declaring it; ArgumentSet(id=...) fills it
    default: T | None = None
    validations: tuple[Validation[T], ...] = ()

    @property
    def id(self) -> str:
        """``CoreAPI/.../ListEndpoint/BaseArgumentSet/PerPageArgument``; the name if unowned."""
        return f"{self.owner}/{camelize(self.name)}Argument" if self.owner else self.name

    def value(self, arguments: Mapping[str, Any]) -> T:
        """The parsed value of an argument that always has one (required, or with a default)."""
        if not self.required and self.default is None:
            raise TypeError(f"{self.name} may be absent or null: read it with get()")
        value: T = arguments[self.name]
        return value

    def get(self, arguments: Mapping[str, Any]) -> T | None:
        """The parsed value, or None when the argument was absent or null."""
        value: T | None = arguments.get(self.name)
        return value

    def given(self, arguments: Mapping[str, Any]) -> bool:
        """Whether the request gave this argument, null included (Apia's ``has?``)."""
        return self.name in arguments


@dataclass(frozen=True)
class ArgumentSet:
    """The arguments of one endpoint (or of a nested set), parsed in declared order."""

    arguments: tuple[Argument[Any], ...]
    id: str = ""  # e.g. "CoreAPI/Endpoints/IPAddresses/ListEndpoint/BaseArgumentSet"

    def __post_init__(self) -> None:
        names = [argument.name for argument in self.arguments]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"argument set {self.id or '?'} declares {duplicated} twice")
        if self.id:
            owned = tuple(a if a.owner else replace(a, owner=self.id) for a in self.arguments)
            object.__setattr__(self, "arguments", owned)

    @classmethod
    def for_endpoint(cls, endpoint_id: str, *arguments: Argument[Any]) -> ArgumentSet:
        """An endpoint's set, with Apia's id ``<endpoint id>/BaseArgumentSet``."""
        return cls(arguments, id=f"{endpoint_id}/BaseArgumentSet")

    def parse(
        self, raw: Mapping[str, Any], path_values: Mapping[str, str] | None = None
    ) -> Arguments:
        """The request's raw arguments and path slots as typed values, or the first error."""
        return self._parse(raw, path_values or {}, ())

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None
    ) -> Arguments:
        """A nested set: an object whose keys are this set's arguments."""
        if not isinstance(value, Mapping):
            raise invalid_argument(argument, path, "object_expected", index=index)
        # Apia also hands a nested set the route; a path slot naming one of its
        # arguments would fill it. No endpoint has such a slot, so it is left out.
        return self._parse(value, {}, path)

    def from_path(self, segment: str) -> Any:
        """The segment fills the first argument (Apia's ``value_from_route``)."""
        return {self.arguments[0].name: segment} if self.arguments else {}

    def _parse(
        self, raw: Mapping[str, Any], path_values: Mapping[str, str], path: Sequence[str]
    ) -> Arguments:
        parsed = Arguments()
        for argument in self.arguments:
            at = [*path, argument.name]
            value = _given(raw, argument, path_values)
            if value is None and argument.default is not None:
                # (decision) Apia keeps the nil and hands it to the validations (for
                # page, nil.positive?: a 500); the default is what its paginate falls to.
                value = argument.default
            if value is None or value is _MISSING:
                if argument.required:
                    raise missing_argument(argument, at)
                if value is None:
                    parsed[argument.name] = None  # given as null: present, as in Apia
                continue
            parsed[argument.name] = _parse_value(argument, value, at)
        return parsed


_MISSING: Any = object()


def _given(raw: Mapping[str, Any], argument: Argument[Any], path_values: Mapping[str, str]) -> Any:
    """The raw value: the arguments win, then the path segment, then the default."""
    if argument.name in raw:
        return raw[argument.name]
    if argument.name in path_values:
        return argument.type.from_path(path_values[argument.name])
    return argument.default if argument.default is not None else _MISSING


def _parse_value(argument: Argument[T], value: Any, path: Sequence[str]) -> T:
    parsed = argument.type.parse_argument(value, argument, path, None)
    failed = [rule.name for rule in argument.validations if not rule.check(parsed)]
    if failed:
        raise invalid_argument(argument, path, "validation_errors", failed)
    return parsed


def camelize(name: str) -> str:
    """Apia's ``Helpers.camelize``: ``per_page`` -> ``PerPage``, ``ip_address`` -> ``IpAddress``."""
    name = _FIRST_WORD.sub(lambda m: m.group(0).capitalize(), name, count=1)
    return _NEXT_WORD.sub(lambda m: m.group(1).capitalize(), name)


_FIRST_WORD = re.compile(r"^[a-z0-9]*")
_NEXT_WORD = re.compile(r"_([a-z0-9]*)")

"""The argument types: String, Integer, Boolean, Enum and Array, with Apia's rules.

A scalar first parses the raw value (``lib/apia/scalars/*.rb`` ``parse``: failing
gives ``parse_error`` with the scalar's message in ``errors``) and then checks the
result's type (``validator``: failing gives ``invalid_scalar``), in that order, as
``argument_set.rb`` ``parse_value`` does. An enum refuses an unknown value with
``invalid_enum_value``; an array refuses a non-list with ``array_expected`` and tells
the ``index`` of an element that fails. Null never reaches a type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeGuard, TypeVar

from katapult_ipam.api.arguments.issues import invalid_argument
from katapult_ipam.api.arguments.sets import Argument, ArgumentType

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class ParseError(ValueError):
    """A raw value a scalar cannot read; its message is sent in ``detail.errors``."""


class Scalar(Generic[T]):
    """Apia's scalar: ``parse`` (else ``parse_error``), then ``valid`` (else ``invalid_scalar``)."""

    def parse(self, value: object) -> object:
        """Apia's ``parse`` block; a scalar without one keeps the value as given."""
        return value

    def valid(self, value: object) -> TypeGuard[T]:
        """Apia's ``validator`` block: whether a parsed value has this scalar's type."""
        raise NotImplementedError

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None
    ) -> T:
        """``value`` as this scalar, or ``parse_error`` / ``invalid_scalar``."""
        try:
            parsed = self.parse(value)
        except ParseError as error:
            raise invalid_argument(
                argument, path, "parse_error", [str(error)], index=index
            ) from None
        if not self.valid(parsed):
            raise invalid_argument(argument, path, "invalid_scalar", index=index)
        return parsed

    def from_path(self, segment: str) -> Any:
        """A path segment is the value itself (``/available_ips/ipv4``)."""
        return segment


class String(Scalar[str]):
    """Apia's String: no parsing; anything but a string is ``invalid_scalar`` (even 5)."""

    def valid(self, value: object) -> TypeGuard[str]:
        """Only text."""
        return isinstance(value, str)


class Integer(Scalar[int]):
    """Apia's Integer: a JSON integer, or a string of ASCII digits with an optional ``-``.

    Floats (``1.0``), booleans, ``"+1"``, ``" 1"`` and ``"1e3"`` are parse errors, as in
    Ruby. *(decision)* So is an integer outside 64 bits: Ruby would take the Bignum and
    fail later (the database, a 500); here it could not even be rendered back.
    """

    MESSAGE = "Integer must be provided as an integer or a string only containing numbers"
    RANGE = range(-(2**63), 2**63)

    def parse(self, value: object) -> int:
        """The integer a JSON number or a digit string stands for, or ParseError."""
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            # Leading zeros dropped and the length checked before int(), which refuses
            # more than 4,300 digits with ValueError.
            digits = value.removeprefix("-").lstrip("0") or "0"
            if len(digits) > _MAX_DIGITS:
                raise ParseError(self.MESSAGE)
            number = -int(digits) if value.startswith("-") else int(digits)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise ParseError(self.MESSAGE)
        if number not in self.RANGE:
            raise ParseError(self.MESSAGE)
        return number

    def valid(self, value: object) -> TypeGuard[int]:
        """An int that is not a bool."""
        return isinstance(value, int) and not isinstance(value, bool)


_DIGITS = re.compile(r"-?[0-9]+")  # Ruby's /\A-?\d+\z/: \d is ASCII there, not in Python
_MAX_DIGITS = len(str(2**63))


class Boolean(Scalar[bool]):
    """Apia's Boolean: exactly ``true/"true"/"yes"/1/"1"`` and ``false/"false"/"no"/0/"0"``.

    Compared with ``==`` as Ruby's ``include?`` does, so ``1.0`` and ``0.0`` count too;
    case matters (``"True"`` is a parse error).
    """

    TRUE_VALUES: tuple[object, ...] = (True, "true", "yes", 1, "1")
    FALSE_VALUES: tuple[object, ...] = (False, "false", "no", 0, "0")
    MESSAGE = (
        "Boolean must be provided as a boolean, as a string containing true or false "
        "or as 0 or 1 as an integer."
    )

    def parse(self, value: object) -> bool:
        """True or False for one of Apia's spellings, or ParseError."""
        if value in self.TRUE_VALUES:
            return True
        if value in self.FALSE_VALUES:
            return False
        raise ParseError(self.MESSAGE)

    def valid(self, value: object) -> TypeGuard[bool]:
        """A bool."""
        return isinstance(value, bool)


@dataclass(frozen=True)
class Enum(Generic[E]):
    """One of a StrEnum's values, parsed to its member; anything else ``invalid_enum_value``."""

    values: type[E]

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None
    ) -> E:
        """The member whose value is ``value`` (Apia looks the raw value up as a key)."""
        if isinstance(value, str):
            try:
                return self.values(value)
            except ValueError:
                pass
        raise invalid_argument(argument, path, "invalid_enum_value", index=index)

    def from_path(self, segment: str) -> Any:
        """A path segment is the value itself."""
        return segment


@dataclass(frozen=True)
class Array(Generic[T]):
    """A list of ``of``; a null element stays None, as in Apia.

    *(decision)* An element that is itself a list is refused by the element type
    (Apia parses it as a nested list that no endpoint expects).
    """

    of: ArgumentType[T]

    def __post_init__(self) -> None:
        if isinstance(self.of, Array):
            raise ValueError("Apia has no arrays of arrays")

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None
    ) -> list[T | None]:
        """Each element parsed with its index, or ``array_expected`` for a non-list."""
        if not isinstance(value, list):
            raise invalid_argument(argument, path, "array_expected", index=index)
        return [
            None if item is None else self.of.parse_argument(item, argument, path, position)
            for position, item in enumerate(value)
        ]

    def from_path(self, segment: str) -> Any:
        """A segment is a string, so an array slot answers ``array_expected``."""
        return segment

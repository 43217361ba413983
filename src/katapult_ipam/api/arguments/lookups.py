"""Lookup argument sets: an object named by exactly one of its keys.

Apia's ``lookup_argument_set.rb`` ``validate``: no key is ``missing_lookup_value``,
two non-null keys are ``ambiguous_lookup_values``. Resolving the lookup to a row
happens inside the action's transaction (``store`` resolvers raise the domain's
NotFound); the set declares which API error each such refusal becomes, as Apia
declares ``potential_error`` on a lookup set, so endpoints need not repeat them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from katapult_ipam.api.arguments.issues import invalid_argument
from katapult_ipam.api.arguments.sets import Argument
from katapult_ipam.api.errors import ErrorDefinition, declared_error
from katapult_ipam.domain.errors import DomainError
from katapult_ipam.domain.lookups import Lookup

Resolver = Callable[[Connection, frozenset[str], Lookup], Any]

# What a lookup given only as nulls looks up: no id, FQDN or address is empty.
NAMES_NOTHING = ""


@dataclass(frozen=True)
class LookupArgumentSet:
    """An object named by one of ``keys`` (all strings).

    As in Apia: a key that is present counts even when null (``{"id": null}`` is not
    empty, so no ``missing_lookup_value``); only non-null values can be ambiguous. A
    lookup whose keys are all null is handed on and names nothing: the 404 of the
    resource, as Apia's resolver finds nothing for ``{id: nil}``.
    """

    name: str
    keys: tuple[str, ...]
    # The refusals resolving it may raise, and the API error each becomes.
    errors: Mapping[type[DomainError], ErrorDefinition] = field(default_factory=dict, hash=False)
    # (connection, the caller's organization ids, lookup) -> the record, or a refusal.
    resolver: Resolver | None = field(default=None, hash=False, compare=False)

    def api_error_for(self, error: BaseException) -> ErrorDefinition | None:
        """The API error a refusal raised by resolving this lookup becomes, if declared."""
        return declared_error(self.errors, error)

    def resolve(
        self, connection: Connection, organization_ids: frozenset[str], lookup: Lookup
    ) -> Any:
        """The object ``lookup`` names for these organizations, inside the caller's transaction."""
        if self.resolver is None:
            raise TypeError(f"{self.name} declares no resolver")
        return self.resolver(connection, organization_ids, lookup)

    def parse_argument(
        self, value: Any, argument: Argument[Any], path: Sequence[str], index: int | None = None
    ) -> Lookup:
        """The one key given, or ``object_expected`` / ``missing_lookup_value`` / ambiguous."""
        if not isinstance(value, Mapping):
            raise invalid_argument(argument, path, "object_expected", index=index)
        present = [key for key in self.keys if key in value]
        given: list[tuple[str, str]] = []
        for key in present:
            item = value[key]
            if item is None:
                continue
            if not isinstance(item, str):
                raise invalid_argument(
                    Argument(key, self, description=f"The {key} to look up"),
                    [*path, key],
                    "invalid_scalar",
                )
            given.append((key, item))
        if not present:
            raise invalid_argument(argument, path, "missing_lookup_value", index=index)
        if len(given) > 1:
            raise invalid_argument(argument, path, "ambiguous_lookup_values", index=index)
        if not given:
            return Lookup(present[0], NAMES_NOTHING)
        key, item = given[0]
        return Lookup(key, item)

    def from_path(self, segment: str) -> Any:
        """The path segment fills the first key (Apia's ``value_from_route``)."""
        return {self.keys[0]: segment}

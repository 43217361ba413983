"""Who is calling, and the scopes an endpoint may require: value types, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TypeAlias


class Scope(StrEnum):
    """A scope as the official document names it for an API token (OAuth2 adds a prefix)."""

    IP_ADDRESSES = "ip_addresses"
    IP_ADDRESSES_READ = "ip_addresses:read"
    VIRTUAL_MACHINES = "virtual_machines"
    VIRTUAL_MACHINES_READ = "virtual_machines:read"
    VIRTUAL_MACHINES_NETWORK_INTERFACES = "virtual_machines:network_interfaces"
    ORGANIZATIONS_READ = "organizations:read"
    TRASH_OBJECTS_READ = "trash_objects:read"
    TRASH_OBJECTS_RESTORE = "trash_objects:restore"
    TRASH_OBJECTS_PURGE = "trash_objects:purge"
    TASKS = "tasks"
    TASKS_READ = "tasks:read"


class NoScopeRequired(Enum):
    """The type of NO_SCOPE_REQUIRED: any authenticated identity may call the endpoint."""

    NO_SCOPE_REQUIRED = "no_scope_required"


NO_SCOPE_REQUIRED = NoScopeRequired.NO_SCOPE_REQUIRED

# What an endpoint requires: any one of these scopes (Apia's ``scopes.any?``), or none.
Scopes: TypeAlias = tuple[Scope, ...] | NoScopeRequired


@dataclass(frozen=True)
class Identity:
    """Who is calling: the organizations they act for and what they may do."""

    organization_ids: frozenset[str]
    scopes: frozenset[str]  # as granted; Scope members compare equal to these strings
    kind: str  # "APIToken", ...
    id: str

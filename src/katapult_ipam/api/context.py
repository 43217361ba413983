"""What an endpoint's action knows about the request it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from katapult_ipam.services import Services


@dataclass(frozen=True)
class Identity:
    """Who is calling: the organizations they act for and what they may do."""

    organization_ids: frozenset[str]
    scopes: frozenset[str]
    kind: str  # "APIToken", ...
    id: str


@dataclass(frozen=True)
class Call:
    """What an action gets besides its arguments."""

    identity: Identity
    request_id: str
    services: Services

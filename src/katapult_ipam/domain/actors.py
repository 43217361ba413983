"""Who is acting on the domain: what they may see, and what the audit log records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """An identity as the domain sees it: its kind and id, its organizations, its request."""

    type: str  # the identity's kind: "APIToken", "CapabilitiesToken", "OAuth2"
    id: str
    organization_ids: frozenset[str]
    request_id: str | None = None
    # What it is doing, as the audit log names it: the API operation id
    # (``delete:ip_address``) or a command (``load``, ``trash``).
    operation: str = ""

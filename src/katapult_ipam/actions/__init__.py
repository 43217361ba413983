"""Domain actions, one module per resource group; each runs inside one transaction.

An action takes the open connection of the caller's transaction and an ``Actor``;
it resolves lookups, asks the pure domain to decide, writes conditionally and
records what changed in the audit log. It knows no HTTP.
"""

from katapult_ipam.actions.allocation import allocate_ip

__all__ = ["allocate_ip"]

"""The IP address lifecycle: create, read, change, unallocate, release.

Each action runs in the one transaction its caller gives it. A write is
conditional on what was read (``store.queries.ip_addresses``); when another
transaction changed the address in between, the action reads and decides again,
a bounded number of times. Every change of who holds an address (create,
unallocate, release) is recorded in the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.errors import NoAvailableAddresses
from katapult_ipam.domain.ip_addresses import (
    KEEP,
    AddressVersion,
    Details,
    changed_details,
    ensure_can_unallocate,
    new_details,
)
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.errors import StoreUnavailable
from katapult_ipam.store.queries import audit, ip_addresses, pool
from katapult_ipam.store.queries.locations import resolve_network
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.records import IPAddressListed, IPAddressRecord

# Reads and conditional writes of one change, should the address change between them.
_ATTEMPTS = 3


def create_ip_address(
    connection: Connection,
    actor: Actor,
    organization: Lookup,
    network: Lookup,
    version: AddressVersion,
    vip: bool | None,
    label: str | None,
) -> IPAddressRecord:
    """Take a free address of the network's pool for the organization."""
    owner = resolve_organization(connection, actor.organization_ids, organization)
    found = resolve_network(connection, network)
    return take_address(connection, actor, owner.id, found.id, version, new_details(vip, label))


def take_address(
    connection: Connection,
    actor: Actor,
    organization_id: str,
    network_id: str,
    version: AddressVersion,
    details: Details,
) -> IPAddressRecord:
    """Give a free address of the network's pool to the organization, and record it."""
    now = datetime.now(UTC)
    ip_id = pool.take_free_address(
        connection,
        network_id=network_id,
        version=version.number,
        organization_id=organization_id,
        vip=details.vip,
        label=details.label,
        now=now,
    )
    if ip_id is None:
        raise NoAvailableAddresses(network_id)
    ip = ip_addresses.resolve_ip_address(
        connection, frozenset({organization_id}), Lookup("id", ip_id)
    )
    _record(connection, actor, "create", ip, now)
    return ip


def get_ip_address(connection: Connection, actor: Actor, lookup: Lookup) -> IPAddressRecord:
    """The address the lookup names among the caller's organizations'."""
    return ip_addresses.resolve_ip_address(connection, actor.organization_ids, lookup)


@dataclass(frozen=True)
class AddressPage:
    items: list[IPAddressListed]
    counted: int  # no further than the count limit asked for


def list_ip_addresses(
    connection: Connection,
    actor: Actor,
    organization: Lookup,
    *,
    allocated: bool | None,
    limit: int,
    offset: int,
    count_limit: int,
    default_rdns_zone: str,
) -> AddressPage:
    """A page of the organization's addresses, optionally only (un)allocated ones."""
    owner = resolve_organization(connection, actor.organization_ids, organization)
    items, counted = ip_addresses.list_ip_addresses(
        connection,
        owner.id,
        allocated=allocated,
        limit=limit,
        offset=offset,
        count_limit=count_limit,
        default_rdns_zone=default_rdns_zone,
    )
    return AddressPage(items, counted)


def update_ip_address(
    connection: Connection,
    actor: Actor,
    lookup: Lookup,
    *,
    vip: object = KEEP,
    label: object = KEEP,
    reverse_dns: object = KEEP,
) -> IPAddressRecord:
    """Change what a PATCH gave of vip, label and reverse DNS (``KEEP``: not given)."""
    for _ in range(_ATTEMPTS):
        ip = ip_addresses.resolve_ip_address(connection, actor.organization_ids, lookup)
        current = Details(ip.vip, ip.label, ip.custom_reverse_dns)
        wanted = changed_details(current, vip=vip, label=label, reverse_dns=reverse_dns)
        if wanted == current:
            return ip
        if ip_addresses.set_details(connection, ip.id, ip.organization_id, current, wanted):
            return ip_addresses.resolve_ip_address(
                connection, frozenset({ip.organization_id}), Lookup("id", ip.id)
            )
    raise StoreUnavailable("the address kept changing while it was being updated")


def unallocate_ip_address(connection: Connection, actor: Actor, lookup: Lookup) -> None:
    """Unallocate the address from whatever holds it (a VM in the trash included)."""
    for _ in range(_ATTEMPTS):
        ip = ip_addresses.resolve_ip_address(connection, actor.organization_ids, lookup)
        ensure_can_unallocate(ip.as_domain())
        if _unallocate(connection, actor, ip):
            return
    raise StoreUnavailable("the address kept changing while it was being unallocated")


def release_ip_address(connection: Connection, actor: Actor, lookup: Lookup) -> None:
    """Give the address back to the pool, unallocating it first if it is allocated."""
    for _ in range(_ATTEMPTS):
        ip = ip_addresses.resolve_ip_address(connection, actor.organization_ids, lookup)
        if ip.allocated_to is not None:
            ensure_can_unallocate(ip.as_domain())
            if not _unallocate(connection, actor, ip):
                continue
        if ip_addresses.release_if_unallocated(connection, ip.id, ip.organization_id):
            _record(connection, actor, "release", ip, datetime.now(UTC))
            return
    raise StoreUnavailable("the address kept changing while it was being released")


def _unallocate(connection: Connection, actor: Actor, ip: IPAddressRecord) -> bool:
    holder = ip.allocated_to
    assert holder is not None
    if not ip_addresses.unallocate_if_held(connection, ip.id, holder.id):
        return False
    _record(connection, actor, "unallocate", ip, datetime.now(UTC))
    return True


def _record(
    connection: Connection, actor: Actor, action: str, ip: IPAddressRecord, now: datetime
) -> None:
    """The audit entry of ``action`` on ``ip`` (as read before the change)."""
    allocation = action == "unallocate"
    audit.record_event(
        connection,
        audit.AllocationAudit(
            action=action,
            organization_id=ip.organization_id,
            actor_type=actor.type,
            actor_id=actor.id,
            ip_address_id=ip.id,
            address=ip.address,
            virtual_machine_id=ip.allocation_id if allocation else None,
            network_interface_id=ip.network_interface_id if allocation else None,
            request_id=actor.request_id,
            operation=actor.operation,
        ),
        now,
    )

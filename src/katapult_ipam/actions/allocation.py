"""Domain actions: each runs inside one transaction given to it by the caller."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.errors import (
    IPAlreadyAllocated,
)
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.errors import StoreUnavailable
from katapult_ipam.store.queries import audit, ip_addresses, virtual_machines
from katapult_ipam.store.records import AllocatedTo, IPAddressRecord

# Reads and conditional writes of one allocation, should the address change between them.
_ATTEMPTS = 3


def allocate_ip(
    connection: Connection, actor: Actor, vm_lookup: Lookup, ip_lookup: Lookup
) -> IPAddressRecord:
    """Allocate an IP to a VM through the VM's interface on the IP's network."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, vm_lookup)
    allocation.ensure_usable(vm)
    # Only the VM's own organization's addresses can be allocated to it.
    own = frozenset({vm.organization_id})
    for _ in range(_ATTEMPTS):
        ip = ip_addresses.resolve_ip_address(connection, own, ip_lookup)
        if allocation.decide(ip.as_domain(), vm) is allocation.Decision.ALREADY_ALLOCATED_HERE:
            return ip
        interface = allocation.choose_interface(vm.interfaces, ip.network.id)
        now = datetime.now(UTC)
        if ip_addresses.allocate_if_free(connection, ip, vm.id, interface.id, now):
            break
        # Another transaction changed it between our read and our write. Allocated
        # since: a repeat of this very allocation is a success, anything else a
        # refusal. Still free (an inventory load re-addressed it): decide again.
        current = ip_addresses.resolve_ip_address(connection, own, Lookup("id", ip.id))
        if current.allocated_to is None:
            continue
        if (
            allocation.decide(current.as_domain(), vm)
            is not allocation.Decision.ALREADY_ALLOCATED_HERE
        ):
            raise IPAlreadyAllocated(ip.id)
        return current
    else:
        raise StoreUnavailable("the address kept changing while it was being allocated")
    audit.record_event(
        connection,
        audit.AllocationAudit(
            action="allocate",
            organization_id=vm.organization_id,
            actor_type=actor.type,
            actor_id=actor.id,
            ip_address_id=ip.id,
            address=ip.address,
            virtual_machine_id=vm.id,
            network_interface_id=interface.id,
            request_id=actor.request_id,
            operation=actor.operation,
        ),
        now,
    )
    return dataclasses.replace(
        ip,
        allocated_to=AllocatedTo(allocation.VIRTUAL_MACHINE, vm.id, vm.name, vm.fqdn),
    )

"""Allocating an address to a VM, through the interface chosen for it (``allocate_ip``)
or through a given one (``allocate_ip_to_interface``), or a new one created for it
(``allocate_new_ip``).

Both share one conditional write (``allocate_if_free``) and one audit record; each
runs inside one transaction given to it by the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from katapult_ipam.actions.ip_addresses import take_address
from katapult_ipam.domain import allocation
from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.errors import (
    InterfaceInTrash,
    IPAlreadyAllocated,
    NetworkInterfaceNotFound,
)
from katapult_ipam.domain.ip_addresses import AddressVersion, Details
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.errors import StoreUnavailable
from katapult_ipam.store.queries import audit, ip_addresses, network_interfaces, virtual_machines
from katapult_ipam.store.records import AllocatedTo, IPAddressRecord, NetworkInterfaceRecord

# Reads and conditional writes of one allocation, should the address change between them.
_ATTEMPTS = 3

# Decides on an address as read: the interface to allocate it through, or None when
# it already is allocated as asked (a repeat, answered as a success); or refuses.
Chooser = Callable[[IPAddressRecord], str | None]


def allocate_ip(
    connection: Connection, actor: Actor, vm_lookup: Lookup, ip_lookup: Lookup
) -> IPAddressRecord:
    """Allocate an IP to a VM through the VM's interface on the IP's network."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, vm_lookup)
    allocation.ensure_usable(vm)

    def choose(ip: IPAddressRecord) -> str | None:
        if allocation.decide(ip.as_domain(), vm) is allocation.Decision.ALREADY_ALLOCATED_HERE:
            return None
        return allocation.choose_interface(vm.interfaces, ip.network.id).id

    return _allocate(connection, actor, vm, ip_lookup, choose)


def allocate_ip_to_interface(
    connection: Connection, actor: Actor, interface_lookup: Lookup, ip_lookup: Lookup
) -> NetworkInterfaceRecord:
    """Allocate an IP to the VM of a given interface, through that interface; the
    interface as it is afterwards.

    *(decision)* The interface of a VM in the trash is refused (``InterfaceInTrash``):
    a trashed object cannot be changed through the API, as ``allocate_ip`` refuses
    the VM. The document lists no 406 for this operation, so the endpoint answers
    its documented 422 ``invalid_ip``; production's answer is not recorded.
    """
    interface, vm = _interface_and_vm(connection, actor, interface_lookup)
    choose = _through(vm, interface.id)
    _allocate(connection, actor, vm, ip_lookup, choose)
    return network_interfaces.resolve_network_interface(
        connection, frozenset({vm.organization_id}), Lookup("id", interface.id)
    )


def allocate_new_ip(
    connection: Connection, actor: Actor, interface_lookup: Lookup, version: AddressVersion
) -> IPAddressRecord:
    """Create an address on the interface's network for its VM's organization and
    allocate it through the interface, in one transaction (both in the audit log).

    *(decision)* As ``allocate_ip_to_interface``, a VM in the trash is refused
    (the endpoint answers its documented 403 ``permission_denied``)."""
    interface, vm = _interface_and_vm(connection, actor, interface_lookup)
    taken = take_address(
        connection, actor, vm.organization_id, interface.network_id, version, Details()
    )
    choose = _through(vm, interface.id)
    return _allocate(connection, actor, vm, Lookup("id", taken.id), choose)


def _through(vm: allocation.VirtualMachine, interface_id: str) -> Chooser:
    """Allocate through this interface of the VM; a repeat through it is a success."""
    through = next(i for i in vm.interfaces if i.id == interface_id)

    def choose(ip: IPAddressRecord) -> str | None:
        decision = allocation.decide_through(ip.as_domain(), vm, through)
        return None if decision is allocation.Decision.ALREADY_ALLOCATED_HERE else through.id

    return choose


def _interface_and_vm(
    connection: Connection, actor: Actor, interface_lookup: Lookup
) -> tuple[NetworkInterfaceRecord, allocation.VirtualMachine]:
    """The interface the lookup names and its VM, which must be outside the trash."""
    interface = network_interfaces.resolve_network_interface(
        connection, actor.organization_ids, interface_lookup
    )
    vm = virtual_machines.find_virtual_machine(
        connection, actor.organization_ids, id=interface.virtual_machine_id
    )
    if vm is None:  # the interface's VM, read in this same transaction: always found
        raise NetworkInterfaceNotFound(interface_lookup.value)
    if vm.trash is not None:
        raise InterfaceInTrash(vm.trash)
    return interface, vm


def _allocate(
    connection: Connection,
    actor: Actor,
    vm: allocation.VirtualMachine,
    ip_lookup: Lookup,
    choose: Chooser,
) -> IPAddressRecord:
    """Allocate the address ``ip_lookup`` names to ``vm`` through the interface
    ``choose`` picks, conditionally on its being free, and record it; the address."""
    # Only the VM's own organization's addresses can be allocated to it.
    own = frozenset({vm.organization_id})
    for _ in range(_ATTEMPTS):
        ip = ip_addresses.resolve_ip_address(connection, own, ip_lookup)
        interface_id = choose(ip)
        if interface_id is None:
            return ip
        now = datetime.now(UTC)
        if ip_addresses.allocate_if_free(connection, ip, vm.id, interface_id, now):
            break
        # Another transaction changed it between our read and our write. Allocated
        # since: a repeat of this very allocation is a success, anything else a
        # refusal. Still free (an inventory load re-addressed it): decide again.
        current = ip_addresses.resolve_ip_address(connection, own, Lookup("id", ip.id))
        if current.allocated_to is None:
            continue
        if choose(current) is not None:
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
            network_interface_id=interface_id,
            request_id=actor.request_id,
            operation=actor.operation,
        ),
        now,
    )
    return dataclasses.replace(
        ip,
        allocated_to=AllocatedTo(allocation.VIRTUAL_MACHINE, vm.id, vm.name, vm.fqdn),
        network_interface_id=interface_id,
        # Allocating resets a name set through the API: it answers to the VM's FQDN.
        custom_reverse_dns=None,
    )

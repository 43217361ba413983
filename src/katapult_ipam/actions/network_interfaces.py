"""A virtual machine's network interfaces: its list, the one on a network, and the
addresses an interface could be given. Reads only; allocating through an interface
is ``actions.allocation.allocate_ip_to_interface``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.errors import NetworkInterfaceNotFound
from katapult_ipam.domain.ip_addresses import AddressVersion
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries import network_interfaces, virtual_machines
from katapult_ipam.store.queries.locations import resolve_network
from katapult_ipam.store.records import IPAddressRecord, NetworkInterfaceRecord


@dataclass(frozen=True)
class InterfacePage:
    items: list[NetworkInterfaceRecord]
    total: int


def get_network_interface(
    connection: Connection, actor: Actor, lookup: Lookup
) -> NetworkInterfaceRecord:
    """One of the caller's interfaces (a trashed VM's too: the document lists no 406)."""
    return network_interfaces.resolve_network_interface(connection, actor.organization_ids, lookup)


def list_network_interfaces(
    connection: Connection, actor: Actor, vm_lookup: Lookup, *, limit: int, offset: int
) -> InterfacePage:
    """A page of the VM's interfaces, by id; a VM in the trash is refused (406)."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, vm_lookup)
    allocation.ensure_usable(vm)
    items, total = network_interfaces.list_network_interfaces(
        connection, vm.id, limit=limit, offset=offset
    )
    return InterfacePage(items, total)


def interface_for_network(
    connection: Connection, actor: Actor, vm_lookup: Lookup, network_lookup: Lookup
) -> NetworkInterfaceRecord:
    """The VM's interface on the network: the VM is resolved first (404, then 406 for
    one in the trash), then the network (404), then the interface (404
    ``interface_not_found``). With several on the network, the oldest: the one
    ``allocate_ip`` allocates through (*decision*)."""
    vm = virtual_machines.resolve_virtual_machine(connection, actor.organization_ids, vm_lookup)
    allocation.ensure_usable(vm)
    network = resolve_network(connection, network_lookup)
    interface = allocation.interface_on(vm.interfaces, network.id)
    return network_interfaces.resolve_network_interface(
        connection, frozenset({vm.organization_id}), Lookup("id", interface.id)
    )


def available_ips(
    connection: Connection, actor: Actor, interface_lookup: Lookup, version: AddressVersion
) -> list[IPAddressRecord]:
    """The addresses that could be allocated through the interface: its VM's
    organization's, unallocated, on the interface's network, of that version, in
    numeric order (*decision*: not recorded).

    *(decision)* The interface of a VM in the trash still answers: this only reads,
    and the document declares no 406 for it.
    """
    interface = network_interfaces.resolve_network_interface(
        connection, actor.organization_ids, interface_lookup
    )
    vm = virtual_machines.find_virtual_machine(
        connection, actor.organization_ids, id=interface.virtual_machine_id
    )
    if vm is None:  # the interface's VM, read in this same transaction: always found
        raise NetworkInterfaceNotFound(interface_lookup.value)
    return network_interfaces.available_addresses(
        connection, vm.organization_id, interface.network_id, version.number
    )

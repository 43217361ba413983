"""Deciding whether an IP may be allocated to a VM, and through which interface."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from katapult_ipam.domain.errors import (
    InterfaceNotFound,
    InvalidIP,
    IPAlreadyAllocated,
    NoInterfaceAvailable,
    ObjectInTrash,
    TrashObject,
)

VIRTUAL_MACHINE = "VirtualMachine"


@dataclass(frozen=True)
class NetworkInterface:
    id: str
    network_id: str
    created_at: datetime


@dataclass(frozen=True)
class VirtualMachine:
    id: str
    organization_id: str
    name: str
    fqdn: str
    trash: TrashObject | None = None
    interfaces: tuple[NetworkInterface, ...] = ()


@dataclass(frozen=True)
class IPAddress:
    id: str
    network_id: str
    allocation_type: str | None
    allocation_id: str | None
    network_interface_id: str | None = None  # the interface of its allocation


class Decision(Enum):
    ALLOCATE = "allocate"
    ALREADY_ALLOCATED_HERE = "already_allocated_here"


def ensure_usable(vm: VirtualMachine) -> None:
    """A VM in the trash cannot be changed through the API."""
    if vm.trash is not None:
        raise ObjectInTrash(vm.trash)


def decide(ip: IPAddress, vm: VirtualMachine) -> Decision:
    """Allocate a free IP; accept a repeat of what is already true; refuse the rest."""
    if ip.allocation_id is None:
        return Decision.ALLOCATE
    if ip.allocation_type == VIRTUAL_MACHINE and ip.allocation_id == vm.id:
        return Decision.ALREADY_ALLOCATED_HERE
    raise IPAlreadyAllocated(ip.id)


def decide_through(ip: IPAddress, vm: VirtualMachine, interface: NetworkInterface) -> Decision:
    """Allocating through a given interface of ``vm``: the address must be on the
    interface's network (else InvalidIP, whatever holds it); a repeat of this very
    allocation (this VM, this interface) is accepted; an address held by anything
    else, another interface of the same VM included, is IPAlreadyAllocated.
    """
    if ip.network_id != interface.network_id:
        raise InvalidIP(ip.id)
    if ip.allocation_id is None:
        return Decision.ALLOCATE
    if (
        ip.allocation_type == VIRTUAL_MACHINE
        and ip.allocation_id == vm.id
        and ip.network_interface_id == interface.id
    ):
        return Decision.ALREADY_ALLOCATED_HERE
    raise IPAlreadyAllocated(ip.id)


def choose_interface(interfaces: Iterable[NetworkInterface], network_id: str) -> NetworkInterface:
    """The oldest of the VM's interfaces attached to the IP's network."""
    candidates = [i for i in interfaces if i.network_id == network_id]
    if not candidates:
        raise NoInterfaceAvailable(network_id)
    return min(candidates, key=lambda i: (i.created_at, i.id))


def interface_on(interfaces: Iterable[NetworkInterface], network_id: str) -> NetworkInterface:
    """The VM's interface on the network, the one ``choose_interface`` would allocate
    through (the oldest), or InterfaceNotFound."""
    try:
        return choose_interface(interfaces, network_id)
    except NoInterfaceAvailable:
        raise InterfaceNotFound(network_id) from None

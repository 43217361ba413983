"""Why a domain action refused; the API layer maps each to a declared API error.

DomainError
 ├── NotFound                       (subclass per kind of object)
 │    ├── VirtualMachineNotFound
 │    ├── IPAddressNotFound
 │    ├── OrganizationNotFound
 │    ├── DataCenterNotFound
 │    ├── NetworkNotFound
 │    ├── NetworkInterfaceNotFound
 │    ├── TrashObjectNotFound
 │    ├── TaskNotFound
 │    └── InterfaceNotFound          the VM has no interface on the network named
 ├── OrganizationUnusable
 │    ├── OrganizationSuspended
 │    └── OrganizationNotActivated
 ├── ObjectInTrash                  carries the TrashObject
 ├── InterfaceInTrash               an interface of a VM in the trash; carries it too
 ├── IPAlreadyAllocated
 ├── NoInterfaceAvailable
 ├── InvalidIP                      the address is not on the interface's network
 ├── NoAvailableAddresses           the network's pool has none of that version
 ├── NoAllocation                   unallocating what is not allocated
 ├── UnallocationNotSupported       its holder keeps it (a load balancer)
 └── ValidationFailed               carries the messages
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A refusal the client can act on."""


class NotFound(DomainError):
    """No object matched the lookup in the caller's organization."""


class VirtualMachineNotFound(NotFound):
    pass


class IPAddressNotFound(NotFound):
    pass


class OrganizationNotFound(NotFound):
    pass


class DataCenterNotFound(NotFound):
    pass


class NetworkNotFound(NotFound):
    pass


class NetworkInterfaceNotFound(NotFound):
    pass


class TrashObjectNotFound(NotFound):
    pass


class TaskNotFound(NotFound):
    pass


class InterfaceNotFound(NotFound):
    """The VM (found) has no interface on the network (found)."""


class OrganizationUnusable(DomainError):
    """The organization exists (and is the caller's) but cannot be acted for."""


class OrganizationSuspended(OrganizationUnusable):
    pass


class OrganizationNotActivated(OrganizationUnusable):
    pass


@dataclass(frozen=True)
class TrashObject:
    id: str
    keep_until: int
    object_id: str
    object_type: str


class ObjectInTrash(DomainError):
    def __init__(self, trash_object: TrashObject) -> None:
        super().__init__(trash_object.object_id)
        self.trash_object = trash_object


class InterfaceInTrash(DomainError):
    """Allocating through an interface whose VM is in the trash."""

    def __init__(self, trash_object: TrashObject) -> None:
        super().__init__(trash_object.object_id)
        self.trash_object = trash_object


class IPAlreadyAllocated(DomainError):
    pass


class NoInterfaceAvailable(DomainError):
    pass


class InvalidIP(DomainError):
    """The address cannot be allocated through this interface: another network's."""


class NoAvailableAddresses(DomainError):
    pass


class NoAllocation(DomainError):
    pass


class UnallocationNotSupported(DomainError):
    pass


class ValidationFailed(DomainError):
    """The object would break a rule; ``messages`` say which, as production words them."""

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = messages

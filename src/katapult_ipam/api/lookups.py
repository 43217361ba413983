"""Every lookup argument set, declared once: its keys, its resolver, the errors it raises.

The first key is the one a path segment fills (lifecycle-facts §0.1). Names and
keys are those of the official document's ``*Lookup`` schemas. A resolver runs
inside the action's transaction with the caller's organization ids; another
organization's object is not found. The VM lookup also declares 406
``object_in_trash``: its resolver finds a trashed VM, and each action decides
whether it may act on one (``domain.allocation.ensure_usable``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from katapult_ipam.api import errors
from katapult_ipam.api.arguments import LookupArgumentSet
from katapult_ipam.api.arguments.lookups import Resolver
from katapult_ipam.domain import errors as domain
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries.ip_addresses import resolve_ip_address
from katapult_ipam.store.queries.locations import resolve_data_center, resolve_network
from katapult_ipam.store.queries.network_interfaces import resolve_network_interface
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.queries.tasks import resolve_task
from katapult_ipam.store.queries.trash_objects import resolve_trash_object
from katapult_ipam.store.queries.virtual_machines import resolve_virtual_machine


def _shared(resolve: Callable[[Connection, Lookup], Any]) -> Resolver:
    """For objects every organization shares (data centers, networks)."""
    return lambda connection, organization_ids, lookup: resolve(connection, lookup)


ORGANIZATION = LookupArgumentSet(
    "OrganizationLookup",
    ("id", "sub_domain"),
    errors={
        domain.OrganizationNotFound: errors.ORGANIZATION_NOT_FOUND,
        domain.OrganizationSuspended: errors.ORGANIZATION_SUSPENDED,
        domain.OrganizationNotActivated: errors.ORGANIZATION_NOT_ACTIVATED,
    },
    resolver=resolve_organization,
)
VIRTUAL_MACHINE = LookupArgumentSet(
    "VirtualMachineLookup",
    ("id", "fqdn"),
    errors={
        domain.VirtualMachineNotFound: errors.VIRTUAL_MACHINE_NOT_FOUND,
        domain.ObjectInTrash: errors.OBJECT_IN_TRASH,
    },
    resolver=resolve_virtual_machine,
)
IP_ADDRESS = LookupArgumentSet(
    "IPAddressLookup",
    ("id", "address"),
    errors={domain.IPAddressNotFound: errors.IP_ADDRESS_NOT_FOUND},
    resolver=resolve_ip_address,
)
DATA_CENTER = LookupArgumentSet(
    "DataCenterLookup",
    ("id", "permalink"),
    errors={domain.DataCenterNotFound: errors.DATA_CENTER_NOT_FOUND},
    resolver=_shared(resolve_data_center),
)
NETWORK = LookupArgumentSet(
    "NetworkLookup",
    ("id", "permalink"),
    errors={domain.NetworkNotFound: errors.NETWORK_NOT_FOUND},
    resolver=_shared(resolve_network),
)
NETWORK_INTERFACE = LookupArgumentSet(
    "VirtualMachineNetworkInterfaceLookup",
    ("id",),
    errors={domain.NetworkInterfaceNotFound: errors.VIRTUAL_MACHINE_NETWORK_INTERFACE_NOT_FOUND},
    resolver=resolve_network_interface,
)
TRASH_OBJECT = LookupArgumentSet(
    "TrashObjectLookup",
    ("id", "object_id"),
    errors={domain.TrashObjectNotFound: errors.TRASH_OBJECT_NOT_FOUND},
    resolver=resolve_trash_object,
)
TASK = LookupArgumentSet(
    "TaskLookup",
    ("id",),
    errors={domain.TaskNotFound: errors.TASK_NOT_FOUND},
    resolver=resolve_task,
)

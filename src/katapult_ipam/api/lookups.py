"""Every lookup argument set, declared once with its keys and the errors resolving it raises.

The first key is the one a path segment fills (lifecycle-facts §0.1). Names and
keys are those of the official document's ``*Lookup`` schemas.
"""

from __future__ import annotations

from katapult_ipam.api import errors
from katapult_ipam.api.arguments import LookupArgumentSet
from katapult_ipam.domain import errors as domain

ORGANIZATION = LookupArgumentSet(
    "OrganizationLookup",
    ("id", "sub_domain"),
    errors={
        domain.OrganizationNotFound: errors.ORGANIZATION_NOT_FOUND,
        domain.OrganizationSuspended: errors.ORGANIZATION_SUSPENDED,
        domain.OrganizationNotActivated: errors.ORGANIZATION_NOT_ACTIVATED,
    },
)
VIRTUAL_MACHINE = LookupArgumentSet(
    "VirtualMachineLookup",
    ("id", "fqdn"),
    errors={
        domain.VirtualMachineNotFound: errors.VIRTUAL_MACHINE_NOT_FOUND,
        domain.ObjectInTrash: errors.OBJECT_IN_TRASH,
    },
)
IP_ADDRESS = LookupArgumentSet(
    "IPAddressLookup",
    ("id", "address"),
    errors={domain.IPAddressNotFound: errors.IP_ADDRESS_NOT_FOUND},
)
DATA_CENTER = LookupArgumentSet(
    "DataCenterLookup",
    ("id", "permalink"),
    errors={domain.DataCenterNotFound: errors.DATA_CENTER_NOT_FOUND},
)
NETWORK = LookupArgumentSet(
    "NetworkLookup",
    ("id", "permalink"),
    errors={domain.NetworkNotFound: errors.NETWORK_NOT_FOUND},
)
NETWORK_INTERFACE = LookupArgumentSet(
    "VirtualMachineNetworkInterfaceLookup",
    ("id",),
    errors={domain.NetworkInterfaceNotFound: errors.VIRTUAL_MACHINE_NETWORK_INTERFACE_NOT_FOUND},
)
TRASH_OBJECT = LookupArgumentSet(
    "TrashObjectLookup",
    ("id", "object_id"),
    errors={domain.TrashObjectNotFound: errors.TRASH_OBJECT_NOT_FOUND},
)

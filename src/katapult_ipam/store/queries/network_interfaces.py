"""A virtual machine's network interfaces, with the addresses allocated through them."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.errors import NetworkInterfaceNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.records import InterfaceAddressRecord, NetworkInterfaceRecord

_tables = m.Base.metadata.tables
_nic = _tables["network_interfaces"]
_vm = _tables["virtual_machines"]
_network = _tables["networks"]
_ip = _tables["ip_addresses"]
_subnet = _tables["subnets"]

_INTERFACE = (
    select(
        _nic.c.id,
        _nic.c.name,
        _nic.c.mac_address,
        _nic.c.state,
        _vm.c.id.label("vm_id"),
        _vm.c.name.label("vm_name"),
        _vm.c.fqdn,
        _vm.c.organization_id,
        _network.c.id.label("network_id"),
        _network.c.name.label("network_name"),
    )
    .join_from(_nic, _vm, _nic.c.virtual_machine_id == _vm.c.id)
    .join(_network, _network.c.id == _nic.c.network_id)
)

_ADDRESSES = select(_ip.c.id, _ip.c.address, _ip.c.subnet_id, _subnet.c.mask).join_from(
    _ip, _subnet, _ip.c.subnet_id == _subnet.c.id
)


def resolve_network_interface(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> NetworkInterfaceRecord:
    """The interface with this id, on a VM of these organizations, or NetworkInterfaceNotFound."""
    row = None
    if storable(lookup.value):
        row = connection.execute(_INTERFACE.where(_nic.c.id == lookup.value)).first()
    if row is None or row.organization_id not in organization_ids:
        raise NetworkInterfaceNotFound(lookup.value)
    rows = connection.execute(_ADDRESSES.where(_ip.c.network_interface_id == row.id)).all()
    # Production lists them in its internal row order: by address within a subnet,
    # subnets in the order they were created (lifecycle-facts §1.4). Creation order
    # is not recorded here, so subnets go by id: stable, but not production's order
    # across subnets. The endpoints that render this list decide it (lifecycle issue).
    addresses = sorted(rows, key=lambda a: (a.subnet_id, ipaddress.ip_address(a.address)))
    fqdn = row.fqdn.lower()
    return NetworkInterfaceRecord(
        id=row.id,
        name=row.name,
        virtual_machine_id=row.vm_id,
        virtual_machine_name=row.vm_name,
        network_id=row.network_id,
        network_name=row.network_name,
        mac_address=row.mac_address,
        state=row.state,
        ip_addresses=tuple(
            InterfaceAddressRecord(a.id, a.address, fqdn, f"{a.address}/{a.mask}")
            for a in addresses
        ),
    )

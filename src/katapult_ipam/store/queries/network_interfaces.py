"""A virtual machine's network interfaces, with the addresses allocated through them,
and the addresses that could be allocated through one."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from katapult_ipam.domain.addresses import address_as_int
from katapult_ipam.domain.errors import NetworkInterfaceNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import models as m
from katapult_ipam.store.queries.common import storable
from katapult_ipam.store.queries.ip_addresses import find_ip_address
from katapult_ipam.store.records import (
    InterfaceAddressRecord,
    IPAddressRecord,
    NetworkInterfaceRecord,
    SpeedProfileRecord,
)

_tables = m.Base.metadata.tables
_nic = _tables["network_interfaces"]
_vm = _tables["virtual_machines"]
_network = _tables["networks"]
_ip = _tables["ip_addresses"]
_subnet = _tables["subnets"]
_profile = _tables["network_speed_profiles"]

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
        _profile.c.id.label("profile_id"),
        _profile.c.name.label("profile_name"),
        _profile.c.permalink.label("profile_permalink"),
    )
    .join_from(_nic, _vm, _nic.c.virtual_machine_id == _vm.c.id)
    .join(_network, _network.c.id == _nic.c.network_id)
    .join(_profile, _profile.c.id == _nic.c.speed_profile_id)
)

_ADDRESSES = select(
    _ip.c.id,
    _ip.c.address,
    _ip.c.subnet_id,
    _ip.c.reverse_dns,
    _ip.c.network_interface_id,
    _subnet.c.mask,
).join_from(_ip, _subnet, _ip.c.subnet_id == _subnet.c.id)


def resolve_network_interface(
    connection: Connection, organization_ids: Collection[str], lookup: Lookup
) -> NetworkInterfaceRecord:
    """The interface with this id, on a VM of these organizations, or NetworkInterfaceNotFound."""
    row = None
    if storable(lookup.value):
        row = connection.execute(_INTERFACE.where(_nic.c.id == lookup.value)).first()
    if row is None or row.organization_id not in organization_ids:
        raise NetworkInterfaceNotFound(lookup.value)
    return _records(connection, [row])[0]


def list_network_interfaces(
    connection: Connection, vm_id: str, *, limit: int, offset: int
) -> tuple[list[NetworkInterfaceRecord], int]:
    """A page of the VM's interfaces by id (as the v6 provider sorts them), and their count."""
    mine = _nic.c.virtual_machine_id == vm_id
    total = connection.execute(select(func.count()).select_from(_nic).where(mine)).scalar_one()
    rows = connection.execute(
        _INTERFACE.where(mine).order_by(_nic.c.id).limit(limit).offset(offset)
    ).all()
    return _records(connection, rows), int(total)


def _records(connection: Connection, rows: Sequence[Any]) -> list[NetworkInterfaceRecord]:
    """The interfaces of these rows with the addresses allocated through each."""
    if not rows:
        return []
    held: dict[str, list[Any]] = {row.id: [] for row in rows}
    for address in connection.execute(
        _ADDRESSES.where(_ip.c.network_interface_id.in_(list(held)))
    ).all():
        held[address.network_interface_id].append(address)
    return [_record(row, held[row.id]) for row in rows]


def _record(row: Any, addresses: list[Any]) -> NetworkInterfaceRecord:
    # Production lists them in its internal row order: by address within a subnet,
    # subnets in the order they were created (lifecycle-facts §1.4). Creation order
    # is not recorded here, so subnets go by id: stable, and the same order as the
    # VM's own ``ip_addresses`` (queries.ip_addresses.held_by).
    ordered = sorted(addresses, key=lambda a: (a.subnet_id, ipaddress.ip_address(a.address)))
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
            # An allocated address answers to the name set through the API, else
            # to its VM's FQDN (as the full IP address renders it).
            InterfaceAddressRecord(a.id, a.address, a.reverse_dns or fqdn, f"{a.address}/{a.mask}")
            for a in ordered
        ),
        speed_profile=SpeedProfileRecord(row.profile_id, row.profile_name, row.profile_permalink),
    )


def available_addresses(
    connection: Connection, organization_id: str, network_id: str, version: int
) -> list[IPAddressRecord]:
    """The organization's unallocated addresses on the network, of that version, in
    numeric order.

    Strictly the organization's: a free address of the pool (no organization) is
    not listed, it has to be created (taken) first. Each is read whole through
    ``find_ip_address``; an organization holds few unallocated addresses on one network.
    """
    rows = connection.execute(
        select(_ip.c.id, _ip.c.address).where(
            _ip.c.organization_id == organization_id,
            _ip.c.network_id == network_id,
            _ip.c.version == version,
            _ip.c.allocation_id.is_(None),
        )
    ).all()
    owner = frozenset({organization_id})
    found = []
    for row in sorted(rows, key=lambda r: address_as_int(r.address)):
        record = find_ip_address(connection, owner, id=row.id)
        if record is not None:
            found.append(record)
    return found

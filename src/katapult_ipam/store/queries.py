"""The queries the service runs, in one place. Each takes an open Connection."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.errors import TrashObject
from katapult_ipam.store import models as m


@dataclass(frozen=True)
class Country:
    id: str
    name: str
    iso_code2: str
    iso_code3: str
    time_zone: str | None
    eu: bool


@dataclass(frozen=True)
class DataCenter:
    id: str
    name: str
    permalink: str
    country: Country


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    permalink: str
    default: bool
    data_center: DataCenter


@dataclass(frozen=True)
class Subnet:
    id: str
    address: str
    gateway: str | None
    mask: int
    billable: bool
    version: int


@dataclass(frozen=True)
class IPAddressRecord:
    """An IP address with everything needed to decide on it and to render it."""

    id: str
    address: str
    vip: bool
    label: str | None
    allocation_type: str | None
    allocation_id: str | None
    allocated_fqdn: str | None
    network: Network
    subnet: Subnet

    def as_domain(self) -> allocation.IPAddress:
        return allocation.IPAddress(
            id=self.id,
            network_id=self.network.id,
            allocation_type=self.allocation_type,
            allocation_id=self.allocation_id,
        )


@dataclass(frozen=True)
class TokenRecord:
    id: str
    organization_id: str
    secret_hash: str
    scopes: frozenset[str]
    allowed_networks: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None


_tables = m.Base.metadata.tables
_ip = _tables["ip_addresses"]
_net = _tables["networks"]
_dc = _tables["data_centers"]
_ctry = _tables["countries"]
_sbnt = _tables["subnets"]
_vm = _tables["virtual_machines"]
_trash = _tables["trash_objects"]
_nic = _tables["network_interfaces"]
_token = _tables["api_tokens"]
_event = _tables["allocation_events"]

_IP_WITH_CONTEXT = (
    select(
        _ip.c.id,
        _ip.c.address,
        _ip.c.vip,
        _ip.c.label,
        _ip.c.allocation_type,
        _ip.c.allocation_id,
        _vm.c.fqdn.label("allocated_fqdn"),
        _net.c.id.label("network_id"),
        _net.c.name.label("network_name"),
        _net.c.permalink.label("network_permalink"),
        _net.c.is_default.label("network_default"),
        _dc.c.id.label("dc_id"),
        _dc.c.name.label("dc_name"),
        _dc.c.permalink.label("dc_permalink"),
        _ctry.c.id.label("country_id"),
        _ctry.c.name.label("country_name"),
        _ctry.c.iso_code2,
        _ctry.c.iso_code3,
        _ctry.c.time_zone,
        _ctry.c.eu,
        _sbnt.c.id.label("subnet_id"),
        _sbnt.c.address.label("subnet_address"),
        _sbnt.c.gateway.label("subnet_gateway"),
        _sbnt.c.mask.label("subnet_mask"),
        _sbnt.c.billable.label("subnet_billable"),
        _sbnt.c.version.label("subnet_version"),
    )
    .select_from(_ip)
    .join(_net, _net.c.id == _ip.c.network_id)
    .join(_dc, _dc.c.id == _net.c.data_center_id)
    .join(_ctry, _ctry.c.id == _dc.c.country_id)
    .join(_sbnt, _sbnt.c.id == _ip.c.subnet_id)
    .outerjoin(
        _vm,
        and_(
            _ip.c.allocation_type == allocation.VIRTUAL_MACHINE,
            _vm.c.id == _ip.c.allocation_id,
        ),
    )
)


def _ip_record(row: object) -> IPAddressRecord:
    r = row._mapping  # type: ignore[attr-defined]
    country = Country(
        r["country_id"], r["country_name"], r["iso_code2"], r["iso_code3"], r["time_zone"], r["eu"]
    )
    data_center = DataCenter(r["dc_id"], r["dc_name"], r["dc_permalink"], country)
    network = Network(
        r["network_id"],
        r["network_name"],
        r["network_permalink"],
        bool(r["network_default"]),
        data_center,
    )
    subnet = Subnet(
        r["subnet_id"],
        r["subnet_address"],
        r["subnet_gateway"],
        r["subnet_mask"],
        bool(r["subnet_billable"]),
        r["subnet_version"],
    )
    return IPAddressRecord(
        id=r["id"],
        address=r["address"],
        vip=bool(r["vip"]),
        label=r["label"],
        allocation_type=r["allocation_type"],
        allocation_id=r["allocation_id"],
        allocated_fqdn=r["allocated_fqdn"],
        network=network,
        subnet=subnet,
    )


def find_ip_address(
    connection: Connection,
    organization_id: str,
    *,
    id: str | None = None,
    address: str | None = None,
) -> IPAddressRecord | None:
    """The organization's IP address with this id or (canonical) address."""
    query = _IP_WITH_CONTEXT.where(_ip.c.organization_id == organization_id)
    if id is not None:
        query = query.where(_ip.c.id == id)
    elif address is not None:
        query = query.where(_ip.c.address == address)
    else:
        return None
    row = connection.execute(query).first()
    return None if row is None else _ip_record(row)


_VM_WITH_TRASH = (
    select(
        _vm.c.id,
        _vm.c.organization_id,
        _vm.c.name,
        _vm.c.fqdn,
        _trash.c.id.label("trash_id"),
        _trash.c.keep_until,
        _trash.c.object_id,
        _trash.c.object_type,
    )
    .select_from(_vm)
    .outerjoin(_trash, _trash.c.id == _vm.c.trash_object_id)
)


def find_virtual_machine(
    connection: Connection,
    organization_ids: Collection[str],
    *,
    id: str | None = None,
    fqdn: str | None = None,
) -> allocation.VirtualMachine | None:
    """A VM of these organizations with this id or FQDN (FQDNs compare case-insensitively)."""
    query = _VM_WITH_TRASH.where(_vm.c.organization_id.in_(organization_ids))
    if id is not None:
        query = query.where(_vm.c.id == id)
    elif fqdn is not None:
        query = query.where(_vm.c.fqdn == fqdn.lower())
    else:
        return None
    row = connection.execute(query.order_by(_vm.c.id).limit(1)).first()
    if row is None:
        return None
    trash = None
    if row.trash_id is not None:
        trash = TrashObject(
            id=row.trash_id,
            keep_until=int(row.keep_until.timestamp()),
            object_id=row.object_id,
            object_type=row.object_type,
        )
    return allocation.VirtualMachine(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        fqdn=row.fqdn,
        trash=trash,
    )


def interfaces_of(connection: Connection, vm_id: str) -> list[allocation.NetworkInterface]:
    """Every network interface of a VM."""
    rows = connection.execute(
        select(_nic.c.id, _nic.c.network_id, _nic.c.created_at).where(
            _nic.c.virtual_machine_id == vm_id
        )
    )
    return [allocation.NetworkInterface(r.id, r.network_id, r.created_at) for r in rows]


def allocate_if_free(
    connection: Connection, ip_id: str, vm_id: str, interface_id: str, now: datetime
) -> bool:
    """Allocate the IP to the VM only if nothing holds it; False when something does."""
    result = connection.execute(
        update(_ip)
        .where(_ip.c.id == ip_id, _ip.c.allocation_id.is_(None))
        .values(
            allocation_type=allocation.VIRTUAL_MACHINE,
            allocation_id=vm_id,
            network_interface_id=interface_id,
            allocated_at=now,
        )
    )
    return result.rowcount == 1


@dataclass(frozen=True)
class AllocationAudit:
    action: str
    organization_id: str
    actor_type: str
    actor_id: str
    ip_address_id: str
    address: str
    virtual_machine_id: str
    network_interface_id: str
    request_id: str | None


def record_event(connection: Connection, audit: AllocationAudit, now: datetime) -> None:
    """Append to the audit log, inside the caller's transaction."""
    connection.execute(
        insert(_event).values(
            occurred_at=now,
            action=audit.action,
            organization_id=audit.organization_id,
            actor_type=audit.actor_type,
            actor_id=audit.actor_id,
            ip_address_id=audit.ip_address_id,
            address=audit.address,
            virtual_machine_id=audit.virtual_machine_id,
            network_interface_id=audit.network_interface_id,
            request_id=audit.request_id,
        )
    )


def find_token(connection: Connection, secret_hash: str) -> TokenRecord | None:
    """The API token whose secret hashes to ``secret_hash``."""
    row = connection.execute(
        select(
            _token.c.id,
            _token.c.organization_id,
            _token.c.secret_hash,
            _token.c.scopes,
            _token.c.allowed_networks,
            _token.c.expires_at,
            _token.c.revoked_at,
        ).where(_token.c.secret_hash == secret_hash)
    ).first()
    if row is None:
        return None
    return TokenRecord(
        id=row.id,
        organization_id=row.organization_id,
        secret_hash=row.secret_hash,
        scopes=frozenset(row.scopes.split()),
        allowed_networks=tuple(row.allowed_networks.split()),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def ping(connection: Connection) -> None:
    """Fail unless the database answers."""
    connection.execute(select(1)).scalar_one()


_flag = _tables["service_flags"]


def flag_enabled(connection: Connection, name: str) -> bool:
    """Whether the service flag ``name`` is on (absent means off)."""
    value = connection.execute(select(_flag.c.enabled).where(_flag.c.name == name)).scalar()
    return bool(value)


def set_flag(connection: Connection, name: str, enabled: bool, now: datetime) -> None:
    """Turn the service flag ``name`` on or off."""
    changed = connection.execute(
        update(_flag).where(_flag.c.name == name).values(enabled=enabled, changed_at=now)
    )
    if changed.rowcount == 0:
        connection.execute(insert(_flag).values(name=name, enabled=enabled, changed_at=now))


_org = _tables["organizations"]


def organization_ids(connection: Connection, references: Collection[str]) -> frozenset[str]:
    """The ids of the organizations named by id or sub-domain; unknown names are dropped."""
    if not references:
        return frozenset()
    rows = connection.execute(
        select(_org.c.id).where(_org.c.id.in_(references) | _org.c.sub_domain.in_(references))
    )
    return frozenset(rows.scalars())

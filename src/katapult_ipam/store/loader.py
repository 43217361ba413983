"""Apply an inventory to the database in one transaction: all of it or none of it.

Rows are matched by id when the file gives one, otherwise by their natural key
(iso_code2, permalink, cidr, sub_domain, VM name, interface name, address,
token name), so loading the same file twice changes nothing. Allocations made
through the API are left alone unless the file names an ``allocated_to``.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from katapult_ipam.domain import allocation
from katapult_ipam.domain.addresses import address_as_int
from katapult_ipam.domain.errors import NoInterfaceAvailable
from katapult_ipam.ids import new_id
from katapult_ipam.inventory import Inventory, InventoryError
from katapult_ipam.store import models as m
from katapult_ipam.store.database import SQLITE_BEGIN_OPTION
from katapult_ipam.tokens import hash_secret, new_secret

TRASH_RETENTION = timedelta(hours=48)
_tables = m.Base.metadata.tables


@dataclass
class LoadReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    # (organization sub_domain, token name, secret) for tokens made without a secret
    new_secrets: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    label: str  # names the entry in error messages
    id: str | None
    key: tuple[Any, ...]
    values: dict[str, Any]
    insert_only: dict[str, Any] = field(default_factory=dict)


def load_inventory(engine: Engine, inventory: Inventory) -> LoadReport:
    """Create or update everything in ``inventory``; raise InventoryError on a bad entry."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            loader = _Loader(connection)
            loader.load(inventory)
            return loader.report


class _Loader:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.now = datetime.now(UTC)
        self.report = LoadReport()

    def load(self, inventory: Inventory) -> None:
        countries = self._sync_countries(inventory)
        data_centers = self._sync_data_centers(inventory, countries)
        networks = self._sync_networks(inventory, data_centers)
        self._sync_subnets(inventory, networks)
        for organization in inventory.organizations:
            self._load_organization(organization, networks)

    # -- reference data -------------------------------------------------------

    def _sync_countries(self, inventory: Inventory) -> dict[str, str]:
        rows = [
            _Row(
                f"countries ({c.iso_code2})",
                c.id,
                (c.iso_code2.upper(),),
                {
                    "name": c.name,
                    "iso_code2": c.iso_code2.upper(),
                    "iso_code3": c.iso_code3.upper(),
                    "time_zone": c.time_zone,
                    "eu": c.eu,
                },
            )
            for c in inventory.countries
        ]
        self._sync("country", _tables["countries"], ("iso_code2",), rows)
        return self._references(_tables["countries"], "iso_code2")

    def _sync_data_centers(self, inventory: Inventory, countries: dict[str, str]) -> dict[str, str]:
        rows = [
            _Row(
                f"data_centers ({d.permalink})",
                d.id,
                (d.permalink,),
                {
                    "name": d.name,
                    "permalink": d.permalink,
                    "country_id": _resolve(
                        countries,
                        d.country.upper(),
                        d.country,
                        f"data_centers ({d.permalink}) > country",
                    ),
                },
            )
            for d in inventory.data_centers
        ]
        self._sync("data_center", _tables["data_centers"], ("permalink",), rows)
        return self._references(_tables["data_centers"], "permalink")

    def _sync_networks(self, inventory: Inventory, data_centers: dict[str, str]) -> dict[str, str]:
        rows = [
            _Row(
                f"networks ({n.permalink})",
                n.id,
                (n.permalink,),
                {
                    "name": n.name,
                    "permalink": n.permalink,
                    "is_default": n.default,
                    "data_center_id": _resolve(
                        data_centers,
                        n.data_center,
                        n.data_center,
                        f"networks ({n.permalink}) > data_center",
                    ),
                },
            )
            for n in inventory.networks
        ]
        self._sync("network", _tables["networks"], ("permalink",), rows)
        return self._references(_tables["networks"], "permalink")

    def _sync_subnets(self, inventory: Inventory, networks: dict[str, str]) -> None:
        rows = []
        for n in inventory.networks:
            for s in n.subnets:
                net = ipaddress.ip_network(s.cidr)
                rows.append(
                    _Row(
                        f"networks ({n.permalink}) > subnets ({s.cidr})",
                        s.id,
                        (s.cidr,),
                        {
                            "network_id": networks[n.permalink],
                            "cidr": s.cidr,
                            "address": net.network_address.compressed,
                            "mask": net.prefixlen,
                            "gateway": s.gateway,
                            "version": net.version,
                            "billable": s.billable,
                            "rdns_zone": s.rdns_zone,
                        },
                    )
                )
        self._sync("subnet", _tables["subnets"], ("cidr",), rows)

    # -- an organization and what it owns --------------------------------------

    def _load_organization(self, org: Any, networks: dict[str, str]) -> None:
        label = f"organizations ({org.sub_domain})"
        (org_id,) = self._sync(
            "organization",
            _tables["organizations"],
            ("sub_domain",),
            [
                _Row(
                    label,
                    org.id,
                    (org.sub_domain,),
                    {
                        "name": org.name,
                        "sub_domain": org.sub_domain,
                        "suspended": org.suspended,
                        "activated": org.activated,
                    },
                )
            ],
        )
        vm_ids = self._sync_virtual_machines(org_id, label, org.virtual_machines)
        self._sync_trash(org_id, org.virtual_machines, vm_ids)
        self._sync_interfaces(label, org.virtual_machines, vm_ids, networks)
        ip_ids = self._sync_ip_addresses(org_id, label, org.ip_addresses)
        self._allocate(org_id, label, org.ip_addresses, ip_ids)
        self._sync_tokens(org_id, org.sub_domain, label, org.api_tokens)

    def _sync_virtual_machines(self, org_id: str, label: str, vms: Sequence[Any]) -> list[str]:
        rows = [
            _Row(
                f"{label} > virtual_machines ({vm.name})",
                vm.id,
                (org_id, vm.name),
                {
                    "organization_id": org_id,
                    "name": vm.name,
                    "hostname": vm.hostname or vm.fqdn.split(".")[0],
                    "fqdn": vm.fqdn.lower().rstrip("."),
                },
                {"created_at": self.now},
            )
            for vm in vms
        ]
        return self._sync(
            "virtual_machine", _tables["virtual_machines"], ("organization_id", "name"), rows
        )

    def _sync_trash(self, org_id: str, vms: Sequence[Any], vm_ids: list[str]) -> None:
        table = _tables["virtual_machines"]
        trash = _tables["trash_objects"]
        current = dict(
            self.connection.execute(
                select(table.c.id, table.c.trash_object_id).where(table.c.organization_id == org_id)
            ).all()
        )
        for vm, vm_id in zip(vms, vm_ids, strict=True):
            trash_id = current.get(vm_id)
            if vm.in_trash and trash_id is None:
                trash_id = new_id("trash_object")
                self.connection.execute(
                    insert(trash).values(
                        id=trash_id,
                        organization_id=org_id,
                        object_type="VirtualMachine",
                        object_id=vm_id,
                        keep_until=self.now + TRASH_RETENTION,
                    )
                )
                self.connection.execute(
                    update(table).where(table.c.id == vm_id).values(trash_object_id=trash_id)
                )
            elif not vm.in_trash and trash_id is not None:
                self.connection.execute(
                    update(table).where(table.c.id == vm_id).values(trash_object_id=None)
                )
                self.connection.execute(delete(trash).where(trash.c.id == trash_id))

    def _sync_interfaces(
        self, label: str, vms: Sequence[Any], vm_ids: list[str], networks: dict[str, str]
    ) -> None:
        rows = []
        for vm, vm_id in zip(vms, vm_ids, strict=True):
            for index, nic in enumerate(vm.network_interfaces):
                name = nic.name or f"eth{index}"
                entry = f"{label} > virtual_machines ({vm.name}) > network_interfaces ({name})"
                rows.append(
                    _Row(
                        entry,
                        nic.id,
                        (vm_id, name),
                        {
                            "virtual_machine_id": vm_id,
                            "network_id": _resolve(networks, nic.network, nic.network, entry),
                            "name": name,
                        },
                        {
                            "mac_address": nic.mac_address or _random_mac(),
                            "state": "attached",
                            # Keeps file order as creation order: the first is the oldest.
                            "created_at": self.now + timedelta(microseconds=index),
                        },
                    )
                )
        self._sync(
            "network_interface",
            _tables["network_interfaces"],
            ("virtual_machine_id", "name"),
            rows,
        )

    def _sync_ip_addresses(self, org_id: str, label: str, entries: Sequence[Any]) -> list[str]:
        table = _tables["ip_addresses"]
        owners = dict(
            self.connection.execute(select(table.c.address, table.c.organization_id)).all()
        )
        find_subnet = _SubnetIndex(self.connection)
        rows = []
        for entry in entries:
            where = f"{label} > ip_addresses ({entry.address})"
            owner = owners.get(entry.address)
            if owner is not None and owner != org_id:
                raise InventoryError(f"{where}: the address belongs to another organization")
            subnet = find_subnet(entry.address)
            if subnet is None:
                raise InventoryError(f"{where}: no subnet contains this address")
            if entry.vip and not entry.label:
                raise InventoryError(f"{where}: a VIP needs a label")
            rows.append(
                _Row(
                    where,
                    entry.id,
                    (entry.address,),
                    {
                        "organization_id": org_id,
                        "network_id": subnet[1],
                        "subnet_id": subnet[0],
                        "address": entry.address,
                        "version": 6 if ":" in entry.address else 4,
                        "vip": entry.vip,
                        "label": entry.label if entry.vip else None,
                    },
                    {"created_at": self.now},
                )
            )
        return self._sync("ip_address", table, ("address",), rows)

    def _allocate(self, org_id: str, label: str, entries: Sequence[Any], ip_ids: list[str]) -> None:
        wanted = [(e, i) for e, i in zip(entries, ip_ids, strict=True) if e.allocated_to]
        if not wanted:
            return
        vms, nics = self._vms_and_interfaces(org_id)
        ips = _tables["ip_addresses"]
        current = {
            r.id: r
            for r in self.connection.execute(
                select(ips.c.id, ips.c.network_id, ips.c.allocation_id).where(
                    ips.c.organization_id == org_id
                )
            )
        }
        changes = []
        for entry, ip_id in wanted:
            where = f"{label} > ip_addresses ({entry.address}) > allocated_to"
            vm_id = vms.get(entry.allocated_to)
            if vm_id is None:
                raise InventoryError(f"{where}: no virtual machine {entry.allocated_to!r}")
            row = current[ip_id]
            if row.allocation_id == vm_id:
                continue
            if row.allocation_id is not None:
                raise InventoryError(f"{where}: already allocated to {row.allocation_id}")
            try:
                nic = allocation.choose_interface(nics.get(vm_id, []), row.network_id)
            except NoInterfaceAvailable:
                raise InventoryError(
                    f"{where}: the VM has no interface on the address's network"
                ) from None
            changes.append({"_id": ip_id, "_vm": vm_id, "_nic": nic.id})
        if changes:
            self.connection.execute(
                update(ips)
                .where(ips.c.id == bindparam("_id"), ips.c.allocation_id.is_(None))
                .values(
                    allocation_type=allocation.VIRTUAL_MACHINE,
                    allocation_id=bindparam("_vm"),
                    network_interface_id=bindparam("_nic"),
                    allocated_at=self.now,
                ),
                changes,
            )
            self.report.updated["allocation"] += len(changes)

    def _vms_and_interfaces(
        self, org_id: str
    ) -> tuple[dict[str, str], dict[str, list[allocation.NetworkInterface]]]:
        vm = _tables["virtual_machines"]
        nic = _tables["network_interfaces"]
        vms: dict[str, str] = {}
        for row in self.connection.execute(
            select(vm.c.id, vm.c.name).where(vm.c.organization_id == org_id)
        ):
            vms[row.id] = row.id
            vms[row.name] = row.id
        nics: dict[str, list[allocation.NetworkInterface]] = {}
        query = (
            select(nic.c.id, nic.c.network_id, nic.c.created_at, nic.c.virtual_machine_id)
            .join(vm, vm.c.id == nic.c.virtual_machine_id)
            .where(vm.c.organization_id == org_id)
        )
        for nic_row in self.connection.execute(query):
            nics.setdefault(nic_row.virtual_machine_id, []).append(
                allocation.NetworkInterface(nic_row.id, nic_row.network_id, nic_row.created_at)
            )
        return vms, nics

    def _sync_tokens(self, org_id: str, sub_domain: str, label: str, tokens: Sequence[Any]) -> None:
        table = _tables["api_tokens"]
        existing = set(
            self.connection.execute(
                select(table.c.name).where(table.c.organization_id == org_id)
            ).scalars()
        )
        rows = []
        for token in tokens:
            values: dict[str, Any] = {
                "organization_id": org_id,
                "name": token.name,
                "scopes": " ".join(token.scopes),
                "allowed_networks": " ".join(token.allowed_networks),
                "expires_at": _aware(token.expires_at),
            }
            insert_only: dict[str, Any] = {"created_at": self.now}
            if token.secret is not None:
                values["secret_hash"] = hash_secret(token.secret)
            elif token.name not in existing:
                secret = new_secret()
                insert_only["secret_hash"] = hash_secret(secret)
                self.report.new_secrets.append((sub_domain, token.name, secret))
            rows.append(
                _Row(
                    f"{label} > api_tokens ({token.name})",
                    None,
                    (org_id, token.name),
                    values,
                    insert_only,
                )
            )
        self._sync("api_token", table, ("organization_id", "name"), rows)

    # -- the generic part -------------------------------------------------------

    def _references(self, table: Table, key: str) -> dict[str, str]:
        """id -> id and natural key -> id, for resolving references."""
        refs: dict[str, str] = {}
        for row in self.connection.execute(select(table.c.id, table.c[key])):
            refs[row[0]] = row[0]
            refs[row[1]] = row[0]
        return refs

    def _sync(
        self, kind: str, table: Table, key: tuple[str, ...], rows: Sequence[_Row]
    ) -> list[str]:
        """Insert or update ``rows``; return their ids in order."""
        if not rows:
            return []
        key_columns = [table.c[k] for k in key]
        by_key: dict[tuple[Any, ...], str] = {}
        for existing in self.connection.execute(select(table.c.id, *key_columns)):
            by_key[tuple(existing[1:])] = existing[0]
        known_ids = set(by_key.values())
        seen: set[tuple[Any, ...]] = set()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        ids: list[str] = []
        for row in rows:
            if row.key in seen:
                raise InventoryError(f"{row.label}: listed twice")
            seen.add(row.key)
            found = by_key.get(row.key)
            if row.id is not None and found is not None and row.id != found:
                raise InventoryError(f"{row.label}: already exists with id {found}")
            row_id = row.id or found
            if row_id is not None and (found is not None or row_id in known_ids):
                updates.append({"_id": row_id, **row.values})
            else:
                row_id = row_id or new_id(kind)
                inserts.append({"id": row_id, **row.values, **row.insert_only})
            ids.append(row_id)
        if inserts:
            self.connection.execute(insert(table), inserts)
            self.report.created[kind] += len(inserts)
        # executemany needs the same columns in every row of a statement.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in updates:
            by_columns.setdefault(tuple(sorted(values)), []).append(values)
        for names, group in by_columns.items():
            columns: dict[str, Any] = {name: bindparam(name) for name in names if name != "_id"}
            self.connection.execute(
                update(table).where(table.c.id == bindparam("_id")).values(columns), group
            )
        if updates:
            self.report.updated[kind] += len(updates)
        return ids


class _SubnetIndex:
    """Finds the subnet containing an address with one dict lookup per prefix length."""

    def __init__(self, connection: Connection) -> None:
        subnets = _tables["subnets"]
        self._by_prefix: dict[tuple[int, int], dict[int, tuple[str, str]]] = {}
        for row in connection.execute(select(subnets.c.id, subnets.c.network_id, subnets.c.cidr)):
            network = ipaddress.ip_network(row.cidr)
            bucket = self._by_prefix.setdefault((network.version, network.prefixlen), {})
            bucket[int(network.network_address)] = (row.id, row.network_id)
        # Longest prefix first: the most specific subnet wins.
        self._order = sorted(self._by_prefix, key=lambda k: -k[1])

    def __call__(self, address: str) -> tuple[str, str] | None:
        """(subnet id, network id) of the subnet holding a canonical address."""
        ip_version, value = address_as_int(address)
        for version, prefix in self._order:
            if version != ip_version:
                continue
            host_bits = (32 if version == 4 else 128) - prefix
            found = self._by_prefix[(version, prefix)].get(value >> host_bits << host_bits)
            if found is not None:
                return found
        return None


def _resolve(references: dict[str, str], key: str, shown: str, where: str) -> str:
    try:
        return references[key]
    except KeyError:
        raise InventoryError(f"{where}: {shown!r} is not known") from None


def _random_mac() -> str:
    # Locally administered, unicast.
    octets = [0x02, *(secrets.randbelow(256) for _ in range(5))]
    return ":".join(f"{o:02x}" for o in octets)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)

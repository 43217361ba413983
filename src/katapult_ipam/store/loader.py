"""Apply an inventory to the database in one transaction: all of it or none of it.

Rows are matched by id when the file gives one, otherwise by their natural key
(iso_code2, permalink, cidr, sub_domain, VM name, interface name, address,
token name), so loading the same file twice changes nothing. An id of an object
owned by an organization matches only within that organization. A field an
entry leaves out keeps its stored value (a new object gets the default), and
only rows whose values change are written and counted. Allocations made through
the API are left alone unless the file names an ``allocated_to``; a file cannot
re-address, move or re-network what carries an allocation. On PostgreSQL the API
may allocate while a load runs: those updates are written only if still allowed
(see _Guard), else the file is refused ("changed while loading: load again").
Loads wait for each other (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock).
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    Table,
    bindparam,
    delete,
    exists,
    false,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from katapult_ipam.domain import allocation
from katapult_ipam.domain.addresses import address_as_int
from katapult_ipam.domain.errors import NoInterfaceAvailable
from katapult_ipam.domain.trash import TRASH_RETENTION
from katapult_ipam.ids import looks_like_id, new_id
from katapult_ipam.inventory import Inventory, InventoryError, interface_name
from katapult_ipam.limits import ACTOR_ID_MAX_LENGTH
from katapult_ipam.store import models as m
from katapult_ipam.store import reference
from katapult_ipam.store.database import SQLITE_BEGIN_OPTION
from katapult_ipam.store.queries import pool
from katapult_ipam.tokens import hash_secret, new_secret

# Who the audit log says made a file's allocations (the actor id is the file's name).
ACTOR_TYPE = "inventory"
_tables = m.Base.metadata.tables
# Values bound per statement when rows are looked up by id or key: well below SQLite's
# limit on parameters (999 before 3.32).
_CHUNK = 500


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
    values: dict[str, Any]  # written on insert and, where they differ, on update
    insert_only: dict[str, Any] = field(default_factory=dict)


# Called with a row of the file and the stored row it matches (by key, else by id),
# before anything is written; raises InventoryError to refuse the file.
_Check = Callable[[_Row, Any], None]

# One key for every load: loads wait for each other on PostgreSQL, as SQLite's
# BEGIN IMMEDIATE makes them (and everything else) wait there.
_LOAD_LOCK_KEY = 0x6B6970616D6C6F  # "kipamlo"


@dataclass(frozen=True)
class _Guard:
    """What a ``_Check`` decided from a read, made true again where the update writes.

    On PostgreSQL the API allocates while a load runs (SQLite's load holds the write
    lock throughout), so a row found free when read may be allocated by the time it is
    written. An update that ``applies`` (given the stored row and the changed values)
    is written only where ``holds`` still does, in the same statement; a row it then
    misses refuses the whole file, naming the entry.
    """

    applies: Callable[[Any, dict[str, Any]], bool]
    holds: ColumnElement[bool]
    what: str  # what changed meanwhile, for the message


def load_inventory(engine: Engine, inventory: Inventory, source: str = "load") -> LoadReport:
    """Create or update everything in ``inventory``; raise InventoryError on a bad entry.

    ``source`` (the file's name) is the actor the audit log records for its allocations.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # Released by COMMIT or ROLLBACK. The API is not held up by it.
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOAD_LOCK_KEY}
                )
            loader = _Loader(connection, source[:ACTOR_ID_MAX_LENGTH])
            loader.load(inventory)
            return loader.report


def _split(
    entry: Any, optional: dict[str, tuple[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Optional columns {column: (field, value)}: (those the entry sets, the defaults of the rest).

    A field left out keeps the stored value; only a new row takes its default.
    """
    given: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for column, (name, value) in optional.items():
        (given if name in entry.model_fields_set else defaults)[column] = value
    return given, defaults


class _Loader:
    def __init__(self, connection: Connection, source: str) -> None:
        self.connection = connection
        self.source = source
        self.now = datetime.now(UTC)
        self.report = LoadReport()
        self.changed_subnets: dict[str, str] = {}  # id -> label, of subnets whose cidr changed
        # Subnets whose pool may differ from their free rows: new, or cidr, gateway or
        # network changed. Refreshed once every organization has taken its addresses.
        self.pool_subnets: set[str] = set()
        self.find_subnet: _SubnetIndex | None = None  # once the subnets are loaded
        # Reference data, natural key or id -> id, once synced.
        self.countries: dict[str, str] = {}
        self.zones: dict[str, str] = {}
        self.speed_profiles: dict[str, str] = {}
        self.packages: dict[str, str] = {}
        self.network_data_centers: dict[str, str] | None = None
        self._speed_profile: str | None = None

    def load(self, inventory: Inventory) -> None:
        countries = self._sync_countries(inventory)
        self.countries = countries
        self._sync_reference(inventory)
        data_centers = self._sync_data_centers(inventory, countries)
        self._sync_zones(inventory, data_centers)
        networks = self._sync_networks(inventory, data_centers)
        self._sync_subnets(inventory, networks)
        self.find_subnet = _SubnetIndex(self.connection)
        org_ids = self._sync_organizations(inventory)
        for index, (organization, org_id) in enumerate(
            zip(inventory.organizations, org_ids, strict=True)
        ):
            self._load_organization(index, organization, org_id, networks)
        self._check_changed_subnets()
        self._refresh_pools()

    # -- reference data -------------------------------------------------------

    def _sync_countries(self, inventory: Inventory) -> dict[str, str]:
        rows = []
        for i, c in enumerate(inventory.countries):
            given, defaults = _split(
                c, {"time_zone": ("time_zone", c.time_zone), "eu": ("eu", c.eu)}
            )
            values = {
                "name": c.name,
                "iso_code2": c.iso_code2.upper(),
                "iso_code3": c.iso_code3.upper(),
            }
            rows.append(
                _Row(
                    f"countries[{i}] ({c.iso_code2})",
                    c.id,
                    (c.iso_code2.upper(),),
                    values | given,
                    defaults,
                )
            )
        self._sync("country", _tables["countries"], ("iso_code2",), rows)
        return self._references(_tables["countries"], "iso_code2")

    def _sync_data_centers(self, inventory: Inventory, countries: dict[str, str]) -> dict[str, str]:
        rows = [
            _Row(
                f"data_centers[{i}] ({d.permalink})",
                d.id,
                (d.permalink,),
                {
                    "name": d.name,
                    "permalink": d.permalink,
                    # An id as it is; an iso_code2 in any case.
                    "country_id": _resolve(
                        countries,
                        d.country if looks_like_id(d.country) else d.country.upper(),
                        d.country,
                        f"data_centers[{i}] ({d.permalink}) > country",
                    ),
                },
            )
            for i, d in enumerate(inventory.data_centers)
        ]
        self._sync("data_center", _tables["data_centers"], ("permalink",), rows)
        return self._references(_tables["data_centers"], "permalink")

    def _sync_reference(self, inventory: Inventory) -> None:
        """Currencies, speed profiles and packages: matched by ISO code or permalink."""
        self._sync(
            "currency",
            _tables["currencies"],
            ("iso_code",),
            [
                _Row(f"currencies[{i}] ({c.iso_code})", c.id, (c.iso_code.upper(),),
                     {"name": c.name, "iso_code": c.iso_code.upper(), "symbol": c.symbol})
                for i, c in enumerate(inventory.currencies)
            ],
        )  # fmt: skip
        self._sync(
            "speed_profile",
            _tables["network_speed_profiles"],
            ("permalink",),
            [
                _Row(f"speed_profiles[{i}] ({p.permalink})", p.id, (p.permalink,),
                     {"name": p.name, "permalink": p.permalink})
                for i, p in enumerate(inventory.speed_profiles)
            ],
        )  # fmt: skip
        rows = []
        for i, p in enumerate(inventory.packages):
            values = {
                "name": p.name,
                "permalink": p.permalink,
                "cpu_cores": p.cpu_cores,
                "ipv4_addresses": p.ipv4_addresses,
                "memory_in_gb": p.memory_in_gb,
                "storage_in_gb": p.storage_in_gb,
                "monthly_bandwidth_allowance_in_gb": p.monthly_bandwidth_allowance_in_gb,
                "privacy": p.privacy,
                "use_dedicated_cpus": p.use_dedicated_cpus,
                "group_name": p.group,
            }
            rows.append(_Row(f"packages[{i}] ({p.permalink})", p.id, (p.permalink,), values,
                             {"group_id": new_id("package_group")}))  # fmt: skip
        self._sync("package", _tables["virtual_machine_packages"], ("permalink",), rows)
        self.speed_profiles = self._references(_tables["network_speed_profiles"], "permalink")
        self.packages = self._references(_tables["virtual_machine_packages"], "permalink")

    def _sync_zones(self, inventory: Inventory, data_centers: dict[str, str]) -> None:
        rows = []
        for i, d in enumerate(inventory.data_centers):
            for j, z in enumerate(d.zones):
                label = f"data_centers[{i}] ({d.permalink}) > zones[{j}] ({z.permalink})"
                values = {"name": z.name, "permalink": z.permalink,
                          "data_center_id": data_centers[d.permalink]}  # fmt: skip
                rows.append(_Row(label, z.id, (z.permalink,), values))
        self._sync("zone", _tables["zones"], ("permalink",), rows)
        self.zones = self._references(_tables["zones"], "permalink")

    def _sync_networks(self, inventory: Inventory, data_centers: dict[str, str]) -> dict[str, str]:
        rows = []
        for i, n in enumerate(inventory.networks):
            label = f"networks[{i}] ({n.permalink})"
            given, defaults = _split(n, {"is_default": ("default", n.default)})
            values = {
                "name": n.name,
                "permalink": n.permalink,
                "data_center_id": _resolve(
                    data_centers, n.data_center, n.data_center, f"{label} > data_center"
                ),
            }
            rows.append(_Row(label, n.id, (n.permalink,), values | given, defaults))
        self._sync("network", _tables["networks"], ("permalink",), rows)
        return self._references(_tables["networks"], "permalink")

    def _sync_subnets(self, inventory: Inventory, networks: dict[str, str]) -> None:
        rows = []
        for i, n in enumerate(inventory.networks):
            for j, s in enumerate(n.subnets):
                net = ipaddress.ip_network(s.cidr)
                given, defaults = _split(
                    s,
                    {
                        "gateway": ("gateway", s.gateway),
                        "billable": ("billable", s.billable),
                        "rdns_zone": ("rdns_zone", s.rdns_zone),
                    },
                )
                values = {
                    "network_id": networks[n.permalink],
                    "cidr": s.cidr,
                    "address": net.network_address.compressed,
                    "mask": net.prefixlen,
                    "version": net.version,
                }
                label = f"networks[{i}] ({n.permalink}) > subnets[{j}] ({s.cidr})"
                rows.append(_Row(label, s.id, (s.cidr,), values | given, defaults))
        ips = _tables["ip_addresses"]
        in_use: set[str] | None = None
        moving: list[str] = []

        def check(row: _Row, current: Any) -> None:
            nonlocal in_use
            if current is None:
                return
            if current.cidr != row.values["cidr"]:
                # Checked once the whole file is applied: its addresses may move too.
                self.changed_subnets[current.id] = row.label
            if any(current._mapping[k] != row.values.get(k, current._mapping[k])
                   for k in ("cidr", "gateway", "network_id")):  # fmt: skip
                self.pool_subnets.add(current.id)
            if current.network_id != row.values["network_id"]:
                if in_use is None:
                    query = select(ips.c.subnet_id).where(ips.c.organization_id.is_not(None))
                    in_use = set(self.connection.execute(query.distinct()).scalars())
                if current.id in in_use:
                    raise InventoryError(
                        f"{row.label}: holds addresses, so it cannot move to another network"
                    )
                moving.append(current.id)

        subnets = _tables["subnets"]
        before = set(self.connection.execute(select(subnets.c.id)).scalars())
        # Free rows name the subnet's network: they go, and come back with the new one.
        self._sync(
            "subnet",
            subnets,
            ("cidr",),
            rows,
            check=check,
            read=("gateway",),
            guard=_Guard(
                lambda _current, changed: "network_id" in changed,
                ~exists().where(
                    ips.c.subnet_id == subnets.c.id, ips.c.organization_id.is_not(None)
                ),
                "an address was added to it",
            ),
            before_write=lambda: pool.drop_free_rows(self.connection, moving),
        )
        after = set(self.connection.execute(select(subnets.c.id)).scalars())
        self.pool_subnets |= after - before

    def _check_changed_subnets(self) -> None:
        """Refuse a subnet whose new cidr leaves stored addresses outside it."""
        if not self.changed_subnets:
            return
        subnets = _tables["subnets"]
        ips = _tables["ip_addresses"]
        cidrs = {
            subnet_id: ipaddress.ip_network(cidr)
            for subnet_id, cidr in self.connection.execute(
                select(subnets.c.id, subnets.c.cidr).where(subnets.c.id.in_(self.changed_subnets))
            )
        }
        # Free rows outside it are not stranded: the pool is refreshed after this.
        query = select(ips.c.address, ips.c.subnet_id).where(
            ips.c.subnet_id.in_(self.changed_subnets), ips.c.organization_id.is_not(None)
        )
        for address, subnet_id in self.connection.execute(query):
            if ipaddress.ip_address(address) not in cidrs[subnet_id]:
                raise InventoryError(
                    f"{self.changed_subnets[subnet_id]}: the address {address} would be"
                    " outside it (change or remove its addresses first)"
                )

    def _refresh_pools(self) -> None:
        """Give each new or changed IPv4 subnet a free row for every address of its pool."""
        if not self.pool_subnets:
            return
        subnets = _tables["subnets"]
        query = select(subnets).where(subnets.c.id.in_(sorted(self.pool_subnets)))
        for subnet in self.connection.execute(query).all():
            if subnet.version != 4:
                continue
            added, removed = pool.refresh_pool(
                self.connection, subnet.id, subnet.cidr, subnet.network_id, subnet.gateway,
                self.now,
            )  # fmt: skip
            self.report.created["pool address"] += added
            self.report.updated["pool address"] += removed

    # -- an organization and what it owns --------------------------------------

    def _sync_organizations(self, inventory: Inventory) -> list[str]:
        """All of the file's organizations in one go (a few statements, not a few per
        organization); their ids in file order."""
        rows = []
        for index, org in enumerate(inventory.organizations):
            label = _organization_label(index, org)
            given, defaults = _split(
                org,
                {
                    "suspended": ("suspended", org.suspended),
                    "activated": ("activated", org.activated),
                    "managed": ("managed", org.managed),
                    "infrastructure_domain": ("infrastructure_domain", org.infrastructure_domain),
                },
            )
            if org.currency is not None:
                given["currency_id"] = self._currency(org.currency, f"{label} > currency")
            else:
                defaults["currency_id"] = self._currency(None, label)
            if org.country is not None:
                country = org.country if looks_like_id(org.country) else org.country.upper()
                given["country_id"] = _resolve(
                    self.countries, country, org.country, f"{label} > country"
                )
            else:
                defaults["country_id"] = None
            new = {"uuid": str(uuid.uuid4()), "created_at": self.now,
                   "activated_at": self.now if org.activated else None}  # fmt: skip
            rows.append(
                _Row(
                    label,
                    org.id,
                    (org.sub_domain,),
                    {"name": org.name, "sub_domain": org.sub_domain} | given,
                    defaults | new,
                )
            )
        return self._sync(
            "organization",
            _tables["organizations"],
            ("sub_domain",),
            rows,
            within=false(),  # only the rows with their ids or sub_domains
        )

    def _currency(self, iso_code: str | None, where: str) -> str:
        try:
            return reference.currency_id(self.connection, iso_code)
        except LookupError:
            raise InventoryError(f"{where}: no currency {iso_code!r}") from None

    def _load_organization(
        self, index: int, org: Any, org_id: str, networks: dict[str, str]
    ) -> None:
        label = _organization_label(index, org)
        vm_ids = self._sync_virtual_machines(org_id, label, org.virtual_machines, networks)
        self._sync_trash(org_id, org.virtual_machines, vm_ids)
        self._sync_interfaces(org_id, label, org.virtual_machines, vm_ids, networks)
        ip_ids = self._sync_ip_addresses(org_id, label, org.ip_addresses)
        self._allocate(org_id, label, org.ip_addresses, ip_ids)
        self._sync_tokens(org_id, org.sub_domain, label, org.api_tokens)

    def _sync_virtual_machines(
        self, org_id: str, label: str, vms: Sequence[Any], networks: dict[str, str]
    ) -> list[str]:
        rows = []
        for i, vm in enumerate(vms):
            where = f"{label} > virtual_machines[{i}] ({vm.name})"
            given, defaults = _split(
                vm,
                {
                    "hostname": ("hostname", vm.hostname or vm.stored_fqdn.split(".")[0]),
                    "state": ("state", vm.state),
                    "description": ("description", vm.description),
                },
            )
            if vm.zone is not None:
                given["zone_id"] = _resolve(self.zones, vm.zone, vm.zone, f"{where} > zone")
            else:
                defaults["zone_id"] = self._default_zone(vm, networks, where)
            if vm.package is not None:
                given["package_id"] = _resolve(
                    self.packages, vm.package, vm.package, f"{where} > package"
                )
            else:
                # Every row of one INSERT names the same columns.
                defaults["package_id"] = None
            rows.append(
                _Row(
                    where,
                    vm.id,
                    (org_id, vm.name),
                    {"organization_id": org_id, "name": vm.name, "fqdn": vm.stored_fqdn} | given,
                    # File order is creation order (the list's order).
                    defaults | {"created_at": self.now + timedelta(microseconds=i)},
                )
            )
        table = _tables["virtual_machines"]
        return self._sync(
            "virtual_machine",
            table,
            ("organization_id", "name"),
            rows,
            within=table.c.organization_id == org_id,
            check=_same_organization(org_id),
            unique=(("organization_id", "fqdn"),),
        )

    def _default_zone(self, vm: Any, networks: dict[str, str], where: str) -> str:
        """The first zone of the data center of the VM's first interface's network, else
        of the first data center; made if that data center has none."""
        if self.network_data_centers is None:
            table = _tables["networks"]
            self.network_data_centers = dict(
                self.connection.execute(select(table.c.id, table.c.data_center_id)).all()
            )
        data_center = None
        if vm.network_interfaces:
            first = vm.network_interfaces[0].network
            data_center = self.network_data_centers.get(networks.get(first, ""))
        if data_center is None:
            table = _tables["data_centers"]
            data_center = self.connection.execute(
                select(table.c.id).order_by(table.c.permalink).limit(1)
            ).scalar()
        if data_center is None:
            raise InventoryError(f"{where}: a virtual machine needs a zone: list a data center")
        return reference.zone_id(self.connection, data_center)

    def _default_speed_profile(self) -> str:
        if self._speed_profile is None:
            self._speed_profile = reference.speed_profile_id(self.connection)
        return self._speed_profile

    def _sync_trash(self, org_id: str, vms: Sequence[Any], vm_ids: list[str]) -> None:
        if not any("in_trash" in vm.model_fields_set for vm in vms):
            return  # left out everywhere: as it is
        table = _tables["virtual_machines"]
        trash = _tables["trash_objects"]
        current = dict(
            self.connection.execute(
                select(table.c.id, table.c.trash_object_id).where(table.c.organization_id == org_id)
            ).all()
        )
        for vm, vm_id in zip(vms, vm_ids, strict=True):
            if "in_trash" not in vm.model_fields_set:
                continue  # left out: as it is
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
                self.report.created["trash_object"] += 1
            elif not vm.in_trash and trash_id is not None:
                self.connection.execute(
                    update(table).where(table.c.id == vm_id).values(trash_object_id=None)
                )
                self.connection.execute(delete(trash).where(trash.c.id == trash_id))
                self.report.updated["trash_object"] += 1

    def _sync_interfaces(
        self,
        org_id: str,
        label: str,
        vms: Sequence[Any],
        vm_ids: list[str],
        networks: dict[str, str],
    ) -> None:
        rows = []
        for i, (vm, vm_id) in enumerate(zip(vms, vm_ids, strict=True)):
            for index, nic in enumerate(vm.network_interfaces):
                name = interface_name(nic, index)
                entry = (
                    f"{label} > virtual_machines[{i}] ({vm.name})"
                    f" > network_interfaces[{index}] ({name})"
                )
                given, defaults = _split(
                    nic,
                    {
                        "mac_address": ("mac_address", nic.mac_address or _random_mac()),
                        "state": ("state", nic.state),
                    },
                )
                if nic.speed_profile is not None:
                    given["speed_profile_id"] = _resolve(
                        self.speed_profiles, nic.speed_profile, nic.speed_profile,
                        f"{entry} > speed_profile",
                    )  # fmt: skip
                else:
                    defaults["speed_profile_id"] = self._default_speed_profile()
                rows.append(
                    _Row(
                        entry,
                        nic.id,
                        (vm_id, name),
                        {
                            "virtual_machine_id": vm_id,
                            "network_id": _resolve(networks, nic.network, nic.network, entry),
                            "name": name,
                        }
                        | given,
                        defaults
                        | {
                            # Keeps file order as creation order: the first is the oldest.
                            "created_at": self.now + timedelta(microseconds=index),
                        },
                    )
                )
        if not rows:
            return
        vm = _tables["virtual_machines"]
        ips = _tables["ip_addresses"]
        own_vms = set(
            self.connection.execute(select(vm.c.id).where(vm.c.organization_id == org_id)).scalars()
        )
        carrying: set[str] | None = None

        def check(row: _Row, current: Any) -> None:
            nonlocal carrying
            if current is None:
                return
            if current.virtual_machine_id not in own_vms:
                raise InventoryError(
                    f"{row.label}: {current.id} already exists in another organization"
                )
            if current.virtual_machine_id != row.values["virtual_machine_id"]:
                what = "it cannot move to another virtual machine"
            elif current.network_id != row.values["network_id"]:
                what = "its network cannot change"
            else:
                return
            if carrying is None:
                # An allocation is made within the address's organization (a foreign key).
                query = (
                    select(ips.c.network_interface_id)
                    .where(ips.c.organization_id == org_id, ips.c.network_interface_id.is_not(None))
                    .distinct()
                )
                carrying = set(self.connection.execute(query).scalars())
            if current.id in carrying:
                raise InventoryError(f"{row.label}: carries an allocation, so {what}")

        table = _tables["network_interfaces"]
        self._sync(
            "network_interface",
            table,
            ("virtual_machine_id", "name"),
            rows,
            within=table.c.virtual_machine_id.in_(
                select(vm.c.id).where(vm.c.organization_id == org_id)
            ),
            check=check,
            unique=(("mac_address",),),
            guard=_Guard(
                lambda _current, changed: bool(
                    changed.keys() & {"virtual_machine_id", "network_id"}
                ),
                ~exists().where(ips.c.network_interface_id == table.c.id),
                "an address was allocated through it",
            ),
        )

    def _sync_ip_addresses(self, org_id: str, label: str, entries: Sequence[Any]) -> list[str]:
        table = _tables["ip_addresses"]
        find_subnet = self.find_subnet
        assert find_subnet is not None
        self._make_room_for_new_addresses(org_id, entries)
        rows = []
        for i, entry in enumerate(entries):
            where = f"{label} > ip_addresses[{i}] ({entry.address})"
            subnet = find_subnet(entry.address)
            if subnet is None:
                raise InventoryError(f"{where}: no subnet contains this address")
            if entry.vip and not entry.label:
                raise InventoryError(f"{where}: a VIP needs a label")
            values = {
                "organization_id": org_id,
                "network_id": subnet[1],
                "subnet_id": subnet[0],
                "address": entry.address,
                "version": 6 if ":" in entry.address else 4,
            }
            vip = {"vip": entry.vip, "label": entry.label if entry.vip else None}
            if entry.model_fields_set & {"vip", "label"}:
                values |= vip
                vip = {}
            new = {"created_at": self.now, "taken_at": self.now}
            rows.append(_Row(where, entry.id, (entry.address,), values, vip | new))
        claimed: list[str] = []

        def check(row: _Row, current: Any) -> None:
            if current is None:
                return
            if current.organization_id is None:
                # A free address of the pool: the organization takes it, by its id.
                if row.id is not None and row.id != current.id:
                    owner = self.connection.execute(
                        select(table.c.organization_id).where(table.c.id == row.id)
                    ).scalar()
                    if owner is not None and owner != org_id:
                        raise InventoryError(
                            f"{row.label}: {row.id} already exists in another organization"
                        )
                claimed.append(current.id)
            elif current.organization_id != org_id:
                if current.address == row.values["address"]:
                    raise InventoryError(
                        f"{row.label}: the address belongs to another organization"
                    )
                raise InventoryError(
                    f"{row.label}: {current.id} already exists in another organization"
                )
            if current.allocation_id is not None and (
                current.address != row.values["address"]
                or current.network_id != row.values["network_id"]
            ):
                what = "address" if current.address != row.values["address"] else "network"
                raise InventoryError(
                    f"{row.label}: {current.address} is allocated to {current.allocation_id},"
                    f" so its {what} cannot change"
                )

        ids = self._sync(
            "ip_address",
            table,
            ("address",),
            rows,
            within=table.c.organization_id == org_id,
            read=("allocation_id",),
            check=check,
            guard=_Guard(
                lambda current, changed: (
                    current.organization_id is None
                    or bool(changed.keys() & {"address", "network_id"})
                ),
                # The API may take a free address, or allocate one, meanwhile.
                table.c.allocation_id.is_(None)
                & (table.c.organization_id.is_(None) | (table.c.organization_id == org_id)),
                "it was allocated or taken",
            ),
        )
        for chunk in _chunks(claimed):
            self.connection.execute(
                update(table).where(table.c.id.in_(chunk)).values(taken_at=self.now)
            )
        return ids

    def _make_room_for_new_addresses(self, org_id: str, entries: Sequence[Any]) -> None:
        """An entry that gives one of the organization's addresses (by id) a new
        address: the free row holding the new address goes, and the old address gets
        a free row back when the pools are refreshed. (What may not be re-addressed,
        an allocated one, is refused by the check, and the whole load with it.)"""
        wanted = {entry.id: entry.address for entry in entries if entry.id is not None}
        if not wanted:
            return
        table = _tables["ip_addresses"]
        moved: list[Any] = []
        for chunk in _chunks(list(wanted)):
            query = select(table.c.id, table.c.address, table.c.subnet_id).where(
                table.c.id.in_(chunk), table.c.organization_id == org_id
            )
            moved += [r for r in self.connection.execute(query) if r.address != wanted[r.id]]
        targets = [wanted[r.id] for r in moved]
        for chunk in _chunks(targets):
            self.connection.execute(
                delete(table).where(table.c.address.in_(chunk), table.c.organization_id.is_(None))
            )
        self.pool_subnets |= {r.subnet_id for r in moved}

    def _allocate(self, org_id: str, label: str, entries: Sequence[Any], ip_ids: list[str]) -> None:
        wanted = [
            (i, e, ip)
            for i, (e, ip) in enumerate(zip(entries, ip_ids, strict=True))
            if e.allocated_to
        ]
        if not wanted:
            return
        vms, trashed, nics = self._vms_and_interfaces(org_id)
        ips = _tables["ip_addresses"]
        current = {
            r.id: r
            for r in self.connection.execute(
                select(ips.c.id, ips.c.address, ips.c.network_id, ips.c.allocation_id).where(
                    ips.c.organization_id == org_id
                )
            )
        }
        changes = []
        events = []
        for index, entry, ip_id in wanted:
            where = f"{label} > ip_addresses[{index}] ({entry.address}) > allocated_to"
            vm_id = vms.get(entry.allocated_to)
            if vm_id is None:
                raise InventoryError(f"{where}: no virtual machine {entry.allocated_to!r}")
            row = current[ip_id]
            if row.allocation_id == vm_id:
                continue
            if row.allocation_id is not None:
                raise InventoryError(f"{where}: already allocated to {row.allocation_id}")
            if vm_id in trashed:
                raise InventoryError(
                    f"{where}: the virtual machine {entry.allocated_to!r} is in the trash"
                )
            try:
                nic = allocation.choose_interface(nics.get(vm_id, []), row.network_id)
            except NoInterfaceAvailable:
                raise InventoryError(
                    f"{where}: the VM has no interface on the address's network"
                ) from None
            changes.append({"_id": ip_id, "_vm": vm_id, "_nic": nic.id})
            events.append(
                {
                    "occurred_at": self.now,
                    "action": "allocate",
                    "organization_id": org_id,
                    "actor_type": ACTOR_TYPE,
                    "actor_id": self.source,
                    "ip_address_id": ip_id,
                    "address": row.address,
                    "virtual_machine_id": vm_id,
                    "network_interface_id": nic.id,
                    "request_id": None,
                    "operation": "load",
                }
            )
        if not changes:
            return
        done = self.connection.execute(
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
        if done.rowcount != len(changes):
            # The API allocated one of them since it was read: the audit log and the
            # file would disagree.
            raise InventoryError(
                f"{label}: an address was allocated through the API meanwhile; load again"
            )
        # The audit log, as the API writes it, in the same transaction.
        self.connection.execute(insert(_tables["allocation_events"]), events)
        self.report.updated["allocation"] += len(changes)

    def _vms_and_interfaces(
        self, org_id: str
    ) -> tuple[dict[str, str], set[str], dict[str, list[allocation.NetworkInterface]]]:
        """VM name or id -> id (an id wins), the ids of VMs in the trash, interfaces per VM."""
        vm = _tables["virtual_machines"]
        nic = _tables["network_interfaces"]
        rows = self.connection.execute(
            select(vm.c.id, vm.c.name, vm.c.trash_object_id).where(vm.c.organization_id == org_id)
        ).all()
        vms = {row.name: row.id for row in rows} | {row.id: row.id for row in rows}
        trashed = {row.id for row in rows if row.trash_object_id is not None}
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
        return vms, trashed, nics

    def _sync_tokens(self, org_id: str, sub_domain: str, label: str, tokens: Sequence[Any]) -> None:
        if not tokens:
            return
        table = _tables["api_tokens"]
        existing = set(
            self.connection.execute(
                select(table.c.name).where(table.c.organization_id == org_id)
            ).scalars()
        )
        rows = []
        for i, token in enumerate(tokens):
            given, defaults = _split(
                token,
                {
                    "scopes": ("scopes", " ".join(token.scopes)),
                    "allowed_networks": ("allowed_networks", " ".join(token.allowed_networks)),
                    "expires_at": ("expires_at", _aware(token.expires_at)),
                },
            )
            values: dict[str, Any] = {"organization_id": org_id, "name": token.name} | given
            insert_only: dict[str, Any] = defaults | {"created_at": self.now}
            if token.secret is not None:
                values["secret_hash"] = hash_secret(token.secret)
            elif token.name not in existing:
                secret = new_secret()
                insert_only["secret_hash"] = hash_secret(secret)
                self.report.new_secrets.append((sub_domain, token.name, secret))
            rows.append(
                _Row(
                    f"{label} > api_tokens[{i}] ({token.name})",
                    None,
                    (org_id, token.name),
                    values,
                    insert_only,
                )
            )
        self._sync(
            "api_token",
            table,
            ("organization_id", "name"),
            rows,
            within=table.c.organization_id == org_id,
            unique=(("secret_hash",),),
        )

    # -- the generic part -------------------------------------------------------

    def _references(self, table: Table, key: str) -> dict[str, str]:
        """id -> id and natural key -> id, for resolving references; an id wins."""
        rows = self.connection.execute(select(table.c.id, table.c[key])).all()
        return {row[1]: row[0] for row in rows} | {row[0]: row[0] for row in rows}

    def _sync(
        self,
        kind: str,
        table: Table,
        key: tuple[str, ...],
        rows: Sequence[_Row],
        *,
        within: ColumnElement[bool] | None = None,
        read: Sequence[str] = (),
        check: _Check | None = None,
        unique: Sequence[tuple[str, ...]] = (),
        guard: _Guard | None = None,
        before_write: Callable[[], None] | None = None,
    ) -> list[str]:
        """Insert new rows and update those whose values differ; return their ids in order.

        The stored rows read are those ``within`` selects (an organization's), those with
        the rows' ids and, for a one-column key, those with their keys; None reads the
        whole table (reference data, read once per load). A key of several columns must
        lie ``within``. ``check`` sees each row with the stored row it matches;
        ``unique`` names the columns (besides the key) no two rows may share, checked
        against every stored row; ``guard`` makes what ``check`` decided hold where its
        updates write (see _Guard); ``before_write`` runs once every row is checked.
        """
        if not rows:
            return []
        # No two rows share a key: parse_inventory refuses a key listed twice.
        names = {n for row in rows for n in row.values} | set(read) | set(key)
        names.discard("id")
        stored, by_key = self._stored(table, key, rows, within, sorted(names))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        guarded: dict[str, str] = {}  # id -> label, of the updates the guard applies to
        ids: list[str] = []
        taken = _Taken(self.connection, table, unique, rows)
        for row in rows:
            found = by_key.get(row.key)
            current = stored.get(found or row.id or "")
            if check is not None:
                check(row, current)
            if row.id is not None and found is not None and row.id != found:
                raise InventoryError(f"{row.label}: already exists with id {found}")
            if current is not None:
                mapping = current._mapping
                changed = {n: v for n, v in row.values.items() if mapping[n] != v}
                taken.check(row, current.id, row.values)
                if changed:
                    updates.append({"_id": current.id, **changed})
                    if guard is not None and guard.applies(current, changed):
                        guarded[current.id] = row.label
                ids.append(current.id)
            else:
                row_id = row.id or new_id(kind)
                values = {**row.values, **row.insert_only}
                taken.check(row, row_id, values)
                inserts.append({"id": row_id, **values})
                ids.append(row_id)
        if before_write is not None:
            before_write()
        self._write(kind, table, inserts, updates, guard, guarded)
        return ids

    def _write(
        self,
        kind: str,
        table: Table,
        inserts: list[dict[str, Any]],
        updates: list[dict[str, Any]],
        guard: _Guard | None,
        guarded: dict[str, str],
    ) -> None:
        """Write what ``_sync`` decided; the updates in ``guarded`` only where the guard holds."""
        if inserts:
            self.connection.execute(insert(table), inserts)
            self.report.created[kind] += len(inserts)
        # executemany needs the same columns in every row of a statement.
        by_columns: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        for values in updates:
            by_columns.setdefault((values["_id"] in guarded, tuple(sorted(values))), []).append(
                values
            )
        for (is_guarded, columns), group in by_columns.items():
            bound: dict[str, Any] = {name: bindparam(name) for name in columns if name != "_id"}
            statement = update(table).where(table.c.id == bindparam("_id")).values(bound)
            if not is_guarded:
                self.connection.execute(statement, group)
                continue
            assert guard is not None
            try:
                done = self.connection.execute(statement.where(guard.holds), group).rowcount
            except IntegrityError as error:
                # PostgreSQL: an allocation not yet committed when the update began, which
                # the database's own foreign keys (SQLSTATE 23503) refuse the update for;
                # the transaction is aborted. Anything else is not a race.
                if getattr(error.orig, "sqlstate", None) != "23503":
                    raise
                done = -1
            if done != len(group):
                self._refuse_changed(
                    table, guard, [values["_id"] for values in group], guarded, done
                )
        if updates:
            self.report.updated[kind] += len(updates)

    def _refuse_changed(
        self,
        table: Table,
        guard: _Guard,
        ids: list[str],
        guarded: dict[str, str],
        done: int,
    ) -> None:
        """Name the entry whose guarded update found its row changed since it was read."""
        culprit = None
        if done >= 0:  # the transaction can still answer
            for chunk in _chunks(ids):
                query = select(table.c.id).where(table.c.id.in_(chunk), ~guard.holds)
                found = set(self.connection.execute(query).scalars())
                culprit = next((i for i in chunk if i in found), None)
                if culprit is not None:
                    break
        label = guarded[culprit or ids[0]]
        others = "" if culprit is not None or len(ids) == 1 else f" (or another of {len(ids)})"
        raise InventoryError(
            f"{label}{others}: changed while loading ({guard.what} meanwhile): load again"
        )

    def _stored(
        self,
        table: Table,
        key: tuple[str, ...],
        rows: Sequence[_Row],
        within: ColumnElement[bool] | None,
        names: Sequence[str],
    ) -> tuple[dict[str, Row[Any]], dict[tuple[Any, ...], str]]:
        """id -> stored row and key -> id, of the rows ``_sync`` may match (see there)."""
        stored: dict[str, Row[Any]] = {}
        by_key: dict[tuple[Any, ...], str] = {}
        positions = [names.index(k) + 1 for k in key]  # the id is the first column

        def add(query: Select[Any]) -> None:
            for r in self.connection.execute(query):
                stored[r.id] = r
                by_key[tuple(r[i] for i in positions)] = r.id

        query = select(table.c.id, *(table.c[n] for n in names))
        add(query if within is None else query.where(within))
        if within is None:
            return stored, by_key
        lookups: list[tuple[Any, list[Any]]] = [
            (table.c.id, [row.id for row in rows if row.id is not None and row.id not in stored])
        ]
        if len(key) == 1:
            keys = [row.key[0] for row in rows if row.key not in by_key]
            lookups.append((table.c[key[0]], keys))
        for column, values in lookups:
            for chunk in _chunks(values):
                add(query.where(column.in_(chunk)))
        return stored, by_key


class _Taken:
    """Who holds the values of the unique columns the rows give, to name the entry that
    repeats one.

    Only the stored values are asked for, by the values the rows give. A value a stored
    row holds is refused to any other row, even one in the same file that gives it up:
    two rows cannot swap a MAC address or an FQDN in one load (the updates would clash
    midway too). Move one of them to a free value first, in a load of its own.
    """

    def __init__(
        self,
        connection: Connection,
        table: Table,
        unique: Sequence[tuple[str, ...]],
        rows: Sequence[_Row],
    ) -> None:
        self._unique = unique
        self._owners: dict[tuple[str, ...], dict[tuple[Any, ...], str]] = {}
        if not unique:
            return
        given = [row.insert_only | row.values for row in rows]
        for columns in unique:
            *first, last = columns
            query = select(table.c.id, *(table.c[c] for c in columns)).where(
                # Few values (an organization's id), so an index on them serves.
                *(table.c[c].in_(sorted({v.get(c) for v in given})) for c in first)
            )
            owners: dict[tuple[Any, ...], str] = {}
            for chunk in _chunks(sorted({v[last] for v in given if v.get(last) is not None})):
                for r in connection.execute(query.where(table.c[last].in_(chunk))):
                    owners[tuple(r._mapping[c] for c in columns)] = r.id
            self._owners[columns] = owners

    def check(self, row: _Row, row_id: str, values: dict[str, Any]) -> None:
        for columns in self._unique:
            value = tuple(values.get(c) for c in columns)
            if None in value:
                continue
            owner = self._owners[columns].get(value, row_id)
            if owner != row_id:
                # Never show a secret's hash.
                shown = "" if "secret_hash" in columns else f" {value[-1]!r}"
                raise InventoryError(
                    f"{row.label}: the {columns[-1]}{shown} is already used by {owner}"
                )


def _organization_label(index: int, org: Any) -> str:
    return f"organizations[{index}] ({org.sub_domain})"


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _same_organization(org_id: str) -> _Check:
    """Refuse an id that names another organization's object."""

    def check(row: _Row, current: Any) -> None:
        if current is not None and current.organization_id != org_id:
            raise InventoryError(
                f"{row.label}: {current.id} already exists in another organization"
            )

    return check


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

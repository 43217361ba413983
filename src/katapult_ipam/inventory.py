"""The inventory file: what ``katapult-ipam load FILE`` accepts, validated as a whole."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from katapult_ipam.domain.names import normalise_fqdn
from katapult_ipam.ids import ID_PATTERN
from katapult_ipam.limits import (
    ADDRESS_MAX_LENGTH,
    FQDN_MAX_LENGTH,
    HOSTNAME_MAX_LENGTH,
    ID_MAX_LENGTH,
    INVENTORY_MAX_BYTES,
    LABEL_MAX_LENGTH,
    MAC_ADDRESS_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PERMALINK_MAX_LENGTH,
    SUB_DOMAIN_MAX_LENGTH,
    TIME_ZONE_MAX_LENGTH,
    ZONE_MAX_LENGTH,
)


class InventoryError(ValueError):
    """The file is not a valid inventory; nothing was loaded."""


# Every string the loader stores is bounded by its column (see limits.py).
# Dot-separated labels of letters, digits and inner hyphens, each 1 to 63 characters.
_DNS_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")
# A DNS name in text form is at most 253 characters (without the root dot).
_DNS_NAME_MAX_LENGTH = 253
# One DNS label; it never contains "_", so it never looks like an id (see ids.py).
_SUB_DOMAIN = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_MAC_ADDRESS = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}")
# An explicit id has the production shape, so references by id and by natural key
# (a sub-domain) cannot be confused.
Id = Annotated[str, Field(max_length=ID_MAX_LENGTH, pattern=f"^{ID_PATTERN.pattern}$")]
Name = Annotated[str, Field(max_length=NAME_MAX_LENGTH)]
Permalink = Annotated[str, Field(min_length=1, max_length=PERMALINK_MAX_LENGTH)]
Address = Annotated[str, Field(max_length=ADDRESS_MAX_LENGTH)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store a NUL character in any text column.
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise ValueError("contains a NUL character")
        return value


class CountryEntry(_Entry):
    id: Id | None = None
    name: Name
    iso_code2: str = Field(min_length=2, max_length=2)
    iso_code3: str = Field(min_length=3, max_length=3)
    time_zone: str | None = Field(default=None, max_length=TIME_ZONE_MAX_LENGTH)
    eu: bool = False


class DataCenterEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink
    country: str  # id or iso_code2


class SubnetEntry(_Entry):
    id: Id | None = None
    cidr: Address
    gateway: Address | None = None
    billable: bool = True
    # Zone of the default reverse DNS names of its free addresses; none: RDNS_ZONE.
    rdns_zone: str | None = Field(default=None, max_length=ZONE_MAX_LENGTH)

    @field_validator("rdns_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        zone = value.rstrip(".").lower()
        if not _DNS_NAME.fullmatch(zone):
            raise ValueError(f"not a DNS zone name: {value!r}")
        return zone

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"not a network address with a prefix: {value}") from error
        _unscoped(network.network_address)
        return network.compressed

    @model_validator(mode="after")
    def _gateway_inside(self) -> SubnetEntry:
        if self.gateway is not None:
            try:
                gateway = ipaddress.ip_address(self.gateway)
            except ValueError as error:
                raise ValueError(f"gateway is not an IP address: {self.gateway}") from error
            _unscoped(gateway)
            if gateway not in ipaddress.ip_network(self.cidr):
                raise ValueError(f"gateway {self.gateway} is outside {self.cidr}")
        return self


class NetworkEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink
    data_center: str  # id or permalink
    default: bool = False
    subnets: list[SubnetEntry] = []


class InterfaceEntry(_Entry):
    id: Id | None = None
    name: Name | None = None
    network: str  # id or permalink
    mac_address: str | None = Field(default=None, max_length=MAC_ADDRESS_MAX_LENGTH)

    @field_validator("mac_address")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _MAC_ADDRESS.fullmatch(value.lower()):
            raise ValueError(f"not a MAC address (six hexadecimal pairs): {value!r}")
        return value.lower().replace("-", ":")


class VirtualMachineEntry(_Entry):
    id: Id | None = None
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    hostname: str | None = Field(default=None, max_length=HOSTNAME_MAX_LENGTH)
    fqdn: str = Field(min_length=1, max_length=FQDN_MAX_LENGTH)
    in_trash: bool = False
    network_interfaces: list[InterfaceEntry] = []

    @field_validator("fqdn")
    @classmethod
    def _fqdn(cls, value: str) -> str:
        # Stored lower-cased, which must not change its length, and every database
        # lower-cases ASCII alike (the schema checks fqdn = lower(fqdn)).
        if not value.isascii():
            raise ValueError("an FQDN is written in ASCII (international names in punycode)")
        name = normalise_fqdn(value)
        if len(name) > _DNS_NAME_MAX_LENGTH or not _DNS_NAME.fullmatch(name):
            raise ValueError(
                f"not a DNS name (labels of letters, digits and inner hyphens): {value!r}"
            )
        return value

    @property
    def stored_fqdn(self) -> str:
        """The FQDN as the store keeps it: lower case, no root dot."""
        return normalise_fqdn(self.fqdn)


class IPAddressEntry(_Entry):
    id: Id | None = None
    address: Address
    vip: bool = False
    label: str | None = Field(default=None, max_length=LABEL_MAX_LENGTH)
    allocated_to: str | None = None  # VM id or name in the same organization

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError as error:
            raise ValueError(f"not an IP address: {value}") from error
        _unscoped(address)
        return address.compressed


class APITokenEntry(_Entry):
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    secret: str | None = Field(default=None, min_length=16)
    scopes: list[str] = []
    allowed_networks: list[str] = []
    expires_at: datetime | None = None

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        try:
            return [ipaddress.ip_network(v, strict=False).compressed for v in value]
        except ValueError as error:
            raise ValueError(str(error)) from error


class OrganizationEntry(_Entry):
    id: Id | None = None
    name: Name
    sub_domain: str = Field(min_length=1, max_length=SUB_DOMAIN_MAX_LENGTH)
    # Either refuses the organization's lookups (403 organization_suspended /
    # organization_not_activated); its VMs and addresses stay as they are.
    suspended: bool = False
    activated: bool = True
    virtual_machines: list[VirtualMachineEntry] = []
    ip_addresses: list[IPAddressEntry] = []
    api_tokens: list[APITokenEntry] = []

    @field_validator("sub_domain")
    @classmethod
    def _sub_domain(cls, value: str) -> str:
        if not _SUB_DOMAIN.fullmatch(value):
            raise ValueError(
                "a sub-domain is one DNS label: 1 to 63 lower-case letters, digits and"
                f" inner hyphens: {value!r}"
            )
        return value


class Inventory(_Entry):
    countries: list[CountryEntry] = []
    data_centers: list[DataCenterEntry] = []
    networks: list[NetworkEntry] = []
    organizations: list[OrganizationEntry] = []


def _unscoped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Refuse an IPv6 zone ("fe80::1%eth0"): it names a link on one host, not an address."""
    if getattr(address, "scope_id", None) is not None:
        raise ValueError(f"an address with a zone (%) is not accepted: {address}")


# libyaml's parser, when PyYAML has it, is several times faster on big files.
_YAMLLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoAliasLoader(_YAMLLoader):  # type: ignore[valid-type,misc]
    """Safe YAML without aliases: ``*name`` would let a tiny file expand to gigabytes."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A node is constructed twice only when an alias names it again.
        if node in self.constructed_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not accepted in an inventory", node.start_mark
            )
        return super().construct_object(node, deep)


def read_inventory(path: Path, max_bytes: int = INVENTORY_MAX_BYTES) -> Inventory:
    """Parse and validate a YAML inventory, naming the first bad entry on failure."""
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise InventoryError(f"{path}: cannot read: {error}") from error
    if len(data) > max_bytes:
        raise InventoryError(f"{path}: larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InventoryError(
            f"{path}: not UTF-8 text (byte {error.start}): save the file as UTF-8"
        ) from None
    try:
        document = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506
    except yaml.YAMLError as error:
        raise InventoryError(f"{path}: cannot read: {_yaml_problem(error)}") from error
    return parse_inventory(document or {}, source=str(path))


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's complaint on one line, with where it is."""
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    mark = getattr(error, "problem_mark", None)
    return (
        problem if mark is None else f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    )


def parse_inventory(document: Any, source: str = "inventory") -> Inventory:
    if not isinstance(document, dict):
        raise InventoryError(f"{source}: the top level must be a mapping")
    try:
        inventory = Inventory.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        raise InventoryError(
            f"{source}: {_describe(document, first['loc'])}: {first['msg']}"
        ) from error
    _refuse_duplicates(inventory, source)
    return inventory


def _refuse_duplicates(inventory: Inventory, source: str) -> None:
    """Every id and natural key once in the whole file, not only within one list.

    The database would refuse most of these, or (matching rows by key) quietly
    merge two entries into one; here both entries are named. Entries are kept as
    paths and described only for the message: files may hold a million addresses.
    """
    seen: dict[tuple[str, Hashable], tuple[int, ...]] = {}

    def once(what: str, key: Hashable, path: tuple[int, ...], shown: str | None = None) -> None:
        first = seen.setdefault((what, key), path)
        if first is not path:
            value = "" if shown == "" else f" {shown or key!r}"
            raise InventoryError(
                f"{source}: {_where(inventory, path)}: {what}{value} is listed twice"
                f" (also {_where(inventory, first)})"
            )

    for i, country in enumerate(inventory.countries):
        path = (0, i)
        if country.id:
            once("country id", country.id, path)
        once("iso_code2", country.iso_code2.upper(), path, country.iso_code2)
    for i, data_center in enumerate(inventory.data_centers):
        path = (1, i)
        if data_center.id:
            once("data center id", data_center.id, path)
        once("data center permalink", data_center.permalink, path)
    for i, network in enumerate(inventory.networks):
        if network.id:
            once("network id", network.id, (2, i))
        once("network permalink", network.permalink, (2, i))
        for j, subnet in enumerate(network.subnets):
            if subnet.id:
                once("subnet id", subnet.id, (2, i, j))
            once("cidr", subnet.cidr, (2, i, j))
    for i, org in enumerate(inventory.organizations):
        _refuse_duplicates_in(org, i, once)


_Once = Callable[..., None]


def _refuse_duplicates_in(org: OrganizationEntry, i: int, once: _Once) -> None:
    path: tuple[int, ...] = (3, i)
    if org.id:
        once("organization id", org.id, path)
    once("sub_domain", org.sub_domain, path)
    for j, vm in enumerate(org.virtual_machines):
        path = (3, i, 0, j)
        if vm.id:
            once("virtual machine id", vm.id, path)
        once("virtual machine name", (i, vm.name), path, vm.name)
        once("fqdn", (i, vm.stored_fqdn), path, vm.fqdn)
        for k, nic in enumerate(vm.network_interfaces):
            path = (3, i, 0, j, k)
            if nic.id:
                once("network interface id", nic.id, path)
            name = interface_name(nic, k)
            once("interface name", (i, j, name), path, name)
            if nic.mac_address:
                once("mac_address", nic.mac_address, path)
    for j, ip in enumerate(org.ip_addresses):
        path = (3, i, 1, j)
        if ip.id:
            once("IP address id", ip.id, path)
        once("address", ip.address, path)
    for j, token in enumerate(org.api_tokens):
        path = (3, i, 2, j)
        once("token name", (i, token.name), path, token.name)
        # Never shown: the message names the two entries only.
        if token.secret:
            once("token secret", token.secret, path, "")


def _where(inventory: Inventory, path: tuple[int, ...]) -> str:
    """``organizations[0] (acme) > ip_addresses[3] (192.0.2.3)`` for a path of indexes."""
    section, *rest = path
    if section == 0:
        return f"countries[{rest[0]}] ({inventory.countries[rest[0]].iso_code2})"
    if section == 1:
        return f"data_centers[{rest[0]}] ({inventory.data_centers[rest[0]].permalink})"
    if section == 2:
        network = inventory.networks[rest[0]]
        where = f"networks[{rest[0]}] ({network.permalink})"
        if len(rest) == 1:
            return where
        return f"{where} > subnets[{rest[1]}] ({network.subnets[rest[1]].cidr})"
    org = inventory.organizations[rest[0]]
    where = f"organizations[{rest[0]}] ({org.sub_domain})"
    if len(rest) == 1:
        return where
    kind, index, *nic = rest[1:]
    if kind == 1:
        return f"{where} > ip_addresses[{index}] ({org.ip_addresses[index].address})"
    if kind == 2:
        return f"{where} > api_tokens[{index}] ({org.api_tokens[index].name})"
    vm = org.virtual_machines[index]
    where = f"{where} > virtual_machines[{index}] ({vm.name})"
    if not nic:
        return where
    name = interface_name(vm.network_interfaces[nic[0]], nic[0])
    return f"{where} > network_interfaces[{nic[0]}] ({name})"


def interface_name(entry: InterfaceEntry, index: int) -> str:
    """An interface's name: given, or ``eth<index>`` for its place on the VM."""
    return entry.name or f"eth{index}"


def _describe(document: Any, location: tuple[int | str, ...]) -> str:
    """``organizations[0] (acme) > ip_addresses[3] (192.0.2.300) > address``."""
    parts: list[str] = []
    node = document
    for key in location:
        if isinstance(key, int) and isinstance(node, list) and key < len(node):
            node = node[key]
            label = _label(node)
            parts[-1] = f"{parts[-1]}[{key}]" + (f" ({label})" if label else "")
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " > ".join(parts)


def _label(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    for key in ("name", "permalink", "sub_domain", "address", "cidr", "iso_code2"):
        if isinstance(entry.get(key), str):
            return str(entry[key])
    return None

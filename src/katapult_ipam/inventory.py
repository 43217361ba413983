"""The inventory file: what ``katapult-ipam load FILE`` accepts, validated as a whole."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Hashable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
    SYMBOL_MAX_LENGTH,
    TIME_ZONE_MAX_LENGTH,
    ZONE_MAX_LENGTH,
)
from katapult_ipam.tokens import check_scopes, check_token_name


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
# A host name is one DNS label, in any case (an FQDN's labels are lower-cased).
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# One spelling per permalink: no "UK-LON-01" next to "uk-lon-01".
_PERMALINK = re.compile(r"[a-z0-9-]+")
# Printable ASCII without spaces: eth0, ens3.100, bond0:1, vlan-7.
_INTERFACE_NAME = re.compile(r"[A-Za-z0-9._:-]+")


def _printable(value: str) -> str:
    """Refuse control and formatting characters (a bidi override such as U+202E would
    make a name read differently from what it is); the message shows them escaped."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")  # as _Entry says of every field
    if not value.isprintable():
        raise ValueError(f"contains a control or formatting character: {value!r}")
    return value


def _permalink(value: str) -> str:
    if not _PERMALINK.fullmatch(value):
        raise ValueError(f"a permalink is lower-case letters, digits and hyphens: {value!r}")
    return value


def _interface_name(value: str) -> str:
    if not _INTERFACE_NAME.fullmatch(value):
        raise ValueError(
            "an interface name is letters, digits and . _ : - (no spaces or other"
            f" characters): {value!r}"
        )
    return value


def _iso_code(value: str) -> str:
    if not (value.isascii() and value.isalpha()):
        raise ValueError(f"an ISO country code is ASCII letters only: {value!r}")
    return value.upper()


# An explicit id has the production shape, so references by id and by natural key
# (a sub-domain) cannot be confused.
Id = Annotated[str, Field(max_length=ID_MAX_LENGTH, pattern=f"^{ID_PATTERN.pattern}$")]
Name = Annotated[str, Field(max_length=NAME_MAX_LENGTH), AfterValidator(_printable)]
Permalink = Annotated[
    str, Field(min_length=1, max_length=PERMALINK_MAX_LENGTH), AfterValidator(_permalink)
]
Address = Annotated[str, Field(max_length=ADDRESS_MAX_LENGTH)]
InterfaceName = Annotated[
    str, Field(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(_interface_name)
]


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
    # Stored upper-cased: ASCII letters only, so that upper-casing keeps the length.
    iso_code2: Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_iso_code)]
    iso_code3: Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_iso_code)]
    time_zone: str | None = Field(default=None, max_length=TIME_ZONE_MAX_LENGTH)
    eu: bool = False


# The largest value an INTEGER column holds on PostgreSQL.
_INT_MAX = 2**31 - 1


class ZoneEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink


class CurrencyEntry(_Entry):
    id: Id | None = None
    name: Name
    iso_code: str = Field(pattern=r"^[A-Za-z]{3}$")
    symbol: str = Field(min_length=1, max_length=SYMBOL_MAX_LENGTH)


class SpeedProfileEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink


class PackageEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink
    cpu_cores: int = Field(ge=1, le=_INT_MAX)
    ipv4_addresses: int = Field(default=1, ge=0, le=_INT_MAX)
    memory_in_gb: int = Field(ge=1, le=_INT_MAX)
    storage_in_gb: int = Field(ge=1, le=_INT_MAX)
    monthly_bandwidth_allowance_in_gb: int | None = Field(default=None, ge=0, le=_INT_MAX)
    privacy: Literal["public", "private", "hidden"] = "public"
    use_dedicated_cpus: bool = False
    group: Name = "Standard"


class DataCenterEntry(_Entry):
    id: Id | None = None
    name: Name
    permalink: Permalink
    country: str  # id or iso_code2
    # Where its VMs run; none listed: one named for the data center ("<permalink>-zone").
    zones: list[ZoneEntry] = []


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
    name: InterfaceName | None = None
    network: str  # id or permalink
    mac_address: str | None = Field(default=None, max_length=MAC_ADDRESS_MAX_LENGTH)
    state: Literal["attached", "detached"] = "attached"
    speed_profile: str | None = None  # id or permalink; None: the default (1Gbps)

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
    name: Annotated[
        str, Field(min_length=1, max_length=NAME_MAX_LENGTH), AfterValidator(_printable)
    ]
    hostname: str | None = Field(default=None, max_length=HOSTNAME_MAX_LENGTH)
    fqdn: str = Field(min_length=1, max_length=FQDN_MAX_LENGTH)
    in_trash: bool = False
    # id or permalink; None: the first zone of its first interface's data center.
    zone: str | None = None
    package: str | None = None  # id or permalink
    state: Literal[
        "stopped", "failed", "started", "starting", "allocated", "allocating", "resetting",
        "migrating", "stopping", "shutting_down", "transferring", "orphaned",
    ] = "started"  # fmt: skip
    description: Annotated[str, Field(max_length=10_000), AfterValidator(_printable)] | None = None
    network_interfaces: list[InterfaceEntry] = []

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTNAME.fullmatch(value):
            raise ValueError(
                f"a hostname is one DNS label: 1 to 63 letters, digits and inner hyphens: {value!r}"
            )
        return value

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
    label: Annotated[str, Field(max_length=LABEL_MAX_LENGTH), AfterValidator(_printable)] | None = (
        None
    )
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
    name: str = Field(max_length=NAME_MAX_LENGTH)
    secret: str | None = Field(default=None, min_length=16)
    scopes: list[str] = []
    allowed_networks: list[str] = []
    expires_at: datetime | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_token_name(value)
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        # The same rule as every other way of making a token; none at all is a token
        # that is refused everything.
        check_scopes(value, at_least_one=False)
        return value

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
    managed: bool = False
    currency: str | None = None  # ISO code; None: the first listed, else GBP
    country: str | None = None  # id or iso_code2
    # None: "<sub_domain>.<INFRASTRUCTURE_DOMAIN>" (a setting).
    infrastructure_domain: str | None = Field(default=None, max_length=FQDN_MAX_LENGTH)
    virtual_machines: list[VirtualMachineEntry] = []
    ip_addresses: list[IPAddressEntry] = []
    api_tokens: list[APITokenEntry] = []

    @field_validator("infrastructure_domain")
    @classmethod
    def _infrastructure_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = normalise_fqdn(value)
        if len(name) > _DNS_NAME_MAX_LENGTH or not _DNS_NAME.fullmatch(name):
            raise ValueError(f"not a DNS name: {value!r}")
        return name

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
    currencies: list[CurrencyEntry] = []
    speed_profiles: list[SpeedProfileEntry] = []
    packages: list[PackageEntry] = []
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

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # YAML's own rule, which PyYAML does not enforce: a key once per mapping. Else the
        # last one wins silently ({address: 192.0.2.11, address: 192.0.2.12} is .12).
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], yaml.Node] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                    continue
                key = (key_node.tag, key_node.value)
                first = seen.setdefault(key, key_node)
                if first is not key_node:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {key_node.value!r} is given twice in one mapping"
                        f" (first on line {first.start_mark.line + 1})",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


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


class _List(Enum):
    """The lists of the file an entry's path (for ``_where``) goes through."""

    COUNTRIES = "countries"
    CURRENCIES = "currencies"
    SPEED_PROFILES = "speed_profiles"
    PACKAGES = "packages"
    DATA_CENTERS = "data_centers"
    ZONES = "zones"
    NETWORKS = "networks"
    SUBNETS = "subnets"
    ORGANIZATIONS = "organizations"
    VIRTUAL_MACHINES = "virtual_machines"
    NETWORK_INTERFACES = "network_interfaces"
    IP_ADDRESSES = "ip_addresses"
    API_TOKENS = "api_tokens"


# An entry as the lists and indexes leading to it: (ORGANIZATIONS, 0, IP_ADDRESSES, 3).
_Path = tuple[_List | int, ...]


def _refuse_duplicates(inventory: Inventory, source: str) -> None:
    """Every id and natural key once in the whole file, not only within one list.

    The database would refuse most of these, or (matching rows by key) quietly
    merge two entries into one; here both entries are named. Entries are kept as
    paths and described only for the message: files may hold a million addresses.
    """
    seen: dict[tuple[str, Hashable], _Path] = {}

    def once(what: str, key: Hashable, path: _Path, shown: str | None = None) -> None:
        first = seen.setdefault((what, key), path)
        if first != path:
            value = "" if shown == "" else f" {shown or key!r}"
            raise InventoryError(
                f"{source}: {_where(inventory, path)}: {what}{value} is listed twice"
                f" (also {_where(inventory, first)})"
            )

    for i, country in enumerate(inventory.countries):
        path: _Path = (_List.COUNTRIES, i)
        if country.id:
            once("country id", country.id, path)
        once("iso_code2", country.iso_code2.upper(), path, country.iso_code2)
    for i, currency in enumerate(inventory.currencies):
        path = (_List.CURRENCIES, i)
        if currency.id:
            once("currency id", currency.id, path)
        once("iso_code", currency.iso_code.upper(), path, currency.iso_code)
    for i, profile in enumerate(inventory.speed_profiles):
        path = (_List.SPEED_PROFILES, i)
        if profile.id:
            once("speed profile id", profile.id, path)
        once("speed profile permalink", profile.permalink, path)
    for i, package in enumerate(inventory.packages):
        path = (_List.PACKAGES, i)
        if package.id:
            once("package id", package.id, path)
        once("package permalink", package.permalink, path)
    for i, data_center in enumerate(inventory.data_centers):
        path = (_List.DATA_CENTERS, i)
        if data_center.id:
            once("data center id", data_center.id, path)
        once("data center permalink", data_center.permalink, path)
        for j, zone in enumerate(data_center.zones):
            path = (_List.DATA_CENTERS, i, _List.ZONES, j)
            if zone.id:
                once("zone id", zone.id, path)
            once("zone permalink", zone.permalink, path)
    for i, network in enumerate(inventory.networks):
        path = (_List.NETWORKS, i)
        if network.id:
            once("network id", network.id, path)
        once("network permalink", network.permalink, path)
        for j, subnet in enumerate(network.subnets):
            path = (_List.NETWORKS, i, _List.SUBNETS, j)
            if subnet.id:
                once("subnet id", subnet.id, path)
            once("cidr", subnet.cidr, path)
    for i, org in enumerate(inventory.organizations):
        _refuse_duplicates_in(org, i, once)


_Once = Callable[..., None]


def _refuse_duplicates_in(org: OrganizationEntry, i: int, once: _Once) -> None:
    at: _Path = (_List.ORGANIZATIONS, i)
    if org.id:
        once("organization id", org.id, at)
    once("sub_domain", org.sub_domain, at)
    for j, vm in enumerate(org.virtual_machines):
        path = (*at, _List.VIRTUAL_MACHINES, j)
        if vm.id:
            once("virtual machine id", vm.id, path)
        once("virtual machine name", (i, vm.name), path, vm.name)
        once("fqdn", (i, vm.stored_fqdn), path, vm.fqdn)
        for k, nic in enumerate(vm.network_interfaces):
            path = (*at, _List.VIRTUAL_MACHINES, j, _List.NETWORK_INTERFACES, k)
            if nic.id:
                once("network interface id", nic.id, path)
            name = interface_name(nic, k)
            once("interface name", (i, j, name), path, name)
            if nic.mac_address:
                once("mac_address", nic.mac_address, path)
    for j, ip in enumerate(org.ip_addresses):
        path = (*at, _List.IP_ADDRESSES, j)
        if ip.id:
            once("IP address id", ip.id, path)
        once("address", ip.address, path)
    for j, token in enumerate(org.api_tokens):
        path = (*at, _List.API_TOKENS, j)
        once("token name", (i, token.name), path, token.name)
        # Never shown: the message names the two entries only.
        if token.secret:
            once("token secret", token.secret, path, "")


def _where(inventory: Inventory, path: _Path) -> str:
    """``organizations[0] (acme) > ip_addresses[3] (192.0.2.3)`` for an entry's path."""
    parts: list[str] = []
    node: Any = inventory
    for list_, index in zip(path[::2], path[1::2], strict=True):
        assert isinstance(list_, _List)
        assert isinstance(index, int)
        node = getattr(node, list_.value)[index]
        parts.append(f"{list_.value}[{index}] ({_entry_label(node, index)})")
    return " > ".join(parts)


def _entry_label(entry: Any, index: int) -> str:
    if isinstance(entry, InterfaceEntry):
        return interface_name(entry, index)
    for field in ("iso_code2", "permalink", "cidr", "sub_domain", "address", "name"):
        if hasattr(entry, field):
            return str(getattr(entry, field))
    raise AssertionError(f"no label for {type(entry).__name__}")


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
        value = entry.get(key)
        if isinstance(value, str):
            # Not yet validated: a control character or a bidi override shown escaped.
            return value if value.isprintable() else repr(value)[1:-1]
    return None

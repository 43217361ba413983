"""The inventory file: what ``katapult-ipam load FILE`` accepts, validated as a whole."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from katapult_ipam.limits import (
    ADDRESS_MAX_LENGTH,
    FQDN_MAX_LENGTH,
    HOSTNAME_MAX_LENGTH,
    ID_MAX_LENGTH,
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
Id = Annotated[str, Field(max_length=ID_MAX_LENGTH)]
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
        return value


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


class Inventory(_Entry):
    countries: list[CountryEntry] = []
    data_centers: list[DataCenterEntry] = []
    networks: list[NetworkEntry] = []
    organizations: list[OrganizationEntry] = []


def _unscoped(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Refuse an IPv6 zone ("fe80::1%eth0"): it names a link on one host, not an address."""
    if getattr(address, "scope_id", None) is not None:
        raise ValueError(f"an address with a zone (%) is not accepted: {address}")


def read_inventory(path: Path) -> Inventory:
    """Parse and validate a YAML inventory, naming the first bad entry on failure."""
    try:
        # libyaml's parser, when PyYAML has it, is several times faster on big files.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except (OSError, yaml.YAMLError) as error:
        raise InventoryError(f"{path}: cannot read: {error}") from error
    return parse_inventory(document or {}, source=str(path))


def parse_inventory(document: Any, source: str = "inventory") -> Inventory:
    if not isinstance(document, dict):
        raise InventoryError(f"{source}: the top level must be a mapping")
    try:
        return Inventory.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        raise InventoryError(
            f"{source}: {_describe(document, first['loc'])}: {first['msg']}"
        ) from error


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

"""The inventory file: what ``katapult-ipam load FILE`` accepts, validated as a whole."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class InventoryError(ValueError):
    """The file is not a valid inventory; nothing was loaded."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountryEntry(_Entry):
    id: str | None = None
    name: str
    iso_code2: str = Field(min_length=2, max_length=2)
    iso_code3: str = Field(min_length=3, max_length=3)
    time_zone: str | None = None
    eu: bool = False


class DataCenterEntry(_Entry):
    id: str | None = None
    name: str
    permalink: str = Field(min_length=1)
    country: str  # id or iso_code2


class SubnetEntry(_Entry):
    id: str | None = None
    cidr: str
    gateway: str | None = None
    billable: bool = True

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            return ipaddress.ip_network(value, strict=True).compressed
        except ValueError as error:
            raise ValueError(f"not a network address with a prefix: {value}") from error

    @model_validator(mode="after")
    def _gateway_inside(self) -> SubnetEntry:
        if self.gateway is not None:
            try:
                gateway = ipaddress.ip_address(self.gateway)
            except ValueError as error:
                raise ValueError(f"gateway is not an IP address: {self.gateway}") from error
            if gateway not in ipaddress.ip_network(self.cidr):
                raise ValueError(f"gateway {self.gateway} is outside {self.cidr}")
        return self


class NetworkEntry(_Entry):
    id: str | None = None
    name: str
    permalink: str = Field(min_length=1)
    data_center: str  # id or permalink
    default: bool = False
    subnets: list[SubnetEntry] = []


class InterfaceEntry(_Entry):
    id: str | None = None
    name: str | None = None
    network: str  # id or permalink
    mac_address: str | None = None


class VirtualMachineEntry(_Entry):
    id: str | None = None
    name: str = Field(min_length=1)
    hostname: str | None = None
    fqdn: str = Field(min_length=1, max_length=255)
    in_trash: bool = False
    network_interfaces: list[InterfaceEntry] = []


class IPAddressEntry(_Entry):
    id: str | None = None
    address: str
    vip: bool = False
    label: str | None = None
    allocated_to: str | None = None  # VM id or name in the same organization

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return ipaddress.ip_address(value.strip()).compressed
        except ValueError as error:
            raise ValueError(f"not an IP address: {value}") from error


class APITokenEntry(_Entry):
    name: str = Field(min_length=1)
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
    id: str | None = None
    name: str
    sub_domain: str = Field(min_length=1)
    virtual_machines: list[VirtualMachineEntry] = []
    ip_addresses: list[IPAddressEntry] = []
    api_tokens: list[APITokenEntry] = []


class Inventory(_Entry):
    countries: list[CountryEntry] = []
    data_centers: list[DataCenterEntry] = []
    networks: list[NetworkEntry] = []
    organizations: list[OrganizationEntry] = []


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

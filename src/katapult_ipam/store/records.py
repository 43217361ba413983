"""What the queries return: frozen values, one per kind of row, with what rendering needs.

They are named ``*Record`` to keep them apart from the tables in ``models`` and
from the domain's own values in ``domain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from katapult_ipam.domain import allocation
from katapult_ipam.domain.addresses import IPNetwork


@dataclass(frozen=True)
class CountryRecord:
    id: str
    name: str
    iso_code2: str
    iso_code3: str
    time_zone: str | None
    eu: bool


@dataclass(frozen=True)
class DataCenterRecord:
    id: str
    name: str
    permalink: str
    country: CountryRecord


@dataclass(frozen=True)
class NetworkRecord:
    id: str
    name: str
    permalink: str
    default: bool
    data_center: DataCenterRecord


@dataclass(frozen=True)
class SubnetRecord:
    id: str
    address: str
    gateway: str | None
    mask: int
    billable: bool
    version: int
    rdns_zone: str | None  # None: the service's RDNS_ZONE


@dataclass(frozen=True)
class AllocatedTo:
    """What holds an allocated address, as the ``allocation`` polymorph names it."""

    type: str  # "VirtualMachine"
    id: str
    name: str
    fqdn: str


@dataclass(frozen=True)
class IPAddressRecord:
    """An IP address with everything needed to decide on it and to render it."""

    id: str
    address: str
    vip: bool
    label: str | None
    allocated_to: AllocatedTo | None  # the schema's foreign keys guarantee it exists
    network: NetworkRecord
    subnet: SubnetRecord
    organization_id: str = ""
    custom_reverse_dns: str | None = None  # set through the API; None: derived
    network_interface_id: str | None = None  # the interface of its allocation

    @property
    def reverse_dns_name(self) -> str | None:
        """The name it answers to unless it is the default: its own, else its VM's FQDN."""
        return self.custom_reverse_dns or self.allocated_fqdn

    @property
    def allocation_type(self) -> str | None:
        return self.allocated_to.type if self.allocated_to else None

    @property
    def allocation_id(self) -> str | None:
        return self.allocated_to.id if self.allocated_to else None

    @property
    def allocated_fqdn(self) -> str | None:
        return self.allocated_to.fqdn if self.allocated_to else None

    def as_domain(self) -> allocation.IPAddress:
        return allocation.IPAddress(
            id=self.id,
            network_id=self.network.id,
            allocation_type=self.allocation_type,
            allocation_id=self.allocation_id,
            network_interface_id=self.network_interface_id,
        )


@dataclass(frozen=True)
class IPAddressListed:
    """An address as an organization's list renders it."""

    id: str
    address: str
    reverse_dns: str
    vip: bool
    allocation_id: str | None
    allocation_type: str | None


@dataclass(frozen=True)
class InterfaceAddressRecord:
    """An address as a network interface lists it."""

    id: str
    address: str
    reverse_dns: str
    address_with_mask: str


@dataclass(frozen=True)
class NetworkInterfaceRecord:
    id: str
    name: str
    virtual_machine_id: str
    virtual_machine_name: str
    network_id: str
    network_name: str
    mac_address: str
    state: str
    ip_addresses: tuple[InterfaceAddressRecord, ...]
    speed_profile: SpeedProfileRecord


@dataclass(frozen=True)
class SpeedProfileRecord:
    id: str
    name: str
    permalink: str


@dataclass(frozen=True)
class TrashObjectRecord:
    id: str
    keep_until: datetime
    object_id: str
    object_type: str


@dataclass(frozen=True)
class TokenRecord:
    id: str
    organization_id: str
    secret_hash: str
    scopes: frozenset[str]
    allowed_networks: tuple[IPNetwork, ...]  # parsed once, checked on every request
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class OrganizationRecord:
    id: str
    name: str
    sub_domain: str
    suspended: bool
    activated: bool


@dataclass(frozen=True)
class ZoneRecord:
    id: str
    name: str
    permalink: str
    data_center: DataCenterRecord


@dataclass(frozen=True)
class CurrencyRecord:
    id: str
    name: str
    iso_code: str
    symbol: str


@dataclass(frozen=True)
class OrganizationDetails:
    """An organization with everything its full object renders."""

    id: str
    uuid: str
    name: str
    sub_domain: str
    infrastructure_domain: str | None  # None: derived from the sub-domain
    created_at: datetime
    activated_at: datetime | None
    suspended: bool
    managed: bool
    currency: CurrencyRecord
    country: CountryRecord | None


@dataclass(frozen=True)
class PackageRecord:
    id: str
    name: str
    permalink: str
    cpu_cores: int
    ipv4_addresses: int
    memory_in_gb: int
    storage_in_gb: int
    monthly_bandwidth_allowance_in_gb: int | None
    privacy: str
    use_dedicated_cpus: bool
    group_id: str
    group_name: str


@dataclass(frozen=True)
class VirtualMachineRecord:
    """A VM with everything ``GET /virtual_machines/:virtual_machine`` renders."""

    id: str
    name: str
    hostname: str
    fqdn: str
    description: str | None
    created_at: datetime
    state: str
    zone: ZoneRecord
    organization: OrganizationDetails
    package: PackageRecord | None
    ip_addresses: tuple[IPAddressRecord, ...]
    trash: TrashObjectRecord | None


@dataclass(frozen=True)
class VirtualMachineListed:
    """A VM as an organization's list renders it."""

    id: str
    name: str
    hostname: str
    fqdn: str
    created_at: datetime
    zone: ZoneRecord
    package_name: str | None
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class TaskRecord:
    id: str
    name: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: int

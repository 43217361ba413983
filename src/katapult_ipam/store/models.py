"""The schema. Invariants that must hold under concurrency are database constraints."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from katapult_ipam.limits import (
    ACTOR_ID_MAX_LENGTH,
    ADDRESS_MAX_LENGTH,
    FQDN_MAX_LENGTH,
    HOSTNAME_MAX_LENGTH,
    ID_MAX_LENGTH,
    LABEL_MAX_LENGTH,
    MAC_ADDRESS_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PERMALINK_MAX_LENGTH,
    REQUEST_ID_MAX_LENGTH,
    SUB_DOMAIN_MAX_LENGTH,
    SYMBOL_MAX_LENGTH,
    TIME_ZONE_MAX_LENGTH,
    ZONE_MAX_LENGTH,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(ID_MAX_LENGTH)
NAME = String(NAME_MAX_LENGTH)
ADDRESS = String(ADDRESS_MAX_LENGTH)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Country(Base):
    __tablename__ = "countries"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    iso_code2: Mapped[str] = mapped_column(String(2), unique=True)
    iso_code3: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str | None] = mapped_column(String(TIME_ZONE_MAX_LENGTH))
    eu: Mapped[bool] = mapped_column(Boolean, default=False)


class DataCenter(Base):
    __tablename__ = "data_centers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    permalink: Mapped[str] = mapped_column(String(PERMALINK_MAX_LENGTH), unique=True)
    country_id: Mapped[str] = mapped_column(ID, ForeignKey("countries.id"))


class Zone(Base):
    """Where in a data center a VM runs (production: ``LON-1`` / ``lon-zone-1``)."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    permalink: Mapped[str] = mapped_column(String(PERMALINK_MAX_LENGTH), unique=True)
    data_center_id: Mapped[str] = mapped_column(ID, ForeignKey("data_centers.id"), index=True)


class Currency(Base):
    __tablename__ = "currencies"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    iso_code: Mapped[str] = mapped_column(String(3), unique=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL_MAX_LENGTH))


class SpeedProfile(Base):
    """A network interface's speed profile (production: ``10Gbps`` / ``10gbps``)."""

    __tablename__ = "network_speed_profiles"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    permalink: Mapped[str] = mapped_column(String(PERMALINK_MAX_LENGTH), unique=True)


class Package(Base):
    """A VM package (production: ``ROCK-1``); its group is kept on the package."""

    __tablename__ = "virtual_machine_packages"
    __table_args__ = (
        CheckConstraint("privacy IN ('public', 'private', 'hidden')", name="privacy"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    permalink: Mapped[str] = mapped_column(String(PERMALINK_MAX_LENGTH), unique=True)
    cpu_cores: Mapped[int] = mapped_column(Integer)
    ipv4_addresses: Mapped[int] = mapped_column(Integer)
    memory_in_gb: Mapped[int] = mapped_column(Integer)
    storage_in_gb: Mapped[int] = mapped_column(Integer)
    monthly_bandwidth_allowance_in_gb: Mapped[int | None] = mapped_column(Integer)
    privacy: Mapped[str] = mapped_column(String(16), default="public")
    use_dedicated_cpus: Mapped[bool] = mapped_column(Boolean, default=False)
    group_id: Mapped[str] = mapped_column(ID)
    group_name: Mapped[str] = mapped_column(NAME)


class Network(Base):
    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    permalink: Mapped[str] = mapped_column(String(PERMALINK_MAX_LENGTH), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    data_center_id: Mapped[str] = mapped_column(ID, ForeignKey("data_centers.id"), index=True)


class Subnet(Base):
    __tablename__ = "subnets"
    __table_args__ = (
        CheckConstraint("version IN (4, 6)", name="version"),
        # The target of ip_addresses' (subnet_id, network_id) foreign key.
        UniqueConstraint("id", "network_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    network_id: Mapped[str] = mapped_column(ID, ForeignKey("networks.id"), index=True)
    cidr: Mapped[str] = mapped_column(ADDRESS, unique=True)
    address: Mapped[str] = mapped_column(ADDRESS)
    mask: Mapped[int] = mapped_column(Integer)
    gateway: Mapped[str | None] = mapped_column(ADDRESS)
    version: Mapped[int] = mapped_column(Integer)
    # The zone of its free addresses' default reverse DNS names; None: the setting.
    rdns_zone: Mapped[str | None] = mapped_column(String(ZONE_MAX_LENGTH))
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    # IPv6: the host number of the next address never handed out (rows appear when
    # first handed out; an IPv4 subnet has a row per address from the start).
    next_host: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


# One DNS label: 1 to 63 lower-case letters, digits and inner hyphens (so never "_",
# and never shaped like an id). trim(text, characters) is SQLite's and PostgreSQL's alike.
SUB_DOMAIN_IS_A_DNS_LABEL = (
    "length(sub_domain) BETWEEN 1 AND 63"
    " AND trim(sub_domain, 'abcdefghijklmnopqrstuvwxyz0123456789-') = ''"
    " AND sub_domain NOT LIKE '-%' AND sub_domain NOT LIKE '%-'"
)


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(SUB_DOMAIN_IS_A_DNS_LABEL, name="sub_domain_dns_label"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    sub_domain: Mapped[str] = mapped_column(String(SUB_DOMAIN_MAX_LENGTH), unique=True)
    # An organization that is suspended or not yet activated cannot be acted for.
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    activated: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Capabilities tokens for it issued before this time are refused; None: none are.
    tokens_not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    # None: "<sub_domain>.<INFRASTRUCTURE_DOMAIN>".
    infrastructure_domain: Mapped[str | None] = mapped_column(String(FQDN_MAX_LENGTH))
    managed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    currency_id: Mapped[str] = mapped_column(ID, ForeignKey("currencies.id"))
    country_id: Mapped[str | None] = mapped_column(ID, ForeignKey("countries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrashObject(Base):
    __tablename__ = "trash_objects"
    __table_args__ = (UniqueConstraint("object_type", "object_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ID, ForeignKey("organizations.id"), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(ID)
    keep_until: Mapped[datetime] = mapped_column(UTCDateTime)


class VirtualMachine(Base):
    __tablename__ = "virtual_machines"
    __table_args__ = (
        UniqueConstraint("organization_id", "fqdn"),
        UniqueConstraint("organization_id", "name"),
        # The target of ip_addresses' (allocation_id, organization_id) foreign key.
        UniqueConstraint("id", "organization_id"),
        # Lookups by FQDN lower-case the argument; every writer must store it so.
        CheckConstraint("fqdn = lower(fqdn)", name="fqdn_lower_case"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ID, ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(NAME)
    hostname: Mapped[str] = mapped_column(String(HOSTNAME_MAX_LENGTH))
    fqdn: Mapped[str] = mapped_column(String(FQDN_MAX_LENGTH))
    trash_object_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("trash_objects.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    zone_id: Mapped[str] = mapped_column(ID, ForeignKey("zones.id"))
    package_id: Mapped[str | None] = mapped_column(ID, ForeignKey("virtual_machine_packages.id"))
    state: Mapped[str] = mapped_column(String(32), default="started", server_default="started")
    description: Mapped[str | None] = mapped_column(Text)


class NetworkInterface(Base):
    __tablename__ = "network_interfaces"
    __table_args__ = (
        # The targets of ip_addresses' foreign keys through an interface.
        UniqueConstraint("virtual_machine_id", "id"),
        UniqueConstraint("id", "network_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    virtual_machine_id: Mapped[str] = mapped_column(
        ID, ForeignKey("virtual_machines.id", ondelete="CASCADE"), index=True
    )
    network_id: Mapped[str] = mapped_column(ID, ForeignKey("networks.id"))
    name: Mapped[str] = mapped_column(NAME)
    mac_address: Mapped[str] = mapped_column(String(MAC_ADDRESS_MAX_LENGTH), unique=True)
    state: Mapped[str] = mapped_column(String(32), default="attached")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    speed_profile_id: Mapped[str] = mapped_column(ID, ForeignKey("network_speed_profiles.id"))


class IPAddress(Base):
    """One address, for life: the table is the pool.

    ``organization_id`` NULL: free in its network's pool (an IPv4 subnet has such a
    row for every address it hands out; an IPv6 one gets them as they are handed
    out). Creating takes a free row for an organization; releasing gives it back,
    its vip, label and reverse DNS reset, and it keeps its id.

    An allocation lives in the address's own row, so it can hold at most one. The
    database ties an allocation together: it is made through an interface of the
    very VM it names, on the address's own network, to a VM of the address's
    organization; and the address's subnet is on the address's network. A foreign
    key with a NULL column is not checked, so free addresses pass. None of them
    cascades: a VM or an interface holding addresses cannot be deleted or moved.
    """

    __tablename__ = "ip_addresses"
    __table_args__ = (
        CheckConstraint(
            "(allocation_type IS NULL AND allocation_id IS NULL"
            " AND network_interface_id IS NULL)"
            " OR (allocation_type = 'VirtualMachine' AND allocation_id IS NOT NULL"
            " AND network_interface_id IS NOT NULL)",
            name="allocation_complete",
        ),
        CheckConstraint("version IN (4, 6)", name="version"),
        # Only an organization's address can be allocated (the foreign key to the VM
        # is not checked while organization_id is NULL).
        CheckConstraint(
            "allocation_id IS NULL OR organization_id IS NOT NULL", name="allocation_owned"
        ),
        # A free address is as new: no VIP, label or reverse DNS name of its own.
        CheckConstraint(
            "organization_id IS NOT NULL"
            " OR (vip = false AND label IS NULL AND reverse_dns IS NULL AND taken_at IS NULL)",
            name="free_is_clean",
        ),
        # Only a VIP has a label, and a VIP always has one (``Label can't be blank``).
        CheckConstraint(
            "(vip = true AND label IS NOT NULL AND label <> '') OR (vip = false AND label IS NULL)",
            name="label_only_for_vip",
        ),
        ForeignKeyConstraint(
            ["allocation_id", "network_interface_id"],
            ["network_interfaces.virtual_machine_id", "network_interfaces.id"],
        ),
        ForeignKeyConstraint(
            ["network_interface_id", "network_id"],
            ["network_interfaces.id", "network_interfaces.network_id"],
        ),
        ForeignKeyConstraint(
            ["allocation_id", "organization_id"],
            ["virtual_machines.id", "virtual_machines.organization_id"],
        ),
        ForeignKeyConstraint(["subnet_id", "network_id"], ["subnets.id", "subnets.network_id"]),
        Index("ix_ip_addresses_allocation_id", "allocation_id"),
        # An organization's addresses in the order it took them (the list's order).
        Index("ix_ip_addresses_organization_id_taken_at", "organization_id", "taken_at", "id"),
        # The free addresses of a network: what creating takes one from, without a scan.
        Index(
            "ix_ip_addresses_free",
            "network_id",
            "version",
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(ID, ForeignKey("organizations.id"))
    network_id: Mapped[str] = mapped_column(ID, ForeignKey("networks.id"))
    subnet_id: Mapped[str] = mapped_column(ID, index=True)
    # Canonical (compressed) text form; unique across the whole service.
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    version: Mapped[int] = mapped_column(Integer)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str | None] = mapped_column(String(LABEL_MAX_LENGTH))
    # A reverse DNS name set through the API; NULL: the VM's FQDN or the default name.
    reverse_dns: Mapped[str | None] = mapped_column(String(FQDN_MAX_LENGTH))
    allocation_type: Mapped[str | None] = mapped_column(String(64))
    allocation_id: Mapped[str | None] = mapped_column(ID)
    network_interface_id: Mapped[str | None] = mapped_column(ID, index=True)
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its organization took it (created it, or a load listed it); NULL while free.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Task(Base):
    """A background task as the API reports it (purging the trash finishes at once)."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'completed', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ID, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class APIToken(Base):
    """An opaque bearer token; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ID, ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(NAME)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text, default="")  # space separated
    allowed_networks: Mapped[str] = mapped_column(Text, default="")  # space separated CIDRs
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AllocationEvent(Base):
    """Audit log: who changed which address, when, through which operation, written in
    the transaction of the change.

    ``action`` is ``create`` (an organization took a free address), ``allocate``,
    ``unallocate`` or ``release`` (the address went back to the pool). The VM and
    interface are those of the allocation for allocate and unallocate, else NULL.
    """

    __tablename__ = "allocation_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[str] = mapped_column(ID, index=True)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(ACTOR_ID_MAX_LENGTH))
    ip_address_id: Mapped[str] = mapped_column(ID, index=True)
    address: Mapped[str] = mapped_column(ADDRESS)
    virtual_machine_id: Mapped[str | None] = mapped_column(ID)
    network_interface_id: Mapped[str | None] = mapped_column(ID)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX_LENGTH))
    # The API operation (``delete:ip_address``), or ``load`` / a CLI command.
    operation: Mapped[str | None] = mapped_column(String(64))


class ServiceFlag(Base):
    """Switches every worker reads, such as maintenance mode."""

    __tablename__ = "service_flags"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

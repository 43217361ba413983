"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocation_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("actor_type", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=255), nullable=False),
        sa.Column("ip_address_id", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("virtual_machine_id", sa.String(length=32), nullable=False),
        sa.Column("network_interface_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_events")),
    )
    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocation_events_ip_address_id"), ["ip_address_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_allocation_events_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "countries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("iso_code2", sa.String(length=2), nullable=False),
        sa.Column("iso_code3", sa.String(length=3), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("eu", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_countries")),
        sa.UniqueConstraint("iso_code2", name=op.f("uq_countries_iso_code2")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sub_domain", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("sub_domain", name=op.f("uq_organizations_sub_domain")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("allowed_networks", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_tokens_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_tokens_secret_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "data_centers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("permalink", sa.String(length=255), nullable=False),
        sa.Column("country_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["country_id"], ["countries.id"], name=op.f("fk_data_centers_country_id_countries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_centers")),
        sa.UniqueConstraint("permalink", name=op.f("uq_data_centers_permalink")),
    )
    op.create_table(
        "trash_objects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("keep_until", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_trash_objects_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trash_objects")),
        sa.UniqueConstraint(
            "object_type", "object_id", name=op.f("uq_trash_objects_object_type_object_id")
        ),
    )
    with op.batch_alter_table("trash_objects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trash_objects_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "networks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("permalink", sa.String(length=255), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("data_center_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_center_id"],
            ["data_centers.id"],
            name=op.f("fk_networks_data_center_id_data_centers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("permalink", name=op.f("uq_networks_permalink")),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_networks_data_center_id"), ["data_center_id"], unique=False
        )

    op.create_table(
        "virtual_machines",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("fqdn", sa.String(length=255), nullable=False),
        sa.Column("trash_object_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_virtual_machines_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["trash_object_id"],
            ["trash_objects.id"],
            name=op.f("fk_virtual_machines_trash_object_id_trash_objects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_machines")),
        sa.UniqueConstraint(
            "organization_id", "fqdn", name=op.f("uq_virtual_machines_organization_id_fqdn")
        ),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_virtual_machines_organization_id_name")
        ),
    )
    op.create_table(
        "network_interfaces",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("virtual_machine_id", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mac_address", sa.String(length=17), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_network_interfaces_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["virtual_machine_id"],
            ["virtual_machines.id"],
            name=op.f("fk_network_interfaces_virtual_machine_id_virtual_machines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_interfaces")),
        sa.UniqueConstraint("mac_address", name=op.f("uq_network_interfaces_mac_address")),
    )
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_interfaces_virtual_machine_id"),
            ["virtual_machine_id"],
            unique=False,
        )

    op.create_table(
        "subnets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=32), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("mask", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.CheckConstraint("version IN (4, 6)", name=op.f("ck_subnets_version")),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_subnets_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnets")),
        sa.UniqueConstraint("cidr", name=op.f("uq_subnets_cidr")),
    )
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subnets_network_id"), ["network_id"], unique=False)

    op.create_table(
        "ip_addresses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("network_id", sa.String(length=32), nullable=False),
        sa.Column("subnet_id", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=True),
        sa.Column("allocation_type", sa.String(length=64), nullable=True),
        sa.Column("allocation_id", sa.String(length=32), nullable=True),
        sa.Column("network_interface_id", sa.String(length=32), nullable=True),
        sa.Column("allocated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(allocation_type IS NULL AND allocation_id IS NULL AND network_interface_id IS NULL) OR (allocation_type = 'VirtualMachine' AND allocation_id IS NOT NULL AND network_interface_id IS NOT NULL)",
            name=op.f("ck_ip_addresses_allocation_complete"),
        ),
        sa.CheckConstraint("version IN (4, 6)", name=op.f("ck_ip_addresses_version")),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_ip_addresses_network_id_networks")
        ),
        sa.ForeignKeyConstraint(
            ["network_interface_id"],
            ["network_interfaces.id"],
            name=op.f("fk_ip_addresses_network_interface_id_network_interfaces"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ip_addresses_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"], ["subnets.id"], name=op.f("fk_ip_addresses_subnet_id_subnets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_ip_addresses_address")),
    )
    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_ip_addresses_allocation_id", ["allocation_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ip_addresses_network_interface_id"),
            ["network_interface_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_ip_addresses_subnet_id"), ["subnet_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ip_addresses_subnet_id"))
        batch_op.drop_index(batch_op.f("ix_ip_addresses_network_interface_id"))
        batch_op.drop_index("ix_ip_addresses_allocation_id")

    op.drop_table("ip_addresses")
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subnets_network_id"))

    op.drop_table("subnets")
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_interfaces_virtual_machine_id"))

    op.drop_table("network_interfaces")
    op.drop_table("virtual_machines")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_data_center_id"))

    op.drop_table("networks")
    with op.batch_alter_table("trash_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trash_objects_organization_id"))

    op.drop_table("trash_objects")
    op.drop_table("data_centers")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_organization_id"))

    op.drop_table("api_tokens")
    op.drop_table("organizations")
    op.drop_table("countries")
    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_events_organization_id"))
        batch_op.drop_index(batch_op.f("ix_allocation_events_ip_address_id"))

    op.drop_table("allocation_events")

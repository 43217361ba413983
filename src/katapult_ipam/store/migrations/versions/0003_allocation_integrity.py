"""allocations tied to their VM, interface and network; request ids of 128 characters

An allocated address must be allocated through an interface of the VM it names,
on its own network, to a VM of its own organization; its subnet must be on its
network; FQDNs are stored lower-case. The composite foreign keys replace the
single-column ones on network_interface_id and subnet_id (same names: those are
implied). The audit log's request_id widens to the 128 characters the API accepts.

Upgrading fails, changing nothing, if stored rows break one of these rules.
On SQLite every changed table is rebuilt (batch mode), which needs foreign key
enforcement off while it runs: ``store.migrate`` does that and checks every
foreign key before it commits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("virtual_machines", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_virtual_machines_id_organization_id"), ["id", "organization_id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_virtual_machines_fqdn_lower_case"), "fqdn = lower(fqdn)"
        )

    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_network_interfaces_virtual_machine_id_id"), ["virtual_machine_id", "id"]
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_network_interfaces_id_network_id"), ["id", "network_id"]
        )

    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_subnets_id_network_id"), ["id", "network_id"]
        )

    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_network_interface_id_network_interfaces"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_subnet_id_subnets"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_allocation_id_network_interfaces"),
            "network_interfaces",
            ["allocation_id", "network_interface_id"],
            ["virtual_machine_id", "id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_network_interface_id_network_interfaces"),
            "network_interfaces",
            ["network_interface_id", "network_id"],
            ["id", "network_id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_allocation_id_virtual_machines"),
            "virtual_machines",
            ["allocation_id", "organization_id"],
            ["id", "organization_id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_subnet_id_subnets"),
            "subnets",
            ["subnet_id", "network_id"],
            ["id", "network_id"],
        )

    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.alter_column(
            "request_id",
            existing_type=sa.String(length=64),
            type_=sa.String(length=128),
            existing_nullable=True,
        )


def downgrade() -> None:
    # Fails on PostgreSQL once a request id longer than 64 characters is stored.
    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.alter_column(
            "request_id",
            existing_type=sa.String(length=128),
            type_=sa.String(length=64),
            existing_nullable=True,
        )

    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_subnet_id_subnets"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_allocation_id_virtual_machines"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_network_interface_id_network_interfaces"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(
            batch_op.f("fk_ip_addresses_allocation_id_network_interfaces"), type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_subnet_id_subnets"), "subnets", ["subnet_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ip_addresses_network_interface_id_network_interfaces"),
            "network_interfaces",
            ["network_interface_id"],
            ["id"],
        )

    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_subnets_id_network_id"), type_="unique")

    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_network_interfaces_id_network_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("uq_network_interfaces_virtual_machine_id_id"), type_="unique"
        )

    with op.batch_alter_table("virtual_machines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_virtual_machines_fqdn_lower_case"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_virtual_machines_id_organization_id"), type_="unique"
        )

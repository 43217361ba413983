"""the address table becomes the pool; the IP address lifecycle

* ``ip_addresses.organization_id`` may be NULL: a free address of its network's
  pool. Every IPv4 subnet gets a row for each address it may hand out (not the
  network, broadcast or gateway address); IPv6 subnets number theirs from
  ``subnets.next_host`` and rows appear when first handed out.
* ``ip_addresses.reverse_dns`` (a name set through the API) and ``taken_at``
  (when its organization took it; the list's order). Existing addresses were
  taken when they were created.
* Constraints: only an organization's address is allocated; a free one has no
  VIP, label or reverse DNS name; only a VIP has a label and a VIP has one
  (existing non-VIP labels are dropped, as the loader never wrote one).
* ``ix_ip_addresses_free`` finds a free address of a network without a scan;
  ``ix_ip_addresses_organization_id_taken_at`` lists an organization's in order.
* ``allocation_events``: ``operation`` (which API operation or command), and the
  VM and interface may be NULL (creating and releasing involve none).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from katapult_ipam.domain.pool import pool_addresses
from katapult_ipam.ids import new_id

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_CHUNK = 1000


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE ip_addresses SET label = NULL WHERE vip = false"))
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_host", sa.BigInteger(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.alter_column("organization_id", existing_type=sa.String(32), nullable=True)
        batch_op.add_column(sa.Column("reverse_dns", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
    bind.execute(sa.text("UPDATE ip_addresses SET taken_at = created_at"))
    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_ip_addresses_allocation_owned"),
            "allocation_id IS NULL OR organization_id IS NOT NULL",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_ip_addresses_free_is_clean"),
            "organization_id IS NOT NULL"
            " OR (vip = false AND label IS NULL AND reverse_dns IS NULL AND taken_at IS NULL)",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_ip_addresses_label_only_for_vip"),
            "(vip = true AND label IS NOT NULL AND label <> '') OR (vip = false AND label IS NULL)",
        )
        batch_op.create_index(
            "ix_ip_addresses_organization_id_taken_at",
            ["organization_id", "taken_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ip_addresses_free",
            ["network_id", "version"],
            unique=False,
            sqlite_where=sa.text("organization_id IS NULL"),
            postgresql_where=sa.text("organization_id IS NULL"),
        )
    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operation", sa.String(length=64), nullable=True))
        batch_op.alter_column("virtual_machine_id", existing_type=sa.String(32), nullable=True)
        batch_op.alter_column("network_interface_id", existing_type=sa.String(32), nullable=True)
    _fill_ipv4_pools(bind)


def _fill_ipv4_pools(bind: sa.Connection) -> None:
    """A free row for every address of every IPv4 subnet that has none yet."""
    now = datetime.now(UTC)
    ips = sa.table(
        "ip_addresses",
        *(sa.column(name) for name in
          ("id", "network_id", "subnet_id", "address", "version", "vip", "created_at")),
    )  # fmt: skip
    taken = set(bind.execute(sa.text("SELECT address FROM ip_addresses")).scalars())
    subnets = bind.execute(
        sa.text("SELECT id, network_id, cidr, gateway FROM subnets WHERE version = 4 ORDER BY id")
    ).all()
    for subnet_id, network_id, cidr, gateway in subnets:
        rows: list[dict[str, object]] = []
        for address in pool_addresses(cidr, gateway):
            if address in taken:
                continue
            taken.add(address)
            row = {"id": new_id("ip_address"), "network_id": network_id}
            rows.append(row | {"subnet_id": subnet_id, "address": address, "version": 4,
                               "vip": False, "created_at": now})  # fmt: skip
            if len(rows) == _CHUNK:
                bind.execute(sa.insert(ips), rows)
                rows = []
        if rows:
            bind.execute(sa.insert(ips), rows)


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM ip_addresses WHERE organization_id IS NULL"))
    # Creating and releasing name no VM: 0005's audit log cannot hold them.
    bind.execute(
        sa.text(
            "DELETE FROM allocation_events"
            " WHERE virtual_machine_id IS NULL OR network_interface_id IS NULL"
        )
    )
    with op.batch_alter_table("allocation_events", schema=None) as batch_op:
        batch_op.alter_column("network_interface_id", existing_type=sa.String(32), nullable=False)
        batch_op.alter_column("virtual_machine_id", existing_type=sa.String(32), nullable=False)
        batch_op.drop_column("operation")
    with op.batch_alter_table("ip_addresses", schema=None) as batch_op:
        batch_op.drop_index("ix_ip_addresses_free")
        batch_op.drop_index("ix_ip_addresses_organization_id_taken_at")
        batch_op.drop_constraint(batch_op.f("ck_ip_addresses_label_only_for_vip"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ip_addresses_free_is_clean"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ip_addresses_allocation_owned"), type_="check")
        batch_op.drop_column("taken_at")
        batch_op.drop_column("reverse_dns")
        batch_op.alter_column("organization_id", existing_type=sa.String(32), nullable=False)
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_column("next_host")

"""zones, packages, speed profiles, currencies, tasks; what production renders of VMs,
interfaces and organizations

New tables: ``zones`` (per data center), ``currencies``,
``network_speed_profiles``, ``virtual_machine_packages`` and ``tasks``.
Virtual machines get a zone (non-null: each data center without one gets a
default zone, and an existing VM goes to the zone of its first interface's data
center, else the first data center's), an optional package, a ``state``
(``started``) and a ``description``. Interfaces get a speed profile (the default
one, ``1Gbps``). Organizations get a ``uuid``, ``created_at`` (now),
``activated_at`` (now, if activated), ``managed`` (false), a currency (the default,
GBP), an optional country and ``infrastructure_domain`` (NULL: derived).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from katapult_ipam.store import reference

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.String(32)
_NAME = sa.String(255)


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("permalink", _NAME, nullable=False),
        sa.Column("data_center_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["data_center_id"], ["data_centers.id"],
                                name=op.f("fk_zones_data_center_id_data_centers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("permalink", name=op.f("uq_zones_permalink")),
    )  # fmt: skip
    op.create_index(op.f("ix_zones_data_center_id"), "zones", ["data_center_id"])
    op.create_table(
        "currencies",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("iso_code", sa.String(3), nullable=False),
        sa.Column("symbol", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currencies")),
        sa.UniqueConstraint("iso_code", name=op.f("uq_currencies_iso_code")),
    )
    op.create_table(
        "network_speed_profiles",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("permalink", _NAME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_speed_profiles")),
        sa.UniqueConstraint("permalink", name=op.f("uq_network_speed_profiles_permalink")),
    )
    op.create_table(
        "virtual_machine_packages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("permalink", _NAME, nullable=False),
        sa.Column("cpu_cores", sa.Integer(), nullable=False),
        sa.Column("ipv4_addresses", sa.Integer(), nullable=False),
        sa.Column("memory_in_gb", sa.Integer(), nullable=False),
        sa.Column("storage_in_gb", sa.Integer(), nullable=False),
        sa.Column("monthly_bandwidth_allowance_in_gb", sa.Integer(), nullable=True),
        sa.Column("privacy", sa.String(16), nullable=False),
        sa.Column("use_dedicated_cpus", sa.Boolean(), nullable=False),
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("group_name", _NAME, nullable=False),
        sa.CheckConstraint("privacy IN ('public', 'private', 'hidden')",
                           name=op.f("ck_virtual_machine_packages_privacy")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_machine_packages")),
        sa.UniqueConstraint("permalink", name=op.f("uq_virtual_machine_packages_permalink")),
    )  # fmt: skip
    op.create_table(
        "tasks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("name", _NAME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'running', 'completed', 'failed')",
                           name=op.f("ck_tasks_status")),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name=op.f("fk_tasks_organization_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )  # fmt: skip
    op.create_index(op.f("ix_tasks_organization_id"), "tasks", ["organization_id"])

    bind = op.get_bind()
    now = datetime.now(UTC)
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uuid", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("infrastructure_domain", _NAME, nullable=True))
        batch_op.add_column(
            sa.Column("managed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("currency_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("country_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("virtual_machines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zone_id", _ID, nullable=True))
        batch_op.add_column(sa.Column("package_id", _ID, nullable=True))
        batch_op.add_column(
            sa.Column("state", sa.String(32), server_default="started", nullable=False)
        )
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("speed_profile_id", _ID, nullable=True))

    _backfill(bind, now)

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.alter_column("uuid", existing_type=sa.String(36), nullable=False)
        batch_op.alter_column("currency_id", existing_type=_ID, nullable=False)
        batch_op.alter_column(
            "created_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_unique_constraint(op.f("uq_organizations_uuid"), ["uuid"])
        batch_op.create_foreign_key(
            op.f("fk_organizations_currency_id_currencies"), "currencies", ["currency_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_organizations_country_id_countries"), "countries", ["country_id"], ["id"]
        )
    with op.batch_alter_table("virtual_machines", schema=None) as batch_op:
        batch_op.alter_column("zone_id", existing_type=_ID, nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_virtual_machines_zone_id_zones"), "zones", ["zone_id"], ["id"]
        )
        batch_op.create_foreign_key(
            op.f("fk_virtual_machines_package_id_virtual_machine_packages"),
            "virtual_machine_packages", ["package_id"], ["id"],
        )  # fmt: skip
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.alter_column("speed_profile_id", existing_type=_ID, nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_network_interfaces_speed_profile_id_network_speed_profiles"),
            "network_speed_profiles", ["speed_profile_id"], ["id"],
        )  # fmt: skip


def _backfill(bind: sa.Connection, now: datetime) -> None:
    """Give every existing row the defaults the new non-null columns need."""
    orgs = bind.execute(sa.text("SELECT id, activated FROM organizations")).all()
    if orgs:
        currency = reference.currency_id(bind)
        for org_id, activated in orgs:
            bind.execute(
                sa.text(
                    "UPDATE organizations SET uuid = :uuid, currency_id = :currency,"
                    " created_at = :now, activated_at = :activated_at WHERE id = :id"
                ),
                {"uuid": str(uuid.uuid4()), "currency": currency, "now": now,
                 "activated_at": now if activated else None, "id": org_id},
            )  # fmt: skip
    if bind.execute(sa.text("SELECT 1 FROM network_interfaces LIMIT 1")).first():
        profile = reference.speed_profile_id(bind)
        bind.execute(sa.text("UPDATE network_interfaces SET speed_profile_id = :p"), {"p": profile})
    vms = bind.execute(
        sa.text(
            "SELECT vm.id, (SELECT n.data_center_id FROM network_interfaces nic"
            " JOIN networks n ON n.id = nic.network_id WHERE nic.virtual_machine_id = vm.id"
            " ORDER BY nic.created_at, nic.id LIMIT 1) FROM virtual_machines vm"
        )
    ).all()
    first_dc = bind.execute(sa.text("SELECT id FROM data_centers ORDER BY permalink")).scalar()
    for vm_id, data_center_id in vms:
        where = data_center_id or first_dc
        if where is None:
            raise RuntimeError("a virtual machine exists but no data center does")
        bind.execute(
            sa.text("UPDATE virtual_machines SET zone_id = :zone WHERE id = :id"),
            {"zone": reference.zone_id(bind, where), "id": vm_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("network_interfaces", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_network_interfaces_speed_profile_id_network_speed_profiles"),
            type_="foreignkey",
        )
        batch_op.drop_column("speed_profile_id")
    with op.batch_alter_table("virtual_machines", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_virtual_machines_package_id_virtual_machine_packages"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("fk_virtual_machines_zone_id_zones"), type_="foreignkey")
        batch_op.drop_column("description")
        batch_op.drop_column("state")
        batch_op.drop_column("package_id")
        batch_op.drop_column("zone_id")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_organizations_country_id_countries"), type_="foreignkey")
        batch_op.drop_constraint(
            op.f("fk_organizations_currency_id_currencies"), type_="foreignkey"
        )
        batch_op.drop_constraint(op.f("uq_organizations_uuid"), type_="unique")
        for column in ("activated_at", "created_at", "country_id", "currency_id", "managed",
                       "infrastructure_domain", "uuid"):  # fmt: skip
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_tasks_organization_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("virtual_machine_packages")
    op.drop_table("network_speed_profiles")
    op.drop_table("currencies")
    op.drop_index(op.f("ix_zones_data_center_id"), table_name="zones")
    op.drop_table("zones")

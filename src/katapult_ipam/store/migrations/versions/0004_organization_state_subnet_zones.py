"""organizations that are suspended or not activated; a reverse-DNS zone per subnet

Organizations get ``suspended`` (default false) and ``activated`` (default true,
so every existing organization stays usable). Subnets get ``rdns_zone``: the zone
of their free addresses' default reverse DNS names, NULL meaning the service's
RDNS_ZONE setting, which is what every existing subnet used.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspended", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("activated", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rdns_zone", sa.String(length=253), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_column("rdns_zone")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("activated")
        batch_op.drop_column("suspended")

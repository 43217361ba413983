"""capabilities tokens can be revoked per organization

Organizations get ``tokens_not_before``: capabilities tokens for the organization
issued before this time are refused (``katapult-ipam capabilities revoke``). NULL,
what every existing organization gets, revokes nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("tokens_not_before")

"""capabilities tokens can be revoked per organization

Organizations get ``tokens_not_before``: capabilities tokens for the organization
issued before this time are refused (``katapult-ipam capabilities revoke``). NULL,
what every existing organization gets, revokes nothing.

A sub-domain must be one DNS label, 1 to 63 lower-case letters, digits and inner
hyphens (``ck_organizations_sub_domain_dns_label``), as the inventory file has
required since this release. Upgrading fails, changing nothing, while a stored
sub-domain breaks the rule; the error names each such organization, to be renamed
first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from katapult_ipam.store.migrate import MigrationError

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The rule as this revision adds it (the constraint and the check of stored rows).
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SUB_DOMAIN_IS_A_DNS_LABEL = (
    "length(sub_domain) BETWEEN 1 AND 63"
    " AND trim(sub_domain, 'abcdefghijklmnopqrstuvwxyz0123456789-') = ''"
    " AND sub_domain NOT LIKE '-%' AND sub_domain NOT LIKE '%-'"
)
# At most this many are named in the error.
_SHOWN = 20


def upgrade() -> None:
    _refuse_bad_sub_domains()
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tokens_not_before", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_organizations_sub_domain_dns_label"), _SUB_DOMAIN_IS_A_DNS_LABEL
        )


def _refuse_bad_sub_domains() -> None:
    rows = op.get_bind().execute(sa.text("SELECT id, sub_domain FROM organizations")).all()
    bad = sorted(
        (sub_domain, id_) for id_, sub_domain in rows if not _DNS_LABEL.fullmatch(sub_domain)
    )
    if bad:
        shown = ", ".join(f"{sub_domain!r} ({id_})" for sub_domain, id_ in bad[:_SHOWN])
        more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        raise MigrationError(
            f"{len(bad)} organizations have a sub_domain that is not one DNS label (1 to 63"
            f" lower-case letters, digits and inner hyphens): {shown}{more}; rename them"
            " first; nothing was migrated"
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_organizations_sub_domain_dns_label"), type_="check")
        batch_op.drop_column("tokens_not_before")

"""Operator actions run from the command line."""

from __future__ import annotations

import getpass
import ipaddress
import math
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.engine import Connection

from katapult_ipam.domain.actors import Actor
from katapult_ipam.domain.names import normalise_fqdn
from katapult_ipam.ids import new_id
from katapult_ipam.limits import ACTOR_ID_MAX_LENGTH
from katapult_ipam.store import models as m
from katapult_ipam.store.queries import organizations
from katapult_ipam.tokens import check_scopes, check_token_name, hash_secret, new_secret

_tables = m.Base.metadata.tables


class AdminError(ValueError):
    """The command cannot be carried out; nothing was changed."""


def find_organization(connection: Connection, organization: str) -> str:
    """The id of the organization named by sub-domain or id."""
    found = organizations.organization_ids(connection, [organization])
    if len(found) != 1:
        raise AdminError(f"no organization {organization!r}")
    return next(iter(found))


def create_token(
    engine: Engine,
    *,
    organization: str,
    name: str,
    scopes: Sequence[str],
    allowed_networks: Sequence[str],
    expires_at: datetime | None,
    replace: bool = False,
) -> str:
    """Store a new token (or replace one of the same name) and return its secret."""
    try:
        check_token_name(name)
        check_scopes(scopes)
    except ValueError as error:
        raise AdminError(str(error)) from None
    try:
        networks = [ipaddress.ip_network(n, strict=False).compressed for n in allowed_networks]
    except ValueError as error:
        raise AdminError(f"allowed network: {error}") from None
    tokens = _tables["api_tokens"]
    secret = new_secret()
    with engine.begin() as connection:
        org_id = find_organization(connection, organization)
        same_name = (tokens.c.organization_id == org_id) & (tokens.c.name == name)
        if connection.execute(select(tokens.c.id).where(same_name)).first() is not None:
            if not replace:
                raise AdminError(f"a token named {name!r} exists (use --replace)")
            connection.execute(delete(tokens).where(same_name))
        connection.execute(
            insert(tokens).values(
                id=new_id("api_token"),
                organization_id=org_id,
                name=name,
                secret_hash=hash_secret(secret),
                scopes=" ".join(scopes),
                allowed_networks=" ".join(networks),
                expires_at=expires_at,
                created_at=datetime.now(UTC),
            )
        )
    return secret


def revoke_token(engine: Engine, *, organization: str, name: str) -> None:
    """Mark a token revoked; it stops working within the token cache's seconds."""
    tokens = _tables["api_tokens"]
    with engine.begin() as connection:
        org_id = find_organization(connection, organization)
        changed = connection.execute(
            update(tokens)
            .where(tokens.c.organization_id == org_id, tokens.c.name == name)
            .where(tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if changed.rowcount == 0:
            raise AdminError(f"no active token {name!r} in organization {organization!r}")


def database_now(connection: Connection) -> datetime:
    """The database server's time: one clock for every host that issues or revokes.

    Revoking from a host whose clock runs behind the issuing host's would otherwise
    spare the tokens issued in between.
    """
    if connection.dialect.name == "postgresql":
        value = connection.execute(text("SELECT statement_timestamp()")).scalar_one()
        return value.astimezone(UTC)  # type: ignore[no-any-return]
    # SQLite runs in this process: its clock is this host's.
    return datetime.now(UTC)


def revoke_capabilities_tokens(engine: Engine, organization: str) -> datetime:
    """Refuse every capabilities token of the organization issued until now; return now."""
    orgs = _tables["organizations"]
    with engine.begin() as connection:
        org_id = find_organization(connection, organization)
        now = database_now(connection)
        connection.execute(update(orgs).where(orgs.c.id == org_id).values(tokens_not_before=now))
    return now


def capabilities_issue_time(engine: Engine, organization: str) -> tuple[str, datetime]:
    """The id of the organization named by sub-domain or id, and the issue time a
    capabilities token made for it now carries: the database's now (the clock
    revocations use), unless its tokens were revoked
    within this very second; then the next second (well inside the clock leeway),
    since a token's issue time has whole seconds and must never fall before the
    revocation, or the new token would be refused as revoked."""
    with engine.connect() as connection:
        org_id = find_organization(connection, organization)
        revoked = organizations.tokens_not_before(connection, org_id)
        now = database_now(connection)
    if revoked is None:
        return org_id, now
    return org_id, max(now, datetime.fromtimestamp(math.ceil(revoked.timestamp()), UTC))


def free_ip_and_vm(engine: Engine, organization: str) -> tuple[str, str] | None:
    """A free address and the FQDN of a VM, out of the trash, with an interface on its network."""
    orgs = _tables["organizations"]
    ips = _tables["ip_addresses"]
    vms = _tables["virtual_machines"]
    nics = _tables["network_interfaces"]
    query = (
        select(ips.c.address, vms.c.fqdn)
        .join(orgs, orgs.c.id == ips.c.organization_id)
        .join(vms, vms.c.organization_id == orgs.c.id)
        .join(
            nics, (nics.c.virtual_machine_id == vms.c.id) & (nics.c.network_id == ips.c.network_id)
        )
        .where(
            orgs.c.sub_domain == organization,
            ips.c.allocation_id.is_(None),
            vms.c.trash_object_id.is_(None),
        )
        .order_by(ips.c.address)
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else (row.address, row.fqdn)


OPERATOR = "operator"  # the audit log's actor type for a command line operator


def operator(organization_id: str, command: str) -> Actor:
    """The actor a command acts as: for one organization, named by its command."""
    try:
        who = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        who = OPERATOR
    return Actor(
        type=OPERATOR,
        id=who[:ACTOR_ID_MAX_LENGTH],
        organization_ids=frozenset({organization_id}),
        operation=command,
    )


def find_virtual_machine(connection: Connection, organization_id: str, reference: str) -> str:
    """The id of the organization's VM named by id, name or FQDN."""
    vms = _tables["virtual_machines"]
    query = select(vms.c.id).where(
        vms.c.organization_id == organization_id,
        (vms.c.id == reference) | (vms.c.name == reference)
        | (vms.c.fqdn == normalise_fqdn(reference)),
    )  # fmt: skip
    found = connection.execute(query).scalars().all()
    if len(found) != 1:
        raise AdminError(f"no virtual machine {reference!r} in that organization")
    return str(found[0])


def set_suspended(engine: Engine, organization: str, suspended: bool) -> bool:
    """Suspend an organization (its lookups answer 403 organization_suspended) or lift it;
    False when it already was so."""
    orgs = _tables["organizations"]
    with engine.begin() as connection:
        org_id = find_organization(connection, organization)
        changed = connection.execute(
            update(orgs)
            .where(orgs.c.id == org_id, orgs.c.suspended == (not suspended))
            .values(suspended=suspended)
        )
        return bool(changed.rowcount == 1)

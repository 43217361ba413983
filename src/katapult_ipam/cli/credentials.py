"""Commands that make credentials: API tokens and capabilities tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from katapult_ipam.auth.capabilities import CapabilitiesKeys, issue_capabilities_token
from katapult_ipam.auth.keys import public_key_pem
from katapult_ipam.config import Settings
from katapult_ipam.store import admin
from katapult_ipam.store.database import create_database_engine

tokens_app = typer.Typer(help="API tokens.")
capabilities_app = typer.Typer(help="Capabilities tokens: short-lived, signed, never stored.")

_DURATION = re.compile(r"\A(\d+)([smhdw])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@tokens_app.command("create")
def tokens_create(
    organization: Annotated[str, typer.Option(help="Organization sub-domain or id.")],
    name: Annotated[str, typer.Option(help="A name for the token.")],
    scope: Annotated[list[str], typer.Option(help="A scope to grant (repeatable).")],
    allowed_network: Annotated[
        list[str] | None, typer.Option(help="A CIDR the token may be used from (repeatable).")
    ] = None,
    expires_in: Annotated[str | None, typer.Option(help="Lifetime, e.g. 30d, 12h, 15m.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a token of the same name.")] = False,
) -> None:
    """Create an API token and print its secret (only a hash is stored)."""
    expires_at = None
    if expires_in is not None:
        expires_at = datetime.now(UTC) + parse_duration(expires_in)
    engine = create_database_engine(Settings())
    try:
        secret = admin.create_token(
            engine,
            organization=organization,
            name=name,
            scopes=scope,
            allowed_networks=allowed_network or [],
            expires_at=expires_at,
            replace=replace,
        )
    except admin.AdminError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(secret)


@tokens_app.command("revoke")
def tokens_revoke(
    organization: Annotated[str, typer.Option(help="Organization sub-domain or id.")],
    name: Annotated[str, typer.Option(help="The token's name.")],
) -> None:
    """Revoke an API token."""
    engine = create_database_engine(Settings())
    try:
        admin.revoke_token(engine, organization=organization, name=name)
    except admin.AdminError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"revoked {organization}/{name}")


@capabilities_app.command("issue")
def capabilities_issue(
    organization: Annotated[str, typer.Option(help="Organization sub-domain or id.")],
    scope: Annotated[list[str], typer.Option(help="A scope to grant (repeatable).")],
    ttl: Annotated[str, typer.Option(help="Lifetime, e.g. 15m, 1h.")] = "15m",
) -> None:
    """Print a capabilities token signed with the service's key (it cannot be revoked)."""
    lifetime = parse_duration(ttl)
    if lifetime <= timedelta(0):
        raise typer.BadParameter("the lifetime must be positive", param_hint="--ttl")
    settings = Settings()
    engine = create_database_engine(settings)
    try:
        with engine.connect() as connection:
            organization_id = admin.find_organization(connection, organization)
    except admin.AdminError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    try:
        keys = CapabilitiesKeys.from_settings(settings)
        token = issue_capabilities_token(
            keys,
            organization_id=organization_id,
            scopes=scope,
            ttl=lifetime,
            issuer=settings.capabilities_issuer,
        )
    except ValueError as error:  # a bad key file, or a bad scope
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    typer.echo(token)


@capabilities_app.command("public-key")
def capabilities_public_key() -> None:
    """Print the signing key's public half (PEM). List it in
    KATAPULT_IPAM_CAPABILITIES_PUBLIC_KEYS before rotating to a new key file,
    so tokens signed with this key stay valid until they expire."""
    keys = CapabilitiesKeys.from_settings(Settings())
    public_key = keys.private_key.public_key()
    typer.echo(public_key_pem(public_key).decode().strip())


def parse_duration(text: str) -> timedelta:
    """``30d`` -> 30 days; s, m, h, d and w are understood."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter(f"not a duration: {text!r} (try 30d, 12h or 15m)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})

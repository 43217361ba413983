"""The ``katapult-ipam`` command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from katapult_ipam import signed_tokens
from katapult_ipam.config import Settings
from katapult_ipam.inventory import InventoryError, read_inventory
from katapult_ipam.observability import logging_config
from katapult_ipam.services import MAINTENANCE
from katapult_ipam.store import admin, migrate, queries
from katapult_ipam.store.database import create_database_engine
from katapult_ipam.store.loader import load_inventory

app = typer.Typer(help="IP address allocation compatible with the Katapult Core API.")
tokens_app = typer.Typer(help="API tokens.")
app.add_typer(tokens_app, name="tokens")

_DURATION = re.compile(r"\A(\d+)([smhdw])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (the database must be migrated)."""
    settings = Settings()
    engine = create_database_engine(settings)
    try:
        if not migrate.is_current(engine):
            typer.echo("the database is not migrated: run `katapult-ipam migrate`", err=True)
            raise typer.Exit(1)
    finally:
        engine.dispose()
    uvicorn.run(
        "katapult_ipam.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level=settings.log_level,
        log_config=logging_config(settings.log_level),
        server_header=False,
        # The application decides whom to believe about the client's address
        # (KATAPULT_IPAM_TRUSTED_PROXIES); uvicorn must not rewrite it first.
        proxy_headers=False,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema."""
    engine = create_database_engine(Settings())
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    typer.echo("database is up to date")


@app.command()
def load(file: Annotated[Path, typer.Argument(help="Inventory YAML file.")]) -> None:
    """Create or update, idempotently, everything in an inventory file."""
    engine = create_database_engine(Settings())
    try:
        report = load_inventory(engine, read_inventory(file))
    except InventoryError as error:
        typer.echo(f"nothing was loaded: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    for kind in sorted(set(report.created) | set(report.updated)):
        typer.echo(f"{kind}: {report.created[kind]} created, {report.updated[kind]} updated")
    for sub_domain, name, secret in report.new_secrets:
        typer.echo(f"new API token {sub_domain}/{name}: {secret}")


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


@app.command()
def maintenance(
    state: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Switch maintenance mode for every worker (each sees it within a second)."""
    if state not in ("on", "off"):
        raise typer.BadParameter("say on or off")
    engine = create_database_engine(Settings())
    try:
        with engine.begin() as connection:
            queries.set_flag(connection, MAINTENANCE, state == "on", datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(f"maintenance {state}")


@app.command()
def demo(
    file: Annotated[Path, typer.Argument(help="Inventory YAML file.")],
    port: Annotated[int, typer.Option(help="Port the server will listen on.")] = 8080,
) -> None:
    """Migrate, load FILE, mint a demo token and print a curl call to try."""
    migrate_command()
    load(file)
    engine = create_database_engine(Settings())
    try:
        inventory = read_inventory(file)
        organization = inventory.organizations[0].sub_domain
        secret = admin.create_token(
            engine,
            organization=organization,
            name="demo",
            scopes=["ip_addresses"],
            allowed_networks=[],
            expires_at=datetime.now(UTC) + timedelta(days=1),
            replace=True,
        )
        target = admin.free_ip_and_vm(engine, organization)
    finally:
        engine.dispose()
    if target is None:
        typer.echo("no free IP address with a VM to take it: nothing to try")
        return
    address, fqdn = target
    typer.echo("\nTry it:\n")
    typer.echo(
        f"curl -s -X POST http://127.0.0.1:{port}/core/v1/virtual_machines/_/allocate_ip \\\n"
        f"  -H 'Authorization: Bearer {secret}' -H 'Content-Type: application/json' \\\n"
        f'  -d \'{{"virtual_machine": {{"fqdn": "{fqdn}"}}, '
        f'"ip_address": {{"address": "{address}"}}}}\'\n'
    )


capabilities_app = typer.Typer(help="Capabilities tokens: short-lived, signed, never stored.")
app.add_typer(capabilities_app, name="capabilities")


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
        keys = signed_tokens.CapabilitiesKeys.from_settings(settings)
        token = signed_tokens.issue_capabilities_token(
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
    keys = signed_tokens.CapabilitiesKeys.from_settings(Settings())
    public_key = keys.private_key.public_key()
    typer.echo(signed_tokens.public_key_pem(public_key).decode().strip())


def parse_duration(text: str) -> timedelta:
    """``30d`` -> 30 days; s, m, h, d and w are understood."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter(f"not a duration: {text!r} (try 30d, 12h or 15m)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def main() -> None:
    app()

"""Commands on the database: migrate, load, demo, maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from katapult_ipam.config import Settings
from katapult_ipam.inventory import read_inventory
from katapult_ipam.store import admin, migrate
from katapult_ipam.store.database import create_database_engine
from katapult_ipam.store.loader import load_inventory
from katapult_ipam.store.queries import flags


def migrate_command() -> None:
    """Create or upgrade the database schema."""
    engine = create_database_engine(Settings())
    try:
        # Waits for a migration running elsewhere (another replica starting), then
        # finds the schema current.
        changed = migrate.upgrade(engine)
    except (migrate.MigrationError, IntegrityError) as error:
        typer.echo(f"nothing was migrated: stored rows break a rule: {_rule(error)}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo("database migrated, now up to date" if changed else "database is up to date")


def load(file: Annotated[Path, typer.Argument(help="Inventory YAML file.")]) -> None:
    """Create or update, idempotently, everything in an inventory file."""
    engine = create_database_engine(Settings())
    try:
        report = load_inventory(engine, read_inventory(file), source=file.name)
    except IntegrityError as error:
        # The file asks for what the schema forbids, e.g. moving an interface that
        # holds addresses to another network.
        typer.echo(f"nothing was loaded: the database refused it: {_rule(error)}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    for kind in sorted(set(report.created) | set(report.updated)):
        typer.echo(f"{kind}: {report.created[kind]} created, {report.updated[kind]} updated")
    if not report.created and not report.updated:
        typer.echo("nothing changed")
    for sub_domain, name, secret in report.new_secrets:
        typer.echo(f"new API token {sub_domain}/{name}: {secret}")


def _rule(error: Exception) -> str:
    """The first line of the database's refusal (it names the constraint), without values."""
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__


def maintenance(
    state: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Switch maintenance mode for every worker (each sees it within a second)."""
    if state not in ("on", "off"):
        raise typer.BadParameter("say on or off")
    engine = create_database_engine(Settings())
    try:
        with engine.begin() as connection:
            flags.set_flag(connection, flags.MAINTENANCE, state == "on", datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(f"maintenance {state}")


def demo(
    file: Annotated[Path, typer.Argument(help="Inventory YAML file.")],
    port: Annotated[int, typer.Option(help="Port the server will listen on.")] = 8080,
) -> None:
    """Migrate, load FILE, mint a demo token and print a curl call to try."""
    inventory = read_inventory(file)
    if not inventory.organizations:
        typer.echo(f"nothing was loaded: {file}: the demo needs an organization", err=True)
        raise typer.Exit(1)
    organization = inventory.organizations[0].sub_domain
    migrate_command()
    load(file)
    engine = create_database_engine(Settings())
    try:
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

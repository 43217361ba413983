"""The ``katapult-ipam`` command: its commands live in the modules beside this one."""

from __future__ import annotations

import typer

from katapult_ipam.cli import credentials, database, operations, serve
from katapult_ipam.cli.errors import ExplainingGroup

# Every command answers a bad environment (settings, database, key files) in one line.
app = typer.Typer(
    cls=ExplainingGroup, help="IP address allocation compatible with the Katapult Core API."
)
app.command()(serve.serve)
app.command("migrate")(database.migrate_command)
app.command()(database.load)
app.command()(database.maintenance)
app.command()(database.demo)
app.add_typer(credentials.tokens_app, name="tokens")
app.add_typer(credentials.capabilities_app, name="capabilities")
app.add_typer(operations.vms_app, name="vms")
app.add_typer(operations.organizations_app, name="organizations")


def main() -> None:
    app()

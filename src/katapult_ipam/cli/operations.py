"""Operator commands on what the API manages: VMs to and from the trash, organizations
suspended. They run the API's own actions, so the same rules hold and the audit log
records the operator (actor type ``operator``, the command as the operation)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer

from katapult_ipam.actions import trash as trash_actions
from katapult_ipam.actions import virtual_machines as vm_actions
from katapult_ipam.config import Settings
from katapult_ipam.domain.errors import ObjectInTrash, TrashObjectNotFound
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store import admin
from katapult_ipam.store.database import create_database_engine

vms_app = typer.Typer(help="Virtual machines: move one to the trash, or restore it.")
organizations_app = typer.Typer(help="Organizations: suspend one, or lift a suspension.")

Organization = Annotated[str, typer.Option("--organization", help="Sub-domain or id.")]
VirtualMachine = Annotated[str, typer.Argument(help="The VM's id, name or FQDN.")]


@vms_app.command("trash")
def trash_vm(organization: Organization, vm: VirtualMachine) -> None:
    """Move a VM to the trash for 48 hours (as DELETE /virtual_machines/:vm); its
    addresses stay allocated to it."""
    engine = create_database_engine(Settings())
    try:
        with engine.begin() as connection:
            org_id = admin.find_organization(connection, organization)
            vm_id = admin.find_virtual_machine(connection, org_id, vm)
            actor = admin.operator(org_id, "cli:vms trash")
            try:
                trash, _ = vm_actions.trash_virtual_machine(connection, actor, Lookup("id", vm_id))
            except ObjectInTrash as error:
                raise admin.AdminError(
                    f"{vm} is in the trash already ({error.trash_object.id})"
                ) from None
    finally:
        engine.dispose()
    until = trash.keep_until.astimezone(UTC).isoformat(timespec="seconds")
    typer.echo(f"{vm_id} is in the trash as {trash.id}, kept until {until}")


@vms_app.command("restore")
def restore_vm(organization: Organization, vm: VirtualMachine) -> None:
    """Take a VM out of the trash: it can be used, and allocated to, again."""
    engine = create_database_engine(Settings())
    try:
        with engine.begin() as connection:
            org_id = admin.find_organization(connection, organization)
            vm_id = admin.find_virtual_machine(connection, org_id, vm)
            actor = admin.operator(org_id, "cli:vms restore")
            try:
                trash_actions.restore(connection, actor, Lookup("object_id", vm_id))
            except TrashObjectNotFound:
                raise admin.AdminError(f"{vm} is not in the trash") from None
    finally:
        engine.dispose()
    typer.echo(f"{vm_id} is restored")


def _suspension(organization: str, suspended: bool) -> None:
    engine = create_database_engine(Settings())
    try:
        changed = admin.set_suspended(engine, organization, suspended)
    finally:
        engine.dispose()
    state = "suspended" if suspended else "not suspended"
    typer.echo(f"{organization} is {state}" + ("" if changed else " (it already was)"))


@organizations_app.command("suspend")
def suspend(organization: Annotated[str, typer.Argument(help="Sub-domain or id.")]) -> None:
    """Suspend an organization: its lookups answer 403 organization_suspended."""
    _suspension(organization, True)


@organizations_app.command("unsuspend")
def unsuspend(organization: Annotated[str, typer.Argument(help="Sub-domain or id.")]) -> None:
    """Lift an organization's suspension."""
    _suspension(organization, False)

"""What every command answers when it cannot be carried out: one line, exit 1; and
a bad argument: one line, exit 2.

Settings that do not validate, a database that cannot be reached or is not
migrated, key files that cannot be read, a schema revision this version does not
know, an inventory file that is refused, an operator action that cannot be done
(no such organization or token): each is explained in one line (or one line per
bad setting) without a traceback. Any other exception is a bug and keeps its
traceback.
"""

from __future__ import annotations

import contextlib
from typing import Any

import typer
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, OperationalError

# Typer (0.2x) carries its own copy of click: its command classes speak only these
# types, which it does not export. pyproject.toml holds typer to the tested minor.
from typer._click import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from katapult_ipam.auth.jwt import SignedTokenConfigError
from katapult_ipam.config import Settings, setting_problems
from katapult_ipam.inventory import InventoryError
from katapult_ipam.store.admin import AdminError

NOT_MIGRATED = "the database is not migrated: run `katapult-ipam migrate`"

# SQLSTATEs of a schema older than this version's.
_UNDEFINED_TABLE, _UNDEFINED_COLUMN = "42P01", "42703"
_INSUFFICIENT_PRIVILEGE = "42501"


class ExplainingGroup(TyperGroup):
    """The command group that turns known errors into one line and exit 1, and bad
    arguments into one line and exit 2 (not a usage panel)."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise  # the help asked for, shown whole
        except UsageError as error:
            typer.echo(usage_line(error), err=True)
            raise typer.Exit(error.exit_code) from None
        except Exception as error:  # typer's Exit is never explained
            message = explain(error, _database_url())
            if message is None:
                raise
            typer.echo(message, err=True)
            raise typer.Exit(1) from None


def usage_line(error: UsageError) -> str:
    """A bad argument in one line, with the command it was given to."""
    message = " ".join(error.format_message().split())
    command = error.ctx.command_path if error.ctx is not None else None
    return f"{command}: {message}" if command else message


def explain(error: BaseException, database_url: str | None = None) -> str | None:
    """The line(s) that explain ``error``, or None when it is a bug; ``database_url``'s
    password is never repeated."""
    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        return "\n".join(setting_problems(error))
    if isinstance(error, (SignedTokenConfigError, AdminError)):
        return str(error)
    if isinstance(error, InventoryError):
        return f"nothing was loaded: {error}"
    if isinstance(error, CommandError):
        return f"cannot migrate: {_first_line(error)}" + (
            " (the database was migrated by a newer version?)"
            if "Can't locate revision" in str(error)
            else ""
        )
    if isinstance(error, DBAPIError):
        return _database_error(error, database_url)
    if isinstance(error, NoSuchModuleError):
        return f"invalid setting KATAPULT_IPAM_DATABASE_URL: {_first_line(error)}"
    if isinstance(error, OSError):
        if error.filename is not None:
            return f"{error.filename}: {error.strerror or error}"
        return _first_line(error)
    return None


def _database_error(error: DBAPIError, database_url: str | None) -> str | None:
    original = error.orig
    message = _scrub(_first_line(original if original is not None else error), database_url)
    state = getattr(original, "sqlstate", None)
    if state in (_UNDEFINED_TABLE, _UNDEFINED_COLUMN) or message.startswith(
        ("no such table", "no such column")
    ):
        return NOT_MIGRATED
    if error.statement is None or error.connection_invalidated:
        return f"cannot connect to the database: {message}"
    if state == _INSUFFICIENT_PRIVILEGE:
        return f"the database refused: {message}"
    if isinstance(error, OperationalError):
        return f"the database failed: {message}"
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def _database_url() -> str | None:
    """The database URL the command was given (None if the settings cannot be read),
    whose password an explanation must not repeat."""
    try:
        return Settings().database_url
    except ValidationError:
        return None


def _scrub(message: str, database_url: str | None) -> str:
    """``message`` without the database password, should a driver ever repeat it."""
    if database_url is None:
        return message
    with contextlib.suppress(Exception):
        password = make_url(database_url).password
        if password:
            return message.replace(str(password), "***")
    return message

"""What every command answers when its environment is wrong: one line, exit 1.

Settings that do not validate, a database that cannot be reached or is not
migrated, key files that cannot be read, a schema revision this version does not
know: each is explained in one line (or one line per bad setting) without a
traceback. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from typing import Any

import typer
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, NoSuchModuleError, OperationalError
from typer._click import Context
from typer.core import TyperGroup

from katapult_ipam.auth.capabilities import CapabilitiesKeys
from katapult_ipam.auth.jwt import SignedTokenConfigError
from katapult_ipam.auth.oauth2 import OAuth2Verifier
from katapult_ipam.config import Settings, setting_problems

NOT_MIGRATED = "the database is not migrated: run `katapult-ipam migrate`"

# SQLSTATEs of a schema older than this version's.
_UNDEFINED_TABLE, _UNDEFINED_COLUMN = "42P01", "42703"
_INSUFFICIENT_PRIVILEGE = "42501"


class ExplainingGroup(TyperGroup):
    """The command group that turns known environment errors into one line and exit 1."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:  # typer's own (Exit, usage errors) are never explained
            message = explain(error)
            if message is None:
                raise
            typer.echo(message, err=True)
            raise typer.Exit(1) from None


def check_before_serving(settings: Settings) -> None:
    """Meet, before any worker starts, what would stop every worker at its start: key
    files that cannot be read (a worker's traceback would be all the operator sees)."""
    CapabilitiesKeys.from_settings(settings)
    OAuth2Verifier.from_settings(settings)


def explain(error: BaseException) -> str | None:
    """The line(s) that explain ``error``, or None when it is a bug."""
    if isinstance(error, ValidationError) and error.title == Settings.__name__:
        return "\n".join(setting_problems(error))
    if isinstance(error, SignedTokenConfigError):
        return str(error)
    if isinstance(error, CommandError):
        return f"cannot migrate: {_first_line(error)}" + (
            " (the database was migrated by a newer version?)"
            if "Can't locate revision" in str(error)
            else ""
        )
    if isinstance(error, DBAPIError):
        return _database_error(error)
    if isinstance(error, NoSuchModuleError):
        return f"invalid setting KATAPULT_IPAM_DATABASE_URL: {_first_line(error)}"
    if isinstance(error, OSError):
        if error.filename is not None:
            return f"{error.filename}: {error.strerror or error}"
        return _first_line(error)
    return None


def _database_error(error: DBAPIError) -> str | None:
    original = error.orig
    message = _scrub(_first_line(original if original is not None else error))
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


def _scrub(message: str) -> str:
    """``message`` without the database password, should a driver ever repeat it."""
    with contextlib.suppress(Exception):
        password = make_url(Settings().database_url).password
        if password:
            return message.replace(str(password), "***")
    return message

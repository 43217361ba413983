"""Commands that make credentials: API tokens and capabilities tokens."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

from katapult_ipam.auth.capabilities import CapabilitiesKeys, issue_capabilities_token
from katapult_ipam.auth.jwt import SignedTokenConfigError
from katapult_ipam.auth.keys import load_public_key, load_signing_key, public_key_pem
from katapult_ipam.config import Settings
from katapult_ipam.store import admin
from katapult_ipam.store.database import create_database_engine
from katapult_ipam.tokens import check_scopes, check_token_name

tokens_app = typer.Typer(help="API tokens.")
capabilities_app = typer.Typer(
    help="Capabilities tokens: short-lived, signed, never stored; revoked per organization."
)

_T = TypeVar("_T")
_DURATION = re.compile(r"\A([0-9]+)([smhdw])\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# The longest lifetime of an API token: far beyond any real one, short of a date overflow.
MAX_API_TOKEN_LIFETIME = timedelta(days=36500)


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
    _check("--name", check_token_name, name)
    _check("--scope", check_scopes, scope)
    expires_at = None
    if expires_in is not None:
        lifetime = _lifetime(expires_in, "--expires-in", MAX_API_TOKEN_LIFETIME)
        expires_at = datetime.now(UTC) + lifetime
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
    finally:
        engine.dispose()
    typer.echo(f"revoked {organization}/{name}")


@capabilities_app.command("issue")
def capabilities_issue(
    organization: Annotated[str, typer.Option(help="Organization sub-domain or id.")],
    scope: Annotated[list[str], typer.Option(help="A scope to grant (repeatable).")],
    ttl: Annotated[
        str,
        typer.Option(help="Lifetime, e.g. 15m, 1h (at most KATAPULT_IPAM_CAPABILITIES_MAX_TTL)."),
    ] = "15m",
) -> None:
    """Print a capabilities token signed with the service's key (`capabilities revoke`
    refuses every token of an organization issued until then)."""
    _check("--scope", check_scopes, scope)
    settings = Settings()
    max_ttl = timedelta(seconds=settings.capabilities_max_ttl)
    lifetime = _lifetime(ttl, "--ttl", max_ttl, "KATAPULT_IPAM_CAPABILITIES_MAX_TTL")
    engine = create_database_engine(settings)
    try:
        organization_id, issued_at = admin.capabilities_issue_time(engine, organization)
    finally:
        engine.dispose()
    token = issue_capabilities_token(
        CapabilitiesKeys.from_settings(settings),
        organization_id=organization_id,
        scopes=scope,
        ttl=lifetime,
        issuer=settings.capabilities_issuer,
        now=issued_at,
        max_ttl=max_ttl,
    )
    typer.echo(token)


@capabilities_app.command("revoke")
def capabilities_revoke(
    organization: Annotated[str, typer.Option(help="Organization sub-domain or id.")],
) -> None:
    """Refuse every capabilities token of the organization issued until now (workers see
    it within KATAPULT_IPAM_TOKEN_CACHE_SECONDS); tokens issued afterwards work."""
    engine = create_database_engine(Settings())
    try:
        revoked_at = admin.revoke_capabilities_tokens(engine, organization)
    finally:
        engine.dispose()
    when = revoked_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    typer.echo(f"revoked every capabilities token of {organization} issued until {when}")


@capabilities_app.command("public-key")
def capabilities_public_key() -> None:
    """Print the signing key's public half (PEM). List it in
    KATAPULT_IPAM_CAPABILITIES_PUBLIC_KEYS before rotating to a new key file,
    so tokens signed with this key stay valid until they expire. The key is only
    read, never made (`serve` and `capabilities issue` make it)."""
    settings = Settings()
    # Every key file the service would read is checked, as `serve` checks them.
    for public_key_file in settings.capabilities_public_key_files:
        load_public_key(Path(public_key_file))
    path = Path(settings.signing_key_file)
    try:
        private_key = load_signing_key(path)
    except FileNotFoundError:
        typer.echo(
            f"no signing key at {path} (KATAPULT_IPAM_SIGNING_KEY_FILE): it is made when"
            " `katapult-ipam serve` first starts, or by `katapult-ipam capabilities issue`",
            err=True,
        )
        raise typer.Exit(1) from None
    except OSError as error:
        raise SignedTokenConfigError(
            f"KATAPULT_IPAM_SIGNING_KEY_FILE {path}: {error.strerror or error}"
        ) from None
    typer.echo(public_key_pem(private_key.public_key()).decode().strip())


def parse_duration(
    text: str, maximum: timedelta = MAX_API_TOKEN_LIFETIME, maximum_name: str | None = None
) -> timedelta:
    """``30d`` -> 30 days; s, m, h, d and w are understood; 1 s to ``maximum``."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter(f"not a duration: {text!r} (try 30d, 12h or 15m)")
    digits, unit = match.groups()
    limit = math.floor(maximum.total_seconds())
    # Compared as whole seconds before any timedelta is made: no overflow however long.
    seconds = int(digits) * _UNIT_SECONDS[unit] if len(digits) <= 18 else limit + 1
    if seconds < 1:
        raise typer.BadParameter(f"{text.strip()} is not a lifetime (at least 1s)")
    if seconds > limit:
        beyond = f" ({maximum_name})" if maximum_name else ""
        raise typer.BadParameter(
            f"{text.strip()} is longer than the maximum, {_shortest(limit)}{beyond}"
        )
    return timedelta(seconds=seconds)


def _shortest(seconds: int) -> str:
    """``seconds`` in the largest unit that divides it: 86400 -> 1d."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def _lifetime(
    text: str, option: str, maximum: timedelta, maximum_name: str | None = None
) -> timedelta:
    try:
        return parse_duration(text, maximum, maximum_name)
    except typer.BadParameter as error:
        _refuse(option, error.message)


def _check(option: str, check: Callable[[_T], None], value: _T) -> None:
    """``check(value)``; its refusal is a bad value of ``option``."""
    try:
        check(value)
    except ValueError as error:
        _refuse(option, str(error))


def _refuse(option: str, reason: str) -> NoReturn:
    """A bad option value: a usage error (one line and exit 2, cli/errors.py)."""
    raise typer.BadParameter(reason, param_hint=f"'{option}'")
